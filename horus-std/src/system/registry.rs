//! The node registry: what every scheduler of a namespace runs, for
//! `horus node list`, without a daemon.
//!
//! Each scheduler publishes a [`NodeRecord`] per node to `_horus.nodes` when
//! it starts, whenever a node changes state, and about once a second. A
//! reader replays what the topic retains and keeps the newest record of each
//! (process, node).
//!
//! Death is learned through liveness ([`liveness::is_alive`] on the record's
//! owner token), never from a pid: a process that is gone and whose nodes'
//! last word was not `Finished` died without shutting down (SIGKILL, a
//! crash, `exit` without shutdown), so its nodes are listed as
//! [`NodeStatus::Crashed`] with its pid ([`NodeEntry::alive`] false), until a
//! live process reports a node of the same name (a restart replaces it) or
//! the records are overwritten. Nodes of a process that shut down (`Finished`)
//! are dropped once it is gone.
//!
//! The topic keeps [`RECORDS_PER_LANE`] records per handle, so a node's
//! recent history is there too: [`NodeEntry::cpu_percent`] comes from its
//! newest record and the newest one at least [`CPU_WINDOW_NS`] older. [`record_deaths`] writes each such death to
//! the blackbox once, with the dead process's pid.

use std::collections::HashMap;

use horus_nostd::OwnerToken;

use crate::error::Result;
use crate::message;
use crate::shm::{Namespace, liveness};
use crate::system::{fixed_str, str_of};
use crate::topic::Topic;

/// Name of the registry topic.
pub const REGISTRY_TOPIC: &str = "_horus.nodes";
/// Records each of a scheduler's handles keeps in its lane: two snapshots
/// of [`NODES_PER_LANE`] nodes.
pub const RECORDS_PER_LANE: u32 = 128;
/// Nodes a scheduler reports through one handle (one lane of the registry
/// topic); a scheduler of more nodes opens a handle per this many, so every
/// node keeps two snapshots however many a process runs (until 2026-12-05
/// one lane per scheduler: past 64 nodes the first ones were overwritten
/// within a report, never listed nor addressable by `horus node ...`).
pub const NODES_PER_LANE: usize = (RECORDS_PER_LANE / 2) as usize;
/// Least time between the two records [`NodeEntry::cpu_percent`] is
/// computed from (schedulers report about once a second, and at once on a
/// state change: two records a few µs apart would give noise).
pub const CPU_WINDOW_NS: u64 = 500_000_000;

/// Longest node name, bytes: what a [`NodeRecord`] and a control request
/// hold. A scheduler refuses longer names rather than list or address a
/// node by a cut one.
pub const NODE_NAME_MAX: usize = 48;

message! {
    /// The state of one node of one process, as its scheduler reports it.
    NodeRecord {
        /// When the record was made, ns of the monotonic clock.
        timestamp_ns: u64,
        /// Liveness token of the process (pid and nonce).
        owner: u64,
        /// Ticks run.
        ticks: u64,
        /// Late releases.
        deadline_misses: u64,
        /// Ticks that overran the node's budget.
        overruns: u64,
        /// CPU time spent in the node's ticks, ns (thread CPU time).
        cpu_ns: u64,
        /// Resident memory of the process, bytes.
        rss_bytes: u64,
        /// Rate asked for, Hz.
        rate_hz: f64,
        /// Rate measured over the last second, Hz.
        measured_hz: f64,
        /// Process id.
        pid: u32,
        /// [`NodeStatus`] code.
        state: u32,
        /// Position in the tick order.
        order: u32,
        /// Explicit padding.
        _pad: u32,
        /// The node's name, NUL-padded ([`NODE_NAME_MAX`] bytes).
        name: [u8; NODE_NAME_MAX],
    }
}

/// A node's status, as `horus node list` shows it: the scheduler's
/// [`NodeState`](horus_nostd::sched::NodeState) seen from outside the process
/// (`Stopped` is held by the e-stop, `Paused` by `horus node pause`; a node
/// that shut down is `Finished`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum NodeStatus {
    /// Added, `init` not run yet.
    Starting = 1,
    /// Ticking.
    Running = 2,
    /// Its last `init`/`tick` returned an error; still scheduled.
    Error = 3,
    /// It panicked and its policy stopped it.
    Crashed = 4,
    /// Held by the e-stop.
    Stopped = 5,
    /// Shut down.
    Finished = 6,
    /// Paused at an operator's request (`horus node pause`): not ticked
    /// until resumed.
    Paused = 7,
}

impl NodeStatus {
    /// The state of a record's code, if known.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => Self::Starting,
            2 => Self::Running,
            3 => Self::Error,
            4 => Self::Crashed,
            5 => Self::Stopped,
            6 => Self::Finished,
            7 => Self::Paused,
            _ => return None,
        })
    }

    /// The name `horus node list` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Starting => "Starting",
            Self::Running => "Running",
            Self::Error => "Error",
            Self::Crashed => "Crashed",
            Self::Stopped => "Stopped",
            Self::Finished => "Finished",
            Self::Paused => "Paused",
        }
    }
}

