//! A topic region: initialising fresh memory and attaching to existing memory.
//!
//! [`TopicRegion::init`] writes the header, the self-description and zeroes
//! everything else (but the lanes of memory [backed on claim](Words::RESERVE_ON_CLAIM),
//! which read zero already), then stores [`MAGIC`](crate::layout::MAGIC) last with Release. [`TopicRegion::attach`]
//! loads the magic with Acquire and checks every header field against the
//! layout it implies before anything else is read; the geometry it validated is
//! kept in the handle and never read from shared memory again, so a corrupted or
//! hostile region can garble data but never make an index go out of bounds.
//!
//! Who owns the words is the region's type parameter ([`Words`]): a borrowed
//! `&[AtomicU64]` (a `static` [`RegionBuffer`] on a firmware, the default) or
//! a value that owns them and shares them when cloned (`horus-std`'s
//! reference-counted file mapping). Handles hold the region, so they keep
//! its memory as long as they need it by their type.
//!
//! Nothing here is `unsafe` except turning raw memory into words
//! ([`words_from_raw`]); all other access goes through `&[AtomicU64]`.
//! Initialising is in `init.rs`, attaching in `attach.rs`; this file has the
//! words, the region's type and what it reads back from a validated region.

mod attach;
mod init;

use crate::layout::{TopicLayout, hdr, schema};
use crate::message::{FieldKind, MAX_DIMS, Shape, ShortName, TYPE_NAME_MAX, TypeInfo};
use crate::sync::{AtomicU64, Ordering};

use core::ops::{Deref, Range};

/// Who owns a region's words: the storage parameter of [`TopicRegion`],
/// [`RawHandle`](crate::RawHandle), [`TopicHandle`](crate::TopicHandle) and
/// the pool's types (as `heapless` has owned and view storage).
///
/// A borrowed slice (`&'r [AtomicU64]`, the default `&'static [AtomicU64]` of
/// a firmware `static`) is one; `horus-std`'s reference-counted mapping of a
/// file is another. Cloning shares the words; it never copies them. The
/// region validates the words once, when made, and indexes them with
/// bounds checks afterwards: a `Deref` that returned other words later would
/// garble data (or panic on a shorter slice), never cause undefined behaviour.
///
/// **Memory backed on demand.** A topic's lanes are most of its memory and
/// most handles never publish. Storage whose memory is backed only when
/// first touched (a sparse file on tmpfs, whose pages a write *or a read*
/// allocates, and which raises `SIGBUS` when the file system is full) sets
/// [`RESERVE_ON_CLAIM`](Self::RESERVE_ON_CLAIM): then
/// [`TopicRegion::init`] leaves the lanes untouched, and a handle claiming a
/// lane at its first send calls [`reserve`](Self::reserve) on the lane's
/// words before anyone reads or writes them (readers read only lanes a
/// publisher has claimed). A failed reservation refuses that send
/// ([`Refusal::NoMemory`](crate::Refusal::NoMemory)) instead of faulting.
///
/// ```
/// use horus_nostd::{region::{RegionBuffer, Words}, TopicRegion, msgs::CmdVel};
/// fn capacity<W: Words>(region: &TopicRegion<W>) -> u32 {
///     region.layout().capacity()
/// }
/// static MEM: RegionBuffer<4096> = RegionBuffer::new();
/// let region: TopicRegion = TopicRegion::init::<CmdVel>(MEM.words(), 4, 2, 0).unwrap();
/// assert_eq!(capacity(&region), 4);
/// ```
pub trait Words: Deref<Target = [AtomicU64]> + Clone {
    /// Whether the memory is backed only on demand, and words never written
    /// since the memory was made read zero (a new, sparse file): `init`
    /// then zeroes only the region's header and tables, and each lane is
    /// [`reserve`](Self::reserve)d by the first handle that claims it.
    /// False (the default): memory that is always there and may hold
    /// anything (a `static` reused by a second `init`): `init` zeroes all of
    /// the region.
    const RESERVE_ON_CLAIM: bool = false;

