//! The process pool: where `Image::new`, `DepthImage::new`,
//! `Tensor::new`, `PointCloud::xyz` and the other constructors of large
//! messages put their bytes, so that `topic.send(msg)` moves a descriptor
//! and not the bytes.
//!
//! A constructor does not know the topic its message will be sent on, so
//! the block cannot come from a topic's pool. It comes from this process's
//! pool of *unnamed* segments: each one a [`PoolRegion`](horus_nostd::pool)
//! like a topic pool segment, in a file made with `O_TMPFILE` in the base
//! directory of the namespaces (`/dev/shm`, or `HORUS_SHM_DIR`), so it has
//! no name yet, and shared-locked and mapped by this process.
//!
//! **Binding.** The first time a block of segment `S` is sent on a topic
//! `T` (in namespace `N`), `S` is *bound* to that topic handle: it is given
//! the name of one of this process's pool segments of `T`
//! (`<T>.pool.<pid>-<nonce>.<id>` in `N`'s directory, ids from
//! [`PROCESS_SEGMENT_BASE`] so they never meet the topic pool's own) with a
//! hard link (`linkat` of `/proc/self/fd/<fd>`, which never replaces a
//! name). From then on `S` *is* a pool segment of `T` for everyone else:
//! receivers map it from the descriptor's (publisher, segment) as any other,
//! hold blocks with their participant bits of `T`, `T`'s reclaim of dead
//! participants clears their bits in it, `topic list -v` shows it, and the
//! cleaner removes it once no process holds its lock. So every guarantee of
//! the topic pools (`horus_nostd::pool`'s proof, crash safety, exact loss
//! accounting) holds unchanged: nothing in the core, the descriptor or the
//! region layout differs. A segment is bound once, to one handle: holder
//! bits are participant indexes of one topic, so a segment's blocks must
//! never be held by two topics' receivers.
//!
//! **Which segment a constructor loans from.** Segments serve one *size class*
//! (the message's bytes rounded up to a power of two, at least 4 KiB). The pool
//! predicts the handle a new message will be sent on from where the thread sent
//! its earlier messages of that class (the cycle of handles, up to eight, that
//! its latest sends repeat, and how many of its messages are made and not yet
//! sent: a stereo camera's `new(left)`, `new(right)`, `send(left)`,
//! `send(right)` predicts left, then right). A loan tries, in order: the
//! segments bound to the predicted handle; unbound segments this thread
//! reserved, or that no thread did (reserving it); a new segment (reserved by
//! this thread) if the limit allows; then any segment, bound to other handles
//! or reserved by other threads. (The prediction and the reservation are per
//! thread: threads are usually nodes, each sending on its own topics; without
//! the reservation two threads loaning from one unbound segment before either
//! sends would share it, and the one whose topic did not bind it would copy.) A
//! message whose segment is bound to another handle (a prediction missed: the
//! first round of a thread's second topic, an order that changes; or a segment
//! that cannot be linked: a namespace on another file system, no `/proc`) is
//! copied into the topic's pool when sent, as before this module existed;
//! counted in [`ProcessPoolStats::copied_sends`]. `topic.loan(..)` is zero-copy
//! for an explicit topic, always.
//!
//! **Zeroed.** Constructors promise zeros (a black image). A block loaned
//! for the first time is still the zeros of its new file; a recycled one is
//! cleared (its message's bytes, a `memset`).
//!
//! **Limit.** The pool's segments total at most [`limit`] bytes (default
//! [`DEFAULT_LIMIT_BYTES`], set with [`set_limit`]): a new segment has as many
//! of its class's blocks as the room left allows (down to one), and a
//! message of a class whose single block exceeds the whole limit goes on the
//! heap (copied when sent; counted in [`ProcessPoolStats::heap_fallbacks`]
//! and logged once). At the limit a loan
//! first drops free segments of other size classes, then reclaims what dead
//! receivers hold on every bound topic, then fails: the constructors'
//! `try_*` return [`PoolError::ProcessPoolFull`], counted in
//! [`ProcessPoolStats::refused`], and the infallible ones panic with that
//! sentence. If the pool cannot be made at all (no tmpfs, `O_TMPFILE` not
//! supported, the file system full), the bytes go on the heap and `send`
//! copies them, as before: counted in [`ProcessPoolStats::heap_fallbacks`]
//! and logged once.
//!
//! **Lifetime.** A bound segment is dropped from the pool when its topic
//! handle is dropped (messages still being filled keep their own share);
//! unbound ones live as long as the process. A forked child starts with an
//! empty pool of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use horus_nostd::OwnerToken;
use horus_nostd::pool::{MAX_BLOCK_BYTES, PoolLayout};

