//! Messages: plain-data types with a 64-bit identity and a self-description.
//!
//! A message is a `#[repr(C)]` [`bytemuck::Pod`] struct: any bit pattern is a
//! valid value, there is no padding and no pointer, so it crosses shared memory
//! as its bytes. [`message!`](crate::message!) declares one and proves those
//! properties at compile time.
//!
//! **Identity.** [`Message::TYPE_ID`] is a 64-bit FNV-1a hash of the type's
//! name, size, alignment and of every field's name, offset, kind and element
//! count, and the array sizes of a field of more than one dimension (nested
//! messages included). Two programs agree on a topic only if they
//! agree on all of that; renaming a field or reordering fields changes the id.
//!
//! **Alignment** is the *canonical* one ([`canonical_align`]): the size of the
//! largest primitive in the message, what `align_of` gives on every 64-bit
//! target and on 32-bit Arm and RISC-V, but not on i686, where a `u64` or
//! `f64` is 4-aligned. Identity, [`TypeInfo`] and [`TopicLayout`](crate::TopicLayout)
//! all use it, so a 32-bit process computes the ids and layouts a 64-bit one
//! does; [`message!`](crate::message!) refuses a struct whose fields would sit
//! at other offsets on a target that aligns every primitive to its size.
//!
//! **Self-description.** [`Message::FIELDS`] lists the fields; the region stores
//! a flattened copy (`pose.x`, `pose.y`, ...) so tools decode a topic without
//! the program's source.

use core::fmt;

mod shape;
pub use shape::{MAX_DIMS, Shape};

/// The kind of a primitive field (or of the elements of an array field).
///
/// The discriminants are part of the region layout: never renumber them
/// (12 is taken: the layout's array-shape entry, `layout::schema::SHAPE_CODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum FieldKind {
    /// `u8`
    U8 = 1,
    /// `i8`
    I8 = 2,
    /// `u16`
    U16 = 3,
    /// `i16`
    I16 = 4,
    /// `u32`
    U32 = 5,
    /// `i32`
    I32 = 6,
    /// `u64`
    U64 = 7,
    /// `i64`
    I64 = 8,
    /// `f32`
    F32 = 9,
    /// `f64`
    F64 = 10,
    /// A nested message; its fields are in [`Field::nested`].
    Struct = 11,
}

impl FieldKind {
    /// The kind with this layout code, if any.
    ///
    /// ```
    /// use horus_nostd::FieldKind;
    /// assert_eq!(FieldKind::from_code(10), Some(FieldKind::F64));
    /// assert_eq!(FieldKind::from_code(0), None);
    /// ```
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::U8,
            2 => Self::I8,
            3 => Self::U16,
            4 => Self::I16,
            5 => Self::U32,
            6 => Self::I32,
            7 => Self::U64,
            8 => Self::I64,
            9 => Self::F32,
            10 => Self::F64,
            11 => Self::Struct,
            _ => return None,
        })
    }

    /// The size of the primitive, bytes (0 for `Struct`).
    ///
    /// ```
    /// assert_eq!(horus_nostd::FieldKind::F64.size(), 8);
    /// ```
    pub const fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 => 8,
            Self::Struct => 0,
        }
    }

    /// The Rust name of the primitive (`"struct"` for nested messages).
    ///
    /// ```
    /// assert_eq!(horus_nostd::FieldKind::I64.name(), "i64");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Self::U8 => "u8",
            Self::I8 => "i8",
            Self::U16 => "u16",
            Self::I16 => "i16",
            Self::U32 => "u32",
            Self::I32 => "i32",
            Self::U64 => "u64",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
            Self::Struct => "struct",
        }
    }
}

/// One field of a message, as [`message!`](crate::message!) describes it.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The field's name.
    pub name: &'static str,
    /// Byte offset from the start of the message.
    pub offset: usize,
    /// Size of the whole field in bytes (all elements of an array).
    pub size: usize,
    /// Kind of the (innermost) elements.
    pub kind: FieldKind,
    /// Number of elements: 1 for a scalar, `N * M` for `[[T; M]; N]`.
    pub count: usize,
    /// The array sizes, outermost first (`[N, M]` for `[[T; M]; N]`; none
    /// for a scalar).
    pub shape: Shape,
    /// Fields of a nested message (empty for primitives).
    pub nested: &'static [Field],
}

