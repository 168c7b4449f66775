//! `Topic<T>`: a named, typed publish/subscribe channel over shared memory.
//!
//! `Topic::<Imu>::new("imu")` in any thread of any process of the same user
//! and namespace reaches the same region, `/dev/shm/horus_<ns>/imu.topic`.
//! Every handle is one participant of the topic: at its first send it claims
//! one of the topic's `max_publishers` lanes (default 16) and publishes into
//! it; it receives from all lanes (see [`horus_nostd::ring`]). A handle that
//! only receives costs the region a 64-byte entry. Consequences:
//!
//! - `send` never blocks; it publishes nothing only when every lane is held
//!   by other handles (more publishers at once than `max_publishers`: see
//!   [`Topic::send`]); if a receiver lags by more than the
//!   capacity, the oldest messages are overwritten and that receiver's
//!   [`dropped_count`](Topic::dropped_count) grows by exactly what it lost;
//! - a handle receives what is published after it was created, by any handle
//!   of the topic, itself included;
//! - messages of one publisher arrive in order; messages of several
//!   publishers interleave (round-robin between lanes with data);
//! - the path is the same in one thread, across threads and across
//!   processes: there is no lock and no read-modify-write on the send path
//!   in any topology, and a receiver reads only lanes that have published,
//!   picking up new publishers as they appear;
//! - a topic holds at most `max_participants` handles at once (default 16);
//!   handles of dead processes are reclaimed when a handle is created;
//! - if another process wrongly judges this one dead and reclaims a handle's
//!   entry, the handle is *evicted* (see [`horus_nostd::ring`]): its next
//!   `send` rejoins the topic (a new entry in the same region, read cursors
//!   and counters kept), publishes the message there and records the
//!   eviction in the blackbox. Messages sent after the rejoin may reach a
//!   lagging receiver before older ones it had not yet read from the lost
//!   lane (order holds per lane). If the topic is full at that moment, the
//!   message is not published: it is counted by
//!   [`unsent_count`](Topic::unsent_count), the blackbox says so once, and
//!   every later send tries to rejoin again.
//!
//! A `Topic` is `Send` (move it into the thread that uses it) but not `Sync`:
//! its read cursors are private to the handle. Create one handle per thread.
//!
//! A `Topic` belongs to the process that created it. A child made by
//! `fork()` (without `exec`) would otherwise share its parent's lane (two
//! writers on one ring) and liveness: using an inherited `Topic` in the
//! child (`send`, `recv`, the counters) panics with a sentence saying so,
//! like a `RefCell` borrowed twice, because `send` cannot report an error
//! and must not drop the message silently. The child creates its own
//! `Topic`s after the fork; dropping an inherited one in the child leaves the
//! parent's participant entry alone. The check is one Relaxed load of a
//! static and a branch (see [`liveness::fork_generation`]).
//!
//! The builder is in `builder.rs`; what a send does after a refusal
//! (rejoining, reclaiming dead processes' lanes, counting) in `refused.rs`.

use std::cell::{Cell, UnsafeCell};
use std::mem::ManuallyDrop;
use std::sync::Arc;

use horus_nostd::ring::{FrameError, Refusal, SendRefused};
use horus_nostd::{Message, RawHandle};

use crate::error::Result;
use crate::join::{InUse, SharedTopic, used_after_fork};
use crate::payload::Payload;
use crate::shm::mapping::MappedWords;
use crate::shm::region_file::MappedRegion;
use crate::shm::{Namespace, liveness};

mod builder;
mod refused;

use refused::refusal;

pub use crate::join::{DEFAULT_CAPACITY, DEFAULT_MAX_PARTICIPANTS, DEFAULT_MAX_PUBLISHERS};
pub use builder::TopicBuilder;

