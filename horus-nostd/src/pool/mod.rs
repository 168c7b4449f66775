//! The block pool: large messages in shared blocks, a small descriptor in the ring.
//!
//! A **pool region** (one *segment*; `horus-std` grows a pool by adding
//! segments up to a limit) is a header, one cache line of control words per
//! block, and the blocks, each `block_size` bytes (a multiple of 64) on its
//! own cache lines. A publisher *loans* a block, writes it, *publishes* it and
//! sends the returned [`BlockDescriptor`] `{segment, block, generation, len}`
//! through a topic; a receiver (topic participant `p`, `0..64`) *holds* the
//! block the descriptor names, reads it, and *releases* it. Everything is
//! over caller memory (`&[AtomicU64]`), as for topics: a `static` pool on a
//! microcontroller, a file in `/dev/shm` on Linux.
//!
//! ```text
//! word 0    header (24 words)          geometry written once, then MAGIC (Release)
//!   16      NEXT, LOANS_FAILED         scan hint and a counter (own line)
//! 24        blocks × 8 words           control line of block b: STATE, OWNER, HOLDERS, LEN
//! ..        blocks × block_words       data of block b
//! ```
//!
//! # Control words of a block, and who writes them
//!
//! - `STATE = generation << 2 | state`, state `FREE` (0), `LOANED` (1) or
//!   `PUBLISHED` (2). Written only by whoever holds `OWNER` (the loaner, or a
//!   reclaimer that took `OWNER` from a dead loaner), so `OWNER`'s
//!   Release/Acquire orders its writers one after the other and the loan
//!   and the publish write it with plain stores; readers only load it. The
//!   generation only grows (it wraps after 2^62 loans of one block): it is
//!   what makes an old descriptor stale.
//! - `OWNER`: 0, or the [`OwnerToken`](crate::OwnerToken) of the one loaner
//!   allowed to change `STATE`, or `reclaimer | RECLAIMING`. Claimed by CAS
//!   from 0, like a topic's participant entry.
//! - `HOLDERS`: bit `p` set while participant `p` holds a view of the block
//!   (one bit per participant: the bit means "≥ 1 view"; nested views are
//!   counted by the caller). Set and cleared by participant `p` only
//!   (`fetch_or`/`fetch_and`), or cleared by a reclaimer once `p` is dead.
//! - `LEN`: bytes of the published message, written by the loaner before
//!   publishing.
//!
//! # The algorithm
//!
//! **Loan** (publisher, token `me`), scanning blocks from the `NEXT` hint,
//! so the block recycled is the one published longest ago:
//! 1. skip the block unless `OWNER == 0` and `STATE` is `FREE`, or
//!    `PUBLISHED` with `HOLDERS == 0` (cheap Relaxed pre-checks);
//! 2. `OWNER`: CAS `0 -> me` (Acquire); lost: next block;
//! 3. `STATE`: load `(g, s)`, store `(g + 1, LOANED)` — from here every
//!    descriptor of generation `g` is stale;
//! 4. `HOLDERS.fetch_or(0)` (AcqRel): an RMW, so it reads the newest
//!    value. Non-zero: a reader holds the block (or raced step 3). Put
//!    `STATE` to `(g + 1, FREE)`, free `OWNER`, try the next block. The
//!    publisher never waits.
//! 5. the data words may now be written (Relaxed atomic stores).
//!
//! If no block passes, [`LoanError::Exhausted`] is returned and the
//! `LOANS_FAILED` counter (saturating) goes up.
//!
//! [`Loan`] and [`BlockView`] are the steps below with the pool kept inside
//! (a clone of the `PoolRegion`, so they own their memory by their type). A
//! caller that keeps the pool alive itself and wants no copy of it per
//! message uses the same steps directly: [`PoolRegion::claim`] (steps 1-4,
//! a [`Claim`]), [`PoolRegion::publish_claim`] / [`PoolRegion::give_back`],
//! and [`PoolRegion::hold_in_place`] (a [`Hold`]) /
//! [`PoolRegion::release_hold`]; `Loan` and `BlockView` are written over
//! them, so the loom model and the Miri tests check that code.
//!
//! **Publish**: check that `OWNER` is still `me` and `STATE` still
//! `(g + 1, LOANED)` (else [`PublishError::Reclaimed`]), store `LEN`, store
//! `STATE := (g + 1, PUBLISHED)` (Release), store `OWNER := 0` (Release);
//! return the descriptor with generation `g + 1`. Dropping an unpublished
//! [`Loan`] puts the block back to `FREE` (a CAS from `(g + 1, LOANED)`).
//!
//! A message's loan and publish are six atomic writes to its control line
//! (and a store of the `NEXT` hint), of which two are read-modify-writes
//! (the `OWNER` claim and the `HOLDERS` check), a view one `fetch_or` and
//! one `fetch_and`: each RMW is a full barrier on x86
//! and a locked cache line, so every other write is a plain store wherever
//! the holder of `OWNER` is the only writer (until 2026-12-04 steps 3 and
//! the publish were CASes: three RMWs more per message).
//!
//! **Hold** (participant `p`, descriptor `d`): check the segment, the block
//! index and the length against the validated geometry (typed errors), then
//! 1. `HOLDERS.fetch_or(1 << p)` (AcqRel);
//! 2. load `STATE` (Acquire) and compare it with `(d.generation, PUBLISHED)`;
//! 3. it differs (or `LEN` differs from `d.len`): clear the bit
//!    (`fetch_and`, Release) and return [`HoldError::Stale`], counted as a
//!    drop by the caller. Otherwise the view is valid until it is released:
//!    `HOLDERS.fetch_and(!(1 << p))` (Release).
//!
//! If bit `p` was already set at step 1, participant `p` holds the block
//! through another view: the bit is left alone and the answer is
//! [`HoldError::AlreadyHeld`] (same generation) or [`HoldError::Stale`].
//!
//! # Synchronisation pairs (the `SYNC(..)` labels in the code)
//!
//! - `pool-magic`: init's Release store of `MAGIC` / attach's Acquire load.
//! - `block-owner`: every Release freeing of `OWNER` (publish, give-back,
//!   back-off, reclaim) / the Acquire CAS claiming it (loan, reclaim).
//! - `block-publish`: publish's Release store of `STATE` / a hold's Acquire
//!   load (R2): data and `LEN` are visible to the holder. R2 compares with a
//!   value that only that store ever wrote (the generation is new), so it
//!   reads from it.
//! - `hold-order`: a loan's `HOLDERS` RMW (L4, Release) / a hold's
//!   `fetch_or` (R1, Acquire), which puts the loan's L3 before the hold's R2.
//! - `state-owner`: every write of `STATE` (L3, publish, give-back,
//!   back-off, reclaim) is made by the holder of `OWNER`, between its
//!   Acquire claim and its Release freeing (`block-owner`), so the writers
//!   of `STATE` happen one after the other and each reads the last one's
//!   value; the hot ones are plain stores, the rare ones (give-back,
//!   reclaim) CASes that also check the block is still theirs.
//! - `holders-release`: a release's (or reclaim's) Release `fetch_and` / a
//!   loan's Acquire RMW of `HOLDERS` (L4): the holder's reads are done
//!   before the block is rewritten.
//!
//! # Why a held block is never written
//!
//! Take a successful hold (steps R1 = fetch_or, R2 = the `STATE` load) and any
//! loan (L3 = the `STATE` store, L4 = the `HOLDERS` RMW). Every write to
//! `HOLDERS` is an RMW, so R1 and L4 are ordered in `HOLDERS`'s modification
//! order:
//! - L4 before R1: R1 reads L4's value or a later RMW of L4's release
//!   sequence, so L4 (Release) synchronises with R1 (Acquire): L3
//!   happens-before R2, which reads L3's value or a later one. L3 set a
//!   generation no descriptor carried yet; R2 matched only if the
//!   descriptor is that loan's own publication, written before it was
//!   published.
//! - R1 before L4: L4 reads R1's write or a later one: it sees bit `p`
//!   unless `p` released first. The loan backs off (before writing).
//!
//! No SeqCst is needed (the Dekker pattern of a store and a load on each side
//! is replaced by RMWs on `HOLDERS`, the word both sides write), so loom
//! checks it exactly (`tests/loom_pool.rs`), and a hold costs one RMW: the
//! loan, made once per message, carries the ordering that each of a
//! message's views would otherwise pay for. A released view's reads
//! happen-before the next write: the release (Release) is read by L4
//! (Acquire).
//!
//! Hence, while bit `p` is set, nobody writes the block's data. More
//! precisely, when R2 reads `(g, PUBLISHED)`, every loan before R1 in
//! `HOLDERS`'s order has its L3 happen-before R2 (above), so it published
//! or gave its block back before the publish that R2 reads (a loan holds
//! `OWNER` from its claim to its publish, and `STATE` goes `LOANED` ->
//! `PUBLISHED`/`FREE` before the next claim); every data write to the block
//! therefore happens-before R2 (through the publishes' Release and
//! `OWNER`'s Release/Acquire), and every loan after R1 backs off at L4.
//! The data is therefore not written between a successful hold and its
//! release, and every write to it happens-before the hold: `horus-std` may
//! hand out a `&[u8]` over a held block of a pool whose writers all follow
//! this protocol (a process that writes blocks behind the protocol's back is
//! outside any memory model; the core itself reads through atomic loads
//! only, so hostile memory costs garbled bytes, never undefined behaviour).
//!
//! # Crash safety
//!
//! [`PoolRegion::reclaim_dead`] takes `OWNER` from dead loaners (CAS
//! `dead -> me | RECLAIMING`): a `LOANED` block goes back to `FREE` (a
//! half-written block is never published), a `PUBLISHED` one stays
//! published; then `OWNER := 0` (Release). A reclaimer that dies leaves
//! `RECLAIMING(it)`, taken over by the next one. It also clears the
//! `HOLDERS` bits of participants the caller names dead. It never touches a
//! live participant's bit or a live loaner's block. `horus-std` must clear a
//! dead participant's pool bits *before* its topic entry (and so its index)
//! can be reused.

