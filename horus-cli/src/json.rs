//! The documents `--json` prints: one derived [`Serialize`] type per
//! command, so each command has one shape, written down here and in the
//! README ("JSON output"), instead of objects assembled ad hoc.
//!
//! | command | document |
//! | --- | --- |
//! | `topic list` | [`TopicList`] |
//! | `topic info` | [`TopicDetail`] |
//! | `topic type` | [`TopicType`] |
//! | `topic echo` | one object per message: the decoded fields by name (the message's own shape), or `{"hex"}`; `"@received"` with `-t`; a pooled topic's: [`PooledEcho`] |
//! | `topic hz` / `topic bw` | one [`RateReport`] per interval |
//! | `topic pub` | [`Published`] |
//! | `clean` | an array of [`CleanedNamespace`] |
//! | `node list` | an array of [`NodeRow`] |
//! | `node info` | [`NodeDetails`] |
//! | `node pause` / `resume` / `restart` / `kill` | [`NodeControlJson`] |
//! | `ns list` | [`NamespaceList`] |
//! | `bb` | [`BlackboxJson`] |
//! | `estop` (all forms) | [`EstopJson`] |
//! | `monitor --once` / `/api/snapshot` | [`Snapshot`] |
//! | `launch --dry-run` | [`LaunchPlan`] |
//! | errors of the monitor's HTTP API | [`ApiError`] |
//!
//! Paths are strings (in `clean` and `topic list`'s `foreign`, a byte of a
//! name that is not UTF-8 is written `\xNN`); durations are seconds (`_s`)
//! or nanoseconds (`_ns`); a value that may be missing is `null`. In `topic
//! echo`'s messages, a float that is no number is the string `"NaN"`, `"inf"` or `"-inf"` (as
//! ROS 2's echo shows `.nan`/`.inf`: a REP-117 range keeps its meaning),
//! and a `u8` array of NUL-padded printable ASCII a string (all NULs: `""`). Keys present in one form only (a
//! topic's `error`, `topic list --verbose`'s geometry) are said where they
//! are declared.

use std::collections::BTreeMap;
use std::path::PathBuf;

use horus::error::TopicError;
use horus::inspect::TopicInfo;
use horus::system::blackbox::BlackboxEntry;
use horus::system::registry::NodeEntry;
use serde::Serialize;