/// A named, typed topic handle. See the [module docs](self).
///
/// ```no_run
/// use horus::prelude::*;
/// let imu: Topic<Imu> = Topic::new("imu")?;
/// imu.send(Imu::default());
/// while let Some(reading) = imu.recv() {
///     println!("{reading:?}");
/// }
/// # Ok::<(), horus::Error>(())
/// ```
pub struct Topic<T: Payload> {
    /// The participant; it holds its share of the mapping. Dropped by `Drop`
    /// only in the fork generation that made it (a fork child leaves the
    /// parent's entry alone), and once no pool view holds its index (it is
    /// parked until then, see `pool::parked`). The
    /// region's type was checked against `T::wire_type` when it was opened
    /// (`open_typed`), so messages of that type fit it exactly.
    handle: UnsafeCell<ManuallyDrop<RawHandle<MappedWords>>>,
    shared: Arc<SharedTopic>,
    /// What the payload kind keeps per handle (`()` for a [`Message`]).
    state: T::State,
    name: Arc<str>,
    /// The fork generation this handle was created in (see the module docs).
    generation: u64,
    /// The pid that created it, for the message of a misuse after fork.
    pid: u32,
    /// `handle` is borrowed (`with_handle`, see [`InUse`]).
    in_use: Cell<bool>,
    /// Messages not published: no lane free, or evicted and the topic full
    /// on rejoining.
    unsent: Cell<u64>,
    /// Evicted and not rejoined yet (the blackbox was told once).
    rejoin_failing: Cell<bool>,
    /// When a send without a lane last reclaimed dead processes' lanes.
    lane_reclaimed_ns: Cell<u64>,
    /// When a send without a lane was last recorded in the blackbox.
    refusal_recorded_ns: Cell<u64>,
}

impl<T: Payload> Topic<T> {
    /// Opens topic `name` in the current namespace (`HORUS_NAMESPACE`),
    /// creating it if needed.
    pub fn new(name: &str) -> Result<Self> {
        Self::builder(name).build()
    }

    /// Publishes `msg`. Never blocks and never fails: an evicted handle
    /// rejoins first (see the [module docs](self)); a handle that finds all
    /// the topic's publisher lanes held (more handles publishing at once
    /// than its [`max_publishers`](TopicBuilder::max_publishers)) first
    /// reclaims lanes of dead processes, at most once a second, and if none
    /// comes free publishes nothing: `msg` is counted in
    /// [`unsent_count`](Self::unsent_count) and the blackbox records a
    /// `send_refused` event (at most once a second per handle). The same
    /// when the shared memory has no room for the lane a first send claims
    /// (a lane's memory is reserved then): the next send tries again.
    /// [`try_publish`](Topic::try_publish) hands such a message back instead.
    #[inline]
    pub fn send(&self, msg: T) {
        T::send(self, msg)
    }

    /// Publishes one ring message (what [`send`](Self::send) does for a
    /// [`Message`]; a large payload's descriptor otherwise).
    #[inline]
    pub(crate) fn send_wire(&self, msg: T::Wire) {
        if let Err(reason) = self.try_send_wire(&msg) {
            self.count_unsent(reason);
        }
    }

    /// [`send_wire`](Self::send_wire), the refusal left to the caller.
    #[inline]
    pub(crate) fn try_send_wire(&self, msg: &T::Wire) -> std::result::Result<(), Refusal> {
        let bytes = bytemuck::bytes_of(msg);
        self.with_handle(|h| match h.send_bytes(bytes) {
            Ok(()) => Ok(()),
            // The region carries `T::Wire` (checked when opened): the only
            // error is a refusal.
            Err(e) => self.resend(h, refusal(e), &|h| h.send_bytes(bytes)),
        })
    }

    /// Publishes a frame of a serialized payload (see
    /// [`RawHandle::send_framed`]) whose body is within the region's bound
    /// (the caller sized it); what the ring still refuses after the cold
    /// paths of [`resend`](Self::resend) is handed back, not counted.
    #[inline]
    pub(crate) fn try_send_frame(&self, body: &[u8]) -> std::result::Result<(), Refusal> {
        self.with_handle(|h| match h.send_framed(body) {
            Ok(()) => Ok(()),
            Err(e) => self.resend(h, refusal(e), &|h| h.send_framed(body)),
        })
    }