mod block;
mod error;
mod owned;
mod prefetch;
mod region;

pub use block::{Claim, Hold};
pub use error::{
    HoldError, LoanError, PoolAttachError, PoolInitError, PoolLayoutError, PublishError,
};
pub use owned::{BlockView, Loan};
pub use prefetch::{prefetch_for_read, prefetch_for_write};
pub use region::{PoolRegion, PoolUsage, ReclaimReport};

use crate::layout::LINE_WORDS;

/// `b"HORUS\0pl"` read as a little-endian word; the last word written at init.
///
/// ```
/// assert_eq!(&horus_nostd::pool::POOL_MAGIC.to_le_bytes(), b"HORUS\0pl");
/// ```
pub const POOL_MAGIC: u64 = u64::from_le_bytes(*b"HORUS\0pl");
/// The pool layout version this build writes and reads.
///
/// ```
/// # use horus_nostd::pool::{PoolRegion, POOL_LAYOUT_VERSION, hdr};
/// # use horus_nostd::{region::RegionBuffer, sync::Ordering};
/// static MEM: RegionBuffer<512> = RegionBuffer::new();
/// PoolRegion::init(MEM.words(), 64, 2, 0, 0).unwrap();
/// assert_eq!(MEM.words()[hdr::VERSION].load(Ordering::Relaxed), POOL_LAYOUT_VERSION);
/// ```
pub const POOL_LAYOUT_VERSION: u64 = 1;
/// Largest block, in bytes.
///
/// ```
/// # use horus_nostd::pool::{PoolLayout, MAX_BLOCK_BYTES};
/// assert!(PoolLayout::new(MAX_BLOCK_BYTES + 64, 1).is_err());
/// ```
pub const MAX_BLOCK_BYTES: u32 = 1 << 30;
/// Most blocks in one segment.
///
/// ```
/// # use horus_nostd::pool::{PoolLayout, MAX_BLOCKS};
/// assert!(PoolLayout::new(64, MAX_BLOCKS + 1).is_err());
/// ```
pub const MAX_BLOCKS: u32 = 1 << 20;

