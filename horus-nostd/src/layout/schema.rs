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

/// The kind code of a *shape entry*: it follows the entry of a primitive
/// array field of two or more dimensions and holds the array's sizes, one
/// per word from [`NAME`] (outermost first, at most
/// [`MAX_DIMS`](crate::message::MAX_DIMS)), their number in [`OFFSET_SIZE`],
/// count 0. Not a [`FieldKind`](crate::FieldKind): a reader that does not
/// know it sees an entry of an unknown kind. A field without one has the
/// shape its count says (`[count]`, or a scalar for 1); an array of
/// messages records its sizes in the flattened names instead
/// (`legs[1][0].x`).
pub const SHAPE_CODE: u8 = 12;
