//! Initialising fresh memory as a topic region: the header, the
//! self-description, then the magic last (see the [module docs](super)).

use super::{TopicRegion, Words};
use crate::error::{InitError, LayoutError};
use crate::header;
use crate::layout::{
    LAYOUT_VERSION, MAGIC, MAX_SERIALIZED_SCHEMA_BYTES, SCHEMA_FLAT, SCHEMA_SERIALIZED,
    TopicLayout, hdr, schema, serialized_schema_entries,
};
use crate::message::{Field, FieldKind, MAX_DIMS, Message, Shape, TYPE_NAME_MAX, TypeInfo};
use crate::sync::{AtomicU64, Ordering};

use core::fmt::{self, Write as _};

impl<W: Words> TopicRegion<W> {
    /// Initialises `words` as a topic of `T` with `capacity` slots per lane and
    /// room for `participants` handles, every one of which may publish (a
    /// lane each: [`init_layout`](Self::init_layout) with
    /// [`TopicLayout::of_publishers`] bounds the lanes). `created_ns` is
    /// recorded for tools.
    ///
    /// The memory must not be in use as a topic by anyone else: init zeroes it
    /// (all but the lanes, for memory [backed on claim](Words::RESERVE_ON_CLAIM),
    /// whose lanes read zero already).
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

    /// Checks `layout` against `type_info`, zeroes `words` (see
    /// [`init`](Self::init)) and writes the
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
        // Memory backed on claim reads zero where never written, and
        // touching its lanes here would back every one of them: they are
        // left to their claimers (see `Words::RESERVE_ON_CLAIM`).
        header::clear(if W::RESERVE_ON_CLAIM {
            &all[..layout.lanes_at]
        } else {
            all
        });
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

    /// Writes the flattened entries of `fields` (at byte `base` of the
    /// message) from entry `*next` on, until the schema is full.
    ///
    /// `fields` are the caller's ([`init_with`](Self::init_with) takes any):
    /// offsets, sizes and counts that do not fit an entry's 32-bit offset
    /// and size or 56-bit count are stored as their largest value (past any
    /// message, as the readers of a schema check), never wrapped into a
    /// plausible one, and never overflow. An array of nested messages that
    /// writes no entry for its first element (no leaf fields) is not walked
    /// further: its other elements would write none either, and a hostile
    /// `count` of `usize::MAX` would take forever.
    fn write_schema(&self, fields: &[Field], base: usize, prefix: &NameBuf, next: &mut usize) {
        for f in fields {
            if *next >= self.layout.schema_fields as usize {
                return;
            }
            let mut name = prefix.clone();
            name.push_field(f.name);
            let field_at = base.saturating_add(f.offset);
            if f.kind == FieldKind::Struct {
                let elem = f.size.checked_div(f.count).unwrap_or(0);
                let mut at = [0; MAX_DIMS];
                for i in 0..f.count {
                    let mut indexed = name.clone();
                    let rank = f.shape.index_of(i, &mut at);
                    for &d in &at[..rank] {
                        indexed.push_index(d);
                    }
                    let before = *next;
                    let elem_at = field_at.saturating_add(i.saturating_mul(elem));
                    self.write_schema(f.nested, elem_at, &indexed, next);
                    if *next == before || *next >= self.layout.schema_fields as usize {
                        break;
                    }
                }
                continue;
            }
            let at = self.layout.schema_entry_at(*next);
            store_name(
                &self.words[at + schema::NAME..at + schema::NAME + schema::NAME_WORDS],
                &name.padded(),
            );
            let offset = u32::try_from(field_at).unwrap_or(u32::MAX);
            let size = u32::try_from(f.size).unwrap_or(u32::MAX);
            let off_size = u64::from(offset) | u64::from(size) << 32;
            self.words[at + schema::OFFSET_SIZE].store(off_size, Ordering::Relaxed);
            let count = u64::try_from(f.count).map_or(u64::MAX, |c| c.min(u64::MAX >> 8));
            let kind_count = f.kind as u64 | count << 8;
            self.words[at + schema::KIND_COUNT].store(kind_count, Ordering::Relaxed);
            *next += 1;
            if f.shape.rank() > 1 && *next < self.layout.schema_fields as usize {
                self.write_shape(f.shape, *next);
                *next += 1;
            }
        }
    }

