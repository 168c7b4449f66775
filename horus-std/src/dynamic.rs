//! Message types known at run time, and topics of them: for language
//! bindings (Python) and tools that speak bytes.
//!
//! A [`MessageType`] is what [`message!`](crate::message!) records for a
//! Rust type ([`MessageType::of`]), or the same record computed at run time
//! from a name and field list ([`MessageType::define`]) with the layout rules
//! of `#[repr(C)]` and the same padding check. Both give the same
//! [`TypeInfo`] and fields, hence the same type id and region self-description:
//! a `WheelEncoder` defined in Python and one declared with `message!` in Rust
//! share a topic.
//!
//! A [`DynTopic`] is a participant of a topic of a run-time type, joined
//! through the same path as [`Topic<T>`](crate::Topic) (name and type checks,
//! liveness, cleanup, reclaiming dead handles); it sends and receives the
//! message's bytes.
//!
//! ```no_run
//! use horus::dynamic::{DynTopic, FieldKind, FieldSpec, FieldTy, MessageType};
//! let ty = MessageType::define("WheelEncoder", &[
//!     FieldSpec::new("left_ticks", FieldTy::Prim(FieldKind::I64)),
//!     FieldSpec::new("right_ticks", FieldTy::Prim(FieldKind::I64)),
//!     FieldSpec::new("timestamp_ns", FieldTy::Prim(FieldKind::U64)),
//! ])?;
//! let t = DynTopic::new("wheel.encoders", &ty)?;
//! t.send_bytes(&[0u8; 24]).expect("24 bytes");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::UnsafeCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex, OnceLock};

use horus_nostd::layout::flat_field_count;
use horus_nostd::message::{TypeInfo, TypeName, type_id};
use horus_nostd::ring::{PayloadSizeError, SendError};
use horus_nostd::{LayoutError, Message, RawHandle, TopicLayout};

pub use horus_nostd::{Field, FieldKind};

use crate::error::Result;
use crate::join::{SharedTopic, TopicOptions, join_error, open_typed};
use crate::shm::liveness;
use crate::shm::mapping::MappedWords;
use crate::topic::{record_evicted, used_after_fork};

/// A message type: its name, identity, size and fields. Two are equal when
/// their [`TypeInfo`] is (the id hashes every field).
#[derive(Clone, Copy)]
pub struct MessageType {
    name: &'static str,
    info: TypeInfo,
    fields: &'static [Field],
}

impl MessageType {
    /// The record of the Rust message `T`.
    ///
    /// ```
    /// use horus::dynamic::MessageType;
    /// use horus::msgs::CmdVel;
    /// assert_eq!(MessageType::of::<CmdVel>().size(), 16);
    /// ```
    pub const fn of<T: Message>() -> Self {
        Self {
            name: T::TYPE_NAME,
            info: TypeInfo::of::<T>(),
            fields: T::FIELDS,
        }
    }

    /// The type `name` with `fields` in this order, laid out as
    /// `#[repr(C)]` lays out the same Rust struct. Defining the same type
    /// twice returns the same record (definitions are kept for the life of
    /// the process, once each).
    ///
    /// # Errors
    /// A name that is not an identifier, a field name used twice, or a
    /// layout with padding (the sentence of `message!`'s compile error).
    pub fn define(name: &str, fields: &[FieldSpec]) -> std::result::Result<Self, DefineError> {
        check_ident(name, "message")?;
        let mut out = Vec::with_capacity(fields.len());
        let (mut offset, mut align) = (0usize, 1usize);
        for (i, spec) in fields.iter().enumerate() {
            check_ident(&spec.name, "field")?;
            if fields[..i].iter().any(|f| f.name == spec.name) {
                return Err(DefineError::DuplicateField {
                    message: name.to_owned(),
                    field: spec.name.clone(),
                });
            }
            let (kind, count, nested, elem_size, elem_align) = spec.ty.element();
            if offset % elem_align != 0 {
                return Err(DefineError::Padding {
                    message: name.to_owned(),
                });
            }
            let size = elem_size * count;
            out.push(Field {
                name: intern(&spec.name),
                offset,
                size,
                kind,
                count,
                nested,
            });
            offset += size;
            align = align.max(elem_align);
        }
        if offset % align != 0 {
            return Err(DefineError::Padding {
                message: name.to_owned(),
            });
        }
        let info = TypeInfo {
            id: type_id(name, &out, offset, align),
            size: u32::try_from(offset).map_err(|_| DefineError::TooLarge {
                message: name.to_owned(),
            })?,
            align: align as u32,
            name: TypeName::new(name),
        };
        Ok(Self {
            name: intern(name),
            info,
            fields: intern_fields(info.id, out),
        })
    }