    /// Backs the words `words` (indices into these words) with memory, so
    /// that reading and writing them cannot fault; called before a lane is
    /// first touched by the handle that claimed it, and by whoever touches a
    /// claimed lane after its claimer (a reclaim, a takeover). Called again
    /// for words already backed, which must then keep their contents.
    /// The default does nothing: memory that is always backed.
    ///
    /// # Errors
    /// [`OutOfMemory`] if the memory cannot be had (the file system is
    /// full); nothing of `words` is touched then.
    #[inline]
    fn reserve(&self, words: Range<usize>) -> Result<(), OutOfMemory> {
        let _ = words;
        Ok(())
    }
}

impl Words for &[AtomicU64] {}

/// The memory of a lane could not be reserved ([`Words::reserve`]): the
/// storage is out of memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutOfMemory;

/// The default storage: words borrowed for the whole program (a firmware's
/// `static` [`RegionBuffer`]).
pub type StaticWords = &'static [AtomicU64];

/// Statically sized memory for one region, usable in a `static`, aligned to
/// a 128-byte block (see [`BLOCK_WORDS`](crate::layout::BLOCK_WORDS)).
///
/// ```
/// use horus_nostd::{region::RegionBuffer, TopicLayout, TopicRegion, msgs::CmdVel};
/// const L: TopicLayout = TopicLayout::for_static::<CmdVel>(4, 2);
/// static MEM: RegionBuffer<{ L.region_words() }> = RegionBuffer::new();
/// let region = TopicRegion::init::<CmdVel>(MEM.words(), 4, 2, 0).unwrap();
/// assert_eq!(region.layout(), &L);
/// ```
#[cfg(not(loom))]
#[repr(C, align(128))]
pub struct RegionBuffer<const WORDS: usize> {
    words: [AtomicU64; WORDS],
}

#[cfg(not(loom))]
impl<const WORDS: usize> RegionBuffer<WORDS> {
    /// Zeroed memory.
    pub const fn new() -> Self {
        Self {
            words: [const { AtomicU64::new(0) }; WORDS],
        }
    }

    /// The memory as words.
    pub const fn words(&self) -> &[AtomicU64] {
        &self.words
    }
}

#[cfg(not(loom))]
impl<const WORDS: usize> Default for RegionBuffer<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

/// Views `len` bytes at `ptr` as 64-bit atomic words (`len / 8` of them).
///
/// Returns `None` if `ptr` is not 8-byte aligned.
///
/// # Safety
/// For all of `'a`: `ptr` is valid for reads and writes of `len` bytes, the
/// memory stays mapped, and every access to it, by this or any other thread or
/// process, is an atomic access of a whole aligned 64-bit word (as this crate
/// makes them). Nothing else may hold a `&mut` to it.
///
/// Where [`AtomicU64::is_always_lock_free`] is `false` (thumbv6m, thumbv7em,
/// riscv32imac: 64-bit atomics emulated by portable-atomic), an "atomic
/// access" is atomic only against code that takes the same lock: the
/// fallback's spin-lock table in this program image's `.bss`, or this image's
/// `critical-section` implementation (or, under
/// `portable_atomic_unsafe_assume_single_core`, interrupts disabled on this
/// core). So there, every access to the memory must come from this same
/// program image, on cores and privilege levels where that lock excludes
/// the others: not from a second core running its own image (the M4 of a
/// dual-core STM32H745 beside the M7 image: the two lock different tables,
/// and the participant table's compare-and-swap is not atomic between them),
/// and not from an unprivileged RTOS partition, where `cpsid` is ignored and
/// a critical section excludes nothing. Memory shared across images needs
/// native 64-bit atomics; a firmware that shares it can pin that at compile
/// time:
///
/// ```
/// // In a firmware whose region is also mapped by another program image:
/// const _: () = assert!(
///     horus_nostd::sync::AtomicU64::is_always_lock_free(),
///     "a region shared with another program image needs native 64-bit atomics",
/// );
/// ```
#[cfg(not(loom))] // loom's atomics carry model state: not a view of raw memory
pub unsafe fn words_from_raw<'a>(ptr: *mut u8, len: usize) -> Option<&'a [AtomicU64]> {
    // What the SAFETY below relies on, checked on every target.
    const _: () =
        assert!(core::mem::size_of::<AtomicU64>() == 8 && core::mem::align_of::<AtomicU64>() == 8);
    if ptr.is_null() || ptr.align_offset(core::mem::align_of::<AtomicU64>()) != 0 {
        return None;
    }
    // SAFETY: `ptr` is non-null and aligned for AtomicU64 (checked above); the
    // caller guarantees `len` bytes are valid for reads and writes for 'a and
    // only accessed atomically, and `AtomicU64` is 8 bytes aligned to 8 (the
    // const assertion above), so `len / 8` words fit in those bytes. Shared references to atomics
    // permit the concurrent atomic accesses the contract allows.
    Some(unsafe { core::slice::from_raw_parts(ptr.cast::<AtomicU64>(), len / 8) })
}

