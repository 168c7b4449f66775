//! Messages as bytes <-> named values, through the self-description stored
//! in the topic's region (`TopicInfo::fields`), never the program's source.
//!
//! Fields are little-endian primitives or arrays of them (HORUS builds for
//! little-endian targets only, so a region's bytes are the same on every
//! target); nested messages arrive flattened (`pose.x`).
//! A `u8` array holding NUL-padded printable ASCII is shown as a string.

use horus::inspect::TopicInfo;
use horus_nostd::FieldKind;
use horus_nostd::region::SchemaField;

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

fn field_ok(f: &SchemaField, message_size: usize) -> bool {
    let Some(kind) = f.kind else { return false };
    let elem = elem_size(kind);
    let end = f.offset as usize + f.size as usize;
    elem > 0 && f.count > 0 && f.size as u64 == elem as u64 * f.count && end <= message_size
}

fn read_elem(kind: FieldKind, b: &[u8]) -> Value {
    let mut w = [0u8; 8];
    w[..b.len()].copy_from_slice(b);
    let u = u64::from_le_bytes(w);
    match kind {
        FieldKind::U8 | FieldKind::U16 | FieldKind::U32 | FieldKind::U64 => Value::U(u),
        FieldKind::I8 => Value::I(i64::from(b[0] as i8)),
        FieldKind::I16 => Value::I(i64::from(i16::from_le_bytes([b[0], b[1]]))),
        FieldKind::I32 => Value::I(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        FieldKind::I64 => Value::I(u as i64),
        FieldKind::F32 => Value::F(f64::from(f32::from_bits(u as u32))),
        _ => Value::F(f64::from_bits(u)),
    }
}

/// NUL-padded printable ASCII with at least one character.
fn as_text(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let (text, pad) = bytes.split_at(end);
    let printable = text.iter().all(|&b| (0x20..0x7f).contains(&b));
    (end > 0 && printable && pad.iter().all(|&b| b == 0))
        .then(|| String::from_utf8_lossy(text).into_owned())
}

/// The fields of one message (requires [`describable`]).
pub fn decode(info: &TopicInfo, bytes: &[u8]) -> Vec<(String, Value)> {
    info.fields
        .iter()
        .filter_map(|f| {
            let kind = f.kind?;
            let elem = elem_size(kind);
            let raw = bytes.get(f.offset as usize..(f.offset + f.size) as usize)?;
            let value = if f.count == 1 {
                read_elem(kind, raw)
            } else if let Some(s) = (kind == FieldKind::U8).then(|| as_text(raw)).flatten() {
                Value::Str(s)
            } else {
                Value::Array(raw.chunks_exact(elem).map(|c| read_elem(kind, c)).collect())
            };
            Some((f.name.as_str().to_owned(), value))
        })
        .collect()
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

/// As JSON (non-finite floats become `null`).
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::U(u) => (*u).into(),
        Value::I(i) => (*i).into(),
        Value::F(x) => serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, Into::into),
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

/// Builds a message from `field=value` assignments; unspecified bytes are zero.
pub fn encode(info: &TopicInfo, assignments: &[String]) -> Result<Vec<u8>, String> {
    let mut msg = vec![0u8; info.message_size as usize];
    let mut given: Vec<&str> = Vec::with_capacity(assignments.len());
    for a in assignments {
        let (name, value) = a.split_once('=').ok_or_else(|| {
            let example = info.fields.first().map_or("x", |f| f.name.as_str());
            format!("{a:?}: expected FIELD=VALUE (e.g. {example}=1)")
        })?;
        let name = name.trim();
        if given.contains(&name) {
            return Err(format!("field {name:?} is given twice"));
        }
        given.push(name);
        let field = info
            .fields
            .iter()
            .find(|f| f.name.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = info.fields.iter().map(|f| f.name.as_str()).collect();
                format!(
                    "{} has no field {name:?} (fields: {})",
                    info.type_name,
                    names.join(", ")
                )
            })?;
        let kind = field
            .kind
            .ok_or_else(|| format!("field {name:?} has a kind this horus does not know"))?;
        let elem = elem_size(kind);
        let start = field.offset as usize;
        let dest = msg
            .get_mut(start..start + field.size as usize)
            .ok_or_else(|| format!("field {name:?} lies outside the message"))?;
        fill(dest, kind, elem, field.count, name, value.trim())?;
    }
    Ok(msg)
}

fn fill(
    dest: &mut [u8],
    kind: FieldKind,
    elem: usize,
    count: u64,
    name: &str,
    value: &str,
) -> Result<(), String> {
    if count == 1 {
        return write_elem(&mut dest[..elem], kind, value)
            .map_err(|e| format!("{name}={value}: {e}"));
    }
    let inner = value.strip_prefix('[').and_then(|v| v.strip_suffix(']'));
    let items: Vec<&str> = match inner {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect(),
        None if kind == FieldKind::U8 => {
            // Text into a u8 array, NUL-padded.
            let text = value.trim_matches('"').as_bytes();
            if text.len() > dest.len() {
                return Err(format!(
                    "{name}: {} bytes do not fit in {} bytes",
                    text.len(),
                    dest.len()
                ));
            }
            dest[..text.len()].copy_from_slice(text);
            return Ok(());
        }
        None => value.split(',').map(str::trim).collect(),
    };
    if items.len() as u64 > count {
        return Err(format!(
            "{name}: {} values for an array of {count}",
            items.len()
        ));
    }
    for (item, chunk) in items.iter().zip(dest.chunks_exact_mut(elem)) {
        write_elem(chunk, kind, item).map_err(|e| format!("{name}: {item}: {e}"))?;
    }
    Ok(())
}

fn write_elem(dest: &mut [u8], kind: FieldKind, s: &str) -> Result<(), String> {
    let bytes: Vec<u8> = match kind {
        FieldKind::F32 => (parse_f64(s)? as f32).to_le_bytes().to_vec(),
        FieldKind::F64 => parse_f64(s)?.to_le_bytes().to_vec(),
        FieldKind::I8 | FieldKind::I16 | FieldKind::I32 | FieldKind::I64 => {
            let v = parse_int(s)?;
            let bits = dest.len() as u32 * 8;
            let (min, max) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
            if v < min || v > max {
                return Err(format!("out of range for {}", kind.name()));
            }
            (v as i64).to_le_bytes().to_vec()
        }
        _ => {
            let v = parse_int(s)?;
            let bits = dest.len() as u32 * 8;
            if v < 0 || v > (1i128 << bits) - 1 {
                return Err(format!("out of range for {}", kind.name()));
            }
            (v as u64).to_le_bytes().to_vec()
        }
    };
    let n = dest.len();
    dest.copy_from_slice(&bytes[..n]);
    Ok(())
}

fn parse_int(s: &str) -> Result<i128, String> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => digits.replace('_', "").parse::<i128>(),
    }
    .map_err(|_| "expected an integer".to_owned())?;
    Ok(if neg { -v } else { v })
}

fn parse_f64(s: &str) -> Result<f64, String> {
    s.parse::<f64>().map_err(|_| "expected a number".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use horus_nostd::message::ShortName;

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
            published: 0,
            participants: vec![],
            pool: vec![],
            serialized: None,
            fields: fields
                .iter()
                .map(|&(name, offset, kind, count)| SchemaField {
                    name: ShortName::new(name),
                    offset,
                    size: elem_size(kind) as u32 * count as u32,
                    kind: Some(kind),
                    count,
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
    fn hex_lines() {
        assert_eq!(
            hex_dump(b"AB\0"),
            format!("00000000  {:<47}  |AB.|\n", "41 42 00")
        );
    }
}
