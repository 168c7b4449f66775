//! A pool region: init, attach (validating every header field), counters for
//! tools, and reclamation of dead loaners and holders.

use super::error::{PoolAttachError, PoolInitError, PoolLayoutError};
use super::{POOL_LAYOUT_VERSION, POOL_MAGIC, PoolLayout, ctl, hdr, state};
use crate::header;
use crate::region::{OwnerToken, StaticWords, Words};
use crate::sync::{AtomicU64, Ordering};

/// A validated view of one pool segment. The geometry is kept here and never
/// read from shared memory again, so hostile memory can garble block
/// contents but never make an index go out of bounds.
///
/// ```
/// use horus_nostd::pool::{PoolLayout, PoolRegion};
/// use horus_nostd::region::RegionBuffer;
/// const L: PoolLayout = PoolLayout::for_static(256, 4);
/// static MEM: RegionBuffer<{ L.region_words() }> = RegionBuffer::new();
/// let pool = PoolRegion::init(MEM.words(), 256, 4, 7, 0).unwrap();
/// assert_eq!(pool.layout(), &L);
/// assert_eq!(PoolRegion::attach(MEM.words()).unwrap().segment(), 7);
/// ```
///
/// Who owns the words is the type parameter `W` (see [`Words`]); loans and
/// block views hold the pool, so they keep its memory by their type.
#[derive(Debug, Clone, Copy)]
pub struct PoolRegion<W = StaticWords> {
    /// At least `layout.region_words` words (checked when made).
    pub(crate) words: W,
    pub(crate) layout: PoolLayout,
    pub(crate) segment: u32,
}

/// A snapshot of a pool's blocks, for tools (Relaxed loads: blocks may change
/// while it is taken).
///
/// ```
/// # use horus_nostd::pool::PoolRegion;
/// # use horus_nostd::region::RegionBuffer;
/// static MEM: RegionBuffer<512> = RegionBuffer::new();
/// let pool = PoolRegion::init(MEM.words(), 64, 4, 0, 0).unwrap();
/// let u = pool.usage();
/// assert_eq!((u.free, u.busy), (4, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolUsage {
    /// Blocks never published or given back (`FREE`, nobody holding).
    pub free: u32,
    /// Blocks being written (`LOANED`), including those of dead loaners not
    /// yet reclaimed.
    pub loaned: u32,
    /// Blocks holding a published message (held or not).
    pub published: u32,
    /// Blocks at least one participant holds.
    pub held: u32,
    /// Blocks a loan cannot take now: loaned, held, or claimed.
    pub busy: u32,
}

/// What one [`PoolRegion::reclaim_dead`] call did.
///
/// ```
/// let r = horus_nostd::pool::ReclaimReport::default();
/// assert_eq!(r.holds_cleared + r.loans_freed, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReclaimReport {
    /// Holder bits of dead participants cleared (one per block and participant).
    pub holds_cleared: u32,
    /// Blocks taken back from dead loaners (half-written blocks freed, and
    /// published blocks whose owner died before letting go).
    pub loans_freed: u32,
}

impl<W: Words> PoolRegion<W> {
    /// Initialises `words` as pool segment `segment` of `blocks` blocks of
    /// `block_size` bytes. `created_ns` is recorded for tools.
    ///
    /// The memory must not be in use by anyone else: init zeroes it (a logic
    /// requirement, not a safety one).
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::region::RegionBuffer;
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// assert!(PoolRegion::init(MEM.words(), 64, 4, 0, 0).is_ok());
    /// assert!(PoolRegion::init(MEM.words(), 64, 64, 0, 0).is_err()); // too small
    /// ```
    pub fn init(
        words: W,
        block_size: u32,
        blocks: u32,
        segment: u32,
        created_ns: u64,
    ) -> Result<Self, PoolInitError> {
        Self::init_with(words, block_size, blocks, segment, created_ns, true)
    }

