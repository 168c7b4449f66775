//! A message type known at run time: what `message!` records for a Rust
//! type, or the same record computed from a name and field list (the
//! public face is [`crate::dynamic`], which re-exports it). Below the topic
//! layer: region files are created and checked from it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, OnceLock};

use horus_nostd::layout::flat_field_count;
use horus_nostd::message::{MAX_DIMS, Shape, TypeInfo, TypeName, type_id};
use horus_nostd::{Field, FieldKind, LayoutError, Message, TopicLayout};

/// A message type: its name, identity, size and fields. Two are equal when
/// their [`TypeInfo`] is (the id hashes every field).
#[derive(Clone, Copy)]
pub struct MessageType {
    name: &'static str,
    info: TypeInfo,
    fields: &'static [Field],
    /// The encoded schema of a serialized type (`None`: plain data).
    serialized_schema: Option<&'static [u8]>,
}

impl MessageType {
    /// The record of the Rust message `T`.
    ///
    /// ```
    /// use horus::dynamic::MessageType;
    /// use horus::msgs::CmdVel;
    /// assert_eq!(MessageType::of::<CmdVel>().size(), 16);
    /// ```
    pub const fn of<T: Message>() -> Self {
        Self {
            name: T::TYPE_NAME,
            info: TypeInfo::of::<T>(),
            fields: T::FIELDS,
            serialized_schema: None,
        }
    }

    /// A serialized type `name` (see [`serialized`](mod@crate::serialized)): messages are
    /// length-prefixed frames of at most `max_message_bytes` bytes, described
    /// by `schema` (the encoded [`Schema`](crate::serialized::Schema), stored
    /// in the region). The identity hashes the name and the schema, so two
    /// programs agree on a topic only if they agree on every field; the size
    /// is the frame's bound. Kept for the life of the process, once per
    /// distinct schema.
    ///
    /// ```
    /// use horus::dynamic::MessageType;
    /// use horus::serialized::Schema;
    /// let schema = Schema::of::<(String, Vec<f32>)>().unwrap().encode();
    /// let ty = MessageType::serialized("Plan", &schema, 256).unwrap();
    /// assert_eq!(ty.size(), 260); // the bound and the frame's length
    /// assert_eq!(ty.serialized_schema(), Some(&schema[..]));
    /// ```
    ///
    /// # Errors
    /// A bound of 0 or over 16 MiB minus 4, a schema over
    /// [`MAX_SERIALIZED_SCHEMA_BYTES`](horus_nostd::layout::MAX_SERIALIZED_SCHEMA_BYTES).
    pub fn serialized(
        name: &str,
        schema: &[u8],
        max_message_bytes: u32,
    ) -> std::result::Result<Self, DefineError> {
        use horus_nostd::layout::{MAX_MESSAGE_BYTES, MAX_SERIALIZED_SCHEMA_BYTES};
        use horus_nostd::ring::FRAME_HEADER;
        let frame = max_message_bytes.checked_add(FRAME_HEADER as u32);
        let Some(size) = frame.filter(|&f| max_message_bytes > 0 && f <= MAX_MESSAGE_BYTES) else {
            return Err(DefineError::BadBound {
                message: name.to_owned(),
                bytes: max_message_bytes,
                max: MAX_MESSAGE_BYTES - FRAME_HEADER as u32,
            });
        };
        if schema.is_empty() || schema.len() > MAX_SERIALIZED_SCHEMA_BYTES {
            return Err(DefineError::SchemaTooLarge {
                message: name.to_owned(),
                bytes: schema.len(),
                max: MAX_SERIALIZED_SCHEMA_BYTES,
            });
        }
        let info = TypeInfo {
            id: horus_nostd::message::serialized_type_id(name, schema),
            size,
            align: 1,
            name: TypeName::new(name),
        };
        Ok(Self {
            name: intern(name),
            info,
            fields: &[],
            serialized_schema: Some(intern_schema(info.id, schema)),
        })
    }

