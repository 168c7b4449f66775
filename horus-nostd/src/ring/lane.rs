//! One lane: a single-writer ring of seqlock slots, and the reader's cursor walk.
//!
//! **Writer** (the lane's owner, nobody else): message `seq` goes to slot
//! `seq & (capacity - 1)`:
//! 0. load the entry's `CLAIM` word; if it is not the value this handle's
//!    join left, the entry was reclaimed under it: write nothing, report
//!    eviction (see `ring/participants.rs` for what that guarantees);
//! 1. stamp := `WRITING(seq)` (Relaxed), then a Release fence;
//! 2. payload words (Relaxed);
//! 3. stamp := `DONE(seq)` (Release);
//! 4. the lane entry's `HEAD` hint := `seq + 1` (Relaxed).
//!
//! It never waits and never fails: slot `seq - capacity` is simply overwritten.
//! The words it touches (the `CLAIM` word, the slot, the `HEAD` word) are
//! computed when the lane is claimed and moved along by each send
//! ([`Sending`]).
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
//!   `h = max(seq(s1), head)`, where `head` is the lane's `HEAD` hint (its lane entry)
//!   (the writer's next sequence), and slot `h - capacity` may be the one it
//!   is overwriting now: count `c .. h - capacity` as dropped and resume at
//!   `h - capacity + 1`, the oldest message that can still be intact.
//!
//! While one lane is active, a receive first tries the `DONE(c)` case alone
//! at a stamp word computed on the previous receive ([`Expected`],
//! [`TopicRegion::read_expected`]); any other finding goes through the walk
//! above.
//!
//! This is the seqlock of Boehm, "Can seqlocks get along with programming
//! language memory models?" (MSPC 2012), with atomic payload words so the racy
//! copy is not undefined behaviour.

use super::stamp::{self, ABANDONED, DONE, WRITING};
use super::{Endpoint, copy};
use crate::layout::{LaneSpan, lane};
use crate::region::{TopicRegion, Words};
use crate::sync::{AtomicU64, Ordering, fence};

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

/// A receiver's fast path: where the next message of the only active lane
/// will be, so that a receive while the topic has one publishing lane is
/// one stamp load (and the copy), with no mask scan and no slot arithmetic
/// (see [`TopicRegion::read_expected`]); the lane's span moves it to the
/// next slot with an add and a compare.
///
/// Set by the general receive (`RawHandle::recv_unchecked`) from the
/// handle's cursor whenever `LANES_ACTIVE` has exactly one (valid) lane,
/// moved along by [`TopicRegion::read_expected`], and cleared by anything
/// else that moves a cursor (`rewind`) or resets the roles (`rejoin`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Expected {
    /// The `LANES_ACTIVE` value this is valid for (one bit: `lane`); the
    /// fast path is taken only while the mask still reads exactly this.
    /// 0: no fast path.
    pub(crate) mask: u64,
    /// The lane.
    pub(crate) lane: u32,
    /// Word index of the stamp of the slot of the lane's cursor.
    pub(crate) at: usize,
    /// `DONE(cursor)`: the stamp the next message will have there.
    pub(crate) stamp: u64,
    /// The lane's slots, to move `at` along.
    pub(crate) span: LaneSpan,
}

impl Expected {
    /// No fast path.
    pub(crate) const NONE: Self = Self {
        mask: 0,
        lane: 0,
        at: 0,
        stamp: 0,
        span: LaneSpan { first: 0, end: 0 },
    };
}

/// A publisher's fast path: the words its next send touches, so that a
/// send computes no slot or entry position (no multiply, no table lookup).
///
/// Set by [`TopicRegion::claim_lane`] for the lane it claims (the only way a
/// handle gets a lane, and the first send of every entry claims one), moved
/// along by [`TopicRegion::write_slot`]. Meaningless while the handle holds
/// no lane (`ep.lane` is `NO_LANE`), when nothing reads it; the default
/// (all 0) would make a send compare the region's `MAGIC` word with its
/// claim and refuse, never write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sending {
    /// Word index of the `CLAIM` word of the handle's participant entry.
    pub(crate) claim_at: usize,
    /// Word index of the stamp of the slot of `ep.next_seq` in the lane.
    pub(crate) at: usize,
    /// Word index of the lane entry's `HEAD` hint.
    pub(crate) head_at: usize,
    /// The lane's slots, to move `at` along.
    pub(crate) span: LaneSpan,
}

