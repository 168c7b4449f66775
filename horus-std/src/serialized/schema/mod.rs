//! The description of a serialized type that a region stores, and its
//! encoding.
//!
//! A [`Schema`] is built from the static description the
//! [`postcard_schema::Schema`] derive gives a type ([`Schema::of`]), and
//! stored in the topic's region as bytes ([`Schema::encode`]); tools read it
//! back with [`Schema::decode`], which treats the bytes as untrusted: every
//! length, tag, name and the nesting depth are checked, and any fault is a
//! [`SchemaError`], never a panic.
//!
//! # Encoding, version 1
//!
//! ```text
//! schema  = "HSS" 0x01 name type                       (at most MAX_SERIALIZED_SCHEMA_BYTES)
//! name    = len:u8 utf-8 bytes                          (names longer than 255 bytes are cut)
//! count   = u16 little-endian
//! type    = tag:u8 ...
//!   0 bool  1 i8  2 u8  3 i16  4 i32  5 i64  6 i128  7 u16  8 u32  9 u64  10 u128
//!   11 usize  12 isize  13 f32  14 f64  15 char  16 string  17 bytes  18 unit
//!   19 option type        20 unit struct name        21 newtype struct name type
//!   22 seq type           23 tuple count type*       24 tuple struct name count type*
//!   25 map type type      26 struct name count (name type)*
//!   27 enum name count (name variant)*
//! variant = 0 unit | 1 newtype type | 2 tuple count type* | 3 struct count (name type)*
//! ```
//! Nesting is at most [`MAX_DEPTH`] types deep. A reader meeting another
//! version refuses it ([`SchemaError::Version`]).

use std::fmt;

mod wire;

use horus_nostd::layout::MAX_SERIALIZED_SCHEMA_BYTES;
use postcard_schema::schema::{DataModelType as D, DataModelVariant as DV, NamedType};

/// The version of the encoding this build writes and reads.
pub const SCHEMA_VERSION: u8 = 1;
/// Deepest nesting of types a schema may have.
pub const MAX_DEPTH: usize = 32;
const MAGIC: &[u8; 3] = b"HSS";

/// A serialized type: its name and shape.
///
/// ```
/// use horus::serialized::{Schema, SchemaType};
/// let s = Schema::of::<Vec<f32>>().unwrap();
/// assert_eq!(s.ty, SchemaType::Seq(Box::new(SchemaType::F32)));
/// assert_eq!(Schema::decode(&s.encode()), Ok(s));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The type's name (as the derive records it).
    pub name: String,
    /// Its shape.
    pub ty: SchemaType,
}

/// The shape of a serialized value: serde's data model, as postcard encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the variants are the Rust types they name
pub enum SchemaType {
    Bool,
    I8,
    U8,
    I16,
    I32,
    I64,
    I128,
    U16,
    U32,
    U64,
    U128,
    Usize,
    Isize,
    F32,
    F64,
    Char,
    String,
    /// A byte string (`serde_bytes`).
    Bytes,
    Unit,
    Option(Box<SchemaType>),
    UnitStruct(String),
    /// `struct Name(T)`: encoded as `T`.
    Newtype(String, Box<SchemaType>),
    Seq(Box<SchemaType>),
    Tuple(Vec<SchemaType>),
    TupleStruct(String, Vec<SchemaType>),
    Map(Box<SchemaType>, Box<SchemaType>),
    Struct(String, Vec<NamedField>),
    Enum(String, Vec<Variant>),
}

/// A field of a struct or struct variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedField {
    /// The field's name.
    pub name: String,
    /// Its type.
    pub ty: SchemaType,
}

/// A variant of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The variant's name.
    pub name: String,
    /// What it carries.
    pub kind: VariantKind,
}

/// What an enum variant carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariantKind {
    /// Nothing.
    Unit,
    /// One value.
    Newtype(SchemaType),
    /// Several, by position.
    Tuple(Vec<SchemaType>),
    /// Several, by name.
    Struct(Vec<NamedField>),
}

/// The fix a corrupt or foreign schema's sentence ends with.
const FIX: &str = "the region's schema is corrupt or was written by an incompatible HORUS; \
                   remove the topic once no program uses it";

