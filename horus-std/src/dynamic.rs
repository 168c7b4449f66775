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
use horus_nostd::ring::{FrameError, PayloadSizeError, SendError};
use horus_nostd::{LayoutError, Message, RawHandle, TopicLayout};

pub use horus_nostd::{Field, FieldKind};

use crate::error::Result;
use crate::shm::liveness;
use crate::topic::{
    SharedTopic, TopicOptions, join_error, open_joinable, record_evicted, used_after_fork,
};

/// A message type: its name, identity, size and fields. Two are equal when
/// their [`TypeInfo`] is (the id hashes every field).
#[derive(Clone, Copy)]
pub struct MessageType {
    name: &'static str,
    info: TypeInfo,
    fields: &'static [Field],
    /// The encoded schema of a serialized type (`None`: plain data).
    serialized_schema: Option<&'static [u8]>,
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
            serialized_schema: None,
        }
    }

    /// A serialized type `name` (see [`serialized`](mod@crate::serialized)): messages are
    /// length-prefixed frames of at most `max_message_bytes` bytes, described
    /// by `schema` (the encoded [`Schema`](crate::serialized::Schema), stored
    /// in the region). The identity hashes the name and the schema, so two
    /// programs agree on a topic only if they agree on every field; the size
    /// is the frame's bound. Kept for the life of the process, once per
    /// distinct schema.
    ///
    /// ```
    /// use horus::dynamic::MessageType;
    /// use horus::serialized::Schema;
    /// let schema = Schema::of::<(String, Vec<f32>)>().unwrap().encode();
    /// let ty = MessageType::serialized("Plan", &schema, 256).unwrap();
    /// assert_eq!(ty.size(), 260); // the bound and the frame's length
    /// assert_eq!(ty.serialized_schema(), Some(&schema[..]));
    /// ```
    ///
    /// # Errors
    /// A bound of 0 or over 16 MiB minus 4, a schema over
    /// [`MAX_SERIALIZED_SCHEMA_BYTES`](horus_nostd::layout::MAX_SERIALIZED_SCHEMA_BYTES).
    pub fn serialized(
        name: &str,
        schema: &[u8],
        max_message_bytes: u32,
    ) -> std::result::Result<Self, DefineError> {
        use horus_nostd::layout::{MAX_MESSAGE_BYTES, MAX_SERIALIZED_SCHEMA_BYTES};
        use horus_nostd::ring::FRAME_HEADER;
        let frame = max_message_bytes.checked_add(FRAME_HEADER as u32);
        let Some(size) = frame.filter(|&f| max_message_bytes > 0 && f <= MAX_MESSAGE_BYTES) else {
            return Err(DefineError::BadBound {
                message: name.to_owned(),
                bytes: max_message_bytes,
                max: MAX_MESSAGE_BYTES - FRAME_HEADER as u32,
            });
        };
        if schema.is_empty() || schema.len() > MAX_SERIALIZED_SCHEMA_BYTES {
            return Err(DefineError::SchemaTooLarge {
                message: name.to_owned(),
                bytes: schema.len(),
                max: MAX_SERIALIZED_SCHEMA_BYTES,
            });
        }
        let info = TypeInfo {
            id: horus_nostd::message::serialized_type_id(name, schema),
            size,
            align: 1,
            name: TypeName::new(name),
        };
        Ok(Self {
            name: intern(name),
            info,
            fields: &[],
            serialized_schema: Some(intern_schema(info.id, schema)),
        })
    }

    /// The encoded schema of a serialized type; `None` for plain data.
    pub fn serialized_schema(&self) -> Option<&'static [u8]> {
        self.serialized_schema
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
            serialized_schema: None,
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
        let entries = match self.serialized_schema {
            Some(schema) => horus_nostd::layout::serialized_schema_entries(schema.len()),
            None => flat_field_count(self.fields),
        };
        TopicLayout::new(
            self.info.size,
            self.info.align,
            capacity,
            participants,
            entries as u32,
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
    /// The bound of a serialized type is 0 or too large.
    BadBound {
        /// The message's name.
        message: String,
        /// The bound asked for.
        bytes: u32,
        /// The largest bound.
        max: u32,
    },
    /// The encoded schema of a serialized type is too large to store.
    SchemaTooLarge {
        /// The message's name.
        message: String,
        /// Its bytes.
        bytes: usize,
        /// The most a region stores.
        max: usize,
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
            Self::BadBound {
                message,
                bytes,
                max,
            } => write!(
                f,
                "serialized message `{message}`: a bound of {bytes} bytes is out of range; set \
                 `max_message_bytes` between 1 and {max}"
            ),
            Self::SchemaTooLarge {
                message,
                bytes,
                max,
            } => write!(
                f,
                "serialized message `{message}`: its schema encodes to {bytes} bytes, more than \
                 the {max} a region stores; split the type into smaller messages"
            ),
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

/// The process-lifetime copy of the encoded schema of type `id`; kept once
/// per id (the id hashes the schema).
fn intern_schema(id: u64, schema: &[u8]) -> &'static [u8] {
    static SCHEMAS: Interned<u8> = OnceLock::new();
    intern_by_id(&SCHEMAS, id, || schema.to_vec())
}

/// The process-lifetime copy of the fields of type `id`; kept once per id
/// (the id hashes every field, so equal ids mean equal fields).
fn intern_fields(id: u64, fields: Vec<Field>) -> &'static [Field] {
    static FIELDS: Interned<Field> = OnceLock::new();
    intern_by_id(&FIELDS, id, || fields)
}

