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
//!   A loan is the core's `Claim` and a share (`Arc`) of its segment, taken
//!   from the writer's spare shares and given back to them after the
//!   publish (`recycle`): a stream of loans costs no reference-count RMW.
//!   After each publish the writer prefetches, for writing, the control line
//!   and first data line of the block its next loan will most likely take
//!   (`prepare_next`): readers' holds and releases last wrote that control
//!   line, so its transfer to this core then overlaps the message's trip
//!   instead of delaying the next loan.
//!   Segment ids are handed out per (namespace, topic) by this process
//!   (`next_segment_id`), not per writer: every handle of the topic in the
//!   process (two `Topic::<Image>::new("cam")`, one per thread, or a handle
//!   made again after one was dropped while receivers still map its
//!   segments) names its segments `<topic>.pool.<pid>-<nonce>.<id>` with
//!   ids no other handle of the process used, so any number of them can
//!   publish (see `docs/decisions.md`).
//! - **Reader** (`PoolReader`): a cache of mapped segments by (publisher
//!   token, segment id), with the last one used kept beside it so a stream
//!   from one segment is served without hashing. A segment file that is
//!   gone means every message in it is gone: the descriptor is stale (a
//!   counted drop). A hold is the core's `Hold` and a share of the segment
//!   (so the cache drops dead publishers' segments even while views are
//!   alive); those shares are also how the topic knows views are alive
//!   (`views_alive`: a segment's share count above the reader's own). Before
//!   the hold's RMW on the control line, the reader prefetches the message's
//!   first data line, so the two line transfers from the publisher's core
//!   overlap.
//! - **Liveness** (`reclaim_topic`): every topic handle creation reclaims
//!   the topic's dead participants through it; for each dead participant
//!   `p`, while its entry is still marked as being reclaimed (nobody can
//!   join at `p`), it clears bit `p` in every segment of the topic and takes
//!   back the blocks dead loaners left half-written. Only then is the entry
//!   freed (`TopicRegion::reclaim_dead_then`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use horus_nostd::pool::{BlockDescriptor, Claim, Hold, PoolLayout};
use horus_nostd::region::Words;
use horus_nostd::{OwnerToken, TopicRegion};

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

/// The next topic pool segment id of (namespace directory, topic) in this
/// process, shared by all the topic's handles here (see the module docs).
static SEGMENT_IDS: Mutex<Option<HashMap<(PathBuf, String), u32>>> = Mutex::new(None);

/// A segment id for a new segment of `topic`'s pool in `ns` that no handle
/// of this process has used; `None` once the ids below the process pool's
/// ([`PROCESS_SEGMENT_BASE`](crate::process_pool::PROCESS_SEGMENT_BASE))
/// are all used.
fn next_segment_id(ns: &Namespace, topic: &str) -> Option<u32> {
    // A panic while it was held left a map of counters: go on.
    let mut ids = SEGMENT_IDS.lock().unwrap_or_else(PoisonError::into_inner);
    let next = ids
        .get_or_insert_with(HashMap::new)
        .entry((ns.path().to_owned(), topic.to_owned()))
        .or_insert(0);
    let id = *next;
    (id < crate::process_pool::PROCESS_SEGMENT_BASE).then(|| {
        *next += 1;
        id
    })
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
        let words = self.segment.pool().claimed_words(&self.claim);
        // SAFETY: the block is claimed by us (`STATE` is LOANED at a
        // generation no descriptor carries, `OWNER` is our token): by the
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
        let words = self.segment.pool().claimed_words(&self.claim);
        // SAFETY: as in `bytes_mut`: the block is ours alone while claimed;
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
        writer
            .segments
            .iter()
            .any(|s| Arc::ptr_eq(s, &self.segment))
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
    fn drop(&mut self) {
        let owner = self.segment.owner();
        self.segment.pool().give_back(&self.claim, owner);
    }
}

