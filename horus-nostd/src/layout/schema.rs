/// The flattened field name, NUL-padded (6 words = 48 bytes).
pub const NAME: usize = 0;
/// Words of the name.
pub const NAME_WORDS: usize = 6;
/// `offset as u32 | (size as u32) << 32`.
pub const OFFSET_SIZE: usize = 6;
/// `kind code | count << 8`.
pub const KIND_COUNT: usize = 7;
/// Words per entry.
pub const WORDS: usize = 8;
