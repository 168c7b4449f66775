//! Loaning, publishing, holding and releasing blocks (the algorithm and its
//! proof are in the [module docs](super)).

use super::error::{HoldError, LoanError, PublishError};
use super::region::PoolRegion;
use super::{BlockDescriptor, ctl, hdr, state};
use crate::layout::MAX_PARTICIPANTS;
use crate::region::OwnerToken;
use crate::region::Words;
use crate::sync::{AtomicU64, Ordering};

/// A block claimed for writing (loan steps 1-4 done): its index and the
/// generation now in `STATE` with `LOANED`. What [`Loan`](super::Loan) is made of, for
/// callers that keep the pool themselves and want no copy of it per message
/// ([`PoolRegion::claim`], [`PoolRegion::publish_claim`],
/// [`PoolRegion::give_back`]). Only [`PoolRegion::claim`] makes one; every
/// step on it is checked against the generation, so a claim used twice, or
/// on another pool, changes nothing that is not its own.
///
/// ```
/// # use horus_nostd::pool::PoolRegion;
/// # use horus_nostd::{OwnerToken, region::RegionBuffer};
/// static MEM: RegionBuffer<512> = RegionBuffer::new();
/// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
/// let me = OwnerToken::new(1).unwrap();
/// let c = pool.claim(me).unwrap();
/// pool.claimed_words(&c)[0].store(7, horus_nostd::sync::Ordering::Relaxed);
/// let d = pool.publish_claim(&c, me, 8).unwrap();
/// assert_eq!((d.block, d.generation), (c.block(), c.generation()));
/// assert!(pool.publish_claim(&c, me, 8).is_err()); // published already
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The block index, kept as a whole word: a claim travels through
    /// memory (returned, moved into a loan), and a `u32` field is written as
    /// 4 bytes and then copied with its padding as 8, a load that the
    /// store buffer cannot forward (a stall on every send).
    block: u64,
    generation: u64,
}

impl Claim {
    /// The block's index in its segment.
    pub fn block(&self) -> u32 {
        self.block as u32
    }
    /// The generation the published descriptor will carry.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// A hold taken by [`PoolRegion::hold_in_place`]: participant `p`'s bit is
/// set on the block, which nobody rewrites until
/// [`PoolRegion::release_hold`] is given this (on the same pool). What
/// [`BlockView`](super::BlockView) is made of, for callers that keep the pool themselves.
/// Forgetting it keeps the block held until a reclaim of `p`.
///
/// ```
/// # use horus_nostd::pool::PoolRegion;
/// # use horus_nostd::{OwnerToken, region::RegionBuffer};
/// static MEM: RegionBuffer<512> = RegionBuffer::new();
/// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
/// let me = OwnerToken::new(1).unwrap();
/// let d = pool.loan(me).unwrap().publish(3).unwrap();
/// let h = pool.hold_in_place(2, &d).unwrap();
/// assert_eq!(pool.held_words(&h).len(), 8);
/// assert!(pool.loan(me).is_err()); // held
/// pool.release_hold(h);
/// assert!(pool.loan(me).is_ok());
/// ```
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a hold keeps its block until it is released"]
pub struct Hold {
    block: u32,
    participant: u32,
}

impl Hold {
    /// The block's index in its segment.
    pub fn block(&self) -> u32 {
        self.block
    }
}

impl<W: Words> PoolRegion<W> {
    /// Loan steps 1-4 for `me` (as [`loan`](Self::loan), which wraps it):
    /// the claimed block, to be written through
    /// [`claimed_words`](Self::claimed_words), then published with
    /// [`publish_claim`](Self::publish_claim) or given back with
    /// [`give_back`](Self::give_back) by the same `me`.
    #[inline]
    pub fn claim(&self, me: OwnerToken) -> Result<Claim, LoanError> {
        let blocks = self.layout.blocks;
        let mut b = self.next_hint();
        for _ in 0..blocks {
            if let Some(generation) = self.try_claim(b as usize, me) {
                self.words[hdr::NEXT].store(u64::from(b) + 1, Ordering::Relaxed);
                return Ok(Claim {
                    block: u64::from(b),
                    generation,
                });
            }
            // The next block, round the pool (no division: this is every
            // send's path).
            b = if b + 1 == blocks { 0 } else { b + 1 };
        }
        self.count_failed_loan();
        Err(LoanError::Exhausted { blocks })
    }