impl Field {
    /// Describes a field of type `T` at `offset`.
    ///
    /// ```
    /// use horus_nostd::{Field, FieldKind};
    /// let f = Field::of::<[f32; 3]>("accel", 8);
    /// assert_eq!((f.kind, f.count, f.size), (FieldKind::F32, 3, 12));
    /// assert_eq!(f.shape.dims(), &[3]);
    /// ```
    pub const fn of<T: FieldType>(name: &'static str, offset: usize) -> Self {
        Self {
            name,
            offset,
            size: core::mem::size_of::<T>(),
            kind: T::KIND,
            count: T::COUNT,
            shape: T::SHAPE,
            nested: T::NESTED,
        }
    }
}

/// A type that can be a field of a message: the primitives, arrays of field
/// types, and messages themselves (nesting).
pub trait FieldType: bytemuck::Pod {
    /// Kind of the innermost elements.
    const KIND: FieldKind;
    /// Number of innermost elements.
    const COUNT: usize = 1;
    /// Array sizes, outermost first.
    const SHAPE: Shape = Shape::SCALAR;
    /// Fields, when the innermost element is a message.
    const NESTED: &'static [Field] = &[];
}

macro_rules! primitive_field {
    ($($t:ty => $k:ident),*) => {$(
        impl FieldType for $t {
            const KIND: FieldKind = FieldKind::$k;
        }
    )*};
}
primitive_field!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32,
    u64 => U64, i64 => I64, f32 => F32, f64 => F64);

impl<T: FieldType, const N: usize> FieldType for [T; N]
where
    [T; N]: bytemuck::Pod,
{
    const KIND: FieldKind = T::KIND;
    const COUNT: usize = T::COUNT * N;
    const SHAPE: Shape = T::SHAPE.outer(N);
    const NESTED: &'static [Field] = T::NESTED;
}

/// A message type: plain data with an identity and a self-description.
///
/// Implement it with [`message!`](crate::message!), which also proves the
/// type is `#[repr(C)]` plain data without padding.
pub trait Message: FieldType {
    /// The type's name, as written in the source.
    const TYPE_NAME: &'static str;
    /// The type's fields in declaration order.
    const FIELDS: &'static [Field];
    /// The 64-bit identity of the type's name and layout (with its
    /// [`canonical_align`], the same on every target).
    const TYPE_ID: u64 = type_id(
        Self::TYPE_NAME,
        Self::FIELDS,
        core::mem::size_of::<Self>(),
        canonical_align(Self::FIELDS),
    );
}

/// The alignment of a message with `fields` on a target that aligns every
/// primitive to its size (every 64-bit target, 32-bit Arm and RISC-V): the
/// size of its largest primitive, nested messages included (1 without
/// fields). What identity hashes and a region records, whatever the target
/// (on i686 `align_of` says 4 for a message with a `u64`: this says 8).
///
/// ```
/// use horus_nostd::message::canonical_align;
/// use horus_nostd::msgs::Imu;
/// use horus_nostd::{message, Message};
///
/// message! { Pair { a: f32, b: [u16; 2] } }
/// assert_eq!(canonical_align(Imu::FIELDS), 8);
/// assert_eq!(canonical_align(Pair::FIELDS), 4);
/// ```
pub const fn canonical_align(fields: &[Field]) -> usize {
    let mut align = 1;
    let mut i = 0;
    while i < fields.len() {
        let a = field_align(&fields[i]);
        if a > align {
            align = a;
        }
        i += 1;
    }
    align
}

/// The canonical alignment of one field (of its innermost element).
const fn field_align(f: &Field) -> usize {
    match f.kind {
        FieldKind::Struct => canonical_align(f.nested),
        kind => kind.size(),
    }
}

