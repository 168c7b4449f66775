/// [`super::MAGIC`], stored last with Release.
pub const MAGIC: usize = 0;
/// [`super::LAYOUT_VERSION`].
pub const VERSION: usize = 1;
/// Total words of the region.
pub const REGION_WORDS: usize = 2;
/// The message's 64-bit type identity.
pub const TYPE_ID: usize = 3;
/// Message size in bytes.
pub const TYPE_SIZE: usize = 4;
/// Message alignment in bytes.
pub const TYPE_ALIGN: usize = 5;
/// Slots per lane (a power of two).
pub const CAPACITY: usize = 6;
/// Words per slot (stamp + payload, padded to a cache line).
pub const SLOT_WORDS: usize = 7;
/// Participant entries.
pub const PARTICIPANTS: usize = 8;
/// Schema entries.
pub const SCHEMA_FIELDS: usize = 9;
/// Word index of the participant table.
pub const PARTICIPANTS_AT: usize = 10;
/// Word index of the schema.
pub const SCHEMA_AT: usize = 11;
/// Word index of lane 0.
pub const LANES_AT: usize = 12;
/// Creation time in nanoseconds of the creator's clock (0 if it has none).
pub const CREATED_NS: usize = 13;
/// How the schema area describes the message: `format | bytes << 8`,
/// format [`super::SCHEMA_FLAT`] (flattened fields; `bytes` 0) or
/// [`super::SCHEMA_SERIALIZED`] (`bytes` of an encoded schema for a
/// serialized message, see [`crate::region::TopicRegion::init_serialized`]).
/// Regions written before this word had a use hold 0: flat fields.
pub const SCHEMA_FORMAT: usize = 14;
/// Publisher lanes (`max_publishers`).
pub const LANES: usize = 15;
/// The type name, NUL-padded (6 words = 48 bytes).
pub const TYPE_NAME: usize = 16;
/// Words of the type name.
pub const TYPE_NAME_WORDS: usize = 6;
/// Word index of the lane table (one [`super::lane`] entry per lane).
pub const LANE_TABLE_AT: usize = 22;
/// Bitmask of lanes that have published at least once (monotonic).
pub const LANES_ACTIVE: usize = 24;
/// Words of the header.
pub const WORDS: usize = 32;
