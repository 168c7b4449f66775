//! Attaching to an initialised topic region: every header field checked
//! against the layout it implies before anything else is read (see the
//! [module docs](super)).

use super::{TopicRegion, Words, load_name};
use crate::error::{AttachError, LayoutError};
use crate::header;
use crate::layout::{
    LAYOUT_VERSION, MAGIC, MAX_MESSAGE_BYTES, MAX_SERIALIZED_SCHEMA_BYTES, SCHEMA_FLAT,
    SCHEMA_SERIALIZED, TopicLayout, hdr, serialized_schema_entries,
};
use crate::message::{Message, ShortName, TYPE_NAME_MAX, TypeInfo};
use crate::sync::{AtomicU64, Ordering};

impl<W: Words> TopicRegion<W> {
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
        let (layout, serialized_schema_bytes) = checked_header(&words)?;
        header::check_len(&words, layout.region_words).map_err(header::fault_into!(AttachError))?;
        let get = |i: usize| words[i].load(Ordering::Relaxed);
        let (type_size, type_align) = (layout.type_size, layout.type_align);
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
}

impl TopicLayout {
    /// The layout the header of a region declares, with every header field
    /// checked against it as [`TopicRegion::attach_with`] checks them:
    /// magic, version, geometry, every offset, the region's size and the
    /// schema format. `header` needs only the first [`hdr::WORDS`] words of
    /// the region (a copy read from a file will do); the region's length is
    /// not checked. So a caller learns how much memory a region needs, and
    /// refuses a header that asks for more than its geometry implies, before
    /// it maps or reserves anything.
    ///
    /// ```
    /// # use horus_nostd::{region::RegionBuffer, TopicLayout, TopicRegion, AttachError, msgs::Imu};
    /// # use horus_nostd::layout::hdr;
    /// # use horus_nostd::sync::Ordering;
    /// static MEM: RegionBuffer<8192> = RegionBuffer::new();
    /// let region = TopicRegion::init::<Imu>(MEM.words(), 4, 2, 0).unwrap();
    /// let header = &MEM.words()[..hdr::WORDS];
    /// assert_eq!(TopicLayout::from_header(header), Ok(*region.layout()));
    /// MEM.words()[hdr::REGION_WORDS].store(1 << 40, Ordering::Relaxed);
    /// assert!(matches!(
    ///     TopicLayout::from_header(header),
    ///     Err(AttachError::BadGeometry { field: "region_words" })
    /// ));
    /// ```
    pub fn from_header(header: &[AtomicU64]) -> Result<Self, AttachError> {
        checked_header(header).map(|(layout, _)| layout)
    }
}

/// Checks the header in the first [`hdr::WORDS`] of `words` (magic first,
/// with Acquire) and returns the layout it declares and the bytes of its
/// encoded schema (0 for flat fields). The region's length is not checked.
fn checked_header(words: &[AtomicU64]) -> Result<(TopicLayout, u32), AttachError> {
    let attach_error = header::fault_into!(AttachError);
    header::check_start(words, hdr::WORDS, MAGIC, LAYOUT_VERSION).map_err(attach_error)?;
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
    header::check_fields(words, &checks).map_err(attach_error)?;
    let serialized_schema_bytes = check_schema_format(get(hdr::SCHEMA_FORMAT), &layout)?;
    Ok((layout, serialized_schema_bytes))
}

/// Validates the [`hdr::SCHEMA_FORMAT`] word against the layout; the bytes
/// of an encoded schema (0 for flat fields).
fn check_schema_format(word: u64, layout: &TopicLayout) -> Result<u32, AttachError> {
    let bad = AttachError::BadGeometry {
        field: "schema_format",
    };
    // Checked, not cast: on a 32-bit target a cast would read 2^32 + 21 as 21.
    let Ok(bytes) = usize::try_from(word >> 8) else {
        return Err(bad);
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_length_past_32_bits_is_refused_on_every_target() {
        let layout =
            TopicLayout::with_publishers(64, 8, 4, 2, 1, serialized_schema_entries(21) as u32)
                .unwrap();
        let word = |bytes: u64| (bytes << 8) | SCHEMA_SERIALIZED;
        assert_eq!(check_schema_format(word(21), &layout), Ok(21));
        // A 32-bit `as usize` read this as 21, and attached.
        assert_eq!(
            check_schema_format(word((1 << 32) + 21), &layout),
            Err(AttachError::BadGeometry {
                field: "schema_format"
            })
        );
    }
}
