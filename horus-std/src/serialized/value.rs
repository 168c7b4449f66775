//! Serialized messages as generic values, given only their [`Schema`]: what
//! the `horus` command, the recorder, bridges and Python use to read and
//! write a serialized topic without the program's source.
//!
//! [`decode`] reads postcard's encoding (varint lengths and integers, zigzag
//! for signed ones, little-endian floats, a `u8` tag for options, a varint
//! index for enum variants) from untrusted bytes: every length is checked
//! against the bytes left, so a hostile message is a [`ValueError`], never a
//! panic or a huge allocation. [`encode`] is its inverse.

use std::fmt;

use super::schema::{NamedField, Schema, SchemaType, VariantKind};

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// A signed integer of any width.
    Int(i128),
    /// An unsigned integer of any width.
    UInt(u128),
    /// `f32` (widened, exactly) or `f64`.
    Float(f64),
    /// `char`.
    Char(char),
    /// A string.
    String(String),
    /// A byte string.
    Bytes(Vec<u8>),
    /// `()`, or a unit struct.
    Unit,
    /// An option.
    Option(Option<Box<Value>>),
    /// A sequence, tuple or tuple struct.
    Seq(Vec<Value>),
    /// A map, as pairs in encoded order.
    Map(Vec<(Value, Value)>),
    /// A struct: its fields by name, in order.
    Struct(Vec<(String, Value)>),
    /// An enum: the variant's name and what it carries ([`Value::Unit`],
    /// the value, a [`Value::Seq`] or a [`Value::Struct`]).
    Enum(String, Box<Value>),
}

/// Why bytes do not decode, or a value does not encode, as a schema says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The bytes end inside the message.
    #[error(
        "the serialized message ends early: it was written for another schema, or is \
         corrupt"
    )]
    Truncated,
    /// A byte that the type cannot hold (a bool of 2, an option tag of 3,
    /// a varint too long, text that is not UTF-8, an unknown variant).
    #[error(
        "the serialized message's field `{path}` does not hold a valid {expected}: it \
         was written for another schema, or is corrupt"
    )]
    Invalid {
        /// Where: the path of the field (`pose.x`, `points[2]`).
        path: String,
        /// What was expected.
        expected: &'static str,
    },
    /// Bytes left after the message.
    #[error(
        "the serialized message has {bytes} bytes after its last field: it was written \
         for another schema"
    )]
    Trailing {
        /// How many.
        bytes: usize,
    },
    /// A value of the wrong shape handed to [`encode`].
    #[error("value for `{path}` does not fit the schema: it must be {expected}")]
    Mismatch {
        /// Where.
        path: String,
        /// What the schema wants there.
        expected: String,
    },
}

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

/// Encodes `value` as a message of type `schema` (the inverse of [`decode`]).
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

fn path_string(path: &[String]) -> String {
    let mut s = String::new();
    for p in path {
        if !s.is_empty() && !p.starts_with('[') {
            s.push('.');
        }
        s.push_str(p);
    }
    if s.is_empty() { "(message)".into() } else { s }
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
            (S::F32, Value::Float(x)) => self.out.extend_from_slice(&(*x as f32).to_le_bytes()),
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

impl fmt::Display for Value {
    /// JSON-like text: `{name: "arm", weights: [1.5, 2]}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T>(
            f: &mut fmt::Formatter<'_>,
            open: &str,
            close: &str,
            items: &[T],
            one: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
        ) -> fmt::Result {
            f.write_str(open)?;
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                one(f, x)?;
            }
            f.write_str(close)
        }
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::UInt(u) => write!(f, "{u}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Char(c) => write!(f, "{:?}", c.to_string()),
            Self::String(s) => write!(f, "{s:?}"),
            Self::Bytes(b) => list(f, "b[", "]", b, |f, x| write!(f, "{x}")),
            Self::Unit | Self::Option(None) => f.write_str("null"),
            Self::Option(Some(v)) => write!(f, "{v}"),
            Self::Seq(vs) => list(f, "[", "]", vs, |f, v| write!(f, "{v}")),
            Self::Map(ps) => list(f, "{", "}", ps, |f, (k, v)| write!(f, "{k}: {v}")),
            Self::Struct(fs) => list(f, "{", "}", fs, |f, (k, v)| write!(f, "{k}: {v}")),
            Self::Enum(name, v) => match **v {
                Self::Unit => f.write_str(name),
                _ => write!(f, "{name}({v})"),
            },
        }
    }
}