/// `topic type`.
#[derive(Debug, Serialize)]
pub struct TopicType {
    pub topic: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

/// `topic list`.
#[derive(Debug, Serialize)]
pub struct TopicList {
    pub namespace: String,
    pub topics: Vec<TopicRow>,
    /// Files at names HORUS never makes (`horus::shm::unknown_files`): no
    /// clean removes them.
    pub foreign: Vec<ForeignJson>,
}

/// One topic: what it is and who uses it, or why it could not be read
/// (then only `name` and `error`).
#[derive(Debug, Serialize)]
pub struct TopicRow {
    pub name: String,
    #[serde(flatten)]
    pub info: Option<TopicJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A readable topic.
#[derive(Debug, Serialize)]
pub struct TopicJson {
    #[serde(rename = "type")]
    pub type_name: String,
    /// `0x` and 16 hex digits.
    pub type_id: String,
    pub message_size: u32,
    pub published: u64,
    /// PIDs, sorted, once each.
    pub publishers: Vec<u32>,
    pub subscribers: Vec<u32>,
    /// PIDs of processes whose handles have neither published nor received
    /// yet (and that are not in the two lists above).
    pub holders: Vec<u32>,
    /// With `--verbose` only.
    #[serde(flatten)]
    pub verbose: Option<TopicVerbose>,
}

/// What `topic list --verbose` adds.
#[derive(Debug, Serialize)]
pub struct TopicVerbose {
    pub capacity: u32,
    pub max_participants: u32,
    pub region_bytes: usize,
    /// Bytes of the region file in memory (sparse: its tables and the
    /// lanes that ever had a publisher).
    pub resident_bytes: u64,
    pub path: PathBuf,
    pub fields: Vec<FieldJson>,
    /// Every process above, once, with its name.
    pub processes: Vec<ProcessJson>,
    /// The block pool segments of a pooled topic (image, tensor, ...);
    /// `null` for other topics.
    pub pool: Option<Vec<PoolSegmentJson>>,
    /// Files named as segments of its pools that could not be read as one
    /// (locked by another process, another owner's, corrupt), each with its
    /// sentence; `null` for topics that are not pooled.
    pub pool_unreadable: Option<Vec<UnreadableSegmentJson>>,
}

/// One block pool segment of a pooled topic (`topic list --verbose`,
/// `topic info`).
#[derive(Debug, Serialize)]
pub struct PoolSegmentJson {
    /// The publishing process.
    pub pid: u32,
    pub publisher_alive: bool,
    /// Segment id in that publisher's pool.
    pub segment: u32,
    pub block_size: u32,
    pub blocks: u32,
    /// Blocks being written or held by readers (a loan cannot take them).
    pub in_use: u32,
    /// Blocks holding a published message (held or not).
    pub published: u32,
    /// Loans refused since the segment was made (every block in use).
    pub loans_failed: u64,
    pub path: PathBuf,
}

impl PoolSegmentJson {
    /// The segments of `i`'s pool; `None` if `i` is not a pooled topic.
    pub fn all(i: &TopicInfo) -> Option<Vec<Self>> {
        horus::pooled::PooledKind::of_type(i.type_id)?;
        Some(
            i.pool
                .iter()
                .map(|s| Self {
                    pid: s.pid,
                    publisher_alive: s.publisher_alive,
                    segment: s.segment,
                    block_size: s.block_size,
                    blocks: s.blocks,
                    in_use: s.usage.busy,
                    published: s.usage.published,
                    loans_failed: s.loans_failed,
                    path: s.path.clone(),
                })
                .collect(),
        )
    }
}

/// A file named as a pool segment of a topic that could not be read as one.
#[derive(Debug, Serialize)]
pub struct UnreadableSegmentJson {
    pub path: PathBuf,
    /// Why, naming the file and the fix.
    pub error: String,
}

impl UnreadableSegmentJson {
    /// The unreadable segments of `i`'s pool; `None` if `i` is not pooled.
    pub fn all(i: &TopicInfo) -> Option<Vec<Self>> {
        horus::pooled::PooledKind::of_type(i.type_id)?;
        let each = |u: &horus::pool::UnreadableSegment| Self {
            path: u.path.clone(),
            error: u.why.clone(),
        };
        Some(i.pool_unreadable.iter().map(each).collect())
    }
}

/// A process using a topic.
#[derive(Debug, Serialize)]
pub struct ProcessJson {
    pub pid: u32,
    /// `/proc/PID/comm` (else `argv[0]`'s file name); `null` once gone, or
    /// for a pid not proved to be that process here
    /// ([`Processes::program`](crate::names::Processes::program)).
    pub program: Option<String>,
    /// Its live registered nodes, in tick order (`[]` without a scheduler).
    pub nodes: Vec<String>,
}

impl ProcessJson {
    pub fn new(pid: u32, procs: &crate::names::Processes) -> Self {
        Self {
            pid,
            program: procs.program(pid),
            nodes: procs.nodes(pid).to_vec(),
        }
    }
}

/// `topic info`.
#[derive(Debug, Serialize)]
pub struct TopicDetail {
    pub namespace: String,
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    /// `0x` and 16 hex digits.
    pub type_id: String,
    pub message_size: u32,
    pub capacity: u32,
    pub max_participants: u32,
    /// Publisher lanes of the topic.
    pub max_publishers: u32,
    /// Publisher lanes held now.
    pub lanes_in_use: u32,
    pub region_bytes: usize,
    /// Bytes of the region file in memory (sparse: its tables and the
    /// lanes that ever had a publisher).
    pub resident_bytes: u64,
    pub path: PathBuf,
    pub published: u64,
    /// Messages per second over `window_s`; `null` with `--no-rate`.
    pub rate_hz: Option<f64>,
    /// The sampling window, seconds; `null` with `--no-rate`.
    pub window_s: Option<f64>,
    pub fields: Vec<FieldJson>,
    /// The kind of a pooled topic (`image`, `tensor`, `point cloud`): its
    /// messages are descriptors of blocks in the publishers' pools; `null`
    /// for other topics.
    pub pooled: Option<&'static str>,
    /// The block pool segments of a pooled topic; `null` for other topics.
    pub pool: Option<Vec<PoolSegmentJson>>,
    /// Files named as segments of its pools that could not be read as one
    /// (locked by another process, another owner's, corrupt), each with its
    /// sentence; `null` for topics that are not pooled.
    pub pool_unreadable: Option<Vec<UnreadableSegmentJson>>,
    pub publishers: Vec<Participant>,
    /// Each with `dropped: null`: a subscriber's losses are counted in its
    /// own process only.
    pub subscribers: Vec<Participant>,
    /// Handles that have neither published nor received yet.
    pub holders: Vec<Participant>,
}

/// A process in one role on a topic.
#[derive(Debug, Serialize)]
pub struct Participant {
    #[serde(flatten)]
    pub process: ProcessJson,
    /// Its handles in this role.
    pub handles: usize,
    /// The nodes of the process that hold those handles, where known (a
    /// handle created in a node's `init` or `tick` records its node).
    pub by_nodes: Vec<String>,
    /// Subscribers only, and always `null` (unknown): present so that a
    /// reader does not take a missing key for zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped: Option<Option<u64>>,
}

/// `node info`: every node of that name (normally one; a crashed one and
/// its restart, or two processes using one name, give several).
#[derive(Debug, Serialize)]
pub struct NodeDetails {
    pub namespace: String,
    pub nodes: Vec<NodeDetail>,
}

/// One node and its process's topics.
#[derive(Debug, Serialize)]
pub struct NodeDetail {
    #[serde(flatten)]
    pub node: NodeRow,
    /// Its process's program (`null` once gone).
    pub program: Option<String>,
    /// The other nodes of its process.
    pub process_nodes: Vec<String>,
    /// Topics it has published on (not system topics), by name: through
    /// handles with its tag, or untagged ones of its process.
    pub publishes: Vec<String>,
    /// Topics it has received from (as `publishes`).
    pub subscribes: Vec<String>,
    /// Topics it holds a handle of without having used it (as `publishes`).
    pub holds: Vec<String>,
}

/// `ns list`.
#[derive(Debug, Serialize)]
pub struct NamespaceList {
    /// The directory holding the namespaces (`HORUS_SHM_DIR`, else `/dev/shm`).
    pub base_dir: PathBuf,
    /// The namespace in effect for this command.
    pub current: String,
    pub namespaces: Vec<NamespaceRow>,
}

/// A namespace.
#[derive(Debug, Serialize)]
pub struct NamespaceRow {
    pub name: String,
    /// Topics, the system ones left out; `null` if unreadable.
    pub topics: Option<usize>,
    /// Live processes (the `ns list` command itself left out); `null` if unreadable.
    pub processes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A field of the self-description.
#[derive(Debug, Serialize)]
pub struct FieldJson {
    pub name: String,
    /// `u8` ... `f64`; `null` for a kind this build does not know.
    pub kind: Option<&'static str>,
    pub count: u64,
    /// The array sizes, outermost first (`[3, 2]` for `[[f32; 2]; 3]`;
    /// `[]` for a scalar).
    pub shape: Vec<u32>,
    pub offset: u32,
    pub size: u32,
}

impl TopicRow {
    /// The rows of `topics`, each as [`TopicRow::new`] makes it.
    pub fn all<'a>(
        topics: impl IntoIterator<Item = &'a (String, Result<TopicInfo, TopicError>)>,
        verbose: bool,
        procs: &crate::names::Processes,
    ) -> Vec<Self> {
        topics
            .into_iter()
            .map(|(name, info)| {
                Self::new(
                    name,
                    info.as_ref().map_err(ToString::to_string),
                    verbose,
                    procs,
                )
            })
            .collect()
    }

