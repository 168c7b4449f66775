//! Names for what shared memory records by number: a topic handle records
//! its process id, so every command that shows who uses a topic turns that
//! pid into a program name (`/proc/PID/comm`, else the first word of
//! `/proc/PID/cmdline`) and into the nodes the registry lists for that
//! process. Also: names close to a mistyped one, and the other namespaces
//! that have topics (for every "nothing here" message).
//!
//! A handle created in a node's `init` or `tick` records the node's tag
//! (`registry::node_tag` of its name, participant entry word `HOLDER`): it
//! is named `program/Node (pid N)` when a registered node of its process
//! has that tag. A handle without one (created outside any node: in `main`,
//! in a node's constructor, by an older version) is named by the process's
//! only node if it has exactly one, else by its program.

use std::borrow::Cow;
use std::collections::BTreeMap;

use horus::shm::lock_holders::LockHolders;
use horus::shm::{Namespace, liveness};
use horus::system::registry::{self, NodeEntry};

/// `name` as text output shows it: its control characters (ESC, CR, BEL,
/// DEL, C1 codes) and Unicode's bidirectional formatting characters (U+202E
/// and its kin) written as Rust escapes (`\u{1b}`, `\u{202e}`). Names come
/// from shared memory and file names, which any process of the namespace
/// can write: printed raw, a name could move the cursor, recolour or retitle
/// the terminal, hide lines, or show its characters in another order than
/// they are. JSON output carries names exactly (its escaping is JSON's).
/// `x<ESC>[2J` is shown as `x\u{1b}[2J`.
pub fn shown(name: &str) -> Cow<'_, str> {
    if !name.chars().any(hidden) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A character [`shown`] escapes: a control character, or one that changes
/// the direction text is shown in (the embeddings, overrides and isolates,
/// and the marks LRM, RLM and ALM).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// A path as text output shows it: a byte of a file name that is not UTF-8
/// written `\xNN` (`horus::shm::names::escaped`: `bad\xffname`, which
/// `rm $'bad\xffname'` removes), then [`shown`]. `to_string_lossy` would
/// print U+FFFD, a name no one can type.
pub fn shown_path(path: &std::path::Path) -> String {
    shown(&horus::shm::names::escaped(path.as_os_str())).into_owned()
}

