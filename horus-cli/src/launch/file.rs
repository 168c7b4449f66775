//! The launch file: parsing and validation, before anything starts.
//!
//! ```yaml
//! namespace: robot1          # optional: one namespace for all nodes
//! env: { RUST_LOG: info }    # optional: for every node
//! nodes:
//!   - name: sensor
//!     cmd: horus run sensor.rs
//!     args: ["--port", "/dev/ttyUSB0"]   # appended to cmd, each quoted
//!     env: { GAIN: "2" }
//!     restart: on-failure    # never (default) | on-failure | always
//!     restart_delay: 0.5     # first backoff (seconds or "500ms"); doubles, at most max_restart_delay
//!     max_restart_delay: 30s
//!     max_restarts: 10       # default: no limit
//!     depends_on: [other]    # start after these have started
//!     start_delay: 1s        # wait this long after the dependencies started (or the launch)
//!     critical: true         # its failure raises the e-stop and stops the whole launch
//! ```
//!
//! YAML crate: `serde-saphyr`. `serde_yaml` is unmaintained; `serde_norway`,
//! its fork, still wraps the C-translated `unsafe-libyaml`. serde-saphyr is
//! maintained, pure safe Rust, panic-free on malformed input, deserializes
//! straight into these types (unknown keys rejected), and reports line and
//! column for syntax and type errors and, through `Spanned`, for what we
//! validate afterwards (duplicate names, unknown dependencies, cycles,
//! environment names, NUL bytes in `cmd`, `args` and `env`: see [`Env`]).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Visitor};
use serde_saphyr::{Location, Spanned};

use super::env::Env;
use crate::exit::Failure;

/// A launch file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchFile {
    /// One namespace for all nodes (else `--namespace`/`HORUS_NAMESPACE`/`default`).
    #[serde(default)]
    pub namespace: Option<Spanned<String>>,
    /// Environment for every node.
    #[serde(default)]
    pub env: Env,
    /// The nodes, started in dependency order.
    pub nodes: Vec<NodeSpec>,
}

/// One node of a launch file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Unique name; prefixes its output.
    pub name: Spanned<String>,
    /// Shell command line (run by `sh -c`).
    pub cmd: Spanned<String>,
    /// Arguments appended to `cmd`, each quoted for the shell.
    #[serde(default)]
    pub args: Vec<Spanned<String>>,
    /// Extra environment.
    #[serde(default)]
    pub env: Env,
    /// When to restart it.
    #[serde(default)]
    pub restart: Restart,
    /// First restart delay; doubles on each consecutive restart.
    #[serde(default = "default_restart_delay")]
    pub restart_delay: Secs,
    /// Largest restart delay.
    #[serde(default = "default_max_restart_delay")]
    pub max_restart_delay: Secs,
    /// Restarts allowed (none: no limit).
    #[serde(default)]
    pub max_restarts: Option<u32>,
    /// Nodes that must have started first.
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    /// Delay after the dependencies started (or after the launch started).
    #[serde(default)]
    pub start_delay: Secs,
    /// Its failure stops the whole launch.
    #[serde(default)]
    pub critical: bool,
}

/// Restart policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Never restart.
    #[default]
    Never,
    /// Restart when it fails (non-zero exit or killed by a signal).
    OnFailure,
    /// Restart whenever it exits.
    Always,
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Never => "never",
            Self::OnFailure => "on-failure",
            Self::Always => "always",
        })
    }
}

/// A duration: seconds as a number, or a string with a unit (`500ms`, `2s`, `1m`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Secs(pub Duration);

fn default_restart_delay() -> Secs {
    Secs(Duration::from_millis(500))
}

