//! Decoding: postcard's encoding read from untrusted bytes into a [`Value`]
//! (see the [module docs](super)).

use super::{Value, ValueError, max_decoded_values, path_string};
use crate::serialized::schema::{NamedField, Schema, SchemaType, VariantKind};

/// Decodes one message of type `schema` from `bytes` (all of them).
///
/// ```
/// use horus::serialized::{Schema, Value, decode};
/// let schema = Schema::of::<(String, Vec<f32>)>().unwrap();
/// let bytes = postcard::to_allocvec(&("arm".to_owned(), vec![1.5f32])).unwrap();
/// let v = decode(&schema, &bytes).unwrap();
/// assert_eq!(v, Value::Seq(vec![
///     Value::String("arm".into()),
///     Value::Seq(vec![Value::Float(1.5)]),
/// ]));
/// ```
///
/// # Bound
/// The work and the memory are bounded by the message's size: it decodes to
/// at most [`max_decoded_values`]`(bytes.len())` values (every [`Value`],
/// nested ones included), and a message holding more (only long sequences
/// of zero-sized elements, which take no byte each, can) is
/// [`ValueError::TooManyValues`]. A zero-sized element (`()`, a unit
/// struct, an empty tuple or struct) takes no byte: a sequence of them is
/// its length alone.
pub fn decode(schema: &Schema, bytes: &[u8]) -> Result<Value, ValueError> {
    let mut r = Reader {
        bytes,
        path: Vec::new(),
        left: max_decoded_values(bytes.len()),
        limit: max_decoded_values(bytes.len()),
        size: bytes.len(),
    };
    let v = r.value(&schema.ty)?;
    match r.bytes.len() {
        0 => Ok(v),
        n => Err(ValueError::Trailing { bytes: n }),
    }
}

/// A step of the path to the value being read: made into text only for an
/// error (a `String` per element was most of a sequence's cost).
enum Seg<'s> {
    Name(&'s str),
    Index(usize),
}

struct Reader<'a, 's> {
    bytes: &'a [u8],
    path: Vec<Seg<'s>>,
    /// Values that may still be decoded.
    left: usize,
    /// The message's bound on values, and its size (for the error).
    limit: usize,
    size: usize,
}

