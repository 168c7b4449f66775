//! Block pools of a topic: one per publishing process, growing by segments
//! (files, see `shm/pool_file.rs`) up to a limit; receivers map the
//! segments descriptors name, on demand; and the liveness glue (holder bits
//! of dead participants cleared before their topic entries are freed).
//!
//! The algorithm over one segment (loan, publish, hold, release, reclaim) is
//! the core's, [`horus_nostd::pool`]; this module maps it onto files:
//!
//! - **Writer** (`PoolWriter`): the publisher's own segments, created
//!   lazily at its first large message with the block size that message
//!   needs (rounded up to 64 bytes, or the builder's size if larger). A loan
//!   tries each segment; when all are busy it adds a segment, up to
//!   `max_segments`; past that it reclaims what dead participants hold and
//!   tries once more, then answers a typed, counted error. It never waits.
//! - **Reader** (`PoolReader`): a cache of mapped segments by (publisher
//!   token, segment id), with the last one used kept beside it so a stream
//!   from one segment is served without hashing. A segment file that is
//!   gone means every message in it is gone: the descriptor is stale (a
//!   counted drop). Block views keep their own share of a mapping, so the
//!   cache drops dead publishers' segments even while views are alive.
//! - **Liveness** (`reclaim_topic`): every topic handle creation reclaims
//!   the topic's dead participants through it; for each dead participant
//!   `p`, while its entry is still marked as being reclaimed (nobody can
//!   join at `p`), it clears bit `p` in every segment of the topic and takes
//!   back the blocks dead loaners left half-written. Only then is the entry
//!   freed (`TopicRegion::reclaim_dead_then`).

use std::collections::HashMap;
use std::sync::Arc;

use horus_nostd::pool::{BlockDescriptor, BlockView, Loan, LoanError, PoolLayout};
use horus_nostd::region::Words;
use horus_nostd::{OwnerToken, TopicRegion};

use crate::shm::mapping::MappedWords;
use crate::shm::pool_file::{self, Segment, SegmentError};
use crate::shm::{Namespace, liveness};

/// Blocks per segment when not configured.
pub const DEFAULT_BLOCKS_PER_SEGMENT: u32 = 8;
/// Segments per publisher when not configured.
pub const DEFAULT_MAX_SEGMENTS: u32 = 4;

/// Clears, in every pool segment of `topic`, what dead participant `p` held
/// and what dead loaners left; best effort (a segment that cannot be opened
/// is skipped: it is gone, or not ours to repair).
fn reclaim_index_in_pools(ns: &Namespace, topic: &str, me: OwnerToken, p: u32) {
    let Ok(segments) = pool_file::list_segments(ns, topic) else {
        return;
    };
    for (name, owner, id) in segments {
        match pool_file::open(ns, topic, owner, id) {
            Ok(Some(seg)) => {
                let r = seg
                    .pool()
                    .reclaim_dead(me, |t| liveness::is_alive(ns, t), 1u64 << p);
                if r.holds_cleared + r.loans_freed > 0 {
                    log::info!(
                        "topic {topic}: pool segment {name}: cleared {} hold(s) of dead \
                         participant {p}, took back {} block(s) of dead writers",
                        r.holds_cleared,
                        r.loans_freed
                    );
                }
            }
            Ok(None) => {}
            Err(e) => log::debug!("topic {topic}: pool segment {name} skipped: {e:?}"),
        }
    }
}

/// The topic's reclaim of dead participants, with their pool holds cleared
/// first (see the module docs). Returns how many entries were freed.
pub(crate) fn reclaim_topic<W: Words>(
    ns: &Namespace,
    topic: &str,
    region: &TopicRegion<W>,
    me: OwnerToken,
) -> u32 {
    region.reclaim_dead_then(
        me,
        |t| liveness::is_alive(ns, t),
        |p| reclaim_index_in_pools(ns, topic, me, p),
    )
}

/// Why a block could not be loaned.
#[derive(Debug)]
pub(crate) enum WriterError {
    /// The message is larger than this pool's blocks.
    TooLarge { bytes: usize, block_size: u32 },
    /// Every block of every segment is being written or held.
    Exhausted { segments: u32, blocks: u32 },
    /// A segment could not be made.
    Segment(SegmentError),
    /// Blocks of that size cannot be laid out.
    Layout(horus_nostd::pool::PoolLayoutError),
}