/// The program name of process `pid`: `/proc/PID/comm` (at most 15
/// characters, the kernel's cut), else the file name of its `argv[0]`;
/// `None` once it is gone.
///
/// Only for a pid proved to be the process that registered it
/// ([`LockHolders`]): a pid from shared memory may come from another pid
/// namespace (a container, `unshare --pid`) and name an unrelated process
/// here.
pub fn program_of(pid: u32) -> Option<String> {
    if let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        let comm = comm.trim_end();
        if !comm.is_empty() {
            return Some(comm.to_owned());
        }
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv0 = cmdline.split(|&b| b == 0).next()?;
    let argv0 = String::from_utf8_lossy(argv0);
    let name = argv0.rsplit('/').next().unwrap_or_default();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The live nodes of each process of a namespace, from its registry, and
/// which pids are provably those processes here (for program names).
#[derive(Debug, Default)]
pub struct Processes {
    nodes: BTreeMap<u32, Vec<String>>,
    holders: LockHolders,
}

impl Processes {
    /// The live nodes of `entries` (a registry listing) by pid, in tick order.
    pub fn new(entries: &[NodeEntry]) -> Self {
        let mut nodes: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for e in entries.iter().filter(|e| e.alive) {
            nodes.entry(e.pid).or_default().push(e.name.clone());
        }
        Self {
            nodes,
            holders: LockHolders::default(),
        }
    }

    /// Names programs of the pids `holders` proves to be processes of the
    /// namespace here (without it, only this process's own).
    pub fn proving(mut self, holders: LockHolders) -> Self {
        self.holders = holders;
        self
    }

    /// The program of process `pid` ([`program_of`]), if the pid here is
    /// provably a process of the namespace (or this one); `None` otherwise.
    pub fn program(&self, pid: u32) -> Option<String> {
        (pid == std::process::id() || self.holders.proves_pid(pid))
            .then(|| program_of(pid))
            .flatten()
    }

    /// Reads the registry of `ns`; an unreadable registry is said on stderr
    /// and gives no node names (the pids and programs are still shown).
    pub fn load(ns: &str) -> Self {
        match registry::list(Some(ns)) {
            Ok(entries) => {
                let holders = Namespace::open_existing(ns)
                    .ok()
                    .flatten()
                    .map(|ns| LockHolders::read(&ns));
                Self::new(&entries).proving(holders.unwrap_or_default())
            }
            Err(e) => {
                note!(
                    "horus: warning: node names unknown, the registry of {ns} is unreadable: {e}"
                );
                Self::default()
            }
        }
    }

    /// The nodes of process `pid` (none for a program without a scheduler).
    pub fn nodes(&self, pid: u32) -> &[String] {
        self.nodes.get(&pid).map_or(&[], Vec::as_slice)
    }

    /// `PROGRAM/NODE (pid N)`: a handle that node `node` of process `pid`
    /// holds (`?` for a program that is gone, or a pid not provably that
    /// process here: see [`program`](Self::program)); for text output
    /// ([`shown`]).
    pub fn node_label(&self, pid: u32, node: &str) -> String {
        let program = self.program(pid).unwrap_or_else(|| "?".to_owned());
        shown(&format!("{program}/{node} (pid {pid})")).into_owned()
    }

    /// `NODE (pid N)` for a process with exactly one node, else
    /// `PROGRAM (pid N)` (`?` for a program that is gone or not provably
    /// that pid here); for text output ([`shown`]).
    pub fn label(&self, pid: u32) -> String {
        let label = match self.nodes(pid) {
            [node] => format!("{node} (pid {pid})"),
            _ => format!(
                "{} (pid {pid})",
                self.program(pid).unwrap_or_else(|| "?".to_owned())
            ),
        };
        shown(&label).into_owned()
    }
}

/// The node among `nodes` (one process's registered nodes) whose tag is
/// `tag`; `None` for tag 0 (no node) or a tag of no listed node.
pub fn node_of(nodes: &[String], tag: u64) -> Option<&str> {
    if tag == 0 {
        return None;
    }
    nodes
        .iter()
        .map(String::as_str)
        .find(|n| registry::node_tag(n) == tag)
}

/// The names of `candidates` close to `name` (a typo, a missing prefix or
/// suffix): at most 3, closest first.
pub fn similar<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let d = distance(&lower, &cl);
            let close = d <= (lower.chars().count() / 3).max(2)
                || (lower.len() >= 3 && (cl.contains(&lower) || lower.contains(&cl)));
            close.then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// Levenshtein distance, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diag + usize::from(ca != cb));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// A namespace as `ns list` counts it.
#[derive(Debug)]
pub struct NamespaceCount {
    pub name: String,
    /// Topics, the system ones (`_horus.*`) left out.
    pub topics: usize,
    /// Live processes (liveness files whose lock is held), this command left out.
    pub processes: usize,
}

/// Counts the topics and live processes of namespace `name`; `None` if it
/// is gone.
pub fn count(name: &str) -> anyhow::Result<Option<NamespaceCount>> {
    let Some(ns) = Namespace::open_existing(name)? else {
        return Ok(None);
    };
    let topics = ns
        .topic_names()?
        .iter()
        .filter(|t| !crate::topic::is_system(t))
        .count();
    Ok(Some(NamespaceCount {
        name: name.to_owned(),
        topics,
        processes: live_processes(&ns),
    }))
}

/// Live processes of `ns` but this one: distinct pids of the liveness
/// files in `proc/` whose lock is held (a dead one's file is removed on the
/// way, as every liveness check does).
fn live_processes(ns: &Namespace) -> usize {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir(ns.path().join("proc")) else {
        return 0;
    };
    // A name that is not UTF-8 is no liveness file (those are ASCII): not a
    // process. `clean` and `topic list` name such files.
    let mut pids: Vec<u64> = dir
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| liveness::token_of_lock_file(&f))
        .filter(|t| t.get() >> 32 != u64::from(me) && liveness::is_alive(ns, *t))
        .map(|t| t.get() >> 32)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids.len()
}

