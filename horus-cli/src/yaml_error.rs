//! The YAML crate's errors as plain sentences: what is wrong and how to fix
//! it, without the crate's API (`Options`, `DuplicateKeyPolicy`,
//! `Option<String>`, `from_multiple`), its option names
//! (`reject_non_finite_typeless_float`) or Rust `Debug` text
//! (`Nodes { nodes: 250001 }`). The sentence holds no location: callers put
//! `file:line:col: ` in front ([`Error::location`]).
//!
//! Matched on the error's variants. One exception: an error met while an
//! alias repeats its anchor's value reaches us as `AliasError`, which holds
//! only the inner error's rendered text; that text is matched against the
//! crate's own wording (serde-saphyr 1.1's `DefaultMessageFormatter`), and
//! anything unrecognised is passed on with its location suffix removed.
//!
//! Used by `horus launch` (the launch file) and `horus topic pub` (a message
//! given as a mapping), which parse with the crate's default limits (the
//! sentences quote them).

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Budget, Error, Location, MessageFormatter, UserMessageFormatter};

/// `e` as a sentence: what is wrong, then (after a colon) what to do.
pub fn describe(e: &Error) -> String {
    let e = e.without_snippet();
    let said = match e {
        Error::Budget { breach, .. } => budget(breach_name(breach)),
        Error::AliasError { msg, locations } => {
            let inner = from_text(strip_location(msg));
            let anchor = locations.defined_location;
            if anchor == Location::UNKNOWN || anchor == locations.reference_location {
                inner
            } else {
                format!(
                    "{inner} (in the value this alias repeats, from line {}, column {})",
                    anchor.line(),
                    anchor.column()
                )
            }
        }
        Error::AliasReplayLimitExceeded {
            max_total_replayed_events,
            ..
        } => too_much_repeated(&format!("more than {max_total_replayed_events} items")),
        Error::AliasReplayCounterOverflow { .. } => too_much_repeated("too many items"),
        Error::AliasExpansionLimitExceeded {
            max_expansions_per_anchor,
            ..
        } => format!(
            "an anchor is repeated by more than {max_expansions_per_anchor} aliases: write its \
             value out where it is needed, or split the file"
        ),
        Error::AliasReplayStackDepthExceeded { max_depth, .. } => nested_aliases(*max_depth),
        Error::RecursiveReferencesRequireWeakTypes { .. } => recursive_alias(),
        Error::UnknownAnchor { .. } => unknown_anchor(),
        Error::DuplicateMappingKey { key, .. } => twice(key.as_deref()),
        Error::NonFiniteFloat { value, .. } => non_finite(value),
        Error::NullIntoString { .. } | Error::InvalidCharNull { .. } => missing(),
        Error::InvalidScalar { ty, .. } => invalid(ty),
        Error::InvalidBooleanStrict { .. } => invalid("boolean"),
        Error::MultipleDocuments { .. } => multiple_documents(),
        Error::Eof { .. } => "the YAML ends where more was expected: complete it".to_owned(),
        Error::Unexpected { expected, .. } => unexpected(expected),
        Error::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | Error::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => got(expected, unexpected),
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => not_a_choice(variant, &expected.join(", ")),
        Error::SerdeUnknownField {
            field, expected, ..
        } => unknown_key(field, &expected.join(", ")),
        Error::SerdeMissingField { field, .. } => missing_key(field),
        _ => UserMessageFormatter.format_message(e).into_owned(),
    };
    // One line: the crate's few multi-line messages joined.
    said.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The rendered text of an error met inside an alias (`AliasError`), in the
/// crate's developer wording, said as [`describe`] says the error itself.
fn from_text(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("budget breached: ") {
        let name = rest.split([' ', '{']).next().unwrap_or(rest);
        return budget(name);
    }
    if let Some(rest) = msg.strip_prefix("duplicate mapping key") {
        let key = rest
            .strip_prefix(": ")
            .and_then(|k| k.rsplit_once(", set DuplicateKeyPolicy"))
            .map(|(k, _)| k);
        return twice(key);
    }
    if let Some(rest) = msg.strip_prefix("non-finite float `") {
        if let Some((value, _)) = rest.split_once('`') {
            return non_finite(value);
        }
    }
    if msg.starts_with("cannot deserialize null") || msg.starts_with("invalid char: cannot") {
        return missing();
    }
    if msg.starts_with("invalid boolean") {
        return invalid("boolean");
    }
    for (kind, after) in [
        ("invalid type: ", ", expected "),
        ("invalid value: ", ", expected "),
    ] {
        if let Some((found, expected)) = msg.strip_prefix(kind).and_then(|r| r.split_once(after)) {
            return got(expected, found);
        }
    }
    if let Some(ty) = msg.strip_prefix("invalid ") {
        if !ty.contains(' ') {
            return invalid(ty);
        }
    }
    let choices = |rest: &str| {
        let (name, list) = rest.split_once("`, expected one of ")?;
        Some((name.to_owned(), list.to_owned()))
    };
    if let Some((variant, list)) = msg.strip_prefix("unknown variant `").and_then(choices) {
        return not_a_choice(&variant, &list);
    }
    if let Some((field, list)) = msg.strip_prefix("unknown field `").and_then(choices) {
        return unknown_key(&field, &list);
    }
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return missing_key(field);
    }
    if msg.starts_with("alias replay limit exceeded") {
        return too_much_repeated("too many items");
    }
    if msg.starts_with("alias replay stack depth exceeded") {
        let max = msg.rsplit("> ").next().and_then(|m| m.trim().parse().ok());
        return nested_aliases(max.unwrap_or(64));
    }
    if msg.starts_with("recursive references require") {
        return recursive_alias();
    }
    if msg.starts_with("alias references unknown anchor") {
        return unknown_anchor();
    }
    if let Some(expected) = msg.strip_prefix("expected ") {
        return unexpected(expected);
    }
    msg.to_owned()
}