/// Why a schema could not be built or read.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The bytes end inside the schema.
    #[error("the serialized type's schema is truncated: {FIX}")]
    Truncated,
    /// The bytes do not start with the schema magic `HSS`.
    #[error("the region does not hold a serialized schema: {FIX}")]
    NotASchema,
    /// Another version of the encoding.
    #[error(
        "the serialized type's schema has encoding version {0}, this HORUS reads \
         version {SCHEMA_VERSION}: use the same HORUS version in every program"
    )]
    Version(u8),
    /// An unknown type or variant tag at a byte offset.
    #[error("the serialized type's schema has unknown tag {tag} at byte {at}: {FIX}")]
    UnknownTag {
        /// The tag.
        tag: u8,
        /// Its offset.
        at: usize,
    },
    /// A name that is not UTF-8, at a byte offset.
    #[error("the serialized type's schema has a name that is not UTF-8 at byte {at}: {FIX}")]
    BadName {
        /// Its offset.
        at: usize,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("the serialized type nests deeper than {MAX_DEPTH} levels: flatten the type")]
    TooDeep,
    /// Bytes after the end of the schema.
    #[error("the serialized type's schema has stray bytes from byte {at}: {FIX}")]
    Trailing {
        /// Offset of the first one.
        at: usize,
    },
    /// More bytes than a region stores.
    #[error(
        "the serialized type's schema takes {bytes} bytes, more than the \
         {MAX_SERIALIZED_SCHEMA_BYTES} a region stores: split the type into smaller messages"
    )]
    TooLarge {
        /// The schema's bytes.
        bytes: usize,
    },
    /// A type the derive can describe but a region cannot store (a schema of
    /// schemas, or more than 65535 fields, elements or variants).
    #[error(
        "the serialized type contains a schema value or more than 65535 fields, elements \
         or variants, which a region cannot describe: change the type"
    )]
    Unsupported,
}

impl fmt::Debug for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Schema {
    /// The schema of `T`, from its [`postcard_schema::Schema`] description.
    ///
    /// # Errors
    /// [`SchemaError::TooDeep`], [`SchemaError::Unsupported`], or
    /// [`SchemaError::TooLarge`] if it would not fit a region.
    pub fn of<T: postcard_schema::Schema + ?Sized>() -> Result<Self, SchemaError> {
        let s = Self {
            name: T::SCHEMA.name.to_owned(),
            ty: from_named(T::SCHEMA, 0)?,
        };
        let bytes = s.encode().len();
        if bytes > MAX_SERIALIZED_SCHEMA_BYTES {
            return Err(SchemaError::TooLarge { bytes });
        }
        Ok(s)
    }
}

impl SchemaType {
    /// Whether every value of this type encodes to no byte at all: `()`, a
    /// unit struct, and tuples, structs and newtypes of only such types. A
    /// sequence of them is its length alone, so its length is not bounded
    /// by the bytes of the message.
    ///
    /// ```
    /// use horus::serialized::Schema;
    /// assert!(Schema::of::<((), [(); 3])>().unwrap().ty.is_zero_sized());
    /// assert!(!Schema::of::<((), u8)>().unwrap().ty.is_zero_sized());
    /// ```
    pub fn is_zero_sized(&self) -> bool {
        match self {
            Self::Unit | Self::UnitStruct(_) => true,
            Self::Newtype(_, t) => t.is_zero_sized(),
            Self::Tuple(ts) | Self::TupleStruct(_, ts) => ts.iter().all(Self::is_zero_sized),
            Self::Struct(_, fs) => fs.iter().all(|f| f.ty.is_zero_sized()),
            _ => false,
        }
    }

    /// Whether a sequence or map of zero-sized elements
    /// ([`is_zero_sized`](Self::is_zero_sized)) is anywhere in this type: the
    /// only way a message's decoding can take more steps than its bytes
    /// allow for (see [`decode`](crate::serialized::decode)).
    ///
    /// ```
    /// use horus::serialized::Schema;
    /// assert!(Schema::of::<Option<Vec<()>>>().unwrap().ty.has_zero_sized_elements());
    /// assert!(!Schema::of::<(Vec<u8>, ())>().unwrap().ty.has_zero_sized_elements());
    /// ```
    pub fn has_zero_sized_elements(&self) -> bool {
        let any = |ts: &[Self]| ts.iter().any(Self::has_zero_sized_elements);
        let fields = |fs: &[NamedField]| fs.iter().any(|f| f.ty.has_zero_sized_elements());
        match self {
            Self::Seq(t) => t.is_zero_sized() || t.has_zero_sized_elements(),
            Self::Map(k, v) => {
                (k.is_zero_sized() && v.is_zero_sized())
                    || k.has_zero_sized_elements()
                    || v.has_zero_sized_elements()
            }
            Self::Option(t) | Self::Newtype(_, t) => t.has_zero_sized_elements(),
            Self::Tuple(ts) | Self::TupleStruct(_, ts) => any(ts),
            Self::Struct(_, fs) => fields(fs),
            Self::Enum(_, vs) => vs.iter().any(|v| match &v.kind {
                VariantKind::Unit => false,
                VariantKind::Newtype(t) => t.has_zero_sized_elements(),
                VariantKind::Tuple(ts) => any(ts),
                VariantKind::Struct(fs) => fields(fs),
            }),
            _ => false,
        }
    }
}

