//! What a send or a receive can refuse, and why (each with its sentence).

#[cfg(doc)]
use super::{RawHandle, TopicHandle};

/// A wrong-length payload handed to the byte-level API.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[error(
    "payload of {given} bytes given to a topic of {expected}-byte messages: pass exactly \
     {expected} bytes (TypeInfo::size of the region's type)"
)]
pub struct PayloadSizeError {
    /// The topic's message size.
    pub expected: u32,
    /// The length given.
    pub given: usize,
}

// `Debug` is the sentence, as for every core error (see `crate::error`).
crate::error::debug_is_display!(PayloadSizeError);

/// Bytes of the length that precedes the body of a framed message
/// ([`RawHandle::send_framed`]).
pub const FRAME_HEADER: usize = 4;

/// A failed [`RawHandle::recv_framed`].
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FrameError {
    /// The output is not the topic's message size.
    #[error(transparent)]
    WrongSize(PayloadSizeError),
    /// A delivered frame claims a length beyond its slot: the region is
    /// corrupt or hostile (a publisher of this crate never writes one).
    #[error(
        "a received frame claims {claimed} bytes where the topic's slots hold at most \
         {max}: the region is corrupt; the message was skipped"
    )]
    BadLength {
        /// The length stored in the frame.
        claimed: u32,
        /// The most a frame of this topic can hold.
        max: u32,
    },
}

crate::error::debug_is_display!(FrameError);

/// Why a send published nothing.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Refusal {
    /// This handle's participant entry was reclaimed under it (its owner was
    /// judged dead, wrongly) and may be another handle's now: call
    /// [`TopicHandle::rejoin`] and send again.
    #[error(
        "message not published: this handle's participant entry was reclaimed (its owner was \
         judged dead); rejoin the topic and send it again"
    )]
    Evicted,
    /// This handle holds no publisher lane and every lane of the topic is
    /// held by another handle: the topic was created for fewer publishers.
    #[error(
        "message not published: all {max_publishers} publisher lanes of the topic are held by \
         other handles (the topic was created with max_publishers = {max_publishers}); create \
         it with a larger `.max_publishers(n)` (remove the existing region first: `horus \
         clean --shm`), or publish from fewer handles; lanes of dead processes come back when \
         they are reclaimed"
    )]
    NoLane {
        /// The topic's lanes ([`TopicLayout::max_publishers`](crate::TopicLayout::max_publishers)).
        max_publishers: u32,
    },
    /// No lane was usable: a free lane is at a sequence number too near the
    /// stamp limit for a new holder (only a corrupt or hostile region gets
    /// there) and no other lane is free. The last such lane is named.
    #[error(
        "topic region is corrupt: lane {lane} is at sequence {seq}, too near the 62-bit \
         sequence limit for a new publisher, and no other lane is free; remove the topic \
         (`horus clean --shm`) and let it be recreated"
    )]
    LaneExhausted {
        /// The lane.
        lane: u32,
        /// Its newest sequence number.
        seq: u64,
    },
    /// The memory of the free lane this handle claimed could not be backed
    /// ([`Words::reserve`](crate::region::Words::reserve)): the storage is
    /// out of memory. The lane was given back untouched; the next send
    /// tries again.
    #[error(
        "message not published: the {bytes} bytes of shared memory for publisher lane {lane} \
         could not be reserved: the memory is full (for topics in /dev/shm: remove what is not \
         needed with `horus clean --shm`, or give /dev/shm more room, e.g. `docker run \
         --shm-size=512m`); the next send tries again"
    )]
    NoMemory {
        /// The lane.
        lane: u32,
        /// Its size in bytes.
        bytes: u64,
    },
}

crate::error::debug_is_display!(Refusal);

/// A send that published nothing, with the message handed back and the
/// reason: the handle was evicted ([`Refusal::Evicted`]: call
/// [`TopicHandle::rejoin`] and send it again), found no free publisher
/// lane ([`Refusal::NoLane`]), no memory for one ([`Refusal::NoMemory`]),
/// or only lanes at their sequence limit ([`Refusal::LaneExhausted`]).
///
/// ```
/// # use horus_nostd::{region::RegionBuffer, TopicRegion, TopicHandle, OwnerToken, msgs::CmdVel};
/// # use horus_nostd::ring::{Refusal, SendRefused};
/// static MEM: RegionBuffer<4096> = RegionBuffer::new();
/// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 3, 0).unwrap();
/// let me = OwnerToken::new(1).unwrap();
/// let mut publisher = TopicHandle::<CmdVel>::join(region, me, 0, 0).unwrap();
/// let mut subscriber = TopicHandle::<CmdVel>::join(region, me, 0, 0).unwrap();
/// // Someone wrongly judges us dead and frees our entries.
/// region.reclaim_dead(OwnerToken::new(2).unwrap(), |_| false);
/// let msg = CmdVel { linear: 1.0, ..Default::default() };
/// let Err(SendRefused { msg, reason: Refusal::Evicted }) = publisher.send(msg) else {
///     panic!("not evicted")
/// };
/// publisher.rejoin(0, 0).unwrap();
/// assert_eq!(publisher.send(msg), Ok(()));
/// assert_eq!(subscriber.recv().map(|m| m.linear), Some(1.0));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[error("{reason}")]
pub struct SendRefused<T> {
    /// The message, not published.
    pub msg: T,
    /// Why.
    pub reason: Refusal,
}

impl<T> core::fmt::Debug for SendRefused<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// A failed [`RawHandle::send_bytes`]; nothing was written.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SendError {
    /// The payload is not the topic's message size.
    #[error(transparent)]
    WrongSize(#[from] PayloadSizeError),
    /// The handle was evicted ([`Refusal::Evicted`]: [`RawHandle::rejoin`]
    /// and send again), found no publisher lane ([`Refusal::NoLane`]), no
    /// memory for it ([`Refusal::NoMemory`]), or only lanes at their
    /// sequence limit ([`Refusal::LaneExhausted`]).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A frame body larger than the topic's slots hold
    /// ([`RawHandle::send_framed`]).
    #[error(
        "a message of {given} bytes exceeds the topic's bound of {max} bytes: raise the \
         bound where the topic is created, or send less"
    )]
    FrameTooLarge {
        /// The largest body the topic takes.
        max: u32,
        /// The body's length.
        given: usize,
    },
}

crate::error::debug_is_display!(SendError);
