//! What a [`Topic`] carries: a [`Message`] copied through the ring, or a
//! large payload (an [`Image`](crate::image::Image), a
//! [`Tensor`](crate::tensor::Tensor), ...) whose bytes live in a block pool
//! while the ring carries a small descriptor.
//!
//! `Topic<T: Payload>`. Every `T: Message` is a `Payload` by the blanket
//! impl below, whose `send`/`recv` are the ring's own (inlined, with a
//! zero-sized state), so `Topic::<Imu>` is the same code as before. Every
//! large type is a [`Pooled<L>`](crate::pooled::Pooled), which implements it
//! once for all layouts (`Wire = L::Wire`, `Received = PoolView<L>`). Both
//! join through the one join path (`join::open_joinable`), as the wire type.

use std::sync::Arc;

use horus_nostd::Message;

use crate::dynamic::MessageType;
use crate::shm::Namespace;
use crate::topic::Topic;

/// Something a [`Topic`] carries. Implemented by every [`Message`] (copied
/// through the ring) and by every [`Pooled`](crate::pooled::Pooled) large
/// type (a descriptor in the ring, the bytes in a shared block pool).
pub trait Payload: Sized + 'static {
    /// The fixed-size message the ring carries.
    type Wire: Message;
    /// What [`Topic::recv`] gives.
    type Received;
    /// Per-handle state (`()` for a [`Message`]).
    #[doc(hidden)]
    type State;
    /// The message type the topic's region is created for and checked
    /// against (`Wire`'s, unless the payload's size is chosen at creation,
    /// as for a [serialized](mod@crate::serialized) type).
    #[doc(hidden)]
    fn wire_type(_ctx: &WireContext<'_>) -> crate::Result<MessageType> {
        Ok(MessageType::of::<Self::Wire>())
    }
    /// Checks the builder's pool options before anything is created
    /// (only pooled payloads have any).
    #[doc(hidden)]
    fn check_options(_name: &str, _pool: &PoolOptions) -> crate::Result<()> {
        Ok(())
    }
    /// The state of a new handle.
    #[doc(hidden)]
    fn new_state(ctx: &PayloadContext<'_>) -> Self::State;
    /// [`Topic::send`].
    #[doc(hidden)]
    fn send(topic: &Topic<Self>, msg: Self);
    /// [`Topic::recv`].
    #[doc(hidden)]
    fn recv(topic: &Topic<Self>) -> Option<Self::Received>;
    /// Counts the topic's own counters do not see.
    #[doc(hidden)]
    fn counts(_topic: &Topic<Self>) -> PayloadCounts {
        PayloadCounts::default()
    }
    /// The reader of the handle's pool views, if any view of a block held
    /// under its participant index is still alive: the handle is then
    /// parked until they are gone, instead of freeing its entry now.
    #[doc(hidden)]
    fn take_live_views(_topic: &Topic<Self>) -> Option<crate::pool::LiveViews> {
        None
    }
}

/// What a payload's region type is chosen from.
#[doc(hidden)]
#[derive(Debug)]
pub struct WireContext<'a> {
    /// The topic's name.
    pub name: &'a str,
    /// The builder's namespace (`None`: `HORUS_NAMESPACE`).
    pub namespace: Option<&'a str>,
    /// The builder's bound on a serialized message (`None`: not set).
    pub max_message_bytes: Option<u32>,
}

/// What a payload's state is made from.
#[doc(hidden)]
#[derive(Debug)]
pub struct PayloadContext<'a> {
    /// The topic's name.
    pub name: &'a str,
    /// Its namespace.
    pub namespace: &'a Arc<Namespace>,
    /// The builder's pool geometry.
    pub pool: PoolOptions,
}

/// Block pool geometry a builder was given (large payloads only).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Bytes per block as given, before rounding up to 64 (`None`: the
    /// first message's size).
    pub block_size: Option<u32>,
    /// Blocks per segment.
    pub blocks_per_segment: u32,
    /// Segments per publisher.
    pub max_segments: u32,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            block_size: None,
            blocks_per_segment: crate::pool::DEFAULT_BLOCKS_PER_SEGMENT,
            max_segments: crate::pool::DEFAULT_MAX_SEGMENTS,
        }
    }
}

/// Messages a payload kind counts itself.
#[doc(hidden)]
#[derive(Debug, Default, Clone, Copy)]
pub struct PayloadCounts {
    /// Delivered by the ring but stale (block recycled): dropped.
    pub stale: u64,
    /// Delivered by the ring but refused (invalid): neither received nor dropped.
    pub rejected: u64,
    /// Not sent (pool exhausted, too large, file error).
    pub unsent: u64,
}

impl<T: Message> Payload for T {
    type Wire = T;
    type Received = T;
    type State = ();
    #[inline]
    fn new_state(_: &PayloadContext<'_>) {}
    #[inline]
    fn send(topic: &Topic<T>, msg: T) {
        topic.send_wire(msg)
    }
    #[inline]
    fn recv(topic: &Topic<T>) -> Option<T> {
        topic.recv_wire()
    }
}