/// Whether a message of `size` bytes with `fields` has the same layout on
/// every target: each field at a multiple of its canonical alignment, and
/// the size a multiple of the message's ([`canonical_align`]). Always true
/// of a `#[repr(C)]` struct without padding on a 64-bit target;
/// [`message!`](crate::message!) asserts it, so that a message declared on
/// i686 (where a `u64` may sit at offset 4) is refused there too.
///
/// ```
/// use horus_nostd::message::is_canonical_layout;
/// use horus_nostd::msgs::Imu;
/// use horus_nostd::{Field, Message};
///
/// assert!(is_canonical_layout(Imu::FIELDS, core::mem::size_of::<Imu>()));
/// // { a: u32, b: u64 } without padding: b at 4, as i686 would place it.
/// let fields = [Field::of::<u32>("a", 0), Field::of::<u64>("b", 4)];
/// assert!(!is_canonical_layout(&fields, 12));
/// ```
pub const fn is_canonical_layout(fields: &[Field], size: usize) -> bool {
    let mut i = 0;
    while i < fields.len() {
        if fields[i].offset % field_align(&fields[i]) != 0 {
            return false;
        }
        i += 1;
    }
    size % canonical_align(fields) == 0
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

const fn fnv_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

/// The identity of a serialized message type (see `horus::serialized`):
/// a 64-bit FNV-1a hash of a domain tag, the type's `name` and its encoded
/// `schema`, so a type of the same name with other fields has another id.
///
/// ```
/// use horus_nostd::message::serialized_type_id;
/// assert_eq!(serialized_type_id("Plan", b"a"), serialized_type_id("Plan", b"a"));
/// assert_ne!(serialized_type_id("Plan", b"a"), serialized_type_id("Plan", b"b"));
/// assert_ne!(serialized_type_id("Plan", b"a"), serialized_type_id("Plot", b"a"));
/// ```
pub const fn serialized_type_id(name: &str, schema: &[u8]) -> u64 {
    let mut h = fnv_bytes(FNV_OFFSET, b"horus serialized");
    h = fnv_u64(h, name.len() as u64);
    h = fnv_bytes(h, name.as_bytes());
    h = fnv_u64(h, schema.len() as u64);
    fnv_bytes(h, schema)
}

const fn fnv_u64(h: u64, v: u64) -> u64 {
    fnv_bytes(h, &v.to_le_bytes())
}

const fn fnv_fields(mut h: u64, fields: &[Field]) -> u64 {
    h = fnv_u64(h, fields.len() as u64);
    let mut i = 0;
    while i < fields.len() {
        let f = &fields[i];
        h = fnv_bytes(h, f.name.as_bytes());
        h = fnv_u64(h, f.offset as u64);
        h = fnv_u64(h, f.size as u64);
        h = fnv_u64(h, f.kind as u64);
        h = fnv_u64(h, f.count as u64);
        // Only a shape the count does not say: every scalar's and 1-D
        // array's identity stays what it was before shapes were recorded.
        if f.shape.rank() > 1 {
            h = fnv_u64(h, f.shape.rank() as u64);
            let mut d = 0;
            while d < f.shape.rank() {
                h = fnv_u64(h, f.shape.dim(d) as u64);
                d += 1;
            }
        }
        h = fnv_fields(h, f.nested);
        i += 1;
    }
    h
}

/// The identity of a message layout: FNV-1a 64 over its name, size, alignment
/// and fields (recursively). Stable across builds, targets and word sizes.
///
/// ```
/// use horus_nostd::message::type_id;
/// assert_ne!(type_id("A", &[], 8, 8), type_id("B", &[], 8, 8));
/// assert_ne!(type_id("A", &[], 8, 8), type_id("A", &[], 16, 8));
/// ```
pub const fn type_id(name: &str, fields: &[Field], size: usize, align: usize) -> u64 {
    let mut h = fnv_bytes(FNV_OFFSET, name.as_bytes());
    h = fnv_u64(h, size as u64);
    h = fnv_u64(h, align as u64);
    fnv_fields(h, fields)
}

/// Longest type name a region records (longer names are cut for display only;
/// identity always hashes the whole name).
pub const TYPE_NAME_MAX: usize = 48;

/// A short name as recorded in a region (a type or a flattened field name):
/// at most [`TYPE_NAME_MAX`] bytes, fixed size and `Copy`, so errors can carry it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortName {
    bytes: [u8; TYPE_NAME_MAX],
    len: u8,
}

impl ShortName {
    /// Records `name`, cut to [`TYPE_NAME_MAX`] bytes.
    ///
    /// ```
    /// let n = horus_nostd::message::ShortName::new("CmdVel");
    /// assert_eq!(n.as_str(), "CmdVel");
    /// ```
    pub const fn new(name: &str) -> Self {
        Self::from_bytes(name.as_bytes())
    }