impl<W: Words> TopicRegion<W> {
    /// Writes `bytes` as the next message of `ep`'s lane; `false` (nothing
    /// written) if `ep`'s entry was reclaimed under it. Framed: `bytes` is a
    /// frame's body, written after its length as a little-endian `u32`
    /// (`4 + bytes.len()` fits the payload: checked by the caller); the rest
    /// of the slot is left as it was.
    #[inline(always)]
    pub(crate) fn write_slot(&self, ep: &mut Endpoint, bytes: &[u8], framed: bool) -> bool {
        // Where this send writes: computed at the lane claim and by the
        // previous send (`Sending`); the slot of `ep.next_seq` in `ep.lane`.
        let words = ep.sending;
        // Relaxed, no SYNC pair: nothing is read through this word, only its
        // value is compared. Coherence of this one word is what the check
        // needs; Acquire would order nothing useful (the bump comes from
        // another thread that publishes no data to us through it), and no
        // ordering short of a SeqCst fence on both sides could close the
        // window between this load and the stamp below (documented in
        // `ring/participants.rs`). The entry's line is written only by joins
        // and reclaims, so it stays in this core's cache: one load, one
        // branch.
        if self.word(words.claim_at).load(Ordering::Relaxed) != ep.claim {
            return false;
        }
        let seq = ep.next_seq;
        let at = words.at;
        let stamp = self.word(at);
        stamp.store(stamp::encode(seq, WRITING), Ordering::Relaxed);
        // SYNC(seqlock): the payload stores below cannot be seen by a reader
        // whose stamp recheck (after its Acquire fence in `read_lane`) still
        // finds the old stamp.
        fence(Ordering::Release);
        // The words the message fills: all of the slot's payload
        // (`bytes.len()` is the message size, checked by the caller; sized
        // from it, so a typed send's copy has a length known when compiled),
        // or framed, the slot's payload words, of which the frame fills the
        // first `4 + bytes.len()` bytes.
        let n = if framed {
            self.layout.payload_words()
        } else {
            bytes.len().div_ceil(8)
        };
        let payload = &self.words[at + 1..at + 1 + n];
        if framed {
            // Word 0: the length, then the body's first four bytes.
            let (head, rest) = bytes.split_at(bytes.len().min(4));
            let first = u64::from(bytes.len() as u32) | copy::short_word(head) << 32;
            payload[0].store(first, Ordering::Relaxed);
            copy::store_payload(&payload[1..], rest);
        } else {
            copy::store_payload(payload, bytes);
        }
        // SYNC(slot-stamp): the payload above is visible to whoever loads
        // DONE(seq) with Acquire in `read_lane`.
        stamp.store(stamp::encode(seq, DONE), Ordering::Release);
        ep.next_seq = seq + 1;
        ep.sending.at = words.span.next(at, self.layout.slot_words);
        // A hint only (see `read_lane`): no data is published through it.
        self.word(words.head_at).store(seq + 1, Ordering::Relaxed);
        true
    }