    /// The encoded schema of a serialized type; `None` for plain data.
    pub fn serialized_schema(&self) -> Option<&'static [u8]> {
        self.serialized_schema
    }

    /// The type `name` with `fields` in this order, laid out as
    /// `#[repr(C)]` lays out the same Rust struct. Defining the same type
    /// twice returns the same record (definitions are kept for the life of
    /// the process, once each).
    ///
    /// # Errors
    /// A name that is not an identifier, a field name used twice, or a
    /// layout with padding (the sentence of `message!`'s compile error).
    pub fn define(name: &str, fields: &[FieldSpec]) -> std::result::Result<Self, DefineError> {
        check_ident(name, "message")?;
        let too_large = || DefineError::TooLarge {
            message: name.to_owned(),
        };
        let mut out = Vec::with_capacity(fields.len());
        let mut seen = std::collections::HashSet::with_capacity(fields.len());
        let (mut offset, mut align) = (0usize, 1usize);
        for spec in fields {
            check_ident(&spec.name, "field")?;
            if !seen.insert(spec.name.as_str()) {
                return Err(DefineError::DuplicateField {
                    message: name.to_owned(),
                    field: spec.name.clone(),
                });
            }
            let (kind, count, nested, elem_size, elem_align) =
                spec.ty.element().ok_or_else(too_large)?;
            if offset % elem_align != 0 {
                return Err(DefineError::Padding {
                    message: name.to_owned(),
                });
            }
            // Checked: sizes come from users (`horus.message` in Python), and
            // a wrapped product would define a message smaller than its fields.
            let size = elem_size.checked_mul(count).ok_or_else(too_large)?;
            let shape = spec
                .ty
                .shape()
                .ok_or_else(|| DefineError::TooManyDimensions {
                    message: name.to_owned(),
                    field: spec.name.clone(),
                })?;
            out.push(Field {
                name: intern(&spec.name),
                offset,
                size,
                kind,
                count,
                shape,
                nested,
            });
            offset = offset.checked_add(size).ok_or_else(too_large)?;
            align = align.max(elem_align);
        }
        if offset % align != 0 {
            return Err(DefineError::Padding {
                message: name.to_owned(),
            });
        }
        let info = TypeInfo {
            id: type_id(name, &out, offset, align),
            size: u32::try_from(offset).map_err(|_| too_large())?,
            align: align as u32,
            name: TypeName::new(name),
        };
        Ok(Self {
            name: intern(name),
            info,
            fields: intern_fields(info.id, out),
            serialized_schema: None,
        })
    }

    /// The type's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What a region records about the type.
    pub fn info(&self) -> TypeInfo {
        self.info
    }

    /// The 64-bit identity (see [`mod@horus_nostd::message`]).
    pub fn id(&self) -> u64 {
        self.info.id
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.info.size as usize
    }

    /// Alignment in bytes.
    pub fn align(&self) -> usize {
        self.info.align as usize
    }

    /// The fields in declaration order.
    pub fn fields(&self) -> &'static [Field] {
        self.fields
    }

    /// The region layout of a topic of this type.
    pub(crate) fn layout(
        &self,
        capacity: u32,
        participants: u32,
        publishers: u32,
    ) -> std::result::Result<TopicLayout, LayoutError> {
        let entries = match self.serialized_schema {
            Some(schema) => horus_nostd::layout::serialized_schema_entries(schema.len()),
            None => flat_field_count(self.fields),
        };
        TopicLayout::with_publishers(
            self.info.size,
            self.info.align,
            capacity,
            participants,
            publishers,
            entries as u32,
        )
    }
}

impl PartialEq for MessageType {
    fn eq(&self, other: &Self) -> bool {
        self.info == other.info
    }
}

impl Eq for MessageType {}

impl fmt::Debug for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageType")
            .field("name", &self.name)
            .field("id", &format_args!("{:#018x}", self.info.id))
            .field("size", &self.info.size)
            .finish_non_exhaustive()
    }
}

/// The type of a field of a run-time message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldTy {
    /// A primitive (not [`FieldKind::Struct`]: use `Message`).
    Prim(FieldKind),
    /// A nested message.
    Message(MessageType),
    /// `[T; N]`.
    Array(Box<FieldTy>, usize),
}

impl FieldTy {
    /// (innermost kind, innermost element count, nested fields, innermost
    /// element size, innermost element alignment); `None` if the count
    /// overflows.
    fn element(&self) -> Option<(FieldKind, usize, &'static [Field], usize, usize)> {
        Some(match self {
            Self::Prim(k) => {
                let s = prim_size(*k);
                (*k, 1, &[], s, s)
            }
            Self::Message(m) => (FieldKind::Struct, 1, m.fields, m.size(), m.align()),
            Self::Array(inner, n) => {
                let (k, c, nested, s, a) = inner.element()?;
                (k, c.checked_mul(*n)?, nested, s, a)
            }
        })
    }
}