    /// Records raw bytes (as read from a region), cut at the first NUL or at
    /// [`TYPE_NAME_MAX`].
    pub const fn from_bytes(src: &[u8]) -> Self {
        let mut bytes = [0u8; TYPE_NAME_MAX];
        let mut len = 0;
        while len < src.len() && len < TYPE_NAME_MAX && src[len] != 0 {
            bytes[len] = src[len];
            len += 1;
        }
        Self {
            bytes,
            len: len as u8,
        }
    }

    /// The raw bytes, NUL-padded to [`TYPE_NAME_MAX`].
    pub const fn padded(&self) -> &[u8; TYPE_NAME_MAX] {
        &self.bytes
    }

    /// The name; a region holding non-UTF-8 bytes shows as `"<invalid name>"`.
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.bytes[..self.len as usize]) {
            Ok(s) => s,
            Err(_) => "<invalid name>",
        }
    }
}

impl fmt::Display for ShortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ShortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for ShortName {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}

/// The name of a message type, as a region records it.
pub type TypeName = ShortName;

/// What a region records about its message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// [`Message::TYPE_ID`].
    pub id: u64,
    /// Size in bytes.
    pub size: u32,
    /// Alignment in bytes: the canonical one ([`canonical_align`]), the
    /// same on every target.
    pub align: u32,
    /// The type's name.
    pub name: TypeName,
}

impl TypeInfo {
    /// The record of `T`.
    ///
    /// ```
    /// use horus_nostd::message::TypeInfo;
    /// use horus_nostd::msgs::CmdVel;
    /// assert_eq!(TypeInfo::of::<CmdVel>().name.as_str(), "CmdVel");
    /// ```
    pub const fn of<T: Message>() -> Self {
        Self {
            id: T::TYPE_ID,
            size: size_u32::<T>(),
            align: canonical_align(T::FIELDS) as u32,
            name: TypeName::new(T::TYPE_NAME),
        }
    }
}

/// The size of `T` in bytes as a region records it: saturated at
/// `u32::MAX` rather than cut to its low 32 bits, so that a type of 4 GiB
/// or more is refused as too large
/// ([`LayoutError::BadMessage`](crate::LayoutError::BadMessage)) instead of
/// passing for a small one (`2^32 + 8` bytes cut to 8).
pub(crate) const fn size_u32<T>() -> u32 {
    let size = core::mem::size_of::<T>();
    if size > u32::MAX as usize {
        u32::MAX
    } else {
        size as u32
    }
}