    /// As [`init`](Self::init), for memory whose block data already reads
    /// as zeros (a new file, a zero-initialised `static`): the header and
    /// the control lines are zeroed and written, the block data is left
    /// untouched, so a large pool costs no write (and, over a file, no page
    /// fault) per data page until a block is used. Given memory that is not
    /// zero, a block's first loan holds whatever was there: the pool works
    /// as ever, only the bytes of unwritten blocks are not zeros.
    ///
    /// ```
    /// # use horus_nostd::pool::{PoolRegion, PoolLayout};
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer, sync::Ordering};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new(); // zeros
    /// let pool = PoolRegion::init_zeroed(MEM.words(), 64, 4, 0, 0).unwrap();
    /// let loan = pool.loan(OwnerToken::new(1).unwrap()).unwrap();
    /// assert!(loan.words().iter().all(|w| w.load(Ordering::Relaxed) == 0));
    /// ```
    pub fn init_zeroed(
        words: W,
        block_size: u32,
        blocks: u32,
        segment: u32,
        created_ns: u64,
    ) -> Result<Self, PoolInitError> {
        Self::init_with(words, block_size, blocks, segment, created_ns, false)
    }

    fn init_with(
        words: W,
        block_size: u32,
        blocks: u32,
        segment: u32,
        created_ns: u64,
        clear_data: bool,
    ) -> Result<Self, PoolInitError> {
        let layout = PoolLayout::new(block_size, blocks)?;
        if words.len() < layout.region_words {
            return Err(PoolInitError::RegionTooSmall {
                needed: layout.region_bytes(),
                given: words.len() * 8,
            });
        }
        let all = &words[..layout.region_words];
        // The magic first in either case (see `header::clear`).
        header::clear(if clear_data {
            all
        } else {
            &all[..layout.data_at]
        });
        let set = |i: usize, v: u64| all[i].store(v, Ordering::Relaxed);
        set(hdr::VERSION, POOL_LAYOUT_VERSION);
        set(hdr::REGION_WORDS, layout.region_words as u64);
        set(hdr::BLOCK_SIZE, block_size.into());
        set(hdr::BLOCKS, blocks.into());
        set(hdr::SEGMENT, segment.into());
        set(hdr::CONTROL_AT, layout.control_at as u64);
        set(hdr::DATA_AT, layout.data_at as u64);
        set(hdr::CREATED_NS, created_ns);
        header::publish(all, POOL_MAGIC);
        Ok(Self {
            words,
            layout,
            segment,
        })
    }

    /// Attaches to an initialised pool segment, validating its whole header.
    ///
    /// ```
    /// # use horus_nostd::pool::{PoolRegion, PoolAttachError};
    /// # use horus_nostd::region::RegionBuffer;
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// assert!(matches!(PoolRegion::attach(MEM.words()), Err(PoolAttachError::BadMagic { .. })));
    /// PoolRegion::init(MEM.words(), 64, 4, 1, 0).unwrap();
    /// assert_eq!(PoolRegion::attach(MEM.words()).unwrap().layout().blocks(), 4);
    /// assert!(PoolRegion::attach(&MEM.words()[..50]).is_err()); // truncated
    /// ```
    pub fn attach(words: W) -> Result<Self, PoolAttachError> {
        let (layout, segment) = checked_header(&words)?;
        header::check_len(&words, layout.region_words)
            .map_err(header::fault_into!(PoolAttachError))?;
        Ok(Self {
            words,
            layout,
            segment,
        })
    }

    /// The words, as owned or borrowed (the whole memory given to `init` or
    /// `attach`, of which the pool is the first
    /// [`region_words`](PoolLayout::region_words)).
    pub fn words(&self) -> &W {
        &self.words
    }

    /// The validated geometry.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::region::RegionBuffer;
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 128, 2, 0, 0).unwrap();
    /// assert_eq!(pool.layout().block_size(), 128);
    /// ```
    pub fn layout(&self) -> &PoolLayout {
        &self.layout
    }

    /// The segment id given at init (checked against every descriptor).
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::region::RegionBuffer;
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// assert_eq!(PoolRegion::init(MEM.words(), 64, 2, 3, 0).unwrap().segment(), 3);
    /// ```
    pub fn segment(&self) -> u32 {
        self.segment
    }

    /// The creator's creation timestamp (0 if it had no clock).
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::region::RegionBuffer;
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// assert_eq!(PoolRegion::init(MEM.words(), 64, 2, 0, 42).unwrap().created_ns(), 42);
    /// ```
    pub fn created_ns(&self) -> u64 {
        self.words[hdr::CREATED_NS].load(Ordering::Relaxed)
    }

    /// Loans refused since the segment was created, because every block was
    /// being written or held (saturating).
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 1, 0, 0).unwrap();
    /// let me = OwnerToken::new(1).unwrap();
    /// let _loan = pool.loan(me).unwrap();
    /// assert!(pool.loan(me).is_err());
    /// assert_eq!(pool.loans_failed(), 1);
    /// ```
    pub fn loans_failed(&self) -> u64 {
        self.words[hdr::LOANS_FAILED].load(Ordering::Relaxed)
    }

    /// Counts the blocks by state (a Relaxed snapshot, for tools).
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 4, 0, 0).unwrap();
    /// let me = OwnerToken::new(1).unwrap();
    /// let d = pool.loan(me).unwrap().publish(3).unwrap();
    /// let view = pool.hold(0, d).unwrap();
    /// let u = pool.usage();
    /// assert_eq!((u.free, u.published, u.held, u.busy), (3, 1, 1, 1));
    /// drop(view);
    /// assert_eq!(pool.usage().busy, 0);
    /// ```
    pub fn usage(&self) -> PoolUsage {
        let mut u = PoolUsage::default();
        for b in 0..self.layout.blocks as usize {
            let s = self.ctl(b, ctl::STATE).load(Ordering::Relaxed);
            let owner = self.ctl(b, ctl::OWNER).load(Ordering::Relaxed);
            let holders = self.ctl(b, ctl::HOLDERS).load(Ordering::Relaxed);
            let st = state::state(s);
            match st {
                state::FREE => u.free += u32::from(holders == 0),
                state::LOANED => u.loaned += 1,
                state::PUBLISHED => u.published += 1,
                _ => {}
            }
            u.held += u32::from(holders != 0);
            let loanable = st == state::FREE || st == state::PUBLISHED;
            u.busy += u32::from(holders != 0 || owner != 0 || !loanable);
        }
        u
    }

    /// Takes back what dead processes left: clears the `HOLDERS` bits of the
    /// participants in `dead_participants` (bit `p` = topic participant `p`,
    /// which the caller knows to be dead), and takes every block whose loaner
    /// `is_alive` says is gone: a half-written block goes back to the pool, a
    /// published one stays readable. `me` must be the caller's own live
    /// token; a live participant's bit and a live loaner's block are never
    /// touched.
    ///
    /// Call it before the dead participants' topic entries are freed, so a
    /// new participant with the same index never inherits a stale bit.
    ///
    /// ```
    /// # use horus_nostd::pool::PoolRegion;
    /// # use horus_nostd::{OwnerToken, region::RegionBuffer};
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 2, 0, 0).unwrap();
    /// let (me, dead) = (OwnerToken::new(1).unwrap(), OwnerToken::new(2).unwrap());
    /// core::mem::forget(pool.loan(dead).unwrap()); // killed mid-write
    /// let d = pool.loan(me).unwrap().publish(8).unwrap();
    /// core::mem::forget(pool.hold(5, d).unwrap()); // participant 5 killed while holding
    /// assert!(pool.loan(me).is_err()); // both blocks stuck
    /// let r = pool.reclaim_dead(me, |t| t != dead, 1 << 5);
    /// assert_eq!((r.holds_cleared, r.loans_freed), (1, 1));
    /// assert!(pool.loan(me).is_ok());
    /// ```
    pub fn reclaim_dead(
        &self,
        me: OwnerToken,
        mut is_alive: impl FnMut(OwnerToken) -> bool,
        dead_participants: u64,
    ) -> ReclaimReport {
        let mut report = ReclaimReport::default();
        for b in 0..self.layout.blocks as usize {
            if dead_participants != 0 {
                // SYNC(holders-release): Release, as a live holder's own
                // release: pairs with the loan's Acquire RMW of HOLDERS.
                let before = self
                    .ctl(b, ctl::HOLDERS)
                    .fetch_and(!dead_participants, Ordering::Release);
                report.holds_cleared += (before & dead_participants).count_ones();
            }
            if self.reclaim_loan(b, me, &mut is_alive) {
                report.loans_freed += 1;
            }
        }
        report
    }

    /// Takes block `b`'s `OWNER` from a dead loaner (or a dead reclaimer) and
    /// frees a half-written block. True if it took the block.
    fn reclaim_loan(
        &self,
        b: usize,
        me: OwnerToken,
        is_alive: &mut impl FnMut(OwnerToken) -> bool,
    ) -> bool {
        let owner = self.ctl(b, ctl::OWNER);
        let current = owner.load(Ordering::Relaxed);
        let Some(holder) = OwnerToken::new(current & !OwnerToken::RECLAIMING) else {
            return false; // free (or a corrupt word that is no token)
        };
        if holder == me || is_alive(holder) {
            return false;
        }
        // SYNC(block-owner): Acquire, as the loan's claim: what the dead
        // loaner (or reclaimer) wrote before dying is ordered before us.
        // Failure: Relaxed, someone else changed it and nothing is read.
        if owner
            .compare_exchange(
                current,
                me.get() | OwnerToken::RECLAIMING,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return false;
        }
        let st = self.ctl(b, ctl::STATE);
        let s = st.load(Ordering::Relaxed);
        if state::state(s) == state::LOANED {
            // A half-written block: never published, so no descriptor names
            // its generation; it simply becomes FREE. A failed CAS means the
            // memory was overwritten: leave it.
            // SYNC(state-owner): we hold OWNER (see the module docs).
            let free = state::encode(state::generation(s), state::FREE);
            let _ = st.compare_exchange(s, free, Ordering::AcqRel, Ordering::Relaxed);
        }
        // SYNC(block-owner): Release pairs with the Acquire claim of the next loaner.
        owner.store(0, Ordering::Release);
        true
    }

    /// Bumps the refused-loan counter, saturating.
    pub(crate) fn count_failed_loan(&self) {
        let w = &self.words[hdr::LOANS_FAILED];
        // Relaxed: a counter for tools; nothing is published through it.
        let mut v = w.load(Ordering::Relaxed);
        while v != u64::MAX {
            match w.compare_exchange(v, v + 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => v = now,
            }
        }
    }

    /// Control word `off` (a [`ctl`] constant) of block `b`.
    #[inline]
    pub(crate) fn ctl(&self, b: usize, off: usize) -> &AtomicU64 {
        &self.control_line(b)[off]
    }

    /// The control line of block `b`, bounds-checked once (`b` comes from
    /// the validated layout), so that its words, indexed by the [`ctl`]
    /// constants, need no further check: the hot paths (claim, publish,
    /// hold) take the line once and use its words.
    #[inline]
    pub(crate) fn control_line(&self, b: usize) -> &[AtomicU64; ctl::WORDS] {
        let at = self.layout.control(b, 0);
        match self.words[at..at + ctl::WORDS].try_into() {
            Ok(line) => line,
            Err(_) => unreachable!("a range of ctl::WORDS words is ctl::WORDS words long"),
        }
    }

    /// The data words of block `b`.
    #[inline]
    pub(crate) fn data(&self, b: usize) -> &[AtomicU64] {
        let at = self.layout.data(b);
        &self.words[at..at + self.layout.block_words()]
    }
}