use crate::pool::LoanedBlock;
use crate::pooled::PoolError;
use crate::shm::pool_file::{self, Segment, SegmentError};
use crate::shm::region_file::MappedRegion;
use crate::shm::{Namespace, liveness};

mod order;
use order::Made;

/// The first segment id of the process pool; a topic pool's own segment
/// ids stay below it.
pub const PROCESS_SEGMENT_BASE: u32 = 1 << 31;
/// The default [`limit`]: 256 MiB of segments.
pub const DEFAULT_LIMIT_BYTES: u64 = 256 << 20;
/// The smallest size class.
const MIN_CLASS: usize = 4096;
/// Segments of small classes hold at least this many bytes of blocks.
const MIN_SEGMENT_BYTES: usize = 256 << 10;
/// Blocks per segment: at least this many...
const MIN_BLOCKS: u32 = 8;
/// ... and at most this many.
const MAX_BLOCKS: u32 = 1024;

static LIMIT: AtomicU64 = AtomicU64::new(DEFAULT_LIMIT_BYTES);
static REFUSED: AtomicU64 = AtomicU64::new(0);
static HEAP_FALLBACKS: AtomicU64 = AtomicU64::new(0);
static ZERO_COPY_SENDS: AtomicU64 = AtomicU64::new(0);
static COPIED_SENDS: AtomicU64 = AtomicU64::new(0);
static WARNED: AtomicBool = AtomicBool::new(false);
static WARNED_LARGE: AtomicBool = AtomicBool::new(false);
static NEXT_LINK: AtomicU64 = AtomicU64::new(1);
/// The next thread number (see [`THREAD`]); 0 means "no thread".
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);
static POOL: Mutex<Option<Pool>> = Mutex::new(None);

thread_local! {
    /// This thread's number in the process (never 0), for segment
    /// reservations ([`ProcSegment::reserved_by`]).
    static THREAD: u64 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

/// This thread's number (never 0).
fn this_thread() -> u64 {
    THREAD.with(|t| *t)
}

/// Sets the most bytes of segments the process pool may hold (a message
/// whose one block exceeds it is made on the heap). Takes effect at the
/// next loan; segments already made stay.
///
/// ```
/// horus::process_pool::set_limit(64 << 20);
/// assert_eq!(horus::process_pool::limit(), 64 << 20);
/// # horus::process_pool::set_limit(horus::process_pool::DEFAULT_LIMIT_BYTES);
/// ```
pub fn set_limit(bytes: u64) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The limit [`set_limit`] set (default [`DEFAULT_LIMIT_BYTES`]).
pub fn limit() -> u64 {
    LIMIT.load(Ordering::Relaxed)
}

/// What the process pool holds and has done since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ProcessPoolStats {
    /// Segments held now.
    pub segments: usize,
    /// Of which bound to a topic handle.
    pub bound: usize,
    /// Bytes of the segments held now.
    pub bytes: u64,
    /// Blocks being filled or held by receivers now.
    pub busy_blocks: u32,
    /// Loans refused at the limit ([`PoolError::ProcessPoolFull`]).
    pub refused: u64,
    /// Messages put on the heap because the pool could not be made, or
    /// because one block of their size class exceeds the [`limit`].
    pub heap_fallbacks: u64,
    /// Messages of the pool sent without a copy.
    pub zero_copy_sends: u64,
    /// Messages of the pool copied into a topic's pool when sent (segment
    /// bound to another handle, or not linkable there).
    pub copied_sends: u64,
}

