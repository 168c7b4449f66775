//! The owning forms of the block steps: a [`Loan`] and a [`BlockView`] keep
//! a clone of their pool (so they own their memory by their type) and run
//! the steps of [`block`](super::block) on it: [`PoolRegion::loan`] is
//! `claim`, `Loan::publish` is `publish_claim` (dropping it, `give_back`),
//! [`PoolRegion::hold`] is `hold_in_place` and dropping the view releases
//! it. Their bytes are read and written through atomic words.

use super::BlockDescriptor;
use super::block::{Claim, Hold};
use super::error::{HoldError, LoanError, PublishError};
use super::region::PoolRegion;
use crate::region::OwnerToken;
use crate::region::{StaticWords, Words};
use crate::sync::{AtomicU64, Ordering};

/// A block loaned for writing. Publish it with [`Loan::publish`]; dropping it
/// unpublished gives the block back. Nobody reads it meanwhile: its
/// generation is one no descriptor carries.
///
/// ```
/// # use horus_nostd::pool::PoolRegion;
/// # use horus_nostd::{OwnerToken, region::RegionBuffer};
/// static MEM: RegionBuffer<512> = RegionBuffer::new();
/// let pool = PoolRegion::init(MEM.words(), 64, 2, 0, 0).unwrap();
/// let mut loan = pool.loan(OwnerToken::new(1).unwrap()).unwrap();
/// loan.write(0, b"hello").unwrap();
/// let d = loan.publish(5).unwrap();
/// let mut out = [0u8; 5];
/// pool.hold(0, d).unwrap().read(0, &mut out).unwrap();
/// assert_eq!(&out, b"hello");
/// ```
#[derive(Debug)]
pub struct Loan<W: Words = StaticWords> {
    pool: PoolRegion<W>,
    claim: Claim,
    owner: OwnerToken,
    /// Published, or taken by a reclaimer: dropping gives nothing back.
    settled: bool,
}

/// A read-only view of a held block. Until it is released (dropped), no
/// publisher writes the block. Reads go through atomic loads.
///
/// ```
/// # use horus_nostd::pool::PoolRegion;
/// # use horus_nostd::{OwnerToken, region::RegionBuffer};
/// static MEM: RegionBuffer<512> = RegionBuffer::new();
/// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
/// let me = OwnerToken::new(1).unwrap();
/// let d = pool.loan(me).unwrap().publish(0).unwrap();
/// let view = pool.hold(3, d).unwrap();
/// assert!(pool.loan(me).is_err()); // the only block is held
/// view.release();
/// assert!(pool.loan(me).is_ok()); // recycled once released
/// ```
#[derive(Debug)]
pub struct BlockView<W: Words = StaticWords> {
    pool: PoolRegion<W>,
    desc: BlockDescriptor,
    participant: u32,
}

impl<W: Words> PoolRegion<W> {
    /// Loans a block to `me` for writing: a free one, or the published one
    /// nobody holds that was published longest ago (its message is then gone
    /// for late readers, who get [`HoldError::Stale`]). Never blocks.
    ///
    /// ```
    /// # use horus_nostd::pool::{PoolRegion, LoanError};
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
    /// let me = OwnerToken::new(1).unwrap();
    /// let first = pool.loan(me).unwrap();
    /// assert_eq!(pool.loan(me).unwrap_err(), LoanError::Exhausted { blocks: 1 });
    /// drop(first);
    /// assert!(pool.loan(me).is_ok());
    /// ```
    pub fn loan(&self, me: OwnerToken) -> Result<Loan<W>, LoanError> {
        let claim = self.claim(me)?;
        Ok(Loan {
            pool: self.clone(),
            claim,
            owner: me,
            settled: false,
        })
    }

