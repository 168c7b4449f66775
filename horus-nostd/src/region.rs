//! A topic region: initialising fresh memory and attaching to existing memory.
//!
//! [`TopicRegion::init`] writes the header, the self-description and zeroes
//! everything else, then stores [`MAGIC`] last with Release. [`TopicRegion::attach`]
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

use crate::error::{AttachError, InitError, LayoutError};
use crate::header;
use crate::layout::{
    LAYOUT_VERSION, MAGIC, MAX_MESSAGE_BYTES, MAX_SERIALIZED_SCHEMA_BYTES, SCHEMA_FLAT,
    SCHEMA_SERIALIZED, TopicLayout, hdr, schema, serialized_schema_entries,
};
use crate::message::{Field, FieldKind, Message, ShortName, TYPE_NAME_MAX, TypeInfo};
use crate::sync::{AtomicU64, Ordering};

use core::fmt::{self, Write as _};
use core::ops::Deref;

/// Who owns a region's words: the storage parameter of [`TopicRegion`],
/// [`RawHandle`](crate::RawHandle), [`TopicHandle`](crate::TopicHandle) and
/// the pool's types (as `heapless` has owned and view storage).
///
/// Any cloneable value that dereferences to the words is one: a borrowed
/// slice (`&'r [AtomicU64]`, the default `&'static [AtomicU64]` of a firmware
/// `static`), an `Arc<[AtomicU64]>`, or `horus-std`'s reference-counted
/// mapping of a file. Cloning shares the words; it never copies them. The
/// region validates the words once, when made, and indexes them with
/// bounds checks afterwards: a `Deref` that returned other words later would
/// garble data (or panic on a shorter slice), never cause undefined behaviour.
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
pub trait Words: Deref<Target = [AtomicU64]> + Clone {}

