//! Decoding: postcard's encoding read from untrusted bytes into a [`Value`]
//! (see the [module docs](super)).

use super::{Value, ValueError, path_string};
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
pub fn decode(schema: &Schema, bytes: &[u8]) -> Result<Value, ValueError> {
    let mut r = Reader {
        bytes,
        path: Vec::new(),
    };
    let v = r.value(&schema.ty)?;
    match r.bytes.len() {
        0 => Ok(v),
        n => Err(ValueError::Trailing { bytes: n }),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    path: Vec<String>,
}

impl<'a> Reader<'a> {
    fn invalid(&self, expected: &'static str) -> ValueError {
        ValueError::Invalid {
            path: path_string(&self.path),
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

    /// A length: never more than the bytes left (each element takes one at least).
    fn len(&mut self) -> Result<usize, ValueError> {
        let n = self.varint(64)?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.bytes.len())
            .ok_or(ValueError::Truncated)
    }

    fn text(&mut self) -> Result<String, ValueError> {
        let n = self.len()?;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| self.invalid("UTF-8 text"))
    }

    fn at<T>(&mut self, seg: String, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(seg);
        let r = f(self);
        self.path.pop();
        r
    }

    fn all(&mut self, types: &[SchemaType]) -> Result<Value, ValueError> {
        let vals = types
            .iter()
            .enumerate()
            .map(|(i, t)| self.at(format!("[{i}]"), |r| r.value(t)))
            .collect::<Result<_, _>>()?;
        Ok(Value::Seq(vals))
    }

    fn fields(&mut self, fields: &[NamedField]) -> Result<Value, ValueError> {
        let vals = fields
            .iter()
            .map(|f| Ok((f.name.clone(), self.at(f.name.clone(), |r| r.value(&f.ty))?)))
            .collect::<Result<_, _>>()?;
        Ok(Value::Struct(vals))
    }

    fn value(&mut self, t: &SchemaType) -> Result<Value, ValueError> {
        use SchemaType as S;
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
            S::Newtype(_, t) => self.value(t)?,
            S::Seq(t) => {
                let n = self.len()?;
                let vals = (0..n)
                    .map(|i| self.at(format!("[{i}]"), |r| r.value(t)))
                    .collect::<Result<_, _>>()?;
                Value::Seq(vals)
            }
            S::Tuple(ts) | S::TupleStruct(_, ts) => self.all(ts)?,
            S::Map(k, v) => {
                let n = self.len()?;
                let pairs = (0..n)
                    .map(|i| self.at(format!("[{i}]"), |r| Ok((r.value(k)?, r.value(v)?))))
                    .collect::<Result<_, _>>()?;
                Value::Map(pairs)
            }
            S::Struct(_, fs) => self.fields(fs)?,
            S::Enum(_, vs) => {
                let i = self.varint(32)?;
                let Some(v) = usize::try_from(i).ok().and_then(|i| vs.get(i)) else {
                    return Err(self.invalid("enum variant"));
                };
                let inner = self.at(v.name.clone(), |r| match &v.kind {
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
