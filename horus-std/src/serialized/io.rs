//! The hop of a serialized message: encoded into the handle's buffer,
//! published as one frame, copied out of the slot into the handle's buffer
//! (a private copy: the slot is shared memory a publisher may be
//! overwriting, validated by the ring's seqlock before it is handed over)
//! and decoded from there.
//!
//! Four ways to use it, two of them allocation-free in the steady state:
//! [`Topic::send`] / [`Topic::try_send`] (by value), [`Topic::send_ref`] /
//! [`Topic::try_send_ref`] (a message the caller keeps), [`Topic::recv`]
//! (a new `T`) and [`Topic::recv_into`] (into a `T` the caller keeps,
//! reusing its `String`s' and `Vec`s' capacity).

use std::fmt;

use horus_nostd::ring::{FRAME_HEADER, FrameError, Refusal};

use super::{Schema, Serialized, SerializedState, ValueError, value};
use crate::payload::PayloadCounts;
use crate::topic::Topic;

/// A message whose encoding exceeds the topic's bound; it is handed back.
#[derive(thiserror::Error)]
#[error(
    "a message for topic {topic:?} encodes to {bytes} bytes, over the topic's bound of {max}: \
     raise it with Topic::builder(..).max_message_bytes(..) where the topic is created, or \
     send less"
)]
pub struct TooLarge<T> {
    /// The message (a reference to it from [`Topic::try_send_ref`]).
    pub message: T,
    /// Its encoded size.
    pub bytes: usize,
    /// The topic's bound.
    pub max: usize,
    topic: String,
}

impl<T> fmt::Debug for TooLarge<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A serialized message [`Topic::try_send`] (or [`Topic::try_send_ref`])
/// did not publish, handed back with the reason. Nothing is counted or
/// logged: the caller has the message.
#[derive(thiserror::Error)]
pub enum Unsent<T> {
    /// Its encoding exceeds the topic's bound.
    #[error(transparent)]
    TooLarge(TooLarge<T>),
    /// It encoded within the bound, but the topic took no frame: every
    /// publisher lane held, no shared memory for the lane a first send
    /// claims, or evicted and unable to rejoin ([`Refusal`]'s sentence names
    /// the fix).
    #[error("a message for topic {topic:?} was not published: {reason}")]
    Refused {
        /// The message (a reference to it from [`Topic::try_send_ref`]).
        message: T,
        /// Why.
        reason: Refusal,
        /// The topic.
        topic: String,
    },
}

impl<T> Unsent<T> {
    /// The message handed back, whatever the reason.
    pub fn into_message(self) -> T {
        match self {
            Unsent::TooLarge(e) => e.message,
            Unsent::Refused { message, .. } => message,
        }
    }
}

impl<T> fmt::Debug for Unsent<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why [`Topic::publish`] published nothing.
#[derive(Clone, Copy)]
enum NotSent {
    /// The encoding's size, over the bound `max`.
    Oversize { bytes: usize, max: usize },
    /// The ring's refusal of a frame within the bound.
    Refused(Refusal),
}

impl<T: Serialized> Topic<T> {
    /// Publishes `msg`, or hands it back with the reason: its encoding
    /// exceeds the topic's bound ([`Unsent::TooLarge`]) or the topic took
    /// no frame ([`Unsent::Refused`], as for
    /// [`try_publish`](Topic::try_publish)). Nothing is counted or logged
    /// (what [`send`](Self::send) does instead). Never blocks.
    ///
    /// ```no_run
    /// # use horus::prelude::*;
    /// use horus::serialized::Unsent;
    /// # #[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive)]
    /// # #[postcard(crate = horus::serialized::postcard_schema)]
    /// # struct Note { text: String }
    /// # horus::serialized!(Note);
    /// let notes: Topic<Note> = Topic::builder("notes").max_message_bytes(16).build()?;
    /// let long = Note { text: "x".repeat(100) };
    /// let Err(Unsent::TooLarge(e)) = notes.try_send(long) else { panic!("sent") };
    /// assert_eq!((e.bytes, e.max), (101, 16));
    /// # Ok::<(), horus::Error>(())
    /// ```
    #[inline]
    pub fn try_send(&self, msg: T) -> Result<(), Unsent<T>> {
        match self.publish(&msg) {
            Ok(()) => Ok(()),
            Err(why) => Err(self.unsent(msg, why)),
        }
    }

