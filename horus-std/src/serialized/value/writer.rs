//! Encoding: a [`Value`] written as postcard encodes its schema's type
//! (see the [module docs](super)).

use super::{Value, ValueError, path_string};
use crate::serialized::schema::{NamedField, Schema, SchemaType, VariantKind};

/// Encodes `value` as a message of type `schema` (the inverse of [`decode`](super::decode)).
///
/// ```
/// use horus::serialized::{Schema, Value, encode};
/// let schema = Schema::of::<(u8, Option<bool>)>().unwrap();
/// let v = Value::Seq(vec![Value::UInt(7), Value::Option(Some(Box::new(Value::Bool(true))))]);
/// assert_eq!(encode(&schema, &v).unwrap(), postcard::to_allocvec(&(7u8, Some(true))).unwrap());
/// assert!(encode(&schema, &Value::Unit).is_err());
/// ```
pub fn encode(schema: &Schema, value: &Value) -> Result<Vec<u8>, ValueError> {
    let mut w = Writer {
        out: Vec::new(),
        path: Vec::new(),
    };
    w.value(&schema.ty, value)?;
    Ok(w.out)
}

struct Writer {
    out: Vec<u8>,
    path: Vec<String>,
}

impl Writer {
    fn mismatch(&self, expected: impl Into<String>) -> ValueError {
        ValueError::Mismatch {
            path: path_string(&self.path),
            expected: expected.into(),
        }
    }