/// A loaned block (the loan keeps its segment mapped) and the publisher's
/// token. No `Arc<Segment>` is kept: a hop then costs no reference-count
/// RMWs beyond the loan's own share of the mapping.
pub(crate) struct LoanedBlock {
    loan: Loan<MappedWords>,
    owner: OwnerToken,
}

impl std::fmt::Debug for LoanedBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoanedBlock")
            .field("owner", &self.owner)
            .field("block", &self.loan.block())
            .finish()
    }
}

impl LoanedBlock {
    /// The block's bytes, writable in place.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        let words = self.loan.words();
        // SAFETY: the block is loaned to us (`STATE` is LOANED at a
        // generation no descriptor carries, `OWNER` is our token): by the
        // protocol of `horus_nostd::pool` (module docs, "The algorithm",
        // loan step 5) nobody else writes or reads its data until we
        // publish or give it back, and no other reference into it exists in
        // this process (the `Loan` is owned by `self`, borrowed mutably
        // here). The words are 8-byte aligned, `words.len() * 8` bytes long,
        // and mapped for as long as the loan (which holds its share of the
        // mapping) lives, beyond `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(words.as_ptr() as *mut u8, words.len() * 8) }
    }

    /// The block's bytes, read-only.
    pub(crate) fn bytes(&self) -> &[u8] {
        let words = self.loan.words();
        // SAFETY: as in `bytes_mut`: the block is ours alone while loaned;
        // the only `&mut` to it comes from `bytes_mut(&mut self)`, which
        // cannot coexist with this borrow of `self`.
        unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, words.len() * 8) }
    }

    /// Publishes the first `len` bytes.
    pub(crate) fn publish(
        self,
        len: usize,
    ) -> Result<(BlockDescriptor, OwnerToken), horus_nostd::pool::PublishError> {
        let owner = self.owner;
        self.loan.publish(len).map(|d| (d, owner))
    }

    /// Is this block from `writer`'s pool? By address: the loan keeps its
    /// mapping alive, and live mappings never overlap, so its block lies in
    /// the words of one of `writer`'s segments only if it is from there.
    pub(crate) fn is_from(&self, writer: &PoolWriter) -> bool {
        let at = self.loan.words().as_ptr();
        writer
            .segments
            .iter()
            .any(|s| s.pool().words().as_ptr_range().contains(&at))
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
    /// Where the next loan starts looking.
    next_segment: usize,
}

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
            blocks_per_segment: blocks_per_segment.max(1),
            max_segments: max_segments.max(1),
            segments: Vec::new(),
            next_segment: 0,
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
            let id = self.segments.len() as u32;
            let seg = pool_file::create(&self.ns, &self.topic, self.me, id, layout)
                .map_err(WriterError::Segment)?;
            self.segments.push(Arc::new(seg));
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
    /// the block recycled is about the one published longest ago.
    fn try_existing(&mut self) -> Option<LoanedBlock> {
        let n = self.segments.len();
        let start = self.next_segment;
        (0..n).map(|i| (start + i) % n.max(1)).find_map(|i| {
            let seg = &self.segments[i];
            match seg.pool().loan(self.me) {
                Ok(loan) => {
                    let block = LoanedBlock {
                        loan,
                        owner: self.me,
                    };
                    self.next_segment = (i + 1) % n;
                    Some(block)
                }
                Err(LoanError::Exhausted { .. }) => None,
                Err(_) => None,
            }
        })
    }
}

/// A held block (whose view keeps its segment mapped, and shared-locked,
/// for as long as it lives, whether or not the reader still caches it).
pub(crate) struct HeldBlock {
    view: BlockView<MappedWords>,
}

impl std::fmt::Debug for HeldBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldBlock")
            .field("descriptor", &self.view.descriptor())
            .finish()
    }
}

impl HeldBlock {
    /// The message's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        let words = self.view.words();
        let len = self.view.len().min(words.len() * 8);
        // SAFETY: we hold the block (our `HOLDERS` bit is set and the hold
        // re-validated its generation): `horus_nostd::pool` (module docs,
        // "Why a held block is never written") proves that no writer that
        // follows the protocol writes its data until the view is released,
        // and that every write to it happens-before the hold, so a shared
        // `&[u8]` over it is sound for as long as `self` lives. `len` is at
        // most the block's `words.len() * 8` bytes, which stay mapped while
        // the view (holding its share of the mapping) lives.
        unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, len) }
    }
}

