//! The writer: a publisher's segments, its loans and their spare shares
//! (see the [module docs](super)).

use std::sync::Arc;

use horus_nostd::OwnerToken;
use horus_nostd::pool::{BlockDescriptor, Claim, MAX_BLOCK_BYTES, MAX_BLOCKS, PoolLayout};

use super::next_segment_id;
use crate::error::TopicError;
use crate::payload::PoolOptions;
use crate::shm::pool_file::{self, Segment, SegmentError};
use crate::shm::{Namespace, liveness};
use horus_nostd::pool::prefetch_for_write;

/// The most segments a publisher's pool may be given (ids from
/// [`PROCESS_SEGMENT_BASE`](crate::process_pool::PROCESS_SEGMENT_BASE) up
/// are the process pool's).
pub const MAX_SEGMENTS: u32 = crate::process_pool::PROCESS_SEGMENT_BASE;

/// Checks a builder's pool options for `topic` before anything is created,
/// so a bad value is an error of `build()`, not of the first loan.
pub(crate) fn check_options(topic: &str, pool: &PoolOptions) -> Result<(), TopicError> {
    let bad = |option, value, reason: String| {
        Err(TopicError::PoolOption {
            topic: topic.to_owned(),
            option,
            value,
            reason,
        })
    };
    let PoolOptions {
        block_size: given,
        blocks_per_segment: blocks,
        max_segments,
    } = *pool;
    if max_segments == 0 || max_segments > MAX_SEGMENTS {
        return bad(
            "max_segments",
            max_segments,
            format!("use 1 to {MAX_SEGMENTS} segments per publisher"),
        );
    }
    if blocks == 0 || blocks > MAX_BLOCKS {
        return bad(
            "blocks_per_segment",
            blocks,
            format!("use 1 to {MAX_BLOCKS} blocks per segment"),
        );
    }
    // Not given: sized by the first message (checked then). Given, 0 is
    // refused as any size out of range (it was taken as not given).
    let Some(block_size) = block_bytes(pool) else {
        return bad(
            "block_size",
            given.unwrap_or(0),
            format!(
                "use 1 to {MAX_BLOCK_BYTES} bytes (rounded up to a multiple of 64), or leave \
                 it unset for the size of the first message"
            ),
        );
    };
    if PoolLayout::new(block_size.max(64), blocks).is_err() {
        return bad(
            "blocks_per_segment",
            blocks,
            format!(
                "a segment of {blocks} blocks of {} bytes exceeds this machine's address \
                 space; use fewer or smaller blocks",
                block_size.max(64)
            ),
        );
    }
    Ok(())
}

/// The block size of `pool`: the size given rounded up to 64 bytes, 0 if
/// none was given; `None` if the size given is 0 or above
/// [`MAX_BLOCK_BYTES`].
pub(crate) fn block_bytes(pool: &PoolOptions) -> Option<u32> {
    match pool.block_size {
        None => Some(0),
        Some(given) => given
            .checked_next_multiple_of(64)
            .filter(|&b| b != 0 && PoolLayout::new(b, 1).is_ok()),
    }
}

/// Why a block could not be loaned.
#[derive(Debug)]
pub(crate) enum WriterError {
    /// The message is larger than this pool's blocks.
    TooLarge { bytes: usize, block_size: u32 },
    /// The message is larger than any block can be.
    BeyondBlockLimit { bytes: usize },
    /// Every block of every segment is being written or held.
    Exhausted { segments: u32, blocks: u32 },
    /// A segment could not be made.
    Segment(SegmentError),
    /// Blocks of that size cannot be laid out.
    Layout(horus_nostd::pool::PoolLayoutError),
}

/// A loaned (claimed) block and the segment it is in, whose mapping the
/// loan keeps (24 bytes). The share of the segment comes from, and after a
/// publish through its own topic returns to, the writer's spare shares
/// ([`PoolWriter::recycle`]), so a steady stream of loans costs no
/// reference-count RMW.
pub(crate) struct LoanedBlock {
    segment: Arc<Segment>,
    claim: Claim,
}

impl std::fmt::Debug for LoanedBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoanedBlock")
            .field("owner", &self.segment.owner())
            .field("block", &self.claim.block())
            .finish()
    }
}

impl LoanedBlock {
    /// A claim on `segment`'s pool, made with `segment.owner()`'s token.
    pub(crate) fn new(segment: Arc<Segment>, claim: Claim) -> Self {
        Self { segment, claim }
    }

    /// The generation the block will be published with (1 for a block's
    /// first loan ever: its bytes are still the zeros of a new file).
    pub(crate) fn generation(&self) -> u64 {
        self.claim.generation()
    }