    /// Messages [`send`](Self::send) could not publish: sent while every
    /// publisher lane was held (see [`send`](Self::send)), or after this
    /// handle was evicted (another process wrongly judged this one dead and
    /// reclaimed its entry) while the topic was full. Normally 0.
    pub fn unsent_count(&self) -> u64 {
        self.unsent.get() + T::counts(self).unsent
    }

    /// The next message, if any. Never blocks. For a large payload (an
    /// [`Image`](crate::image::Image)), a read-only view of it in place.
    #[inline]
    pub fn recv(&self) -> Option<T::Received> {
        T::recv(self)
    }

    /// The next ring message, if any (what [`recv`](Self::recv) does for a
    /// [`Message`]).
    #[inline]
    pub(crate) fn recv_wire(&self) -> Option<T::Wire> {
        let mut msg = <T::Wire as bytemuck::Zeroable>::zeroed();
        self.recv_wire_into(&mut msg).then_some(msg)
    }

    /// The next ring message into `msg`, if any (`false`: `msg` as it was).
    /// For a caller that reads the message where it is: moving it out of an
    /// `Option` copies it with 16-byte loads right after the ring's 8-byte
    /// stores wrote it, which the CPU cannot forward from its store buffer.
    #[inline]
    pub(crate) fn recv_wire_into(&self, msg: &mut T::Wire) -> bool {
        // The region carries `T::Wire` (checked when opened): the length matches.
        let got = self.with_handle(|h| h.recv_bytes(bytemuck::bytes_of_mut(msg)));
        matches!(got, Ok(true))
    }

    /// The next frame of a serialized payload into `buf` (the region's
    /// message size), if any.
    #[inline]
    pub(crate) fn recv_frame<'b>(
        &self,
        buf: &'b mut [u8],
    ) -> std::result::Result<Option<&'b [u8]>, FrameError> {
        self.with_handle(|h| h.recv_framed(buf))
    }

    /// The payload kind's per-handle state.
    pub(crate) fn payload_state(&self) -> &T::State {
        &self.state
    }

    /// Messages this handle lost (overwritten before it read them, never
    /// finished by a publisher that died, or, for a large payload, whose
    /// block was recycled before it was held) since it was created.
    pub fn dropped_count(&self) -> u64 {
        self.with_handle(|h| h.dropped_count()) + T::counts(self).stale
    }

    /// Messages this handle received since it was created.
    pub fn received_count(&self) -> u64 {
        let c = T::counts(self);
        self.with_handle(|h| h.delivered_count())
            .saturating_sub(c.stale + c.rejected)
    }

    /// Replays what the topic retains: the next receives start at the oldest
    /// message each publisher's lane still holds (up to `capacity` each), so
    /// a late joiner sees recent history. Messages already received by this
    /// handle are received again.
    pub fn rewind(&self) {
        self.with_handle(|h| h.rewind())
    }

    /// Messages published on the topic by all handles since it was created
    /// (including one a dead publisher never finished, and the sequence a
    /// reclaim reserves for a message its owner may have been sending: see
    /// [`horus_nostd::ring`]). Scans the region: for tools and tests, not
    /// for hot loops.
    pub fn published_count(&self) -> u64 {
        self.shared.region.published_count()
    }

    /// Of [`published_count`](Self::published_count), the sequences reclaims
    /// reserved (gaps left for safety, not messages; see
    /// [`horus_nostd::TopicRegion::reserved_count`]). Scans the region.
    pub fn reserved_count(&self) -> u64 {
        self.shared.region.reserved_count()
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace the topic lives in.
    pub fn namespace(&self) -> &str {
        self.shared.namespace.name()
    }

    /// The region file.
    pub fn path(&self) -> &std::path::Path {
        self.shared.region.words().path()
    }

    /// Slots per publisher lane.
    pub fn capacity(&self) -> u32 {
        self.shared.region.layout().capacity()
    }

    /// Publisher lanes: most handles that publish at once (see
    /// [`TopicBuilder::max_publishers`]).
    pub fn max_publishers(&self) -> u32 {
        self.shared.region.layout().max_publishers()
    }

    /// Publisher lanes held now, by the handles of every process (scans the
    /// lane table: for tools and tests).
    pub fn lanes_in_use(&self) -> u32 {
        self.shared.region.lanes_in_use()
    }

    /// This handle's participant index (its holder bit in block pools).
    pub(crate) fn participant_index(&self) -> u32 {
        self.with_handle(|h| h.index())
    }

    /// The mapped region.
    pub(crate) fn region(&self) -> &MappedRegion {
        &self.shared.region
    }

    /// The namespace directory.
    pub(crate) fn shm_namespace(&self) -> &Arc<Namespace> {
        &self.shared.namespace
    }

    /// `Ok` if this handle was made in this process; the typed error of one
    /// inherited through `fork()` (every other method panics with it).
    ///
    /// # Errors
    /// [`TopicError::UsedAfterFork`](crate::error::TopicError::UsedAfterFork).
    pub fn check_process(&self) -> std::result::Result<(), crate::error::TopicError> {
        crate::join::check_process(&self.name, self.pid, self.generation)
    }

    #[inline]
    fn with_handle<R>(&self, f: impl FnOnce(&mut RawHandle<MappedWords>) -> R) -> R {
        if liveness::fork_generation() != self.generation {
            used_after_fork(&self.name, self.pid);
        }
        let _in_use = InUse::take(&self.in_use, || &self.name);
        // SAFETY: `Topic` is not `Sync` (UnsafeCell), so only one thread uses
        // this handle at a time; `f` is one of the closures above, which call
        // the core's send/recv/counters (and `resend`, handing it this same
        // reference). Those may run the program's logger (a rejoin, a
        // reclaim, the blackbox are logged), which may use this handle again
        // on this thread: `_in_use` makes that a panic before a second
        // reference is made, so this is the only reference to the handle
        // while it lives. The handle is dropped only in `Drop`, after which
        // `self` is unusable.
        f(unsafe { &mut *self.handle.get() })
    }
}

