//! Serialized messages: `Topic<T>` for types that are not plain data
//! (strings, vectors, nested structs, enums), encoded with postcard.
//!
//! A type opts in with three derives and one line (the `postcard`
//! attribute points the [`SchemaDerive`] derive at horus's re-export of
//! postcard-schema; a crate that depends on `postcard-schema` itself can
//! leave it out):
//!
//! ```no_run
//! use horus::prelude::*;
//! use horus::serialized::SchemaDerive;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, SchemaDerive, Debug, Clone, PartialEq)]
//! #[postcard(crate = horus::serialized::postcard_schema)]
//! struct Plan {
//!     name: String,
//!     weights: Vec<f32>,
//! }
//! horus::serialized!(Plan);
//!
//! let plans: Topic<Plan> = Topic::builder("plans").max_message_bytes(256).build()?;
//! plans.send(Plan { name: "arm".into(), weights: vec![0.5, 1.0] });
//! if let Some(plan) = plans.recv() {
//!     println!("{plan:?}");
//! }
//! # Ok::<(), horus::Error>(())
//! ```
//!
//! **Wire.** A message is its postcard encoding, carried in the ring as a
//! frame (its length, then the bytes) in slots sized by the topic's bound
//! ([`TopicBuilder::max_message_bytes`](crate::topic::TopicBuilder::max_message_bytes),
//! default [`DEFAULT_MAX_MESSAGE_BYTES`]); a receiver copies only the frame.
//! Loss accounting is the ring's: `received + dropped == published`.
//!
//! **Bound.** A message whose encoding exceeds the bound is never sent
//! silently: [`Topic::try_send`] returns [`TooLarge`] (the message handed
//! back), [`Topic::send`] logs it (once per handle) and counts it in
//! [`Topic::unsent_count`]. A topic opened without an explicit bound takes
//! the existing topic's.
//!
//! **Identity.** The type's [`Schema`] (field names and types, nested) is
//! encoded ([`Schema::encode`]) into the topic's region, and the type id is a
//! hash of the name and those bytes: a program whose `Plan` has other fields
//! gets [`TopicError::TypeMismatch`].
//!
//! **Without the source.** Tools read the schema from the region
//! ([`TopicInfo::serialized`](crate::inspect::TopicInfo::serialized)) and
//! turn messages into generic [`Value`]s and back ([`decode`], [`encode`]):
//! `horus topic echo`, and the Python bindings through
//! [`RawTopic::recv_frame`](crate::inspect::RawTopic::recv_frame).

pub mod schema;
pub mod value;

use std::cell::{Cell, RefCell};
use std::fmt;

use horus_nostd::ring::{FRAME_HEADER, FrameError, SendError};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use postcard_schema;
pub use schema::{
    MAX_DEPTH, NamedField, SCHEMA_VERSION, Schema, SchemaError, SchemaType, Variant, VariantKind,
};
pub use value::{Value, ValueError, decode, encode};

/// The derive that describes a type for its region (postcard-schema's).
pub use postcard_schema::Schema as SchemaDerive;

use crate::dynamic::{DefineError, MessageType};
use crate::error::TopicError;
use crate::payload::{PayloadCounts, WireContext};
use crate::topic::Topic;

/// Bound on an encoded message when the builder sets none.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 1024;

/// A type carried serialized: implemented by [`serialized!`](crate::serialized!).
pub trait Serialized:
    Serialize + DeserializeOwned + postcard_schema::Schema + crate::Payload<State = SerializedState>
{
}

/// Implements [`Serialized`] and [`Payload`](crate::Payload) for types that
/// derive `Serialize`, `Deserialize` and [`Schema`](SchemaDerive), so that
/// `Topic<T>` carries them (see the [module docs](mod@crate::serialized)).
#[macro_export]
macro_rules! serialized {
    ($($ty:ty),+ $(,)?) => {$(
        impl $crate::serialized::Serialized for $ty {}
        impl $crate::Payload for $ty {
            type Wire = $crate::serialized::NoWire;
            type Received = $ty;
            type State = $crate::serialized::SerializedState;
            fn wire_type(
                ctx: &$crate::payload::WireContext<'_>,
            ) -> $crate::Result<$crate::dynamic::MessageType> {
                $crate::serialized::wire_type::<$ty>(ctx)
            }
            fn new_state(_: &$crate::payload::PayloadContext<'_>) -> Self::State {
                $crate::serialized::SerializedState::default()
            }
            fn send(topic: &$crate::Topic<$ty>, msg: $ty) {
                $crate::serialized::send(topic, msg)
            }
            fn recv(topic: &$crate::Topic<$ty>) -> ::core::option::Option<$ty> {
                $crate::serialized::recv(topic)
            }
            fn counts(topic: &$crate::Topic<$ty>) -> $crate::payload::PayloadCounts {
                $crate::serialized::counts(topic)
            }
        }
    )+};
}

