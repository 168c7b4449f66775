//! The YAML/JSON mapping form of `horus topic pub`'s message
//! (`"{x: 1.5, pose: {y: 2}}"`, as `ros2 topic pub` takes it): one
//! `FIELD=VALUE` assignment per field, so both forms take the same values
//! and say the same errors. What the YAML parser refuses is said in plain
//! words (its own name the options a program would change), and a long
//! argument is quoted by its first characters only.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Error as YamlError, Spanned};

use super::codec::short;
use crate::exit::Failure;

/// Appends the assignments of the YAML/JSON mapping `text` to `out`:
/// `{pose: {x: 1}, frame: map, v: [1, 2]}` is `pose.x=1`, `frame=map`,
/// `v=[1, 2]` (a bool is 1 or 0; a null leaves the field 0). YAML's
/// `.nan`, `.inf` and `-.inf` are `nan`, `inf` and `-inf`, as a field
/// takes them in FIELD=VALUE; a numeral too large for a float (`1e999`)
/// is passed as written, to be out of range as `x=1e999` is.
pub fn from_mapping(text: &str, out: &mut Vec<String>) -> Result<(), Failure> {
    let shown = quoted(text);
    let bad = |why: String| {
        Failure::usage(format!(
            "{shown}: {why}; give a mapping {{field: value, ...}} or FIELD=VALUE"
        ))
    };
    let mut options = serde_saphyr::Options::default();
    // A non-finite float reaches us as `.nan`/`.inf`/`-.inf`, its raw text
    // found through its span (see `Node::Text`).
    options.reject_non_finite_typeless_float = false;
    options.with_snippet = false;
    let node: Node =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| match why(&e) {
            Why::Fix(sentence) => Failure::usage(format!("{shown}: {sentence}")),
            Why::NotYaml(what) => bad(what),
        })?;
    let Node::Map(map) = node else {
        return Err(bad("not a mapping".to_owned()));
    };
    flatten(text, "", &map, out).map_err(|field| {
        Failure::usage(format!(
            "{shown}: field `{field}` has a mapping in a list: give a list of values, \
             or a mapping of fields"
        ))
    })
}

/// `text` as an error quotes it: whole if short, else its first
/// characters and `…` ([`short`]).
fn quoted(text: &str) -> String {
    format!("{:?}", short(text))
}

/// What is wrong with a mapping the parser refused.
enum Why {
    /// A sentence that names the fix.
    Fix(String),
    /// What is wrong, to which the form of a mapping is added.
    NotYaml(String),
}

/// The parser's error `e` in `topic pub`'s words: the sentence
/// [`describe`](crate::yaml_error::describe) makes of it, but for an empty
/// key (in a mapping of fields, a field without a name).
fn why(e: &YamlError) -> Why {
    let e = e.without_snippet();
    match e {
        YamlError::NullIntoString { .. } => Why::Fix("a key is empty: name each field".into()),
        YamlError::DuplicateMappingKey { .. } | YamlError::NonFiniteFloat { .. } => {
            Why::Fix(crate::yaml_error::describe(e))
        }
        other => {
            let what = crate::yaml_error::describe(other);
            Why::NotYaml(match other.location() {
                Some(at) if at.line() > 0 => {
                    format!(
                        "not YAML (line {} column {}: {what})",
                        at.line(),
                        at.column()
                    )
                }
                _ => format!("not YAML ({what})"),
            })
        }
    }
}

