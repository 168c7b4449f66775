//! The image hop with the core alone (`HORUS_BENCH_ONLY=pooled-hop:core`):
//! the same loan, stamp, publish, descriptor send, receive, hold, read and
//! release as the image hop loop, made directly with `horus-nostd` over heap
//! memory (a `PoolRegion` per side and a `TopicHandle<ImageFrame>` per
//! direction), with none of `horus`'s layer (no segments, shares, views or
//! `Pooled`). Its time per hop is the floor of our own code for an image
//! hop, as the raw seqlock row is the floor of the hardware for 64 bytes:
//! the image hop loop minus this is what the std layer costs.

use std::hint::spin_loop;

use horus::image::ImageFrame;
use horus_nostd::pool::BlockDescriptor;
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{OwnerToken, PoolLayout, PoolRegion, TopicHandle, TopicLayout, TopicRegion};

use crate::Res;

/// Bytes of a 640x480 rgb8 image, as the image hop loop's blocks.
const IMAGE_BYTES: u32 = 640 * 480 * 3;
/// Blocks per side's pool (as many as a segment of `horus`'s pool has by
/// default, `DEFAULT_BLOCKS_PER_SEGMENT`).
const BLOCKS: u32 = 8;
/// Ring capacity and participants of each direction's topic.
const CAPACITY: u32 = 4;
const PARTICIPANTS: u32 = 2;

/// Zeroed heap words.
fn words(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

/// One side: its pool (blocks it publishes), its sending handle and its
/// receiving handle of the other direction.
struct CoreSide<'m> {
    me: OwnerToken,
    pool: PoolRegion<&'m [AtomicU64]>,
    out: TopicHandle<ImageFrame, &'m [AtomicU64]>,
    inp: TopicHandle<ImageFrame, &'m [AtomicU64]>,
    /// The receiving handle's participant index (its bit in `HOLDERS`).
    participant: u32,
}

/// A topic of [`ImageFrame`] over `w`.
fn topic(w: &[AtomicU64]) -> Res<TopicRegion<&[AtomicU64]>> {
    Ok(TopicRegion::init::<ImageFrame>(
        w,
        CAPACITY,
        PARTICIPANTS,
        0,
    )?)
}

impl<'m> CoreSide<'m> {
    /// The side `me`: publishes from `pool` on `out`, receives on `inp`
    /// (the topics in that order).
    fn new(
        me: OwnerToken,
        pool: PoolRegion<&'m [AtomicU64]>,
        (out, inp): (TopicRegion<&'m [AtomicU64]>, TopicRegion<&'m [AtomicU64]>),
    ) -> Res<Self> {
        let inp: TopicHandle<ImageFrame, _> = TopicHandle::join(inp, me, me.get(), 0)?;
        Ok(Self {
            me,
            pool,
            out: TopicHandle::join(out, me, me.get(), 0)?,
            participant: inp.raw().index(),
            inp,
        })
    }

    /// Loans a block of its pool, writes `seq` into it, publishes it and
    /// sends its descriptor.
    #[inline]
    fn send(&mut self, seq: u64) -> Res<()> {
        let claim = self.pool.claim(self.me)?;
        self.pool.claimed_words(&claim)[0].store(seq, Ordering::Relaxed);
        let d = self
            .pool
            .publish_claim(&claim, self.me, IMAGE_BYTES as usize)?;
        let frame = ImageFrame {
            owner: self.me.get(),
            generation: d.generation,
            segment: d.segment,
            block: d.block,
            len: d.len,
            width: 640,
            height: 480,
            step: 640 * 3,
            encoding: 3,
            ..ImageFrame::default()
        };
        self.out
            .send(frame)
            .map_err(|_| "core hop: the ring refused a descriptor".into())
    }

    /// Spins until a descriptor arrives, holds its block in `pool` (the
    /// other side's), reads the stamp, releases the block.
    #[inline]
    fn recv(&mut self, pool: &PoolRegion<&[AtomicU64]>) -> Res<u64> {
        let frame = loop {
            if let Some(f) = self.inp.recv() {
                break f;
            }
            spin_loop();
        };
        let d = BlockDescriptor {
            generation: frame.generation,
            segment: frame.segment,
            block: frame.block,
            len: frame.len,
            reserved: 0,
        };
        let hold = pool.hold_in_place(self.participant, &d)?;
        let seq = pool.held_words(&hold)[0].load(Ordering::Relaxed);
        pool.release_hold(hold);
        Ok(seq)
    }
}

/// Sets up the two sides and hands `timed` one round trip of the
/// core-only image hop (round `i` sends stamp `i` each way; out of step is
/// an error), as the other hop kinds hand theirs to the hop loop's timer.
pub fn with_core_round<R>(
    timed: impl FnOnce(Box<dyn FnMut(u64) -> Res<()> + '_>) -> Res<R>,
) -> Res<R> {
    let block = IMAGE_BYTES.next_multiple_of(64);
    let pool_layout = PoolLayout::new(block, BLOCKS)?;
    let topic_words = TopicLayout::of::<ImageFrame>(CAPACITY, PARTICIPANTS)?
        .region_bytes()
        .div_ceil(8);
    let (pool_a, pool_b) = (
        words(pool_layout.region_words()),
        words(pool_layout.region_words()),
    );
    let (ping_mem, pong_mem) = (words(topic_words), words(topic_words));
    let (ping, pong) = (topic(&ping_mem)?, topic(&pong_mem)?);
    let (ta, tb) = (OwnerToken::new(1).unwrap(), OwnerToken::new(2).unwrap());
    let mut a = CoreSide::new(
        ta,
        PoolRegion::init(&pool_a[..], block, BLOCKS, 0, 0)?,
        (ping, pong),
    )?;
    let mut b = CoreSide::new(
        tb,
        PoolRegion::init(&pool_b[..], block, BLOCKS, 0, 0)?,
        (pong, ping),
    )?;
    timed(Box::new(move |i: u64| -> Res<()> {
        a.send(i)?;
        let got = b.recv(&a.pool)?;
        b.send(i)?;
        let back = a.recv(&b.pool)?;
        if (got, back) != (i, i) {
            return Err(format!("core hop out of step: {got}, {back} instead of {i}").into());
        }
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_hop_delivers_every_stamp() {
        // An out-of-step stamp, a refused send or a failed hold is an error.
        let mut done = 0;
        with_core_round(|mut round| {
            for i in 1..=1_000 {
                round(i)?;
                done += 1;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(done, 1_000);
    }
}