    /// A topic as `topic list` (and the monitor) show it.
    /// `procs` names the processes (`--verbose`'s `processes`).
    pub fn new(
        name: &str,
        info: Result<&TopicInfo, String>,
        verbose: bool,
        procs: &crate::names::Processes,
    ) -> Self {
        match info {
            Ok(i) => Self {
                name: name.to_owned(),
                info: Some(TopicJson::new(i, verbose, procs)),
                error: None,
            },
            Err(e) => Self {
                name: name.to_owned(),
                info: None,
                error: Some(e),
            },
        }
    }
}

impl TopicJson {
    fn new(i: &TopicInfo, verbose: bool, procs: &crate::names::Processes) -> Self {
        let roles = crate::topic::Roles::of(i);
        Self {
            type_name: i.type_name.clone(),
            type_id: format!("{:#018x}", i.type_id),
            message_size: i.message_size,
            published: i.published,
            publishers: roles.publishers.clone(),
            subscribers: roles.subscribers.clone(),
            holders: roles.holders.clone(),
            verbose: verbose.then(|| TopicVerbose {
                capacity: i.capacity,
                max_participants: i.max_participants,
                region_bytes: i.region_bytes,
                resident_bytes: i.resident_bytes,
                path: i.path.clone(),
                fields: FieldJson::all(i),
                processes: roles
                    .all()
                    .into_iter()
                    .map(|pid| ProcessJson::new(pid, procs))
                    .collect(),
                pool: PoolSegmentJson::all(i),
                pool_unreadable: UnreadableSegmentJson::all(i),
            }),
        }
    }
}

impl FieldJson {
    /// The self-description of `i`.
    pub fn all(i: &TopicInfo) -> Vec<Self> {
        i.fields
            .iter()
            .map(|f| Self {
                name: f.name.as_str().to_owned(),
                kind: f.kind.map(|k| k.name()),
                count: f.count,
                shape: f.shape.dims().to_vec(),
                offset: f.offset,
                size: f.size,
            })
            .collect()
    }
}

/// `topic hz` / `topic bw`: one per interval. The statistics are `null`
/// until a message came in the interval; `bytes_per_s` and `message_size`
/// are `null` for `hz`.
#[derive(Debug, Serialize)]
pub struct RateReport {
    pub topic: String,
    /// Messages in the rolling window.
    pub window: usize,
    /// Messages received since the last report.
    pub new: u64,
    /// Messages this subscriber lost since it joined.
    pub dropped: u64,
    /// Descriptors of a pooled topic (image, tensor, ...) refused since it
    /// joined, as a subscriber refuses them (corrupt or forged): counted as
    /// messages of the descriptor's bytes, not the block's; 0 on other topics.
    pub refused: u64,
    pub rate_hz: Option<f64>,
    pub min_interval_s: Option<f64>,
    pub max_interval_s: Option<f64>,
    pub std_dev_s: Option<f64>,
    pub bytes_per_s: Option<f64>,
    /// Mean bytes per message over the window (`topic bw` only): the
    /// message, plus for a pooled topic (image, tensor, ...) its block's
    /// bytes.
    pub message_size: Option<usize>,
}

/// `topic echo` of a pooled topic (image, tensor, ...): one per message.
#[derive(Debug, Serialize)]
pub struct PooledEcho {
    /// With `-t` only.
    #[serde(rename = "@received", skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// `image` (images and depth images), `tensor`, `point cloud`.
    pub kind: &'static str,
    /// The one-line layout: `640x480 rgb8 step 1920`, `float32 [2, 3]
    /// strides [12, 4]`, `100 points step 16 fields x:float32@0 ...`;
    /// `null` if the descriptor is refused.
    pub layout: Option<String>,
    /// Bytes of the block's message; `null` if refused.
    pub bytes: Option<usize>,
    /// CRC-32 (IEEE) of those bytes, `0x` and 8 hex digits; `null` if refused.
    pub crc32: Option<String>,
    /// Why the descriptor was refused (corrupt or forged); `null` otherwise.
    pub error: Option<String>,
    /// The descriptor's fields, decoded (block, generation, geometry, ...).
    pub descriptor: serde_json::Map<String, serde_json::Value>,
}

/// `topic pub`.
#[derive(Debug, Serialize)]
pub struct Published {
    pub topic: String,
    pub published: u64,
}

/// `clean`: one per namespace cleaned.
#[derive(Debug, Serialize)]
pub struct CleanedNamespace {
    pub namespace: String,
    #[serde(serialize_with = "paths_text")]
    pub removed: Vec<PathBuf>,
    /// Held by a live process: kept.
    #[serde(serialize_with = "paths_text")]
    pub live: Vec<PathBuf>,
    /// Not HORUS regions (links, sockets, ...), files at names HORUS never
    /// makes: left for a human.
    pub foreign: Vec<ForeignJson>,
    /// System topics kept (an engaged e-stop, the blackbox).
    #[serde(serialize_with = "paths_text")]
    pub kept: Vec<PathBuf>,
    pub namespace_removed: bool,
}

/// A file `clean` would not touch, and what it is.
#[derive(Debug, Serialize)]
pub struct ForeignJson {
    #[serde(serialize_with = "path_text")]
    pub path: PathBuf,
    pub kind: String,
}

impl From<&horus::shm::ForeignFile> for ForeignJson {
    fn from(f: &horus::shm::ForeignFile) -> Self {
        Self {
            path: f.path.clone(),
            kind: f.kind.to_string(),
        }
    }
}

/// A path as JSON carries it: exactly if it is UTF-8, else with `\xNN`
/// for each byte that is not (`horus::shm::names::escaped`). A JSON string
/// cannot hold such bytes, and serde refuses such a path, failing the whole
/// document (`horus clean --shm --json` did, for a file named `bad\xff`).
fn path_text<S: serde::Serializer>(p: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&horus::shm::names::escaped(p.as_os_str()))
}

/// [`path_text`] for each path of a list.
fn paths_text<S: serde::Serializer>(ps: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ps.iter().map(|p| horus::shm::names::escaped(p.as_os_str())))
}