    /// Writes the shape entry of a multi-dimensional array into entry `i`
    /// (see [`schema::SHAPE_CODE`]).
    fn write_shape(&self, shape: Shape, i: usize) {
        let at = self.layout.schema_entry_at(i);
        for d in 0..schema::NAME_WORDS {
            let word = &self.words[at + schema::NAME + d];
            word.store(u64::from(shape.dim(d)), Ordering::Relaxed);
        }
        let rank = shape.rank() as u64;
        self.words[at + schema::OFFSET_SIZE].store(rank, Ordering::Relaxed);
        let code = u64::from(schema::SHAPE_CODE);
        self.words[at + schema::KIND_COUNT].store(code, Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::{NameBuf, TYPE_NAME_MAX};
    use crate::layout::TopicLayout;
    use crate::message::{Field, FieldKind, Shape, TypeInfo, TypeName};
    use crate::region::TopicRegion;
    use crate::sync::AtomicU64;

    const fn field(kind: FieldKind, offset: usize, size: usize, count: usize) -> Field {
        Field {
            name: "f",
            offset,
            size,
            kind,
            count,
            shape: Shape::SCALAR,
            nested: &[],
        }
    }

    /// A leaf at the last byte offset, of the largest size and count.
    static HUGE_LEAF: [Field; 1] = [field(FieldKind::U8, usize::MAX, usize::MAX, usize::MAX)];
    /// Three elements of a nested message near the end of the address
    /// space: `base + offset + i * elem` overflowed (a panic in debug).
    static NEAR_END: [Field; 1] = [Field {
        nested: &HUGE_LEAF,
        ..field(FieldKind::Struct, usize::MAX - 1, 30, 3)
    }];
    /// An array of `usize::MAX` nested messages without fields, then a leaf:
    /// walked element by element, it never ended.
    static ENDLESS: [Field; 2] = [
        field(FieldKind::Struct, 0, 0, usize::MAX),
        field(FieldKind::U8, 0, 1, 1),
    ];

    #[test]
    fn hostile_fields_are_stored_saturated_without_overflow_or_endless_walks() {
        let words: [AtomicU64; 512] = core::array::from_fn(|_| AtomicU64::new(0));
        let layout = TopicLayout::new(8, 1, 2, 1, 4).unwrap();
        let ty = TypeInfo {
            id: 1,
            size: 8,
            align: 1,
            name: TypeName::new("Hostile"),
        };
        let saturated = |fields: &[Field], entries: usize| {
            let region = TopicRegion::init_with(&words[..], layout, ty, fields, 0).unwrap();
            // The entries written (the others stay zero: no kind).
            assert_eq!(
                region.schema().filter(|f| f.kind.is_some()).count(),
                entries
            );
            for f in region.schema().filter(|f| f.kind.is_some()) {
                // Past any message (as readers check), never wrapped to a
                // small value; a count is `usize::MAX` (on a 32-bit target)
                // or the largest an entry holds.
                assert_eq!(
                    (f.offset, f.size, f.count),
                    (u32::MAX, u32::MAX, (usize::MAX as u64).min(u64::MAX >> 8))
                );
            }
        };
        saturated(&HUGE_LEAF, 1);
        saturated(&NEAR_END, 3);
        // Ends, with the leaf after the empty array described.
        let region = TopicRegion::init_with(&words[..], layout, ty, &ENDLESS, 0).unwrap();
        let leaves: heapless::Vec<_, 4> = region
            .schema()
            .filter(|f| f.kind.is_some())
            .map(|f| (f.offset, f.size))
            .collect();
        assert_eq!(leaves, [(0, 1)]);
    }

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
        // The widest index of the target's usize (a[4294967295] on 32-bit).
        let mut want = heapless::String::<32>::new();
        core::fmt::Write::write_fmt(&mut want, format_args!("a[{}]", usize::MAX)).unwrap();
        assert_eq!(path(&[Ok("a"), Err(usize::MAX)]).name.as_str(), want);
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