    /// Holds the block `desc` names for topic participant `participant`
    /// (`0..64`): checks the descriptor against the validated geometry,
    /// then against the block's generation. A stale descriptor is
    /// [`HoldError::Stale`]: count it as a dropped message.
    ///
    /// ```
    /// # use horus_nostd::pool::{PoolRegion, HoldError};
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 9, 0).unwrap();
    /// let me = OwnerToken::new(1).unwrap();
    /// let old = pool.loan(me).unwrap().publish(1).unwrap();
    /// let new = pool.loan(me).unwrap().publish(1).unwrap(); // recycles the block
    /// assert_eq!(pool.hold(0, old).unwrap_err(), HoldError::Stale);
    /// assert!(pool.hold(0, new).is_ok());
    /// let forged = horus_nostd::pool::BlockDescriptor { block: 7, ..new };
    /// assert!(matches!(pool.hold(1, forged), Err(HoldError::BlockOutOfRange { .. })));
    /// ```
    pub fn hold(&self, participant: u32, desc: BlockDescriptor) -> Result<BlockView<W>, HoldError> {
        // The view releases it, from its descriptor and participant.
        let Hold { .. } = self.hold_in_place(participant, &desc)?;
        Ok(BlockView {
            pool: self.clone(),
            desc,
            participant,
        })
    }
}

impl<W: Words> Loan<W> {
    /// Bytes the block holds.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 128, 2, 0, 0).unwrap();
    /// assert_eq!(pool.loan(OwnerToken::new(1).unwrap()).unwrap().capacity(), 128);
    /// ```
    pub fn capacity(&self) -> usize {
        self.pool.layout.block_size as usize
    }

    /// The block's index in its segment.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 2, 0, 0).unwrap();
    /// assert!(pool.loan(OwnerToken::new(1).unwrap()).unwrap().block() < 2);
    /// ```
    pub fn block(&self) -> u32 {
        self.claim.block()
    }

    /// The generation the published descriptor will carry.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 2, 0, 0).unwrap();
    /// let loan = pool.loan(OwnerToken::new(1).unwrap()).unwrap();
    /// let generation = loan.generation();
    /// assert_eq!(loan.publish(0).unwrap().generation, generation);
    /// ```
    pub fn generation(&self) -> u64 {
        self.claim.generation()
    }

    /// The block's data words, for writing in place (zero-copy producers);
    /// none if a reclaimer took the block (see [`PoolRegion::claimed_words`]).
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer, sync::Ordering};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 2, 0, 0).unwrap();
    /// let loan = pool.loan(OwnerToken::new(1).unwrap()).unwrap();
    /// loan.words()[7].store(42, Ordering::Relaxed);
    /// assert_eq!(loan.words().len(), 8);
    /// ```
    pub fn words(&self) -> &[AtomicU64] {
        self.pool.claimed_words(&self.claim)
    }

    /// Writes `bytes` at byte `offset` of the block; [`PublishError::Reclaimed`],
    /// writing nothing, if a reclaimer took it.
    ///
    /// ```
    /// # use horus_nostd::pool::{PoolRegion, PublishError};
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 2, 0, 0).unwrap();
    /// let mut loan = pool.loan(OwnerToken::new(1).unwrap()).unwrap();
    /// assert!(loan.write(60, b"abcd").is_ok());
    /// assert_eq!(loan.write(61, b"abcd"), Err(PublishError::TooLong { len: 65, block_size: 64 }));
    /// ```
    pub fn write(&mut self, offset: usize, bytes: &[u8]) -> Result<(), PublishError> {
        let end = offset.saturating_add(bytes.len());
        if end > self.capacity() {
            return Err(PublishError::TooLong {
                len: end,
                block_size: self.pool.layout.block_size,
            });
        }
        let words = self.words();
        if words.is_empty() {
            // Taken by a reclaimer (this owner was judged dead): not ours to write.
            return Err(PublishError::Reclaimed);
        }
        store_bytes(words, offset, bytes);
        Ok(())
    }

    /// Publishes the first `len` bytes: from now on the returned descriptor
    /// can be held. On error the block goes back to the pool.
    ///
    /// ```
    /// # use horus_nostd::pool::{PoolRegion, PublishError};
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
    /// let me = OwnerToken::new(1).unwrap();
    /// assert!(matches!(pool.loan(me).unwrap().publish(65), Err(PublishError::TooLong { .. })));
    /// let d = pool.loan(me).unwrap().publish(64).unwrap();
    /// assert_eq!((d.block, d.len), (0, 64));
    /// ```
    pub fn publish(mut self, len: usize) -> Result<BlockDescriptor, PublishError> {
        let r = self.pool.publish_claim(&self.claim, self.owner, len);
        // Published, or taken by a reclaimer: not given back. (Too long:
        // still ours, and Drop gives it back.)
        self.settled = !matches!(r, Err(PublishError::TooLong { .. }));
        r
    }
}