impl PoolLayout {
    /// The layout the header of a pool segment declares, with every header
    /// field checked against it as [`PoolRegion::attach`] checks them
    /// (magic, version, geometry, offsets, the segment's size). `header`
    /// needs only the first [`hdr::WORDS`] words (a copy read from a file
    /// will do); the segment's length is not checked. So a caller learns how
    /// much memory a segment needs, and refuses a header that asks for more
    /// than its geometry implies, before it maps or reserves anything.
    ///
    /// ```
    /// # use horus_nostd::pool::{PoolAttachError, PoolLayout, PoolRegion, hdr};
    /// # use horus_nostd::region::RegionBuffer;
    /// # use horus_nostd::sync::Ordering;
    /// static MEM: RegionBuffer<512> = RegionBuffer::new();
    /// let pool = PoolRegion::init(MEM.words(), 64, 4, 1, 0).unwrap();
    /// let header = &MEM.words()[..hdr::WORDS];
    /// assert_eq!(PoolLayout::from_header(header), Ok(*pool.layout()));
    /// MEM.words()[hdr::REGION_WORDS].store(1 << 40, Ordering::Relaxed);
    /// assert!(matches!(
    ///     PoolLayout::from_header(header),
    ///     Err(PoolAttachError::BadGeometry { field: "region_words" })
    /// ));
    /// ```
    pub fn from_header(header: &[AtomicU64]) -> Result<Self, PoolAttachError> {
        checked_header(header).map(|(layout, _)| layout)
    }
}