    /// The block the next [`claim`](Self::claim) tries first (from the
    /// `NEXT` hint, which may change meanwhile): its control words and its
    /// first data words, for a caller that wants to bring them into its
    /// cache ahead of time. Nothing is read or written here.
    #[inline]
    pub fn next_candidate(&self) -> (&AtomicU64, &[AtomicU64]) {
        let b = self.next_hint() as usize;
        (self.ctl(b, ctl::STATE), self.data(b))
    }

    /// The block a loan tries first: the `NEXT` hint (the block after the
    /// last one claimed), or block 0 if the hint is past the last block
    /// (after the last block; or any value another process wrote there).
    #[inline]
    fn next_hint(&self) -> u32 {
        // A hint only (any value is safe): Relaxed.
        let next = self.words[hdr::NEXT].load(Ordering::Relaxed);
        if next < u64::from(self.layout.blocks) {
            next as u32
        } else {
            0
        }
    }

    /// The first data word of block `block`, if the geometry has that
    /// block: for a caller that wants to prefetch a block it is about to
    /// hold. Reading it before the hold succeeds reads nothing valid.
    #[inline]
    pub fn first_word(&self, block: u32) -> Option<&AtomicU64> {
        (block < self.layout.blocks).then(|| &self.words[self.layout.data(block as usize)])
    }

    /// The data words of a claimed block, for writing in place; none (an
    /// empty slice) if the claim is no longer a loan of this pool: already
    /// published, given back or reclaimed (its block's `STATE` is not
    /// `LOANED` at its generation). A [`Claim`] is `Copy`, and a copy
    /// kept past its publish would otherwise write into a block that
    /// receivers hold, which nobody writes while it is held. The check is
    /// made when called: words taken before the publish are still the
    /// block's; take them again after anything that may end the claim.
    /// ([`PoolRegion::publish_claim`] then refuses the claim:
    /// [`PublishError::Reclaimed`].)
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
    /// let me = OwnerToken::new(1).unwrap();
    /// let c = pool.claim(me).unwrap();
    /// assert_eq!(pool.claimed_words(&c).len(), 8);
    /// pool.publish_claim(&c, me, 8).unwrap();
    /// assert!(pool.claimed_words(&c).is_empty(), "published: no longer ours");
    /// ```
    #[inline]
    pub fn claimed_words(&self, claim: &Claim) -> &[AtomicU64] {
        let b = self.block_index(claim.block());
        let loaned = state::encode(claim.generation, state::LOANED);
        // Relaxed: our own last store of STATE while the claim is ours (see
        // `publish_claim`); anything else means it is not.
        if self.ctl(b, ctl::STATE).load(Ordering::Relaxed) == loaned {
            self.data(b)
        } else {
            &[]
        }
    }

    /// `block` as an index, clamped into the validated geometry (a claim
    /// or hold from another pool then names some block of this one, never
    /// memory outside it).
    #[inline]
    fn block_index(&self, block: u32) -> usize {
        block.min(self.layout.blocks - 1) as usize
    }