    /// The block's bytes, writable in place.
    #[inline]
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        self.segment.check_not_inherited("a loaned message");
        let words = self.segment.pool().claimed_words(&self.claim);
        // SAFETY: the block is claimed by us (`STATE` is LOANED at a
        // generation no descriptor carries, `OWNER` is our token, and this
        // is the process that claimed it, checked above): by the
        // protocol of `horus_nostd::pool` (module docs, "The algorithm",
        // loan step 5) nobody else writes or reads its data until we
        // publish or give it back, and no other reference into it exists in
        // this process (the claim is owned by `self`, borrowed mutably
        // here). The words are 8-byte aligned, `words.len() * 8` bytes long,
        // and mapped for as long as `self.segment` (our share of the
        // mapping) lives, beyond `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(words.as_ptr() as *mut u8, words.len() * 8) }
    }

    /// The block's bytes, read-only.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        self.segment.check_not_inherited("a loaned message");
        let words = self.segment.pool().claimed_words(&self.claim);
        // SAFETY: as in `bytes_mut` (checked the same way): the block is
        // ours alone while claimed;
        // the only `&mut` to it comes from `bytes_mut(&mut self)`, which
        // cannot coexist with this borrow of `self`.
        unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, words.len() * 8) }
    }

    /// Publishes the first `len` bytes: the descriptor and the publisher,
    /// or why not (the block is then given back, or a reclaimer's); and
    /// the loan's share of its segment, for [`PoolWriter::recycle`].
    #[inline(always)]
    pub(crate) fn publish(
        self,
        len: usize,
    ) -> (
        Result<(BlockDescriptor, OwnerToken), horus_nostd::pool::PublishError>,
        Arc<Segment>,
    ) {
        let owner = self.segment.owner();
        let pool = self.segment.pool();
        let r = pool.publish_claim(&self.claim, owner, len);
        if r.is_err() {
            pool.give_back(&self.claim, owner); // (nothing if not ours any more)
        }
        (r.map(|d| (d, owner)), self.into_segment())
    }

    /// The loan's share of its segment; the claim is left as it is (the
    /// caller has published it or given it back).
    #[inline]
    fn into_segment(self) -> Arc<Segment> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped nor used again (`ManuallyDrop`,
        // owned here), so the `Arc` read out of it is moved, not
        // duplicated: exactly one owner of that share remains. `Claim` is
        // `Copy` and owns nothing.
        unsafe { std::ptr::read(&this.segment) }
    }

    /// Is this block from `writer`'s pool (one of its segments)?
    #[inline]
    pub(crate) fn is_from(&self, writer: &PoolWriter) -> bool {
        writer.index_of(&self.segment).is_some()
    }

    /// Brings the block the writer's next loan will most likely take into
    /// this core's cache, for writing, while nothing waits on it (see
    /// `prefetch_for_write`).
    #[inline]
    fn prefetch_next(segment: &Segment) {
        let (control, data) = segment.pool().next_candidate();
        prefetch_for_write(control);
        if let Some(first) = data.first() {
            prefetch_for_write(first);
        }
    }
}

impl Drop for LoanedBlock {
    /// Gives the unpublished block back (`publish` does not drop: it moves
    /// the segment out).
    /// In a child made by `fork()` the claim is the parent's, and stays.
    fn drop(&mut self) {
        if self.segment.mapped_here() {
            let owner = self.segment.owner();
            self.segment.pool().give_back(&self.claim, owner);
        }
    }
}

/// A publisher's pool for one topic.
#[derive(Debug)]
pub(crate) struct PoolWriter {
    ns: Arc<Namespace>,
    topic: String,
    me: OwnerToken,
    /// 0 until the first segment is made.
    block_size: u32,
    blocks_per_segment: u32,
    max_segments: u32,
    segments: Vec<Arc<Segment>>,
    /// Spare shares of each segment (same index), handed to loans and
    /// given back after their publish: no reference-count RMW per message.
    spare: Vec<Vec<Arc<Segment>>>,
    /// Where the next loan starts looking.
    next_segment: usize,
    /// The segment of the last loan: the one a send's checks and its
    /// share's return look at first.
    last_loaned: usize,
}

/// Spare shares kept per segment (more than the loans a thread has open at
/// once, typically one).
const SPARE_SHARES: usize = 4;

impl PoolWriter {
    pub(crate) fn new(
        ns: Arc<Namespace>,
        topic: &str,
        block_size: u32,
        blocks_per_segment: u32,
        max_segments: u32,
    ) -> Self {
        Self {
            me: liveness::own_token(),
            ns,
            topic: topic.to_owned(),
            block_size,
            // Both checked by `check_options` when the handle was built.
            blocks_per_segment,
            max_segments,
            segments: Vec::new(),
            spare: Vec::new(),
            next_segment: 0,
            last_loaned: 0,
        }
    }

    /// Segments made so far.
    pub(crate) fn segments(&self) -> &[Arc<Segment>] {
        &self.segments
    }