/// Who holds a participant entry: a non-zero value with the top bit clear.
///
/// `horus-std` makes it from the process id and a per-process nonce; a
/// firmware can number its tasks. The core only compares tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OwnerToken(u64);

impl OwnerToken {
    /// The top bit marks an entry being reclaimed; tokens never use it.
    pub(crate) const RECLAIMING: u64 = 1 << 63;

    /// A token, if `raw` is non-zero with the top bit clear.
    ///
    /// ```
    /// use horus_nostd::OwnerToken;
    /// assert!(OwnerToken::new(7).is_some());
    /// assert!(OwnerToken::new(0).is_none());
    /// assert!(OwnerToken::new(1 << 63).is_none());
    /// ```
    pub const fn new(raw: u64) -> Option<Self> {
        if raw == 0 || raw & Self::RECLAIMING != 0 {
            None
        } else {
            Some(Self(raw))
        }
    }

    /// The raw value.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// One field of a region's stored self-description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaField {
    /// Flattened name (`pose.x`, `ranges`, `joints[1].position`).
    pub name: ShortName,
    /// Byte offset in the message.
    pub offset: u32,
    /// Bytes of the whole field.
    pub size: u32,
    /// Element kind; `None` if the region holds a code this build does not know.
    pub kind: Option<FieldKind>,
    /// Elements (1 for scalars).
    pub count: u64,
    /// The array sizes, outermost first: those of the
    /// [shape entry](crate::layout::schema::SHAPE_CODE) that follows the
    /// field if it has one (and it fits: its elements are `count`), else
    /// `[count]`, none for a count of 1 (`count` beyond `u32::MAX`, which
    /// no valid field has, shows as `u32::MAX`).
    pub shape: Shape,
}

/// A validated view of one topic region, over words owned or borrowed as `W`
/// says (see [`Words`]; `Copy` when `W` is a borrow).
#[derive(Debug, Clone, Copy)]
pub struct TopicRegion<W = StaticWords> {
    /// At least `layout.region_words` words (checked when made).
    pub(crate) words: W,
    pub(crate) layout: TopicLayout,
    type_info: TypeInfo,
    /// Bytes of the encoded schema of a serialized type; 0 for flat fields.
    serialized_schema_bytes: u32,
}

impl<W: Words> TopicRegion<W> {
    /// The validated geometry.
    pub fn layout(&self) -> &TopicLayout {
        &self.layout
    }

    /// The message type the region carries.
    pub fn type_info(&self) -> TypeInfo {
        self.type_info
    }

    /// The words, as owned or borrowed (the whole memory given to `init` or
    /// `attach`, of which the region is the first
    /// [`region_words`](TopicLayout::region_words)).
    pub fn words(&self) -> &W {
        &self.words
    }

    /// The creator's creation timestamp (0 if it had no clock).
    pub fn created_ns(&self) -> u64 {
        self.words[hdr::CREATED_NS].load(Ordering::Relaxed)
    }

    /// True if the region carries a serialized type: length-prefixed frames
    /// (see [`RawHandle::send_framed`](crate::ring::RawHandle::send_framed))
    /// described by an encoded schema ([`serialized_schema`](Self::serialized_schema)).
    pub fn is_serialized(&self) -> bool {
        self.serialized_schema_bytes > 0
    }