/// The tag a topic handle records for node `name` (participant entry word
/// `HOLDER`): FNV-1a of the name, never 0 (0 means "no node"). A handle
/// created while a scheduler runs a node's `init`, `tick`, `safe_state` or
/// `shutdown` carries its node's tag; tools hash the names the registry
/// lists for the handle's pid the same way to name it.
///
/// ```
/// use horus::system::registry::node_tag;
/// assert_eq!(node_tag("Encoder"), node_tag("Encoder"));
/// assert_ne!(node_tag("Encoder"), node_tag("Odometry"));
/// assert_ne!(node_tag(""), 0);
/// ```
pub fn node_tag(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.max(1)
}

/// A node's figures: what a scheduler reports ([`NodeReport`]) and a
/// reader of the registry gets ([`NodeEntry`]). Read from a record, the
/// rates are finite numbers: one that is not (a record forged or
/// corrupted) reads as 0 (until 2026-12-05 it was passed on, and one such
/// record blanked the monitor page's tables).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NodeFigures {
    /// Position in the tick order.
    pub order: u32,
    /// Rate asked for, Hz.
    pub rate_hz: f64,
    /// Rate measured, Hz.
    pub measured_hz: f64,
    /// Ticks run.
    pub ticks: u64,
    /// Late releases.
    pub deadline_misses: u64,
    /// Budget overruns.
    pub overruns: u64,
    /// CPU time in ticks, ns.
    pub cpu_ns: u64,
}

/// A rate as read from a record: a figure that is not a finite number
/// (NaN, infinite: no scheduler writes one, but any process of the
/// namespace can publish to the registry) reads as 0, so that no reader
/// meets one (JSON has no NaN: `node list --json` and the monitor's page
/// got `null` for a number).
fn finite_or_zero(hz: f64) -> f64 {
    if hz.is_finite() { hz } else { 0.0 }
}

/// A record's figures; a rate that is not finite reads as 0 (see `finite_or_zero`).
impl From<&NodeRecord> for NodeFigures {
    fn from(r: &NodeRecord) -> Self {
        Self {
            order: r.order,
            rate_hz: finite_or_zero(r.rate_hz),
            measured_hz: finite_or_zero(r.measured_hz),
            ticks: r.ticks,
            deadline_misses: r.deadline_misses,
            overruns: r.overruns,
            cpu_ns: r.cpu_ns,
        }
    }
}

/// A node's figures, as a scheduler reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeReport<'a> {
    /// Node name.
    pub name: &'a str,
    /// State.
    pub state: NodeStatus,
    /// Its figures.
    pub figures: NodeFigures,
}

/// A scheduler's writer to the registry: a handle per [`NODES_PER_LANE`]
/// nodes, opened as the scheduler grows.
#[derive(Debug)]
pub struct Registry {
    lanes: Vec<Topic<NodeRecord>>,
    namespace: String,
    owner: OwnerToken,
    /// A handle beyond the first could not be opened (logged once).
    lane_failed: bool,
}

fn open_topic(namespace: Option<&str>) -> Result<Topic<NodeRecord>> {
    super::open(REGISTRY_TOPIC, RECORDS_PER_LANE, namespace)
}

impl Registry {
    /// Opens the registry of the current namespace (or `namespace`).
    pub fn open(namespace: Option<&str>) -> Result<Self> {
        let topic = open_topic(namespace)?;
        let ns = Namespace::open(topic.namespace())?;
        let owner = liveness::ensure_registered(&ns)?;
        Ok(Self {
            namespace: topic.namespace().to_owned(),
            lanes: vec![topic],
            owner,
            lane_failed: false,
        })
    }

    /// Publishes the figures of the scheduler's node number `index` (its
    /// place in tick order), through the handle of its [`NODES_PER_LANE`].
    pub fn report(&mut self, index: usize, node: &NodeReport<'_>) {
        let lane = index / NODES_PER_LANE;
        while self.lanes.len() <= lane && !self.lane_failed {
            match open_topic(Some(&self.namespace)) {
                Ok(topic) => self.lanes.push(topic),
                Err(e) => {
                    self.lane_failed = true;
                    log::warn!(
                        "horus: nodes after the first {} of this scheduler will not be listed: {e}",
                        self.lanes.len() * NODES_PER_LANE
                    );
                }
            }
        }
        let Some(topic) = self.lanes.get(lane) else {
            return;
        };
        let f = &node.figures;
        topic.send(NodeRecord {
            timestamp_ns: crate::time::now_ns(),
            owner: self.owner.get(),
            ticks: f.ticks,
            deadline_misses: f.deadline_misses,
            overruns: f.overruns,
            cpu_ns: f.cpu_ns,
            rss_bytes: resident_bytes(),
            rate_hz: f.rate_hz,
            measured_hz: f.measured_hz,
            pid: std::process::id(),
            state: node.state as u32,
            order: f.order,
            _pad: 0,
            name: fixed_str(node.name),
        });
    }
}