impl<W: Deref<Target = [AtomicU64]> + Clone> Words for W {}

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
    /// Initialises `words` as a topic of `T` with `capacity` slots per lane and
    /// room for `participants` handles, every one of which may publish (a
    /// lane each: [`init_layout`](Self::init_layout) with
    /// [`TopicLayout::of_publishers`] bounds the lanes). `created_ns` is
    /// recorded for tools.
    ///
    /// The memory must not be in use as a topic by anyone else: init zeroes it.
    /// (That is a logic requirement, not a safety one: a concurrent user would
    /// see garbled data, never undefined behaviour.)
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicRegion, msgs::Imu};
    /// static MEM: RegionBuffer<8192> = RegionBuffer::new();
    /// let r = TopicRegion::init::<Imu>(MEM.words(), 4, 2, 0).unwrap();
    /// assert_eq!(r.type_info().name.as_str(), "Imu");
    /// ```
    pub fn init<T: Message>(
        words: W,
        capacity: u32,
        participants: u32,
        created_ns: u64,
    ) -> Result<Self, InitError> {
        let layout = TopicLayout::of::<T>(capacity, participants)?;
        Self::init_layout::<T>(words, layout, created_ns)
    }

    /// Initialises `words` as a topic of `T` with a `layout` made for it
    /// ([`TopicLayout::of_publishers`], [`TopicLayout::for_static_publishers`]):
    /// [`init_with`](Self::init_with) for a message type known at compile time.
    ///
    /// ```
    /// use horus_nostd::{TopicLayout, TopicRegion, msgs::Imu, region::RegionBuffer};
    /// const L: TopicLayout = TopicLayout::for_static_publishers::<Imu>(4, 3, 1);
    /// static MEM: RegionBuffer<{ L.region_words() }> = RegionBuffer::new();
    /// let region = TopicRegion::init_layout::<Imu>(MEM.words(), L, 0).unwrap();
    /// assert_eq!(region.layout().max_publishers(), 1);
    /// ```
    pub fn init_layout<T: Message>(
        words: W,
        layout: TopicLayout,
        created_ns: u64,
    ) -> Result<Self, InitError> {
        Self::init_with(words, layout, TypeInfo::of::<T>(), T::FIELDS, created_ns)
    }

    /// Type-erased [`init`](Self::init): for bindings that know a type only by
    /// its [`TypeInfo`] and fields.
    pub fn init_with(
        words: W,
        layout: TopicLayout,
        type_info: TypeInfo,
        fields: &[Field],
        created_ns: u64,
    ) -> Result<Self, InitError> {
        let region = Self::init_header(words, layout, type_info, created_ns, SCHEMA_FLAT)?;
        if layout.schema_fields > 0 {
            let mut next = 0;
            region.write_schema(fields, 0, &NameBuf::EMPTY, &mut next);
        }
        region.publish();
        Ok(region)
    }

    /// Initialises a region of a *serialized* message type: messages are
    /// length-prefixed frames of at most `layout.type_size()` bytes (see
    /// [`RawHandle::send_framed`](crate::ring::RawHandle::send_framed)), and
    /// the schema area holds `schema`, the encoded description of the type
    /// (its format is the business of whoever encodes it; the region only
    /// stores and bounds it). `layout` must have
    /// [`serialized_schema_entries`]`(schema.len())` schema entries.
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicLayout, TopicRegion, message::{TypeInfo, TypeName}};
    /// use horus_nostd::layout::serialized_schema_entries;
    /// static MEM: RegionBuffer<4096> = RegionBuffer::new();
    /// let schema = b"a schema of 21 bytes.";
    /// let ty = TypeInfo { id: 42, size: 128, align: 4, name: TypeName::new("Plan") };
    /// let layout = TopicLayout::new(128, 4, 4, 2, serialized_schema_entries(schema.len()) as u32).unwrap();
    /// let r = TopicRegion::init_serialized(MEM.words(), layout, ty, schema, 0).unwrap();
    /// let mut out = [0u8; 64];
    /// assert_eq!(r.serialized_schema(&mut out), Some(21));
    /// assert_eq!(&out[..21], schema);
    /// assert_eq!(r.schema().count(), 0);
    /// ```
    pub fn init_serialized(
        words: W,
        layout: TopicLayout,
        type_info: TypeInfo,
        schema: &[u8],
        created_ns: u64,
    ) -> Result<Self, InitError> {
        let entries = serialized_schema_entries(schema.len());
        if schema.is_empty()
            || schema.len() > MAX_SERIALIZED_SCHEMA_BYTES
            || layout.schema_fields as usize != entries
        {
            return Err(InitError::BadSchema {
                bytes: schema.len(),
                max: MAX_SERIALIZED_SCHEMA_BYTES,
            });
        }
        let format = SCHEMA_SERIALIZED | (schema.len() as u64) << 8;
        let mut region = Self::init_header(words, layout, type_info, created_ns, format)?;
        region.serialized_schema_bytes = schema.len() as u32;
        let at = layout.schema_at;
        let area = &region.words[at..at + entries * schema::WORDS];
        for (w, chunk) in area.iter().zip(schema.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            w.store(u64::from_le_bytes(b), Ordering::Relaxed);
        }
        region.publish();
        Ok(region)
    }

    /// Checks `layout` against `type_info`, zeroes `words` and writes the
    /// header (all but [`MAGIC`]: see [`publish`](Self::publish)).
    fn init_header(
        words: W,
        layout: TopicLayout,
        type_info: TypeInfo,
        created_ns: u64,
        schema_format: u64,
    ) -> Result<Self, InitError> {
        if layout.type_size != type_info.size || layout.type_align != type_info.align {
            return Err(InitError::Layout(LayoutError::BadMessage {
                size: type_info.size,
                align: type_info.align,
            }));
        }
        if words.len() < layout.region_words {
            return Err(InitError::RegionTooSmall {
                needed: layout.region_bytes(),
                given: words.len() * 8,
            });
        }
        let all = &words[..layout.region_words];
        header::clear(all);
        let set = |i: usize, v: u64| all[i].store(v, Ordering::Relaxed);
        set(hdr::VERSION, LAYOUT_VERSION);
        set(hdr::REGION_WORDS, layout.region_words as u64);
        set(hdr::TYPE_ID, type_info.id);
        set(hdr::TYPE_SIZE, layout.type_size.into());
        set(hdr::TYPE_ALIGN, layout.type_align.into());
        set(hdr::CAPACITY, layout.capacity.into());
        set(hdr::SLOT_WORDS, layout.slot_words.into());
        set(hdr::PARTICIPANTS, layout.participants.into());
        set(hdr::LANES, layout.lanes.into());
        set(hdr::LANE_TABLE_AT, layout.lane_table_at as u64);
        set(hdr::SCHEMA_FIELDS, layout.schema_fields.into());
        set(hdr::PARTICIPANTS_AT, layout.participants_at as u64);
        set(hdr::SCHEMA_AT, layout.schema_at as u64);
        set(hdr::LANES_AT, layout.lanes_at as u64);
        set(hdr::CREATED_NS, created_ns);
        set(hdr::SCHEMA_FORMAT, schema_format);
        store_name(
            &all[hdr::TYPE_NAME..hdr::TYPE_NAME + hdr::TYPE_NAME_WORDS],
            type_info.name.padded(),
        );
        Ok(Self {
            words,
            layout,
            type_info,
            serialized_schema_bytes: 0,
        })
    }

    /// Makes the initialised region visible to attachers.
    fn publish(&self) {
        header::publish(&self.words, MAGIC);
    }

    /// Attaches to an initialised region of `T`, validating all of it.
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicRegion, AttachError, msgs::{Imu, CmdVel}};
    /// static MEM: RegionBuffer<8192> = RegionBuffer::new();
    /// assert!(matches!(TopicRegion::attach::<Imu>(MEM.words()), Err(AttachError::BadMagic { .. })));
    /// TopicRegion::init::<Imu>(MEM.words(), 4, 2, 0).unwrap();
    /// assert!(TopicRegion::attach::<Imu>(MEM.words()).is_ok());
    /// assert!(matches!(
    ///     TopicRegion::attach::<CmdVel>(MEM.words()),
    ///     Err(AttachError::TypeMismatch { .. })
    /// ));
    /// ```
    pub fn attach<T: Message>(words: W) -> Result<Self, AttachError> {
        Self::attach_with(words, Some(&TypeInfo::of::<T>()))
    }

    /// Attaches to a region, checking the type only if `expected` is given
    /// (tools that decode any topic pass `None`).
    pub fn attach_with(words: W, expected: Option<&TypeInfo>) -> Result<Self, AttachError> {
        let attach_error = header::fault_into!(AttachError);
        header::check_start(&words, hdr::WORDS, MAGIC, LAYOUT_VERSION).map_err(attach_error)?;
        let get = |i: usize| words[i].load(Ordering::Relaxed);
        let small = |i: usize, field: &'static str| {
            u32::try_from(get(i)).map_err(|_| AttachError::BadGeometry { field })
        };
        let type_size = small(hdr::TYPE_SIZE, "type_size")?;
        let type_align = small(hdr::TYPE_ALIGN, "type_align")?;
        let capacity = small(hdr::CAPACITY, "capacity")?;
        let participants = small(hdr::PARTICIPANTS, "participants")?;
        let lanes = small(hdr::LANES, "max_publishers")?;
        let schema_fields = small(hdr::SCHEMA_FIELDS, "schema_fields")?;
        let layout = TopicLayout::with_publishers(
            type_size,
            type_align,
            capacity,
            participants,
            lanes,
            schema_fields,
        )
        .map_err(|e| AttachError::BadGeometry {
            field: match e {
                LayoutError::BadCapacity { .. } => "capacity",
                LayoutError::BadParticipants { .. } => "participants",
                LayoutError::BadPublishers { .. } => "max_publishers",
                LayoutError::BadMessage { size, .. } if size == 0 || size > MAX_MESSAGE_BYTES => {
                    "type_size"
                }
                LayoutError::BadMessage { .. } => "type_align",
            },
        })?;
        let checks: [(usize, u64, &'static str); 7] = [
            (
                hdr::SCHEMA_FIELDS,
                layout.schema_fields.into(),
                "schema_fields",
            ),
            (hdr::SLOT_WORDS, layout.slot_words.into(), "slot_words"),
            (
                hdr::PARTICIPANTS_AT,
                layout.participants_at as u64,
                "participants_at",
            ),
            (
                hdr::LANE_TABLE_AT,
                layout.lane_table_at as u64,
                "lane_table_at",
            ),
            (hdr::SCHEMA_AT, layout.schema_at as u64, "schema_at"),
            (hdr::LANES_AT, layout.lanes_at as u64, "lanes_at"),
            (
                hdr::REGION_WORDS,
                layout.region_words as u64,
                "region_words",
            ),
        ];
        header::check_fields(&words, &checks).map_err(attach_error)?;
        header::check_len(&words, layout.region_words).map_err(attach_error)?;
        let serialized_schema_bytes = check_schema_format(get(hdr::SCHEMA_FORMAT), &layout)?;
        let mut name = [0u8; TYPE_NAME_MAX];
        load_name(
            &words[hdr::TYPE_NAME..hdr::TYPE_NAME + hdr::TYPE_NAME_WORDS],
            &mut name,
        );
        let found = TypeInfo {
            id: get(hdr::TYPE_ID),
            size: type_size,
            align: type_align,
            name: ShortName::from_bytes(&name),
        };
        if let Some(expected) = expected {
            if expected.id != found.id
                || expected.size != found.size
                || expected.align != found.align
            {
                return Err(AttachError::TypeMismatch {
                    expected: expected.name,
                    found: found.name,
                    same_name: expected.name == found.name,
                });
            }
        }
        Ok(Self {
            words,
            layout,
            type_info: found,
            serialized_schema_bytes,
        })
    }

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
    /// [`MAX_SERIALIZED_SCHEMA_BYTES`]); `None` for a plain-data type. If
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
    pub fn schema(&self) -> impl Iterator<Item = SchemaField> + '_ {
        let flat = if self.is_serialized() {
            0
        } else {
            self.layout.schema_fields as usize
        };
        (0..flat).map(move |i| {
            let at = self.layout.schema_entry_at(i);
            let mut name = [0u8; TYPE_NAME_MAX];
            load_name(
                &self.words[at + schema::NAME..at + schema::NAME + schema::NAME_WORDS],
                &mut name,
            );
            let off_size = self.words[at + schema::OFFSET_SIZE].load(Ordering::Relaxed);
            let kind_count = self.words[at + schema::KIND_COUNT].load(Ordering::Relaxed);
            SchemaField {
                name: ShortName::from_bytes(&name),
                offset: off_size as u32,
                size: (off_size >> 32) as u32,
                kind: FieldKind::from_code(kind_count as u8),
                count: kind_count >> 8,
            }
        })
    }

    /// The shared word `i` (bounds-checked; indices come from the validated layout).
    #[inline]
    pub(crate) fn word(&self, i: usize) -> &AtomicU64 {
        &self.words[i]
    }

    fn write_schema(&self, fields: &[Field], base: usize, prefix: &NameBuf, next: &mut usize) {
        for f in fields {
            let mut name = prefix.clone();
            name.push_field(f.name);
            if f.kind == FieldKind::Struct {
                let elem = f.size.checked_div(f.count).unwrap_or(0);
                for i in 0..f.count {
                    let mut indexed = name.clone();
                    if f.count > 1 {
                        indexed.push_index(i);
                    }
                    self.write_schema(f.nested, base + f.offset + i * elem, &indexed, next);
                }
                continue;
            }
            if *next >= self.layout.schema_fields as usize {
                return;
            }
            let at = self.layout.schema_entry_at(*next);
            store_name(
                &self.words[at + schema::NAME..at + schema::NAME + schema::NAME_WORDS],
                &name.padded(),
            );
            let off_size = (base + f.offset) as u64 | (f.size as u64) << 32;
            self.words[at + schema::OFFSET_SIZE].store(off_size, Ordering::Relaxed);
            let kind_count = f.kind as u64 | (f.count as u64) << 8;
            self.words[at + schema::KIND_COUNT].store(kind_count, Ordering::Relaxed);
            *next += 1;
        }
    }
}

