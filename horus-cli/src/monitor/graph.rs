//! The topic graph of the monitor (the seed's "topic graph view shows
//! cross-process message flow"): processes and topics as vertices,
//! `publishes` (process -> topic) and `subscribes` (topic -> process) as
//! edges, with the rates measured between two snapshots.
//!
//! What shared memory tells, and so what the graph can say:
//!
//! - A topic handle records its process id, not its node, so the graph's
//!   vertices are processes; the nodes the registry lists for a process are
//!   shown inside it ([`GraphProcess::nodes`]).
//! - A topic's `published` count is the sum over its publishers' lanes. Its
//!   rate is measured here by sampling ([`Rates`]); an edge of the only
//!   publishing process carries that rate, edges of several publishers of
//!   one topic carry none (per-publisher counts are not exposed).
//! - A subscriber is offered every message; its `subscribes` edge carries
//!   the topic's rate. A handle that has done neither is a `holds` edge.
//!   What a subscriber lost lives in its own process only (its
//!   cursor is private), so the graph shows no drops.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use horus::inspect::TopicInfo;
use horus::system::registry::NodeEntry;
use serde::Serialize;

/// The graph of a snapshot (`graph` of `/api/snapshot`).
#[derive(Debug, Serialize)]
pub struct Graph {
    /// Every process that runs a registered node or holds a live handle of
    /// a topic, by pid.
    pub processes: Vec<GraphProcess>,
    /// Every readable topic, by name (the system topics left out).
    pub topics: Vec<GraphTopic>,
    /// Process -> topic (`publishes`), topic -> process (`subscribes`), and
    /// process - topic (`holds`: a handle that has neither published nor
    /// received yet): per process, topic and role, one per node whose
    /// handles they are, and one without a node for handles made outside
    /// any node (see [`GraphEdge::node`]).
    pub edges: Vec<GraphEdge>,
}

/// A process.
#[derive(Debug, Serialize)]
pub struct GraphProcess {
    pub pid: u32,
    /// Its command name (`/proc/PID/comm`); `null` once it is gone, and
    /// for a pid not proved to be that process here (its number may now be
    /// another program's).
    pub command: Option<String>,
    /// `false`: only the registry remembers it (its nodes are `Crashed`).
    pub alive: bool,
    /// Its registered nodes, in tick order (none for a program without a
    /// scheduler, such as `horus topic echo`).
    pub nodes: Vec<String>,
}

/// A topic.
#[derive(Debug, Serialize)]
pub struct GraphTopic {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    /// Messages published since it was created.
    pub published: u64,
    /// Messages per second between the last two samples; `null` until two
    /// samples were taken (the first snapshot, `monitor --once`).
    pub rate_hz: Option<f64>,
}

/// An edge: `pid` publishes on `topic`, subscribes to it, or only holds a
/// handle of it.
#[derive(Debug, Serialize)]
pub struct GraphEdge {
    pub pid: u32,
    /// The node of the process whose handle it is, where the handle says
    /// (created in the node's `init` or `tick`); `null` otherwise. A
    /// process whose handles of one topic belong to several nodes has an
    /// edge per node.
    pub node: Option<String>,
    pub topic: String,
    /// `publishes`, `subscribes` or `holds`.
    pub role: &'static str,
    /// Messages per second along the edge: the topic's rate for a
    /// subscriber or the only publishing process; `null` when unknown.
    pub rate_hz: Option<f64>,
}

/// Topic rates, measured from the `published` counts of successive
/// snapshots. A sample younger than [`Rates::MIN_INTERVAL`] reuses the
/// last rate, so several pages polling at once do not shorten the window.
#[derive(Debug, Default)]
pub struct Rates {
    /// Per topic: the last sample taken and the rate it gave.
    last: HashMap<String, (Instant, u64, Option<f64>)>,
}

impl Rates {
    /// Shortest time between the two samples of a rate.
    pub const MIN_INTERVAL: Duration = Duration::from_millis(500);

