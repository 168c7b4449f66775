//! Large messages over block pools, for every kind at once: the bytes in a
//! shared block, a fixed-size descriptor in the topic's ring.
//!
//! Each large type is a [`Pooled<L>`] for a [`PooledLayout`] `L` that says
//! what the bytes are (an image's geometry and encoding, a tensor's dtype,
//! shape and strides, ...) and how it is written into, and checked out of,
//! its descriptor message (`L::Wire`). Everything else is here, once:
//!
//! - **Send** ([`Topic::try_send`]): the bytes are in a block of this
//!   process's pool for the topic if they were loaned from it with
//!   [`Topic::loan_layout`], or in a block of the process pool
//!   ([`crate::process_pool`]) if a constructor made them (`Image::new`):
//!   no copy in either case (the process pool's segment is named after the
//!   topic at its first send; a block whose segment is named after another
//!   topic, when the pool's prediction of the topic missed, is copied);
//!   otherwise they are copied into a block of the topic's pool. The block is published, and the descriptor
//!   (publisher token, segment, block, generation, length, then the
//!   layout) is sent through the ring as any message is.
//! - **Receive** ([`Topic::try_recv`]): the descriptor is checked against its
//!   layout (a forged or corrupt one is a typed [`PoolError::ForeignDescriptor`],
//!   one whose block this handle still holds, after a [`Topic::rewind`],
//!   [`PoolError::HeldByThisHandle`]; both counted in
//!   [`Topic::rejected_count`]), the block held, and a read-only
//!   [`PoolView`] of it given, released when dropped.
//! - **Accounting**: a descriptor whose block was recycled before it was
//!   held (or whose publisher's pool is gone) is counted as dropped, so
//!   `received + dropped == published` stays exact for each receiver; a
//!   message the pool could not take is counted in [`Topic::unsent_count`].
//! - **Liveness**: while views are alive, the handle's participant entry
//!   stays (their holder bits are its index): a handle dropped before its
//!   views is parked and leaves the topic with the last of them; dead
//!   processes' holds and half-written blocks are reclaimed through
//!   [`crate::pool`].
//! - **`fork()`**: the views, loans and new messages a process holds when
//!   it forks are its parent's in the child: reading or writing them there
//!   panics with a sentence that says so, dropping them there changes
//!   nothing.
//!
//! The kinds: [`Image`](crate::image::Image),
//! [`DepthImage`](crate::depth::DepthImage),
//! [`PointCloud`](crate::pointcloud::PointCloud),
//! [`Tensor`](crate::tensor::Tensor).

mod error;
mod raw;
mod topic;

use std::fmt;
use std::ops::Deref;

use horus_nostd::Message;

use crate::pool::{HeldBlock, LoanedBlock};
use crate::process_pool::{self, ProcessBlock};
#[cfg(doc)]
use crate::topic::Topic;
pub use error::PoolError;
pub(crate) use error::from_segment;
pub use raw::{AnyLayout, PooledKind, RawBlock};
pub(crate) use topic::BlockAt;
#[doc(hidden)]
pub use topic::PoolState;

/// Where a message's bytes are: the block part of every descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    /// The publisher's liveness token (names its pool's segment files).
    pub owner: u64,
    /// The block's generation when published.
    pub generation: u64,
    /// Segment id in the publisher's pool.
    pub segment: u32,
    /// Block index in the segment.
    pub block: u32,
    /// Bytes of the message.
    pub len: u32,
}

/// Two adjacent `u32` fields of a descriptor message as the one word they
/// share in memory. A descriptor built field by field is written with 4-byte
/// stores, and the ring's copy reads it back at once with 8-byte loads, each
/// spanning two of those stores: the CPU cannot forward them from its store
/// buffer and stalls the send (measured: about a tenth of a same-thread
/// image hop). Built from words, it is written with 8-byte stores.
///
/// The word is `first`'s bytes then `second`'s in memory order, made with
/// a shift and an or: built from the bytes (`u64::from_ne_bytes`), the
/// compiler masked and or-ed each byte (some 25 instructions a send).
#[inline(always)]
pub(crate) fn word_pair(first: u32, second: u32) -> u64 {
    let (first, second) = (u64::from(first), u64::from(second));
    if cfg!(target_endian = "little") {
        first | second << 32
    } else {
        first << 32 | second
    }
}

/// Word `i` of a descriptor message, loaded whole: the mirror of
/// [`word_pair`]. The ring's receive writes a descriptor into its
/// destination with 8-byte stores; two adjacent `u32` fields read one by one
/// are merged by the compiler into one 8-byte load that spans two of those
/// stores (`block` and `len`), which the CPU cannot forward from its store
/// buffer either (measured: about a fifth of a same-thread image receive).
/// Fields are therefore read as the words they were stored as, and split.
#[inline(always)]
pub(crate) fn wire_word<W: Message>(wire: &W, i: usize) -> u64 {
    bytemuck::pod_read_unaligned(&bytemuck::bytes_of(wire)[i * 8..i * 8 + 8])
}

