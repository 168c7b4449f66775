//! Messages as bytes <-> named values, through the self-description stored
//! in the topic's region (`TopicInfo::fields`), never the program's source.
//!
//! Fields are little-endian primitives or arrays of them (HORUS builds for
//! little-endian targets only, so a region's bytes are the same on every
//! target); nested messages arrive flattened (`pose.x`).
//! A `u8` array holding NUL-padded printable ASCII is shown as a string
//! (all NULs as `""`, unless the field is padding: `_pad`).

use horus::inspect::TopicInfo;
use horus_nostd::FieldKind;
use horus_nostd::region::SchemaField;

mod encode;
pub use encode::encode;

/// `text` as an error echoes it: whole if short, else its first characters
/// and `…`, as horus's own errors quote what they were given.
pub use horus::error::echoed as short;

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Unsigned integer.
    U(u64),
    /// Signed integer.
    I(i64),
    /// Float.
    F(f64),
    /// A `u8` array that reads as text.
    Str(String),
    /// An array.
    Array(Vec<Value>),
}

/// Bytes of one element of `kind` (0 for nested structs, never stored flattened).
fn elem_size(kind: FieldKind) -> usize {
    match kind {
        FieldKind::U8 | FieldKind::I8 => 1,
        FieldKind::U16 | FieldKind::I16 => 2,
        FieldKind::U32 | FieldKind::I32 | FieldKind::F32 => 4,
        FieldKind::U64 | FieldKind::I64 | FieldKind::F64 => 8,
        _ => 0,
    }
}

/// Can the message be decoded field by field? (Else: hex.)
pub fn describable(info: &TopicInfo) -> bool {
    !info.fields.is_empty()
        && info
            .fields
            .iter()
            .all(|f| field_ok(f, info.message_size as usize))
}

/// The stored entry describes a primitive (array) lying inside the
/// message, of the size its kind and count make. The entries are the
/// region creator's: every sum and product is checked.
fn field_ok(f: &SchemaField, message_size: usize) -> bool {
    field_fault(f, message_size).is_none()
}

/// What is wrong with the stored entry `f`, as a phrase; `None` if it
/// describes a primitive (array) inside the message, of the size its kind
/// and count make. The entries are the region creator's: every sum and
/// product is checked.
fn field_fault(f: &SchemaField, message_size: usize) -> Option<String> {
    let Some(kind) = f.kind.filter(|&k| elem_size(k) > 0) else {
        return Some("it is of no primitive kind this horus knows".to_owned());
    };
    let elem = elem_size(kind);
    if f.count == 0 || (elem as u64).checked_mul(f.count) != Some(u64::from(f.size)) {
        let s = if f.size == 1 { "" } else { "s" };
        return Some(format!(
            "{} byte{s} for {} {}",
            f.size,
            f.count,
            kind.name()
        ));
    }
    if f.shape.elements() != Some(f.count) {
        return Some(format!(
            "it has a shape that does not hold its {} elements",
            f.count
        ));
    }
    match field_range(f) {
        Some(r) if r.end <= message_size => None,
        _ => Some(format!(
            "it lies at bytes {}..{} of a {message_size}-byte message",
            f.offset,
            u64::from(f.offset) + u64::from(f.size)
        )),
    }
}

/// Why `info`'s messages cannot be decoded field by field, as the end of
/// a sentence starting with the topic's name (`has no self-description`);
/// `None` if they can ([`describable`]). See [`CORRUPT_SCHEMA`].
pub fn undescribable(info: &TopicInfo) -> Option<String> {
    if info.fields.is_empty() {
        return Some("has no self-description".to_owned());
    }
    let (name, fault) = info
        .fields
        .iter()
        .find_map(|f| field_fault(f, info.message_size as usize).map(|e| (f.name.as_str(), e)))?;
    Some(format!(
        "has a self-description that does not fit its messages (its entry for field \
         {name:?} says {fault})"
    ))
}