/// `node list`: one node.
#[derive(Debug, Serialize)]
pub struct NodeRow {
    pub name: String,
    pub pid: u32,
    /// Starting, Running, Error, Crashed, Stopped, Paused, Finished (Unknown for a
    /// state this build does not know).
    pub state: &'static str,
    pub order: u32,
    pub rate_hz: f64,
    pub measured_hz: f64,
    pub ticks: u64,
    pub deadline_misses: u64,
    pub overruns: u64,
    pub cpu_ns: u64,
    /// CPU time in ticks, % of one core, from the node's last two registry
    /// records at least 0.5 s apart; `null` until there are two.
    pub cpu_percent: Option<f64>,
    pub rss_bytes: u64,
    /// `false`: the process died (the node is listed as Crashed).
    pub alive: bool,
}

impl From<&NodeEntry> for NodeRow {
    fn from(n: &NodeEntry) -> Self {
        let f = &n.figures;
        Self {
            name: n.name.clone(),
            pid: n.pid,
            state: n.state.map_or("Unknown", |s| s.name()),
            order: f.order,
            rate_hz: f.rate_hz,
            measured_hz: f.measured_hz,
            ticks: f.ticks,
            deadline_misses: f.deadline_misses,
            overruns: f.overruns,
            cpu_ns: f.cpu_ns,
            cpu_percent: n.cpu_percent,
            rss_bytes: n.rss_bytes,
            alive: n.alive,
        }
    }
}