/// Word indices of the pool header fields.
///
/// ```
/// # use horus_nostd::pool::{PoolRegion, hdr};
/// # use horus_nostd::{region::RegionBuffer, sync::Ordering};
/// static MEM: RegionBuffer<512> = RegionBuffer::new();
/// PoolRegion::init(MEM.words(), 128, 3, 0, 0).unwrap();
/// assert_eq!(MEM.words()[hdr::BLOCKS].load(Ordering::Relaxed), 3);
/// ```
pub mod hdr {
    /// [`super::POOL_MAGIC`], stored last with Release.
    pub const MAGIC: usize = 0;
    /// [`super::POOL_LAYOUT_VERSION`].
    pub const VERSION: usize = 1;
    /// Total words of the region.
    pub const REGION_WORDS: usize = 2;
    /// Bytes per block (a multiple of 64).
    pub const BLOCK_SIZE: usize = 3;
    /// Blocks in the segment.
    pub const BLOCKS: usize = 4;
    /// The segment id the creator gave (`u32`).
    pub const SEGMENT: usize = 5;
    /// Word index of block 0's control line.
    pub const CONTROL_AT: usize = 6;
    /// Word index of block 0's data.
    pub const DATA_AT: usize = 7;
    /// Creation time in nanoseconds of the creator's clock (0 if it has none).
    pub const CREATED_NS: usize = 8;
    /// Where the next loan starts scanning (a hint, any value is safe).
    pub const NEXT: usize = 16;
    /// Loans refused because every block was busy (saturating).
    pub const LOANS_FAILED: usize = 17;
    /// Words of the header.
    pub const WORDS: usize = 24;
}

