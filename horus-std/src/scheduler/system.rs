//! The scheduler's link to its namespace's system topics: it follows the
//! e-stop, carries out node control requests and reports its nodes to the
//! registry.
//!
//! - **E-stop.** Polled at the start of every round, and at once when a
//!   node of this process raised it during a round (the round ends before
//!   the next node: `estop::RaiseWatch`). When raised, every
//!   tickable node's `safe_state` runs and the node is `Held` (not ticked)
//!   until the e-stop is cleared; then the nodes resume on a fresh release
//!   grid (no burst of missed releases). Both transitions are recorded in
//!   the blackbox. A scheduler that starts while the e-stop is engaged
//!   starts held.
//! - **Control** (`crate::system::control`). Polled at the start of every
//!   round, after the e-stop: a request for one of this scheduler's nodes
//!   (by name, and pid if given) pauses, resumes or restarts it through the
//!   engine, or stops the scheduler (`kill`: `run` returns after the usual
//!   shutdown). Each is recorded in the blackbox (`node_control`, value:
//!   the requester's pid), as is a request the node's state refuses, and
//!   requests lost unseen (more than the topic holds, 16, published between
//!   two rounds; value: how many).
//! - **Registry.** Each node's figures are published when the scheduler
//!   starts, when any node changes state, and at least once a second, so
//!   `horus node list` in another process shows them.
//!
//! Opening any of these topics can fail (a full topic, a read-only `/dev/shm`):
//! that is logged once and the scheduler runs without it; a robot keeps
//! running when its introspection cannot.

use horus_nostd::sched::{Engine, NodeId, NodeState};

use super::adapter::{self, Nodes};
use super::observe::Feed;
use super::report::{Quiet, Recorder};
use crate::system::blackbox::AnomalyKind;
use crate::system::control::{ControlCommand, ControlReader, ControlRequest};
use crate::system::estop::{EstopEvent, EstopMonitor, RaiseWatch};
use crate::system::registry::{NodeFigures, NodeReport, NodeStatus, Registry};

/// Least time between two periodic registry reports.
const REPORT_EVERY_NS: u64 = 1_000_000_000;

#[derive(Debug, Default)]
pub(crate) struct SystemLink {
    estop: Option<EstopMonitor>,
    control: Option<ControlReader>,
    registry: Option<Registry>,
    last_report_ns: u64,
    last_states: Vec<NodeState>,
    rates: MeasuredRates,
    /// This process's e-stop raises as of the last poll (`None`: no e-stop
    /// monitor, or not polled yet).
    raises: Option<RaiseWatch>,
    /// Held by the e-stop.
    pub(crate) held: bool,
    /// A `kill` request for one of the nodes arrived: the pid that sent it.
    pub(crate) kill_from: Option<u32>,
    /// Control requests lost as of the last one received (recorded).
    control_lost: u64,
}

impl SystemLink {
    /// Opens the e-stop monitor, the control topic and the registry of
    /// `namespace` (current if `None`). A scheduler that could not follow the
    /// e-stop must not run: that failure is the error; the control topic's
    /// and the registry's are logged and leave that part off.
    pub(crate) fn open(namespace: Option<&str>) -> crate::Result<Self> {
        let estop = Some(EstopMonitor::open(namespace)?);
        let control = ControlReader::open(namespace)
            .map_err(|e| eprintln!("horus: this scheduler's nodes cannot be controlled: {e}"))
            .ok();
        let registry = Registry::open(namespace)
            .map_err(|e| eprintln!("horus: this scheduler's nodes will not be listed: {e}"))
            .ok();
        Ok(Self {
            estop,
            control,
            registry,
            ..Self::default()
        })
    }

    /// Follows the e-stop: holds or resumes the nodes of `engine` on a
    /// change. Returns whether the scheduler is held, and whether it
    /// changed (nodes ran their `safe_state` or resumed).
    #[inline]
    pub(crate) fn follow_estop(
        &mut self,
        engine: &mut Engine<Nodes>,
        rec: &mut Recorder,
        now_ns: u64,
    ) -> (bool, bool) {
        let Some(monitor) = &mut self.estop else {
            return (false, false);
        };
        // Before the poll: a raise after it is seen by the next round.
        self.raises = Some(RaiseWatch::now());
        let event = monitor.poll();
        // A monitor opened while engaged reports no transition: catch up.
        let engaged = monitor.engaged();
        if event.is_none() && engaged == self.held {
            return (self.held, false); // every round but a transition's
        }
        self.estop_moved(event, engaged, engine, rec, now_ns)
    }

