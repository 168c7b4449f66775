//! `field=value` assignments -> the bytes of one message (`topic pub`).
//!
//! A value is a number, a list of them (`[1, 2]`, or `1,2` without the
//! brackets), rows of lists for an array of two or more dimensions
//! (`[[1, 2], [3, 4]]`, shaped as the topic's schema records it), or text
//! for a `u8` array (`frame=base_link`). A list may be shorter than its
//! array: the rest stays zero.

use horus::inspect::TopicInfo;
use horus_nostd::FieldKind;
use horus_nostd::region::SchemaField;

use super::{elem_size, short};

/// Builds a message from `field=value` assignments; unspecified bytes are zero.
pub fn encode(info: &TopicInfo, assignments: &[String]) -> Result<Vec<u8>, String> {
    let mut msg = vec![0u8; info.message_size as usize];
    let mut given: Vec<&str> = Vec::with_capacity(assignments.len());
    for a in assignments {
        let (name, value) = a.split_once('=').ok_or_else(|| {
            let example = info.fields.first().map_or("x", |f| f.name.as_str());
            format!("{:?}: expected FIELD=VALUE (e.g. {example}=1)", short(a))
        })?;
        let name = name.trim();
        if given.contains(&name) {
            return Err(format!("field {:?} is given twice", short(name)));
        }
        given.push(name);
        let field = info
            .fields
            .iter()
            .find(|f| f.name.as_str() == name)
            .ok_or_else(|| no_field(info, name, value.trim()))?;
        let kind = field
            .kind
            .ok_or_else(|| format!("field {name:?} has a kind this horus does not know"))?;
        let start = field.offset as usize;
        let dest = msg
            .get_mut(start..start + field.size as usize)
            .ok_or_else(|| format!("field {name:?} lies outside the message"))?;
        let target = Target { name, kind, field };
        target.fill(dest, field.shape.dims(), &value_of(value.trim(), kind)?)?;
    }
    Ok(msg)
}

/// Why `name=value` names no field of `info`: the fields, or, for an
/// element of an array field (`linear.x`, as ROS 2's `Vector3` is
/// addressed), how to give the array.
fn no_field(info: &TopicInfo, name: &str, value: &str) -> String {
    let array = name.rsplit_once('.').and_then(|(base, elem)| {
        let f = info
            .fields
            .iter()
            .find(|f| f.name.as_str() == base && f.shape.rank() == 1)?;
        Some((f, elem))
    });
    if let Some((f, elem)) = array {
        let ty = super::rust_type(f.kind.map_or("?", |k| k.name()), f.shape.dims());
        let base = f.name.as_str();
        // x, y, z, w: the elements of a ROS 2 vector or quaternion, in order.
        let example = match ["x", "y", "z", "w"].iter().position(|&e| e == elem) {
            Some(i) if (i as u64) < f.count => {
                let value = short(value);
                let mut items = vec!["0"; i];
                items.push(&value);
                format!("{base}=[{}]", items.join(", "))
            }
            _ => format!("{base}=[1, 2, ...]"),
        };
        return format!(
            "{} has no field {:?}: {base} is an array ({ty}), given whole as a list whose \
             missing elements stay 0: {example}",
            info.type_name,
            short(name)
        );
    }
    let names: Vec<&str> = info.fields.iter().map(|f| f.name.as_str()).collect();
    format!(
        "{} has no field {:?} (fields: {})",
        info.type_name,
        short(name),
        names.join(", ")
    )
}

/// A parsed value: one item, or a bracketed list of values.
#[derive(Debug, PartialEq)]
enum Item<'a> {
    One(&'a str),
    List(Vec<Item<'a>>),
}

/// The value of an assignment: a list without brackets (`1,2`) is a list,
/// and so is a bracketed one; text for a `u8` array stays one item.
fn value_of(s: &str, kind: FieldKind) -> Result<Item<'_>, String> {
    if s.starts_with('[') {
        let (item, rest) = parse(s)?;
        if !rest.trim().is_empty() {
            return Err(format!(
                "{}: unexpected {:?} after the list",
                short(s),
                short(rest.trim())
            ));
        }
        return Ok(item);
    }
    if kind != FieldKind::U8 && s.contains(',') {
        return Ok(Item::List(
            s.split(',').map(|v| Item::One(v.trim())).collect(),
        ));
    }
    Ok(Item::One(s))
}