/// What to do about a self-description that does not fit its messages
/// (one that [`undescribable`] finds fault with; not a missing one).
pub const CORRUPT_SCHEMA: &str = "if the topic's processes are of this version of HORUS, \
     its region is corrupt: stop them and run `horus clean --shm` to remove it";

/// The bytes of the message `f` occupies (`None` if its end overflows).
fn field_range(f: &SchemaField) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(f.offset).ok()?;
    Some(start..start.checked_add(usize::try_from(f.size).ok()?)?)
}

/// One element of `kind` from the first bytes of `b`; `None` if `b` is
/// shorter than the element (or `kind` is not a primitive).
fn read_elem(kind: FieldKind, b: &[u8]) -> Option<Value> {
    let n = elem_size(kind);
    let bytes = b.get(..n).filter(|_| n > 0)?;
    let mut w = [0u8; 8];
    w[..n].copy_from_slice(bytes);
    let u = u64::from_le_bytes(w);
    // Sign-extends the `n`-byte integer in `u`.
    let signed = (u << (64 - 8 * n)) as i64 >> (64 - 8 * n);
    Some(match kind {
        FieldKind::U8 | FieldKind::U16 | FieldKind::U32 | FieldKind::U64 => Value::U(u),
        FieldKind::I8 | FieldKind::I16 | FieldKind::I32 | FieldKind::I64 => Value::I(signed),
        FieldKind::F32 => Value::F(f64::from(f32::from_bits(u as u32))),
        _ => Value::F(f64::from_bits(u)),
    })
}

/// NUL-padded printable ASCII. All NULs are the empty text (a text field
/// not set: it was an array of zeros then, and a string once set) if
/// `blank_is_text`, else no text (see [`blank_is_text`]).
fn as_text(bytes: &[u8], blank_is_text: bool) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let (text, pad) = bytes.split_at(end);
    let printable = text.iter().all(|&b| (0x20..0x7f).contains(&b));
    ((end > 0 || blank_is_text && !bytes.is_empty()) && printable && pad.iter().all(|&b| b == 0))
        .then(|| String::from_utf8_lossy(text).into_owned())
}

/// Whether an all-NUL `u8` array is shown as `""`: yes, unless its field is
/// padding (named `_...`, Rust's mark of a field nothing reads), which
/// stays its zeros.
fn blank_is_text(field: &SchemaField) -> bool {
    !field.name.as_str().starts_with('_')
}

/// The fields of one message. Meant for a [`describable`] schema; of any
/// other, the fields that are not well-formed (or not inside `bytes`) are
/// left out: a schema read from a hostile region never makes it panic.
pub fn decode(info: &TopicInfo, bytes: &[u8]) -> Vec<(String, Value)> {
    info.fields
        .iter()
        .filter(|f| field_ok(f, info.message_size as usize))
        .filter_map(|f| {
            let kind = f.kind?;
            let raw = bytes.get(field_range(f)?)?;
            let value = if f.count == 1 {
                read_elem(kind, raw)?
            } else {
                array(kind, raw, f.shape.dims(), blank_is_text(f))
            };
            Some((f.name.as_str().to_owned(), value))
        })
        .collect()
}