/// The two `u32` fields that share a word, as [`word_pair`] joined them.
#[inline(always)]
pub(crate) fn word_halves(w: u64) -> (u32, u32) {
    let (low, high) = (w as u32, (w >> 32) as u32);
    if cfg!(target_endian = "little") {
        (low, high)
    } else {
        (high, low)
    }
}

/// The [`BlockRef`] of a descriptor message: every pooled descriptor starts
/// with `owner`, `generation`, `segment`, `block`, `len` (words 0 to 3; see
/// [`wire_word`]).
#[inline(always)]
pub(crate) fn block_of<W: Message>(wire: &W) -> BlockRef {
    let (segment, block) = word_halves(wire_word(wire, 2));
    BlockRef {
        owner: wire_word(wire, 0),
        generation: wire_word(wire, 1),
        segment,
        block,
        len: word_halves(wire_word(wire, 3)).0,
    }
}

/// For a kind's error enum (its `Display`, `Error` and `From<PoolError>` are
/// `thiserror`'s): `Debug` that prints the `Display` sentence.
macro_rules! kind_error {
    ($error:ty) => {
        impl ::std::fmt::Debug for $error {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }
    };
}
pub(crate) use kind_error;

/// What the bytes of one kind of large message are, and how that travels in
/// its descriptor message. Implemented by each kind's layout
/// ([`ImageLayout`](crate::image::ImageLayout), ...).
pub trait PooledLayout: Copy + fmt::Debug + 'static {
    /// The descriptor message the ring carries: a [`BlockRef`] and this layout.
    type Wire: Message;
    /// The kind, as sentences name it (`"image"`).
    const KIND: &'static str;
    /// Bytes of the message this layout describes.
    fn bytes(&self) -> usize;
    /// The descriptor of a message of this layout in `block`.
    fn to_wire(&self, block: BlockRef) -> Self::Wire;
    /// The block and the layout a descriptor names; the layout is checked
    /// (the reason it is not valid otherwise, as a phrase).
    fn from_wire(wire: &Self::Wire) -> (BlockRef, Result<Self, String>);
}

/// The bytes of a message to send: in a block of this process's pool
/// (constructors), in a block loaned from a topic's pool, or on the heap
/// (where the process pool cannot be made); 8-byte aligned.
enum Bytes {
    Heap(Vec<u64>),
    Loaned(LoanedBlock),
    /// Boxed: keeps `Bytes` (and every `Pooled` moved through a send) as
    /// small as the two other forms make it.
    Process(Box<ProcessBlock>),
}

/// A large message to send: its layout (reachable through `Deref`: an
/// image's `width()`, a tensor's `shape()`) and its bytes, 8-byte aligned.
pub struct Pooled<L: PooledLayout> {
    layout: L,
    bytes: Bytes,
}

impl<L: PooledLayout> fmt::Debug for Pooled<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(L::KIND)
            .field("layout", &self.layout)
            .field("loaned", &self.is_loaned())
            .finish()
    }
}

impl<L: PooledLayout> Pooled<L> {
    /// A message of `layout` whose bytes are zeros in a block of this
    /// process's pool ([`crate::process_pool`]: sending it moves only a
    /// descriptor). Each kind has its own constructors too: `Image::new`,
    /// `Tensor::new`, ...
    ///
    /// # Panics
    /// With the sentence of [`try_zeroed`](Self::try_zeroed)'s error, when
    /// the process pool is at its limit.
    #[track_caller]
    pub fn zeroed(layout: L) -> Self {
        match Self::try_zeroed(layout) {
            Ok(p) => p,
            Err(e) => panic!("new {}: {e}", L::KIND),
        }
    }

    /// As [`zeroed`](Self::zeroed), or [`PoolError::ProcessPoolFull`] when
    /// the process pool is at its limit. (Where the pool cannot be made at
    /// all, the bytes go on the heap and sending copies them.)
    pub fn try_zeroed(layout: L) -> Result<Self, PoolError> {
        let bytes = match process_pool::loan_zeroed(layout.bytes())? {
            Some(block) => Bytes::Process(Box::new(block)),
            None => Bytes::Heap(vec![0; layout.bytes().div_ceil(8)]),
        };
        Ok(Self { layout, bytes })
    }

    /// `data` (of exactly `layout.bytes()` bytes, checked by the caller),
    /// copied into a block of the process pool.
    pub(crate) fn with_data(layout: L, data: &[u8]) -> Result<Self, PoolError> {
        let mut p = Self::try_zeroed(layout)?;
        p.data_mut().copy_from_slice(data);
        Ok(p)
    }

