//! The physical limit of a zero-copy message that a reader holds: what a
//! large-message hop needs from the hardware, timed like every other row.
//!
//! One way of the ping-pong is a [`HeldWay`]: a one-word descriptor slot and
//! [`BLOCKS`] blocks, each a control line (`state`, `holders`) and a data
//! line. Message `i` goes in block `i % BLOCKS`, as a pool recycles the block
//! published longest ago:
//!
//! - the writer checks that nobody holds the block (an RMW on `holders`,
//!   which a pool's loan needs so that a late hold sees the block's new
//!   state), marks it loaned, writes the 8-byte stamp into its data line,
//!   publishes it (`state`, Release), stores `i` in the slot (Release) and
//!   prefetches the next block's lines for writing (as HORUS's publisher);
//! - the reader waits for `i` in the slot, prefetches the data line, holds
//!   the block (`holders` RMW, then `state` checked: the hold's validation),
//!   reads the stamp and releases the hold (`holders` RMW).
//!
//! Nothing else: no ring, lanes, cursors, handles, segments or layouts. The
//! reader's hold is an RMW on a line the writer wrote just before the slot,
//! so it is a second cache-line transfer after the slot's, in series; the
//! data line's is started beside it. The difference between this row and
//! the one-word limit is what holding a block costs the hardware; the
//! difference between it and a HORUS image row is what our code costs.

use horus_nostd::pool::{prefetch_for_read, prefetch_for_write};
use horus_nostd::sync::{AtomicU64, Ordering};

use crate::stats::STOP;

/// Blocks of one way (a pool segment's few blocks).
pub const BLOCKS: usize = 4;

/// One word alone on its cache line.
#[repr(C, align(64))]
#[derive(Default)]
struct Line(AtomicU64);

/// A block's control line: its state and the readers holding it.
#[repr(C, align(64))]
#[derive(Default)]
struct Control {
    /// `2 i` once message `i` is published in the block, odd while loaned.
    state: AtomicU64,
    /// Bit 0 while the reader holds the block.
    holders: AtomicU64,
}

/// One direction: the writer's slot and blocks.
#[repr(C)]
#[derive(Default)]
pub struct HeldWay {
    slot: Line,
    control: [Control; BLOCKS],
    data: [Line; BLOCKS],
}

impl HeldWay {
    /// Publishes message `i` (the only writer of this way); `i >= 1`.
    #[inline]
    pub fn publish(&self, i: u64) {
        let b = (i % BLOCKS as u64) as usize;
        let ctl = &self.control[b];
        ctl.state.store(2 * i - 1, Ordering::Relaxed);
        // SYNC(raw-held-loan): the RMW reads the newest `holders`; Acquire
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
        self.slot.0.store(i, Ordering::Release);
        // The next message's block, brought here while this one travels (as
        // HORUS's publisher does): the reader's hold and release wrote its
        // control line, its read shared its data line.
        let next = ((i + 1) % BLOCKS as u64) as usize;
        prefetch_for_write(&self.control[next].state);
        prefetch_for_write(&self.data[next].0);
    }

    /// Tells the reader to stop (its [`receive`](Self::receive) answers `None`).
    pub fn stop(&self) {
        self.slot.0.store(STOP, Ordering::Release);
    }

    /// Spins until message `i` is in the slot; holds its block, reads the
    /// stamp and releases the block. Returns the stamp (`None`: stopped).
    #[inline]
    pub fn receive(&self, i: u64) -> Option<u64> {
        loop {
            // SYNC(raw-held-slot)
            match self.slot.0.load(Ordering::Acquire) {
                v if v == i => break,
                STOP => return None,
                _ => std::hint::spin_loop(),
            }
        }
        let b = (i % BLOCKS as u64) as usize;
        prefetch_for_read(&self.data[b].0);
        let ctl = &self.control[b];
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
        let way = HeldWay::default();
        for i in 1..=3 * BLOCKS as u64 {
            way.publish(i);
            assert_eq!(way.receive(i), Some(i));
        }
        way.stop();
        assert_eq!(way.receive(3 * BLOCKS as u64 + 1), None);
    }

    #[test]
    #[should_panic(expected = "still held")]
    fn a_held_block_is_never_loaned() {
        let way = HeldWay::default();
        way.control[1].holders.store(1, Ordering::Relaxed);
        way.publish(1);
    }

    #[test]
    fn every_line_is_its_own() {
        assert_eq!(std::mem::offset_of!(HeldWay, control) % 64, 0);
        assert_eq!(std::mem::size_of::<Control>(), 64);
        assert_eq!(std::mem::size_of::<HeldWay>(), 64 * (1 + 2 * BLOCKS));
    }
}