    /// [`follow_estop`](Self::follow_estop) after a poll that saw `event`
    /// and left the monitor `engaged`.
    fn estop_moved(
        &mut self,
        event: Option<EstopEvent>,
        engaged: bool,
        engine: &mut Engine<Nodes>,
        rec: &mut Recorder,
        now_ns: u64,
    ) -> (bool, bool) {
        match (event, self.held, engaged) {
            (_, false, true) => {
                let reason = self.estop.as_ref().map_or("", |m| m.reason()).to_owned();
                log::warn!(
                    "e-stop engaged ({reason}): holding {} node(s)",
                    engine.len()
                );
                engine.hold_with(&mut Feed::new(rec));
                rec.record(
                    &mut Quiet::default(),
                    AnomalyKind::EstopRaised,
                    "",
                    0,
                    || format!("e-stop raised: {reason}; nodes held"),
                );
                self.held = true;
            }
            (Some(EstopEvent::RaisedAndCleared { reason }), false, false) => {
                // Raised and cleared between two polls: the nodes still go
                // to their safe state, then resume, and both are recorded.
                log::warn!("e-stop raised and cleared since the last round ({reason})");
                engine.hold_with(&mut Feed::new(rec));
                rec.record(
                    &mut Quiet::default(),
                    AnomalyKind::EstopRaised,
                    "",
                    0,
                    || format!("e-stop raised: {reason}; nodes held"),
                );
                engine.resume_with(now_ns, &mut Feed::new(rec));
                rec.record(
                    &mut Quiet::default(),
                    AnomalyKind::EstopCleared,
                    "",
                    0,
                    || "e-stop cleared; nodes resumed".to_owned(),
                );
            }
            (Some(EstopEvent::Cleared), true, false) | (None, true, false) => {
                log::info!("e-stop cleared: resuming {} node(s)", engine.len());
                engine.resume_with(now_ns, &mut Feed::new(rec));
                rec.record(
                    &mut Quiet::default(),
                    AnomalyKind::EstopCleared,
                    "",
                    0,
                    || "e-stop cleared; nodes resumed".to_owned(),
                );
                self.held = false;
            }
            _ => return (self.held, false),
        }
        (self.held, true)
    }

    /// What a round watches between its nodes: this process's e-stop raises
    /// as of the last poll (see [`Feed::watching`]).
    pub(crate) fn estop_watch(&self) -> Option<RaiseWatch> {
        self.raises
    }

    /// Carries out every control request published since the last round
    /// for a node of `engine` (see the module doc). Returns whether there
    /// was one.
    #[inline]
    pub(crate) fn follow_control(
        &mut self,
        engine: &mut Engine<Nodes>,
        rec: &mut Recorder,
        now_ns: u64,
    ) -> bool {
        let Some(first) = self.control.as_mut().and_then(ControlReader::poll) else {
            return false; // every round but a request's
        };
        self.carry_out_all(first, engine, rec, now_ns);
        true
    }

    /// [`follow_control`](Self::follow_control) from its `first` request
    /// on: carries out each until no more was published.
    #[inline(never)]
    fn carry_out_all(
        &mut self,
        first: ControlRequest,
        engine: &mut Engine<Nodes>,
        rec: &mut Recorder,
        now_ns: u64,
    ) {
        let mut next = Some(first);
        while let Some(req) = next {
            if let Some(killer) = carry_out(&req, engine, rec, now_ns) {
                self.kill_from = Some(killer);
            }
            next = self.control.as_mut().and_then(ControlReader::poll);
        }
        // More requests than the topic holds since the last round: the
        // oldest were overwritten, unseen. Not silently.
        let lost = self.control.as_ref().map_or(0, ControlReader::lost);
        if lost > self.control_lost {
            let n = lost - self.control_lost;
            self.control_lost = lost;
            let detail = format!(
                "{n} control request(s) lost: more arrived between two rounds than the control topic holds"
            );
            log::warn!("scheduler: {detail}");
            rec.record(
                &mut Quiet::default(),
                AnomalyKind::NodeControl,
                "",
                n,
                || detail,
            );
        }
    }

