//! The participant table: claiming an entry (and its lane), leaving, and
//! reclaiming the entries of participants that died.
//!
//! An entry's `OWNER` word is the only thing ever contended:
//!
//! ```text
//!            join: CAS 0 -> token            reclaim: CAS token -> me|RECLAIMING
//!   FREE (0) ---------------------> HELD(token) -----------------------------> RECLAIMING(me)
//!      ^                                |                                          |
//!      +---- leave: CAS token -> 0 -----+          abandon WRITING slots; store 0  |
//!      +---------------------------------------------------------------------------+
//! ```
//!
//! Only the participant that holds an entry writes its lane; a reclaimer
//! touches the lane only after winning the CAS that takes the entry from a
//! dead owner, so a live writer's slot is never marked abandoned. A
//! reclaimer that dies mid-way leaves `RECLAIMING(it)`, which the next
//! reclaimer takes over once it finds that one dead too.

use super::Endpoint;
use crate::error::JoinError;
use crate::layout::{MAX_PARTICIPANTS, hdr, part};
use crate::region::{OwnerToken, TopicRegion};
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
}

impl TopicRegion<'_> {
    fn owner_word(&self, p: usize) -> &AtomicU64 {
        self.word(self.layout.participant_at(p) + part::OWNER)
    }

    pub(crate) fn lanes_active(&self) -> &AtomicU64 {
        self.word(hdr::LANES_ACTIVE)
    }

    /// Claims the first free entry for `owner`.
    pub(crate) fn join(
        &self,
        owner: OwnerToken,
        pid: u64,
        now_ns: u64,
    ) -> Result<Endpoint, JoinError> {
        for p in 0..self.layout.participants as usize {
            // SYNC(participant-claim): Acquire pairs with the Release that freed
            // the entry (`leave`, `reclaim_dead`): the lane as its last holder or
            // reclaimer left it is visible to us. Failure: Relaxed, the entry
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
            self.word(entry + part::JOINED_NS)
                .store(now_ns, Ordering::Relaxed);
            // A free lane has no WRITING slot (reclaim fixes them before freeing);
            // this is a second line of defence for memory that skipped it.
            self.abandon_in_progress(p);
            let (tail, _) = self.lane_tail(p);
            self.word(entry + part::LANE_HEAD)
                .store(tail + 1, Ordering::Relaxed);
            let mut ep = Endpoint {
                index: p as u32,
                owner,
                next_seq: tail + 1,
                cursors: [1; MAX_PARTICIPANTS],
                next_lane: 0,
                roles: 0,
                delivered: 0,
                dropped: 0,
            };
            self.start_cursors(&mut ep);
            return Ok(ep);
        }
        Err(JoinError::Full {
            max: self.layout.participants,
        })
    }

    /// Receives only what is published after joining: each active lane's
    /// cursor starts past its newest message (at it, if it is mid-write).
    fn start_cursors(&self, ep: &mut Endpoint) {
        // Relaxed: the mask publishes nothing (readers synchronise on the
        // stamps); a lane activated just after this load starts at cursor 1,
        // which is right: all its messages come after our join.
        let active = self.lanes_active().load(Ordering::Relaxed);
        for lane in 0..self.layout.participants as usize {
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
        // Relaxed: see `start_cursors`.
        let active = self.lanes_active().load(Ordering::Relaxed);
        let capacity = u64::from(self.layout.capacity);
        for lane in 0..self.layout.participants as usize {
            if active & (1 << lane) != 0 {
                let (tail, _) = self.lane_tail(lane);
                // Slot `tail - capacity` may be under overwrite right now.
                ep.cursors[lane] = tail.saturating_sub(capacity) + 1;
            }
        }
    }

    /// Frees `ep`'s entry, if it still holds it.
    pub(crate) fn leave(&self, ep: &Endpoint) {
        // SYNC(participant-claim): Release pairs with the Acquire CAS in `join`:
        // our last lane writes happen-before the next holder's scan.
        let _ = self.owner_word(ep.index as usize).compare_exchange(
            ep.owner.get(),
            0,
            Ordering::Release,
            Ordering::Relaxed,
        );
    }

    /// Marks `ep`'s lane active (first publish).
    pub(crate) fn announce_publisher(&self, ep: &mut Endpoint) {
        // No data is published through the mask (readers synchronise on stamps).
        self.lanes_active()
            .fetch_or(1 << ep.index, Ordering::Relaxed);
        self.announce_role(ep, part::ROLE_PUBLISHER);
    }

    /// Records a role in `ep`'s entry (for tools), once.
    pub(crate) fn announce_role(&self, ep: &mut Endpoint, role: u64) {
        ep.roles |= role;
        let entry = self.layout.participant_at(ep.index as usize);
        self.word(entry + part::ROLES)
            .fetch_or(role, Ordering::Relaxed);
    }

    /// Frees the entries of participants `is_alive` says are gone, marking
    /// their unfinished slots abandoned so readers count and skip them.
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
    pub fn reclaim_dead(
        &self,
        me: OwnerToken,
        mut is_alive: impl FnMut(OwnerToken) -> bool,
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
            self.abandon_in_progress(p);
            // SYNC(participant-claim): Release pairs with the Acquire CAS in `join`.
            word.store(0, Ordering::Release);
            freed += 1;
        }
        freed
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
            })
        })
    }

    /// Messages published on the topic since it was created (sequence numbers
    /// claimed in all lanes, finished or abandoned). Scans every active lane.
    /// Saturates at `u64::MAX` (only a corrupt region gets there: 64 lanes of
    /// 62-bit sequences can exceed 64 bits, and tools call this on any region).
    pub fn published_count(&self) -> u64 {
        // Relaxed: see `start_cursors`; a count, nothing read through it.
        let active = self.lanes_active().load(Ordering::Relaxed);
        (0..self.layout.participants as usize)
            .filter(|lane| active & (1 << lane) != 0)
            .map(|lane| self.lane_tail(lane).0)
            .fold(0, u64::saturating_add)
    }
}