/// `msg` without the crate's trailing " at line L, column C".
fn strip_location(msg: &str) -> &str {
    match msg.rsplit_once(" at line ") {
        Some((head, pos))
            if pos
                .split_once(", column ")
                .is_some_and(|(l, c)| l.parse::<u64>().is_ok() && c.parse::<u64>().is_ok()) =>
        {
            head
        }
        _ => msg,
    }
}

/// The variant's name, as its `Debug` text starts (what `AliasError`'s text
/// holds), for [`budget`].
fn breach_name(b: &BudgetBreach) -> &'static str {
    match b {
        BudgetBreach::Events { .. } => "Events",
        BudgetBreach::Aliases { .. } => "Aliases",
        BudgetBreach::Anchors { .. } => "Anchors",
        BudgetBreach::Depth { .. } => "Depth",
        BudgetBreach::Documents { .. } => "Documents",
        BudgetBreach::Nodes { .. } => "Nodes",
        BudgetBreach::ScalarBytes { .. } => "ScalarBytes",
        BudgetBreach::MergeKeys { .. } => "MergeKeys",
        BudgetBreach::AliasAnchorRatio { .. } => "AliasAnchorRatio",
        BudgetBreach::SequenceUnbalanced => "SequenceUnbalanced",
        _ => "",
    }
}

