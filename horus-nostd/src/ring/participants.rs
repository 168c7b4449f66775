//! The participant table: claiming an entry, leaving, and reclaiming the
//! entries of participants that died (and the lanes they held: a lane is
//! claimed at a handle's first send and belongs to its entry, see
//! `ring/lanes.rs`).
//!
//! An entry's `OWNER` word is the only thing ever contended:
//!
//! ```text
//!            join: CAS 0 -> token            reclaim: CAS token -> me|RECLAIMING
//!   FREE (0) ---------------------> HELD(token) -----------------------------> RECLAIMING(me)
//!      ^                                |                                          |
//!      +---- leave: free the lane, ------+   bump CLAIM; its lane: abandon WRITING  |
//!      |     CAS token -> 0                    slots, reserve a sequence, free;    |
//!      |                                       store 0                             |
//!      +---------------------------------------------------------------------------+
//! ```
//!
//! Only the participant that holds a lane writes it; a reclaimer touches
//! the lane only after winning the CAS that takes the entry from an owner
//! its caller judged dead, and then the lane's own CAS (`ring/lanes.rs`).
//! A reclaimer that dies mid-way leaves `RECLAIMING(it)`, which the next
//! reclaimer takes over once it finds that one dead too.
//!
//! # A wrong verdict: eviction
//!
//! The verdict comes from the caller (`is_alive`); if it is wrong, the entry
//! of a *live* handle is freed and a joiner gets its lane. Two writers on one
//! lane would defeat the seqlock (with equal sequence numbers their stamps are
//! equal, so a torn copy passes the recheck). Defence in depth, in the core:
//!
//! - every join and every reclaim increments the entry's `CLAIM` word (part
//!   of the entry's cache line, which only joins and reclaims write); a
//!   handle remembers the value its join left and, before
//!   stamping `WRITING`, compares the word with it (one Relaxed load, one
//!   branch). On a mismatch it writes nothing and the send reports
//!   [`Refusal::Evicted`](super::Refusal), handing the message back
//!   ([`SendRefused`](super::SendRefused)); [`TopicHandle::rejoin`](super::TopicHandle::rejoin)
//!   claims a fresh entry and keeps the read cursors and counters. The
//!   counter, not the owner token, is compared because all handles of one
//!   process share a token: a handle of the same process may be the one that
//!   takes the freed entry.
//! - a reclaim can land while a joiner is between its `OWNER` CAS and its
//!   counter bump: the joiner then re-checks `OWNER` after the bump
//!   (`SYNC(claim-join)`) and moves on, or its counter is stale already and
//!   its first send reports the eviction; it never publishes into an entry
//!   that is free.
//! - a handle's first send announces it a publisher (entry `ROLES`) and then
//!   checks the counter again, both SeqCst, against the reclaimer's SeqCst
//!   bump and `ROLES` load (`SYNC(first-send)`): a holder the reclaimer saw
//!   as no publisher can never write, so its lane needs no reservation and a
//!   reclaimed subscriber costs readers nothing.
//! - the check and the `WRITING` stamp are two instructions apart, so a writer
//!   can pass the check and then be preempted while its entry is reclaimed and
//!   rejoined. Its one in-flight message has the sequence after the newest
//!   stamp the reclaimer saw (or is that newest one, if already stamped
//!   `WRITING`). The reclaimer therefore abandons unfinished slots and, if
//!   the holder had announced itself a publisher and the newest slot is not
//!   mid-write (if it is, that is the in-flight message: abandoned, and the
//!   new owner starts after it), reserves the next sequence: a CAS stamps it
//!   `ABANDONED` unless the writer stamped it meanwhile. Either way the new
//!   owner starts past the in-flight message: its messages never share a
//!   sequence, hence never a stamp, with it.
//!   Readers count the reserved sequence as one drop (and `published_count`
//!   counts it; `reserved_count` tells such gaps apart for tools such as the
//!   blackbox), or deliver the in-flight message whole if it lands there
//!   first; each reader counts it exactly once. So reclaiming an owner that
//!   died between messages costs each reader of its lane one counted drop;
//!   one that died mid-write costs the one drop of its unfinished slot, as
//!   before.
//!
//! Guaranteed: an evicted handle whose check sees the incremented counter
//! never writes; its in-flight message (at most one) never shares a stamp
//! with the new owner's, nothing is delivered twice, and
//! `delivered + dropped == published` holds for every reader.
//!
//! Not guaranteed:
//! - the new owner's first `capacity - 1` messages never touch the slot of
//!   the in-flight message; its next one does. If the evicted writer stays
//!   preempted mid-message that long, the two writes of that one slot can
//!   interleave, and a reader may take a torn copy, or miss messages of that
//!   slot uncounted. The default capacity (64) makes that a preemption of 63
//!   publish periods inside a few-instruction window, on top of a wrong
//!   verdict. (So the loom model `evicted_writer_vs_new_owner_vs_reader`
//!   runs at capacity 4, where its one new-owner message is in the
//!   guaranteed range.)
//! - if the evicted writer stamps `WRITING` over the reservation and then
//!   stops for good, readers of that lane wait at that sequence until the new
//!   owner laps them (`capacity` messages), then count the loss; other lanes
//!   are read meanwhile.
//! - the check is a Relaxed load: in the language's memory model it may still
//!   read the old counter for a while after the increment; on every supported
//!   CPU (x86-64, ARMv8, single-core Cortex-M) a store is visible to all cores
//!   once it leaves the store buffer, long before a joiner has scanned the
//!   lane, so "one in-flight message" is what hardware gives. The same holds
//!   for the scans of the lane by the reclaimer and the joiner (Relaxed): a
//!   stamp the evicted writer stored but had not yet made visible counts as
//!   in flight. Closing that formally needs a SeqCst fence on the send path
//!   (a full barrier per message), which this design declines. The models
//!   do reach it: a loom model whose evicted writer sends two messages
//!   while it is reclaimed gets a lost or torn message
//!   (`tests/loom_ring.rs`, `evicted_writer_with_an_unseen_message_vs_new_owner`,
//!   ignored until the gap is closed), and Miri does in
//!   `tests/eviction.rs` once a new owner takes the reclaimed lane at once
//!   (`docs/decisions.md`, "A new publisher continues the first free
//!   lane"); the suite's models keep to one in-flight message.
//! - the core reports; it does not record. `horus-std` rejoins and writes the
//!   eviction to its blackbox.

