//! The physical limit of a zero-copy message that a reader holds: what a
//! large-message hop needs from the hardware, timed like every other row.
//!
//! One way of the ping-pong is a [`HeldWay`]: a descriptor slot and
//! [`BLOCKS`] blocks, each with a data line. Message `i` goes in block
//! `i % BLOCKS`, as a pool recycles the block published longest ago:
//!
//! - the writer checks that nobody holds the block (an RMW on its hold
//!   word, which a pool's loan needs so that a late hold sees the block's new
//!   state), marks it loaned, writes the 8-byte stamp into its data line,
//!   publishes it (its state word, Release) and stores `i` in the slot
//!   (Release);
//! - the reader waits for `i` in the slot, prefetches the data line, holds
//!   the block (an RMW on the hold word, then the state checked: the hold's
//!   validation), reads the stamp and releases the hold (an RMW).
//!
//! Nothing else: no ring, lanes, cursors, handles, segments or layouts.
//! Where the hold and state words are ([`HoldIn`]) is what the two limits
//! compare:
//!
//! - [`HoldIn::Block`], HORUS's layout: on the block's control line, which
//!   the writer wrote just before the slot, so the hold is a second
//!   cache-line transfer after the slot's, in series (the data line's is
//!   started beside it). The writer prefetches the next block's lines for
//!   writing after each publish, as HORUS's publisher does.
//! - [`HoldIn::Slot`]: in the descriptor slot's own line, which the reader
//!   has just brought in to see the message: the hold is an RMW on a line
//!   already here. The floor of a pool whose holds start in the ring slot
//!   (see benchmarks/README.md, "A hold in the descriptor's line").
//!
//! The difference between the block limit and the one-word limit is what
//! holding a block costs the hardware in HORUS's layout; the difference
//! between it and a HORUS image row is what our code costs.

use horus_nostd::pool::{prefetch_for_read, prefetch_for_write};
use horus_nostd::sync::{AtomicU64, Ordering};

use crate::stats::STOP;

/// Blocks of one way (a pool segment's few blocks).
pub const BLOCKS: usize = 4;

/// Where a block's hold and state words are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldIn {
    /// On the block's own control line (HORUS's pool).
    Block,
    /// In the descriptor slot's line, beside the message's sequence.
    Slot,
}

/// One word alone on its cache line.
#[repr(C, align(64))]
#[derive(Default)]
struct Line(AtomicU64);

/// A hold word and a state word on one line: a block's control line, or
/// the slot's.
#[repr(C, align(64))]
#[derive(Default)]
struct Control {
    /// `2 i` once message `i` is published in the block, odd while loaned.
    state: AtomicU64,
    /// Bit 0 while the reader holds the block.
    holders: AtomicU64,
    /// The slot's message sequence (unused on a block's line).
    seq: AtomicU64,
}

/// One direction: the writer's slot and blocks.
#[repr(C)]
#[derive(Default)]
pub struct HeldWay {
    slot: Control,
    control: [Control; BLOCKS],
    data: [Line; BLOCKS],
}

impl HeldWay {
    /// The hold and state words of block `b`.
    #[inline]
    fn words(&self, b: usize, at: HoldIn) -> &Control {
        match at {
            HoldIn::Block => &self.control[b],
            HoldIn::Slot => &self.slot,
        }
    }

    /// Publishes message `i` (the only writer of this way); `i >= 1`.
    #[inline]
    pub fn publish(&self, i: u64, at: HoldIn) {
        let b = (i % BLOCKS as u64) as usize;
        let ctl = self.words(b, at);
        ctl.state.store(2 * i - 1, Ordering::Relaxed);
        // SYNC(raw-held-loan): the RMW reads the newest hold word; Acquire
        // pairs with the reader's Release release (its reads are done),
        // Release puts the loaned state before a later hold's check.
        let held = ctl.holders.fetch_or(0, Ordering::AcqRel);
        assert_eq!(
            held, 0,
            "raw held block: block {b} still held at message {i}"
        );
        self.data[b].0.store(i, Ordering::Relaxed);
        // SYNC(raw-held-publish): the stamp is visible to a hold that reads
        // this state (Acquire).
        ctl.state.store(2 * i, Ordering::Release);
        // SYNC(raw-held-slot): the publish is visible to a reader that sees `i`.
        self.slot.seq.store(i, Ordering::Release);
        // The next message's block, brought here while this one travels (as
        // HORUS's publisher does): the reader's hold and release wrote its
        // control line, its read shared its data line. (Not the slot's line:
        // the reader is about to read it.)
        let next = ((i + 1) % BLOCKS as u64) as usize;
        if at == HoldIn::Block {
            prefetch_for_write(&self.control[next].state);
        }
        prefetch_for_write(&self.data[next].0);
    }

    /// Tells the reader to stop (its [`receive`](Self::receive) answers `None`).
    pub fn stop(&self) {
        self.slot.seq.store(STOP, Ordering::Release);
    }

    /// Spins until message `i` is in the slot; holds its block, reads the
    /// stamp and releases the block. Returns the stamp (`None`: stopped).
    #[inline]
    pub fn receive(&self, i: u64, at: HoldIn) -> Option<u64> {
        loop {
            // SYNC(raw-held-slot)
            match self.slot.seq.load(Ordering::Acquire) {
                v if v == i => break,
                STOP => return None,
                _ => std::hint::spin_loop(),
            }
        }
        let b = (i % BLOCKS as u64) as usize;
        prefetch_for_read(&self.data[b].0);
        let ctl = self.words(b, at);
        // SYNC(raw-held-loan): Acquire pairs with the loan's Release RMW.
        ctl.holders.fetch_or(1, Ordering::AcqRel);
        // SYNC(raw-held-publish)
        let state = ctl.state.load(Ordering::Acquire);
        assert_eq!(
            state,
            2 * i,
            "raw held block: block {b} not published at message {i}"
        );
        let stamp = self.data[b].0.load(Ordering::Relaxed);
        // SYNC(raw-held-loan): the read is done before the next loan's RMW.
        ctl.holders.fetch_and(!1, Ordering::Release);
        Some(stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_way_moves_every_stamp_through_every_block() {
        for at in [HoldIn::Block, HoldIn::Slot] {
            let way = HeldWay::default();
            for i in 1..=3 * BLOCKS as u64 {
                way.publish(i, at);
                assert_eq!(way.receive(i, at), Some(i));
            }
            way.stop();
            assert_eq!(way.receive(3 * BLOCKS as u64 + 1, at), None);
        }
    }

    #[test]
    #[should_panic(expected = "still held")]
    fn a_held_block_is_never_loaned() {
        let way = HeldWay::default();
        way.control[1].holders.store(1, Ordering::Relaxed);
        way.publish(1, HoldIn::Block);
    }

    #[test]
    #[should_panic(expected = "still held")]
    fn a_hold_in_the_slot_stops_the_loan_too() {
        let way = HeldWay::default();
        way.slot.holders.store(1, Ordering::Relaxed);
        way.publish(1, HoldIn::Slot);
    }

    #[test]
    fn every_line_is_its_own() {
        assert_eq!(std::mem::size_of::<Control>(), 64);
        assert_eq!(std::mem::offset_of!(HeldWay, data) % 64, 0);
        assert_eq!(std::mem::size_of::<HeldWay>(), 64 * (1 + 2 * BLOCKS));
    }
}