/// The array of `kind` in `raw`, of sizes `dims` (outermost first): rows of
/// rows; a `u8` row that reads as text is a string (all NULs too if
/// `blank_is_text`).
fn array(kind: FieldKind, raw: &[u8], dims: &[u32], blank_is_text: bool) -> Value {
    if let [_, inner @ ..] = dims
        && !inner.is_empty()
    {
        let rows = dims[0].max(1) as usize;
        let row = (raw.len() / rows).max(1);
        return Value::Array(
            raw.chunks_exact(row)
                .map(|r| array(kind, r, inner, blank_is_text))
                .collect(),
        );
    }
    match (kind == FieldKind::U8)
        .then(|| as_text(raw, blank_is_text))
        .flatten()
    {
        Some(s) => Value::Str(s),
        None => Value::Array(
            raw.chunks_exact(elem_size(kind).max(1))
                .filter_map(|c| read_elem(kind, c))
                .collect(),
        ),
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::U(v) => write!(f, "{v}"),
            Self::I(v) => write!(f, "{v}"),
            Self::F(v) => write!(f, "{v:?}"),
            Self::Str(s) => write!(f, "{s:?}"),
            Self::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A field's type as Rust writes it, the one notation of `topic list -v`,
/// `topic info` and `topic pub`'s errors: `f64`, `[f64; 3]`, `[[i16; 2]; 3]`
/// (`dims` outermost first).
pub fn rust_type(kind: &str, dims: &[u32]) -> String {
    dims.iter()
        .rev()
        .fold(kind.to_owned(), |ty, n| format!("[{ty}; {n}]"))
}

/// Elements of an array that `echo` shows unless `--full`.
pub const ARRAY_SHOWN: usize = 32;

impl Value {
    /// As text; an array longer than [`ARRAY_SHOWN`] is cut there unless
    /// `full`, with how many more it has.
    pub fn show(&self, full: bool) -> String {
        match self {
            Self::Array(items) if !full && items.len() > ARRAY_SHOWN => {
                let shown: Vec<String> =
                    items[..ARRAY_SHOWN].iter().map(|v| v.show(full)).collect();
                let more = items.len() - ARRAY_SHOWN;
                format!(
                    "[{}, ... ({more} more; --full shows all)]",
                    shown.join(", ")
                )
            }
            other => other.to_string(),
        }
    }
}

/// As JSON (a float that is no number as `"NaN"`, `"inf"`, `"-inf"`: see
/// [`horus::serialized::non_finite_name`]).
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::U(u) => (*u).into(),
        Value::I(i) => (*i).into(),
        Value::F(x) => match horus::serialized::non_finite_name(*x) {
            Some(name) => name.into(),
            None => serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, Into::into),
        },
        Value::Str(s) => s.clone().into(),
        Value::Array(items) => items.iter().map(to_json).collect(),
    }
}