/// A snapshot of the process pool.
///
/// ```
/// let s = horus::process_pool::stats();
/// assert!(s.bound <= s.segments);
/// ```
pub fn stats() -> ProcessPoolStats {
    let mut s = ProcessPoolStats {
        refused: REFUSED.load(Ordering::Relaxed),
        heap_fallbacks: HEAP_FALLBACKS.load(Ordering::Relaxed),
        zero_copy_sends: ZERO_COPY_SENDS.load(Ordering::Relaxed),
        copied_sends: COPIED_SENDS.load(Ordering::Relaxed),
        ..ProcessPoolStats::default()
    };
    if let Some(pool) = lock().as_ref() {
        s.segments = pool.segments.len();
        s.bound = pool.segments.iter().filter(|p| p.bound() != 0).count();
        s.bytes = pool.bytes;
        s.busy_blocks = pool.busy(|_| true);
    }
    s
}

fn lock() -> std::sync::MutexGuard<'static, Option<Pool>> {
    // A panic while it was held left nothing half-done that matters (a
    // segment list); go on.
    POOL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A topic handle as a destination of process-pool segments: what binding
/// names the file after, and how the pool reclaims what that topic's dead
/// receivers hold. Held by the handle; the pool keeps it weakly.
pub(crate) struct TopicLink {
    id: u64,
    ns: Arc<Namespace>,
    topic: String,
    region: MappedRegion,
}

impl TopicLink {
    pub(crate) fn new(ns: Arc<Namespace>, topic: &str, region: MappedRegion) -> Self {
        Self {
            id: NEXT_LINK.fetch_add(1, Ordering::Relaxed),
            ns,
            topic: topic.to_owned(),
            region,
        }
    }

    fn reclaim(&self) {
        crate::pool::reclaim_topic(&self.ns, &self.topic, &self.region, liveness::own_token());
    }
}

impl Drop for TopicLink {
    /// The handle is gone: its bound segments leave the pool (their files
    /// go once nobody maps them).
    fn drop(&mut self) {
        if let Some(pool) = lock().as_mut() {
            pool.forget(self.id);
        }
    }
}

/// One segment of the pool.
struct ProcSegment {
    segment: Arc<Segment>,
    class: u32,
    /// The [`TopicLink`] id it is bound to; 0 while unbound. Written under
    /// the pool's lock, once.
    bound: AtomicU64,
    /// The thread (its [`THREAD`] number) that first loaned from it while
    /// unbound, or 0: the thread whose send will most likely bind it, and
    /// so the one that loans from it first. Read and written under the
    /// pool's lock only (an atomic for `Sync`; Relaxed).
    reserved_by: AtomicU64,
}

impl ProcSegment {
    fn bound(&self) -> u64 {
        // Relaxed: only this process writes it, under the pool's lock; a
        // stale 0 only sends the reader to the locked path.
        self.bound.load(Ordering::Relaxed)
    }
}

/// A block loaned from the process pool, being filled.
pub(crate) struct ProcessBlock {
    seg: Arc<ProcSegment>,
    block: LoanedBlock,
    made: Made,
}

impl std::fmt::Debug for ProcessBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessBlock")
            .field("block", &self.block)
            .field("bound", &self.seg.bound())
            .finish()
    }
}

impl ProcessBlock {
    pub(crate) fn bytes(&self) -> &[u8] {
        self.block.bytes()
    }
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        self.block.bytes_mut()
    }
}

/// A block claimed in a segment of the pool.
type Claimed = (Arc<ProcSegment>, LoanedBlock);

struct Pool {
    owner: OwnerToken,
    segments: Vec<Arc<ProcSegment>>,
    links: HashMap<u64, Weak<TopicLink>>,
    bytes: u64,
    next_id: u32,
    /// `O_TMPFILE` (or the base directory) is not usable here.
    unavailable: bool,
}

impl Pool {
    fn new(owner: OwnerToken) -> Self {
        Self {
            owner,
            segments: Vec::new(),
            links: HashMap::new(),
            bytes: 0,
            next_id: PROCESS_SEGMENT_BASE,
            unavailable: false,
        }
    }

    /// The pool of this process (a forked child gets a new one).
    fn current(slot: &mut Option<Pool>) -> &mut Pool {
        let me = liveness::own_token();
        if slot.as_ref().is_some_and(|p| p.owner != me) {
            *slot = None;
        }
        slot.get_or_insert_with(|| Pool::new(me))
    }

    fn busy(&self, which: impl Fn(&ProcSegment) -> bool) -> u32 {
        self.segments
            .iter()
            .filter(|s| which(s))
            .map(|s| s.segment.pool().usage().busy)
            .sum()
    }

