//! Where every word of a topic region lives.
//!
//! A region is an array of 64-bit words (`&[AtomicU64]`); every position below
//! is a word index, never a pointer, so the same bytes work at any address, in
//! any process, on 32- and 64-bit targets alike. Every word, and every message
//! in a slot, is little-endian: the crate builds for little-endian targets only
//! (a compile error elsewhere), so the bytes are the same on every target.
//! Blocks start on 64-byte cache lines.
//!
//! ```text
//! word 0    header (32 words)        identity and geometry, written once, then MAGIC
//!   24      LANES_ACTIVE             bitmask of lanes that ever published (own line)
//! 32        participants × 8 words   one entry per handle: owner, roles, pid, join time,
//!                                    claim counter, holder tag
//! ..        lanes × 8 words          one entry per publisher lane: owner tag (participant
//!                                    and claim), head hint, reserved count
//! ..        schema_fields × 8 words  flattened self-description of the message
//! ..        lanes × lane             lane l = capacity slots, written only by the
//!                                    participant that holds lane entry l
//!           slot = slot_words words: [stamp, payload words..., padding]
//! ```
//!
//! Participant entries cost one line each; lanes (the rings) exist only for
//! publishers: `lanes` (`max_publishers`, set at creation) of them, claimed
//! by a handle at its first send and freed with its participant entry (see
//! `ring/participants.rs`). So a receiving handle costs the region one
//! 64-byte entry, and the region's size is
//! `(header + entries + schema) + lanes × capacity × slot`. On storage
//! backed on demand (a sparse file: [`Words::RESERVE_ON_CLAIM`]) a lane's
//! memory is reserved when it is first claimed, so only lanes that ever
//! had a publisher cost memory.
//!
//! [`Words::RESERVE_ON_CLAIM`]: crate::region::Words::RESERVE_ON_CLAIM
//!
//! A slot is one line when the stamp and the payload fit in one, else a whole
//! number of 128-byte blocks ([`BLOCK_WORDS`]), and lanes start on a block:
//! the stamp shares its line with the first seven payload words, and the
//! line after it is the other half of its block, which the adjacent-line
//! prefetcher fetches with it.
//!
//! The stamp encoding is documented in [`crate::ring`].

use crate::error::LayoutError;
use crate::message::{Field, FieldKind, Message};

/// `b"HORUS\0tp"` read as a little-endian word; the last word written at init.
pub const MAGIC: u64 = u64::from_le_bytes(*b"HORUS\0tp");
/// The layout version this build writes and reads. 3: a pool of
/// `max_publishers` lanes with their own entries, claimed at a handle's first
/// send (version 2: one lane per participant entry; lanes start on a
/// 128-byte block and a slot longer than a line is a whole number of
/// blocks; version 1: 64-byte lines).
pub const LAYOUT_VERSION: u64 = 3;
/// Words per cache line (64 bytes).
pub const LINE_WORDS: usize = 8;
/// Words per 128-byte block: the pair of lines the adjacent-line
/// prefetcher of x86 cores fetches together. A slot of more than one line
/// starts on a block, so the line holding its stamp brings the next one.
pub const BLOCK_WORDS: usize = 2 * LINE_WORDS;
/// Most participants (handles) one topic can have.
pub const MAX_PARTICIPANTS: usize = 64;
/// Most publisher lanes one topic can have; also the lane-mask width.
pub const MAX_LANES: usize = 64;
/// Most flattened fields a region describes; larger types are stored without
/// self-description (tools then show hex).
pub const MAX_SCHEMA_FIELDS: usize = 128;
/// [`hdr::SCHEMA_FORMAT`]: the schema area holds flattened fields.
pub const SCHEMA_FLAT: u64 = 0;
/// [`hdr::SCHEMA_FORMAT`]: the schema area holds the bytes of an encoded
/// schema (the message is serialized: a length-prefixed frame, see
/// [`crate::ring::RawHandle::send_framed`]).
pub const SCHEMA_SERIALIZED: u64 = 1;
/// Most bytes of an encoded schema a region stores (the whole schema area of
/// [`MAX_SCHEMA_FIELDS`] entries).
pub const MAX_SERIALIZED_SCHEMA_BYTES: usize = MAX_SCHEMA_FIELDS * schema::WORDS * 8;
/// Largest capacity (slots per lane).
pub const MAX_CAPACITY: u32 = 1 << 20;
/// Largest message, in bytes.
pub const MAX_MESSAGE_BYTES: u32 = 16 << 20;

