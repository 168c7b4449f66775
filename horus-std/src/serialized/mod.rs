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
//! silently: [`Topic::try_send`] returns [`Unsent::TooLarge`] (the message
//! handed back), [`Topic::send`] logs it (once per handle) and counts it in
//! [`Topic::unsent_count`]. A message the topic refuses (every publisher
//! lane held: see [`Topic::send`]) is the same: [`Unsent::Refused`] from
//! `try_send`, counted by `send`. A topic opened without an explicit bound takes
//! the existing topic's.
//!
//! **Without allocating.** `send(msg)` and `recv() -> Option<T>` cost what
//! the type costs: the sender built `msg`'s `String`s and `Vec`s and `send`
//! drops them once encoded; `recv` allocates new ones. A loop at a high rate
//! can keep its messages instead: [`Topic::send_ref`] (and
//! [`Topic::try_send_ref`]) encodes a message the caller keeps and updates,
//! and [`Topic::recv_into`] decodes into one the caller keeps, reusing its
//! `String`s' and `Vec`s' capacity (serde's `deserialize_in_place`, which
//! `#[derive(Deserialize)]` implements because horus turns on
//! `serde_derive`'s `deserialize_in_place` feature). Both are the same
//! frames on the wire: either side can use either API.
//!
//! ```no_run
//! # use horus::prelude::*;
//! # #[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive, Default)]
//! # #[postcard(crate = horus::serialized::postcard_schema)]
//! # struct Plan { name: String, weights: Vec<f32> }
//! # horus::serialized!(Plan);
//! let (plans, scaled): (Topic<Plan>, Topic<Plan>) = (Topic::new("plans")?, Topic::new("scaled")?);
//! let mut plan = Plan::default(); // kept: its String and Vec are reused
//! while plans.recv_into(&mut plan) {
//!     plan.weights.iter_mut().for_each(|w| *w *= 0.5);
//!     scaled.send_ref(&plan);
//! }
//! # Ok::<(), horus::Error>(())
//! ```
//!
//! **Cost.** Encoding goes into the handle's buffer and is copied into the
//! slot (the encoded size is known only at the end, and a message over the
//! bound must leave no slot half written); a receiver copies the frame into
//! its handle's buffer (the slot is shared memory a publisher may be
//! rewriting: the ring's seqlock validates the copy) and decodes from there.
//! Neither copies more than the frame, and nothing is allocated per message
//! but the type's own `String`s and `Vec`s. Measured against the POD row in
//! `benchmarks/README.md` ("Serialized messages").
//!
//! **Identity.** The type's [`Schema`] (field names and types, nested) is
//! encoded ([`Schema::encode`]) into the topic's region, and the type id is a
//! hash of the name and those bytes: a program whose `Plan` has other fields
//! gets [`TopicError::TypeMismatch`].
//!
//! **Without the source.** Tools read the schema from the region
//! ([`TopicInfo::serialized`](crate::inspect::TopicInfo::serialized)) and
//! turn messages into generic [`Value`]s and back ([`decode`], [`encode`]):
//! `horus topic echo` through
//! [`RawTopic::recv_frame`](crate::inspect::RawTopic::recv_frame), and the
//! Python bindings through
//! [`DynTopic::recv_frame`](crate::dynamic::DynTopic::recv_frame).

mod io;
pub mod schema;
pub mod value;

use std::cell::{Cell, RefCell};

use horus_nostd::ring::FRAME_HEADER;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use postcard_schema;
pub use schema::{
    MAX_DEPTH, NamedField, SCHEMA_VERSION, Schema, SchemaError, SchemaType, Variant, VariantKind,
};
pub use value::{Value, ValueError, decode, encode, non_finite_name};

pub use io::{TooLarge, Unsent};
#[doc(hidden)]
pub use io::{counts, recv, send};

/// The derive that describes a type for its region (postcard-schema's).
pub use postcard_schema::Schema as SchemaDerive;

use crate::dynamic::{DefineError, MessageType};
use crate::error::TopicError;
use crate::payload::WireContext;
#[cfg(doc)]
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
                $crate::serialized::SerializedState::of::<$ty>()
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
    /// The type's schema if it has sequences of zero-sized elements: a
    /// received frame is checked against it ([`decode`]'s bound) before
    /// postcard decodes it (see [`SerializedState::of`]).
    bounded: Option<Box<Schema>>,
}

impl SerializedState {
    /// The state of a handle of `T`.
    ///
    /// postcard and serde decode a sequence of zero-sized elements (`()`,
    /// unit structs) one element at a time, each taking no byte: a frame
    /// claiming 2^64 of them would keep `recv` looping for centuries. Each
    /// other element takes a byte at least, so the work is bounded by the
    /// frame for a type without such sequences, which is decoded as it is.
    /// A type with them has each frame checked first by [`decode`] against
    /// `T`'s schema, which bounds the values of a message by its size
    /// ([`max_decoded_values`](value::max_decoded_values)); a frame over it
    /// is refused (counted and logged as any that does not decode).
    pub fn of<T: Serialized>() -> Self {
        let bounded = Schema::of::<T>()
            .ok()
            .filter(|s| s.ty.has_zero_sized_elements())
            .map(Box::new);
        Self {
            bounded,
            ..Self::default()
        }
    }
}

/// The region type of serialized `T`: its schema, and the bound (the
/// builder's, else the existing topic's, else the default).
#[doc(hidden)]
pub fn wire_type<T: Serialized>(ctx: &WireContext<'_>) -> crate::Result<MessageType> {
    let schema = Schema::of::<T>().map_err(|e| TopicError::Serialized {
        topic: ctx.name.to_owned(),
        error: e,
    })?;
    let bytes = schema.encode();
    let name = &schema.name;
    let define = |bound: u32| {
        MessageType::serialized(name, &bytes, bound).map_err(|e| match e {
            DefineError::SchemaTooLarge { bytes, .. } => TopicError::Serialized {
                topic: ctx.name.to_owned(),
                error: SchemaError::TooLarge { bytes },
            },
            // The bound is out of range (named as the builder's option:
            // the frame's size it makes, 4 bytes more, said "1 byte to 16
            // MiB" of a bound of 0).
            DefineError::BadBound { bytes, max, .. } => TopicError::MaxMessageBytes {
                topic: ctx.name.to_owned(),
                value: bytes,
                max,
            },
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