    /// Publishes `*msg`, which the caller keeps (no clone: it is encoded
    /// where it is), so a loop can update one message and send it again
    /// without allocating. Otherwise as [`send`](Self::send): a message over
    /// the bound is logged (once per handle) and, like one the topic
    /// refused, counted in [`unsent_count`](Self::unsent_count). Never
    /// blocks.
    ///
    /// ```no_run
    /// # use horus::prelude::*;
    /// # #[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive)]
    /// # #[postcard(crate = horus::serialized::postcard_schema)]
    /// # struct Plan { name: String, weights: Vec<f32>, seq: u64 }
    /// # horus::serialized!(Plan);
    /// let plans: Topic<Plan> = Topic::new("plans")?;
    /// let mut plan = Plan { name: "arm".into(), weights: vec![0.0; 8], seq: 0 };
    /// for seq in 0..100 {
    ///     plan.seq = seq;
    ///     plan.weights.fill(seq as f32);
    ///     plans.send_ref(&plan);
    /// }
    /// # Ok::<(), horus::Error>(())
    /// ```
    #[inline]
    pub fn send_ref(&self, msg: &T) {
        if let Err(why) = self.publish(msg) {
            self.count_not_sent(why);
        }
    }

    /// [`try_send`](Self::try_send) of a message the caller keeps: the
    /// reference is handed back in the error. Never blocks.
    #[inline]
    pub fn try_send_ref<'m>(&self, msg: &'m T) -> Result<(), Unsent<&'m T>> {
        match self.publish(msg) {
            Ok(()) => Ok(()),
            Err(why) => Err(self.unsent(msg, why)),
        }
    }

    /// Receives the next message into `*msg`, reusing what it holds: its
    /// `String`s and `Vec`s keep their capacity, so a loop that receives into
    /// one message allocates only when one grows. `false`, `*msg` untouched,
    /// if there is none. Never blocks.
    ///
    /// The reuse is serde's `deserialize_in_place`, which
    /// `#[derive(Deserialize)]` implements for structs (horus turns on
    /// `serde_derive`'s `deserialize_in_place` feature for the whole build);
    /// a type that does not implement it (a hand-written `Deserialize`, an
    /// enum, a map) is decoded afresh and assigned, which is still correct.
    /// A frame that does not decode (only a corrupt or foreign region holds
    /// one) is skipped and logged as for [`recv`](Self::recv), and may leave
    /// `*msg` partly overwritten if no message that decodes follows it.
    ///
    /// ```no_run
    /// # use horus::prelude::*;
    /// # #[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive, Default)]
    /// # #[postcard(crate = horus::serialized::postcard_schema)]
    /// # struct Plan { name: String, weights: Vec<f32>, seq: u64 }
    /// # horus::serialized!(Plan);
    /// let plans: Topic<Plan> = Topic::new("plans")?;
    /// let mut plan = Plan::default();
    /// while plans.recv_into(&mut plan) {
    ///     println!("{} {:?}", plan.name, plan.weights);
    /// }
    /// # Ok::<(), horus::Error>(())
    /// ```
    #[inline]
    pub fn recv_into(&self, msg: &mut T) -> bool {
        next_decoded(self, |body| {
            T::deserialize_in_place(&mut postcard::Deserializer::from_bytes(body), msg)
        })
        .is_some()
    }

    /// Encodes `msg` into the handle's buffer and publishes it; says why
    /// if nothing was published (nothing counted).
    #[inline]
    fn publish(&self, msg: &T) -> Result<(), NotSent> {
        let state = self.payload_state();
        let mut buf = state.buf.borrow_mut();
        let max = self.ensure_buf(&mut buf) - FRAME_HEADER;
        // postcard's own slice output: an output of ours that avoided its
        // `memcpy` call per varint measured slower per hop (benchmarks/README.md,
        // "Serialized messages").
        let Ok(body) = postcard::to_slice(msg, &mut buf[..max]) else {
            let bytes = postcard::to_allocvec(msg).map_or(max + 1, |v| v.len());
            return Err(NotSent::Oversize { bytes, max });
        };
        // The body fits the region's frame by construction (`max`).
        self.try_send_frame(body).map_err(NotSent::Refused)
    }

    /// The error handing `message` back.
    #[cold]
    fn unsent<M>(&self, message: M, why: NotSent) -> Unsent<M> {
        let topic = self.name().to_owned();
        match why {
            NotSent::Oversize { bytes, max } => Unsent::TooLarge(TooLarge {
                message,
                bytes,
                max,
                topic,
            }),
            NotSent::Refused(reason) => Unsent::Refused {
                message,
                reason,
                topic,
            },
        }
    }

    /// Counts a message [`send_ref`](Self::send_ref) did not publish: one
    /// over the bound is logged once per handle; a refusal is counted and
    /// reported as a plain topic's refused send is.
    #[cold]
    #[inline(never)]
    fn count_not_sent(&self, why: NotSent) {
        let state = self.payload_state();
        match why {
            NotSent::Refused(reason) => self.count_unsent(reason),
            NotSent::Oversize { .. } => {
                state.too_large.set(state.too_large.get() + 1);
                if !state.logged_large.replace(true) {
                    let e = self.unsent((), why);
                    log::warn!("{e} (logged once; counted in unsent_count)");
                }
            }
        }
    }

    /// Sizes the handle's buffer to the region's message size; returns it.
    #[inline]
    fn ensure_buf(&self, buf: &mut Vec<u8>) -> usize {
        let size = self.region().layout().type_size() as usize;
        if buf.len() != size {
            buf.resize(size, 0);
        }
        size
    }
}