/// `node pause`, `node resume`, `node restart`, `node kill`: what was done
/// and what the registry showed then.
#[derive(Debug, Serialize)]
pub struct NodeControlJson {
    pub namespace: String,
    pub node: String,
    pub pid: u32,
    /// pause, resume, restart, kill.
    pub action: &'static str,
    /// The node's state in the registry once the action was seen done (as
    /// `node list`'s; `Gone` when a killed process's nodes left the registry).
    pub state: &'static str,
    /// `kill` only: no scheduler answered within the timeout, so the
    /// process was sent SIGTERM.
    pub sigterm: bool,
}

/// `bb`.
#[derive(Debug, Serialize)]
pub struct BlackboxJson {
    /// Oldest first (`--anomalies`: anomalies only).
    pub records: Vec<RecordJson>,
    /// Older records overwritten since the blackbox was created.
    pub overwritten: u64,
}

/// One blackbox record.
#[derive(Debug, Serialize)]
pub struct RecordJson {
    /// Monotonic clock, ns (orders the records).
    pub timestamp_ns: u64,
    /// Wall clock, RFC 3339 UTC.
    pub wall_time: String,
    pub pid: u32,
    /// `deadline_miss`, `node_panic`, `estop_raised`, `process_died`, ... (`unknown`).
    pub kind: &'static str,
    pub node: String,
    pub detail: String,
    pub value: u64,
}