impl<'a, 's> Reader<'a, 's> {
    fn invalid(&self, expected: &'static str) -> ValueError {
        ValueError::Invalid {
            path: path_string(
                &self
                    .path
                    .iter()
                    .map(|s| match s {
                        Seg::Name(n) => (*n).to_owned(),
                        Seg::Index(i) => format!("[{i}]"),
                    })
                    .collect::<Vec<_>>(),
            ),
            expected,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ValueError> {
        if n > self.bytes.len() {
            return Err(ValueError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, ValueError> {
        Ok(self.take(1)?[0])
    }

    /// A LEB128 varint of at most `bits` bits.
    fn varint(&mut self, bits: u32) -> Result<u128, ValueError> {
        let mut v: u128 = 0;
        for i in 0..bits.div_ceil(7) {
            let b = self.byte()?;
            v |= u128::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return if bits < 128 && v >> bits != 0 {
                    Err(self.invalid("integer"))
                } else {
                    Ok(v)
                };
            }
        }
        Err(self.invalid("integer"))
    }

    fn signed(&mut self, bits: u32) -> Result<i128, ValueError> {
        let u = self.varint(bits)?;
        Ok(((u >> 1) as i128) ^ -((u & 1) as i128))
    }

    fn too_many(&self) -> ValueError {
        ValueError::TooManyValues {
            limit: self.limit,
            bytes: self.size,
        }
    }

    /// Counts one more decoded value against the message's bound.
    fn spend(&mut self) -> Result<(), ValueError> {
        self.left = self.left.checked_sub(1).ok_or_else(|| self.too_many())?;
        Ok(())
    }

    /// A length of bytes: never more than the bytes left.
    fn len(&mut self) -> Result<usize, ValueError> {
        let n = self.varint(64)?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.bytes.len())
            .ok_or(ValueError::Truncated)
    }

    /// A count of elements: never more than the bytes left unless the
    /// elements are zero-sized (each other element takes one byte at least),
    /// nor more than the values that may still be decoded.
    fn count(&mut self, zero_sized: impl FnOnce() -> bool) -> Result<usize, ValueError> {
        let n = self.varint(64)?;
        if n > self.bytes.len() as u128 && !zero_sized() {
            return Err(ValueError::Truncated);
        }
        match usize::try_from(n) {
            Ok(n) if n <= self.left => Ok(n),
            _ => Err(self.too_many()),
        }
    }

    fn text(&mut self) -> Result<String, ValueError> {
        let n = self.len()?;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| self.invalid("UTF-8 text"))
    }

    fn at<T>(&mut self, seg: Seg<'s>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(seg);
        let r = f(self);
        self.path.pop();
        r
    }

    fn all(&mut self, types: &'s [SchemaType]) -> Result<Value, ValueError> {
        let vals = types
            .iter()
            .enumerate()
            .map(|(i, t)| self.at(Seg::Index(i), |r| r.value(t)))
            .collect::<Result<_, _>>()?;
        Ok(Value::Seq(vals))
    }

    fn fields(&mut self, fields: &'s [NamedField]) -> Result<Value, ValueError> {
        let vals = fields
            .iter()
            .map(|f| {
                Ok((
                    f.name.clone(),
                    self.at(Seg::Name(&f.name), |r| r.value(&f.ty))?,
                ))
            })
            .collect::<Result<_, _>>()?;
        Ok(Value::Struct(vals))
    }

    fn value(&mut self, t: &'s SchemaType) -> Result<Value, ValueError> {
        use SchemaType as S;
        self.spend()?;
        Ok(match t {
            S::Bool => match self.byte()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => return Err(self.invalid("bool")),
            },
            S::U8 => Value::UInt(self.byte()?.into()),
            S::I8 => Value::Int((self.byte()? as i8).into()),
            S::U16 => Value::UInt(self.varint(16)?),
            S::U32 => Value::UInt(self.varint(32)?),
            S::U64 | S::Usize => Value::UInt(self.varint(64)?),
            S::U128 => Value::UInt(self.varint(128)?),
            S::I16 => Value::Int(self.signed(16)?),
            S::I32 => Value::Int(self.signed(32)?),
            S::I64 | S::Isize => Value::Int(self.signed(64)?),
            S::I128 => Value::Int(self.signed(128)?),
            S::F32 => {
                Value::Float(f32::from_le_bytes(self.take(4)?.try_into().unwrap_or([0; 4])).into())
            }
            S::F64 => Value::Float(f64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or([0; 8]),
            )),
            S::Char => {
                let s = self.text()?;
                let mut cs = s.chars();
                match (cs.next(), cs.next()) {
                    (Some(c), None) => Value::Char(c),
                    _ => return Err(self.invalid("char")),
                }
            }
            S::String => Value::String(self.text()?),
            S::Bytes => {
                let n = self.len()?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            S::Unit | S::UnitStruct(_) => Value::Unit,
            S::Option(t) => match self.byte()? {
                0 => Value::Option(None),
                1 => Value::Option(Some(Box::new(self.value(t)?))),
                _ => return Err(self.invalid("option tag")),
            },
            // Its content, counted once.
            S::Newtype(_, t) => {
                self.left += 1;
                self.value(t)?
            }
            S::Seq(t) => {
                let n = self.count(|| t.is_zero_sized())?;
                let vals = (0..n)
                    .map(|i| self.at(Seg::Index(i), |r| r.value(t)))
                    .collect::<Result<_, _>>()?;
                Value::Seq(vals)
            }
            S::Tuple(ts) | S::TupleStruct(_, ts) => self.all(ts)?,
            S::Map(k, v) => {
                let n = self.count(|| k.is_zero_sized() && v.is_zero_sized())?;
                let pairs = (0..n)
                    .map(|i| self.at(Seg::Index(i), |r| Ok((r.value(k)?, r.value(v)?))))
                    .collect::<Result<_, _>>()?;
                Value::Map(pairs)
            }
            S::Struct(_, fs) => self.fields(fs)?,
            S::Enum(_, vs) => {
                let i = self.varint(32)?;
                let Some(v) = usize::try_from(i).ok().and_then(|i| vs.get(i)) else {
                    return Err(self.invalid("enum variant"));
                };
                let inner = self.at(Seg::Name(&v.name), |r| match &v.kind {
                    VariantKind::Unit => Ok(Value::Unit),
                    VariantKind::Newtype(t) => r.value(t),
                    VariantKind::Tuple(ts) => r.all(ts),
                    VariantKind::Struct(fs) => r.fields(fs),
                })?;
                Value::Enum(v.name.clone(), Box::new(inner))
            }
        })
    }
}