    /// Copies the encoded schema of a serialized type into `out` and returns
    /// its length (validated at attach: at most
    /// [`MAX_SERIALIZED_SCHEMA_BYTES`](crate::layout::MAX_SERIALIZED_SCHEMA_BYTES)); `None` for a plain-data type. If
    /// `out` is shorter, only its length is copied (the length returned is
    /// the schema's). The bytes are the creator's: decode them as untrusted.
    pub fn serialized_schema(&self, out: &mut [u8]) -> Option<usize> {
        let len = self.serialized_schema_bytes as usize;
        if len == 0 {
            return None;
        }
        let at = self.layout.schema_at;
        let area = &self.words[at..at + len.div_ceil(8)];
        let n = len.min(out.len());
        for (w, chunk) in area.iter().zip(out[..n].chunks_mut(8)) {
            let b = w.load(Ordering::Relaxed).to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        Some(len)
    }

    /// The stored self-description, flattened; empty if the type had more than
    /// [`MAX_SCHEMA_FIELDS`](crate::layout::MAX_SCHEMA_FIELDS) leaf fields,
    /// or is serialized (see [`serialized_schema`](Self::serialized_schema)).
    ///
    /// The entries are the creator's: a field may lie outside the message or
    /// have a size that does not match its kind and count; check before use.
    /// A [shape entry](crate::layout::schema::SHAPE_CODE) is folded into the
    /// field before it; one that does not fit it is yielded as a field of no
    /// known kind.
    pub fn schema(&self) -> impl Iterator<Item = SchemaField> + '_ {
        let entries = if self.is_serialized() {
            0
        } else {
            self.layout.schema_fields as usize
        };
        let mut i = 0;
        core::iter::from_fn(move || {
            if i >= entries {
                return None;
            }
            let mut field = self.schema_entry(i);
            i += 1;
            let primitive = matches!(field.kind, Some(k) if k != FieldKind::Struct);
            if let Some(shape) = self.shape_entry(i).filter(|_| i < entries && primitive) {
                if shape.elements() == Some(field.count) {
                    field.shape = shape;
                    i += 1;
                }
            }
            Some(field)
        })
    }

    /// Schema entry `i` as a field, its shape the one its count says.
    fn schema_entry(&self, i: usize) -> SchemaField {
        let at = self.layout.schema_entry_at(i);
        let mut name = [0u8; TYPE_NAME_MAX];
        load_name(
            &self.words[at + schema::NAME..at + schema::NAME + schema::NAME_WORDS],
            &mut name,
        );
        let off_size = self.words[at + schema::OFFSET_SIZE].load(Ordering::Relaxed);
        let kind_count = self.words[at + schema::KIND_COUNT].load(Ordering::Relaxed);
        let count = kind_count >> 8;
        let shape = match count {
            1 => Shape::SCALAR,
            n => Shape::SCALAR.outer(u32::try_from(n).unwrap_or(u32::MAX) as usize),
        };
        let name = if kind_count as u8 == schema::SHAPE_CODE {
            ShortName::new("<array shape>")
        } else {
            ShortName::from_bytes(&name)
        };
        SchemaField {
            name,
            offset: off_size as u32,
            size: (off_size >> 32) as u32,
            kind: FieldKind::from_code(kind_count as u8),
            count,
            shape,
        }
    }

    /// The shape held by entry `i` if it is a well-formed shape entry: two
    /// to [`MAX_DIMS`] sizes, each at most `u32::MAX`.
    fn shape_entry(&self, i: usize) -> Option<Shape> {
        if i >= self.layout.schema_fields as usize {
            return None;
        }
        let at = self.layout.schema_entry_at(i);
        let kind_count = self.words[at + schema::KIND_COUNT].load(Ordering::Relaxed);
        if kind_count != u64::from(schema::SHAPE_CODE) {
            return None;
        }
        let rank = self.words[at + schema::OFFSET_SIZE].load(Ordering::Relaxed);
        if !(2..=MAX_DIMS as u64).contains(&rank) {
            return None;
        }
        let mut dims = [0u32; MAX_DIMS];
        for (d, dim) in dims.iter_mut().enumerate().take(rank as usize) {
            let word = self.words[at + schema::NAME + d].load(Ordering::Relaxed);
            *dim = u32::try_from(word).ok()?;
        }
        Shape::new(&dims[..rank as usize])
    }

    /// The shared word `i` (bounds-checked; indices come from the validated layout).
    #[inline]
    pub(crate) fn word(&self, i: usize) -> &AtomicU64 {
        &self.words[i]
    }
}

fn load_name(words: &[AtomicU64], out: &mut [u8; TYPE_NAME_MAX]) {
    for (w, chunk) in words.iter().zip(out.chunks_exact_mut(8)) {
        chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
    }
}
