//! Message types known at run time, and topics of them: for language
//! bindings (Python) and tools that speak bytes.
//!
//! A [`MessageType`] is what [`message!`](crate::message!) records for a
//! Rust type ([`MessageType::of`]), or the same record computed at run time
//! from a name and field list ([`MessageType::define`]) with the layout rules
//! of `#[repr(C)]` and the same padding check. Both give the same
//! [`TypeInfo`](horus_nostd::message::TypeInfo) and fields, hence the same type id and region self-description:
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

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::Arc;

use horus_nostd::RawHandle;
use horus_nostd::ring::{FrameError, PayloadSizeError, Refusal, SendError};

pub use crate::message_type::{DefineError, FieldSpec, FieldTy, MessageType, prim_size};
pub use horus_nostd::{Field, FieldKind};

use crate::error::Result;
use crate::join::{
    InUse, SharedTopic, TopicOptions, join_handle, open_typed, report_evicted, used_after_fork,
};
use crate::shm::liveness;
use crate::shm::mapping::MappedWords;

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
    /// `handle` is borrowed (`with_handle`, see [`InUse`]).
    in_use: Cell<bool>,
}

impl DynTopic {
    /// Opens topic `name` of type `ty` in the current namespace, creating it
    /// if needed (as [`Topic::new`](crate::Topic::new)).
    pub fn new(name: &str, ty: &MessageType) -> Result<Self> {
        Self::with_namespace(name, ty, None)
    }

    /// As [`new`](Self::new), in namespace `ns` if given.
    pub fn with_namespace(name: &str, ty: &MessageType, ns: Option<&str>) -> Result<Self> {
        Self::with_publishers(name, ty, ns, None)
    }

    /// As [`with_namespace`](Self::with_namespace), creating the topic with
    /// `max_publishers` publisher lanes if given (see
    /// [`TopicBuilder::max_publishers`](crate::topic::TopicBuilder::max_publishers);
    /// set, an existing topic with another value is an error).
    pub fn with_publishers(
        name: &str,
        ty: &MessageType,
        ns: Option<&str>,
        max_publishers: Option<u32>,
    ) -> Result<Self> {
        Self::with_geometry(name, ty, ns, max_publishers, None)
    }

