//! The bytes of a [`Schema`]: writing them and reading them back from
//! untrusted memory (the format is in the [module docs](super)).

use super::{
    MAGIC, MAX_DEPTH, NamedField, SCHEMA_VERSION, Schema, SchemaError, SchemaType, Variant,
    VariantKind,
};
use horus_nostd::layout::MAX_SERIALIZED_SCHEMA_BYTES;

impl Schema {
    /// The bytes a region stores (see the [module docs](super)).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(SCHEMA_VERSION);
        put_name(&mut out, &self.name);
        put_type(&mut out, &self.ty);
        out
    }

    /// Reads a schema from untrusted bytes.
    ///
    /// ```
    /// use horus::serialized::{Schema, SchemaError};
    /// assert_eq!(Schema::decode(b"HSS\x01\x01P\x63"), Err(SchemaError::UnknownTag { tag: 0x63, at: 6 }));
    /// assert_eq!(Schema::decode(b"HSS\x02"), Err(SchemaError::Version(2)));
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self, SchemaError> {
        if bytes.len() > MAX_SERIALIZED_SCHEMA_BYTES {
            return Err(SchemaError::TooLarge { bytes: bytes.len() });
        }
        let mut r = Reader { bytes, at: 0 };
        if r.take(3)? != MAGIC {
            return Err(SchemaError::NotASchema);
        }
        match r.u8()? {
            SCHEMA_VERSION => {}
            v => return Err(SchemaError::Version(v)),
        }
        let name = r.name()?;
        let ty = r.ty(0)?;
        if r.at != bytes.len() {
            return Err(SchemaError::Trailing { at: r.at });
        }
        Ok(Self { name, ty })
    }
}

/// The tag of a leaf type, or `None` for one that carries more.
fn leaf_tag(t: &SchemaType) -> Option<u8> {
    use SchemaType::*;
    Some(match t {
        Bool => 0,
        I8 => 1,
        U8 => 2,
        I16 => 3,
        I32 => 4,
        I64 => 5,
        I128 => 6,
        U16 => 7,
        U32 => 8,
        U64 => 9,
        U128 => 10,
        Usize => 11,
        Isize => 12,
        F32 => 13,
        F64 => 14,
        Char => 15,
        String => 16,
        Bytes => 17,
        Unit => 18,
        _ => return None,
    })
}

fn leaf_of(tag: u8) -> Option<SchemaType> {
    use SchemaType::*;
    const LEAVES: [SchemaType; 19] = [
        Bool, I8, U8, I16, I32, I64, I128, U16, U32, U64, U128, Usize, Isize, F32, F64, Char,
        String, Bytes, Unit,
    ];
    LEAVES.get(usize::from(tag)).cloned()
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    let mut end = name.len().min(255);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&name.as_bytes()[..end]);
}

/// Counts over 65535 are cut by [`Schema::of`]'s size check long before:
/// 65536 entries take more than a region's schema bytes.
fn put_count(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n.min(usize::from(u16::MAX)) as u16).to_le_bytes());
}

fn put_fields(out: &mut Vec<u8>, fields: &[NamedField]) {
    put_count(out, fields.len());
    for f in fields {
        put_name(out, &f.name);
        put_type(out, &f.ty);
    }
}

fn put_types(out: &mut Vec<u8>, types: &[SchemaType]) {
    put_count(out, types.len());
    types.iter().for_each(|t| put_type(out, t));
}

