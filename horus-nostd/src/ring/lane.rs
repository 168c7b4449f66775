//! One lane: a single-writer ring of seqlock slots, and the reader's cursor walk.
//!
//! **Writer** (the lane's owner, nobody else): message `seq` goes to slot
//! `seq & (capacity - 1)`:
//! 0. load the entry's `CLAIM` word; if it is not the value this handle's
//!    join left, the entry was reclaimed under it: write nothing, report
//!    eviction (see `ring/participants.rs` for what that guarantees);
//! 1. stamp := `WRITING(seq)` (Relaxed), then a Release fence;
//! 2. payload words (Relaxed);
//! 3. stamp := `DONE(seq)` (Release).
//!
//! It never waits and never fails: slot `seq - capacity` is simply overwritten.
//!
//! **Reader** at cursor `c` (the next sequence it wants from this lane) loads
//! the stamp `s1` of slot `c & (capacity - 1)` with Acquire:
//! - `seq(s1) < c`: nothing new in this lane;
//! - `WRITING(c)`: being written (or its writer died and nobody reclaimed it
//!   yet): nothing new; the other lanes are still read;
//! - `ABANDONED(c)`: count one drop, move on;
//! - `DONE(c)`: copy the payload (Relaxed), Acquire fence, reload the stamp
//!   `s2`; if `s2 == s1` the copy is whole: deliver. Otherwise the writer lapped
//!   the reader during the copy: treat as below with `seq(s2)`;
//! - `seq(s1) > c`: lapped. The writer has reached at least
//!   `h = max(seq(s1), head)`, where `head` is the lane's `LANE_HEAD` hint
//!   (the writer's next sequence), and slot `h - capacity` may be the one it
//!   is overwriting now: count `c .. h - capacity` as dropped and resume at
//!   `h - capacity + 1`, the oldest message that can still be intact.
//!
//! This is the seqlock of Boehm, "Can seqlocks get along with programming
//! language memory models?" (MSPC 2012), with atomic payload words so the racy
//! copy is not undefined behaviour.

use super::stamp::{self, ABANDONED, DONE, WRITING};
use super::{Endpoint, copy};
use crate::layout::part;
use crate::region::{TopicRegion, Words};
use crate::sync::{Ordering, fence};

/// What one look at one lane found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LaneRead {
    /// A whole message was copied to the output.
    Delivered,
    /// Nothing to deliver from this lane now.
    Nothing,
}

/// How often one `read_lane` call re-resolves a lap before yielding to the
/// next lane: bounds the work of one receive against a writer that keeps
/// lapping the reader.
const MAX_LAPS_PER_READ: u32 = 4;

impl<W: Words> TopicRegion<W> {
    /// Writes `bytes` as the next message of `ep`'s lane; `false` (nothing
    /// written) if `ep`'s entry was reclaimed under it.
    #[inline]
    pub(crate) fn write_slot(&self, ep: &mut Endpoint, bytes: &[u8]) -> bool {
        let entry = self.layout.participant_at(ep.index as usize);
        // Relaxed, no SYNC pair: nothing is read through this word, only its
        // value is compared. Coherence of this one word is what the check
        // needs; Acquire would order nothing useful (the bump comes from
        // another thread that publishes no data to us through it), and no
        // ordering short of a SeqCst fence on both sides could close the
        // window between this load and the stamp below (documented in
        // `ring/participants.rs`). The line is the one `LANE_HEAD` is
        // written to below, so this costs one load and one branch.
        if self.word(entry + part::CLAIM).load(Ordering::Relaxed) != ep.claim {
            return false;
        }
        let seq = ep.next_seq;
        let at = self.layout.slot_at(ep.index as usize, seq);
        let stamp = self.word(at);
        stamp.store(stamp::encode(seq, WRITING), Ordering::Relaxed);
        // SYNC(seqlock): the payload stores below cannot be seen by a reader
        // whose stamp recheck (after its Acquire fence in `read_lane`) still
        // finds the old stamp.
        fence(Ordering::Release);
        let payload = &self.words[at + 1..at + 1 + self.layout.payload_words()];
        copy::store_payload(payload, bytes);
        // SYNC(slot-stamp): the payload above is visible to whoever loads
        // DONE(seq) with Acquire in `read_lane`.
        stamp.store(stamp::encode(seq, DONE), Ordering::Release);
        ep.next_seq = seq + 1;
        // A hint only (see `read_lane`): no data is published through it.
        self.word(entry + part::LANE_HEAD)
            .store(seq + 1, Ordering::Relaxed);
        true
    }

