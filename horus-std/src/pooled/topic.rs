//! A pooled topic handle: its state (its pool as a publisher, the segments
//! it maps as a receiver, its counts), its send and receive, and its
//! builder's pool settings (see the [module docs](super)).

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::sync::Arc;

use horus_nostd::pool::{BlockDescriptor, HoldError};

use super::{BlockRef, Bytes, PoolError, PoolView, Pooled, PooledLayout, checked, error, valid};
use crate::payload::{Payload, PayloadContext, PayloadCounts, PoolOptions};
use crate::pool::{HeldBlock, LiveViews, LoanedBlock, PoolReader, PoolWriter, ReaderError};
use crate::process_pool::{self, TopicLink};
use crate::shm::Namespace;
use crate::topic::{Topic, TopicBuilder};

/// Where a receiver holds blocks: its topic and participant index.
pub(crate) struct BlockAt<'a> {
    pub(crate) ns: &'a Namespace,
    pub(crate) topic: &'a str,
    pub(crate) participant: u32,
    /// The kind, for the sentence of a refused descriptor.
    pub(crate) kind: &'static str,
}

impl BlockAt<'_> {
    /// Holds `block` through `reader`: `Err(None)` if it is stale (a
    /// dropped message), `Err(Some)` if the descriptor is refused. Inlined
    /// into the receive (the view is returned in registers); the refusals'
    /// sentences are made out of line.
    #[inline(always)]
    pub(crate) fn hold(
        &self,
        reader: &mut PoolReader,
        block: BlockRef,
    ) -> Result<HeldBlock, Option<PoolError>> {
        let desc = BlockDescriptor {
            generation: block.generation,
            segment: block.segment,
            block: block.block,
            len: block.len,
            reserved: 0,
        };
        match reader.hold(self.ns, self.topic, self.participant, block.owner, &desc) {
            Ok(held) => Ok(held),
            Err(e) => Err(self.refusal(e)),
        }
    }

    /// What a block the reader could not hold means: `None`, a dropped
    /// message (stale); or the typed error of a refused descriptor.
    #[cold]
    fn refusal(&self, e: ReaderError) -> Option<PoolError> {
        let foreign = |reason: String| error::foreign(self.topic, self.kind, reason);
        Some(match e {
            ReaderError::Stale => return None,
            ReaderError::BadOwner(o) => foreign(format!("publisher token {o:#x} is invalid")),
            ReaderError::Hold(HoldError::AlreadyHeld) => PoolError::HeldByThisHandle {
                topic: self.topic.to_owned(),
                kind: self.kind,
            },
            ReaderError::Hold(e) => foreign(e.to_string()),
            ReaderError::Segment(e) => error::from_segment(self.topic, e),
        })
    }
}

/// A pooled topic handle's own state: its pool as a publisher, the segments
/// it maps as a receiver, and its counts.
#[doc(hidden)]
pub struct PoolState {
    /// This handle as a destination of process-pool segments (made at its
    /// first send of one; dropping it drops the segments bound to it).
    link: OnceCell<Arc<TopicLink>>,
    writer: RefCell<PoolWriter>,
    reader: RefCell<PoolReader>,
    stale: Cell<u64>,
    rejected: Cell<u64>,
    unsent: Cell<u64>,
    warned: Cell<bool>,
}

impl fmt::Debug for PoolState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolState").finish_non_exhaustive()
    }
}

impl<L: PooledLayout> Payload for Pooled<L> {
    type Wire = L::Wire;
    type Received = PoolView<L>;
    type State = PoolState;

    fn check_options(name: &str, pool: &PoolOptions) -> crate::Result<()> {
        Ok(crate::pool::check_options(name, pool)?)
    }

    fn new_state(ctx: &PayloadContext<'_>) -> PoolState {
        PoolState {
            link: OnceCell::new(),
            writer: RefCell::new(PoolWriter::new(
                ctx.namespace.clone(),
                ctx.name,
                // Checked by `check_options`: 0 if not given.
                crate::pool::block_bytes(&ctx.pool).unwrap_or(0),
                ctx.pool.blocks_per_segment,
                ctx.pool.max_segments,
            )),
            reader: RefCell::new(PoolReader::default()),
            stale: Cell::new(0),
            rejected: Cell::new(0),
            unsent: Cell::new(0),
            warned: Cell::new(false),
        }
    }

    fn send(topic: &Topic<Self>, msg: Self) {
        let st = topic.payload_state();
        match topic.try_send(msg) {
            Ok(()) => {}
            // Counted and reported as a plain topic's refused send is.
            Err(PoolError::Refused { reason, .. }) => topic.count_unsent(reason),
            Err(e) => {
                st.unsent.set(st.unsent.get() + 1);
                if !st.warned.replace(true) {
                    log::warn!("{e} (later unsent messages are only counted)");
                }
            }
        }
    }