fn put_type(out: &mut Vec<u8>, t: &SchemaType) {
    if let Some(tag) = leaf_tag(t) {
        out.push(tag);
        return;
    }
    match t {
        SchemaType::Option(t) => {
            out.push(19);
            put_type(out, t);
        }
        SchemaType::UnitStruct(n) => {
            out.push(20);
            put_name(out, n);
        }
        SchemaType::Newtype(n, t) => {
            out.push(21);
            put_name(out, n);
            put_type(out, t);
        }
        SchemaType::Seq(t) => {
            out.push(22);
            put_type(out, t);
        }
        SchemaType::Tuple(ts) => {
            out.push(23);
            put_types(out, ts);
        }
        SchemaType::TupleStruct(n, ts) => {
            out.push(24);
            put_name(out, n);
            put_types(out, ts);
        }
        SchemaType::Map(k, v) => {
            out.push(25);
            put_type(out, k);
            put_type(out, v);
        }
        SchemaType::Struct(n, fs) => {
            out.push(26);
            put_name(out, n);
            put_fields(out, fs);
        }
        SchemaType::Enum(n, vs) => {
            out.push(27);
            put_name(out, n);
            put_count(out, vs.len());
            for v in vs {
                put_name(out, &v.name);
                match &v.kind {
                    VariantKind::Unit => out.push(0),
                    VariantKind::Newtype(t) => {
                        out.push(1);
                        put_type(out, t);
                    }
                    VariantKind::Tuple(ts) => {
                        out.push(2);
                        put_types(out, ts);
                    }
                    VariantKind::Struct(fs) => {
                        out.push(3);
                        put_fields(out, fs);
                    }
                }
            }
        }
        _ => unreachable!("leaf types are handled above"),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SchemaError> {
        let end = self.at.checked_add(n).ok_or(SchemaError::Truncated)?;
        let s = self.bytes.get(self.at..end).ok_or(SchemaError::Truncated)?;
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, SchemaError> {
        Ok(self.take(1)?[0])
    }

    fn count(&mut self) -> Result<usize, SchemaError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
    }

    fn name(&mut self) -> Result<String, SchemaError> {
        let at = self.at;
        let len = usize::from(self.u8()?);
        let b = self.take(len)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| SchemaError::BadName { at })
    }

    /// A count of entries; each takes at least one byte, so a count beyond
    /// the bytes left is a truncated schema (and allocates nothing).
    fn entries(&mut self) -> Result<usize, SchemaError> {
        let n = self.count()?;
        if n > self.bytes.len() - self.at {
            return Err(SchemaError::Truncated);
        }
        Ok(n)
    }

    fn types(&mut self, depth: usize) -> Result<Vec<SchemaType>, SchemaError> {
        let n = self.entries()?;
        (0..n).map(|_| self.ty(depth)).collect()
    }

    fn fields(&mut self, depth: usize) -> Result<Vec<NamedField>, SchemaError> {
        let n = self.entries()?;
        (0..n)
            .map(|_| {
                Ok(NamedField {
                    name: self.name()?,
                    ty: self.ty(depth)?,
                })
            })
            .collect()
    }

    fn ty(&mut self, depth: usize) -> Result<SchemaType, SchemaError> {
        if depth >= MAX_DEPTH {
            return Err(SchemaError::TooDeep);
        }
        let d = depth + 1;
        let at = self.at;
        let tag = self.u8()?;
        if let Some(leaf) = leaf_of(tag) {
            return Ok(leaf);
        }
        Ok(match tag {
            19 => SchemaType::Option(Box::new(self.ty(d)?)),
            20 => SchemaType::UnitStruct(self.name()?),
            21 => SchemaType::Newtype(self.name()?, Box::new(self.ty(d)?)),
            22 => SchemaType::Seq(Box::new(self.ty(d)?)),
            23 => SchemaType::Tuple(self.types(d)?),
            24 => SchemaType::TupleStruct(self.name()?, self.types(d)?),
            25 => SchemaType::Map(Box::new(self.ty(d)?), Box::new(self.ty(d)?)),
            26 => SchemaType::Struct(self.name()?, self.fields(d)?),
            27 => {
                let name = self.name()?;
                let n = self.entries()?;
                let mut variants = Vec::with_capacity(n);
                for _ in 0..n {
                    let vname = self.name()?;
                    let at = self.at;
                    let kind = match self.u8()? {
                        0 => VariantKind::Unit,
                        1 => VariantKind::Newtype(self.ty(d)?),
                        2 => VariantKind::Tuple(self.types(d)?),
                        3 => VariantKind::Struct(self.fields(d)?),
                        tag => return Err(SchemaError::UnknownTag { tag, at }),
                    };
                    variants.push(Variant { name: vname, kind });
                }
                SchemaType::Enum(name, variants)
            }
            tag => return Err(SchemaError::UnknownTag { tag, at }),
        })
    }
}