/// A node of a live process, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeEntry {
    /// Node name.
    pub name: String,
    /// Process id.
    pub pid: u32,
    /// State; `None` for a code this build does not know.
    pub state: Option<NodeStatus>,
    /// Its figures, from its newest record.
    pub figures: NodeFigures,
    /// CPU time in ticks as a percentage of one core, between this record
    /// and the newest one of the same node at least [`CPU_WINDOW_NS`]
    /// older; `None` while there is no such record (a node reported for
    /// less than that, or records overwritten).
    pub cpu_percent: Option<f64>,
    /// Resident memory of the process, bytes.
    pub rss_bytes: u64,
    /// When the record was made.
    pub timestamp_ns: u64,
    /// Liveness token of its process.
    pub owner: u64,
    /// Its process is alive; `false` for a process that died without
    /// shutting down (then `state` is `Crashed`).
    pub alive: bool,
}

/// The nodes of every live process of the current namespace (or
/// `namespace`), and as `Crashed` those of processes that died without
/// shutting down (see the module doc), sorted by process and order; nothing
/// if no scheduler has ever run there. Looking creates nothing.
pub fn list(namespace: Option<&str>) -> Result<Vec<NodeEntry>> {
    let ns_name = match namespace {
        Some(ns) => ns.to_owned(),
        None => Namespace::current_name()?,
    };
    let Some(ns) = Namespace::open_existing(&ns_name)? else {
        return Ok(Vec::new());
    };
    if !ns.topic_names()?.iter().any(|t| t == REGISTRY_TOPIC) {
        return Ok(Vec::new());
    }
    let topic = open_topic(Some(&ns_name))?;
    topic.rewind();
    // Every record retained, per (process, node).
    let mut history: HashMap<(u64, String), Vec<NodeRecord>> = HashMap::new();
    let mut received = Vec::new();
    while let Some(r) = topic.recv() {
        received.push(r);
    }
    // Every record received was published before this clock read, and a
    // scheduler stamps its records with this machine's monotonic clock: a
    // later stamp is not a scheduler's (a record forged with a wall-clock
    // `timestamp_ns`), and ranked by it, it would stand for the node for
    // good, however many records its scheduler published after.
    let now = crate::time::now_ns();
    for r in received.into_iter().filter(|r| r.timestamp_ns <= now) {
        history
            .entry((r.owner, str_of(&r.name)))
            .or_default()
            .push(r);
    }
    let mut alive: HashMap<u64, bool> = HashMap::new();
    let entries: Vec<(bool, NodeEntry)> = history
        .into_iter()
        .filter_map(|(key, mut records)| {
            records.sort_by_key(|r| r.timestamp_ns);
            let r = records.pop()?;
            Some((key, r, cpu_percent(&r, &records)))
        })
        .map(|((owner, name), r, cpu)| {
            let live = *alive.entry(owner).or_insert_with(|| {
                OwnerToken::new(owner).is_some_and(|t| liveness::is_alive(&ns, t))
            });
            let mut state = NodeStatus::from_code(r.state);
            if !live {
                state = Some(NodeStatus::Crashed);
            }
            let finished = NodeStatus::from_code(r.state) == Some(NodeStatus::Finished);
            let mut e = entry(name, &r, state, live);
            e.cpu_percent = cpu;
            (finished, e)
        })
        .collect();
    let mut entries = keep_live_and_latest_crash(entries);
    entries
        .sort_by(|a, b| (a.pid, a.figures.order, &a.name).cmp(&(b.pid, b.figures.order, &b.name)));
    Ok(entries)
}

fn entry(name: String, r: &NodeRecord, state: Option<NodeStatus>, alive: bool) -> NodeEntry {
    NodeEntry {
        name,
        pid: r.pid,
        state,
        figures: NodeFigures::from(r),
        cpu_percent: None,
        rss_bytes: r.rss_bytes,
        timestamp_ns: r.timestamp_ns,
        owner: r.owner,
        alive,
    }
}

/// CPU % of one core between `newest` and the newest of `older` (sorted
/// oldest first) at least [`CPU_WINDOW_NS`] before it.
fn cpu_percent(newest: &NodeRecord, older: &[NodeRecord]) -> Option<f64> {
    let before = older
        .iter()
        .rev()
        .find(|r| newest.timestamp_ns.saturating_sub(r.timestamp_ns) >= CPU_WINDOW_NS)?;
    let dt = newest.timestamp_ns - before.timestamp_ns;
    // A smaller count: not the same run of the node; say nothing.
    let cpu = newest.cpu_ns.checked_sub(before.cpu_ns)?;
    Some(cpu as f64 * 100.0 / dt as f64)
}