    /// As [`with_publishers`](Self::with_publishers), creating the topic
    /// with `capacity` slots per publisher lane if given (see
    /// [`TopicBuilder::capacity`](crate::topic::TopicBuilder::capacity); set,
    /// an existing topic with another value is an error).
    pub fn with_geometry(
        name: &str,
        ty: &MessageType,
        ns: Option<&str>,
        max_publishers: Option<u32>,
        capacity: Option<u32>,
    ) -> Result<Self> {
        let options = TopicOptions {
            namespace: ns,
            publishers: max_publishers,
            capacity,
            ..TopicOptions::default()
        };
        let (shared, me) = open_typed(name, options, ty)?;
        let mut handle = join_handle(&shared, me, name, ty.name())?;
        handle.set_holder(crate::node::current_node_tag());
        Ok(Self {
            handle: UnsafeCell::new(ManuallyDrop::new(handle)),
            shared,
            ty: *ty,
            name: name.into(),
            generation: liveness::fork_generation(),
            pid: std::process::id(),
            in_use: Cell::new(false),
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
    /// blackbox is told); [`SendError::Refused`] if it cannot rejoin
    /// ([`Refusal::Evicted`]), finds every publisher lane held
    /// ([`Refusal::NoLane`]; [`Refusal::LaneExhausted`] in a corrupt region)
    /// or no shared memory for the one it claims ([`Refusal::NoMemory`]);
    /// [`SendError::WrongSize`] if `bytes` is not the type's size.
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
        send: impl Fn(&mut RawHandle<MappedWords>) -> std::result::Result<(), SendError>,
    ) -> std::result::Result<(), SendError> {
        self.with_handle(|h| match send(h) {
            Err(SendError::Refused(Refusal::Evicted)) => {
                let (ns, topic) = (self.shared.namespace.name(), &*self.name);
                let pid = u64::from(std::process::id());
                if let Err(e) = h.rejoin(pid, crate::now_ns()) {
                    report_evicted(ns, topic, &format!("cannot rejoin ({e})"), 1);
                    return Err(SendError::Refused(Refusal::Evicted));
                }
                let outcome = format!("rejoined as participant {}", h.index());
                report_evicted(ns, topic, &outcome, 0);
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
        self.shared.region.published_count()
    }

    /// `Ok` if this handle was made in this process; the typed error of one
    /// inherited through `fork()` (every other method panics with it).
    ///
    /// # Errors
    /// [`TopicError::UsedAfterFork`](crate::error::TopicError::UsedAfterFork).
    pub fn check_process(&self) -> std::result::Result<(), crate::error::TopicError> {
        crate::join::check_process(&self.name, self.pid, self.generation)
    }

    fn with_handle<R>(&self, f: impl FnOnce(&mut RawHandle<MappedWords>) -> R) -> R {
        if liveness::fork_generation() != self.generation {
            used_after_fork(&self.name, self.pid);
        }
        let _in_use = InUse::take(&self.in_use, || &self.name);
        // SAFETY: `DynTopic` is not `Sync` (UnsafeCell), so one thread at a
        // time; the closures above call the core's byte API, whose rejoin
        // (and the blackbox record after it) may run the program's logger,
        // which may use this handle again: `_in_use` makes that a panic
        // before a second reference is made, so this is the only reference
        // while it lives. The handle is dropped only in `Drop`.
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
            .field("type", &self.ty.name())
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

    /// A nested array is recorded as `message!` records `[[T; M]; N]`: its
    /// element count and its shape, which the identity covers (`u8[2][2]`
    /// is not `u8[4]`).
    #[test]
    fn nested_arrays_are_recorded_with_their_shape_as_message_macro_does() {
        use FieldKind::U8;
        horus_nostd::message! { Grid { cells: [[u8; 2]; 3] } }
        let rows = FieldTy::Array(Box::new(FieldTy::Array(Box::new(FieldTy::Prim(U8)), 2)), 3);
        let grid = MessageType::define("Grid", &[FieldSpec::new("cells", rows)]).unwrap();
        assert_eq!(grid.info(), MessageType::of::<Grid>().info());
        let flat = MessageType::define("Grid", &[arr("cells", U8, 6)]).unwrap();
        assert_ne!(grid.id(), flat.id());
        let cells = &grid.fields()[0];
        assert_eq!((cells.count, cells.size), (6, 6));
        assert_eq!(cells.shape.dims(), &[3, 2]);
    }

    #[test]
    fn arrays_of_more_than_six_dimensions_are_refused_with_a_sentence() {
        let mut ty = FieldTy::Prim(FieldKind::U8);
        for _ in 0..7 {
            ty = FieldTy::Array(Box::new(ty), 1);
        }
        let e = MessageType::define("Deep", &[FieldSpec::new("t", ty)]).unwrap_err();
        assert!(matches!(e, DefineError::TooManyDimensions { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "field `t` of message `Deep` is an array of more than 6 dimensions, the most a \
             topic records: flatten its inner dimensions into one"
        );
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

    /// Was a bug: counts and sizes multiplied and added unchecked, so
    /// `u8[2^32][2^32]` defined a 1-byte message (debug builds panicked).
    #[test]
    fn sizes_that_overflow_are_too_large_not_wrapped() {
        use FieldKind::*;
        let nested =
            |k, n, m| FieldTy::Array(Box::new(FieldTy::Array(Box::new(FieldTy::Prim(k)), n)), m);
        let cases = [
            vec![
                FieldSpec::new("a", nested(U8, 1 << 32, 1 << 32)),
                prim("b", U8),
            ],
            vec![arr("a", U64, 1 << 61), prim("b", U64)],
            vec![arr("a", U64, usize::MAX)],
            vec![arr("a", U8, u32::MAX as usize), arr("b", U8, usize::MAX)],
            vec![arr("a", U8, 1 << 32)],
        ];
        for fields in cases {
            let e = MessageType::define("Big", &fields).unwrap_err();
            assert!(
                matches!(e, DefineError::TooLarge { .. }),
                "{fields:?}: {e:?}"
            );
            assert_eq!(e.to_string(), "message `Big` is larger than 4 GiB");
        }
    }

    #[test]
    fn defining_twice_keeps_one_copy() {
        let a = MessageType::define("Twice", &[prim("x", FieldKind::F64)]).unwrap();
        let b = MessageType::define("Twice", &[prim("x", FieldKind::F64)]).unwrap();
        assert!(std::ptr::eq(a.fields(), b.fields()));
    }
}