    /// Publishes the first `len` bytes of `claim` (see [`Loan::publish`](super::Loan::publish)):
    /// the descriptor to send. On [`PublishError::TooLong`] the block is
    /// still claimed (give it back); on [`PublishError::Reclaimed`] it is
    /// no longer `me`'s.
    #[inline]
    pub fn publish_claim(
        &self,
        claim: &Claim,
        me: OwnerToken,
        len: usize,
    ) -> Result<BlockDescriptor, PublishError> {
        let block_size = self.layout.block_size;
        if len > block_size as usize {
            return Err(PublishError::TooLong { len, block_size });
        }
        let b = self.block_index(claim.block());
        let line = self.control_line(b);
        let (st, owner) = (&line[ctl::STATE], &line[ctl::OWNER]);
        let loaned = state::encode(claim.generation, state::LOANED);
        // Still our loan? Relaxed: our own last writes, unless a reclaimer
        // took the block (it takes OWNER first), or the claim was published
        // already or is another pool's.
        if owner.load(Ordering::Relaxed) != me.get() || st.load(Ordering::Relaxed) != loaned {
            return Err(PublishError::Reclaimed);
        }
        line[ctl::LEN].store(len as u64, Ordering::Relaxed);
        let published = state::encode(claim.generation, state::PUBLISHED);
        // SYNC(block-publish): Release: the data and LEN stores are visible to
        // a hold whose R2 reads this value (Acquire). A store, as every write
        // of STATE by the holder of OWNER (SYNC(state-owner)).
        st.store(published, Ordering::Release);
        // SYNC(block-owner): Release pairs with the next loaner's Acquire claim.
        owner.store(0, Ordering::Release);
        Ok(BlockDescriptor {
            generation: claim.generation,
            segment: self.segment,
            block: b as u32,
            len: len as u32,
            reserved: 0,
        })
    }