/// Word indices of the header fields.
pub mod hdr;

/// Word offsets inside one participant entry (8 words, one cache line).
pub mod part;

/// Word offsets inside one lane entry (8 words, one cache line, written by
/// the lane's holder on every publish).
pub mod lane;

/// Word offsets inside one schema entry (8 words).
pub mod schema;

/// The geometry of one topic region: everything needed to find a word.
///
/// ```
/// use horus_nostd::{TopicLayout, msgs::Imu};
/// const L: TopicLayout = TopicLayout::for_static::<Imu>(8, 2);
/// static REGION: horus_nostd::region::RegionBuffer<{ L.region_words() }> =
///     horus_nostd::region::RegionBuffer::new();
/// assert!(L.region_bytes() >= 8 * 2 * core::mem::size_of::<Imu>());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicLayout {
    pub(crate) type_size: u32,
    pub(crate) type_align: u32,
    pub(crate) capacity: u32,
    pub(crate) participants: u32,
    pub(crate) lanes: u32,
    pub(crate) schema_fields: u32,
    pub(crate) slot_words: u32,
    pub(crate) participants_at: usize,
    pub(crate) lane_table_at: usize,
    pub(crate) schema_at: usize,
    pub(crate) lanes_at: usize,
    pub(crate) region_words: usize,
}

/// Where one lane's slots are ([`TopicLayout::lane_span`]): word indices of
/// the first slot's stamp and of the word past the last slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LaneSpan {
    pub(crate) first: usize,
    pub(crate) end: usize,
}

impl LaneSpan {
    /// The stamp word of the slot after the one at `at` (a slot of this
    /// lane, `slot_words` long): the next one, or the first after the last.
    /// Equal to `slot_at(lane, seq + 1)` when `at` is `slot_at(lane, seq)`.
    #[inline(always)]
    pub(crate) const fn next(&self, at: usize, slot_words: u32) -> usize {
        let next = at + slot_words as usize;
        if next < self.end { next } else { self.first }
    }
}

impl TopicLayout {
    /// The layout for a message of `type_size` bytes aligned to `type_align`,
    /// `capacity` slots per lane, `participants` handles, every one of which
    /// may publish (as many lanes as participants), and a schema of
    /// `schema_fields` entries. [`with_publishers`](Self::with_publishers)
    /// bounds the lanes.
    pub const fn new(
        type_size: u32,
        type_align: u32,
        capacity: u32,
        participants: u32,
        schema_fields: u32,
    ) -> Result<Self, LayoutError> {
        Self::with_publishers(
            type_size,
            type_align,
            capacity,
            participants,
            participants,
            schema_fields,
        )
    }

    /// [`new`](Self::new) with `max_publishers` lanes: at most that many
    /// handles publish at once (1 to `participants`); the others only
    /// receive, at the cost of their 64-byte participant entry.
    ///
    /// ```
    /// use horus_nostd::TopicLayout;
    /// let all = TopicLayout::new(64, 8, 64, 16, 0).unwrap();
    /// let three = TopicLayout::with_publishers(64, 8, 64, 16, 3, 0).unwrap();
    /// assert_eq!(three.max_publishers(), 3);
    /// assert!(three.region_bytes() <= 32 * 1024 && all.region_bytes() > 128 * 1024);
    /// ```
    pub const fn with_publishers(
        type_size: u32,
        type_align: u32,
        capacity: u32,
        participants: u32,
        max_publishers: u32,
        schema_fields: u32,
    ) -> Result<Self, LayoutError> {
        if capacity < 2 || capacity > MAX_CAPACITY || !capacity.is_power_of_two() {
            return Err(LayoutError::BadCapacity { capacity });
        }
        if participants == 0 || participants as usize > MAX_PARTICIPANTS {
            return Err(LayoutError::BadParticipants { participants });
        }
        if max_publishers == 0 || max_publishers > participants {
            return Err(LayoutError::BadPublishers {
                max_publishers,
                participants,
            });
        }
        if type_size == 0
            || type_size > MAX_MESSAGE_BYTES
            || type_align == 0
            || type_align > 8
            || !type_align.is_power_of_two()
        {
            return Err(LayoutError::BadMessage {
                size: type_size,
                align: type_align,
            });
        }
        let schema_fields = if schema_fields as usize > MAX_SCHEMA_FIELDS {
            0
        } else {
            schema_fields
        };
        let payload_words = (type_size as usize).div_ceil(8);
        // The stamp and the payload in one line, or else whole blocks (see
        // `BLOCK_WORDS`); lanes start on a block.
        let slot_words = if payload_words < LINE_WORDS {
            LINE_WORDS
        } else {
            (1 + payload_words).next_multiple_of(BLOCK_WORDS)
        };
        let participants_at = hdr::WORDS;
        let lane_table_at = participants_at + participants as usize * part::WORDS;
        let schema_at = lane_table_at + max_publishers as usize * lane::WORDS;
        let lanes_at =
            (schema_at + schema_fields as usize * schema::WORDS).next_multiple_of(BLOCK_WORDS);
        // At most 64 * 2^20 * (2^21 + 8) words: fits u64; may not fit a 32-bit usize.
        let lane_words = capacity as u64 * slot_words as u64;
        let total = lanes_at as u64 + max_publishers as u64 * lane_words;
        if total * 8 > usize::MAX as u64 {
            return Err(LayoutError::BadCapacity { capacity });
        }
        Ok(Self {
            type_size,
            type_align,
            capacity,
            participants,
            lanes: max_publishers,
            schema_fields,
            slot_words: slot_words as u32,
            participants_at,
            lane_table_at,
            schema_at,
            lanes_at,
            region_words: total as usize,
        })
    }