/// One value from the start of `s` (a bracketed list nests); returns it and
/// what follows it.
fn parse(s: &str) -> Result<(Item<'_>, &str), String> {
    let s = s.trim_start();
    let Some(mut rest) = s.strip_prefix('[') else {
        let end = s.find([',', ']']).unwrap_or(s.len());
        return Ok((Item::One(s[..end].trim()), &s[end..]));
    };
    let mut items = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(']') {
            return Ok((Item::List(items), after));
        }
        if rest.is_empty() {
            return Err(format!("{}: a '[' is not closed", short(s)));
        }
        let (item, after) = parse(rest)?;
        if item == Item::One("") {
            return Err(format!("{}: an empty value in the list", short(s)));
        }
        items.push(item);
        rest = after.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with(']') {
            return Err(format!(
                "{}: expected ',' or ']' before {:?}",
                short(s),
                short(rest)
            ));
        }
    }
}

/// The field an assignment writes.
struct Target<'a> {
    name: &'a str,
    kind: FieldKind,
    field: &'a SchemaField,
}

impl Target<'_> {
    /// Writes `item` into `dest`, the bytes of an array of `dims` (none: one
    /// element).
    fn fill(&self, dest: &mut [u8], dims: &[u32], item: &Item<'_>) -> Result<(), String> {
        let (name, kind) = (self.name, self.kind);
        match (dims, item) {
            ([], Item::One(v)) => {
                write_elem(dest, kind, v).map_err(|e| format!("{name}={}: {e}", short(v)))
            }
            // `v=[5]` for a `[T; 1]` field (a region records it as a scalar).
            ([], Item::List(items)) => match items.as_slice() {
                [one @ Item::One(_)] if self.field.shape.rank() == 0 => self.fill(dest, dims, one),
                _ => Err(format!("{name}: a list where one value goes")),
            },
            ([_], Item::One(text)) if kind == FieldKind::U8 => {
                // Text into a u8 array, NUL-padded.
                let text = text.trim_matches('"').as_bytes();
                if text.len() > dest.len() {
                    return Err(format!(
                        "{name}: {} bytes do not fit in {} bytes",
                        text.len(),
                        dest.len()
                    ));
                }
                dest[..text.len()].copy_from_slice(text);
                Ok(())
            }
            // `v=5` for a one-dimensional array: its first element.
            ([_], Item::One(v)) if self.field.shape.rank() < 2 => {
                self.fill(dest, dims, &Item::List(vec![Item::One(v)]))
            }
            ([n, inner @ ..], Item::List(items)) => {
                if items.len() > *n as usize {
                    let what = format!("{} values for an array of {n}", items.len());
                    return Err(self.misshaped(what));
                }
                let row = dest.len() / (*n as usize).max(1);
                for (item, chunk) in items.iter().zip(dest.chunks_exact_mut(row.max(1))) {
                    self.fill(chunk, inner, item)?;
                }
                Ok(())
            }
            ([_, ..], Item::One(v)) => {
                Err(self.misshaped(format!("{:?} where a row goes", short(v))))
            }
        }
    }

    /// What a value of the wrong shape gets (with the array's type and an
    /// example, for two or more dimensions).
    fn misshaped(&self, what: String) -> String {
        let shape = self.field.shape;
        if shape.rank() < 2 {
            return format!("{}: {what}", self.name);
        }
        let mut example = "0".to_owned();
        for _ in 0..shape.rank() {
            example = format!("[{example}, ...]");
        }
        format!(
            "{}: {what}; it is {}: give rows, e.g. {}={example}",
            self.name,
            super::rust_type(self.kind.name(), shape.dims()),
            self.name
        )
    }
}