/// A value of the mapping: each one inside a mapping or a sequence comes
/// with where it was written, for the raw text of a non-finite float.
#[derive(Debug)]
enum Node {
    /// `~`, `null` or nothing: the field stays 0.
    Null,
    /// A bool: 1 or 0.
    Bool(bool),
    /// A number, as Rust writes it back exactly.
    Number(String),
    /// A string, or (as `.nan`, `.inf`, `-.inf`) a non-finite float.
    Text(String),
    /// A sequence: `[1, 2]`.
    Seq(Vec<Spanned<Node>>),
    /// A mapping, in the order written.
    Map(Vec<(String, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        // `{:?}`: exact, and short for large and small ones (`1e300`).
        Ok(Node::Number(format!("{v:?}")))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Text(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Err(E::custom("binary data is not a field's value"))
    }
}

/// `map`'s entries as `prefix` + name `=` value, nested mappings
/// flattened; a mapping inside a list is refused (the field's name).
fn flatten(
    text: &str,
    prefix: &str,
    map: &[(String, Spanned<Node>)],
    out: &mut Vec<String>,
) -> Result<(), String> {
    for (name, value) in map {
        let name = format!("{prefix}{name}");
        match &value.value {
            Node::Map(inner) => flatten(text, &format!("{name}."), inner, out)?,
            Node::Null => {}
            _ => {
                let v = value_text(text, value).ok_or_else(|| name.clone())?;
                out.push(format!("{name}={v}"));
            }
        }
    }
    Ok(())
}

/// A value as `topic pub` writes it: `1.5`, `text`, `[1, [2, 3]]`, `nan`
/// (a null in a list is 0); `None` for a mapping inside a list.
fn value_text(text: &str, v: &Spanned<Node>) -> Option<String> {
    Some(match &v.value {
        Node::Null => "0".to_owned(),
        Node::Map(_) => return None,
        Node::Bool(b) => u8::from(*b).to_string(),
        Node::Number(n) => n.clone(),
        Node::Text(s) => match s.as_str() {
            ".nan" | ".inf" | "-.inf" => non_finite(text, v, s),
            _ => s.clone(),
        },
        Node::Seq(items) => {
            let items: Option<Vec<String>> = items.iter().map(|i| value_text(text, i)).collect();
            format!("[{}]", items?.join(", "))
        }
    })
}

/// The value of a scalar the parser made `.nan`, `.inf` or `-.inf`
/// (`canonical`), from what was written there: YAML's spelling of a
/// non-finite float is FIELD=VALUE's (`nan`, `inf`, `-inf`); a numeral
/// (`1e999`, too large for a float) and a quoted string stay as written.
fn non_finite(text: &str, v: &Spanned<Node>, canonical: &str) -> String {
    let span = v.defined.span();
    let raw = span
        .byte_offset()
        .zip(span.byte_len())
        .and_then(|(at, len)| text.get(at as usize..(at + len) as usize))
        .map(str::trim);
    match raw {
        Some(raw) if raw.starts_with(['\'', '"']) => canonical.to_owned(),
        Some(raw) if !raw.trim_start_matches(['+', '-']).starts_with('.') => raw.to_owned(),
        _ => canonical.replace('.', ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignments(text: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        from_mapping(text, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn what_the_parser_refuses_is_said_in_plain_words() {
        let deep = format!("{}{}", "{".repeat(200), "}".repeat(200));
        let e = assignments(&deep).unwrap_err();
        assert!(
            e.contains("nest more than 64 deep here: nest them less); give a mapping"),
            "{e}"
        );
        let e = assignments("{a: 1, b: {c: 2, c: 3}}").unwrap_err();
        assert_eq!(
            e,
            "\"{a: 1, b: {c: 2, c: 3}}\": `c` is given twice in the same mapping: keep one"
        );
        let e = assignments("{ : 1}").unwrap_err();
        assert!(e.ends_with(": a key is empty: name each field"), "{e}");
        let e = assignments("{a: 1}\n---\n{b: 2}").unwrap_err();
        assert!(e.contains("a second YAML document starts here"), "{e}");
        let e = assignments("{a: [1, 2}").unwrap_err();
        assert!(e.contains("not YAML (line 1 column 5: "), "{e}");
        let e = assignments("{v: [{a: 1}]}").unwrap_err();
        assert!(e.contains("field `v` has a mapping in a list"), "{e}");
        for e in [&deep[..], "{a: 1, a: 2}", "{ : 1}", "{a: 1}\n---\n{b: 2}"]
            .map(|t| assignments(t).unwrap_err())
        {
            for leak in [
                "budget",
                "Depth {",
                "DuplicateKeyPolicy",
                "Options",
                "Option<",
            ] {
                assert!(!e.contains(leak), "{e}");
            }
        }
    }

    #[test]
    fn a_long_argument_is_quoted_by_its_first_characters() {
        let long = format!("{{a: [{}1]]}}", "1, ".repeat(40_000));
        let e = assignments(&long).unwrap_err();
        assert!(e.len() < 300, "{} bytes: {}", e.len(), &e[..300]);
        assert!(
            e.starts_with(&format!("{:?}", format!("{}…", &long[..60]))),
            "{e}"
        );
        assert_eq!(quoted("{x: 1}"), "\"{x: 1}\"");
        // Characters, not bytes: never inside a multi-byte one.
        assert_eq!(quoted(&"é".repeat(61)), format!("\"{}…\"", "é".repeat(60)));
    }

    #[test]
    fn non_finite_floats_are_written_as_field_equals_value_takes_them() {
        assert_eq!(
            assignments("{a: .nan, b: .inf, c: -.inf, d: +.inf, e: [.NaN, 1], f: nan}").unwrap(),
            ["a=nan", "b=inf", "c=-inf", "d=inf", "e=[nan, 1]", "f=nan"]
        );
        // A numeral too large stays as written (out of range, as x=1e999 is),
        // a quoted string stays a string, an alias takes its anchor's text.
        assert_eq!(
            assignments("{a: 1e999, b: '.inf', c: &x -2e400, d: *x}").unwrap(),
            ["a=1e999", "b=.inf", "c=-2e400", "d=-2e400"]
        );
        assert_eq!(
            assignments("{p: {x: 1.5, y: 0x1f}, ok: true, n: ~, big: 1e300}").unwrap(),
            ["p.x=1.5", "p.y=31", "ok=1", "big=1e300"]
        );
    }
}