/// Validates the [`hdr::SCHEMA_FORMAT`] word against the layout; the bytes
/// of an encoded schema (0 for flat fields).
fn check_schema_format(word: u64, layout: &TopicLayout) -> Result<u32, AttachError> {
    let bad = AttachError::BadGeometry {
        field: "schema_format",
    };
    let bytes = (word >> 8) as usize;
    match word & 0xff {
        SCHEMA_FLAT if bytes == 0 => Ok(0),
        SCHEMA_SERIALIZED
            if bytes > 0
                && bytes <= MAX_SERIALIZED_SCHEMA_BYTES
                && serialized_schema_entries(bytes) == layout.schema_fields as usize =>
        {
            Ok(bytes as u32)
        }
        _ => Err(bad),
    }
}

/// A flattened field name under construction (`pose.position[2].x`), cut at
/// [`TYPE_NAME_MAX`] bytes on a character boundary: once something did not
/// fit, nothing more is added.
#[derive(Clone)]
struct NameBuf {
    name: heapless::String<TYPE_NAME_MAX>,
    cut: bool,
}

impl NameBuf {
    const EMPTY: Self = Self {
        name: heapless::String::new(),
        cut: false,
    };

    fn push_field(&mut self, field: &str) {
        let dot = if self.name.is_empty() { "" } else { "." };
        // A name that does not fit is cut (`write_str` below), not an error.
        let _ = write!(self, "{dot}{field}");
    }