/// The namespaces other than `current` that have topics, as a clause for
/// the "nothing here" messages: `namespaces with topics: lab (3), sim (1)`,
/// or `no other namespace has topics`. A namespace without a live process
/// is left out: its topic files are stale (the first command there removes
/// them), so nothing there is worth switching to.
pub fn elsewhere(current: &str) -> String {
    let others: Vec<String> = Namespace::list_all()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n != current)
        .filter_map(|n| count(&n).ok().flatten())
        .filter(|c| c.topics > 0 && c.processes > 0)
        .map(|c| format!("{} ({})", c.name, c.topics))
        .collect();
    if others.is_empty() {
        "no other namespace has topics".to_owned()
    } else {
        format!("namespaces with topics: {}", others.join(", "))
    }
}

/// The two clauses of a "no such name" message for `name` among `names`
/// of `namespace`: the list of what is there (or, when nothing is, where
/// there is something), and a " Did you mean ...?" hint (empty when no name
/// is close).
pub fn not_here(namespace: &str, name: &str, names: &[&str]) -> (String, String) {
    let list = if names.is_empty() {
        format!("none; {}", elsewhere(namespace))
    } else {
        names.join(", ")
    };
    let similar = similar(name, names.iter().copied());
    let hint = if similar.is_empty() {
        String::new()
    } else {
        format!(" Did you mean {}?", similar.join(" or "))
    };
    (list, hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_names_catch_typos_and_parts() {
        let names = ["wheel.encoders", "imu", "cmd_vel", "odom"];
        assert_eq!(similar("wheel.encoder", names), ["wheel.encoders"]);
        assert_eq!(similar("wheel", names), ["wheel.encoders"]);
        assert_eq!(similar("odm", names), ["odom"]);
        assert!(similar("camera.rgb", names).is_empty());
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn control_characters_are_shown_as_escapes() {
        assert!(matches!(shown("wheel.encoders"), Cow::Borrowed(_)));
        assert_eq!(
            shown("x\x1b[31mred\r\u{7}\u{9b}é"),
            "x\\u{1b}[31mred\\r\\u{7}\\u{9b}é"
        );
        // Shown as written, not reversed: "imu" then an override, "gpj.exe".
        assert_eq!(shown("imu\u{202e}gpj.exe"), "imu\\u{202e}gpj.exe");
        assert_eq!(
            shown("a\u{2067}b\u{2069}\u{200f}"),
            "a\\u{2067}b\\u{2069}\\u{200f}"
        );
        assert!(
            matches!(shown("مرحبا"), Cow::Borrowed(_)),
            "right-to-left text itself stays"
        );
    }

    #[test]
    fn a_process_with_one_node_is_named_by_it() {
        let entry = |name: &str, pid| NodeEntry {
            name: name.to_owned(),
            pid,
            state: None,
            figures: registry::NodeFigures::default(),
            cpu_percent: None,
            rss_bytes: 0,
            timestamp_ns: 0,
            owner: 0,
            alive: true,
        };
        let p = Processes::new(&[entry("Encoder", 1), entry("A", 2), entry("B", 2)]);
        assert_eq!(p.label(1), "Encoder (pid 1)");
        assert_eq!(p.nodes(2), ["A", "B"]);
        let me = std::process::id();
        assert!(p.label(me).ends_with(&format!(" (pid {me})")));
        assert!(!p.label(me).starts_with('?'));
        assert_eq!(node_of(p.nodes(2), registry::node_tag("B")), Some("B"));
        assert_eq!(node_of(p.nodes(2), 0), None);
        assert_eq!(node_of(p.nodes(2), registry::node_tag("Encoder")), None);
    }
}