/// Keeps the nodes of live processes, and a dead process's node (`finished`:
/// its last word was `Finished`) only if it did not shut down and nothing
/// newer ran a node of that name: a restart replaces a crash, even once the
/// restarted process has shut down in turn.
fn keep_live_and_latest_crash(entries: Vec<(bool, NodeEntry)>) -> Vec<NodeEntry> {
    let mut newest: HashMap<String, u64> = HashMap::new();
    for (_, e) in &entries {
        let t = if e.alive { u64::MAX } else { e.timestamp_ns };
        let slot = newest.entry(e.name.clone()).or_insert(0);
        *slot = (*slot).max(t);
    }
    entries
        .into_iter()
        .filter(|(finished, e)| {
            e.alive || (!finished && newest.get(&e.name) == Some(&e.timestamp_ns))
        })
        .map(|(_, e)| e)
        .collect()
}

/// Writes to the blackbox of the current namespace (or `namespace`) the
/// death of every process that [`list`] shows as dead, once per process:
/// one `process_died` record per node, with the dead process's pid and its
/// owner token as the value (a record already there with that token means
/// it was recorded). Returns the nodes newly recorded. Creates nothing where
/// no registry exists.
///
/// Two callers racing may both record the same death; nothing else repeats.
pub fn record_deaths(namespace: Option<&str>) -> Result<Vec<NodeEntry>> {
    use crate::system::blackbox::{self, AnomalyKind, Blackbox};
    let dead: Vec<NodeEntry> = list(namespace)?.into_iter().filter(|e| !e.alive).collect();
    if dead.is_empty() {
        return Ok(dead);
    }
    let recorded: std::collections::HashSet<u64> = blackbox::read(namespace)?
        .entries
        .iter()
        .filter(|e| e.kind == Some(AnomalyKind::ProcessDied))
        .map(|e| e.value)
        .collect();
    let new: Vec<NodeEntry> = dead
        .into_iter()
        .filter(|e| !recorded.contains(&e.owner))
        .collect();
    if new.is_empty() {
        return Ok(new);
    }
    let bb = Blackbox::open(namespace)?;
    for e in &new {
        bb.record_for(
            e.pid,
            AnomalyKind::ProcessDied,
            &e.name,
            &format!(
                "process {} died while its node ran (killed, e.g. SIGKILL, or crashed)",
                e.pid
            ),
            e.owner,
        );
    }
    Ok(new)
}

/// Resident memory of this process, from `/proc/self/statm` (0 if unreadable).
fn resident_bytes() -> u64 {
    let page = rustix::param::page_size() as u64;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(timestamp_ns: u64, cpu_ns: u64) -> NodeRecord {
        NodeRecord {
            timestamp_ns,
            owner: 1,
            ticks: 0,
            deadline_misses: 0,
            overruns: 0,
            cpu_ns,
            rss_bytes: 0,
            rate_hz: 0.0,
            measured_hz: 0.0,
            pid: 1,
            state: NodeStatus::Running as u32,
            order: 0,
            _pad: 0,
            name: fixed_str("n"),
        }
    }

    #[test]
    fn rates_that_are_not_finite_read_as_zero() {
        let r = NodeRecord {
            rate_hz: f64::NAN,
            measured_hz: f64::INFINITY,
            ..record(1, 0)
        };
        let e = entry("n".to_owned(), &r, Some(NodeStatus::Running), true);
        assert_eq!((e.figures.rate_hz, e.figures.measured_hz), (0.0, 0.0));
        let r = NodeRecord {
            rate_hz: 100.0,
            measured_hz: f64::NEG_INFINITY,
            ..record(1, 0)
        };
        let f = NodeFigures::from(&r);
        assert_eq!((f.rate_hz, f.measured_hz), (100.0, 0.0));
    }

    #[test]
    fn cpu_percent_spans_at_least_the_window() {
        let s = 1_000_000_000;
        let newest = record(3 * s, 400_000_000);
        // Only a record a few µs older (a state change): no figure yet.
        assert_eq!(
            cpu_percent(&newest, &[record(3 * s - 5_000, 399_000_000)]),
            None
        );
        // The newest record at least 0.5 s older is used, not the oldest.
        let older = [
            record(0, 0),
            record(2 * s, 300_000_000),
            record(3 * s - 5_000, 1),
        ];
        assert_eq!(cpu_percent(&newest, &older), Some(10.0));
        // A smaller CPU time: another run of the node; no figure.
        assert_eq!(cpu_percent(&record(3 * s, 5), &older[..2]), None);
    }
}