    /// Publishes every node's figures if a state changed or a second
    /// passed; returns whether it did.
    #[inline(always)]
    pub(crate) fn report(&mut self, engine: &Engine<Nodes>, now_ns: u64) -> bool {
        if self.registry.is_none() {
            return false;
        }
        let changed = engine.len() != self.last_states.len()
            || engine
                .slots()
                .zip(&self.last_states)
                .any(|(s, last)| s.state() != *last);
        if !changed && now_ns.saturating_sub(self.last_report_ns) < REPORT_EVERY_NS {
            return false; // the common case: no allocation, no publishing
        }
        self.publish_report(engine, now_ns);
        true
    }

    /// Publishes every node's figures to the registry (if open).
    fn publish_report(&mut self, engine: &Engine<Nodes>, now_ns: u64) {
        let Some(registry) = &mut self.registry else {
            return;
        };
        let infos: Vec<_> = engine.slots().map(adapter::info).collect();
        let ticks: Vec<u64> = infos.iter().map(|i| i.stats.ticks).collect();
        let measured = self.rates.update(now_ns, &ticks);
        for (index, (info, &measured_hz)) in infos.iter().zip(measured).enumerate() {
            registry.report(
                index,
                &NodeReport {
                    name: &info.name,
                    state: registry_status(info),
                    figures: NodeFigures {
                        order: info.order,
                        rate_hz: if info.period_ns == 0 {
                            0.0
                        } else {
                            1e9 / info.period_ns as f64
                        },
                        measured_hz,
                        ticks: info.stats.ticks,
                        deadline_misses: info.stats.late_releases,
                        overruns: info.stats.overruns,
                        cpu_ns: info.cpu_ns,
                    },
                },
            );
        }
        self.last_states = engine.slots().map(|s| s.state()).collect();
        self.last_report_ns = now_ns;
    }
}

/// Each node's measured tick rate: ticks over a window of at least
/// [`RATE_WINDOW_NS`]. A report sooner than that (a state change: the
/// first ticks after `init`) repeats the last figures: a rate measured over
/// a few milliseconds (one tick, "105.3 Hz") says nothing.
#[derive(Debug, Default)]
struct MeasuredRates {
    /// Start of the current window (0: none yet).
    from_ns: u64,
    /// Each node's tick count at `from_ns`.
    from_ticks: Vec<u64>,
    /// The figures of the last window (0 before the first one ended).
    hz: Vec<f64>,
}

/// The shortest window a tick rate is measured over.
const RATE_WINDOW_NS: u64 = REPORT_EVERY_NS / 2;

impl MeasuredRates {
    /// The rates at `now_ns` of nodes that have ticked `ticks` times so far.
    fn update(&mut self, now_ns: u64, ticks: &[u64]) -> &[f64] {
        let window_ns = now_ns.saturating_sub(self.from_ns);
        if self.from_ns == 0 || self.from_ticks.len() != ticks.len() {
            // The first report, or nodes added: a new window.
            (self.from_ns, self.from_ticks) = (now_ns, ticks.to_vec());
            self.hz.resize(ticks.len(), 0.0);
        } else if window_ns >= RATE_WINDOW_NS {
            let secs = window_ns as f64 / 1e9;
            self.hz = ticks
                .iter()
                .zip(&self.from_ticks)
                .map(|(now, from)| now.saturating_sub(*from) as f64 / secs)
                .collect();
            (self.from_ns, self.from_ticks) = (now_ns, ticks.to_vec());
        }
        &self.hz
    }
}

/// Carries out `req` on each node of `engine` it targets; returns the
/// requester's pid for a `kill` of one of them.
fn carry_out(
    req: &ControlRequest,
    engine: &mut Engine<Nodes>,
    rec: &mut Recorder,
    now_ns: u64,
) -> Option<u32> {
    let pid = std::process::id(); // a system call: only for a request
    let targets: Vec<NodeId> = engine
        .slots()
        .filter(|s| req.targets(&s.node().name, pid))
        .map(|s| s.id())
        .collect();
    let mut killer = None;
    for id in targets {
        killer = execute(engine, rec, id, req, now_ns).or(killer);
    }
    killer
}