/// The bytes as one hex string (`"0a1b"`).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hexdump -C`-style lines.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{:08x}  {:<47}  |{ascii}|\n",
            i * 16,
            hex.join(" ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use horus_nostd::message::{Shape, ShortName};

    fn info(fields: &[(&str, u32, FieldKind, u64)], size: u32) -> TopicInfo {
        TopicInfo {
            name: "t".into(),
            path: "/x".into(),
            type_name: "T".into(),
            type_id: 1,
            message_size: size,
            capacity: 4,
            max_participants: 4,
            max_publishers: 3,
            lanes_in_use: 0,
            region_bytes: 0,
            resident_bytes: 0,
            published: 0,
            participants: vec![],
            pool: vec![],
            pool_unreadable: vec![],
            serialized: None,
            fields: fields
                .iter()
                .map(|&(name, offset, kind, count)| SchemaField {
                    name: ShortName::new(name),
                    offset,
                    size: elem_size(kind) as u32 * count as u32,
                    kind: Some(kind),
                    count,
                    shape: match count {
                        1 => Shape::SCALAR,
                        n => Shape::new(&[n as u32]).unwrap(),
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn round_trip() {
        let t = info(
            &[
                ("a", 0, FieldKind::I64, 1),
                ("b", 8, FieldKind::F32, 2),
                ("c", 16, FieldKind::U8, 8),
                ("d", 24, FieldKind::U16, 1),
            ],
            32,
        );
        assert!(describable(&t));
        let bytes = encode(
            &t,
            &[
                "a=-5".into(),
                "b=[1.5, 2]".into(),
                "c=hi".into(),
                "d=0x10".into(),
            ],
        )
        .unwrap();
        let v = decode(&t, &bytes);
        assert_eq!(v[0], ("a".into(), Value::I(-5)));
        assert_eq!(
            v[1],
            ("b".into(), Value::Array(vec![Value::F(1.5), Value::F(2.0)]))
        );
        assert_eq!(v[2], ("c".into(), Value::Str("hi".into())));
        assert_eq!(v[3], ("d".into(), Value::U(16)));
        assert_eq!(v[1].1.to_string(), "[1.5, 2.0]");
        assert_eq!(to_json(&v[0].1), serde_json::json!(-5));
    }

    #[test]
    fn bad_assignments_are_explained() {
        let t = info(&[("a", 0, FieldKind::U8, 1)], 8);
        assert!(
            encode(&t, &["a=256".into()])
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            encode(&t, &["zz=1".into()])
                .unwrap_err()
                .contains("fields: a")
        );
        assert!(
            encode(&t, &["a".into()])
                .unwrap_err()
                .contains("expected FIELD=VALUE (e.g. a=1)")
        );
        assert_eq!(
            encode(&t, &["a=1".into(), " a = 2".into()]).unwrap_err(),
            "field \"a\" is given twice"
        );
    }

    #[test]
    fn a_long_argument_is_echoed_by_its_first_characters() {
        let t = info(
            &[("a", 0, FieldKind::F64, 1), ("v", 8, FieldKind::F64, 3)],
            32,
        );
        let long = "9".repeat(100_000);
        for bad in [
            format!("a={long}x"),
            format!("a{long}"),
            format!("{long}=1"),
            format!("v=[1, {long}"),
            format!("v=[1 {long}]"),
            format!("v=[1]{long}"),
            format!("v.x={long}"),
        ] {
            let e = encode(&t, std::slice::from_ref(&bad)).unwrap_err();
            assert!(e.len() < 400, "{}: {}", &bad[..10], &e[..400]);
            assert!(e.contains(&format!("{}…", "9".repeat(50))), "{e}");
        }
        assert_eq!(short("abc"), "abc");
        assert_eq!(short(&"é".repeat(61)), format!("{}…", "é".repeat(60)));
    }

    #[test]
    fn an_element_of_an_array_field_says_how_to_give_the_array() {
        let t = info(&[("linear", 0, FieldKind::F64, 3)], 24);
        assert_eq!(
            encode(&t, &["linear.z=0.5".into()]).unwrap_err(),
            "T has no field \"linear.z\": linear is an array ([f64; 3]), given whole as a list \
             whose missing elements stay 0: linear=[0, 0, 0.5]"
        );
        assert!(
            encode(&t, &["linear.w=1".into()])
                .unwrap_err()
                .ends_with(": linear=[1, 2, ...]")
        );
        assert_eq!(
            encode(&t, &["angular.z=1".into()]).unwrap_err(),
            "T has no field \"angular.z\" (fields: linear)"
        );
    }

    /// `t` with field `i` of the shape `dims`.
    fn shaped(mut t: TopicInfo, i: usize, dims: &[u32]) -> TopicInfo {
        t.fields[i].shape = Shape::new(dims).unwrap();
        t
    }

    #[test]
    fn arrays_of_two_or_more_dimensions_are_rows() {
        let t = shaped(
            info(
                &[("m", 0, FieldKind::I16, 6), ("n", 12, FieldKind::U8, 4)],
                16,
            ),
            0,
            &[3, 2],
        );
        let t = shaped(t, 1, &[2, 2]);
        assert!(describable(&t));
        let bytes = encode(
            &t,
            &["m=[[1, -2], [3], []]".into(), "n=[ab, [1, 2]]".into()],
        )
        .unwrap();
        let v = decode(&t, &bytes);
        let ints = |xs: &[i64]| Value::Array(xs.iter().map(|&x| Value::I(x)).collect());
        assert_eq!(
            v[0].1,
            Value::Array(vec![ints(&[1, -2]), ints(&[3, 0]), ints(&[0, 0])])
        );
        assert_eq!(v[0].1.to_string(), "[[1, -2], [3, 0], [0, 0]]");
        assert_eq!(
            v[1].1,
            Value::Array(vec![
                Value::Str("ab".into()),
                Value::Array(vec![Value::U(1), Value::U(2)])
            ])
        );
        assert_eq!(
            to_json(&v[0].1),
            serde_json::json!([[1, -2], [3, 0], [0, 0]])
        );
    }

    #[test]
    fn a_value_of_the_wrong_shape_names_the_shape() {
        let t = shaped(info(&[("m", 0, FieldKind::I16, 6)], 12), 0, &[3, 2]);
        let cases = [
            ("m=[1, 2, 3, 4, 5, 6]", "m: 6 values for an array of 3"),
            ("m=[[1, 2, 3]]", "m: 3 values for an array of 2"),
            ("m=1,2", "m: \"1\" where a row goes"),
            ("m=[[1], [2], [3], [4]]", "m: 4 values for an array of 3"),
            ("m=[[[1]]]", "m: a list where one value goes"),
        ];
        for (input, start) in cases {
            let e = encode(&t, &[input.into()]).unwrap_err();
            assert!(e.starts_with(start), "{input}: {e}");
            if !start.ends_with("goes") || start.contains("row") {
                assert!(
                    e.ends_with("it is [[i16; 2]; 3]: give rows, e.g. m=[[0, ...], ...]"),
                    "{e}"
                );
            }
        }
        for input in ["m=[[1, 2]", "m=[[1,, 2]]", "m=[[1] [2]]", "m=[[1]] x"] {
            assert!(encode(&t, &[input.into()]).is_err(), "{input}");
        }
        // One dimension: as before, a list or comma-separated values.
        let t = info(&[("v", 0, FieldKind::U16, 3)], 6);
        assert_eq!(
            encode(&t, &["v=1, 2,".into()]).unwrap_err(),
            "v=: expected an integer"
        );
        assert_eq!(
            encode(&t, &["v=[1, 2,]".into()]).unwrap(),
            [1, 0, 2, 0, 0, 0]
        );
        assert_eq!(
            encode(&t, &["v=[1, 2, 3, 4]".into()]).unwrap_err(),
            "v: 4 values for an array of 3"
        );
    }

    /// Decoding never panics, whatever the stored entries say (they are the
    /// region creator's): a size that is not the kind's, a size beyond 8
    /// bytes for one element, an offset whose end overflows 32 bits, a
    /// field past the message. Such a schema is not [`describable`].
    #[test]
    fn hostile_entries_neither_panic_nor_are_describable() {
        let hostile = [
            (0, 1, FieldKind::I16, 1),
            (0, 16, FieldKind::U64, 1),
            (0xFFFF_FFFC, 8, FieldKind::U64, 1),
            (0, 3, FieldKind::I32, 1),
            (0, 7, FieldKind::F64, 1),
            (40, 16, FieldKind::U64, 2),
            (0, 48, FieldKind::U8, 0),
            (0, 5, FieldKind::I16, 3),
            (0, 16, FieldKind::Struct, 1),
            (u32::MAX, u32::MAX, FieldKind::U8, u64::MAX),
            (0, 8, FieldKind::U64, u64::MAX / 2),
        ];
        for (offset, size, kind, count) in hostile {
            let mut t = info(&[("a", 0, FieldKind::U64, 1)], 48);
            let f = &mut t.fields[0];
            (f.offset, f.size, f.kind, f.count) = (offset, size, Some(kind), count);
            assert!(!describable(&t), "{offset:#x} {size} {kind:?} {count}");
            assert!(
                undescribable(&t).is_some_and(|e| e.contains("field \"a\" says")),
                "{offset:#x} {size} {kind:?} {count}"
            );
            for len in [0, 1, 8, 47, 48, 64] {
                let _ = decode(&t, &vec![0xa5; len]);
            }
        }
        for len in 0..=16 {
            for kind in (0..=12).filter_map(FieldKind::from_code) {
                let _ = read_elem(kind, &vec![1; len]);
            }
        }
    }

    #[test]
    fn hex_lines() {
        assert_eq!(
            hex_dump(b"AB\0"),
            format!("00000000  {:<47}  |AB.|\n", "41 42 00")
        );
    }
}
