//! A launch file's `env:` mappings (the file's and each node's): the
//! variables, and where each name and value is written, so that one the
//! environment cannot hold is refused at its line and column before anything
//! starts.
//!
//! A name must be non-empty and hold no `=` (the environment is a list of
//! `NAME=value` strings: `A=B: c` would reach the node as `A=B=c`, that is
//! `A` set to `B=c`, and an empty name as a stray `=d`) and no NUL byte; a
//! value must hold no NUL byte (no environment string can: the node could
//! not be started).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_saphyr::Spanned;

use super::file::at;
use crate::exit::Failure;

/// An `env:` mapping.
#[derive(Debug, Default)]
pub struct Env {
    /// The variables, by name.
    pub vars: BTreeMap<String, String>,
    /// Each name and value as written, in file order.
    written: Vec<(Spanned<String>, Spanned<String>)>,
}

impl<'de> Deserialize<'de> for Env {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Env;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of environment variables (NAME: value)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Env, A::Error> {
                // (A name given twice is refused by the YAML parser.)
                let mut env = Env::default();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<Spanned<String>>()?;
                    env.vars.insert(name.value.clone(), value.value.clone());
                    env.written.push((name, value));
                }
                Ok(env)
            }
        }
        d.deserialize_map(V)
    }
}

/// What a variable name must be, said after each refusal.
const NAME_RULE: &str = "a variable name is non-empty, without `=` or a NUL byte";

impl Env {
    /// Refuses the first name or value the environment cannot hold, at its
    /// place in `file`; `whose` names the mapping (`` `env` ``, or
    /// ``node "a": `env` ``).
    pub fn check(&self, file: &Path, whose: &str) -> Result<(), Failure> {
        for (name, value) in &self.written {
            let n = &name.value;
            let why = if n.is_empty() {
                format!(
                    "{whose} has an empty variable name (its value is {:?}): give it a name \
                     ({NAME_RULE})",
                    value.value
                )
            } else if n.contains('\0') {
                format!("{whose}: variable name {n:?} holds a NUL byte: remove it ({NAME_RULE})")
            } else if n.contains('=') {
                let got = match n.split_once('=') {
                    Some((first, rest)) if !first.is_empty() => format!(
                        " (the node would get {first} set to {:?})",
                        format!("{rest}={}", value.value)
                    ),
                    _ => String::new(),
                };
                format!(
                    "{whose}: variable name {n:?} holds `=`, which ends a name in the \
                     environment{got}: rename it ({NAME_RULE})"
                )
            } else if value.value.contains('\0') {
                return Err(at(
                    file,
                    value.referenced,
                    format!(
                        "{whose}: the value of {n} ({:?}) holds a NUL byte, which no \
                         environment variable can carry: remove it",
                        value.value
                    ),
                ));
            } else {
                continue;
            };
            return Err(at(file, name.referenced, why));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct F {
        env: Env,
    }

    fn check(yaml: &str) -> Result<Env, String> {
        let f: F = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        f.env
            .check(Path::new("l.yaml"), "`env`")
            .map_err(|e| e.to_string())?;
        Ok(f.env)
    }

    #[test]
    fn names_and_values_the_environment_can_hold_pass() {
        let env = check("env: {A: b, PATH_2: \"x=y\", n: 1, t: true, e: \"\"}\n").unwrap();
        let vars: Vec<(&str, &str)> = env
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            vars,
            [
                ("A", "b"),
                ("PATH_2", "x=y"),
                ("e", ""),
                ("n", "1"),
                ("t", "true")
            ]
        );
    }

    #[test]
    fn a_bad_name_or_value_is_refused_at_its_place() {
        let cases = [
            (
                "env:\n  \"A=B\": c\n",
                "l.yaml:2:3: `env`: variable name \"A=B\" holds `=`, which ends a name in the \
                 environment (the node would get A set to \"B=c\"): rename it (a variable \
                 name is non-empty, without `=` or a NUL byte)",
            ),
            (
                "env: {A: b, \"\": d}\n",
                "l.yaml:1:13: `env` has an empty variable name (its value is \"d\"): give it a \
                 name (a variable name is non-empty, without `=` or a NUL byte)",
            ),
            (
                "env: {\"A\\0\": d}\n",
                "l.yaml:1:7: `env`: variable name \"A\\0\" holds a NUL byte: remove it",
            ),
            (
                "env:\n  A: ok\n  B: \"x\\0y\"\n",
                "l.yaml:3:6: `env`: the value of B (\"x\\0y\") holds a NUL byte, which no \
                 environment variable can carry: remove it",
            ),
        ];
        for (yaml, expected) in cases {
            let e = check(yaml).unwrap_err();
            assert!(e.contains(expected), "{yaml:?}:\n{e}\nnot:\n{expected}");
        }
    }
}