/// Checks the header in the first [`hdr::WORDS`] of `words` (magic first,
/// with Acquire) and returns the layout and segment id it declares. The
/// segment's length is not checked.
fn checked_header(words: &[AtomicU64]) -> Result<(PoolLayout, u32), PoolAttachError> {
    let attach_error = header::fault_into!(PoolAttachError);
    header::check_start(words, hdr::WORDS, POOL_MAGIC, POOL_LAYOUT_VERSION)
        .map_err(attach_error)?;
    let get = |i: usize| words[i].load(Ordering::Relaxed);
    let small = |i: usize, field: &'static str| {
        u32::try_from(get(i)).map_err(|_| PoolAttachError::BadGeometry { field })
    };
    let block_size = small(hdr::BLOCK_SIZE, "block_size")?;
    let blocks = small(hdr::BLOCKS, "blocks")?;
    let segment = small(hdr::SEGMENT, "segment")?;
    let layout = PoolLayout::new(block_size, blocks).map_err(|e| PoolAttachError::BadGeometry {
        field: match e {
            PoolLayoutError::BadBlockSize { .. } => "block_size",
            PoolLayoutError::BadBlocks { .. } => "blocks",
        },
    })?;
    let checks: [(usize, u64, &'static str); 3] = [
        (hdr::CONTROL_AT, layout.control_at as u64, "control_at"),
        (hdr::DATA_AT, layout.data_at as u64, "data_at"),
        (
            hdr::REGION_WORDS,
            layout.region_words as u64,
            "region_words",
        ),
    ];
    header::check_fields(words, &checks).map_err(attach_error)?;
    Ok((layout, segment))
}