    fn forget(&mut self, link: u64) {
        let before = self.segments.len();
        self.segments.retain(|s| s.bound() != link);
        if self.segments.len() != before {
            self.recount();
        }
        self.links.remove(&link);
    }

    fn recount(&mut self) {
        self.bytes = self
            .segments
            .iter()
            .map(|s| s.segment.pool().layout().region_bytes() as u64)
            .sum();
    }

    /// A claimed block of class `class` from segments that pass `which`;
    /// an unbound one it comes from is reserved by this thread if nobody
    /// had reserved it.
    fn claim_in(&self, class: u32, which: impl Fn(&ProcSegment) -> bool) -> Option<Claimed> {
        self.segments
            .iter()
            .filter(|s| s.class == class && which(s))
            .find_map(|s| {
                let claim = s.segment.pool().claim(self.owner).ok()?;
                if s.bound() == 0 && s.reserved_by.load(Ordering::Relaxed) == 0 {
                    s.reserved_by.store(this_thread(), Ordering::Relaxed);
                }
                Some((s.clone(), LoanedBlock::new(s.segment.clone(), claim)))
            })
    }

    /// A block of class `class` for a message most likely sent on the
    /// handle `predicted` (see the module docs for the order). Topic links upgraded for a reclaim are left in `keep`, for the
    /// caller to drop once the pool's lock is released (the last share of
    /// one forgets its segments, which takes the lock).
    fn loan(
        &mut self,
        class: u32,
        predicted: Option<u64>,
        keep: &mut Vec<Arc<TopicLink>>,
    ) -> Result<Option<Claimed>, PoolError> {
        if let Some(link) = predicted {
            if let Some(b) = self.claim_in(class, |s| s.bound() == link) {
                return Ok(Some(b));
            }
        }
        let me = this_thread();
        let free_or_mine = |s: &ProcSegment| {
            let by = s.reserved_by.load(Ordering::Relaxed);
            s.bound() == 0 && (by == 0 || by == me)
        };
        if let Some(b) = self.claim_in(class, free_or_mine) {
            return Ok(Some(b));
        }
        if segment_layout(class, limit()).is_none() {
            // Not even one block of this class fits the limit: the message
            // goes on the heap (and is copied when sent), never a panic.
            if !WARNED_LARGE.swap(true, Ordering::Relaxed) {
                log::warn!(
                    "a large message of up to {class} bytes does not fit the process pool's \
                     limit of {} bytes: it is made on the heap and copied when sent; raise \
                     the limit with horus::process_pool::set_limit for zero-copy sends",
                    limit()
                );
            }
            return Ok(None);
        }
        let room = |pool: &Self| limit().saturating_sub(pool.bytes);
        if segment_layout(class, room(self)).is_none() {
            self.drop_idle_other_classes(class);
        }
        if let Some(layout) = segment_layout(class, room(self)) {
            return Ok(self.grow(class, layout));
        }
        if let Some(b) = self.claim_in(class, |_| true) {
            return Ok(Some(b));
        }
        // At the limit: take back what dead receivers hold, once.
        keep.extend(self.links.values().filter_map(Weak::upgrade));
        for link in keep.iter() {
            link.reclaim();
        }
        if let Some(b) = self.claim_in(class, |_| true) {
            return Ok(Some(b));
        }
        REFUSED.fetch_add(1, Ordering::Relaxed);
        Err(PoolError::ProcessPoolFull {
            bytes: class,
            segments: self.segments.len(),
            held: self.bytes,
            limit: limit(),
        })
    }

    /// Drops segments of classes other than `class` that nobody uses (no
    /// block being filled or held): room for a new class.
    fn drop_idle_other_classes(&mut self, class: u32) {
        self.segments
            .retain(|s| s.class == class || s.segment.pool().usage().busy != 0);
        self.recount();
    }