/// Why a descriptor's block could not be held.
#[derive(Debug)]
pub(crate) enum ReaderError {
    /// The publisher token in the message is no token.
    BadOwner(u64),
    /// The segment file is gone or the block was recycled: a dropped message.
    Stale,
    /// The segment file is there but unusable.
    Segment(SegmentError),
    /// The core refused the descriptor.
    Hold(horus_nostd::pool::HoldError),
}

/// A receiver's mapped segments of one topic.
#[derive(Debug, Default)]
pub(crate) struct PoolReader {
    cache: HashMap<(u64, u32), Arc<Segment>>,
    /// The segment of the last hold and its key (also in `cache`): a stream
    /// from one publisher's segment is served without hashing.
    last: Option<((u64, u32), Arc<Segment>)>,
}

impl PoolReader {
    /// Holds the block `desc` of `owner`'s pool names, as participant `p`.
    pub(crate) fn hold(
        &mut self,
        ns: &Namespace,
        topic: &str,
        participant: u32,
        owner: u64,
        desc: &BlockDescriptor,
    ) -> Result<HeldBlock, ReaderError> {
        let key = (owner, desc.segment);
        let segment = match &self.last {
            Some((k, s)) if *k == key => s,
            _ => self.lookup(ns, topic, key)?,
        };
        match segment.pool().hold(participant, *desc) {
            Ok(view) => Ok(HeldBlock { view }),
            Err(horus_nostd::pool::HoldError::Stale) => Err(ReaderError::Stale),
            Err(e) => Err(ReaderError::Hold(e)),
        }
    }

    /// The segment `key` names, from the cache or mapped now; it becomes
    /// `last`.
    fn lookup(
        &mut self,
        ns: &Namespace,
        topic: &str,
        (owner, id): (u64, u32),
    ) -> Result<&Arc<Segment>, ReaderError> {
        let token = OwnerToken::new(owner).ok_or(ReaderError::BadOwner(owner))?;
        let segment = match self.cache.get(&(owner, id)) {
            Some(s) => s.clone(),
            None => match pool_file::open(ns, topic, token, id) {
                Ok(Some(s)) => {
                    let s = Arc::new(s);
                    self.cache.insert((owner, id), s.clone());
                    s
                }
                Ok(None) => return Err(ReaderError::Stale),
                Err(e) => return Err(ReaderError::Segment(e)),
            },
        };
        Ok(&self.last.insert(((owner, id), segment)).1)
    }

    /// Unmaps the segments of dead publishers (so the cleaner can remove
    /// them once no view holds a block of theirs: a view keeps its own
    /// share of the mapping).
    pub(crate) fn forget_dead(&mut self, ns: &Namespace) {
        self.last = None;
        self.cache
            .retain(|_, seg| liveness::is_alive(ns, seg.owner()));
    }

    /// Segments mapped.
    pub(crate) fn mapped(&self) -> usize {
        self.cache.len()
    }
}

/// One pool segment file of a topic, for tools (`horus topic list -v`).
#[derive(Debug, Clone)]
pub struct SegmentInfo {
    /// The file.
    pub path: std::path::PathBuf,
    /// The publishing process's pid (from its token).
    pub pid: u32,
    /// Is that process alive?
    pub publisher_alive: bool,
    /// Segment id in its pool.
    pub segment: u32,
    /// Bytes per block.
    pub block_size: u32,
    /// Blocks in the segment.
    pub blocks: u32,
    /// Blocks by state (a snapshot).
    pub usage: horus_nostd::pool::PoolUsage,
    /// Loans refused since it was made (every block busy).
    pub loans_failed: u64,
}

/// The pool segments of `topic` in namespace `ns` (mapped briefly, under
/// the shared lock every mapper holds; never created nor removed). Files
/// that cannot be read as segments are skipped.
pub fn segments_of(
    ns: &Namespace,
    topic: &str,
) -> Result<Vec<SegmentInfo>, crate::error::TopicError> {
    let mut out = Vec::new();
    for (_, owner, id) in pool_file::list_segments(ns, topic)? {
        let Ok(Some(seg)) = pool_file::open(ns, topic, owner, id) else {
            continue;
        };
        let pool = seg.pool();
        out.push(SegmentInfo {
            path: seg.path().to_owned(),
            pid: (owner.get() >> 32) as u32,
            publisher_alive: liveness::is_alive(ns, owner),
            segment: id,
            block_size: pool.layout().block_size(),
            blocks: pool.layout().blocks(),
            usage: pool.usage(),
            loans_failed: pool.loans_failed(),
        });
    }
    out.sort_by_key(|s| (s.pid, s.segment));
    Ok(out)
}