/// Asks the CPU to bring the cache line of `word` here in exclusive state
/// (x86-64 `prefetchw`; a plain read prefetch elsewhere, or nothing). A
/// hint: no memory is accessed in the language's sense, so it is sound on
/// words another process writes concurrently, and it changes no value.
/// The publisher calls it on the next block's control line and first data
/// line right after publishing, so the line transfers from the readers'
/// cores (their hold and release wrote the control line, their reads
/// shared the data line) happen while the message travels, not when the
/// next loan needs them.
#[inline(always)]
fn prefetch_for_write(word: &horus_nostd::sync::AtomicU64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetchw` only hints the cache: it reads and writes no
    // memory in the language's sense, cannot fault, and changes no register
    // or flag. Its encoding (0F 0D /1) executes as a no-op on x86-64 CPUs
    // without the instruction, so it needs no feature check (the
    // `_mm_prefetch` intrinsic would turn `_MM_HINT_ET0` into a read
    // prefetch unless the whole build enables `prfchw`). The address is
    // that of a live reference.
    unsafe {
        std::arch::asm!(
            "prefetchw [{0}]",
            in(reg) word as *const horus_nostd::sync::AtomicU64,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = word;
}

/// Asks the CPU to bring the cache line of `word` here for reading; a hint,
/// as [`prefetch_for_write`].
#[inline(always)]
fn prefetch_for_read(word: &horus_nostd::sync::AtomicU64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `prefetch_for_write`: a cache hint on the address of a
    // live reference, which cannot fault; SSE prefetches are baseline x86-64.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((word as *const horus_nostd::sync::AtomicU64).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = word;
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
            blocks_per_segment: blocks_per_segment.max(1),
            // Ids from PROCESS_SEGMENT_BASE up are the process pool's.
            max_segments: max_segments.clamp(1, crate::process_pool::PROCESS_SEGMENT_BASE),
            segments: Vec::new(),
            spare: Vec::new(),
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
            let id = next_segment_id(&self.ns, &self.topic).ok_or_else(|| {
                WriterError::Segment(SegmentError::File(crate::error::TopicError::Io {
                    path: self.ns.path().to_owned(),
                    op: "number a new pool segment (this process made 2^31 segments of the \
                         topic already: restart it) in",
                    source: std::io::ErrorKind::OutOfMemory.into(),
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
    /// the block recycled is about the one published longest ago.
    #[inline]
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
        if let Some(i) = self.segments.iter().position(|s| Arc::ptr_eq(s, &share)) {
            if self.spare[i].len() < SPARE_SHARES {
                self.spare[i].push(share);
            }
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

/// A held block: the segment (our share of its mapping, which keeps it
/// mapped and shared-locked whether or not the reader still caches it) and
/// the core's hold. 32 bytes; one reference-count RMW to make, one to drop.
pub(crate) struct HeldBlock {
    segment: Arc<Segment>,
    /// `Some` until dropped.
    hold: Option<Hold>,
    generation: u64,
    len: u32,
}

impl std::fmt::Debug for HeldBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldBlock")
            .field("owner", &self.segment.owner())
            .field("segment", &self.segment.pool().segment())
            .field("block", &self.hold.as_ref().map(Hold::block))
            .field("generation", &self.generation)
            .field("len", &self.len)
            .finish()
    }
}

impl HeldBlock {
    /// The message's bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        let Some(hold) = &self.hold else {
            return &[];
        };
        let words = self.segment.pool().held_words(hold);
        let len = (self.len as usize).min(words.len() * 8);
        // SAFETY: we hold the block (our `HOLDERS` bit is set and the hold
        // re-validated its generation): `horus_nostd::pool` (module docs,
        // "Why a held block is never written") proves that no writer that
        // follows the protocol writes its data until the hold is released
        // (in `Drop`), and that every write to it happens-before the hold,
        // so a shared `&[u8]` over it is sound for as long as `self` lives.
        // `len` is at most the block's `words.len() * 8` bytes, which stay
        // mapped while `self.segment` (our share of the mapping) lives.
        unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, len) }
    }

    /// Where the message is: its descriptor's block part.
    pub(crate) fn block_ref(&self) -> crate::pooled::BlockRef {
        crate::pooled::BlockRef {
            owner: self.segment.owner().get(),
            generation: self.generation,
            segment: self.segment.pool().segment(),
            block: self.hold.as_ref().map_or(0, Hold::block),
            len: self.len,
        }
    }
}

impl Drop for HeldBlock {
    #[inline]
    fn drop(&mut self) {
        if let Some(hold) = self.hold.take() {
            self.segment.pool().release_hold(hold);
        }
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
    /// Segments dropped from the cache (dead publishers) while views of
    /// them were alive: weakly, to count those views (see
    /// [`views_alive`](Self::views_alive)) without keeping them mapped.
    retired: Vec<Weak<Segment>>,
}

impl PoolReader {
    /// Holds the block `desc` of `owner`'s pool names, as participant `p`.
    /// Inlined into the receive: the held block (32 bytes) is returned in
    /// registers, not written as words and read back in 16-byte halves (a
    /// store-forwarding stall per view).
    #[inline(always)]
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
        let pool = segment.pool();
        // Ask for the message's first line now, so that its transfer from
        // the publisher's core overlaps the hold's own (a hint: see
        // `prefetch_for_read`); the hold decides whether it may be read.
        if let Some(first) = pool.first_word(desc.block) {
            prefetch_for_read(first);
        }
        match pool.hold_in_place(participant, desc) {
            Ok(hold) => Ok(HeldBlock {
                segment: segment.clone(),
                hold: Some(hold),
                generation: desc.generation,
                len: desc.len,
            }),
            Err(horus_nostd::pool::HoldError::Stale) => Err(ReaderError::Stale),
            Err(e) => Err(ReaderError::Hold(e)),
        }
    }

    /// The segment `key` names, from the cache or mapped now; it becomes
    /// `last`.
    #[cold]
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
        let mut retired = std::mem::take(&mut self.retired);
        self.cache.retain(|_, seg| {
            let alive = liveness::is_alive(ns, seg.owner());
            if !alive {
                retired.push(Arc::downgrade(seg));
            }
            alive
        });
        self.retired = retired;
        // (Our strong shares of the retired ones are gone now: those no
        // view holds are unmapped.)
        self.retired.retain(|s| s.strong_count() > 0);
    }

    /// Is a block held through this reader still held (a view, or a tool's
    /// block, alive)? Every [`HeldBlock`] holds one share of its segment;
    /// the reader holds one per cached segment, plus one in `last`.
    pub(crate) fn views_alive(&self) -> bool {
        let ours = |s: &Arc<Segment>| {
            let last = self.last.as_ref().is_some_and(|(_, l)| Arc::ptr_eq(l, s));
            1 + usize::from(last)
        };
        // A retired segment's strong shares are all views' (the reader's
        // went with `cache` and `last`).
        let alive = self.cache.values().any(|s| Arc::strong_count(s) > ours(s))
            || self.retired.iter().any(|s| s.strong_count() > 0);
        if !alive {
            // Pairs with the Release decrement of each view's share when it
            // was dropped (on any thread): its release of the block, before
            // that, happens-before whatever the caller does next (freeing
            // the participant entry whose index the hold used).
            std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        }
        alive
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
