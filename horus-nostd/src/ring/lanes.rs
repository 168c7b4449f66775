//! The lane pool: a handle claims a publisher lane at its first send and
//! frees it with its participant entry.
//!
//! A lane entry's `OWNER` word holds a **tag**: 0 (free) or the holding
//! participant's index and the low 56 bits of the `CLAIM` value its join
//! left ([`tag`]). A tag is **stale** once that participant's `CLAIM` has
//! moved on (its entry was reclaimed, or reclaimed and joined again): its
//! holder is gone or evicted, and can write at most its one in-flight
//! message (the claim check of `write_slot`, see `ring/participants.rs`).
//!
//! ```text
//!          first send: CAS 0 -> tag          leave: CAS tag -> 0 (Release)
//!   FREE (0) -----------------------> HELD(tag) -----------------------------> FREE
//!                                        |  reclaim of the participant:
//!                                        |  CAS tag -> marker, abandon WRITING
//!                                        |  slots, reserve a sequence if it
//!                                        |  published; store 0 (Release)
//!                                        |
//!                                        |  stale (holder evicted, or died where
//!                                        |  the reclaim missed it): a claimer with
//!                                        +- no free lane takes it over: CAS tag ->
//!                                           its tag, abandon, reserve a sequence
//! ```
//!
//! The reclaimer's marker is the tag of the reclaimed participant with the
//! `CLAIM` value the reclaimer just made: stale as soon as the next
//! reclaimer (if this one dies mid-way) bumps that counter again, so a
//! dead reclaimer never strands a lane.
//!
//! Sequence numbers belong to the lane, not to its holder: a new holder
//! starts after the lane's newest stamp (after the reservation, if one was
//! made), so readers' cursors stay valid across holders and every sequence
//! is delivered or counted once (`delivered + dropped == published`).
//!
//! A claim takes the **first** free lane by index, so a publisher that
//! comes after one that left (a restarted node) continues the lane it
//! left when that is the first free one (always, in a topic with one
//! publisher at a time), and a reader gets the old holder's unread
//! messages before the new one's: no stale data after fresh. The new
//! holder writes over the lane's oldest messages, so a reader lapped on
//! that lane loses some of the old holder's, its newest too if it lags
//! that far: the drop-oldest rule, whoever writes. (Other orders were
//! tried and rejected: `docs/decisions.md`.)
//!
//! A claimer backs the lane's memory ([`Words::reserve`]) right after its
//! CAS and before it touches the lane; on storage backed on demand nothing
//! else touches a lane nobody claimed (readers read only lanes in
//! `LANES_ACTIVE`, which a claimer sets after its claim), and a reclaimer
//! reserves before it touches a lane too. A reservation that fails gives
//! the lane back untouched (a CAS from our tag, in case a reclaim took it
//! meanwhile) and refuses the send ([`Refusal::NoMemory`]).
//!
//! A lane claimed at a first send races with a reclaim of the claimer's
//! participant entry. The claimer's order is: lane CAS, `ROLES` fetch_or
//! (SeqCst), `CLAIM` load (SeqCst); the reclaimer's: `CLAIM` bump (SeqCst),
//! `ROLES` load (SeqCst), lane scan. `SYNC(first-send)`: either the claimer's
//! load sees the bump (it frees the lane it just took and writes nothing), or
//! the reclaimer's `ROLES` load reads the claimer's fetch_or, which makes the
//! lane CAS before it visible to the scan (the reclaimer frees the lane, and
//! reserves a sequence for the message the holder may have in flight). Both
//! may happen; each frees by CAS from the tag, so only one does.

use super::lane::Sending;
use super::stamp;
use super::{Endpoint, Refusal};
use crate::layout::{lane, part};
use crate::region::{TopicRegion, Words};
use crate::sync::{AtomicU64, Ordering};

/// No lane held.
pub(crate) const NO_LANE: u32 = u32::MAX;

/// Bits of the participant index (plus one) in a tag.
const INDEX_BITS: u32 = 8;

/// The tag of participant `p` holding a lane under claim value `claim`.
#[inline]
pub(crate) const fn tag(p: u32, claim: u64) -> u64 {
    (p as u64 + 1) | claim << INDEX_BITS
}

/// Whether the claim in tag `now` is past the one in tag `then` (same
/// participant): by wrapping distance, as claims grow by one per join or
/// reclaim and wrap at 56 bits.
const fn claim_is_past(now: u64, then: u64) -> bool {
    let ahead = (now >> INDEX_BITS).wrapping_sub(then >> INDEX_BITS) & CLAIM_MASK;
    ahead != 0 && ahead < CLAIM_MASK / 2
}