fn default_max_restart_delay() -> Secs {
    Secs(Duration::from_secs(30))
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Secs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration: seconds (1.5) or a string with a unit (\"500ms\", \"2s\", \"1m\")",
                )
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Secs, E> {
                Duration::try_from_secs_f64(v).map(Secs).map_err(|_| {
                    E::custom(if v.is_nan() || v < 0.0 {
                        format!("{v}: a duration must be 0 or more seconds")
                    } else {
                        format!("{v:e} seconds is too long a duration (at most about 5.8e11)")
                    })
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Secs, E> {
                Ok(Secs(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Secs, E> {
                u64::try_from(v)
                    .map(|v| Secs(Duration::from_secs(v)))
                    .map_err(|_| E::custom(format!("{v}: a duration must be 0 or more seconds")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secs, E> {
                parse_duration(v).map(Secs).ok_or_else(|| {
                    E::custom(format!(
                        "{v:?}: expected a duration such as 1.5, \"500ms\", \"2s\" or \"1m\""
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Seconds as a bare number (`3`, `0.25`), or a duration with units as
/// `humantime` reads them (`500ms`, `1.5s`, `1m`, `1h 30m`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    match s.parse::<f64>() {
        Ok(secs) => Duration::try_from_secs_f64(secs).ok(),
        Err(_) => humantime::parse_duration(s).ok(),
    }
}

/// An error at a place in the file.
pub(crate) fn at(file: &Path, loc: Location, msg: impl fmt::Display) -> Failure {
    if loc == Location::UNKNOWN {
        Failure::usage(format!("{}: {msg}", file.display()))
    } else {
        Failure::usage(format!(
            "{}:{}:{}: {msg}",
            file.display(),
            loc.line(),
            loc.column()
        ))
    }
}

/// Reads and validates `path`; the error names line and column.
pub fn load(path: &Path) -> Result<LaunchFile, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read launch file {}: {e}", path.display())))?;
    // (The YAML parser says "1:1: unexpected end of input".)
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(Failure::usage(format!(
            "{}: the launch file is empty: it lists the nodes to start under `nodes:` \
             (see `horus launch --help`)",
            path.display()
        )));
    }
    let file: LaunchFile = serde_saphyr::from_str(&text).map_err(|e| {
        let loc = e.location().unwrap_or(Location::UNKNOWN);
        at(path, loc, crate::yaml_error::describe(&e))
    })?;
    validate(path, &file)?;
    Ok(file)
}

fn validate(path: &Path, file: &LaunchFile) -> Result<(), Failure> {
    if file.nodes.is_empty() {
        return Err(Failure::usage(format!(
            "{}: `nodes` is empty: nothing to launch",
            path.display()
        )));
    }
    if let Some(Spanned {
        value: ns,
        referenced,
        ..
    }) = &file.namespace
    {
        horus::shm::names::check_namespace(ns)
            .map_err(|why| at(path, *referenced, format!("namespace {ns:?}: {why}")))?;
    }
    file.env.check(path, "`env`")?;
    let ns_env = horus::shm::namespace::NAMESPACE_ENV;
    if file.env.vars.contains_key(ns_env) {
        return Err(Failure::usage(format!(
            "{}: `env` sets {ns_env}: every node of a launch shares one namespace; set it with \
             the file's `namespace:` (or HORUS_NAMESPACE for `horus launch` itself)",
            path.display()
        )));
    }
    let mut index = HashMap::new();
    for (i, n) in file.nodes.iter().enumerate() {
        let name = &n.name.value;
        if n.env.vars.contains_key(ns_env) {
            return Err(at(
                path,
                n.name.referenced,
                format!(
                    "node {name:?}: `env` sets {ns_env}: every node of a launch shares one \
                     namespace; set it with the file's `namespace:`"
                ),
            ));
        }
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(at(
                path,
                n.name.referenced,
                format!("node name {name:?}: use a non-empty name without spaces"),
            ));
        }
        if index.insert(name.as_str(), i).is_some() {
            return Err(at(
                path,
                n.name.referenced,
                format!("two nodes are named {name:?}"),
            ));
        }
        if n.cmd.value.trim().is_empty() {
            return Err(at(
                path,
                n.name.referenced,
                format!("node {name:?} has an empty `cmd`"),
            ));
        }
        check_no_nul(path, name, &n.cmd, "`cmd`", "command line")?;
        for (k, a) in n.args.iter().enumerate() {
            check_no_nul(path, name, a, &format!("`args[{k}]`"), "argument")?;
        }
        n.env.check(path, &format!("node {name:?}: `env`"))?;
    }
    for n in &file.nodes {
        for d in &n.depends_on {
            if !index.contains_key(d.value.as_str()) {
                let names: Vec<&str> = file.nodes.iter().map(|n| n.name.value.as_str()).collect();
                return Err(at(
                    path,
                    d.referenced,
                    format!(
                        "node {:?} depends on {:?}, which is not a node of this file (nodes: {})",
                        n.name.value,
                        d.value,
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(cycle) = super::order::find_cycle(file, &index) {
        let first = &file.nodes[cycle[0]];
        let names: Vec<&str> = cycle
            .iter()
            .map(|&i| file.nodes[i].name.value.as_str())
            .collect();
        return Err(at(
            path,
            first.name.referenced,
            format!(
                "depends_on has a cycle: {} -> {}",
                names.join(" -> "),
                names[0]
            ),
        ));
    }
    Ok(())
}

/// Refuses a NUL byte in `text` (`field` of node `node`): no command line,
/// argument or environment string can carry one, so the node could not be
/// started.
fn check_no_nul(
    path: &Path,
    node: &str,
    text: &Spanned<String>,
    field: &str,
    what: &str,
) -> Result<(), Failure> {
    if !text.value.contains('\0') {
        return Ok(());
    }
    Err(at(
        path,
        text.referenced,
        format!(
            "node {node:?}: {field} ({:?}) holds a NUL byte, which no {what} can carry: \
             remove it",
            text.value
        ),
    ))
}

impl NodeSpec {
    /// The command line given to `sh -c`.
    pub fn command_line(&self) -> String {
        let mut line = self.cmd.value.trim().to_owned();
        for a in &self.args {
            line.push(' ');
            // The only failure is a NUL byte, which validation refuses.
            line.push_str(&shlex::try_quote(&a.value).unwrap_or((&a.value).into()));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads `text` from a file of its own, removed afterwards.
    fn parse(text: &str) -> Result<LaunchFile, Failure> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("horus-launch-unit-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("launch.yaml");
        std::fs::write(&path, text).unwrap();
        let r = load(&path);
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration(" 1.5s "), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0.5 ms"), Some(Duration::from_micros(500)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("-1"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn a_full_file_parses() {
        let f = parse(
            "namespace: r1\nenv: {A: b}\nnodes:\n  - name: a\n    cmd: echo hi\n    args: [\"x y\"]\n    restart: on-failure\n    restart_delay: 100ms\n    start_delay: 1\n    critical: true\n  - name: b\n    cmd: sleep 1\n    depends_on: [a]\n",
        )
        .unwrap();
        assert_eq!(f.nodes.len(), 2);
        assert_eq!(f.nodes[0].restart, Restart::OnFailure);
        assert_eq!(f.nodes[0].restart_delay, Secs(Duration::from_millis(100)));
        assert_eq!(f.nodes[0].command_line(), "echo hi 'x y'");
        assert_eq!(f.nodes[1].depends_on[0].value, "a");
    }

    #[test]
    fn an_empty_launch_file_says_what_it_should_hold() {
        for text in ["", "\n  \n", "# only a comment\n"] {
            let e = parse(text).unwrap_err().to_string();
            assert!(
                e.ends_with(
                    "launch.yaml: the launch file is empty: it lists the nodes to start under \
                     `nodes:` (see `horus launch --help`)"
                ),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("nodes:\n  - name: a\n    cmd: x\n    restart: sometimes\n").unwrap_err();
        assert!(e.to_string().contains(":4:"), "{e}");
        let e = parse("nodes:\n  - name: a\n    cmd: x\n    depends_on: [zz]\n").unwrap_err();
        assert!(
            e.to_string().contains(":4:") && e.to_string().contains("\"zz\""),
            "{e}"
        );
        let e = parse("nodes:\n  - name: a\n    cmd: x\n    depends_on: [b]\n  - name: b\n    cmd: y\n    depends_on: [a]\n").unwrap_err();
        assert!(e.to_string().contains("cycle: a -> b -> a"), "{e}");
        let e = parse("nodes:\n  - name: a\n    cmd: x\n    colour: red\n").unwrap_err();
        assert!(e.to_string().contains(":4:"), "{e}");
        // An invalid namespace too (it named the file only).
        let e = parse("nodes:\n  - name: a\n    cmd: x\nnamespace: \"bad ns\"\n").unwrap_err();
        assert!(e.to_string().contains(":4:12: namespace \"bad ns\""), "{e}");
    }

    #[test]
    fn arguments_reach_the_node_as_written() {
        let f = parse(
            "nodes:\n  - name: a\n    cmd: printf '%s|'\n    args: [plain-1.0, \"it's\", \"\", \"a b\", \"$HOME\", \"x=1\"]\n",
        )
        .unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(f.nodes[0].command_line())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "plain-1.0|it's||a b|$HOME|x=1|"
        );
    }

    /// What no process can be given (an `=` or empty environment name, a NUL
    /// byte anywhere) is refused where it is written, naming the field: it
    /// passed, and the node got `A=B=c`, or failed to start after the nodes
    /// before it had started.
    #[test]
    fn what_no_process_can_be_given_is_refused_where_it_is_written() {
        let node = "nodes:\n  - name: a\n    cmd: x\n";
        let cases = [
            (
                format!("{node}    args: [ok, \"a\\0b\"]\n"),
                ":4:16: node \"a\": `args[1]` (\"a\\0b\") holds a NUL byte, which no argument \
                 can carry: remove it",
            ),
            (
                "nodes:\n  - name: a\n    cmd: \"x\\0\"\n".to_owned(),
                ":3:10: node \"a\": `cmd` (\"x\\0\") holds a NUL byte, which no command line \
                 can carry: remove it",
            ),
            (
                format!("{node}    env: {{\"A=B\": c, \"\": d}}\n"),
                ":4:11: node \"a\": `env`: variable name \"A=B\" holds `=`",
            ),
            (
                format!("{node}    env: {{\"\": d}}\n"),
                ":4:11: node \"a\": `env` has an empty variable name",
            ),
            (
                format!("{node}    env: {{A: \"\\0\"}}\n"),
                ":4:14: node \"a\": `env`: the value of A (\"\\0\") holds a NUL byte",
            ),
            (
                format!("env: {{\"=x\": d}}\n{node}"),
                ":1:7: `env`: variable name \"=x\" holds `=`, which ends a name in the \
                 environment: rename it",
            ),
        ];
        for (text, expected) in cases {
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text:?}:\n{e}\nnot:\n{expected}");
        }
    }
}