horus_nostd::message! {
    /// The ring type a serialized payload names as its `Wire` (never sent:
    /// its region is made from the type's schema and bound instead).
    #[doc(hidden)]
    NoWire {
        len: u32,
    }
}

/// Per-handle state of a serialized topic.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct SerializedState {
    /// Encoding and receive buffer, the region's message size.
    buf: RefCell<Vec<u8>>,
    /// Messages over the bound, not sent.
    too_large: Cell<u64>,
    /// Received frames that did not decode.
    rejected: Cell<u64>,
    /// `send` has logged a message over the bound.
    logged_large: Cell<bool>,
    /// `recv` has logged a frame that did not decode.
    logged_bad: Cell<bool>,
}

/// A message whose encoding exceeds the topic's bound; it is handed back.
#[derive(thiserror::Error)]
#[error(
    "a message for topic {topic:?} encodes to {bytes} bytes, over the topic's bound of {max}: \
     raise it with Topic::builder(..).max_message_bytes(..) where the topic is created, or \
     send less"
)]
pub struct TooLarge<T> {
    /// The message.
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

impl<T: Serialized> Topic<T> {
    /// Publishes `msg`, or hands it back if its encoding exceeds the topic's
    /// bound (counted in [`unsent_count`](Self::unsent_count)). Never blocks.
    ///
    /// ```no_run
    /// # use horus::prelude::*;
    /// # #[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive)]
    /// # #[postcard(crate = horus::serialized::postcard_schema)]
    /// # struct Note { text: String }
    /// # horus::serialized!(Note);
    /// let notes: Topic<Note> = Topic::builder("notes").max_message_bytes(16).build()?;
    /// let long = Note { text: "x".repeat(100) };
    /// let e = notes.try_send(long).unwrap_err();
    /// assert_eq!((e.bytes, e.max), (101, 16));
    /// assert_eq!(notes.unsent_count(), 1);
    /// # Ok::<(), horus::Error>(())
    /// ```
    pub fn try_send(&self, msg: T) -> Result<(), TooLarge<T>> {
        let state = self.payload_state();
        let mut buf = state.buf.borrow_mut();
        let max = self.ensure_buf(&mut buf) - FRAME_HEADER;
        let body = match postcard::serialize_with_flavor(&msg, FrameBody::new(&mut buf[..max])) {
            Ok(body) => body,
            Err(_) => {
                state.too_large.set(state.too_large.get() + 1);
                let bytes = postcard::to_allocvec(&msg).map_or(max + 1, |v| v.len());
                return Err(TooLarge {
                    message: msg,
                    bytes,
                    max,
                    topic: self.name().to_owned(),
                });
            }
        };
        // The body fits the region's frame by construction (`max`), and an
        // evicted handle rejoins inside: the result carries nothing more.
        let _: Result<(), SendError> = self.send_frame(body);
        Ok(())
    }

    /// Sizes the handle's buffer to the region's message size; returns it.
    fn ensure_buf(&self, buf: &mut Vec<u8>) -> usize {
        let size = self.region().layout().type_size() as usize;
        if buf.len() != size {
            buf.resize(size, 0);
        }
        size
    }
}

/// The postcard output of [`Topic::try_send`]: the handle's buffer, filled
/// from the front. postcard hands most values over as a few bytes at a time
/// (a varint, an `f32`); this copies short runs byte by byte instead of
/// calling `memcpy` for each (see the serialized section of
/// `benchmarks/README.md` for what that saves).
struct FrameBody<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> FrameBody<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }
}

/// Longest run copied byte by byte; longer ones take `copy_from_slice`.
const SHORT_RUN: usize = 16;

impl<'a> postcard::ser_flavors::Flavor for FrameBody<'a> {
    type Output = &'a [u8];

    #[inline(always)]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        let slot = self
            .buf
            .get_mut(self.len)
            .ok_or(postcard::Error::SerializeBufferFull)?;
        *slot = byte;
        self.len += 1;
        Ok(())
    }

    #[inline(always)]
    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        let end = self.len + bytes.len();
        let out = self
            .buf
            .get_mut(self.len..end)
            .ok_or(postcard::Error::SerializeBufferFull)?;
        if bytes.len() <= SHORT_RUN {
            for (o, b) in out.iter_mut().zip(bytes) {
                *o = *b;
            }
        } else {
            out.copy_from_slice(bytes);
        }
        self.len = end;
        Ok(())
    }

    fn finalize(self) -> postcard::Result<&'a [u8]> {
        Ok(&self.buf[..self.len])
    }
}