    /// The type's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What a region records about the type.
    pub fn info(&self) -> TypeInfo {
        self.info
    }

    /// The 64-bit identity (see [`mod@horus_nostd::message`]).
    pub fn id(&self) -> u64 {
        self.info.id
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.info.size as usize
    }

    /// Alignment in bytes.
    pub fn align(&self) -> usize {
        self.info.align as usize
    }

    /// The fields in declaration order.
    pub fn fields(&self) -> &'static [Field] {
        self.fields
    }

    /// The region layout of a topic of this type.
    pub(crate) fn layout(
        &self,
        capacity: u32,
        participants: u32,
    ) -> std::result::Result<TopicLayout, LayoutError> {
        TopicLayout::new(
            self.info.size,
            self.info.align,
            capacity,
            participants,
            flat_field_count(self.fields) as u32,
        )
    }
}

impl PartialEq for MessageType {
    fn eq(&self, other: &Self) -> bool {
        self.info == other.info
    }
}

impl Eq for MessageType {}

impl fmt::Debug for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageType")
            .field("name", &self.name)
            .field("id", &format_args!("{:#018x}", self.info.id))
            .field("size", &self.info.size)
            .finish_non_exhaustive()
    }
}

/// The type of a field of a run-time message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldTy {
    /// A primitive (not [`FieldKind::Struct`]: use `Message`).
    Prim(FieldKind),
    /// A nested message.
    Message(MessageType),
    /// `[T; N]`.
    Array(Box<FieldTy>, usize),
}

impl FieldTy {
    /// (innermost kind, innermost element count, nested fields, innermost
    /// element size, innermost element alignment).
    fn element(&self) -> (FieldKind, usize, &'static [Field], usize, usize) {
        match self {
            Self::Prim(k) => {
                let s = prim_size(*k);
                (*k, 1, &[], s, s)
            }
            Self::Message(m) => (FieldKind::Struct, 1, m.fields, m.size(), m.align()),
            Self::Array(inner, n) => {
                let (k, c, nested, s, a) = inner.element();
                (k, c * n, nested, s, a)
            }
        }
    }
}

/// Size (= alignment) of a primitive kind; 0 for `Struct`.
pub const fn prim_size(kind: FieldKind) -> usize {
    match kind {
        FieldKind::U8 | FieldKind::I8 => 1,
        FieldKind::U16 | FieldKind::I16 => 2,
        FieldKind::U32 | FieldKind::I32 | FieldKind::F32 => 4,
        FieldKind::U64 | FieldKind::I64 | FieldKind::F64 => 8,
        FieldKind::Struct => 0,
    }
}

/// One field of [`MessageType::define`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's name (an identifier).
    pub name: String,
    /// Its type.
    pub ty: FieldTy,
}

impl FieldSpec {
    /// Field `name` of type `ty`.
    pub fn new(name: &str, ty: FieldTy) -> Self {
        Self {
            name: name.to_owned(),
            ty,
        }
    }
}

/// Why [`MessageType::define`] refused a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefineError {
    /// The layout has padding bytes.
    Padding {
        /// The message's name.
        message: String,
    },
    /// A name is not an identifier.
    BadName {
        /// `"message"` or `"field"`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// Two fields have one name.
    DuplicateField {
        /// The message's name.
        message: String,
        /// The field's name.
        field: String,
    },
    /// Bigger than 4 GiB.
    TooLarge {
        /// The message's name.
        message: String,
    },
}

impl fmt::Display for DefineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The sentence of `message!`'s compile-time check.
            Self::Padding { message } => write!(
                f,
                "message `{message}` has padding: order its fields from the largest to the \
                 smallest, or add explicit padding fields"
            ),
            Self::BadName { what, name } => write!(
                f,
                "{what} name {name:?} is not an identifier (letters, digits and _, not starting \
                 with a digit)"
            ),
            Self::DuplicateField { message, field } => {
                write!(f, "message `{message}` has two fields named `{field}`")
            }
            Self::TooLarge { message } => write!(f, "message `{message}` is larger than 4 GiB"),
        }
    }
}

