//! Serialized messages as generic values, given only their [`Schema`](crate::serialized::Schema): what
//! the `horus` command, the recorder, bridges and Python use to read and
//! write a serialized topic without the program's source.
//!
//! [`decode`] reads postcard's encoding (varint lengths and integers, zigzag
//! for signed ones, little-endian floats, a `u8` tag for options, a varint
//! index for enum variants) from untrusted bytes: every length is checked
//! against the bytes left, so a hostile message is a [`ValueError`], never a
//! panic or a huge allocation. [`encode`] is its inverse.

use std::fmt;

mod reader;
mod writer;

pub use reader::decode;
pub use writer::encode;

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
    use crate::serialized::Schema;
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

    /// Was a silent change: 1e40 sent as an f32 arrived as infinity.
    #[test]
    fn an_f32_beyond_its_range_is_refused_not_made_infinite() {
        let schema = Schema::of::<f32>().unwrap();
        for x in [1e40, -1e39, f64::MAX] {
            let e = encode(&schema, &Value::Float(x)).unwrap_err();
            assert!(e.to_string().contains("within f32's range"), "{x}: {e}");
        }
        let e = encode(&schema, &Value::UInt(u128::MAX)).unwrap_err();
        assert!(e.to_string().contains("within f32's range"), "{e}");
        for x in [f64::from(f32::MAX), 1.5, f64::INFINITY, f64::NEG_INFINITY] {
            let bytes = encode(&schema, &Value::Float(x)).unwrap();
            assert_eq!(bytes, (x as f32).to_le_bytes(), "{x}");
        }
        assert!(encode(&schema, &Value::Float(f64::NAN)).is_ok());
    }
}