    /// The layout.
    pub fn layout(&self) -> &L {
        &self.layout
    }

    /// The bytes (8-byte aligned).
    pub fn data(&self) -> &[u8] {
        let len = self.layout.bytes();
        match &self.bytes {
            Bytes::Heap(w) => &bytemuck::cast_slice(w)[..len],
            Bytes::Loaned(b) => &b.bytes()[..len],
            Bytes::Process(b) => &b.bytes()[..len],
        }
    }

    /// The bytes, writable (8-byte aligned): for a loaned message
    /// ([`Topic::loan_layout`]), the pool block itself.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let len = self.layout.bytes();
        match &mut self.bytes {
            Bytes::Heap(w) => &mut bytemuck::cast_slice_mut(w)[..len],
            Bytes::Loaned(b) => &mut b.bytes_mut()[..len],
            Bytes::Process(b) => &mut b.bytes_mut()[..len],
        }
    }

    /// Are the bytes in a pool block: a topic's ([`Topic::loan_layout`])
    /// or this process's ([`crate::process_pool`])? (Sending then copies
    /// nothing, unless the block is another topic's.)
    pub fn is_loaned(&self) -> bool {
        !matches!(self.bytes, Bytes::Heap(_))
    }
}

impl<L: PooledLayout> Deref for Pooled<L> {
    type Target = L;
    fn deref(&self) -> &L {
        &self.layout
    }
}

/// A received large message: its layout (through `Deref`) and a read-only
/// view of its bytes in the publisher's pool block, which no publisher
/// rewrites until the view is dropped.
pub struct PoolView<L: PooledLayout> {
    layout: L,
    held: HeldBlock,
}

impl<L: PooledLayout> fmt::Debug for PoolView<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(L::KIND)
            .field("layout", &self.layout)
            .field("block", &self.held)
            .finish()
    }
}

impl<L: PooledLayout> PoolView<L> {
    /// The layout.
    pub fn layout(&self) -> &L {
        &self.layout
    }
    /// The bytes, in the shared block (no copy; 8-byte aligned).
    pub fn data(&self) -> &[u8] {
        self.held.bytes()
    }
    /// The descriptor the ring carried (rebuilt from the layout and the
    /// block, which are what the receiver checked it to be).
    pub fn descriptor(&self) -> L::Wire {
        self.layout.to_wire(self.held.block_ref())
    }
}

impl<L: PooledLayout> Deref for PoolView<L> {
    type Target = L;
    fn deref(&self) -> &L {
        &self.layout
    }
}

/// A large message's layout and bytes, sent ([`Pooled`]) or received
/// ([`PoolView`]): each kind's typed accessors (a tensor's elements, a depth
/// image's millimetres, a point cloud's points) are written once over it,
/// in a trait of that kind's module that `horus::prelude` brings.
pub trait PooledData {
    /// The kind's layout.
    type Layout: PooledLayout;
    /// The layout.
    fn layout(&self) -> &Self::Layout;
    /// The bytes (8-byte aligned).
    fn data(&self) -> &[u8];
}

impl<L: PooledLayout> PooledData for Pooled<L> {
    type Layout = L;
    fn layout(&self) -> &L {
        &self.layout
    }
    fn data(&self) -> &[u8] {
        Pooled::data(self)
    }
}

impl<L: PooledLayout> PooledData for PoolView<L> {
    type Layout = L;
    fn layout(&self) -> &L {
        &self.layout
    }
    fn data(&self) -> &[u8] {
        PoolView::data(self)
    }
}

/// The block and the layout a descriptor names, the layout checked by the
/// kind and against the block's length.
pub(crate) fn checked<L: PooledLayout>(wire: &L::Wire) -> (BlockRef, Result<L, String>) {
    let (block, layout) = L::from_wire(wire);
    let layout = layout.and_then(|l| {
        if l.bytes() == block.len as usize {
            Ok(l)
        } else {
            Err(format!(
                "its {} needs {} bytes, the descriptor says {}",
                L::KIND,
                l.bytes(),
                block.len
            ))
        }
    });
    (block, layout)
}

/// [`checked`] for the receive: the block and the layout if it is valid
/// (`None`: [`checked`] says why). Inlined, with no `Result<L, String>` to
/// carry, so the layout stays in registers: carried in that `Result`, it
/// was stored in bytes and read back as words, a store-forwarding stall per
/// view.
#[inline(always)]
pub(crate) fn valid<L: PooledLayout>(wire: &L::Wire) -> Option<(BlockRef, L)> {
    match L::from_wire(wire) {
        (block, Ok(l)) if l.bytes() == block.len as usize => Some((block, l)),
        _ => None,
    }
}