    /// The layout for message type `T`.
    pub const fn of<T: Message>(capacity: u32, participants: u32) -> Result<Self, LayoutError> {
        Self::new(
            crate::message::size_u32::<T>(),
            crate::message::canonical_align(T::FIELDS) as u32,
            capacity,
            participants,
            flat_field_count(T::FIELDS) as u32,
        )
    }

    /// The layout for message type `T` with `max_publishers` lanes (see
    /// [`with_publishers`](Self::with_publishers)).
    pub const fn of_publishers<T: Message>(
        capacity: u32,
        participants: u32,
        max_publishers: u32,
    ) -> Result<Self, LayoutError> {
        Self::with_publishers(
            crate::message::size_u32::<T>(),
            crate::message::canonical_align(T::FIELDS) as u32,
            capacity,
            participants,
            max_publishers,
            flat_field_count(T::FIELDS) as u32,
        )
    }

    /// The layout for `T`, for sizing a `static` at compile time (every
    /// participant may publish: see [`for_static_publishers`](Self::for_static_publishers)).
    ///
    /// # Panics
    /// On an invalid geometry; used in a `const`, that is a compile error.
    /// Use [`TopicLayout::of`] for geometry that comes from run-time input.
    pub const fn for_static<T: Message>(capacity: u32, participants: u32) -> Self {
        Self::for_static_publishers::<T>(capacity, participants, participants)
    }

    /// The layout for `T` with exactly the `max_publishers` lanes a firmware
    /// uses, for sizing a `static` at compile time.
    ///
    /// # Panics
    /// On an invalid geometry; used in a `const`, that is a compile error.
    /// Use [`TopicLayout::of_publishers`] for run-time input.
    pub const fn for_static_publishers<T: Message>(
        capacity: u32,
        participants: u32,
        max_publishers: u32,
    ) -> Self {
        match Self::of_publishers::<T>(capacity, participants, max_publishers) {
            Ok(l) => l,
            Err(_) => panic!("invalid topic geometry for a static region"),
        }
    }

    /// Words the region needs.
    pub const fn region_words(&self) -> usize {
        self.region_words
    }

    /// Bytes the region needs.
    pub const fn region_bytes(&self) -> usize {
        self.region_words * 8
    }

    /// Byte offset of the first lane: the header, the tables and the
    /// self-description come before it, the lanes fill the rest. Storage
    /// [backed on claim](crate::region::Words::RESERVE_ON_CLAIM) backs these
    /// bytes when the region is made, and each lane when it is claimed.
    pub const fn lanes_offset(&self) -> usize {
        self.lanes_at * 8
    }

    /// Slots per lane.
    pub const fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Participant entries (most handles at once).
    pub const fn participants(&self) -> u32 {
        self.participants
    }

    /// Publisher lanes (most handles that publish at once).
    pub const fn max_publishers(&self) -> u32 {
        self.lanes
    }

    /// Message size in bytes.
    pub const fn type_size(&self) -> u32 {
        self.type_size
    }

    /// Schema entries stored.
    pub const fn schema_fields(&self) -> u32 {
        self.schema_fields
    }