/// The claim bits of a tag, shifted down.
const CLAIM_MASK: u64 = u64::MAX >> INDEX_BITS;

/// The participant a non-zero tag names (may be out of range in a corrupt
/// region: the caller checks).
const fn tag_participant(tag: u64) -> usize {
    ((tag & ((1 << INDEX_BITS) - 1)) as usize).wrapping_sub(1)
}

impl<W: Words> TopicRegion<W> {
    fn lane_owner(&self, l: usize) -> &AtomicU64 {
        self.word(self.layout.lane_entry_at(l) + lane::OWNER)
    }

    /// Whether `t` (a non-zero tag) no longer names a current holder: its
    /// participant's `CLAIM` has moved past the tag's. Claims only grow, so
    /// a load that returns an older value than the tag's (possible: nothing
    /// orders it after the tag's load) never makes a current tag stale.
    fn is_stale(&self, t: u64) -> bool {
        let p = tag_participant(t);
        if p >= self.layout.participants as usize {
            return true; // corrupt: no such participant
        }
        // Relaxed: only the value is compared; whoever acts on a stale tag
        // takes the lane by CAS (Acquire) first.
        let claim = self
            .word(self.layout.participant_at(p) + part::CLAIM)
            .load(Ordering::Relaxed);
        claim_is_past(tag(p as u32, claim), t)
    }

    /// Lanes held by a current holder (for tools).
    pub fn lanes_in_use(&self) -> u32 {
        (0..self.layout.lanes as usize)
            .filter(|&l| {
                // Relaxed: a snapshot for tools.
                let t = self.lane_owner(l).load(Ordering::Relaxed);
                t != 0 && !self.is_stale(t)
            })
            .count() as u32
    }

    /// Claims a lane for `ep` (which holds its entry): a free one, else a
    /// stale one, and backs its memory ([`Words::reserve`]). Sets `ep.lane`,
    /// `ep.next_seq` and `ep.sending`; refused if every lane is held (or
    /// unusable: at the sequence limit), or if the lane's memory cannot be
    /// had.
    pub(crate) fn claim_lane(&self, ep: &mut Endpoint) -> Result<(), Refusal> {
        let mine = tag(ep.index, ep.claim);
        let mut refusal = Refusal::NoLane {
            max_publishers: self.layout.lanes,
        };
        for stale_pass in [false, true] {
            for l in 0..self.layout.lanes as usize {
                let owner = self.lane_owner(l);
                // The first pass tries every lane free (a CAS from 0, no load
                // that could return an old holder); the second, every lane
                // whose tag is stale. Relaxed: the CAS below decides.
                let current = if stale_pass {
                    owner.load(Ordering::Relaxed)
                } else {
                    0
                };
                let takeable = !stale_pass || (current != 0 && self.is_stale(current));
                // SYNC(lane-claim): Acquire pairs with the Release that freed
                // the lane (`free_lane`, `reclaim_lanes_of`): the lane as its
                // last holder left it is visible to us. Failure: Relaxed, the
                // lane is someone else's and nothing of it is read.
                if !takeable
                    || owner
                        .compare_exchange(current, mine, Ordering::Acquire, Ordering::Relaxed)
                        .is_err()
                {
                    continue;
                }
                // Back the lane's memory before anything touches it (see
                // `Words::RESERVE_ON_CLAIM`). A lane held before is backed
                // already, so only a lane never claimed can fail here, and
                // so can every lane after it (lanes are first claimed in
                // order): give it back untouched and refuse this send.
                let span = self.layout.lane_span(l);
                if self.words.reserve(span.first..span.end).is_err() {
                    // SYNC(lane-claim): Release, as in `free_lane`; a CAS, as
                    // a reclaim may have taken the lane from us meanwhile.
                    let _ =
                        owner.compare_exchange(mine, current, Ordering::Release, Ordering::Relaxed);
                    return Err(Refusal::NoMemory {
                        lane: l as u32,
                        bytes: ((span.end - span.first) * 8) as u64,
                    });
                }
                // A free lane has no WRITING slot (a reclaim fixes them
                // before freeing); this is a second line of defence. A stale
                // lane's holder may have one message in flight: reserve a
                // sequence for it, as a reclaim does.
                let abandoned = self.abandon_in_progress(l);
                if stale_pass {
                    self.reserve_next(l, abandoned);
                }
                let (tail, _) = self.lane_tail(l);
                if tail >= stamp::JOIN_SEQ_LIMIT {
                    // Only a corrupt or hostile region gets here: the lane's
                    // sequences would run out, and resetting them would put
                    // them behind readers' cursors. Give it back; try another.
                    // SYNC(lane-claim): Release, as in `free_lane`.
                    owner.store(0, Ordering::Release);
                    refusal = Refusal::LaneExhausted {
                        lane: l as u32,
                        seq: tail,
                    };
                    continue;
                }
                self.word(self.layout.lane_entry_at(l) + lane::HEAD)
                    .store(tail + 1, Ordering::Relaxed);
                ep.lane = l as u32;
                ep.next_seq = tail + 1;
                ep.sending = Sending {
                    claim_at: self.layout.participant_at(ep.index as usize) + part::CLAIM,
                    at: self.layout.slot_at(l, tail + 1),
                    head_at: self.layout.lane_entry_at(l) + lane::HEAD,
                    span: self.layout.lane_span(l),
                };
                return Ok(());
            }
        }
        Err(refusal)
    }