impl<T: Message> Topic<T> {
    /// Publishes `msg` as [`send`](Self::send) does, but hands it back
    /// instead of counting it when it cannot be published: every publisher
    /// lane held ([`Refusal::NoLane`], after the same reclaim of dead
    /// processes' lanes), no shared memory for the lane a first send claims
    /// ([`Refusal::NoMemory`]), or evicted and unable to rejoin
    /// ([`Refusal::Evicted`]). Nothing is recorded or counted.
    ///
    /// ```no_run
    /// # use horus::prelude::*;
    /// use horus_nostd::ring::{Refusal, SendRefused};
    /// let cmd: Topic<CmdVel> = Topic::new("cmd_vel")?;
    /// if let Err(SendRefused { msg, reason: Refusal::NoLane { max_publishers } }) =
    ///     cmd.try_publish(CmdVel::default())
    /// {
    ///     eprintln!("{max_publishers} other handles publish; kept {msg:?}");
    /// }
    /// # Ok::<(), horus::Error>(())
    /// ```
    pub fn try_publish(&self, msg: T) -> std::result::Result<(), SendRefused<T>> {
        match self.try_send_wire(&msg) {
            Ok(()) => Ok(()),
            Err(reason) => Err(SendRefused { msg, reason }),
        }
    }
}

impl<T: Payload> Drop for Topic<T> {
    fn drop(&mut self) {
        if liveness::fork_generation() != self.generation {
            // In a fork child the participant entry is the parent's: leave
            // it (the handle owns no memory of its own, so nothing leaks but
            // it).
            return;
        }
        // SAFETY: taken exactly once, here; `self.handle` is never used again.
        let handle = unsafe { ManuallyDrop::take(self.handle.get_mut()) };
        match T::take_live_views(self) {
            // Views of pool blocks held under this participant index are
            // alive: the handle keeps its entry (so nobody joins at this
            // index) until the last of them is dropped.
            Some(views) => crate::pool::park(handle, views.0),
            None => drop(handle),
        }
    }
}

impl<T: Payload> std::fmt::Debug for Topic<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.name)
            .field("type", &self.region().type_info().name.as_str())
            .field("path", &self.path())
            .finish_non_exhaustive()
    }
}