    /// Adds an unbound segment of class `class` and claims a block of it;
    /// `None` if it cannot be made (the caller uses the heap).
    fn grow(&mut self, class: u32, layout: PoolLayout) -> Option<Claimed> {
        let id = self.next_id;
        match pool_file::create_unnamed(self.owner, id, layout) {
            Ok(seg) => {
                self.next_id = self.next_id.checked_add(1).unwrap_or(PROCESS_SEGMENT_BASE);
                self.bytes += layout.region_bytes() as u64;
                let seg = Arc::new(ProcSegment {
                    segment: Arc::new(seg),
                    class,
                    bound: AtomicU64::new(0),
                    reserved_by: AtomicU64::new(this_thread()),
                });
                self.segments.push(seg.clone());
                let claim = seg.segment.pool().claim(self.owner).ok()?;
                Some((seg.clone(), LoanedBlock::new(seg.segment.clone(), claim)))
            }
            Err(e) => {
                // O_TMPFILE refused, no base directory, no /dev/shm: do not
                // try again for every message. A full file system, the
                // descriptor limit or the address space may free up: the
                // next new segment tries again.
                if !passing(&e) {
                    self.unavailable = true;
                }
                if !WARNED.swap(true, Ordering::Relaxed) {
                    log::warn!(
                        "large messages go on the heap and are copied when sent: the process \
                         pool cannot grow ({e:?}); later fallbacks are only counted"
                    );
                }
                None
            }
        }
    }
}

/// Is the reason a segment could not be made one that may pass (space,
/// descriptors or memory that other handles free), rather than one that
/// lasts (no `O_TMPFILE`, no base directory, no permission)?
fn passing(e: &SegmentError) -> bool {
    use crate::error::TopicError;
    match e {
        SegmentError::File(
            TopicError::NoSpace { .. }
            | TopicError::TooManyFiles { .. }
            | TopicError::OutOfMemory { .. },
        ) => true,
        SegmentError::File(TopicError::Io { error, .. }) => {
            error.raw_os_error() == Some(rustix::io::Errno::AGAIN.raw_os_error())
        }
        _ => false,
    }
}

/// The size class of a message of `bytes` bytes, if the pool serves it.
fn class_of(bytes: usize) -> Option<u32> {
    let class = bytes.max(MIN_CLASS).checked_next_power_of_two()?;
    u32::try_from(class).ok().filter(|&c| c <= MAX_BLOCK_BYTES)
}

/// The layout of a new segment of class `class` that takes at most `room`
/// bytes: [`MIN_SEGMENT_BYTES`] of blocks, at least [`MIN_BLOCKS`] and at
/// most [`MAX_BLOCKS`] of them, or as many as `room` has (`None` if not even
/// one block fits).
fn segment_layout(class: u32, room: u64) -> Option<PoolLayout> {
    let blocks =
        (MIN_SEGMENT_BYTES / class as usize).clamp(MIN_BLOCKS as usize, MAX_BLOCKS as usize);
    (1..=blocks as u32)
        .rev()
        .filter_map(|n| PoolLayout::new(class, n).ok())
        .find(|l| l.region_bytes() as u64 <= room)
}

/// A zeroed block of at least `bytes` bytes from the process pool; `None`
/// if the pool cannot serve it (the caller uses the heap).
pub(crate) fn loan_zeroed(bytes: usize) -> Result<Option<ProcessBlock>, PoolError> {
    let Some(class) = class_of(bytes).filter(|_| bytes > 0) else {
        return Ok(None);
    };
    let (made, predicted) = Made::new(class);
    let mut keep = Vec::new();
    let loaned = {
        let mut slot = lock();
        let pool = Pool::current(&mut slot);
        if pool.unavailable {
            Ok(None)
        } else {
            pool.loan(class, predicted, &mut keep)
        }
    };
    drop(keep); // (unlocked now: see `Pool::loan`)
    let loaned = loaned?;
    let Some((seg, block)) = loaned else {
        HEAP_FALLBACKS.fetch_add(1, Ordering::Relaxed);
        return Ok(None);
    };
    let mut block = ProcessBlock { seg, block, made };
    if block.block.generation() != 1 {
        // Recycled: clear the message's words (a new block is still zero).
        let words = bytes.div_ceil(8) * 8;
        block.bytes_mut()[..words].fill(0);
    }
    Ok(Some(block))
}