fn write_elem(dest: &mut [u8], kind: FieldKind, s: &str) -> Result<(), String> {
    let elem = elem_size(kind);
    let dest = &mut dest[..elem];
    let bytes: Vec<u8> = match kind {
        FieldKind::F32 => (parse_float(s, kind)? as f32).to_le_bytes().to_vec(),
        FieldKind::F64 => parse_float(s, kind)?.to_le_bytes().to_vec(),
        FieldKind::I8 | FieldKind::I16 | FieldKind::I32 | FieldKind::I64 => {
            let v = parse_int(s)?;
            let bits = elem as u32 * 8;
            let (min, max) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
            if v < min || v > max {
                return Err(format!("out of range for {}", kind.name()));
            }
            (v as i64).to_le_bytes().to_vec()
        }
        _ => {
            let v = parse_int(s)?;
            let bits = elem as u32 * 8;
            if v < 0 || v > (1i128 << bits) - 1 {
                return Err(format!("out of range for {}", kind.name()));
            }
            (v as u64).to_le_bytes().to_vec()
        }
    };
    dest.copy_from_slice(&bytes[..elem]);
    Ok(())
}

/// A decimal or `0x` integer with one sign at most (`-5`, `+0x1f`,
/// `1_000`); `--5` and `-+5` are refused (Rust's parsers take a sign of
/// their own after ours).
fn parse_int(s: &str) -> Result<i128, String> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => (16, hex.to_owned()),
        None => (10, digits.replace('_', "")),
    };
    let v = Some(digits)
        .filter(|d| d.starts_with(|c: char| c.is_digit(radix)))
        .and_then(|d| i128::from_str_radix(&d, radix).ok())
        .ok_or_else(|| "expected an integer".to_owned())?;
    Ok(if neg { -v } else { v })
}

/// A number for a field of `kind` (`f32` or `f64`); `inf` and `nan` as
/// written, but a finite literal too large for the type (`1e40` for an
/// `f32`) is out of range, not infinity.
fn parse_float(s: &str, kind: FieldKind) -> Result<f64, String> {
    let v = s
        .parse::<f64>()
        .map_err(|_| "expected a number".to_owned())?;
    let stored_inf = match kind {
        FieldKind::F32 => (v as f32).is_infinite(),
        _ => v.is_infinite(),
    };
    let written_inf = s
        .trim_start_matches(['+', '-'])
        .get(..3)
        .is_some_and(|w| w.eq_ignore_ascii_case("inf"));
    if stored_inf && !written_inf {
        return Err(format!("out of range for {}", kind.name()));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finite_literal_beyond_the_type_is_out_of_range_not_infinity() {
        let mut b = [0u8; 8];
        for (kind, s) in [
            (FieldKind::F32, "1e40"),
            (FieldKind::F32, "-1e39"),
            (FieldKind::F32, "1e400"),
            (FieldKind::F64, "1e400"),
            (FieldKind::F64, "-1e309"),
        ] {
            let e = write_elem(&mut b, kind, s).unwrap_err();
            assert_eq!(e, format!("out of range for {}", kind.name()), "{s}");
        }
        for s in ["inf", "-inf", "+Infinity", "nan", "3.4e38"] {
            assert!(write_elem(&mut b, FieldKind::F32, s).is_ok(), "{s}");
        }
        write_elem(&mut b, FieldKind::F32, "-inf").unwrap();
        assert_eq!(
            f32::from_le_bytes(b[..4].try_into().unwrap()),
            f32::NEG_INFINITY
        );
    }

    #[test]
    fn an_integer_has_one_sign_at_most() {
        for s in ["--5", "-+5", "+-5", "++5", "0x-5", "-0x+5", "-", "0x", "1a"] {
            assert_eq!(parse_int(s), Err("expected an integer".to_owned()), "{s}");
        }
        for (s, v) in [
            ("-5", -5),
            ("+5", 5),
            ("-0x1f", -31),
            ("1_000", 1000),
            ("0X10", 16),
        ] {
            assert_eq!(parse_int(s), Ok(v), "{s}");
        }
    }
}
