//! Serialized messages as generic values, given only their [`Schema`](crate::serialized::Schema): what
//! the `horus` command, the recorder, bridges and Python use to read and
//! write a serialized topic without the program's source.
//!
//! [`decode`] reads postcard's encoding (varint lengths and integers, zigzag
//! for signed ones, little-endian floats, a `u8` tag for options, a varint
//! index for enum variants) from untrusted bytes: every length is checked
//! against the bytes left (a sequence of zero-sized elements, which take no
//! byte each, against the values left), and a message decodes to at most
//! [`max_decoded_values`] values, so a hostile message is a [`ValueError`],
//! never a panic, a huge allocation or a long loop. [`encode`] is its inverse.

use std::fmt;

mod reader;
mod writer;

pub use reader::decode;
pub use writer::encode;

/// Values [`decode`] makes from a message, at least (see [`max_decoded_values`]).
pub const MIN_DECODED_VALUES: usize = 65_536;
/// Values [`decode`] makes from a message, per byte of it (see [`max_decoded_values`]).
pub const DECODED_VALUES_PER_BYTE: usize = 8;

/// The most values (every [`Value`], nested ones included) that [`decode`]
/// makes from a message of `bytes` bytes: [`DECODED_VALUES_PER_BYTE`] per
/// byte, [`MIN_DECODED_VALUES`] at least. A message of a type without
/// sequences of zero-sized elements never reaches it unless its schema
/// nests more than eight values per byte it takes; one with such sequences
/// (each element a value, and no byte) does past that many elements, and is
/// [`ValueError::TooManyValues`]. So the decoder's work and memory are at
/// most a fixed multiple of the message's size (a [`Value`] is a few dozen
/// bytes), whatever the bytes.
///
/// ```
/// use horus::serialized::value::max_decoded_values;
/// assert_eq!(max_decoded_values(10), 65_536);
/// assert_eq!(max_decoded_values(1 << 20), 8 << 20);
/// ```
pub const fn max_decoded_values(bytes: usize) -> usize {
    let per_byte = bytes.saturating_mul(DECODED_VALUES_PER_BYTE);
    if per_byte > MIN_DECODED_VALUES {
        per_byte
    } else {
        MIN_DECODED_VALUES
    }
}

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
    /// More values than [`max_decoded_values`] allows for the message's
    /// size: only a long sequence of zero-sized elements (`()`, unit
    /// structs, empty tuples or structs), which take no byte each, holds so
    /// many.
    #[error(
        "the serialized message of {bytes} bytes holds more than {limit} values, the \
         decoder's bound for its size ({DECODED_VALUES_PER_BYTE} a byte, \
         {MIN_DECODED_VALUES} at least): it carries a sequence of zero-sized elements that \
         long, or is corrupt; send the count instead of a sequence of empty values"
    )]
    TooManyValues {
        /// The bound for this message.
        limit: usize,
        /// The message's size.
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

/// How JSON shows a float it has no number for: `"NaN"`, `"inf"` or
/// `"-inf"` (ROS 2's YAML echo shows `.nan` / `.inf`), so that a REP-117
/// range (`+inf`: nothing within range, `-inf`: too close, `NaN`: no
/// return) keeps its meaning where `null` lost it; `None` for a finite one.
///
/// ```
/// use horus::serialized::non_finite_name;
/// assert_eq!(non_finite_name(f64::NEG_INFINITY), Some("-inf"));
/// assert_eq!(non_finite_name(f64::NAN), Some("NaN"));
/// assert_eq!(non_finite_name(1.5), None);
/// ```
pub fn non_finite_name(x: f64) -> Option<&'static str> {
    match x {
        x if x.is_nan() => Some("NaN"),
        f64::INFINITY => Some("inf"),
        f64::NEG_INFINITY => Some("-inf"),
        _ => None,
    }
}