impl<W: Words> Drop for Loan<W> {
    /// Gives an unpublished block back (`FREE`, same generation: no
    /// descriptor carries it).
    fn drop(&mut self) {
        if !self.settled {
            self.pool.give_back(&self.claim, self.owner);
        }
    }
}

impl<W: Words> BlockView<W> {
    /// The descriptor this view was held with.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
    /// let d = pool.loan(OwnerToken::new(1).unwrap()).unwrap().publish(3).unwrap();
    /// assert_eq!(pool.hold(0, d).unwrap().descriptor(), d);
    /// ```
    pub fn descriptor(&self) -> BlockDescriptor {
        self.desc
    }

    /// Bytes of the message.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
    /// let d = pool.loan(OwnerToken::new(1).unwrap()).unwrap().publish(3).unwrap();
    /// assert_eq!(pool.hold(0, d).unwrap().len(), 3);
    /// ```
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.desc.len as usize
    }

    /// The block's data words (the whole block; the message is the first
    /// [`len`](Self::len) bytes). Nobody writes them while the view lives.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
    /// let d = pool.loan(OwnerToken::new(1).unwrap()).unwrap().publish(8).unwrap();
    /// assert_eq!(pool.hold(0, d).unwrap().words().len(), 8);
    /// ```
    pub fn words(&self) -> &[AtomicU64] {
        self.pool.data(self.desc.block as usize)
    }

    /// Copies message bytes from byte `offset` into `out`; `Err(())` if that
    /// range is not within the message.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
    /// let mut loan = pool.loan(OwnerToken::new(1).unwrap()).unwrap();
    /// loan.write(0, b"abcdef").unwrap();
    /// let view = pool.hold(0, loan.publish(6).unwrap()).unwrap();
    /// let mut out = [0u8; 3];
    /// view.read(3, &mut out).unwrap();
    /// assert_eq!(&out, b"def");
    /// assert!(view.read(4, &mut out).is_err());
    /// ```
    #[allow(clippy::result_unit_err)]
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), ()> {
        if offset.saturating_add(out.len()) > self.len() {
            return Err(());
        }
        load_bytes(self.words(), offset, out);
        Ok(())
    }

    /// Releases the view (the same as dropping it).
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
    /// let d = pool.loan(OwnerToken::new(1).unwrap()).unwrap().publish(3).unwrap();
    /// pool.hold(0, d).unwrap().release();
    /// assert_eq!(pool.usage().held, 0);
    /// ```
    pub fn release(self) {
        drop(self);
    }
}

impl<W: Words> Drop for BlockView<W> {
    fn drop(&mut self) {
        self.pool.release_bit(self.desc.block, self.participant);
    }
}