/// Word offsets inside one block's control line (8 words); block `b`'s line
/// starts at word `hdr::WORDS + b * ctl::WORDS`.
///
/// ```
/// # use horus_nostd::pool::{PoolRegion, ctl, hdr};
/// # use horus_nostd::{OwnerToken, region::RegionBuffer, sync::Ordering};
/// static MEM: RegionBuffer<512> = RegionBuffer::new();
/// let pool = PoolRegion::init(MEM.words(), 64, 2, 0, 0).unwrap();
/// let d = pool.loan(OwnerToken::new(1).unwrap()).unwrap().publish(5).unwrap();
/// let _view = pool.hold(3, d).unwrap();
/// let line = hdr::WORDS + d.block as usize * ctl::WORDS;
/// assert_eq!(MEM.words()[line + ctl::HOLDERS].load(Ordering::Relaxed), 1 << 3);
/// assert_eq!(MEM.words()[line + ctl::LEN].load(Ordering::Relaxed), 5);
/// ```
pub mod ctl {
    /// `generation << 2 | state`.
    pub const STATE: usize = 0;
    /// The loaner's owner token, 0, or `reclaimer | RECLAIMING`.
    pub const OWNER: usize = 1;
    /// Bit `p`: participant `p` holds a view.
    pub const HOLDERS: usize = 2;
    /// Bytes of the published message.
    pub const LEN: usize = 3;
    /// Words per control line.
    pub const WORDS: usize = 8;
}

/// Block states (the low two bits of `STATE`).
pub(crate) mod state {
    pub const FREE: u64 = 0;
    pub const LOANED: u64 = 1;
    pub const PUBLISHED: u64 = 2;
    pub const MASK: u64 = 3;
    /// Generations are 62 bits.
    pub const GEN_MASK: u64 = u64::MAX >> 2;

    pub const fn encode(generation: u64, state: u64) -> u64 {
        (generation & GEN_MASK) << 2 | state
    }
    pub const fn generation(word: u64) -> u64 {
        word >> 2
    }
    pub const fn state(word: u64) -> u64 {
        word & MASK
    }
}

crate::message! {
    /// Names one published block: what a topic carries for a large message.
    ///
    /// Anyone who can write the ring can forge one; [`PoolRegion::hold`]
    /// checks every field and answers a typed [`HoldError`].
    ///
    /// ```
    /// use horus_nostd::{Message, pool::BlockDescriptor};
    /// assert_eq!(core::mem::size_of::<BlockDescriptor>(), 24);
    /// assert_eq!(BlockDescriptor::TYPE_NAME, "BlockDescriptor");
    /// ```
    BlockDescriptor {
        /// Generation of the block when it was published.
        generation: u64,
        /// Pool segment (region) id.
        segment: u32,
        /// Block index in the segment.
        block: u32,
        /// Bytes of the message.
        len: u32,
        /// Zero.
        reserved: u32,
    }
}

/// The geometry of one pool segment: everything needed to find a word.
///
/// ```
/// use horus_nostd::pool::PoolLayout;
/// use horus_nostd::region::RegionBuffer;
/// const L: PoolLayout = PoolLayout::for_static(4096, 8);
/// static MEM: RegionBuffer<{ L.region_words() }> = RegionBuffer::new();
/// assert_eq!(L.region_bytes(), 24 * 8 + 8 * 64 + 8 * 4096);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLayout {
    pub(crate) block_size: u32,
    pub(crate) blocks: u32,
    pub(crate) control_at: usize,
    pub(crate) data_at: usize,
    pub(crate) region_words: usize,
}

impl PoolLayout {
    /// The layout of a segment of `blocks` blocks of `block_size` bytes.
    ///
    /// ```
    /// use horus_nostd::pool::{PoolLayout, PoolLayoutError};
    /// assert!(PoolLayout::new(64, 1).is_ok());
    /// assert_eq!(PoolLayout::new(0, 1), Err(PoolLayoutError::BadBlockSize { block_size: 0 }));
    /// ```
    pub const fn new(block_size: u32, blocks: u32) -> Result<Self, PoolLayoutError> {
        if block_size == 0 || block_size % 64 != 0 || block_size > MAX_BLOCK_BYTES {
            return Err(PoolLayoutError::BadBlockSize { block_size });
        }
        if blocks == 0 || blocks > MAX_BLOCKS {
            return Err(PoolLayoutError::BadBlocks { blocks });
        }
        let control_at = hdr::WORDS;
        let data_at = control_at + blocks as usize * ctl::WORDS;
        // At most 24 + 2^20 * (8 + 2^27) words: fits u64, maybe not a 32-bit usize.
        let total = data_at as u64 + blocks as u64 * (block_size as u64 / 8);
        if total * 8 > usize::MAX as u64 {
            return Err(PoolLayoutError::BadBlocks { blocks });
        }
        Ok(Self {
            block_size,
            blocks,
            control_at,
            data_at,
            region_words: total as usize,
        })
    }