    fn recv(topic: &Topic<Self>) -> Option<PoolView<L>> {
        loop {
            match topic.try_recv()? {
                Ok(v) => return Some(v),
                Err(e) => log::debug!("{e}"),
            }
        }
    }

    fn counts(topic: &Topic<Self>) -> PayloadCounts {
        let st = topic.payload_state();
        PayloadCounts {
            stale: st.stale.get(),
            rejected: st.rejected.get(),
            unsent: st.unsent.get(),
        }
    }

    fn take_live_views(topic: &Topic<Self>) -> Option<LiveViews> {
        // Views still hold pool blocks under our participant index: the
        // entry (and so the index) stays ours until they are gone, so
        // nobody else can join at it while our bits are set.
        let mut reader = topic.payload_state().reader.try_borrow_mut().ok()?;
        reader
            .views_alive()
            .then(|| LiveViews(std::mem::take(&mut *reader)))
    }
}

impl<L: PooledLayout> TopicBuilder<Pooled<L>> {
    /// Bytes per pool block (1 to
    /// [`MAX_BLOCK_BYTES`](horus_nostd::pool::MAX_BLOCK_BYTES), rounded up
    /// to 64); default: the first message's size. Out of range (0 too), [`build`](TopicBuilder::build) is
    /// [`TopicError::PoolOption`](crate::error::TopicError::PoolOption).
    pub fn block_size(mut self, bytes: u32) -> Self {
        self.pool.block_size = Some(bytes);
        self
    }
    /// Blocks per pool segment (default 8; 1 to
    /// [`MAX_BLOCKS`](horus_nostd::pool::MAX_BLOCKS)).
    pub fn blocks_per_segment(mut self, n: u32) -> Self {
        self.pool.blocks_per_segment = n;
        self
    }
    /// Segments this publisher's pool may grow to (default 4): at most
    /// `max_segments * blocks_per_segment` messages in flight or held (1 to
    /// [`MAX_SEGMENTS`](crate::pool::MAX_SEGMENTS)).
    pub fn max_segments(mut self, n: u32) -> Self {
        self.pool.max_segments = n;
        self
    }
}

impl<L: PooledLayout> Topic<Pooled<L>> {
    #[inline]
    fn loan_block(&self, bytes: usize) -> Result<LoanedBlock, PoolError> {
        let mut writer = self.payload_state().writer.borrow_mut();
        writer
            .loan(bytes, || {
                self.reclaim_dead();
            })
            .map_err(|e| error::from_writer(self.name(), e))
    }

    /// A message of `layout` whose bytes are a block of this publisher's
    /// pool: fill it through [`Pooled::data_mut`] and send it here without
    /// a copy. The bytes are not cleared (a recycled block holds an older
    /// message of this topic; a new one zeros): write every byte. (Each kind
    /// has a `loan` taking its own geometry.)
    #[inline]
    pub fn loan_layout(&self, layout: L) -> Result<Pooled<L>, PoolError> {
        let block = self.loan_block(layout.bytes())?;
        Ok(Pooled {
            layout,
            bytes: Bytes::Loaned(block),
        })
    }

    /// A block of this publisher's pool holding a copy of `bytes`: the send
    /// of a message whose bytes are not already one (out of line, so that
    /// the zero-copy send stays small enough to inline).
    #[cold]
    #[inline(never)]
    fn copied(&self, bytes: &[u8]) -> Result<LoanedBlock, PoolError> {
        let mut b = self.loan_block(bytes.len())?;
        b.bytes_mut()[..bytes.len()].copy_from_slice(bytes);
        Ok(b)
    }

    /// Publishes `msg`, or says why not. Never blocks. ([`Topic::send`]
    /// counts a failure in [`unsent_count`](Topic::unsent_count) instead.)
    #[inline]
    pub fn try_send(&self, msg: Pooled<L>) -> Result<(), PoolError> {
        let Pooled { layout, bytes } = msg;
        let len = layout.bytes();
        let block = match bytes {
            Bytes::Loaned(b) if b.is_from(&self.payload_state().writer.borrow()) => b,
            Bytes::Loaned(other) => self.copied(&other.bytes()[..len])?,
            Bytes::Heap(w) => self.copied(&bytemuck::cast_slice(&w)[..len])?,
            Bytes::Process(p) => match process_pool::bind(*p, self.link()) {
                Ok(b) => b,
                Err(p) => self.copied(&p.bytes()[..len])?,
            },
        };
        let (published, share) = block.publish(len);
        let (d, owner) = published.map_err(|reason| PoolError::NotPublished {
            topic: self.name().to_owned(),
            reason,
        })?;
        let sent = self.try_send_wire(&layout.to_wire(BlockRef {
            owner: owner.get(),
            generation: d.generation,
            segment: d.segment,
            block: d.block,
            len: d.len,
        }));
        let mut writer = self.payload_state().writer.borrow_mut();
        writer.recycle(share);
        // Refused: the block is published with no descriptor anywhere, so
        // the next loan takes it back (nobody can hold it).
        sent.map_err(|reason| PoolError::Refused {
            topic: self.name().to_owned(),
            reason,
        })?;
        writer.prepare_next();
        Ok(())
    }