impl From<&BlackboxEntry> for RecordJson {
    fn from(e: &BlackboxEntry) -> Self {
        Self {
            timestamp_ns: e.timestamp_ns,
            wall_time: crate::system::wall_time(e.wall_ns),
            pid: e.pid,
            kind: e.kind.map_or("unknown", |k| k.name()),
            node: e.node.clone(),
            detail: e.detail.clone(),
            value: e.value,
        }
    }
}

/// `estop`, `estop --raise`/`--reason`, `estop --clear`: the state after
/// the command.
#[derive(Debug, Serialize)]
pub struct EstopJson {
    pub namespace: String,
    pub engaged: bool,
    /// The reason it was raised; `null` when clear.
    pub reason: Option<String>,
}

/// `monitor --once --json` and `GET /api/snapshot`.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub namespace: String,
    /// The e-stop's reason when engaged; `null` when clear.
    pub estop: Option<String>,
    /// Anomaly records in the blackbox (at most what its rings hold).
    pub anomalies: usize,
    /// Blackbox records overwritten since it was created, of any kind: the
    /// anomalies among them are not in `anomalies`.
    pub overwritten: u64,
    pub nodes: Vec<NodeRow>,
    /// Without the system topics; as `topic list --verbose`.
    pub topics: Vec<TopicRow>,
    /// Processes -> topics -> processes, with rates.
    pub graph: crate::monitor::graph::Graph,
}

/// `launch --dry-run --json`.
#[derive(Debug, Serialize)]
pub struct LaunchPlan {
    pub namespace: String,
    /// For every node.
    pub env: BTreeMap<String, String>,
    /// In start order.
    pub nodes: Vec<PlannedNode>,
}

/// A node of the plan.
#[derive(Debug, Serialize)]
pub struct PlannedNode {
    pub name: String,
    /// `cmd` with `args`, as run.
    pub command: String,
    pub env: BTreeMap<String, String>,
    /// `never`, `on-failure` or `always`.
    pub restart: String,
    pub max_restarts: Option<u32>,
    pub depends_on: Vec<String>,
    pub start_delay_s: f64,
    pub critical: bool,
}

/// An error of the monitor's HTTP API.
#[derive(Debug, Serialize)]
pub struct ApiError {
    pub error: String,
}

/// Prints `doc` as one line of JSON.
pub fn print(doc: &impl Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string(doc)?);
    Ok(())
}

/// Prints `doc` as indented JSON (the documents people read too: `node
/// list`, `bb`).
pub fn print_pretty(doc: &impl Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(doc)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Was: `topic list --json` named any pid's program, proved or not (a
    /// pid from another pid namespace names an unrelated process here).
    #[test]
    fn a_program_is_named_only_for_a_proved_pid() {
        let procs = crate::names::Processes::default();
        // Pid 1 runs here, but nothing proves it is a process of the namespace.
        assert_eq!(ProcessJson::new(1, &procs).program, None);
        let me = std::process::id();
        assert!(ProcessJson::new(me, &procs).program.is_some());
    }
}
