//! [`TopicBuilder`]: a topic with a chosen namespace or geometry.

use std::cell::{Cell, UnsafeCell};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;

use super::Topic;
use crate::error::Result;
use crate::join::{TopicOptions, join_handle, open_typed};
use crate::payload::{Payload, PayloadContext, PoolOptions, WireContext};
use crate::shm::liveness;

impl<T: Payload> Topic<T> {
    /// A builder for a topic with a non-default namespace or geometry.
    pub fn builder(name: &str) -> TopicBuilder<T> {
        TopicBuilder {
            name: name.to_owned(),
            namespace: None,
            capacity: None,
            participants: None,
            publishers: None,
            max_message_bytes: None,
            pool: PoolOptions::default(),
            _type: PhantomData,
        }
    }
}

/// Builds a [`Topic`] with a chosen namespace or geometry.
///
/// ```no_run
/// # use horus::prelude::*;
/// let scan: Topic<LaserScan> = Topic::builder("scan")
///     .namespace("lab")
///     .capacity(16)
///     .max_participants(4)
///     .build()?;
/// # Ok::<(), horus::Error>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct TopicBuilder<T: Payload> {
    name: String,
    namespace: Option<String>,
    capacity: Option<u32>,
    participants: Option<u32>,
    publishers: Option<u32>,
    max_message_bytes: Option<u32>,
    /// Block pool geometry (large payloads only).
    pub(crate) pool: PoolOptions,
    _type: PhantomData<fn() -> T>,
}

impl<T: Payload> TopicBuilder<T> {
    /// Uses namespace `ns` instead of `HORUS_NAMESPACE`.
    pub fn namespace(mut self, ns: &str) -> Self {
        self.namespace = Some(ns.to_owned());
        self
    }

    /// Slots per publisher lane (a power of two, 2 to 2^20; default 64). Only
    /// the creator's value counts; set explicitly, an existing topic with
    /// another capacity is an error.
    pub fn capacity(mut self, slots: u32) -> Self {
        self.capacity = Some(slots);
        self
    }

    /// Most handles at once, across all processes (1 to 64; default 16).
    pub fn max_participants(mut self, n: u32) -> Self {
        self.participants = Some(n);
        self
    }

    /// Most handles that publish at once, across all processes (1 to
    /// `max_participants`; default [`DEFAULT_MAX_PUBLISHERS`](super::DEFAULT_MAX_PUBLISHERS), 16). Each is
    /// a lane of `capacity` slots in the region, claimed at a handle's first
    /// send and freed when it is dropped (or its process dies and is
    /// reclaimed); a handle that only receives costs a 64-byte entry. A send
    /// finding every lane held publishes nothing (see [`Topic::send`]). Only
    /// the creator's value counts; set explicitly, an existing topic with
    /// another value is an error.
    ///
    /// ```no_run
    /// # use horus::prelude::*;
    /// // Five nodes command the same motors.
    /// let cmd: Topic<CmdVel> = Topic::builder("cmd_vel").max_publishers(5).build()?;
    /// # Ok::<(), horus::Error>(())
    /// ```
    pub fn max_publishers(mut self, n: u32) -> Self {
        self.publishers = Some(n);
        self
    }

    /// The largest message, in bytes once encoded, of a topic of a
    /// serialized type (see [`serialized`](mod@crate::serialized); default
    /// [`DEFAULT_MAX_MESSAGE_BYTES`](crate::serialized::DEFAULT_MAX_MESSAGE_BYTES),
    /// 1 to 16 MiB minus 4; out of range, [`build`](Self::build) is
    /// [`TopicError::MaxMessageBytes`](crate::error::TopicError::MaxMessageBytes)).
    /// Only the creator's value counts; set
    /// explicitly, an existing topic with another bound is an error. Plain-data
    /// messages have their size: the option is ignored for them.
    pub fn max_message_bytes(mut self, bytes: u32) -> Self {
        self.max_message_bytes = Some(bytes);
        self
    }

    /// Opens (or creates) the topic and joins it.
    pub fn build(self) -> Result<Topic<T>> {
        T::check_options(&self.name, &self.pool)?;
        let ty = T::wire_type(&WireContext {
            name: &self.name,
            namespace: self.namespace.as_deref(),
            max_message_bytes: self.max_message_bytes,
        })?;
        let options = TopicOptions {
            namespace: self.namespace.as_deref(),
            capacity: self.capacity,
            participants: self.participants,
            publishers: self.publishers,
        };
        let (shared, me) = open_typed(&self.name, options, &ty)?;
        let mut handle = join_handle(&shared, me, &self.name, ty.name())?;
        handle.set_holder(crate::node::current_node_tag());
        let state = T::new_state(&PayloadContext {
            name: &self.name,
            namespace: &shared.namespace,
            pool: self.pool,
        });
        Ok(Topic {
            handle: UnsafeCell::new(ManuallyDrop::new(handle)),
            state,
            shared,
            name: self.name.into(),
            generation: liveness::fork_generation(),
            pid: std::process::id(),
            in_use: Cell::new(false),
            unsent: Cell::new(0),
            rejoin_failing: Cell::new(false),
            lane_reclaimed_ns: Cell::new(0),
            refusal_recorded_ns: Cell::new(0),
        })
    }
}