    /// The next message, or the typed error of a refused descriptor; `None`
    /// if none is waiting. Descriptors whose block was recycled are counted
    /// as dropped and skipped. ([`Topic::recv`] skips refused descriptors.)
    #[inline]
    pub fn try_recv(&self) -> Option<Result<PoolView<L>, PoolError>> {
        let st = self.payload_state();
        let mut wire = <L::Wire as bytemuck::Zeroable>::zeroed();
        loop {
            if !self.recv_wire_into(&mut wire) {
                if let Ok(mut reader) = st.reader.try_borrow_mut() {
                    reader.idle(self.shm_namespace());
                }
                return None;
            }
            match self.hold(&wire) {
                Ok(v) => return Some(Ok(v)),
                Err(None) => st.stale.set(st.stale.get() + 1),
                Err(Some(e)) => {
                    st.rejected.set(st.rejected.get() + 1);
                    return Some(Err(e));
                }
            }
        }
    }

    /// `Err(None)`: stale (dropped); `Err(Some)`: refused.
    #[inline(always)]
    fn hold(&self, wire: &L::Wire) -> Result<PoolView<L>, Option<PoolError>> {
        let Some((block, layout)) = valid::<L>(wire) else {
            return Err(Some(self.refused_layout(wire)));
        };
        let st = self.payload_state();
        let at = BlockAt {
            ns: self.shm_namespace(),
            topic: self.name(),
            participant: self.participant_index(),
            kind: L::KIND,
        };
        let held = at.hold(&mut st.reader.borrow_mut(), block)?;
        Ok(PoolView { layout, held })
    }

    /// The typed error of a descriptor whose layout is not valid.
    #[cold]
    fn refused_layout(&self, wire: &L::Wire) -> PoolError {
        let reason = checked::<L>(wire).1.err().unwrap_or_default();
        error::foreign(self.name(), L::KIND, reason)
    }

    /// Frees what dead processes hold on this topic: their participant
    /// entries, their holds on pool blocks, the blocks they were writing;
    /// and unmaps dead publishers' segments no view uses. Returns the
    /// entries freed. Runs by itself when a handle is created, and when this
    /// publisher's pool is exhausted.
    pub fn reclaim_dead(&self) -> u32 {
        let ns = self.shm_namespace();
        let me = crate::shm::liveness::own_token();
        let freed = crate::pool::reclaim_topic(ns, self.name(), self.region(), me);
        if let Ok(mut r) = self.payload_state().reader.try_borrow_mut() {
            r.forget_dead(ns);
        }
        freed
    }

    /// Descriptors refused (see [`try_recv`](Self::try_recv)): invalid ones,
    /// and replays of messages this handle still holds a view of.
    pub fn rejected_count(&self) -> u64 {
        self.payload_state().rejected.get()
    }

    /// This handle as a destination of process-pool segments.
    fn link(&self) -> &Arc<TopicLink> {
        self.payload_state().link.get_or_init(|| {
            Arc::new(TopicLink::new(
                self.shm_namespace().clone(),
                self.name(),
                self.region().clone(),
            ))
        })
    }

    /// Pool segments this publisher has made for this topic, and segments
    /// of the process pool bound to this handle (see [`crate::process_pool`]).
    pub fn pool_segments(&self) -> usize {
        let bound = self
            .payload_state()
            .link
            .get()
            .map_or(0, |l| process_pool::bound_segments(l));
        self.payload_state().writer.borrow().segments().len() + bound
    }

    /// Pool segments (of any publisher) this handle has mapped to read.
    pub fn mapped_segments(&self) -> usize {
        self.payload_state().reader.borrow().mapped()
    }

    /// Blocks of this publisher's pool for this topic, and of the process
    /// pool's segments bound to this handle, that readers hold or that are
    /// being written now (a snapshot).
    pub fn busy_blocks(&self) -> u32 {
        let bound = self
            .payload_state()
            .link
            .get()
            .map_or(0, |l| process_pool::busy_blocks(l));
        self.payload_state()
            .writer
            .borrow()
            .segments()
            .iter()
            .map(|s| s.pool().usage().busy)
            .sum::<u32>()
            + bound
    }
}