/// [`Topic::send`] of a serialized payload: [`Topic::send_ref`], then the
/// message is dropped.
#[doc(hidden)]
#[inline]
pub fn send<T: Serialized>(topic: &Topic<T>, msg: T) {
    topic.send_ref(&msg);
}

/// [`Topic::recv`] of a serialized payload: the next message that decodes.
#[doc(hidden)]
#[inline]
pub fn recv<T: Serialized>(topic: &Topic<T>) -> Option<T> {
    next_decoded(topic, |body| postcard::from_bytes::<T>(body))
}

/// The next frame that `decode` accepts, copied into the handle's buffer
/// and decoded from there; frames it refuses are counted and logged (once).
#[inline]
fn next_decoded<T: Serialized, R>(
    topic: &Topic<T>,
    mut decode: impl FnMut(&[u8]) -> postcard::Result<R>,
) -> Option<R> {
    let state = topic.payload_state();
    let mut buf = state.buf.borrow_mut();
    topic.ensure_buf(&mut buf);
    loop {
        let why = match topic.recv_frame(&mut buf) {
            Ok(None) => return None,
            Ok(Some(body)) => match bounded(state, body) {
                Err(e) => e.to_string(),
                Ok(()) => match decode(body) {
                    Ok(msg) => return Some(msg),
                    Err(e) => e.to_string(),
                },
            },
            Err(FrameError::BadLength { claimed, max }) => {
                format!("a frame claims {claimed} bytes, over {max}")
            }
            Err(e) => e.to_string(),
        };
        reject(topic, &why);
    }
}

/// Checks a frame of a type with sequences of zero-sized elements against
/// the bound on its values (see [`SerializedState::of`]); `Ok` for any other.
#[inline]
fn bounded(state: &SerializedState, body: &[u8]) -> Result<(), ValueError> {
    match &state.bounded {
        None => Ok(()),
        Some(schema) => check_bounded(schema, body),
    }
}

#[inline(never)]
fn check_bounded(schema: &Schema, body: &[u8]) -> Result<(), ValueError> {
    value::decode(schema, body).map(drop)
}

/// Counts a received frame that did not decode; logs the first.
#[cold]
fn reject<T: Serialized>(topic: &Topic<T>, why: &str) {
    let state = topic.payload_state();
    state.rejected.set(state.rejected.get() + 1);
    if !state.logged_bad.replace(true) {
        log::warn!(
            "topic {}: a received message does not decode ({why}); skipped (logged once)",
            topic.name()
        );
    }
}

/// Counts of a serialized payload.
#[doc(hidden)]
pub fn counts<T: Serialized>(topic: &Topic<T>) -> PayloadCounts {
    let state = topic.payload_state();
    PayloadCounts {
        stale: 0,
        rejected: state.rejected.get(),
        unsent: state.too_large.get(),
    }
}