/// [`Topic::send`] of a serialized payload.
#[doc(hidden)]
pub fn send<T: Serialized>(topic: &Topic<T>, msg: T) {
    if let Err(e) = topic.try_send(msg) {
        let state = topic.payload_state();
        if !state.logged_large.replace(true) {
            log::warn!("{e} (logged once; counted in unsent_count)");
        }
    }
}

/// [`Topic::recv`] of a serialized payload: the next message that decodes.
#[doc(hidden)]
pub fn recv<T: Serialized>(topic: &Topic<T>) -> Option<T> {
    let state = topic.payload_state();
    let mut buf = state.buf.borrow_mut();
    topic.ensure_buf(&mut buf);
    loop {
        let why = match topic.recv_frame(&mut buf) {
            Ok(None) => return None,
            Ok(Some(body)) => match postcard::from_bytes::<T>(body) {
                Ok(msg) => return Some(msg),
                Err(e) => e.to_string(),
            },
            Err(FrameError::BadLength { claimed, max }) => {
                format!("a frame claims {claimed} bytes, over {max}")
            }
            Err(e) => e.to_string(),
        };
        state.rejected.set(state.rejected.get() + 1);
        if !state.logged_bad.replace(true) {
            log::warn!(
                "topic {}: a received message does not decode ({why}); skipped (logged once)",
                topic.name()
            );
        }
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

/// The region type of serialized `T`: its schema, and the bound (the
/// builder's, else the existing topic's, else the default).
#[doc(hidden)]
pub fn wire_type<T: Serialized>(ctx: &WireContext<'_>) -> crate::Result<MessageType> {
    let schema = Schema::of::<T>().map_err(|e| TopicError::Serialized {
        topic: ctx.name.to_owned(),
        source: e,
    })?;
    let bytes = schema.encode();
    let name = &schema.name;
    let define = |bound: u32| {
        MessageType::serialized(name, &bytes, bound).map_err(|e| match e {
            DefineError::SchemaTooLarge { bytes, .. } => TopicError::Serialized {
                topic: ctx.name.to_owned(),
                source: SchemaError::TooLarge { bytes },
            },
            // The bound is out of range: so is the frame it makes.
            _ => TopicError::Layout(horus_nostd::LayoutError::BadMessage {
                size: bound.saturating_add(FRAME_HEADER as u32),
                align: 1,
            }),
        })
    };
    let wanted = define(ctx.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES))?;
    let Some(existing) = existing_bound(ctx, wanted.id())? else {
        return Ok(wanted);
    };
    match ctx.max_message_bytes {
        Some(asked) if asked != existing => Err(TopicError::GeometryMismatch {
            topic: ctx.name.to_owned(),
            what: "max_message_bytes",
            requested: asked,
            existing,
        }
        .into()),
        _ => Ok(define(existing)?),
    }
}

/// The bound of the existing topic `ctx.name` if it carries type `id`.
fn existing_bound(ctx: &WireContext<'_>, id: u64) -> crate::Result<Option<u32>> {
    let ns = match ctx.namespace {
        Some(ns) => ns.to_owned(),
        None => crate::shm::Namespace::current_name()?,
    };
    let Some(namespace) = crate::shm::Namespace::open_existing(&ns)? else {
        return Ok(None);
    };
    // A region that cannot be read is left to the join, which reports it.
    let Ok(Some(info)) = crate::inspect::topic_info(&namespace, ctx.name) else {
        return Ok(None);
    };
    Ok((info.type_id == id && info.serialized.is_some())
        .then(|| info.message_size - FRAME_HEADER as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Sample {
        name: String,
        weights: Vec<f32>,
        seq: u64,
    }

    #[test]
    fn frame_body_encodes_as_postcard_does() {
        let msg = Sample {
            // Longer than SHORT_RUN: the copy_from_slice branch too.
            name: "a name longer than sixteen bytes".into(),
            weights: vec![0.5, -1.25, 3.0],
            seq: u64::MAX,
        };
        let mut buf = [0u8; 128];
        let body = postcard::serialize_with_flavor(&msg, FrameBody::new(&mut buf)).unwrap();
        assert_eq!(body, postcard::to_allocvec(&msg).unwrap().as_slice());
        assert_eq!(postcard::from_bytes::<Sample>(body).unwrap(), msg);
    }

    #[test]
    fn frame_body_refuses_what_does_not_fit() {
        let msg = Sample {
            name: "abc".into(),
            weights: vec![1.0; 4],
            seq: 7,
        };
        let n = postcard::to_allocvec(&msg).unwrap().len();
        let mut buf = vec![0u8; n];
        assert!(postcard::serialize_with_flavor(&msg, FrameBody::new(&mut buf)).is_ok());
        let short = &mut buf[..n - 1];
        let e = postcard::serialize_with_flavor(&msg, FrameBody::new(short)).unwrap_err();
        assert_eq!(e, postcard::Error::SerializeBufferFull);
    }
}