/// Carries out `req` on node `id` and records it; returns the requester's
/// pid for a `kill` (the caller stops the scheduler).
fn execute(
    engine: &mut Engine<Nodes>,
    rec: &mut Recorder,
    id: NodeId,
    req: &ControlRequest,
    now_ns: u64,
) -> Option<u32> {
    let name = engine
        .slots()
        .find(|s| s.id() == id)
        .map(|s| s.node().name.clone())
        .unwrap_or_default();
    let by = format!(
        "at the request of pid {} (request {})",
        req.sender_pid, req.request_id
    );
    let mut feed = Feed::new(rec);
    let (done, result) = match req.command {
        Some(ControlCommand::Pause) => ("paused", engine.pause_with(id, &mut feed)),
        Some(ControlCommand::Resume) => ("resumed", engine.resume_node_with(id, now_ns, &mut feed)),
        Some(ControlCommand::Restart) => {
            let r = engine.restart_with(id, now_ns, &mut feed);
            let faulted = engine.state(id) == Some(NodeState::Faulted);
            (
                if faulted {
                    "restart failed (init), node stopped"
                } else {
                    "restarted"
                },
                r,
            )
        }
        Some(ControlCommand::Kill) => ("stopping its scheduler (kill)", Ok(())),
        None => {
            log::warn!("node {name:?}: control request with an unknown command, ignored ({by})");
            return None;
        }
    };
    let detail = match result {
        Ok(()) => format!("{done} {by}"),
        Err(e) => format!("not done {by}: {e}"),
    };
    log::info!("node {name:?}: {detail}");
    rec.record(
        &mut Quiet::default(),
        AnomalyKind::NodeControl,
        &name,
        u64::from(req.sender_pid),
        || detail,
    );
    (req.command == Some(ControlCommand::Kill)).then_some(req.sender_pid)
}

/// The status `horus node list` shows for a node in its [`NodeState`].
fn registry_status(info: &super::NodeInfo) -> NodeStatus {
    match info.state {
        NodeState::Registered => NodeStatus::Starting,
        // Ready: initialised, not ticked since. After a restart by its
        // `Restart` policy too: a node that panics on every tick is Ready
        // at every report, and is no node starting.
        NodeState::Ready | NodeState::Running if info.panics > 0 || info.last_tick_failed => {
            NodeStatus::Error
        }
        NodeState::Ready => NodeStatus::Starting,
        NodeState::Running => NodeStatus::Running,
        NodeState::Held => NodeStatus::Stopped,
        NodeState::Paused => NodeStatus::Paused,
        NodeState::Faulted => NodeStatus::Crashed,
        _ => NodeStatus::Finished,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_rate_is_measured_over_half_a_second_at_least() {
        let mut r = MeasuredRates::default();
        assert_eq!(r.update(1_000 * MS, &[0, 0]), &[0.0, 0.0]);
        // A report 10 ms later (a node left `init`): one tick is no rate.
        assert_eq!(r.update(1_010 * MS, &[1, 0]), &[0.0, 0.0]);
        // A second after the first: 100 ticks in 1 s, 50 in 1 s.
        assert_eq!(r.update(2_000 * MS, &[100, 50]), &[100.0, 50.0]);
        // Sooner than half a second: the last figures again.
        assert_eq!(r.update(2_100 * MS, &[150, 50]), &[100.0, 50.0]);
        // Half a second after the last window: 100 ticks in 0.5 s.
        assert_eq!(r.update(2_500 * MS, &[200, 50]), &[200.0, 0.0]);
    }

    #[test]
    fn nodes_added_start_a_new_window() {
        let mut r = MeasuredRates::default();
        r.update(1_000 * MS, &[0]);
        assert_eq!(r.update(2_000 * MS, &[10]), &[10.0]);
        assert_eq!(r.update(2_010 * MS, &[11, 0]), &[10.0, 0.0]);
        assert_eq!(r.update(3_010 * MS, &[21, 5]), &[10.0, 5.0]);
    }
}