    /// The rate of `topic` given its count `published` at `now`.
    fn sample(&mut self, topic: &str, published: u64, now: Instant) -> Option<f64> {
        let Some(&(at, count, rate)) = self.last.get(topic) else {
            self.last.insert(topic.to_owned(), (now, published, None));
            return None;
        };
        let dt = now.saturating_duration_since(at);
        if dt < Self::MIN_INTERVAL {
            return rate;
        }
        // A smaller count: the topic was removed and created anew; start over.
        let rate = published
            .checked_sub(count)
            .map(|n| n as f64 / dt.as_secs_f64());
        self.last.insert(topic.to_owned(), (now, published, rate));
        rate
    }

    /// Forgets the topics not in `names`.
    fn retain(&mut self, names: &BTreeSet<&str>) {
        self.last.retain(|t, _| names.contains(t.as_str()));
    }
}

impl Graph {
    /// The graph of `nodes` (the registry) and `topics` (readable, system
    /// topics left out), its rates sampled into `rates` at `now`; program
    /// names from `names` (only of pids proved to be the processes here).
    pub fn new(
        nodes: &[NodeEntry],
        topics: &[(&str, &TopicInfo)],
        rates: &mut Rates,
        now: Instant,
        names: &crate::names::Processes,
    ) -> Self {
        // pid -> (alive, nodes)
        let mut procs: BTreeMap<u32, (bool, Vec<String>)> = BTreeMap::new();
        for n in nodes {
            let p = procs.entry(n.pid).or_default();
            p.0 |= n.alive;
            p.1.push(n.name.clone());
        }
        let mut out_topics = Vec::new();
        let mut edges = Vec::new();
        for &(name, info) in topics {
            let rate = rates.sample(name, info.published, now);
            out_topics.push(GraphTopic {
                name: name.to_owned(),
                type_name: info.type_name.clone(),
                published: info.published,
                rate_hz: rate,
            });
            let crate::topic::Roles {
                publishers,
                subscribers,
                holders,
            } = crate::topic::Roles::of(info);
            let publisher_rate = if publishers.len() == 1 { rate } else { None };
            use crate::topic::{HOLDS, PUBLISHES, SUBSCRIBES};
            for (pids, role, pred, rate_hz) in [
                (&publishers, "publishes", PUBLISHES, publisher_rate),
                (&subscribers, "subscribes", SUBSCRIBES, rate),
                (&holders, "holds", HOLDS, None),
            ] {
                for &pid in pids {
                    let p = procs.entry(pid).or_default();
                    p.0 = true;
                    let (named, unnamed) = crate::topic::handle_nodes(info, pid, pred, &p.1);
                    let unnamed = (unnamed || named.is_empty()).then_some(None);
                    for node in named.into_iter().map(Some).chain(unnamed) {
                        edges.push(GraphEdge {
                            pid,
                            node,
                            topic: name.to_owned(),
                            role,
                            rate_hz,
                        });
                    }
                }
            }
        }
        rates.retain(&topics.iter().map(|(n, _)| *n).collect());
        Self {
            processes: procs
                .into_iter()
                .map(|(pid, (alive, nodes))| GraphProcess {
                    pid,
                    command: alive.then(|| names.program(pid)).flatten(),
                    alive,
                    nodes,
                })
                .collect(),
            topics: out_topics,
            edges,
        }
    }
}