/// Stores `src` at byte `offset` of `words` (in bounds, checked by the
/// caller), native byte order; partial words keep their other bytes (only
/// the loaner writes a loaned block, so the load-merge-store is not a race).
fn store_bytes(words: &[AtomicU64], offset: usize, src: &[u8]) {
    let mut at = offset;
    let mut rest = src;
    while !rest.is_empty() {
        let (w, skip) = (at / 8, at % 8);
        let n = rest.len().min(8 - skip);
        let word = &words[w];
        let mut b = if n == 8 {
            [0; 8]
        } else {
            word.load(Ordering::Relaxed).to_ne_bytes()
        };
        b[skip..skip + n].copy_from_slice(&rest[..n]);
        word.store(u64::from_ne_bytes(b), Ordering::Relaxed);
        rest = &rest[n..];
        at += n;
    }
}

/// Loads bytes from byte `offset` of `words` into `dst` (in bounds).
fn load_bytes(words: &[AtomicU64], offset: usize, dst: &mut [u8]) {
    let mut at = offset;
    let mut done = 0;
    while done < dst.len() {
        let (w, skip) = (at / 8, at % 8);
        let n = (dst.len() - done).min(8 - skip);
        let b = words[w].load(Ordering::Relaxed).to_ne_bytes();
        dst[done..done + n].copy_from_slice(&b[skip..skip + n]);
        done += n;
        at += n;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn byte_copies_round_trip_at_every_offset() {
        let words: [AtomicU64; 4] = Default::default();
        let src: [u8; 32] = core::array::from_fn(|i| i as u8 ^ 0x5a);
        for offset in 0..32 {
            for len in 0..=32 - offset {
                for w in &words {
                    w.store(u64::MAX, Ordering::Relaxed);
                }
                store_bytes(&words, offset, &src[..len]);
                let mut all = [0u8; 32];
                load_bytes(&words, 0, &mut all);
                assert!(all[..offset].iter().all(|&b| b == 0xff));
                assert_eq!(&all[offset..offset + len], &src[..len]);
                assert!(all[offset + len..].iter().all(|&b| b == 0xff));
            }
        }
    }

    #[test]
    fn a_claim_kept_past_its_publish_cannot_write_the_held_block() {
        let words: [AtomicU64; 128] = core::array::from_fn(|_| AtomicU64::new(0));
        let pool = PoolRegion::init(&words[..], 64, 1, 0, 0).unwrap();
        let me = OwnerToken::new(1).unwrap();
        let claim = pool.claim(me).unwrap();
        let copy = claim; // `Claim` is `Copy`
        pool.claimed_words(&claim)[0].store(7, Ordering::Relaxed);
        let desc = pool.publish_claim(&claim, me, 8).unwrap();
        let view = pool.hold(0, desc).unwrap();
        // The copy gave the held block's words (a store through them
        // changed what the receiver reads); now it gives none.
        assert!(pool.claimed_words(&copy).is_empty());
        assert_eq!(
            pool.publish_claim(&copy, me, 8),
            Err(PublishError::Reclaimed)
        );
        let mut out = [0u8; 8];
        view.read(0, &mut out).unwrap();
        assert_eq!(u64::from_le_bytes(out), 7);
        // Given back: no words either.
        drop(view);
        let again = pool.claim(me).unwrap();
        pool.give_back(&again, me);
        assert!(pool.claimed_words(&again).is_empty());
    }

    #[test]
    fn a_loan_taken_by_a_reclaimer_refuses_to_write() {
        let words: [AtomicU64; 128] = core::array::from_fn(|_| AtomicU64::new(0));
        let pool = PoolRegion::init(&words[..], 64, 1, 0, 0).unwrap();
        let (dead, reclaimer) = (OwnerToken::new(1).unwrap(), OwnerToken::new(2).unwrap());
        let mut loan = pool.loan(dead).unwrap();
        assert_eq!(loan.write(0, b"abc"), Ok(()));
        assert_eq!(pool.reclaim_dead(reclaimer, |_| false, 0).loans_freed, 1);
        // The block is free: another loan may be writing it now.
        assert!(loan.words().is_empty());
        assert_eq!(loan.write(0, b"xyz"), Err(PublishError::Reclaimed));
        assert_eq!(loan.publish(3), Err(PublishError::Reclaimed));
    }
}