/// A limit of the YAML parser's budget (its defaults, which `from_str` uses)
/// that the input went over, by the breach's name.
fn budget(name: &str) -> String {
    let b = Budget::default();
    let repeat = "counting again what each alias (`*name`) repeats";
    match name {
        "Nodes" => format!(
            "the YAML holds more than {} nodes (values, lists and mappings, {repeat}): repeat \
             less through aliases, or split the file",
            b.max_nodes
        ),
        "Events" => too_much_repeated(&format!("more than {} items", b.max_events)),
        "Aliases" => format!(
            "the YAML uses more than {} aliases (`*name`): write fewer, or split the file",
            b.max_aliases
        ),
        "Anchors" => format!(
            "the YAML defines more than {} anchors (`&name`): define fewer, or split the file",
            b.max_anchors
        ),
        "Depth" => format!(
            "lists and mappings nest more than {} deep here: nest them less",
            b.max_depth
        ),
        "Documents" => format!(
            "the YAML holds more than {} documents (separated by `---`): keep one",
            b.max_documents
        ),
        "ScalarBytes" => format!(
            "the YAML's values add up to more than {} bytes ({repeat}): shorten them, or split \
             the file",
            b.max_total_scalar_bytes
        ),
        "MergeKeys" => format!(
            "the YAML uses more than {} merge keys (`<<`): use fewer",
            b.max_merge_keys
        ),
        "AliasAnchorRatio" => format!(
            "the YAML has more than {} aliases (`*name`) per anchor (`&name`): write the \
             values out, or split the file",
            b.alias_anchor_ratio_multiplier
        ),
        "SequenceUnbalanced" => {
            "a list or mapping ends here that never started: check the brackets and braces"
                .to_owned()
        }
        _ => format!(
            "the YAML is too large or too complex to read ({repeat}): simplify it, or split the \
             file"
        ),
    }
}

fn got(expected: &str, found: &str) -> String {
    format!("expected {expected}, got {found}")
}

fn not_a_choice(given: &str, choices: &str) -> String {
    format!("`{given}` is not a choice here: use one of {choices}")
}

fn unknown_key(key: &str, keys: &str) -> String {
    format!("unknown key `{key}`: use one of {keys}")
}

fn missing_key(key: &str) -> String {
    format!("`{key}` is missing here: add it")
}

fn too_much_repeated(how_much: &str) -> String {
    format!(
        "the YAML's aliases (`*name`) repeat {how_much} (each repeats its anchor's whole \
         value): repeat less through aliases, or split the file"
    )
}

fn nested_aliases(max: usize) -> String {
    format!(
        "aliases nest more than {max} deep (an anchor's value holds an alias whose anchor's \
         value holds another, ...): nest them less"
    )
}

fn recursive_alias() -> String {
    "this alias repeats a value it is part of: an alias can only repeat a value that does not \
     hold it"
        .to_owned()
}

fn unknown_anchor() -> String {
    "this alias (`*name`) names no anchor (`&name`) written before it: write the anchor first, \
     or the value itself"
        .to_owned()
}

fn twice(key: Option<&str>) -> String {
    match key {
        Some(k) => format!("`{k}` is given twice in the same mapping: keep one"),
        None => "a key is given twice in the same mapping: keep one".to_owned(),
    }
}

fn non_finite(value: &str) -> String {
    format!("`{value}` is not a finite number: give a finite one")
}

fn missing() -> String {
    "a value is missing here: give one (`\"\"` for an empty string)".to_owned()
}

fn multiple_documents() -> String {
    "a second YAML document starts here (after a `---` line): give one document only".to_owned()
}

/// A scalar that is not a `ty`.
fn invalid(ty: &str) -> String {
    let range = match ty {
        "u8" => Some((0.to_string(), u8::MAX.to_string())),
        "u16" => Some((0.to_string(), u16::MAX.to_string())),
        "u32" => Some((0.to_string(), u32::MAX.to_string())),
        "u64" => Some((0.to_string(), u64::MAX.to_string())),
        "u128" => Some((0.to_string(), u128::MAX.to_string())),
        "i8" => Some((i8::MIN.to_string(), i8::MAX.to_string())),
        "i16" => Some((i16::MIN.to_string(), i16::MAX.to_string())),
        "i32" => Some((i32::MIN.to_string(), i32::MAX.to_string())),
        "i64" => Some((i64::MIN.to_string(), i64::MAX.to_string())),
        "i128" => Some((i128::MIN.to_string(), i128::MAX.to_string())),
        _ => None,
    };
    match (range, ty) {
        (Some((min, max)), _) => format!("expected a whole number from {min} to {max}"),
        (None, "f32" | "f64") => "expected a number".to_owned(),
        (None, "boolean" | "bool") => "expected true or false".to_owned(),
        (None, "char") => "expected a single character".to_owned(),
        (None, ty) => format!("not a valid {ty}"),
    }
}