    /// Words of payload per slot.
    pub(crate) const fn payload_words(&self) -> usize {
        (self.type_size as usize).div_ceil(8)
    }

    /// Words of one lane (`capacity` slots).
    #[inline]
    pub(crate) const fn lane_words(&self) -> usize {
        self.capacity as usize * self.slot_words as usize
    }

    /// Word index of the stamp of the slot holding `seq` in `lane`.
    #[inline]
    pub(crate) const fn slot_at(&self, lane: usize, seq: u64) -> usize {
        let slot = (seq & (self.capacity as u64 - 1)) as usize;
        self.lanes_at + lane * self.lane_words() + slot * self.slot_words as usize
    }

    /// The words of lane `lane`: its first slot's stamp and the word past
    /// its last slot, so that a handle walking the lane moves from slot to
    /// slot with [`LaneSpan::next`] (an add and a compare: no multiply, no
    /// layout field but the slot size).
    #[inline]
    pub(crate) const fn lane_span(&self, lane: usize) -> LaneSpan {
        let first = self.lanes_at + lane * self.lane_words();
        LaneSpan {
            first,
            end: first + self.lane_words(),
        }
    }

    /// Word index of lane `l`'s entry.
    #[inline]
    pub(crate) const fn lane_entry_at(&self, l: usize) -> usize {
        self.lane_table_at + l * lane::WORDS
    }

    /// Word index of participant `p`'s entry.
    #[inline]
    pub(crate) const fn participant_at(&self, p: usize) -> usize {
        self.participants_at + p * part::WORDS
    }

    /// Word index of schema entry `i`.
    #[inline]
    pub(crate) const fn schema_entry_at(&self, i: usize) -> usize {
        self.schema_at + i * schema::WORDS
    }
}

/// Schema entries (of [`schema::WORDS`] words) that hold an encoded schema
/// of `bytes` bytes.
///
/// ```
/// use horus_nostd::layout::serialized_schema_entries;
/// assert_eq!(serialized_schema_entries(1), 1);
/// assert_eq!(serialized_schema_entries(65), 2);
/// ```
pub const fn serialized_schema_entries(bytes: usize) -> usize {
    bytes.div_ceil(schema::WORDS * 8)
}