use super::{Endpoint, Refusal};
use crate::error::JoinError;
use crate::layout::{hdr, lane, part};
use crate::region::{OwnerToken, TopicRegion, Words};
use crate::sync::{AtomicU64, Ordering};

/// A participant entry as tools see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParticipantInfo {
    /// Entry (and lane) index.
    pub index: u32,
    /// Holder; `None` while being reclaimed.
    pub owner: Option<OwnerToken>,
    /// Has published.
    pub publisher: bool,
    /// Has received.
    pub subscriber: bool,
    /// Process (or task) id recorded at join.
    pub pid: u64,
    /// Join time recorded at join.
    pub joined_ns: u64,
    /// The holder's tag ([`RawHandle::set_holder`](super::RawHandle::set_holder)),
    /// 0 if none was set.
    pub holder: u64,
}

/// What a [`join`](TopicRegion::join) claimed: the entry and the `CLAIM`
/// value it left. (A lane is claimed at the first send: `ring/lanes.rs`.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claimed {
    /// Participant entry index.
    pub(crate) index: u32,
    /// The entry's `CLAIM` word as the join left it.
    pub(crate) claim: u64,
}

impl<W: Words> TopicRegion<W> {
    fn owner_word(&self, p: usize) -> &AtomicU64 {
        self.word(self.layout.participant_at(p) + part::OWNER)
    }

    fn claim_word(&self, p: usize) -> &AtomicU64 {
        self.word(self.layout.participant_at(p) + part::CLAIM)
    }

    pub(crate) fn lanes_active(&self) -> &AtomicU64 {
        self.word(hdr::LANES_ACTIVE)
    }