fn from_named(n: &NamedType, depth: usize) -> Result<SchemaType, SchemaError> {
    if depth >= MAX_DEPTH {
        return Err(SchemaError::TooDeep);
    }
    let d = depth + 1;
    let all = |ts: &[&NamedType]| -> Result<Vec<SchemaType>, SchemaError> {
        ts.iter().map(|t| from_named(t, d)).collect()
    };
    let fields = |fs: &[&postcard_schema::schema::NamedValue]| {
        fs.iter()
            .map(|f| {
                Ok(NamedField {
                    name: f.name.to_owned(),
                    ty: from_named(f.ty, d)?,
                })
            })
            .collect::<Result<Vec<_>, SchemaError>>()
    };
    let boxed = |t: &NamedType| from_named(t, d).map(Box::new);
    Ok(match *n.ty {
        D::Bool => SchemaType::Bool,
        D::I8 => SchemaType::I8,
        D::U8 => SchemaType::U8,
        D::I16 => SchemaType::I16,
        D::I32 => SchemaType::I32,
        D::I64 => SchemaType::I64,
        D::I128 => SchemaType::I128,
        D::U16 => SchemaType::U16,
        D::U32 => SchemaType::U32,
        D::U64 => SchemaType::U64,
        D::U128 => SchemaType::U128,
        D::Usize => SchemaType::Usize,
        D::Isize => SchemaType::Isize,
        D::F32 => SchemaType::F32,
        D::F64 => SchemaType::F64,
        D::Char => SchemaType::Char,
        D::String => SchemaType::String,
        D::ByteArray => SchemaType::Bytes,
        D::Unit => SchemaType::Unit,
        D::Option(t) => SchemaType::Option(boxed(t)?),
        D::UnitStruct => SchemaType::UnitStruct(n.name.to_owned()),
        D::NewtypeStruct(t) => SchemaType::Newtype(n.name.to_owned(), boxed(t)?),
        D::Seq(t) => SchemaType::Seq(boxed(t)?),
        D::Tuple(ts) => SchemaType::Tuple(all(ts)?),
        D::TupleStruct(ts) => SchemaType::TupleStruct(n.name.to_owned(), all(ts)?),
        D::Map { key, val } => SchemaType::Map(boxed(key)?, boxed(val)?),
        D::Struct(fs) => SchemaType::Struct(n.name.to_owned(), fields(fs)?),
        D::Enum(vs) => SchemaType::Enum(
            n.name.to_owned(),
            vs.iter()
                .map(|v| {
                    let kind = match *v.ty {
                        DV::UnitVariant => VariantKind::Unit,
                        DV::NewtypeVariant(t) => VariantKind::Newtype(from_named(t, d)?),
                        DV::TupleVariant(ts) => VariantKind::Tuple(all(ts)?),
                        DV::StructVariant(fs) => VariantKind::Struct(fields(fs)?),
                    };
                    Ok(Variant {
                        name: v.name.to_owned(),
                        kind,
                    })
                })
                .collect::<Result<_, SchemaError>>()?,
        ),
        D::Schema => return Err(SchemaError::Unsupported),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(postcard_schema::Schema)]
    #[allow(dead_code)]
    enum Mode {
        Idle,
        Go(f32),
        Turn { left: bool, rate: f64 },
        Pair(u8, i16),
    }

    #[derive(postcard_schema::Schema)]
    #[allow(dead_code)]
    struct Nested {
        label: String,
        mode: Mode,
        points: Vec<(f32, f32)>,
        extra: Option<[u16; 3]>,
    }

    #[test]
    fn every_kind_round_trips() {
        let s = Schema::of::<Nested>().unwrap();
        assert_eq!(s.name, "Nested");
        let SchemaType::Struct(_, fields) = &s.ty else {
            panic!("{s:?}")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["label", "mode", "points", "extra"]);
        assert_eq!(Schema::decode(&s.encode()), Ok(s));
    }

    #[test]
    fn every_prefix_and_every_corrupted_byte_is_an_error_or_a_schema() {
        let bytes = Schema::of::<Nested>().unwrap().encode();
        for n in 0..bytes.len() {
            assert!(Schema::decode(&bytes[..n]).is_err(), "prefix {n}");
        }
        for i in 0..bytes.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                let _ = Schema::decode(&b); // never panics
            }
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            Schema::decode(&long),
            Err(SchemaError::Trailing { at: bytes.len() })
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut b = b"HSS\x01\x01X".to_vec();
        b.extend(std::iter::repeat_n(19u8, 100)); // Option<Option<...
        b.push(0);
        assert_eq!(Schema::decode(&b), Err(SchemaError::TooDeep));
        assert!(Schema::decode(&vec![0u8; MAX_SERIALIZED_SCHEMA_BYTES + 1]).is_err());
    }
}