impl serde::Serialize for Value {
    /// As JSON would show it: structs and maps as objects (map keys as
    /// their text), options as the value or null, enums as
    /// `{"Variant": value}` (a unit variant as its name).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Self::Bool(b) => s.serialize_bool(*b),
            Self::Int(i) => match i64::try_from(*i) {
                Ok(i) => s.serialize_i64(i),
                Err(_) => s.serialize_str(&i.to_string()),
            },
            Self::UInt(u) => match u64::try_from(*u) {
                Ok(u) => s.serialize_u64(u),
                Err(_) => s.serialize_str(&u.to_string()),
            },
            Self::Float(x) => s.serialize_f64(*x),
            Self::Char(c) => s.serialize_char(*c),
            Self::String(t) => s.serialize_str(t),
            Self::Bytes(b) => s.collect_seq(b),
            Self::Unit | Self::Option(None) => s.serialize_unit(),
            Self::Option(Some(v)) => v.serialize(s),
            Self::Seq(vs) => {
                let mut seq = s.serialize_seq(Some(vs.len()))?;
                vs.iter().try_for_each(|v| seq.serialize_element(v))?;
                seq.end()
            }
            Self::Map(ps) => {
                let mut m = s.serialize_map(Some(ps.len()))?;
                for (k, v) in ps {
                    match k {
                        Self::String(t) => m.serialize_entry(t, v)?,
                        other => m.serialize_entry(&other.to_string(), v)?,
                    }
                }
                m.end()
            }
            Self::Struct(fs) => {
                let mut m = s.serialize_map(Some(fs.len()))?;
                fs.iter().try_for_each(|(k, v)| m.serialize_entry(k, v))?;
                m.end()
            }
            Self::Enum(name, v) => match **v {
                Self::Unit => s.serialize_str(name),
                _ => {
                    let mut m = s.serialize_map(Some(1))?;
                    m.serialize_entry(name, v)?;
                    m.end()
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, postcard_schema::Schema, Debug, PartialEq)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect { w: u16, h: i32 },
    }

    #[derive(Serialize, Deserialize, postcard_schema::Schema, Debug, PartialEq)]
    struct Scene {
        name: String,
        shapes: Vec<Shape>,
        tag: Option<char>,
        big: u128,
        neg: i64,
        pair: (u8, bool),
    }

    fn scene() -> Scene {
        Scene {
            name: "lab".into(),
            shapes: vec![
                Shape::Dot,
                Shape::Circle(2.5),
                Shape::Rect { w: 300, h: -7 },
            ],
            tag: Some('é'),
            big: u128::MAX,
            neg: i64::MIN,
            pair: (255, true),
        }
    }

    #[test]
    fn decode_then_encode_gives_postcards_bytes() {
        let schema = Schema::of::<Scene>().unwrap();
        let bytes = postcard::to_allocvec(&scene()).unwrap();
        let v = decode(&schema, &bytes).unwrap();
        let Value::Struct(fields) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(fields[0], ("name".into(), Value::String("lab".into())));
        assert_eq!(fields[3].1, Value::UInt(u128::MAX));
        assert_eq!(fields[4].1, Value::Int(i64::MIN.into()));
        assert_eq!(encode(&schema, &v).unwrap(), bytes);
        assert_eq!(
            v.to_string(),
            "{name: \"lab\", shapes: [Dot, Circle(2.5), Rect({w: 300, h: -7})], tag: \"é\", \
             big: 340282366920938463463374607431768211455, neg: -9223372036854775808, \
             pair: [255, true]}"
        );
    }

    #[test]
    fn hostile_bytes_are_errors() {
        let schema = Schema::of::<Scene>().unwrap();
        let bytes = postcard::to_allocvec(&scene()).unwrap();
        for n in 0..bytes.len() {
            assert!(decode(&schema, &bytes[..n]).is_err(), "prefix {n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            decode(&schema, &long),
            Err(ValueError::Trailing { bytes: 1 })
        );
        // A huge length is refused before anything is allocated.
        let s = Schema::of::<Vec<u8>>().unwrap();
        assert_eq!(
            decode(&s, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
            Err(ValueError::Truncated)
        );
        let s = Schema::of::<bool>().unwrap();
        assert!(matches!(decode(&s, &[2]), Err(ValueError::Invalid { .. })));
        let s = Schema::of::<Shape>().unwrap();
        let e = decode(&s, &[9]).unwrap_err();
        assert!(e.to_string().contains("enum variant"), "{e}");
    }

    #[test]
    fn encode_names_the_field_that_does_not_fit() {
        let schema = Schema::of::<Scene>().unwrap();
        let mut v = decode(&schema, &postcard::to_allocvec(&scene()).unwrap()).unwrap();
        if let Value::Struct(fs) = &mut v {
            fs[5].1 = Value::Seq(vec![Value::UInt(256), Value::Bool(true)]);
        }
        let e = encode(&schema, &v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "value for `pair[0]` does not fit the schema: it must be an integer in 0..=255 (u8)"
        );
    }
}