    /// The layout, for sizing a `static` at compile time.
    ///
    /// # Panics
    /// On an invalid geometry; used in a `const`, that is a compile error.
    ///
    /// ```
    /// const L: horus_nostd::pool::PoolLayout = horus_nostd::pool::PoolLayout::for_static(64, 2);
    /// assert_eq!(L.blocks(), 2);
    /// ```
    pub const fn for_static(block_size: u32, blocks: u32) -> Self {
        match Self::new(block_size, blocks) {
            Ok(l) => l,
            Err(_) => panic!("invalid pool geometry for a static region"),
        }
    }

    /// Words the region needs.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolLayout;
    /// assert_eq!(PoolLayout::for_static(64, 1).region_words(), 24 + 8 + 8);
    /// ```
    pub const fn region_words(&self) -> usize {
        self.region_words
    }

    /// Bytes the region needs.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolLayout;
    /// assert_eq!(PoolLayout::for_static(64, 1).region_bytes(), 320);
    /// ```
    pub const fn region_bytes(&self) -> usize {
        self.region_words * 8
    }

    /// Bytes per block.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolLayout;
    /// assert_eq!(PoolLayout::for_static(128, 1).block_size(), 128);
    /// ```
    pub const fn block_size(&self) -> u32 {
        self.block_size
    }

    /// Blocks in the segment.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolLayout;
    /// assert_eq!(PoolLayout::for_static(128, 3).blocks(), 3);
    /// ```
    pub const fn blocks(&self) -> u32 {
        self.blocks
    }

    /// Byte offset of the first block's data: the header and the control
    /// lines come before it. A tool that reads only the blocks' states
    /// ([`PoolRegion::usage`]) needs these bytes and no others.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolLayout;
    /// assert_eq!(PoolLayout::for_static(128, 3).data_offset(), 24 * 8 + 3 * 64);
    /// ```
    pub const fn data_offset(&self) -> usize {
        self.data_at * 8
    }

    /// Words per block.
    pub(crate) const fn block_words(&self) -> usize {
        self.block_size as usize / 8
    }

    /// Word index of block `b`'s control word `off`.
    #[inline]
    pub(crate) const fn control(&self, b: usize, off: usize) -> usize {
        self.control_at + b * ctl::WORDS + off
    }

    /// Word index of block `b`'s first data word.
    #[inline]
    pub(crate) const fn data(&self, b: usize) -> usize {
        self.data_at + b * self.block_words()
    }
}

const _: () = assert!(hdr::WORDS % LINE_WORDS == 0 && ctl::WORDS == LINE_WORDS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_geometry() {
        for size in [0, 1, 63, 65, MAX_BLOCK_BYTES + 64] {
            assert_eq!(
                PoolLayout::new(size, 1),
                Err(PoolLayoutError::BadBlockSize { block_size: size })
            );
        }
        for blocks in [0, MAX_BLOCKS + 1] {
            assert_eq!(
                PoolLayout::new(64, blocks),
                Err(PoolLayoutError::BadBlocks { blocks })
            );
        }
    }

    #[test]
    fn blocks_are_line_aligned_and_do_not_overlap() {
        let l = PoolLayout::new(192, 3).unwrap();
        assert_eq!(l.data_at % LINE_WORDS, 0);
        assert_eq!(l.control(2, ctl::LEN), 24 + 16 + 3);
        assert_eq!(l.data(0), l.control(3, 0));
        assert_eq!(l.data(1), l.data(0) + 24);
        assert_eq!(l.data(2) + 24, l.region_words());
    }

    #[test]
    fn state_encoding_round_trips() {
        let w = state::encode(state::GEN_MASK, state::PUBLISHED);
        assert_eq!(state::generation(w), state::GEN_MASK);
        assert_eq!(state::state(w), state::PUBLISHED);
        assert_eq!(state::encode(state::GEN_MASK + 1, state::FREE), 0); // wraps
    }
}