impl std::error::Error for DefineError {}

fn check_ident(name: &str, what: &'static str) -> std::result::Result<(), DefineError> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DefineError::BadName {
            what,
            name: name.to_owned(),
        })
    }
}

/// The process-lifetime copy of `s`; each distinct string is kept once.
fn intern(s: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&kept) = names.get(s) {
        return kept;
    }
    let kept: &'static str = Box::leak(s.to_owned().into_boxed_str());
    names.insert(kept);
    kept
}

/// The process-lifetime copy of the fields of type `id`; kept once per id
/// (the id hashes every field, so equal ids mean equal fields).
fn intern_fields(id: u64, fields: Vec<Field>) -> &'static [Field] {
    static FIELDS: OnceLock<Mutex<HashMap<u64, &'static [Field]>>> = OnceLock::new();
    let mut map = FIELDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(id)
        .or_insert_with(|| Box::leak(fields.into_boxed_slice()))
}

/// A topic handle of a run-time message type, speaking the message's bytes.
///
/// Like [`Topic`](crate::Topic): `Send`, not `Sync`, one participant; a
/// handle used in a child made by `fork()` panics with the same sentence.
pub struct DynTopic {
    /// The participant, holding its share of the mapping; dropped by `Drop`
    /// only in the fork generation that made it (as `Topic`'s).
    handle: UnsafeCell<ManuallyDrop<RawHandle<MappedWords>>>,
    shared: Arc<SharedTopic>,
    ty: MessageType,
    name: Arc<str>,
    generation: u64,
    pid: u32,
}

impl DynTopic {
    /// Opens topic `name` of type `ty` in the current namespace, creating it
    /// if needed (as [`Topic::new`](crate::Topic::new)).
    pub fn new(name: &str, ty: &MessageType) -> Result<Self> {
        Self::with_namespace(name, ty, None)
    }

    /// As [`new`](Self::new), in namespace `ns` if given.
    pub fn with_namespace(name: &str, ty: &MessageType, ns: Option<&str>) -> Result<Self> {
        let options = TopicOptions {
            namespace: ns,
            ..TopicOptions::default()
        };
        let (shared, me) = open_typed(name, options, ty)?;
        let pid = u64::from(std::process::id());
        let mut handle = RawHandle::join(shared.region.clone(), me, pid, crate::now_ns())
            .map_err(|e| join_error(e, name, ty.name(), shared.region.words().path()))?;
        handle.set_holder(crate::node::current_node_tag());
        Ok(Self {
            handle: UnsafeCell::new(ManuallyDrop::new(handle)),
            shared,
            ty: *ty,
            name: name.into(),
            generation: liveness::fork_generation(),
            pid: std::process::id(),
        })
    }

