//! Errors of the block pool, one small `Copy` enum per operation (see
//! [`crate::error`] for the conventions: `Debug` is the `Display` sentence).

use crate::error::debug_is_display;

debug_is_display!(
    PoolLayoutError,
    PoolInitError,
    PoolAttachError,
    LoanError,
    PublishError,
    HoldError
);

/// A pool's geometry (block size, block count) cannot be laid out.
///
/// ```
/// use horus_nostd::pool::{PoolLayout, PoolLayoutError};
/// assert_eq!(PoolLayout::new(100, 4), Err(PoolLayoutError::BadBlockSize { block_size: 100 }));
/// assert!(PoolLayout::new(64, 0).unwrap_err().to_string().contains("1 to"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PoolLayoutError {
    /// The block size must be a non-zero multiple of 64 bytes, at most
    /// [`MAX_BLOCK_BYTES`](super::MAX_BLOCK_BYTES).
    #[error(
        "pool block size {block_size} bytes is invalid: use a multiple of 64 bytes, \
         from 64 to {max} bytes",
        max = super::MAX_BLOCK_BYTES
    )]
    BadBlockSize {
        /// The block size asked for, in bytes.
        block_size: u32,
    },
    /// A pool segment holds 1 to [`MAX_BLOCKS`](super::MAX_BLOCKS) blocks,
    /// and must fit the address space.
    #[error(
        "{blocks} blocks per pool segment is invalid: use 1 to {max} blocks, \
         and no more than the address space holds",
        max = super::MAX_BLOCKS
    )]
    BadBlocks {
        /// The block count asked for.
        blocks: u32,
    },
}

/// Initialising a pool region failed; nothing was written.
///
/// ```
/// use horus_nostd::pool::{PoolInitError, PoolRegion};
/// use horus_nostd::sync::AtomicU64;
/// let words: [AtomicU64; 8] = Default::default();
/// assert!(matches!(
///     PoolRegion::init(&words[..], 64, 2, 0, 0),
///     Err(PoolInitError::RegionTooSmall { .. })
/// ));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PoolInitError {
    /// The geometry is invalid.
    #[error(transparent)]
    Layout(#[from] PoolLayoutError),
    /// The memory given is smaller than the layout needs.
    #[error(
        "region of {given} bytes is too small for this pool: it needs {needed} bytes \
         (size it with PoolLayout::region_bytes)"
    )]
    RegionTooSmall {
        /// Bytes the layout needs.
        needed: usize,
        /// Bytes given.
        given: usize,
    },
}

/// Attaching to an existing pool region failed: the memory is not a valid
/// pool. Attaching never trusts the memory; every header field is checked.
///
/// ```
/// use horus_nostd::pool::{PoolAttachError, PoolRegion};
/// use horus_nostd::region::RegionBuffer;
/// static MEM: RegionBuffer<64> = RegionBuffer::new();
/// assert!(matches!(PoolRegion::attach(MEM.words()), Err(PoolAttachError::BadMagic { found: 0 })));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PoolAttachError {
    /// The region is shorter than a pool header, or than the layout it declares.
    #[error("pool region is truncated: {found} bytes where at least {needed} are needed")]
    Truncated {
        /// Bytes the region must have.
        needed: usize,
        /// Bytes it has.
        found: usize,
    },
    /// The region does not start with the HORUS pool magic: it is not a pool,
    /// or its creator has not finished initialising it.
    #[error(
        "region is not a HORUS block pool (magic {found:#018x}); it was written by \
         something else, is corrupt, or is still being initialised"
    )]
    BadMagic {
        /// The first eight bytes, as a little-endian word.
        found: u64,
    },
    /// The region was made by a HORUS with another pool layout version.
    #[error(
        "pool region has layout version {found} but this build reads version \
         {expected}: stop the programs built with the other HORUS version"
    )]
    VersionMismatch {
        /// Version in the region.
        found: u64,
        /// Version this build reads.
        expected: u64,
    },
    /// A header field is out of range or inconsistent with the others.
    #[error("pool header field `{field}` is out of range; the region is corrupt")]
    BadGeometry {
        /// Which field.
        field: &'static str,
    },
}

/// No block could be loaned. The publisher is never made to wait: the caller
/// decides (add a segment, drop the message, count it).
///
/// ```
/// use horus_nostd::pool::LoanError;
/// let e = LoanError::Exhausted { blocks: 4 };
/// assert!(e.to_string().contains("all 4 blocks"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LoanError {
    /// Every block is being written or is held by a reader.
    #[error(
        "block pool exhausted: all {blocks} blocks are being written or held by readers; \
         release received views sooner, or give the pool more blocks or segments"
    )]
    Exhausted {
        /// Blocks in the segment.
        blocks: u32,
    },
}

/// Publishing a loaned block failed; the block went back to the pool.
///
/// ```
/// use horus_nostd::pool::PublishError;
/// let e = PublishError::TooLong { len: 100, block_size: 64 };
/// assert!(e.to_string().contains("100 bytes"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PublishError {
    /// The length given is larger than the block.
    #[error(
        "cannot publish {len} bytes from a block of {block_size} bytes: \
         use a pool with larger blocks"
    )]
    TooLong {
        /// Bytes asked for.
        len: usize,
        /// Bytes per block.
        block_size: u32,
    },
    /// The block was taken from this loaner while it wrote: someone judged
    /// its owner token dead (a liveness misjudgement) or the memory was
    /// overwritten. Nothing was published.
    #[error(
        "the loaned block was reclaimed while it was being written (its owner token was \
         judged dead, or the pool memory was overwritten); nothing was published"
    )]
    Reclaimed,
}

/// Holding the block a descriptor names failed. Descriptors come from a ring
/// anyone may write, so every one is checked.
///
/// ```
/// use horus_nostd::pool::HoldError;
/// assert!(HoldError::Stale.to_string().contains("dropped"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HoldError {
    /// The descriptor names another segment than this region.
    #[error("descriptor names pool segment {found}, but this region is segment {expected}")]
    WrongSegment {
        /// This region's segment id.
        expected: u32,
        /// The descriptor's.
        found: u32,
    },
    /// The descriptor's block index is not in this segment.
    #[error(
        "descriptor names block {block}, but the segment has {blocks} blocks; \
         the descriptor is corrupt"
    )]
    BlockOutOfRange {
        /// The descriptor's block index.
        block: u32,
        /// Blocks in the segment.
        blocks: u32,
    },
    /// The descriptor's length is larger than a block.
    #[error(
        "descriptor length {len} exceeds the {block_size}-byte block; \
         the descriptor is corrupt"
    )]
    BadLength {
        /// The descriptor's length.
        len: u32,
        /// Bytes per block.
        block_size: u32,
    },
    /// The participant index is not below 64.
    #[error(
        "participant index {participant} is invalid: use the topic participant index, \
         0 to 63"
    )]
    BadParticipant {
        /// The index given.
        participant: u32,
    },
    /// This participant already holds this block (the core keeps one bit per
    /// participant and block; nested views are counted by the caller).
    #[error(
        "this participant already holds this block: count nested views locally and \
         hold the block once"
    )]
    AlreadyHeld,
    /// The block no longer holds that message: it was recycled, is being
    /// written, or the descriptor was never valid. Count it as dropped.
    #[error("the block was recycled or never held this message: count the message as dropped")]
    Stale,
}