    /// Whether `ep` still holds its entry (no reclaim or join since its own).
    #[inline]
    pub(crate) fn still_holds(&self, ep: &Endpoint) -> bool {
        // Relaxed: see the claim check in `write_slot`.
        self.claim_word(ep.index as usize).load(Ordering::Relaxed) == ep.claim
    }

    /// Claims the first free entry for `owner`.
    ///
    /// Returns only what the claim decided, not a whole [`Endpoint`]: the
    /// caller builds that where it will live ([`Endpoint::joined`], then
    /// [`start_cursors`](Self::start_cursors)), so the cursor array is
    /// never moved through a `Result` (each move is a stack copy of
    /// several hundred bytes, which a 16 KiB board cannot spare).
    pub(crate) fn join(
        &self,
        owner: OwnerToken,
        pid: u64,
        now_ns: u64,
    ) -> Result<Claimed, JoinError> {
        for p in 0..self.layout.participants as usize {
            // SYNC(participant-claim): Acquire pairs with the Release that freed
            // the entry (`leave`, `reclaim_dead`): the entry as its last holder
            // or reclaimer left it is visible to us. Failure: Relaxed, the entry
            // is someone else's and nothing of it is read.
            let claimed = self.owner_word(p).compare_exchange(
                0,
                owner.get(),
                Ordering::Acquire,
                Ordering::Relaxed,
            );
            if claimed.is_err() {
                continue;
            }
            let entry = self.layout.participant_at(p);
            self.word(entry + part::ROLES).store(0, Ordering::Relaxed);
            self.word(entry + part::PID).store(pid, Ordering::Relaxed);
            // The previous holder's tag is not ours.
            self.word(entry + part::HOLDER).store(0, Ordering::Relaxed);
            self.word(entry + part::JOINED_NS)
                .store(now_ns, Ordering::Relaxed);
            // A fresh claim value: tells any earlier holder still holding a
            // stale endpoint of this entry that it was evicted (and makes
            // the tag of any lane it still holds stale, see `ring/lanes.rs`).
            // SYNC(claim-join): Acquire pairs with the reclaimer's bump in
            // `reclaim_dead` (SeqCst, so Release), which follows its CAS of
            // OWNER. Either our bump comes first (a later reclaim bumps
            // again: our claim is stale and our first send reports eviction)
            // or we read its bump, and then its OWNER CAS is visible to the
            // check below.
            let claim = self
                .claim_word(p)
                .fetch_add(1, Ordering::AcqRel)
                .wrapping_add(1);
            if self.owner_word(p).load(Ordering::Relaxed) != owner.get() {
                // Reclaimed under us mid-join (a wrong verdict): the entry is
                // not ours any more. Without this check we would publish
                // into a free entry, unnoticed until someone joins it.
                continue;
            }
            trace_debug!(
                "region of type {}: pid {} joined as participant {}",
                self.type_info().name.as_str(),
                pid,
                p
            );
            return Ok(Claimed {
                index: p as u32,
                claim,
            });
        }
        Err(JoinError::Full {
            max: self.layout.participants,
        })
    }

    /// Receives only what is published after joining: each active lane's
    /// cursor starts past its newest message (at it, if it is mid-write).
    /// Called on a fresh [`Endpoint::joined`], right after its
    /// [`join`](Self::join).
    pub(crate) fn start_cursors(&self, ep: &mut Endpoint) {
        // Relaxed: the mask publishes nothing (readers synchronise on the
        // stamps); a lane activated just after this load starts at cursor 1,
        // which is right: all its messages come after our join.
        let active = self.lanes_active().load(Ordering::Relaxed);
        for lane in 0..self.layout.lanes as usize {
            if active & (1 << lane) != 0 {
                let (tail, writing) = self.lane_tail(lane);
                ep.cursors[lane] = if writing { tail } else { tail + 1 };
            }
        }
    }