    /// The message type.
    pub fn message_type(&self) -> &MessageType {
        &self.ty
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace the topic lives in.
    pub fn namespace(&self) -> &str {
        self.shared.namespace.name()
    }

    /// Publishes one message of exactly the type's size. Never blocks. A
    /// handle evicted by a process that wrongly judged this one dead rejoins
    /// and publishes there, as [`Topic::send`](crate::Topic::send) does (the
    /// blackbox is told); [`SendError::Evicted`] if it cannot rejoin.
    pub fn send_bytes(&self, bytes: &[u8]) -> std::result::Result<(), SendError> {
        self.with_handle(|h| match h.send_bytes(bytes) {
            Err(SendError::Evicted) => {
                let (ns, topic) = (self.shared.namespace.name(), &*self.name);
                let pid = u64::from(std::process::id());
                if let Err(e) = h.rejoin(pid, crate::now_ns()) {
                    record_evicted(ns, topic, &format!("cannot rejoin ({e})"), 1);
                    return Err(SendError::Evicted);
                }
                let outcome = format!("rejoined as participant {}", h.index());
                record_evicted(ns, topic, &outcome, 0);
                h.send_bytes(bytes)
            }
            other => other,
        })
    }

    /// Receives the next message into `out` (exactly the type's size);
    /// `Ok(false)` if none. Never blocks.
    pub fn recv_bytes(&self, out: &mut [u8]) -> std::result::Result<bool, PayloadSizeError> {
        self.with_handle(|h| h.recv_bytes(out))
    }

    /// Messages this handle lost since it was created.
    pub fn dropped_count(&self) -> u64 {
        self.with_handle(|h| h.dropped_count())
    }

    /// Messages this handle received since it was created.
    pub fn received_count(&self) -> u64 {
        self.with_handle(|h| h.delivered_count())
    }

    /// Messages published on the topic by all handles (scans the region).
    pub fn published_count(&self) -> u64 {
        self.shared.region.published_count()
    }

    fn with_handle<R>(&self, f: impl FnOnce(&mut RawHandle<MappedWords>) -> R) -> R {
        if liveness::fork_generation() != self.generation {
            used_after_fork(&self.name, self.pid);
        }
        // SAFETY: `DynTopic` is not `Sync` (UnsafeCell), so one thread at a
        // time; the closures above only call the core's byte API and never
        // re-enter, so this is the only reference while it lives. The handle
        // is dropped only in `Drop`.
        f(unsafe { &mut *self.handle.get() })
    }
}

impl Drop for DynTopic {
    fn drop(&mut self) {
        if liveness::fork_generation() == self.generation {
            // SAFETY: dropped exactly once, here; `self` is never used again.
            unsafe { ManuallyDrop::drop(self.handle.get_mut()) };
        }
    }
}

impl fmt::Debug for DynTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynTopic")
            .field("name", &self.name)
            .field("type", &self.ty.name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::{CmdVel, Imu, Odometry, Pose2D, Twist};

    fn prim(name: &str, k: FieldKind) -> FieldSpec {
        FieldSpec::new(name, FieldTy::Prim(k))
    }

    fn arr(name: &str, k: FieldKind, n: usize) -> FieldSpec {
        FieldSpec::new(name, FieldTy::Array(Box::new(FieldTy::Prim(k)), n))
    }

    #[test]
    fn defined_types_match_message_macro() {
        use FieldKind::*;
        let cmd = MessageType::define(
            "CmdVel",
            &[
                prim("timestamp_ns", U64),
                prim("linear", F32),
                prim("angular", F32),
            ],
        )
        .unwrap();
        assert_eq!(cmd, MessageType::of::<CmdVel>());
        let imu = MessageType::define(
            "Imu",
            &[
                arr("orientation", F64, 4),
                arr("angular_velocity", F64, 3),
                arr("linear_acceleration", F64, 3),
                prim("timestamp_ns", U64),
            ],
        )
        .unwrap();
        assert_eq!(imu.id(), MessageType::of::<Imu>().id());
        let odom = MessageType::define(
            "Odometry",
            &[
                FieldSpec::new("pose", FieldTy::Message(MessageType::of::<Pose2D>())),
                FieldSpec::new("twist", FieldTy::Message(MessageType::of::<Twist>())),
                arr("pose_covariance", F64, 9),
                prim("timestamp_ns", U64),
                arr("frame_id", U8, 32),
                arr("child_frame_id", U8, 32),
            ],
        )
        .unwrap();
        assert_eq!(odom.info(), MessageType::of::<Odometry>().info());
    }

    #[test]
    fn padding_and_bad_names_are_refused_with_a_sentence() {
        use FieldKind::*;
        let e = MessageType::define("P", &[prim("a", U8), prim("b", U64)]).unwrap_err();
        assert!(e.to_string().contains("has padding"), "{e}");
        let e = MessageType::define("P", &[prim("b", U64), prim("a", U8)]).unwrap_err();
        assert!(matches!(e, DefineError::Padding { .. }));
        let e = MessageType::define("P", &[prim("a", U8), prim("a", U8)]).unwrap_err();
        assert!(matches!(e, DefineError::DuplicateField { .. }));
        assert!(MessageType::define("1P", &[]).is_err());
        assert!(MessageType::define("P", &[prim("a-b", U8)]).is_err());
    }

    #[test]
    fn defining_twice_keeps_one_copy() {
        let a = MessageType::define("Twice", &[prim("x", FieldKind::F64)]).unwrap();
        let b = MessageType::define("Twice", &[prim("x", FieldKind::F64)]).unwrap();
        assert!(std::ptr::eq(a.fields(), b.fields()));
    }
}