/// What the parser expected and did not find, in its own words.
fn unexpected(expected: &str) -> String {
    match expected {
        "string scalar" | "scalar" => {
            "expected a single value here (text or a number), not a list or mapping".to_owned()
        }
        "mapping start" => "expected a mapping here (`key: value` lines, or `{key: value}`)".into(),
        "sequence start" => "expected a list here (`- item` lines, or `[a, b]`)".into(),
        other => format!("expected {other} here"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::Deserialize;
    use serde::de::{self, Visitor};

    use super::*;

    /// Any scalar, read with `deserialize_any` (where `.nan` is refused).
    #[derive(Debug)]
    struct Any;
    impl<'de> Deserialize<'de> for Any {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Any;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a single value")
                }
                fn visit_f64<E>(self, _: f64) -> Result<Any, E> {
                    Ok(Any)
                }
                fn visit_u64<E>(self, _: u64) -> Result<Any, E> {
                    Ok(Any)
                }
                fn visit_str<E>(self, _: &str) -> Result<Any, E> {
                    Ok(Any)
                }
            }
            d.deserialize_any(V)
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        #[serde(default)]
        strings: Vec<String>,
        #[serde(default)]
        maybe: Option<String>,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        count: Option<u32>,
        #[serde(default)]
        any: Option<Any>,
        #[serde(default)]
        list: Option<Vec<String>>,
        #[serde(default)]
        map: Option<BTreeMap<String, String>>,
        #[serde(default)]
        maps: Vec<BTreeMap<String, String>>,
        #[serde(default)]
        mode: Option<Mode>,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    enum Mode {
        Never,
        Always,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        must: String,
    }

    fn error(yaml: &str) -> Error {
        serde_saphyr::from_str::<Doc>(yaml).expect_err(yaml)
    }

    /// What the crate says in its own terms, which no sentence may repeat.
    const INTERNALS: [&str; 9] = [
        "Options",
        "Option<",
        "reject_",
        "budget breached",
        "{ ",
        " at line ",
        "from_multiple",
        "DuplicateKeyPolicy",
        "scalar",
    ];

    fn assert_plain(said: &str, yaml: &str) {
        for word in INTERNALS {
            assert!(!said.contains(word), "{yaml:?}: {said:?} says {word:?}");
        }
    }

    #[test]
    fn errors_are_said_as_what_is_wrong_and_what_to_do() {
        let cases = [
            (
                "maps: [{big: 1, big: 2}]\n",
                "`big` is given twice in the same mapping: keep one",
            ),
            (
                "any: .nan\n",
                "`.nan` is not a finite number: give a finite one",
            ),
            (
                "any: 1e999\n",
                "`1e999` is not a finite number: give a finite one",
            ),
            (
                "text: ~\nstrings: [~]\n",
                "a value is missing here: give one (`\"\"` for an empty string)",
            ),
            (
                "count: -1\n",
                "expected a whole number from 0 to 4294967295",
            ),
            (
                "count: .nan\n",
                "expected a whole number from 0 to 4294967295",
            ),
            (
                "text: [a]\n",
                "expected a single value here (text or a number), not a list or mapping",
            ),
            (
                "map: [a]\n",
                "expected a mapping here (`key: value` lines, or `{key: value}`)",
            ),
            (
                "list: {a: b}\n",
                "expected a list here (`- item` lines, or `[a, b]`)",
            ),
            (
                "text: *nowhere\n",
                "this alias (`*name`) names no anchor (`&name`) written before it: write the anchor first, or the value itself",
            ),
            (
                "text: a\n---\ntext: b\n",
                "a second YAML document starts here (after a `---` line): give one document only",
            ),
            (
                "colour: red\n",
                "unknown key `colour`: use one of strings, maybe, text, count, any, list, map, \
                 maps, mode, inner",
            ),
            (
                "mode: sometimes\n",
                "`sometimes` is not a choice here: use one of never, always",
            ),
            ("inner: {}\n", "`must` is missing here: add it"),
            ("any: [1]\n", "expected a single value, got sequence"),
        ];
        for (yaml, expected) in cases {
            let said = describe(&error(yaml));
            assert_eq!(said, expected, "{yaml:?}");
            assert_plain(&said, yaml);
        }
    }

    /// An error met while an alias repeats its anchor's value reaches us as
    /// text: it is said as the error itself is, with where the anchor is.
    #[test]
    fn errors_inside_an_alias_are_said_as_the_error_itself() {
        let cases = [
            (
                "strings: [&x .nan]\nany: *x\n",
                "any: .nan\n",
                "1, column 14",
            ),
            ("text: &c x\ncount: *c\n", "count: x\n", "1, column 10"),
            (
                "maybe: &n ~\nstrings: [*n]\n",
                "strings: [~]\n",
                "1, column 11",
            ),
            (
                "map: &e {A: b}\nlist: *e\n",
                "list: {A: b}\n",
                "1, column 9",
            ),
            ("list: &l [a]\nmap: *l\n", "map: [a]\n", "1, column 10"),
        ];
        for (aliased, direct, anchor) in cases {
            let e = error(aliased);
            assert!(
                matches!(e.without_snippet(), Error::AliasError { .. }),
                "{aliased:?}: {e}"
            );
            let said = describe(&e);
            let expected = format!(
                "{} (in the value this alias repeats, from line {anchor})",
                describe(&error(direct))
            );
            assert_eq!(said, expected, "{aliased:?}");
            assert_plain(&said, aliased);
        }
    }

    /// The crate's own rendering of each error (what an `AliasError` holds)
    /// is read back into the same sentence: the text matching follows the
    /// crate's wording.
    #[test]
    fn the_crates_wording_is_read_back_into_the_same_sentence() {
        for yaml in [
            "maps: [{big: 1, big: 2}]\n",
            "any: .nan\n",
            "strings: [~]\n",
            "count: -1\n",
            "count: 70000000000\n",
            "text: [a]\n",
            "map: [a]\n",
            "list: {a: b}\n",
            "text: *nowhere\n",
            "colour: red\n",
            "mode: sometimes\n",
            "inner: {}\n",
            "any: [1]\n",
            "count: [1]\n",
        ] {
            let e = error(yaml);
            let rendered = e.without_snippet().to_string();
            assert_eq!(
                from_text(strip_location(&rendered)),
                describe(&e),
                "{rendered:?}"
            );
        }
    }

    /// A YAML "billion laughs": 200 aliases of a 2,000-key mapping. It
    /// said `budget breached: Nodes { nodes: 250001 } at line 1, column ...`.
    #[test]
    fn an_alias_bomb_says_how_much_is_too_much() {
        let keys: Vec<String> = (0..2000).map(|i| format!("k{i}: v")).collect();
        let mut yaml = format!("maps:\n  - &e {{{}}}\n", keys.join(", "));
        for _ in 0..200 {
            yaml.push_str("  - *e\n");
        }
        let e = error(&yaml);
        let loc = e.location().expect("a location");
        assert_eq!((loc.line(), loc.column()), (64, 5), "{e}");
        let said = describe(&e);
        assert_eq!(
            said,
            "the YAML holds more than 250000 nodes (values, lists and mappings, counting again \
             what each alias (`*name`) repeats): repeat less through aliases, or split the file \
             (in the value this alias repeats, from line 2, column 8)"
        );
        assert_plain(&said, "the alias bomb");
        // Without aliases, over the same limit: the same sentence.
        let yaml = format!("strings: [{}]\n", vec!["a"; 250_001].join(","));
        let said = describe(&error(&yaml));
        assert!(
            said.starts_with("the YAML holds more than 250000 nodes"),
            "{said}"
        );
        assert_plain(&said, "a long list");
    }
}