    /// Moves `ep`'s cursors back to the oldest message each active lane still
    /// holds, so the next receives replay what is retained (for history-like
    /// topics: the blackbox, the e-stop state, the node registry). Messages
    /// already received are received again.
    pub(crate) fn rewind(&self, ep: &mut Endpoint) {
        // The cursors move: the next receive takes the general path.
        ep.expected = super::lane::Expected::NONE;
        // Relaxed: see `start_cursors`.
        let active = self.lanes_active().load(Ordering::Relaxed);
        let capacity = u64::from(self.layout.capacity);
        for lane in 0..self.layout.lanes as usize {
            if active & (1 << lane) != 0 {
                let (tail, _) = self.lane_tail(lane);
                // Slot `tail - capacity` may be under overwrite right now.
                ep.cursors[lane] = tail.saturating_sub(capacity) + 1;
            }
        }
    }

    /// Frees `ep`'s lane and entry, if it still holds them.
    pub(crate) fn leave(&self, ep: &mut Endpoint) {
        if !self.still_holds(ep) {
            // Evicted: the entry is someone else's now, maybe another handle
            // with the same owner token, whose entry the CAS below would free.
            // Our lane, if we had one, was freed by the reclaim, or is stale
            // and taken over by the next claimer that finds no free lane.
            ep.lane = super::lanes::NO_LANE;
            return;
        }
        // The lane first: a lane never names an entry that is free.
        self.free_lane(ep);
        // SYNC(participant-claim): Release pairs with the Acquire CAS in `join`:
        // our writes to the entry happen-before the next holder's join (our
        // lane has its own pair, SYNC(lane-claim), in `free_lane`).
        let _ = self.owner_word(ep.index as usize).compare_exchange(
            ep.owner.get(),
            0,
            Ordering::Release,
            Ordering::Relaxed,
        );
    }

    /// Claims a lane for `ep` and marks it active (first publish).
    /// On a refusal nothing was written to any lane and `ep` holds none:
    /// [`Refusal::Evicted`] if `ep` no longer holds its entry,
    /// [`Refusal::NoLane`] if every lane is held, [`Refusal::NoMemory`] if
    /// the claimed lane's memory cannot be had (see
    /// [`claim_lane`](Self::claim_lane)).
    pub(crate) fn announce_publisher(&self, ep: &mut Endpoint) -> Result<(), Refusal> {
        if !self.still_holds(ep) {
            return Err(Refusal::Evicted); // announce nothing
        }
        if ep.lane == super::lanes::NO_LANE {
            self.claim_lane(ep)?;
        }
        let entry = self.layout.participant_at(ep.index as usize);
        // SYNC(first-send): store buffering against `reclaim_dead`, all four
        // accesses SeqCst: this fetch_or, then the claim load below; there,
        // the claim bump, then the ROLES load. In the single total order either
        // our load follows the bump (we are refused, free the lane we just
        // claimed and write nothing) or the reclaimer's load follows our
        // fetch_or (it sees a publisher that may have a message in flight,
        // and, the lane CAS before the fetch_or being visible to it, frees
        // our lane with a sequence reserved: see `ring/lanes.rs`). Once per
        // handle, never on the per-message path. (If refused, the role bit
        // stays on an entry that is someone else's now: a tool may show it as
        // a publisher, and its reclaim reserves one sequence; nothing worse.)
        self.word(entry + part::ROLES)
            .fetch_or(part::ROLE_PUBLISHER, Ordering::SeqCst);
        if self.claim_word(ep.index as usize).load(Ordering::SeqCst) != ep.claim {
            self.free_lane(ep);
            return Err(Refusal::Evicted);
        }
        ep.roles |= part::ROLE_PUBLISHER;
        // No data is published through the mask (readers synchronise on stamps).
        self.lanes_active()
            .fetch_or(1 << ep.lane, Ordering::Relaxed);
        Ok(())
    }

    /// Records `ep`'s holder tag in its entry (for tools), if it still holds it.
    pub(crate) fn record_holder(&self, ep: &Endpoint) {
        if !self.still_holds(ep) {
            return; // evicted: the entry's tag is its new holder's
        }
        let entry = self.layout.participant_at(ep.index as usize);
        // Relaxed: a label for tools, nothing is read through it.
        self.word(entry + part::HOLDER)
            .store(ep.holder, Ordering::Relaxed);
    }

