//! Slot stamps: the sequence number and state of the message in a slot.
//!
//! A stamp is one word, `seq << 2 | state`:
//!
//! | state | meaning | who writes it |
//! |---|---|---|
//! | `DONE` (0) | slot holds message `seq`, complete | the lane's publisher, Release |
//! | `WRITING` (1) | publisher is writing message `seq` | the lane's publisher, Relaxed + fence |
//! | `ABANDONED` (2) | message `seq` was never finished (its publisher died) | a reclaimer, or the lane's next owner |
//!
//! Sequence numbers start at 1 in every lane and only grow, also across the
//! lane's owners, so the all-zero stamp (`seq` 0, `DONE`) of fresh memory never
//! matches a cursor. 62 bits of sequence last 146 years at a billion messages a
//! second, so only a corrupt or hostile region comes near [`MAX_SEQ`]: a
//! sequence past it would not fit the stamp (it would wrap to 0 and every
//! later message would be invisible and uncounted). A participant therefore
//! never takes a lane whose newest sequence is at or past [`JOIN_SEQ_LIMIT`]
//! (`join` skips it), which leaves every lane it writes 2^61 messages of room.

/// Message complete.
pub(crate) const DONE: u64 = 0;
/// Message being written.
pub(crate) const WRITING: u64 = 1;
/// Message never completed; readers count it as dropped.
pub(crate) const ABANDONED: u64 = 2;

/// The largest sequence a stamp can hold.
pub(crate) const MAX_SEQ: u64 = (1 << 62) - 1;
/// A lane whose newest sequence is at or past this is never joined: its next
/// owner could run out of sequence numbers (see the module docs).
pub(crate) const JOIN_SEQ_LIMIT: u64 = MAX_SEQ.div_ceil(2); // 2^61

/// The stamp of message `seq` in `state`.
#[inline]
pub(crate) const fn encode(seq: u64, state: u64) -> u64 {
    seq << 2 | state
}

/// The sequence number of a stamp.
#[inline]
pub(crate) const fn seq(stamp: u64) -> u64 {
    stamp >> 2
}

/// The state of a stamp.
#[inline]
pub(crate) const fn state(stamp: u64) -> u64 {
    stamp & 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_fresh_memory_is_seq_zero() {
        for s in [1, 2, 1 << 40, (1 << 62) - 1] {
            for st in [DONE, WRITING, ABANDONED] {
                let w = encode(s, st);
                assert_eq!((seq(w), state(w)), (s, st));
            }
        }
        assert_eq!((seq(0), state(0)), (0, DONE));
    }

    #[test]
    fn the_join_limit_leaves_room_below_the_stamp_limit() {
        assert_eq!(seq(encode(MAX_SEQ, ABANDONED)), MAX_SEQ);
        assert_eq!(seq(encode(MAX_SEQ + 1, DONE)), 0); // what join must prevent
        const { assert!(JOIN_SEQ_LIMIT < MAX_SEQ && MAX_SEQ - JOIN_SEQ_LIMIT >= 1 << 60) };
    }
}