impl Graph {
    /// The flow as text (the terminal view), one line per topic:
    /// `PUBLISHERS -> topic [RATE] -> SUBSCRIBERS[; opened by HOLDERS]`, a
    /// process shown as `command/Node (pid PID)` where the handle names its
    /// node, else as `command (pid PID: its nodes)`; names with control
    /// characters escaped ([`shown`](crate::names::shown)).
    pub fn flow_lines(&self) -> Vec<String> {
        let process = |e: &GraphEdge| {
            let pid = e.pid;
            let p = self.processes.iter().find(|p| p.pid == pid);
            let command = p.and_then(|p| p.command.as_deref()).unwrap_or("?");
            if let Some(node) = &e.node {
                return format!("{command}/{node} (pid {pid})");
            }
            match p.map(|p| p.nodes.join(", ")).filter(|n| !n.is_empty()) {
                Some(nodes) => format!("{command} (pid {pid}: {nodes})"),
                None => format!("{command} (pid {pid})"),
            }
        };
        self.topics
            .iter()
            .map(|t| {
                let of = |role: &str| {
                    let l: Vec<_> = self
                        .edges
                        .iter()
                        .filter(|e| e.topic == t.name && e.role == role)
                        .map(process)
                        .collect();
                    if l.is_empty() {
                        "-".to_owned()
                    } else {
                        l.join(", ")
                    }
                };
                let rate = t
                    .rate_hz
                    .map(|r| format!(" {}/s", crate::table::figure(r)))
                    .unwrap_or_default();
                let holds = of("holds");
                let holds = if holds == "-" {
                    String::new()
                } else {
                    format!("; opened by {holds}")
                };
                let line = format!(
                    "{} -> {}{rate} -> {}{holds}",
                    of("publishes"),
                    t.name,
                    of("subscribes")
                );
                crate::names::shown(&line).into_owned()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_needs_two_samples_far_enough_apart() {
        let mut r = Rates::default();
        let t0 = Instant::now();
        assert_eq!(r.sample("a", 100, t0), None);
        // Too soon: still unknown.
        assert_eq!(r.sample("a", 150, t0 + Duration::from_millis(100)), None);
        assert_eq!(r.sample("a", 200, t0 + Duration::from_secs(1)), Some(100.0));
        // Too soon again: the last rate.
        assert_eq!(
            r.sample("a", 900, t0 + Duration::from_millis(1100)),
            Some(100.0)
        );
        // The topic was created anew (a smaller count): unknown, then measured again.
        assert_eq!(r.sample("a", 5, t0 + Duration::from_secs(2)), None);
        assert_eq!(r.sample("a", 25, t0 + Duration::from_secs(4)), Some(10.0));
        r.retain(&BTreeSet::new());
        assert!(r.last.is_empty());
    }

    /// Was: a process only the registry remembers was named by whatever
    /// runs under its pid now.
    #[test]
    fn a_process_that_is_gone_has_no_command() {
        let me = std::process::id();
        let node = |alive| NodeEntry {
            name: "N".to_owned(),
            pid: me,
            state: None,
            figures: Default::default(),
            cpu_percent: None,
            rss_bytes: 0,
            timestamp_ns: 0,
            owner: 0,
            alive,
        };
        let command = |alive| {
            let nodes = [node(alive)];
            let names = crate::names::Processes::new(&nodes);
            let g = Graph::new(&nodes, &[], &mut Rates::default(), Instant::now(), &names);
            g.processes[0].command.clone()
        };
        assert!(command(true).is_some());
        assert_eq!(command(false), None);
    }

    #[test]
    fn the_flow_as_text() {
        let p = |pid, command: Option<&str>, nodes: &[&str]| GraphProcess {
            pid,
            command: command.map(str::to_owned),
            alive: true,
            nodes: nodes.iter().map(|n| (*n).to_owned()).collect(),
        };
        let e = |pid, topic: &str, role, rate_hz| GraphEdge {
            pid,
            node: None,
            topic: topic.to_owned(),
            role,
            rate_hz,
        };
        let t = |name: &str, rate_hz| GraphTopic {
            name: name.to_owned(),
            type_name: "T".to_owned(),
            published: 0,
            rate_hz,
        };
        let g = Graph {
            processes: vec![
                p(1, Some("sensor"), &["Encoder"]),
                p(2, Some("odometry"), &["Odometry", "Log"]),
                p(3, None, &[]),
            ],
            topics: vec![t("enc", Some(99.95)), t("odom", None)],
            edges: vec![
                e(1, "enc", "publishes", Some(99.95)),
                e(2, "enc", "subscribes", Some(99.95)),
                e(3, "enc", "subscribes", Some(99.95)),
                e(2, "odom", "holds", None),
                GraphEdge {
                    node: Some("Odometry".to_owned()),
                    ..e(2, "odom", "publishes", None)
                },
            ],
        };
        assert_eq!(
            g.flow_lines(),
            [
                "sensor (pid 1: Encoder) -> enc 100.0/s -> odometry (pid 2: Odometry, Log), ? (pid 3)",
                "odometry/Odometry (pid 2) -> odom -> -; opened by odometry (pid 2: Odometry, Log)",
            ]
        );
    }
}