    /// Records a role in `ep`'s entry (for tools), once.
    pub(crate) fn announce_role(&self, ep: &mut Endpoint, role: u64) {
        ep.roles |= role;
        let entry = self.layout.participant_at(ep.index as usize);
        self.word(entry + part::ROLES)
            .fetch_or(role, Ordering::Relaxed);
    }

    /// Frees the entries of participants `is_alive` says are gone, marking
    /// their unfinished slots abandoned so readers count and skip them, and
    /// reserving each freed lane's next sequence (one counted drop per
    /// reader; see "A wrong verdict" in `ring/participants.rs`: a handle that
    /// was alive after all finds out on its next send).
    /// `me` must be the caller's own live token. Returns how many were freed.
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicRegion, RawHandle, OwnerToken, msgs::CmdVel};
    /// static MEM: RegionBuffer<4096> = RegionBuffer::new();
    /// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 1, 0).unwrap();
    /// let dead = OwnerToken::new(7).unwrap();
    /// core::mem::forget(RawHandle::join(region, dead, 0, 0).unwrap()); // "killed"
    /// let me = OwnerToken::new(1).unwrap();
    /// assert!(RawHandle::join(region, me, 0, 0).is_err()); // full
    /// assert_eq!(region.reclaim_dead(me, |t| t != dead), 1);
    /// assert!(RawHandle::join(region, me, 0, 0).is_ok());
    /// ```
    pub fn reclaim_dead(&self, me: OwnerToken, is_alive: impl FnMut(OwnerToken) -> bool) -> u32 {
        self.reclaim_dead_then(me, is_alive, |_| {})
    }

    /// [`reclaim_dead`](Self::reclaim_dead), calling `before_free(p)` for
    /// each dead participant `p` while its entry is marked as being reclaimed
    /// by `me` and before it is freed: no participant can join at index `p`
    /// meanwhile, so `before_free` may clear state kept per participant index
    /// elsewhere (a block pool's holder bits, see
    /// [`PoolRegion::reclaim_dead`](crate::pool::PoolRegion::reclaim_dead))
    /// without ever touching a live participant's.
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicRegion, RawHandle, OwnerToken, msgs::CmdVel};
    /// static MEM: RegionBuffer<4096> = RegionBuffer::new();
    /// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 2, 0).unwrap();
    /// let dead = OwnerToken::new(7).unwrap();
    /// core::mem::forget(RawHandle::join(region, dead, 0, 0).unwrap());
    /// let me = OwnerToken::new(1).unwrap();
    /// let mut seen = 0u64;
    /// assert_eq!(region.reclaim_dead_then(me, |t| t != dead, |p| seen |= 1 << p), 1);
    /// assert_eq!(seen, 1);
    /// ```
    pub fn reclaim_dead_then(
        &self,
        me: OwnerToken,
        mut is_alive: impl FnMut(OwnerToken) -> bool,
        mut before_free: impl FnMut(u32),
    ) -> u32 {
        let mut freed = 0;
        for p in 0..self.layout.participants as usize {
            let word = self.owner_word(p);
            let current = word.load(Ordering::Relaxed);
            let Some(holder) = OwnerToken::new(current & !OwnerToken::RECLAIMING) else {
                continue; // free
            };
            if holder == me || is_alive(holder) {
                continue;
            }
            let mark = me.get() | OwnerToken::RECLAIMING;
            // SYNC(participant-claim): Acquire, as in `join`, before touching the lane.
            if word
                .compare_exchange(current, mark, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue; // someone else changed it: not ours to judge now
            }
            // First of all: the holder, if it was alive after all, stops
            // writing at its next claim check.
            // SYNC(first-send): SeqCst, see `announce_publisher`.
            // SYNC(claim-join): its Release half pairs with the Acquire bump
            // in `join` (a holder still joining sees our OWNER CAS).
            let claim = self
                .claim_word(p)
                .fetch_add(1, Ordering::SeqCst)
                .wrapping_add(1);
            let entry = self.layout.participant_at(p);
            // SYNC(first-send): SeqCst, see `announce_publisher`.
            let roles = self.word(entry + part::ROLES).load(Ordering::SeqCst);
            // Its lane (if any): unfinished slots abandoned, a sequence
            // reserved if it published (`ring/lanes.rs`), freed.
            self.reclaim_lanes_of(p, claim, roles);
            // Relaxed: for the log line only.
            let pid = self.word(entry + part::PID).load(Ordering::Relaxed);
            // Still marked RECLAIMING(me): nobody can join at index `p`.
            before_free(p as u32);
            // SYNC(participant-claim): Release pairs with the Acquire CAS in `join`.
            word.store(0, Ordering::Release);
            freed += 1;
            trace_info!(
                "topic {}: reclaimed participant {} of dead pid {}",
                self.type_info().name.as_str(),
                p,
                pid
            );
        }
        freed
    }

    /// Of [`published_count`](Self::published_count), the sequences that
    /// reclaims reserved and no message ever filled (except, rarely, the one
    /// in-flight message of an evicted writer that landed on its
    /// reservation): gaps, not losses. Tools subtract them to report what
    /// was really lost. Scans every active lane.
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicRegion, TopicHandle, OwnerToken, msgs::CmdVel};
    /// static MEM: RegionBuffer<4096> = RegionBuffer::new();
    /// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 2, 0).unwrap();
    /// let dead = OwnerToken::new(7).unwrap();
    /// let mut publisher = TopicHandle::<CmdVel>::join(region, dead, 0, 0).unwrap();
    /// publisher.send(CmdVel::default()).unwrap();
    /// core::mem::forget(publisher); // killed between two messages
    /// assert_eq!(region.reclaim_dead(OwnerToken::new(1).unwrap(), |t| t != dead), 1);
    /// assert_eq!((region.published_count(), region.reserved_count()), (2, 1));
    /// ```
    pub fn reserved_count(&self) -> u64 {
        // Relaxed: see `published_count`.
        let active = self.lanes_active().load(Ordering::Relaxed);
        (0..self.layout.lanes as usize)
            .filter(|lane| active & (1 << lane) != 0)
            .map(|lane| {
                self.word(self.layout.lane_entry_at(lane) + lane::RESERVED)
                    .load(Ordering::Relaxed)
            })
            .fold(0, u64::saturating_add)
    }

    /// The entries currently held (for tools).
    pub fn participants(&self) -> impl Iterator<Item = ParticipantInfo> + '_ {
        (0..self.layout.participants as usize).filter_map(move |p| {
            let entry = self.layout.participant_at(p);
            // Relaxed: a snapshot for tools. The fields below may be those of
            // a joiner still filling them in; nothing else is read through it.
            let owner = self.word(entry + part::OWNER).load(Ordering::Relaxed);
            if owner == 0 {
                return None;
            }
            let roles = self.word(entry + part::ROLES).load(Ordering::Relaxed);
            Some(ParticipantInfo {
                index: p as u32,
                owner: OwnerToken::new(owner),
                publisher: roles & part::ROLE_PUBLISHER != 0,
                subscriber: roles & part::ROLE_SUBSCRIBER != 0,
                pid: self.word(entry + part::PID).load(Ordering::Relaxed),
                joined_ns: self.word(entry + part::JOINED_NS).load(Ordering::Relaxed),
                holder: self.word(entry + part::HOLDER).load(Ordering::Relaxed),
            })
        })
    }

    /// Messages published on the topic since it was created (sequence numbers
    /// claimed in all lanes: finished, abandoned, or reserved by a reclaim).
    /// Scans every active lane.
    /// Saturates at `u64::MAX` (only a corrupt region gets there: 64 lanes of
    /// 62-bit sequences can exceed 64 bits, and tools call this on any region).
    pub fn published_count(&self) -> u64 {
        // Relaxed: see `start_cursors`; a count, nothing read through it.
        let active = self.lanes_active().load(Ordering::Relaxed);
        (0..self.layout.lanes as usize)
            .filter(|lane| active & (1 << lane) != 0)
            .map(|lane| self.lane_tail(lane).0)
            .fold(0, u64::saturating_add)
    }
}