impl FieldTy {
    /// The array sizes, outermost first; `None` for more than
    /// [`MAX_DIMS`] of them (a size over `u32::MAX` is cut there: such a
    /// field is over 4 GiB, refused as [`DefineError::TooLarge`]).
    fn shape(&self) -> Option<Shape> {
        let mut dims = Vec::new();
        let mut ty = self;
        while let Self::Array(inner, n) = ty {
            dims.push(u32::try_from(*n).unwrap_or(u32::MAX));
            ty = inner;
        }
        Shape::new(&dims)
    }
}

/// Size (= alignment) of a primitive kind; 0 for `Struct`
/// ([`FieldKind::size`]).
pub const fn prim_size(kind: FieldKind) -> usize {
    kind.size()
}

/// One field of [`MessageType::define`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's name (an identifier).
    pub name: String,
    /// Its type.
    pub ty: FieldTy,
}

impl FieldSpec {
    /// Field `name` of type `ty`.
    pub fn new(name: &str, ty: FieldTy) -> Self {
        Self {
            name: name.to_owned(),
            ty,
        }
    }
}

/// Why [`MessageType::define`] refused a definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DefineError {
    /// The layout has padding bytes.
    // The sentence of `message!`'s compile-time check.
    #[error(
        "message `{message}` has padding: order its fields from the largest to the \
         smallest, or add explicit padding fields"
    )]
    Padding {
        /// The message's name.
        message: String,
    },
    /// A name is not an identifier.
    #[error(
        "{what} name {name:?} is not an identifier (letters, digits and _, not starting \
         with a digit)"
    )]
    BadName {
        /// `"message"` or `"field"`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// Two fields have one name.
    #[error("message `{message}` has two fields named `{field}`")]
    DuplicateField {
        /// The message's name.
        message: String,
        /// The field's name.
        field: String,
    },
    /// An array field of more than [`MAX_DIMS`] dimensions.
    #[error(
        "field `{field}` of message `{message}` is an array of more than {} dimensions, the \
         most a topic records: flatten its inner dimensions into one",
        MAX_DIMS
    )]
    TooManyDimensions {
        /// The message's name.
        message: String,
        /// The field's name.
        field: String,
    },
    /// Bigger than 4 GiB.
    #[error("message `{message}` is larger than 4 GiB")]
    TooLarge {
        /// The message's name.
        message: String,
    },
    /// The bound of a serialized type is 0 or too large.
    #[error(
        "serialized message `{message}`: a bound of {bytes} bytes is out of range; set \
         `max_message_bytes` between 1 and {max}"
    )]
    BadBound {
        /// The message's name.
        message: String,
        /// The bound asked for.
        bytes: u32,
        /// The largest bound.
        max: u32,
    },
    /// The encoded schema of a serialized type is too large to store.
    #[error(
        "serialized message `{message}`: its schema encodes to {bytes} bytes, more than \
         the {max} a region stores; split the type into smaller messages"
    )]
    SchemaTooLarge {
        /// The message's name.
        message: String,
        /// Its bytes.
        bytes: usize,
        /// The most a region stores.
        max: usize,
    },
}

fn check_ident(name: &str, what: &'static str) -> std::result::Result<(), DefineError> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DefineError::BadName {
            what,
            name: name.to_owned(),
        })
    }
}

/// The process-lifetime copy of `s`; each distinct string is kept once.
fn intern(s: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&kept) = names.get(s) {
        return kept;
    }
    let kept: &'static str = Box::leak(s.to_owned().into_boxed_str());
    names.insert(kept);
    kept
}

/// The process-lifetime copy of the encoded schema of type `id`; kept once
/// per id (the id hashes the schema).
fn intern_schema(id: u64, schema: &[u8]) -> &'static [u8] {
    static SCHEMAS: Interned<u8> = OnceLock::new();
    intern_by_id(&SCHEMAS, id, || schema.to_vec())
}

/// The process-lifetime copy of the fields of type `id`; kept once per id
/// (the id hashes every field, so equal ids mean equal fields).
fn intern_fields(id: u64, fields: Vec<Field>) -> &'static [Field] {
    static FIELDS: Interned<Field> = OnceLock::new();
    intern_by_id(&FIELDS, id, || fields)
}

/// Slices kept for the life of the process, by type id.
type Interned<T> = OnceLock<Mutex<HashMap<u64, &'static [T]>>>;

/// The slice kept in `store` for `id`, made by `make` (and leaked) the first time.
fn intern_by_id<T: 'static>(
    store: &'static Interned<T>,
    id: u64,
    make: impl FnOnce() -> Vec<T>,
) -> &'static [T]
where
    &'static [T]: Send,
{
    let mut map = store
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(id)
        .or_insert_with(|| Box::leak(make().into_boxed_slice()))
}