/// The block, ready to be published on `link`'s topic without a copy; or
/// back, if its segment belongs to another handle or cannot be named for
/// this topic (the caller copies it into the topic's pool).
pub(crate) fn bind(
    block: ProcessBlock,
    link: &Arc<TopicLink>,
) -> Result<LoanedBlock, ProcessBlock> {
    // (Link ids are counted per process: a fork child's may equal its
    // parent's, so an inherited block must be refused before they are
    // compared.)
    block.seg.segment.check_not_inherited("a new large message");
    block.made.sent_on(link.id);
    if block.seg.bound() == link.id {
        ZERO_COPY_SENDS.fetch_add(1, Ordering::Relaxed);
        return Ok(block.block);
    }
    let mut slot = lock();
    let pool = Pool::current(&mut slot);
    let seg = &block.seg;
    let ours = pool.segments.iter().any(|s| Arc::ptr_eq(s, seg));
    if seg.bound() != 0 || !ours || seg.segment.owner() != pool.owner {
        COPIED_SENDS.fetch_add(1, Ordering::Relaxed);
        return Err(block);
    }
    match pool_file::link(&seg.segment, &link.ns, &link.topic) {
        Ok(()) => {
            seg.bound.store(link.id, Ordering::Relaxed);
            pool.links.insert(link.id, Arc::downgrade(link));
            log::debug!(
                "process pool: segment {} bound to topic {} in namespace {}",
                seg.segment.pool().segment(),
                link.topic,
                link.ns.name()
            );
            ZERO_COPY_SENDS.fetch_add(1, Ordering::Relaxed);
            Ok(block.block)
        }
        Err(e) => {
            log::debug!(
                "process pool: segment not linkable into namespace {} ({e}); copying",
                link.ns.name()
            );
            COPIED_SENDS.fetch_add(1, Ordering::Relaxed);
            Err(block)
        }
    }
}

/// Blocks of segments bound to `link` being filled or held now.
pub(crate) fn busy_blocks(link: &TopicLink) -> u32 {
    lock()
        .as_ref()
        .map_or(0, |p| p.busy(|s| s.bound() == link.id))
}

/// Segments bound to `link`.
pub(crate) fn bound_segments(link: &TopicLink) -> usize {
    lock().as_ref().map_or(0, |p| {
        p.segments.iter().filter(|s| s.bound() == link.id).count()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_powers_of_two_from_4_kib() {
        assert_eq!(class_of(1), Some(4096));
        assert_eq!(class_of(4097), Some(8192));
        assert_eq!(class_of(640 * 480 * 3), Some(1 << 20));
        assert_eq!(class_of(usize::MAX), None);
        assert_eq!(segment_layout(4096, u64::MAX).unwrap().blocks(), 64);
        assert_eq!(segment_layout(1 << 20, u64::MAX).unwrap().blocks(), 8);
    }

    #[test]
    fn only_lasting_failures_turn_the_pool_off() {
        let io = |e: rustix::io::Errno| {
            SegmentError::File(crate::shm::namespace::errno_error(
                e,
                std::path::Path::new("/dev/shm/x"),
                "create",
            ))
        };
        for e in [
            rustix::io::Errno::MFILE,
            rustix::io::Errno::NFILE,
            rustix::io::Errno::NOMEM,
        ] {
            assert!(passing(&io(e)), "{e:?}");
        }
        let full = SegmentError::File(crate::error::TopicError::NoSpace {
            path: "/dev/shm/x".into(),
            bytes: 0,
        });
        assert!(passing(&full));
        for e in [
            rustix::io::Errno::OPNOTSUPP,
            rustix::io::Errno::NOENT,
            rustix::io::Errno::ISDIR,
        ] {
            assert!(!passing(&io(e)), "{e:?}");
        }
    }

    #[test]
    fn a_segment_takes_no_more_than_the_room_left() {
        let class = 32 << 20;
        let full = segment_layout(class, u64::MAX).unwrap();
        assert_eq!(full.blocks(), MIN_BLOCKS);
        let two = segment_layout(class, 64 << 20).unwrap();
        assert_eq!(two.blocks(), 1, "two blocks and the header exceed 64 MiB");
        assert!(two.region_bytes() as u64 <= 64 << 20);
        let room = PoolLayout::new(class, 3).unwrap().region_bytes() as u64;
        assert_eq!(segment_layout(class, room).unwrap().blocks(), 3);
        assert!(
            segment_layout(class, class as u64).is_none(),
            "no room for the header"
        );
    }
}