    fn push_index(&mut self, i: usize) {
        let _ = write!(self, "[{i}]");
    }

    /// The name's bytes, NUL-padded, as a region stores them.
    fn padded(&self) -> [u8; TYPE_NAME_MAX] {
        let mut bytes = [0; TYPE_NAME_MAX];
        bytes[..self.name.len()].copy_from_slice(self.name.as_bytes());
        bytes
    }
}

impl fmt::Write for NameBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.cut || self.name.push(c).is_err() {
                self.cut = true;
                return Err(fmt::Error);
            }
        }
        Ok(())
    }
}

fn store_name(words: &[AtomicU64], bytes: &[u8; TYPE_NAME_MAX]) {
    for (w, chunk) in words.iter().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        w.store(u64::from_le_bytes(b), Ordering::Relaxed);
    }
}

fn load_name(words: &[AtomicU64], out: &mut [u8; TYPE_NAME_MAX]) {
    for (w, chunk) in words.iter().zip(out.chunks_exact_mut(8)) {
        chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::{NameBuf, TYPE_NAME_MAX};

    fn path(parts: &[Result<&str, usize>]) -> NameBuf {
        let mut n = NameBuf::EMPTY;
        for p in parts {
            match *p {
                Ok(field) => n.push_field(field),
                Err(i) => n.push_index(i),
            }
        }
        n
    }

    #[test]
    fn names_are_flattened_with_dots_and_indices() {
        let n = path(&[Ok("pose"), Ok("position"), Err(12), Ok("x")]);
        assert_eq!(n.name.as_str(), "pose.position[12].x");
        assert_eq!(&n.padded()[..19], b"pose.position[12].x");
        assert!(n.padded()[19..].iter().all(|&b| b == 0));
        assert_eq!(path(&[Ok("a"), Err(0)]).name.as_str(), "a[0]");
        assert_eq!(
            path(&[Ok("a"), Err(usize::MAX)]).name.as_str(),
            "a[18446744073709551615]"
        );
    }

    #[test]
    fn long_names_are_cut_and_stay_cut() {
        const LONG: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        assert_eq!(LONG.len(), TYPE_NAME_MAX - 2);
        let n = path(&[Ok(LONG), Ok("yz"), Ok("w")]);
        assert_eq!(&n.name[..LONG.len()], LONG);
        assert_eq!(&n.name[LONG.len()..], ".y");
        // Cut before a character that does not fit whole, the name stays
        // valid UTF-8 (it was cut mid-character and read as "<invalid name>").
        let n = path(&[Ok(LONG), Ok("é"), Err(1)]);
        assert_eq!(&n.name[LONG.len()..], ".");
        assert!(core::str::from_utf8(&n.padded()).is_ok());
    }
}
