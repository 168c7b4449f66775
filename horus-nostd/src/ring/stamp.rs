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
//! second.

/// Message complete.
pub(crate) const DONE: u64 = 0;
/// Message being written.
pub(crate) const WRITING: u64 = 1;
/// Message never completed; readers count it as dropped.
pub(crate) const ABANDONED: u64 = 2;

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
}