    /// Tries to read the next message of `lane` for `ep` into `out`.
    #[inline]
    pub(crate) fn read_lane(&self, ep: &mut Endpoint, lane: usize, out: &mut [u8]) -> LaneRead {
        let capacity = u64::from(self.layout.capacity);
        for _ in 0..MAX_LAPS_PER_READ {
            let cursor = ep.cursors[lane];
            let at = self.layout.slot_at(lane, cursor);
            let stamp_word = self.word(at);
            // SYNC(slot-stamp): pairs with the DONE store in `write_slot`.
            let s1 = stamp_word.load(Ordering::Acquire);
            let seq = stamp::seq(s1);
            let newest = if seq < cursor {
                return LaneRead::Nothing;
            } else if seq > cursor {
                seq
            } else {
                match stamp::state(s1) {
                    WRITING => return LaneRead::Nothing,
                    ABANDONED => {
                        ep.cursors[lane] = cursor + 1;
                        // Saturating, like the lap count below (a corrupt
                        // region can already have saturated it).
                        ep.dropped = ep.dropped.saturating_add(1);
                        continue;
                    }
                    DONE => {
                        let payload = &self.words[at + 1..at + 1 + self.layout.payload_words()];
                        copy::load_payload(payload, out);
                        // SYNC(seqlock): pairs with the Release fence in
                        // `write_slot`: if any payload load saw a newer write,
                        // the reload below sees its WRITING stamp or later.
                        fence(Ordering::Acquire);
                        let s2 = stamp_word.load(Ordering::Relaxed);
                        if s2 == s1 {
                            ep.cursors[lane] = cursor + 1;
                            ep.delivered += 1;
                            return LaneRead::Delivered;
                        }
                        stamp::seq(s2)
                    }
                    _ => return LaneRead::Nothing, // unknown state: corrupt, skip
                }
            };
            // Lapped: slot `cursor` now holds `newest` (> cursor, same slot).
            // The writer is at `newest` or beyond (the head hint says where);
            // everything up to `reached - capacity` is or may be overwritten.
            let head = self
                .word(self.layout.participant_at(lane) + part::LANE_HEAD)
                .load(Ordering::Relaxed);
            let resume = newest.max(head).saturating_sub(capacity) + 1;
            if resume <= cursor {
                // Only a corrupt stamp (newest not cursor + k * capacity) gets here.
                return LaneRead::Nothing;
            }
            // Saturating: a corrupt head hint (up to u64::MAX) in several lanes
            // must not overflow the count (a panic in debug builds).
            ep.dropped = ep.dropped.saturating_add(resume - cursor);
            ep.cursors[lane] = resume;
        }
        LaneRead::Nothing
    }

    /// The highest sequence stamped in `lane` and whether it is still being
    /// written. `(0, false)` for a lane that never published.
    pub(crate) fn lane_tail(&self, lane: usize) -> (u64, bool) {
        let mut best = (0, false);
        for slot in 0..u64::from(self.layout.capacity) {
            // Relaxed: only sequence numbers are read, never a payload;
            // whoever reads a slot later acquires its stamp then
            // (SYNC(slot-stamp) in `read_lane`).
            let s = self
                .word(self.layout.slot_at(lane, slot))
                .load(Ordering::Relaxed);
            if stamp::seq(s) > best.0 {
                best = (stamp::seq(s), stamp::state(s) == WRITING);
            }
        }
        best
    }

    /// Reserves the sequence after `lane`'s newest: stamps it `ABANDONED`
    /// and moves the head hint past it, so the lane's next owner starts one
    /// further on. Only for a lane whose entry the caller has just reclaimed
    /// (it holds the entry): that message is the one the evicted owner may
    /// have passed its claim check for and not stamped yet; readers count it
    /// as one drop and move on (see `ring/participants.rs`).
    ///
    /// Not needed, and skipped, when the newest slot is mid-write: the one
    /// the caller just abandoned (`abandoned`, from
    /// [`Self::abandon_in_progress`]) or one stamped `WRITING` since (then
    /// abandoned here): that is the owner's one in-flight message, and the
    /// next owner starts after it.
    /// A lane at the sequence limit is left alone: `join` never takes it.
    pub(crate) fn reserve_next(&self, lane: usize, abandoned: u64) {
        let (tail, writing) = self.lane_tail(lane);
        if writing {
            let _ = self.abandon_in_progress(lane);
            return;
        }
        if abandoned != 0 && tail == abandoned {
            return;
        }
        let next = tail + 1;
        if next >= stamp::JOIN_SEQ_LIMIT {
            return;
        }
        let w = self.word(self.layout.slot_at(lane, next));
        let reserved = stamp::encode(next, ABANDONED);
        let mut old = w.load(Ordering::Relaxed);
        // A CAS, not a store: if the evicted writer stamps `next` meanwhile,
        // its message stays its own (delivered whole, or abandoned by the
        // joiner if unfinished) and the joiner, which sees whatever this CAS
        // saw (SYNC(participant-claim)), starts after it. Bounded: only that
        // writer's one in-flight message can change this word meanwhile.
        // Relaxed: an ABANDONED stamp carries no payload; the next joiner sees
        // it through SYNC(participant-claim) (the Release that frees the entry).
        loop {
            if stamp::seq(old) >= next {
                return; // the in-flight message is stamped: nothing to reserve
            }
            match w.compare_exchange(old, reserved, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        let entry = self.layout.participant_at(lane);
        self.word(entry + part::LANE_HEAD)
            .store(next + 1, Ordering::Relaxed);
        // A count for tools; nothing is read through it.
        self.word(entry + part::RESERVED)
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Marks every `WRITING` slot of `lane` as `ABANDONED`. Only for a lane
    /// whose entry the caller holds (its owner gone, or evicted: a live
    /// evicted writer may still finish that slot, and each reader then
    /// delivers it or counts it dropped, once). Returns the highest sequence
    /// it marked (0: none).
    pub(crate) fn abandon_in_progress(&self, lane: usize) -> u64 {
        let mut highest = 0;
        for slot in 0..u64::from(self.layout.capacity) {
            let w = self.word(self.layout.slot_at(lane, slot));
            let s = w.load(Ordering::Relaxed);
            if stamp::state(s) == WRITING {
                let abandoned = stamp::encode(stamp::seq(s), ABANDONED);
                // A failed exchange means the stamp moved on: nothing to fix.
                if w.compare_exchange(s, abandoned, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    highest = highest.max(stamp::seq(s));
                }
            }
        }
        highest
    }
}