/// Declares message types: `#[repr(C)]` plain-data structs with identity and
/// self-description.
///
/// ```
/// use horus_nostd::message;
/// use horus_nostd::Message;
///
/// message! {
///     /// Encoder counts of a differential drive.
///     WheelEncoder {
///         left_ticks: i64,
///         right_ticks: i64,
///         timestamp_ns: u64,
///     }
/// }
///
/// let m = WheelEncoder { left_ticks: 1, right_ticks: 2, timestamp_ns: 3 };
/// assert_eq!(bytemuck::bytes_of(&m).len(), 24);
/// assert_eq!(WheelEncoder::FIELDS[2].name, "timestamp_ns");
/// ```
///
/// Fields must be primitives (`u8`..`u64`, `i8`..`i64`, `f32`, `f64`), arrays
/// of them, or other messages. `bool`, `char`, references and pointers are not
/// plain data and are rejected at compile time; so is a struct with padding:
/// order fields from the largest to the smallest, or add explicit padding
/// fields (`_pad: [u8; 4]`).
///
/// ```compile_fail
/// horus_nostd::message! { Padded { a: u8, b: u64 } }
/// ```
#[macro_export]
macro_rules! message {
    ($(
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        const _: () = {
            use $crate::__private::core::mem::size_of;
            // Plain data: every field is Pod...
            #[allow(dead_code)]
            fn fields_are_plain_data() {
                fn is_field<T: $crate::message::FieldType>() {}
                $( is_field::<$ty>(); )*
            }
            // ...and the struct has no padding bytes.
            assert!(
                size_of::<$name>() == 0 $( + size_of::<$ty>() )*,
                concat!(
                    "message `", stringify!($name), "` has padding: order its fields from the \
                     largest to the smallest, or add explicit padding fields"
                )
            );
            // ...nor on any other target: on i686 a `u64` may sit at offset
            // 4 without padding, where a 64-bit target pads it to 8.
            assert!(
                $crate::message::is_canonical_layout(
                    <$name as $crate::message::Message>::FIELDS,
                    size_of::<$name>(),
                ),
                concat!(
                    "message `", stringify!($name), "` has padding on 64-bit targets (where \
                     u64, i64 and f64 are 8-aligned): order its fields from the largest to \
                     the smallest, or add explicit padding fields"
                )
            );
        };

        // SAFETY: `$name` is `#[repr(C)]`, every field is `Pod` (checked by
        // `fields_are_plain_data` above) and the size assertion proves there is
        // no padding, so the all-zero pattern is a valid value.
        unsafe impl $crate::__private::bytemuck::Zeroable for $name {}
        // SAFETY: as above: `#[repr(C)]`, no padding, all fields `Pod`, and the
        // derived `Clone` is the `Copy` bit copy; every bit pattern is a value.
        unsafe impl $crate::__private::bytemuck::Pod for $name {}

        impl $crate::__private::core::default::Default for $name {
            fn default() -> Self {
                $crate::__private::bytemuck::Zeroable::zeroed()
            }
        }

        impl $crate::message::FieldType for $name {
            const KIND: $crate::message::FieldKind = $crate::message::FieldKind::Struct;
            const NESTED: &'static [$crate::message::Field] =
                <$name as $crate::message::Message>::FIELDS;
        }

        impl $crate::message::Message for $name {
            const TYPE_NAME: &'static str = stringify!($name);
            const FIELDS: &'static [$crate::message::Field] = &[
                $( $crate::message::Field::of::<$ty>(
                    stringify!($field),
                    $crate::__private::core::mem::offset_of!($name, $field),
                ), )*
            ];
        }
    )*};
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::{CmdVel, Imu};

    crate::message! {
        Grid { cells: [[u8; 2]; 2] }
    }

    mod flat {
        crate::message! {
            Grid { cells: [u8; 4] }
        }
    }

    #[test]
    fn identities_of_scalars_and_1d_arrays_are_those_recorded_before_shapes() {
        // Computed by the build before array shapes were hashed (bfc0ec5):
        // regions, boards and Python programs of that build still connect.
        assert_eq!(CmdVel::TYPE_ID, 0x082d_f5f1_a9d9_40a6);
        assert_eq!(Imu::TYPE_ID, 0xe996_9f29_8776_76d6);
    }

    #[test]
    fn alignment_identity_and_offsets_do_not_depend_on_the_target() {
        // On i686 `align_of::<Imu>()` is 4 (a u64 is 4-aligned there): the
        // identity, the record and the layout hash and store 8 anyway, as
        // every 64-bit target and 32-bit Arm do. Run under i686 Miri by ci/miri.sh.
        assert_eq!(TypeInfo::of::<Imu>().align, 8);
        assert_eq!(TypeInfo::of::<CmdVel>().align, 8);
        assert_eq!(TypeInfo::of::<Grid>().align, 1);
        assert_eq!(crate::TopicLayout::of::<Imu>(4, 2).unwrap().type_align, 8);
        assert_eq!(
            CmdVel::TYPE_ID,
            type_id("CmdVel", CmdVel::FIELDS, 16, 8),
            "the id hashes the canonical alignment"
        );
        // No padding, every field at a multiple of its primitive's size:
        // the offsets a 64-bit target gives, nested messages included.
        use crate::msgs::Odometry;
        let imu: [usize; 4] = core::array::from_fn(|i| Imu::FIELDS[i].offset);
        assert_eq!(imu, [0, 32, 56, 80]);
        assert_eq!(core::mem::size_of::<Imu>(), 88);
        let odom: [usize; 6] = core::array::from_fn(|i| Odometry::FIELDS[i].offset);
        assert_eq!(odom, [0, 32, 88, 160, 168, 200]);
        assert!(is_canonical_layout(
            Odometry::FIELDS,
            core::mem::size_of::<Odometry>()
        ));
    }

    #[test]
    fn a_2d_array_is_another_type_than_the_flat_one() {
        assert_eq!(Grid::FIELDS[0].shape.dims(), &[2, 2]);
        assert_eq!(flat::Grid::FIELDS[0].shape.dims(), &[4]);
        assert_eq!(Grid::FIELDS[0].count, flat::Grid::FIELDS[0].count);
        assert_ne!(Grid::TYPE_ID, flat::Grid::TYPE_ID);
    }
}