    fn varint(&mut self, mut v: u128) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.out.push(b);
                return;
            }
            self.out.push(b | 0x80);
        }
    }

    fn unsigned(&mut self, v: &Value, max: u128, what: &str) -> Result<(), ValueError> {
        let u = match *v {
            Value::UInt(u) => Some(u),
            Value::Int(i) => u128::try_from(i).ok(),
            _ => None,
        };
        match u.filter(|&u| u <= max) {
            Some(u) => {
                self.varint(u);
                Ok(())
            }
            None => Err(self.mismatch(format!("an integer in 0..={max} ({what})"))),
        }
    }

    fn signed(&mut self, v: &Value, bits: u32, what: &str) -> Result<i128, ValueError> {
        let (min, max) = if bits == 128 {
            (i128::MIN, i128::MAX)
        } else {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        };
        let i = match *v {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i128::try_from(u).ok(),
            _ => None,
        };
        i.filter(|i| (min..=max).contains(i))
            .ok_or_else(|| self.mismatch(format!("an integer in {min}..={max} ({what})")))
    }

    fn zigzag(&mut self, i: i128) {
        self.varint(((i << 1) ^ (i >> 127)) as u128);
    }

    fn at<T>(&mut self, seg: String, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(seg);
        let r = f(self);
        self.path.pop();
        r
    }

    fn all(&mut self, types: &[SchemaType], v: &Value) -> Result<(), ValueError> {
        match v {
            Value::Seq(vals) if vals.len() == types.len() => {
                for (i, (t, v)) in types.iter().zip(vals).enumerate() {
                    self.at(format!("[{i}]"), |w| w.value(t, v))?;
                }
                Ok(())
            }
            _ => Err(self.mismatch(format!("a sequence of {} values", types.len()))),
        }
    }

    fn fields(&mut self, fields: &[NamedField], v: &Value) -> Result<(), ValueError> {
        let Value::Struct(vals) = v else {
            return Err(self.mismatch("a struct"));
        };
        for f in fields {
            let Some((_, fv)) = vals.iter().find(|(n, _)| *n == f.name) else {
                return Err(self.mismatch(format!("a struct with field `{}`", f.name)));
            };
            self.at(f.name.clone(), |w| w.value(&f.ty, fv))?;
        }
        Ok(())
    }

    fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u128);
        self.out.extend_from_slice(b);
    }

    fn value(&mut self, t: &SchemaType, v: &Value) -> Result<(), ValueError> {
        use SchemaType as S;
        match (t, v) {
            (S::Bool, Value::Bool(b)) => self.out.push(u8::from(*b)),
            (S::U8, _) => {
                let n = self.signed(v, 9, "u8").ok().filter(|n| *n >= 0);
                let n = n.ok_or_else(|| self.mismatch("an integer in 0..=255 (u8)"))?;
                self.out.push(n as u8);
            }
            (S::I8, _) => {
                let n = self.signed(v, 8, "i8")?;
                self.out.push(n as i8 as u8);
            }
            (S::U16, _) => self.unsigned(v, u16::MAX.into(), "u16")?,
            (S::U32, _) => self.unsigned(v, u32::MAX.into(), "u32")?,
            (S::U64 | S::Usize, _) => self.unsigned(v, u64::MAX.into(), "u64")?,
            (S::U128, _) => self.unsigned(v, u128::MAX, "u128")?,
            (S::I16, _) => {
                let i = self.signed(v, 16, "i16")?;
                self.zigzag(i);
            }
            (S::I32, _) => {
                let i = self.signed(v, 32, "i32")?;
                self.zigzag(i);
            }
            (S::I64 | S::Isize, _) => {
                let i = self.signed(v, 64, "i64")?;
                self.zigzag(i);
            }
            (S::I128, _) => {
                let i = self.signed(v, 128, "i128")?;
                self.zigzag(i);
            }
            (S::F32, Value::Float(x)) => {
                // A finite value beyond f32's range would become infinity:
                // refused, not changed (NaN and the infinities are f32s).
                let narrowed = *x as f32;
                if x.is_finite() && !narrowed.is_finite() {
                    return Err(
                        self.mismatch("a float within f32's range (at most 3.4e38 either way)")
                    );
                }
                self.out.extend_from_slice(&narrowed.to_le_bytes());
            }
            (S::F64, Value::Float(x)) => self.out.extend_from_slice(&x.to_le_bytes()),
            (S::F32 | S::F64, Value::Int(_) | Value::UInt(_)) => {
                let x = match *v {
                    Value::Int(i) => i as f64,
                    Value::UInt(u) => u as f64,
                    _ => 0.0,
                };
                self.value(t, &Value::Float(x))?;
            }
            (S::Char, Value::Char(c)) => self.bytes(c.to_string().as_bytes()),
            (S::String, Value::String(s)) => self.bytes(s.as_bytes()),
            (S::Bytes, Value::Bytes(b)) => self.bytes(b),
            (S::Unit | S::UnitStruct(_), Value::Unit) => {}
            (S::Option(_), Value::Option(None)) => self.out.push(0),
            (S::Option(t), Value::Option(Some(v))) => {
                self.out.push(1);
                self.value(t, v)?;
            }
            (S::Newtype(_, t), _) => self.value(t, v)?,
            (S::Seq(t), Value::Seq(vals)) => {
                self.varint(vals.len() as u128);
                for (i, v) in vals.iter().enumerate() {
                    self.at(format!("[{i}]"), |w| w.value(t, v))?;
                }
            }
            (S::Tuple(ts) | S::TupleStruct(_, ts), _) => self.all(ts, v)?,
            (S::Map(kt, vt), Value::Map(pairs)) => {
                self.varint(pairs.len() as u128);
                for (i, (k, v)) in pairs.iter().enumerate() {
                    self.at(format!("[{i}]"), |w| {
                        w.value(kt, k)?;
                        w.value(vt, v)
                    })?;
                }
            }
            (S::Struct(_, fs), _) => self.fields(fs, v)?,
            (S::Enum(_, vs), Value::Enum(name, inner)) => {
                let Some(i) = vs.iter().position(|x| x.name == *name) else {
                    let names: Vec<&str> = vs.iter().map(|x| x.name.as_str()).collect();
                    return Err(self.mismatch(format!("one of the variants {}", names.join(", "))));
                };
                self.varint(i as u128);
                self.at(name.clone(), |w| match &vs[i].kind {
                    VariantKind::Unit => match **inner {
                        Value::Unit => Ok(()),
                        _ => Err(w.mismatch("unit (the variant carries nothing)")),
                    },
                    VariantKind::Newtype(t) => w.value(t, inner),
                    VariantKind::Tuple(ts) => w.all(ts, inner),
                    VariantKind::Struct(fs) => w.fields(fs, inner),
                })?;
            }
            (t, _) => return Err(self.mismatch(format!("a value of type {}", type_word(t)))),
        }
        Ok(())
    }
}

/// A short word for a type in [`ValueError::Mismatch`].
fn type_word(t: &SchemaType) -> &'static str {
    use SchemaType as S;
    match t {
        S::Bool => "bool",
        S::F32 | S::F64 => "float",
        S::Char => "char",
        S::String => "string",
        S::Bytes => "bytes",
        S::Unit | S::UnitStruct(_) => "unit",
        S::Option(_) => "option",
        S::Seq(_) => "sequence",
        S::Map(..) => "map",
        S::Enum(..) => "enum",
        _ => "integer",
    }
}