    /// Tries to read the next message of `lane` for `ep` into `out`. Framed:
    /// only the frame (length word and body, as `write_slot` wrote them) is
    /// copied, at most `out.len()` bytes; the caller checks the length.
    #[inline]
    pub(crate) fn read_lane(
        &self,
        ep: &mut Endpoint,
        lane: usize,
        out: &mut [u8],
        framed: bool,
    ) -> LaneRead {
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
                        load_message(payload, out, framed);
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
                .word(self.layout.lane_entry_at(lane) + lane::HEAD)
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

    /// The fast path for `ep` while `LANES_ACTIVE` reads `active`: set if
    /// that is exactly one valid lane, else [`Expected::NONE`].
    pub(crate) fn expected_for(&self, ep: &Endpoint, active: u64) -> Expected {
        let lane = active.trailing_zeros() as usize;
        if !active.is_power_of_two() || lane >= self.layout.lanes as usize {
            return Expected::NONE;
        }
        let cursor = ep.cursors[lane];
        Expected {
            mask: active,
            lane: lane as u32,
            at: self.layout.slot_at(lane, cursor),
            stamp: stamp::encode(cursor, DONE),
            span: self.layout.lane_span(lane),
        }
    }

    /// The fast path of a receive (`ep.expected` is set, and `LANES_ACTIVE`
    /// still reads its mask): loads the stamp where the next message of the
    /// only active lane will be. `Some(false)`: nothing new (the stamp is
    /// older, or the message is being written); `Some(true)`: that message
    /// was copied whole into `out`, as `read_lane` would; `None`: anything
    /// else (abandoned, lapped, torn): the caller takes the general path,
    /// which resolves it.
    #[inline(always)]
    pub(crate) fn read_expected(
        &self,
        ep: &mut Endpoint,
        out: &mut [u8],
        framed: bool,
    ) -> Option<bool> {
        let x = ep.expected;
        // The stamp and the payload words the message fills (`out.len()` is
        // the message size, checked by the caller: sized from it, a typed
        // receive's copy has a length known when compiled). One bounds check.
        let slot = self.words.get(x.at..x.at + 1 + out.len().div_ceil(8))?;
        let (stamp_word, payload) = slot.split_first()?;
        // SYNC(slot-stamp): pairs with the DONE store in `write_slot`.
        let s1 = stamp_word.load(Ordering::Acquire);
        if s1 != x.stamp {
            // `seq(s1) < cursor` exactly when `s1 < DONE(cursor)`; being
            // written is nothing new too (as in `read_lane`).
            let nothing = s1 < x.stamp || s1 == x.stamp | WRITING;
            return nothing.then_some(false);
        }
        load_message(payload, out, framed);
        // SYNC(seqlock): pairs with the Release fence in `write_slot`, as in
        // `read_lane`: a copy that saw a newer write sees its stamp below.
        fence(Ordering::Acquire);
        if stamp_word.load(Ordering::Relaxed) != s1 {
            return None; // lapped during the copy: `read_lane` counts it
        }
        let cursor = ep.cursors.get_mut(x.lane as usize)?;
        *cursor += 1;
        ep.delivered += 1;
        ep.expected.at = x.span.next(x.at, self.layout.slot_words);
        ep.expected.stamp = stamp::encode(*cursor, DONE);
        Some(true)
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
    /// further on. Only for a lane the caller has just taken from a holder
    /// that is gone or evicted (`ring/lanes.rs`): that message is the one the evicted owner may
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
        let entry = self.layout.lane_entry_at(lane);
        self.word(entry + lane::HEAD)
            .store(next + 1, Ordering::Relaxed);
        // A count for tools; nothing is read through it.
        self.word(entry + lane::RESERVED)
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Marks every `WRITING` slot of `lane` as `ABANDONED`. Only for a lane
    /// the caller holds (its owner gone, or evicted: a live
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

/// Copies the message in `payload` (a slot's payload words) into `out`:
/// all of `out`, or framed, only the frame (length word and body, as
/// `write_slot` wrote them), at most `out.len()` bytes. The caller's stamp
/// recheck validates the copy.
#[inline(always)]
fn load_message(payload: &[AtomicU64], out: &mut [u8], framed: bool) {
    let n = if framed {
        // A torn length is caught by the caller's stamp recheck; a hostile one
        // is clamped to `out`. Relaxed: validated by that recheck (seqlock).
        let len = payload[0].load(Ordering::Relaxed) as u32 as usize;
        len.saturating_add(4).min(out.len())
    } else {
        out.len()
    };
    copy::load_payload(payload, &mut out[..n]);
}