/// Slices kept for the life of the process, by type id.
type Interned<T> = OnceLock<Mutex<HashMap<u64, &'static [T]>>>;

/// The slice kept in `store` for `id`, made by `make` (and leaked) the first time.
fn intern_by_id<T: 'static>(
    store: &'static Interned<T>,
    id: u64,
    make: impl FnOnce() -> Vec<T>,
) -> &'static [T]
where
    &'static [T]: Send,
{
    let mut map = store
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(id)
        .or_insert_with(|| Box::leak(make().into_boxed_slice()))
}

/// A topic handle of a run-time message type, speaking the message's bytes.
///
/// Like [`Topic`](crate::Topic): `Send`, not `Sync`, one participant; a
/// handle used in a child made by `fork()` panics with the same sentence.
pub struct DynTopic {
    // Drops (leaving the participant entry) before `shared` may unmap.
    handle: UnsafeCell<ManuallyDrop<RawHandle<'static>>>,
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
        // SAFETY: the view goes into `handle` of the DynTopic built below,
        // which holds `shared` in a later field: the view drops first.
        let (shared, region, me) = unsafe { open_joinable(name, options, ty)? };
        let pid = u64::from(std::process::id());
        let mut handle = RawHandle::join(region, me, pid, crate::now_ns())
            .map_err(|e| join_error(e, name, ty, shared.attached.path()))?;
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
        self.send_rejoining(|h| h.send_bytes(bytes))
    }

    /// Publishes the encoded bytes of one message of a serialized type (a
    /// [`MessageType::serialized`] topic; from
    /// [`encode`](crate::serialized::encode)), rejoining after an eviction
    /// as [`send_bytes`](Self::send_bytes) does. Never blocks.
    ///
    /// ```no_run
    /// use horus::dynamic::{DynTopic, MessageType};
    /// use horus::serialized::{Schema, Value, decode, encode};
    /// let schema = Schema::of::<String>().unwrap();
    /// let ty = MessageType::serialized(&schema.name, &schema.encode(), 64).unwrap();
    /// let topic = DynTopic::new("notes", &ty)?;
    /// topic.send_frame(&encode(&schema, &Value::String("hi".into())).unwrap()).unwrap();
    /// let mut buf = vec![0; ty.size()];
    /// if let Ok(Some(body)) = topic.recv_frame(&mut buf) {
    ///     assert_eq!(decode(&schema, body), Ok(Value::String("hi".into())));
    /// }
    /// # Ok::<(), horus::Error>(())
    /// ```
    pub fn send_frame(&self, body: &[u8]) -> std::result::Result<(), SendError> {
        self.send_rejoining(|h| h.send_framed(body))
    }

    /// Receives the next message of a serialized type into `buf` (exactly
    /// the type's size) and returns its encoded bytes, for
    /// [`decode`](crate::serialized::decode); `Ok(None)` if none.
    pub fn recv_frame<'b>(
        &self,
        buf: &'b mut [u8],
    ) -> std::result::Result<Option<&'b [u8]>, FrameError> {
        self.with_handle(|h| h.recv_framed(buf))
    }

    /// `send` on the handle; after an eviction, once more on a fresh entry
    /// (the blackbox is told).
    fn send_rejoining(
        &self,
        send: impl Fn(&mut RawHandle<'static>) -> std::result::Result<(), SendError>,
    ) -> std::result::Result<(), SendError> {
        self.with_handle(|h| match send(h) {
            Err(SendError::Evicted) => {
                let (ns, topic) = (self.shared.namespace.name(), &*self.name);
                let pid = u64::from(std::process::id());
                if let Err(e) = h.rejoin(pid, crate::now_ns()) {
                    record_evicted(ns, topic, &format!("cannot rejoin ({e})"), 1);
                    return Err(SendError::Evicted);
                }
                let outcome = format!("rejoined as participant {}", h.index());
                record_evicted(ns, topic, &outcome, 0);
                send(h)
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
        self.shared.attached.region().published_count()
    }

    fn with_handle<R>(&self, f: impl FnOnce(&mut RawHandle<'static>) -> R) -> R {
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
            // SAFETY: dropped exactly once, here, before `shared` (a field).
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