    /// Loans a block of at least `bytes` bytes (see the module docs).
    /// `reclaim` is called once, when every block is busy at the limit.
    #[inline]
    pub(crate) fn loan(
        &mut self,
        bytes: usize,
        reclaim: impl FnMut(),
    ) -> Result<LoanedBlock, WriterError> {
        // The common case, kept small so that it inlines: a block of an
        // existing segment.
        if !self.segments.is_empty() && bytes <= self.block_size as usize {
            if let Some(b) = self.try_existing() {
                return Ok(b);
            }
        }
        self.loan_slow(bytes, reclaim)
    }

    /// The first loan (which makes the first segment), a message too large,
    /// or every existing block busy: grow, reclaim, or say why not.
    #[cold]
    #[inline(never)]
    fn loan_slow(
        &mut self,
        bytes: usize,
        mut reclaim: impl FnMut(),
    ) -> Result<LoanedBlock, WriterError> {
        if bytes > MAX_BLOCK_BYTES as usize {
            return Err(WriterError::BeyondBlockLimit { bytes });
        }
        if self.segments.is_empty() {
            let want = u32::try_from(bytes.max(64).div_ceil(64) * 64).unwrap_or(u32::MAX);
            self.block_size = self.block_size.max(want);
        }
        if bytes > self.block_size as usize {
            return Err(WriterError::TooLarge {
                bytes,
                block_size: self.block_size,
            });
        }
        if let Some(b) = self.try_existing() {
            return Ok(b);
        }
        while self.segments.len() < self.max_segments as usize {
            let layout = PoolLayout::new(self.block_size, self.blocks_per_segment)
                .map_err(WriterError::Layout)?;
            let id = next_segment_id(&self.ns, &self.topic).ok_or_else(|| {
                WriterError::Segment(SegmentError::File(crate::error::TopicError::Io {
                    path: self.ns.path().to_owned(),
                    op: "number a new pool segment (this process made 2^31 segments of the \
                         topic already: restart it) in",
                    error: std::io::ErrorKind::OutOfMemory.into(),
                }))
            })?;
            let seg = pool_file::create(&self.ns, &self.topic, self.me, id, layout)
                .map_err(WriterError::Segment)?;
            self.segments.push(Arc::new(seg));
            self.spare.push(Vec::new());
            if let Some(b) = self.try_existing() {
                return Ok(b);
            }
        }
        reclaim();
        self.try_existing().ok_or(WriterError::Exhausted {
            segments: self.segments.len() as u32,
            blocks: self.blocks_per_segment,
        })
    }

    /// A loan from the first segment that has a block, starting after the
    /// segment of the last loan: recycling then goes round all segments, so
    /// the block recycled is about the one published longest ago. Inlined
    /// into the loan: the loan (24 bytes) then stays in registers; returned
    /// through memory, its last word was written as 4 bytes and read back
    /// as 8, a store-forwarding stall on every send.
    #[inline(always)]
    fn try_existing(&mut self) -> Option<LoanedBlock> {
        let n = self.segments.len();
        // Round the segments from `next_segment` (no division: this is
        // every send's path).
        let mut i = if self.next_segment < n {
            self.next_segment
        } else {
            0
        };
        for _ in 0..n {
            let after = if i + 1 == n { 0 } else { i + 1 };
            let segment = &self.segments[i];
            if let Ok(claim) = segment.pool().claim(self.me) {
                self.next_segment = after;
                self.last_loaned = i;
                let share = self.spare[i].pop().unwrap_or_else(|| segment.clone());
                return Some(LoanedBlock {
                    segment: share,
                    claim,
                });
            }
            i = after;
        }
        None
    }

    /// Takes back a loan's share of a segment after its publish (kept for
    /// the next loan if it is one of ours and there is room; dropped
    /// otherwise).
    #[inline]
    pub(crate) fn recycle(&mut self, share: Arc<Segment>) {
        if let Some(i) = self.index_of(&share) {
            if self.spare[i].len() < SPARE_SHARES {
                self.spare[i].push(share);
            }
        }
    }

    /// The index of `segment` among ours, if it is one of ours: the last
    /// loan's segment is tried first (a send's block is nearly always the
    /// last one loaned), then all of them.
    #[inline]
    fn index_of(&self, segment: &Arc<Segment>) -> Option<usize> {
        match self.segments.get(self.last_loaned) {
            Some(s) if Arc::ptr_eq(s, segment) => Some(self.last_loaned),
            _ => self.segments.iter().position(|s| Arc::ptr_eq(s, segment)),
        }
    }

    /// After a publish: prefetches the block the next loan will most
    /// likely take (see [`prefetch_for_write`]).
    #[inline]
    pub(crate) fn prepare_next(&self) {
        if let Some(segment) = self.segments.get(self.next_segment) {
            LoanedBlock::prefetch_next(segment);
        }
    }
}