impl serde::Serialize for Value {
    /// As JSON would show it: structs and maps as objects (map keys as
    /// their text), options as the value or null, enums as
    /// `{"Variant": value}` (a unit variant as its name), a float that is
    /// no number as its [`non_finite_name`].
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
            Self::Float(x) => match non_finite_name(*x) {
                Some(name) => s.serialize_str(name),
                None => s.serialize_f64(*x),
            },
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
        // The error names where: fields by name, elements by index.
        let e = decode(
            &Schema::of::<Scene>().unwrap(),
            &[0, 1, 2, 0xff, 0xff, 0x7f],
        )
        .unwrap_err();
        assert_eq!(
            e,
            ValueError::Invalid {
                path: "shapes[0].Rect.w".into(),
                expected: "integer"
            }
        );
    }

    #[derive(Serialize, Deserialize, postcard_schema::Schema, Debug, PartialEq, Clone)]
    struct Empty;

    #[derive(Serialize, Deserialize, postcard_schema::Schema, Debug, PartialEq)]
    struct Zst {
        units: Vec<()>,
        empties: Vec<Empty>,
        pairs: Vec<((), Empty)>,
        map: Vec<(u8, ())>,
        after: u8,
    }

    /// Was "ends early": a sequence's length was capped at the bytes left,
    /// which zero-sized elements do not take.
    #[test]
    fn a_sequence_of_zero_sized_elements_decodes_and_encodes_back() {
        let schema = Schema::of::<Zst>().unwrap();
        let msg = Zst {
            units: vec![(); 10],
            empties: vec![Empty; 300],
            pairs: vec![((), Empty); 3],
            map: vec![(1, ()), (2, ())],
            after: 7,
        };
        let bytes = postcard::to_allocvec(&msg).unwrap();
        let v = decode(&schema, &bytes).unwrap();
        let Value::Struct(fs) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(fs[0].1, Value::Seq(vec![Value::Unit; 10]));
        assert_eq!(fs[1].1, Value::Seq(vec![Value::Unit; 300]));
        assert_eq!(
            fs[2].1,
            Value::Seq(vec![Value::Seq(vec![Value::Unit, Value::Unit]); 3])
        );
        assert_eq!(fs[4].1, Value::UInt(7));
        assert_eq!(encode(&schema, &v).unwrap(), bytes);
        // A length over the bytes left is still "ends early" for elements
        // that take bytes.
        let s = Schema::of::<Vec<u8>>().unwrap();
        assert_eq!(decode(&s, &[5, 1, 2]), Err(ValueError::Truncated));
    }

    /// Was a ~9 GB allocation (an abort) from one valid 40 KB message: 20000
    /// rows of 16383 units each, 2 bytes a row.
    #[test]
    fn a_message_of_more_values_than_its_bound_is_refused_early() {
        #[derive(Serialize, postcard_schema::Schema)]
        struct Grid {
            rows: Vec<Vec<()>>,
        }
        let schema = Schema::of::<Grid>().unwrap();
        // What postcard makes of 20000 rows of 16383 units (written by hand:
        // encoding them visits every unit).
        let mut bytes = vec![0xa0, 0x9c, 0x01]; // 20000
        for _ in 0..20_000 {
            bytes.extend([0xff, 0x7f]); // 16383
        }
        let small = Grid {
            rows: vec![vec![(); 16_383]; 2],
        };
        assert_eq!(
            postcard::to_allocvec(&small).unwrap(),
            [2, 0xff, 0x7f, 0xff, 0x7f]
        );
        assert_eq!(bytes.len(), 40_003);
        let limit = max_decoded_values(bytes.len());
        assert_eq!(limit, 320_024);
        let start = std::time::Instant::now();
        let e = decode(&schema, &bytes).unwrap_err();
        assert_eq!(
            e,
            ValueError::TooManyValues {
                limit,
                bytes: 40_003
            }
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(
            e.to_string(),
            "the serialized message of 40003 bytes holds more than 320024 values, the \
             decoder's bound for its size (8 a byte, 65536 at least): it carries a sequence \
             of zero-sized elements that long, or is corrupt; send the count instead of a \
             sequence of empty values"
        );
        // One sequence claiming more than the bound is refused before any
        // element is decoded; u64::MAX too.
        let s = Schema::of::<Vec<()>>().unwrap();
        assert!(matches!(
            decode(&s, &[0x80, 0x80, 0x80, 0x01]), // 2^21
            Err(ValueError::TooManyValues { limit: 65_536, .. })
        ));
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert!(matches!(
            decode(&s, &max),
            Err(ValueError::TooManyValues { .. })
        ));
        // Just under the bound: the sequence and its elements.
        let n = MIN_DECODED_VALUES - 1;
        let v = decode(&s, &postcard::to_allocvec(&vec![(); n]).unwrap()).unwrap();
        assert_eq!(v, Value::Seq(vec![Value::Unit; n]));
        let e = decode(&s, &postcard::to_allocvec(&vec![(); n + 1]).unwrap()).unwrap_err();
        assert!(matches!(e, ValueError::TooManyValues { .. }), "{e}");
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