/// Number of schema entries once nested messages are flattened (`pose.x`,
/// ...): arrays of primitives are one entry (two with a
/// [shape entry](schema::SHAPE_CODE), for two or more dimensions); arrays of
/// messages flatten per element. Saturates at `usize::MAX`.
pub const fn flat_field_count(fields: &[Field]) -> usize {
    let mut n: usize = 0;
    let mut i = 0;
    while i < fields.len() {
        let f = &fields[i];
        // Saturating: `fields` may be anyone's (a hand-written `Message`,
        // a binding's `Field`s), and a count that overflows is a type with
        // more entries than a region describes ([`MAX_SCHEMA_FIELDS`]) anyway.
        n = n.saturating_add(match f.kind {
            FieldKind::Struct => f.count.saturating_mul(flat_field_count(f.nested)),
            _ if f.shape.rank() > 1 => 2,
            _ => 1,
        });
        i += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_geometry() {
        assert_eq!(
            TopicLayout::new(8, 8, 3, 1, 0),
            Err(LayoutError::BadCapacity { capacity: 3 })
        );
        assert_eq!(
            TopicLayout::new(8, 8, 4, 0, 0),
            Err(LayoutError::BadParticipants { participants: 0 })
        );
        assert_eq!(
            TopicLayout::new(8, 8, 4, 65, 0),
            Err(LayoutError::BadParticipants { participants: 65 })
        );
        assert_eq!(
            TopicLayout::with_publishers(8, 8, 4, 2, 3, 0),
            Err(LayoutError::BadPublishers {
                max_publishers: 3,
                participants: 2
            })
        );
        assert_eq!(
            TopicLayout::with_publishers(8, 8, 4, 2, 0, 0),
            Err(LayoutError::BadPublishers {
                max_publishers: 0,
                participants: 2
            })
        );
        assert_eq!(
            TopicLayout::new(0, 8, 4, 1, 0),
            Err(LayoutError::BadMessage { size: 0, align: 8 })
        );
        assert_eq!(
            TopicLayout::new(8, 16, 4, 1, 0),
            Err(LayoutError::BadMessage { size: 8, align: 16 })
        );
    }

    #[test]
    fn slots_are_one_line_or_whole_blocks_starting_on_a_block() {
        for size in [1, 56, 57, 64, 120, 121, 184, 1500, 65536] {
            let l = TopicLayout::new(size, 8, 4, 3, 5).unwrap();
            let one_line = size <= 56;
            assert_eq!(l.slot_words as usize == LINE_WORDS, one_line, "size {size}");
            if !one_line {
                assert_eq!(l.slot_words as usize % BLOCK_WORDS, 0, "size {size}");
            }
            assert!(l.slot_words as usize > l.payload_words()); // the stamp too
            for lane in 0..3 {
                for seq in 0..4 {
                    let at = l.slot_at(lane, seq);
                    assert_eq!(at % (l.slot_words as usize).min(BLOCK_WORDS), 0);
                }
            }
        }
    }

    #[test]
    fn slots_are_cache_line_multiples_and_lanes_do_not_overlap() {
        let l = TopicLayout::new(64, 8, 4, 3, 2).unwrap();
        assert_eq!(l.slot_words, 16); // stamp + 8 payload words, padded to two lines
        assert_eq!(l.lanes_at % BLOCK_WORDS, 0);
        assert_eq!(l.slot_at(0, 4), l.slot_at(0, 0)); // wraps
        assert_eq!(l.slot_at(1, 0), l.slot_at(0, 3) + 16);
        assert_eq!(l.slot_at(2, 3) + 16, l.region_words());
    }

    #[test]
    fn a_lane_span_walks_the_slots_of_its_lane() {
        for (size, capacity) in [(8, 2), (64, 4), (200, 8)] {
            let l = TopicLayout::new(size, 8, capacity, 3, 0).unwrap();
            for lane in 0..3 {
                let span = l.lane_span(lane);
                assert_eq!(span.first, l.slot_at(lane, 0));
                assert_eq!(span.end, span.first + l.lane_words());
                for seq in 0..3 * u64::from(capacity) {
                    let next = span.next(l.slot_at(lane, seq), l.slot_words);
                    assert_eq!(next, l.slot_at(lane, seq + 1), "lane {lane} seq {seq}");
                }
            }
        }
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_message_of_4_gib_or_more_is_too_large_not_cut_to_32_bits() {
        use crate::message::TypeInfo;
        crate::message! {
            /// 2^32 + 8 bytes: its size cut to 32 bits was 8.
            Huge { bytes: [[u8; 1 << 31]; 2], tail: u64 }
        }
        assert_eq!(core::mem::size_of::<Huge>(), (1 << 32) + 8);
        let too_large = LayoutError::BadMessage {
            size: u32::MAX,
            align: 8,
        };
        assert_eq!(TopicLayout::of::<Huge>(4, 2), Err(too_large));
        assert_eq!(TopicLayout::of_publishers::<Huge>(4, 2, 1), Err(too_large));
        assert_eq!(TypeInfo::of::<Huge>().size, u32::MAX);
    }

    #[test]
    fn flat_field_count_saturates() {
        const LEAF: [Field; 1] = [Field::of::<u8>("x", 0)];
        let nested = |count, nested| Field {
            kind: FieldKind::Struct,
            count,
            nested,
            ..Field::of::<u8>("s", 0)
        };
        // `count * entries` and the sum overflowed (a panic in debug).
        let leaves: &'static [Field] = &LEAF;
        let twice = [nested(usize::MAX, leaves), nested(2, leaves)];
        assert_eq!(flat_field_count(&twice), usize::MAX);
        assert_eq!(flat_field_count(&[nested(3, leaves), nested(2, leaves)]), 5);
    }

    #[test]
    fn lanes_cost_only_for_publishers() {
        // A 64-byte message, capacity 64, 16 participants, 3 publishers.
        let l = TopicLayout::with_publishers(64, 8, 64, 16, 3, 2).unwrap();
        assert_eq!(l.lane_table_at, hdr::WORDS + 16 * part::WORDS);
        assert_eq!(l.schema_at, l.lane_table_at + 3 * lane::WORDS);
        assert_eq!(l.lanes_at % BLOCK_WORDS, 0);
        assert_eq!(l.region_words(), l.lanes_at + 3 * 64 * 16);
        assert!(l.region_bytes() <= 32 * 1024, "{}", l.region_bytes());
        // One more participant entry costs one line, not a lane.
        let more = TopicLayout::with_publishers(64, 8, 64, 17, 3, 2).unwrap();
        assert!(more.region_bytes() - l.region_bytes() <= 1024);
    }
}