    /// Frees `ep`'s lane if `ep` holds one and its tag is still `ep`'s
    /// (not if a reclaim or a takeover took it).
    pub(crate) fn free_lane(&self, ep: &mut Endpoint) {
        if ep.lane == NO_LANE {
            return;
        }
        let l = core::mem::replace(&mut ep.lane, NO_LANE) as usize;
        if l >= self.layout.lanes as usize {
            return;
        }
        // SYNC(lane-claim): Release pairs with the Acquire CAS in
        // `claim_lane`: our last writes to the lane happen-before the next
        // holder's scan of it.
        let _ = self.lane_owner(l).compare_exchange(
            tag(ep.index, ep.claim),
            0,
            Ordering::Release,
            Ordering::Relaxed,
        );
    }

    /// Frees the lanes that participant `p` holds or held, for a reclaim of
    /// `p`: the caller holds `p`'s entry (marked reclaiming) and has bumped
    /// its `CLAIM` to `claim` and read its `roles` after that
    /// (`SYNC(first-send)`). Each such lane's unfinished slots are abandoned
    /// and, if `p` announced itself a publisher, its next sequence reserved.
    pub(crate) fn reclaim_lanes_of(&self, p: usize, claim: u64, roles: u64) {
        let marker = tag(p as u32, claim);
        for l in 0..self.layout.lanes as usize {
            let owner = self.lane_owner(l);
            // Relaxed: the CAS below decides.
            let current = owner.load(Ordering::Relaxed);
            if current == 0 || tag_participant(current) != p {
                continue;
            }
            // SYNC(lane-claim): Acquire, as in `claim_lane`, before touching
            // the lane. The marker keeps claimers off it (it is not stale
            // while we hold `p`) and goes stale if we die here.
            if owner
                .compare_exchange(current, marker, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue; // freed by its holder, or taken over: not ours
            }
            // A lane whose memory cannot be backed was never backed, so
            // its holder (which reserves before touching it) wrote nothing.
            let span = self.layout.lane_span(l);
            if self.words.reserve(span.first..span.end).is_err() {
                // SYNC(lane-claim): Release pairs with the Acquire CAS in `claim_lane`.
                owner.store(0, Ordering::Release);
                continue;
            }
            let abandoned = self.abandon_in_progress(l);
            if roles & part::ROLE_PUBLISHER != 0 {
                // A holder that never announced itself a publisher has never
                // written and, by SYNC(first-send), never will.
                self.reserve_next(l, abandoned);
            }
            // SYNC(lane-claim): Release pairs with the Acquire CAS in `claim_lane`.
            owner.store(0, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_their_participant_and_claim() {
        let t = tag(5, 9);
        assert_eq!(tag_participant(t), 5);
        assert_ne!(t, 0);
        assert_ne!(tag(5, 10), t);
        assert_ne!(tag(4, 9), t);
        // Claims wrap at 56 bits, the index never spills into them.
        assert_eq!(tag_participant(tag(63, u64::MAX)), 63);
        assert_eq!(tag_participant(0), usize::MAX); // never a valid index
        // Stale only once the claim moved on, across the 56-bit wrap too.
        assert!(claim_is_past(tag(5, 10), t));
        assert!(!claim_is_past(t, t));
        assert!(
            !claim_is_past(tag(5, 8), t),
            "an older load is not staleness"
        );
        assert!(claim_is_past(tag(5, 0), tag(5, CLAIM_MASK)));
    }
}