    /// Gives an unpublished claim back (`FREE`, same generation: no
    /// descriptor carries it). Does nothing if it was published or taken
    /// by a reclaimer.
    pub fn give_back(&self, claim: &Claim, me: OwnerToken) {
        let b = self.block_index(claim.block());
        let loaned = state::encode(claim.generation, state::LOANED);
        let free = state::encode(claim.generation, state::FREE);
        // SYNC(state-owner): a CAS (a rare path: it also checks that the
        // block is still this claim's); fails only if a reclaimer took the
        // block, or it was published.
        let ok = self
            .ctl(b, ctl::STATE)
            .compare_exchange(loaned, free, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if ok {
            // SYNC(block-owner): Release pairs with the next loaner's Acquire claim.
            let _ = self.ctl(b, ctl::OWNER).compare_exchange(
                me.get(),
                0,
                Ordering::Release,
                Ordering::Relaxed,
            );
        }
    }

    /// Steps 1-4 of a loan on block `b`; the new generation if it is ours.
    fn try_claim(&self, b: usize, me: OwnerToken) -> Option<u64> {
        let line = self.control_line(b);
        let (st, owner, holders) = (&line[ctl::STATE], &line[ctl::OWNER], &line[ctl::HOLDERS]);
        // 1. Cheap pre-checks (Relaxed: step 2-4 decide).
        let s = st.load(Ordering::Relaxed);
        let recyclable = match state::state(s) {
            state::FREE => true,
            state::PUBLISHED => holders.load(Ordering::Relaxed) == 0,
            _ => false,
        };
        if !recyclable || owner.load(Ordering::Relaxed) != 0 {
            return None;
        }
        // 2. SYNC(block-owner): Acquire pairs with the Release that freed
        // OWNER (publish, give-back, reclaim). Failure: Relaxed, not ours.
        owner
            .compare_exchange(0, me.get(), Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        // 3. OWNER is ours, so nobody else writes STATE (SYNC(state-owner)):
        // what we read is what the last holder of OWNER left, and a plain
        // store replaces it. It is ordered before step 4's Release
        // (SYNC(hold-order)).
        let s = st.load(Ordering::Relaxed);
        if !matches!(state::state(s), state::FREE | state::PUBLISHED) {
            // Only corrupt memory gets here: step 1 saw a usable STATE, and
            // only OWNER's holder changes it.
            // SYNC(block-owner): Release, as every freeing of OWNER.
            owner.store(0, Ordering::Release);
            return None;
        }
        let generation = state::generation(s).wrapping_add(1) & state::GEN_MASK;
        let loaned = state::encode(generation, state::LOANED);
        st.store(loaned, Ordering::Relaxed);
        // 4. An RMW reads the newest HOLDERS. SYNC(holders-release): Acquire
        // pairs with the Release of a holder's release (its reads are done).
        // SYNC(hold-order): Release, so a hold whose R1 reads this RMW (or a
        // later one) sees step 3's STATE in its R2.
        if holders.fetch_or(0, Ordering::AcqRel) != 0 {
            // A holder (or a racing hold) owns it: give it back as FREE at
            // the new generation and try elsewhere. Never wait.
            // SYNC(state-owner): a store, as in step 3.
            st.store(state::encode(generation, state::FREE), Ordering::Relaxed);
            // SYNC(block-owner): Release, as every freeing of OWNER.
            owner.store(0, Ordering::Release);
            return None;
        }
        Some(generation)
    }

    /// Holds the block `desc` names for `participant`, as
    /// [`hold`](Self::hold) (which wraps it), without a view: read it
    /// through [`held_words`](Self::held_words), then give the [`Hold`] to
    /// [`release_hold`](Self::release_hold).
    #[inline]
    pub fn hold_in_place(
        &self,
        participant: u32,
        desc: &BlockDescriptor,
    ) -> Result<Hold, HoldError> {
        self.check_descriptor(participant, desc)?;
        let b = desc.block as usize;
        let bit = 1u64 << participant;
        let line = self.control_line(b);
        let holders = &line[ctl::HOLDERS];
        // R1. An RMW: a loan's step 4 later in HOLDERS' order sees this bit.
        // SYNC(hold-order): Acquire pairs with the Release of a loan's step 4
        // earlier in that order, so R2 sees that loan's STATE (or a later one).
        let before = holders.fetch_or(bit, Ordering::AcqRel);
        let want = state::encode(desc.generation, state::PUBLISHED);
        if before & bit != 0 {
            // Our bit was set already: our other view keeps the block (and
            // the bit); this descriptor is that message again, or stale.
            // Relaxed: nothing is read through it.
            let now = line[ctl::STATE].load(Ordering::Relaxed);
            return Err(if now == want {
                HoldError::AlreadyHeld
            } else {
                HoldError::Stale
            });
        }
        // R2. A load: R1 ordered it after every loan that could still write
        // the block (module docs, "Why a held block is never written").
        // SYNC(block-publish): Acquire pairs with the Release of `publish`
        // (the data and LEN are visible).
        let held = line[ctl::STATE].load(Ordering::Acquire) == want;
        if held && line[ctl::LEN].load(Ordering::Relaxed) == u64::from(desc.len) {
            return Ok(Hold {
                block: desc.block,
                participant,
            });
        }
        // SYNC(holders-release): nothing was read from the block.
        holders.fetch_and(!bit, Ordering::Release);
        Err(HoldError::Stale)
    }

    /// The checks that need no shared state.
    fn check_descriptor(&self, participant: u32, desc: &BlockDescriptor) -> Result<(), HoldError> {
        if participant as usize >= MAX_PARTICIPANTS {
            return Err(HoldError::BadParticipant { participant });
        }
        if desc.segment != self.segment {
            return Err(HoldError::WrongSegment {
                expected: self.segment,
                found: desc.segment,
            });
        }
        if desc.block >= self.layout.blocks {
            return Err(HoldError::BlockOutOfRange {
                block: desc.block,
                blocks: self.layout.blocks,
            });
        }
        if desc.len > self.layout.block_size {
            return Err(HoldError::BadLength {
                len: desc.len,
                block_size: self.layout.block_size,
            });
        }
        if desc.generation > state::GEN_MASK {
            return Err(HoldError::Stale); // no block ever has it
        }
        Ok(())
    }
}

impl<W: Words> PoolRegion<W> {
    /// The data words of a held block (the whole block). Nobody writes them
    /// until the hold is released.
    #[inline]
    pub fn held_words(&self, hold: &Hold) -> &[AtomicU64] {
        self.data(self.block_index(hold.block))
    }

    /// Releases a hold taken on this pool.
    #[inline]
    pub fn release_hold(&self, hold: Hold) {
        self.release_bit(hold.block, hold.participant);
    }

    /// Clears `participant`'s bit on `block`.
    #[inline]
    pub(super) fn release_bit(&self, block: u32, participant: u32) {
        let bit = 1u64 << (participant % MAX_PARTICIPANTS as u32);
        // SYNC(holders-release): Release: our reads of the block happen-before
        // the next loan's step 4 (Acquire RMW) and so before any rewrite.
        self.ctl(self.block_index(block), ctl::HOLDERS)
            .fetch_and(!bit, Ordering::Release);
    }
}
