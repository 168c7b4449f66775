//! The reader: the segments a receiver maps and the blocks its views hold
//! (see the [module docs](super)).

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Weak};

use horus_nostd::OwnerToken;
use horus_nostd::pool::{BlockDescriptor, Hold};

use crate::shm::pool_file::{self, Segment, SegmentError};
use crate::shm::{Namespace, liveness};
use horus_nostd::pool::prefetch_for_read;

/// A held block: the segment (our share of its mapping, which keeps it
/// mapped and shared-locked whether or not the reader still caches it) and
/// the core's hold. 32 bytes; one reference-count RMW to make, one to drop.
pub(crate) struct HeldBlock {
    /// Dropped by `Drop` before it sweeps the parked handles (see
    /// `parked`), so that the sweep does not count this view alive.
    segment: ManuallyDrop<Arc<Segment>>,
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
        self.segment.check_not_inherited("a received message");
        let words = self.segment.pool().held_words(hold);
        let len = (self.len as usize).min(words.len() * 8);
        // SAFETY: we hold the block (our `HOLDERS` bit is set and the hold
        // re-validated its generation; and this is the process that holds
        // it, checked above, not a fork child the view was copied into):
        // `horus_nostd::pool` (module docs, "Why a held block is never
        // written") proves that no writer that
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
    /// Releases the hold (in a child made by `fork()` the hold is the
    /// parent's, and stays), drops the share of the segment, then lets a
    /// handle parked for this view go if it was the last (see `parked`).
    #[inline]
    fn drop(&mut self) {
        if let Some(hold) = self.hold.take() {
            if self.segment.mapped_here() {
                self.segment.pool().release_hold(hold);
            }
        }
        // SAFETY: dropped exactly once, here; `self.segment` is not used
        // again (this is `drop`, and nothing below touches it).
        unsafe { ManuallyDrop::drop(&mut self.segment) };
        super::parked::sweep();
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
    /// Segments found locked by someone else (a hostile process: see
    /// [`pool_file::RECEIVE_LOCK_WAIT`]), with when to try them again:
    /// until then descriptors naming them are refused without waiting.
    locked: HashMap<(u64, u32), (u64, std::path::PathBuf)>,
    /// Empty receives (see [`idle`](Self::idle)) since the clock was last read.
    idle: u32,
    /// When [`idle`](Self::idle) last looked for dead publishers.
    swept_ns: u64,
}

/// How long descriptors naming a segment found locked are refused without
/// trying it again.
const LOCKED_RETRY_NS: u64 = 1_000_000_000;

/// Every this many empty receives, [`PoolReader::idle`] reads the clock...
const IDLE_POLLS: u32 = 16;
/// ...and looks for dead publishers if it has not for this long.
const SWEEP_NS: u64 = 100_000_000;

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
                segment: ManuallyDrop::new(segment.clone()),
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
            None => {
                if let Some((until, path)) = self.locked.get(&(owner, id)) {
                    if crate::now_ns() < *until {
                        return Err(ReaderError::Segment(SegmentError::File(
                            crate::error::TopicError::Locked {
                                path: path.clone(),
                                waited: pool_file::RECEIVE_LOCK_WAIT,
                            },
                        )));
                    }
                }
                match pool_file::open(
                    ns,
                    topic,
                    token,
                    id,
                    pool_file::RECEIVE_LOCK_WAIT,
                    pool_file::Reading::Blocks,
                ) {
                    Ok(Some(s)) => {
                        self.locked.remove(&(owner, id));
                        let s = Arc::new(s);
                        self.cache.insert((owner, id), s.clone());
                        s
                    }
                    Ok(None) => return Err(ReaderError::Stale),
                    Err(e) => {
                        if let SegmentError::File(crate::error::TopicError::Locked {
                            path, ..
                        }) = &e
                        {
                            let now = crate::now_ns();
                            self.locked.retain(|_, (until, _)| *until > now);
                            let until = now.saturating_add(LOCKED_RETRY_NS);
                            self.locked.insert((owner, id), (until, path.clone()));
                        }
                        return Err(ReaderError::Segment(e));
                    }
                }
            }
        };
        Ok(&self.last.insert(((owner, id), segment)).1)
    }

    /// Unmaps the segments of dead publishers (so the cleaner can remove
    /// them once no view holds a block of theirs: a view keeps its own
    /// share of the mapping), and those of live ones that nobody else maps
    /// any more and no view holds: their publisher let them go (dropped
    /// the handle whose pool they were) and never uses them again.
    pub(crate) fn forget_dead(&mut self, ns: &Namespace) {
        self.last = None;
        let mut retired = std::mem::take(&mut self.retired);
        self.cache.retain(|_, seg| {
            let alive = liveness::is_alive(ns, seg.owner());
            if !alive {
                retired.push(Arc::downgrade(seg));
            }
            // (A count of 1: the cache's share only, no view.)
            alive && !(Arc::strong_count(seg) == 1 && seg.held_by_us_alone())
        });
        self.retired = retired;
        // (Our strong shares of the retired ones are gone now: those no
        // view holds are unmapped.)
        self.retired.retain(|s| s.strong_count() > 0);
    }

    /// Called when a receive found no message: unmaps the segments of dead
    /// publishers, and those their publisher let go
    /// ([`forget_dead`](Self::forget_dead)), at most every
    /// [`SWEEP_NS`] and reading the clock only every [`IDLE_POLLS`] calls.
    /// A receiver that never reclaims by itself (a program's subscriber,
    /// `horus topic echo`) would otherwise keep a dead publisher's segments
    /// mapped, and so in /dev/shm (the cleaner sees them held), for its
    /// whole life: one pool more at every restart of the publisher. Only
    /// when idle: a dead publisher sends nothing more, so once the ring has
    /// nothing for us no message still needs its segments (views keep their
    /// own share of the mapping).
    pub(crate) fn idle(&mut self, ns: &Namespace) {
        if self.cache.is_empty() {
            return;
        }
        self.idle = self.idle.wrapping_add(1);
        if self.idle % IDLE_POLLS != 0 {
            return;
        }
        let now = crate::time::now_ns();
        if now.saturating_sub(self.swept_ns) >= SWEEP_NS {
            self.swept_ns = now;
            self.forget_dead(ns);
        }
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
