//! The std scheduler's [`Observer`] of the engine: turns what the engine
//! reports into anomalies (kept in memory and written to the blackbox, see
//! [`Recorder`]), and collects the errors `run`, `tick_once` and `shutdown`
//! return.

use horus_nostd::sched::{Completion, FaultPolicy, NodeFault, NodeState, Observer, Release, Slot};

use super::SchedulerError;
use super::adapter::{Guarded, InitFailure};
use super::report::Recorder;
use crate::system::blackbox::AnomalyKind;
use crate::system::estop::RaiseWatch;

/// Feeds the [`Recorder`] for one call into the engine.
pub(crate) struct Feed<'r> {
    rec: &'r mut Recorder,
    /// The first `init` that failed at the start.
    pub(crate) init_failed: Option<SchedulerError>,
    /// `(node, what went wrong)` for each failed `shutdown`, in shutdown order.
    pub(crate) shutdown_failures: Vec<(String, String)>,
    /// This process's e-stop raises as of the scheduler's last poll: a
    /// raise since ends the round ([`Observer::hold_requested`]).
    estop_watch: Option<RaiseWatch>,
}

impl<'r> Feed<'r> {
    pub(crate) fn new(rec: &'r mut Recorder) -> Self {
        Self {
            rec,
            init_failed: None,
            shutdown_failures: Vec::new(),
            estop_watch: None,
        }
    }

    /// Ends the round before the next node once this process raises an
    /// e-stop after `watch` was taken (`None`: no e-stop followed).
    pub(crate) fn watching(mut self, watch: Option<RaiseWatch>) -> Self {
        self.estop_watch = watch;
        self
    }

    /// Records `kind` for the node of `slot` (rate-limited, see [`Recorder::record`]).
    fn record(
        &mut self,
        slot: &mut Slot<Guarded>,
        kind: AnomalyKind,
        value: u64,
        detail: impl FnOnce() -> String,
    ) -> bool {
        let g = slot.node_mut();
        self.rec.record(&mut g.quiet, kind, &g.name, value, detail)
    }

    /// Records the panic just counted for the node of `slot`, rate-limited
    /// like the other kinds (`stopped`: it stopped the node, always
    /// recorded); the record's value is the node's panics so far, and its
    /// detail `what`, after how many panics it stands for when more than one
    /// (first: the blackbox keeps 80 bytes of it).
    fn record_panic(&mut self, slot: &mut Slot<Guarded>, stopped: bool, what: String) {
        let panics = slot.node().panics;
        let since = panics - slot.node().quiet.panics_recorded;
        if stopped {
            slot.node_mut().quiet.allow_next(AnomalyKind::NodePanic);
        }
        let recorded = self.record(slot, AnomalyKind::NodePanic, panics, || {
            if since > 1 {
                format!("{since} panics since the last record; {what}")
            } else {
                what
            }
        });
        if recorded {
            slot.node_mut().quiet.panics_recorded = panics;
        }
    }
}

impl Feed<'_> {
    /// Records a panic in `safe_state` not yet recorded and, unless the node
    /// is finishing (its last `shutdown`, reported by `shutdown`), a failed
    /// `shutdown` of a restart.
    fn record_pending(&mut self, slot: &mut Slot<Guarded>) {
        if let Some(m) = slot.node_mut().safe_state_panic.take() {
            self.record_panic(slot, false, format!("panicked in safe_state: {m}"));
        }
        if slot.state() != NodeState::Finished {
            // A restart (`horus node restart`, the `Restart` policy) ran
            // `shutdown` before `init`.
            if let Some(why) = slot.node_mut().shutdown_failure.take() {
                self.record(slot, AnomalyKind::NodeError, 0, || {
                    format!("shutdown failed during a restart: {why}")
                });
            }
        }
    }
}

impl Observer<Guarded> for Feed<'_> {
    fn hold_requested(&mut self) -> bool {
        self.estop_watch.is_some_and(RaiseWatch::raised_since)
    }

    fn released(&mut self, slot: &mut Slot<Guarded>, release: &Release) {
        if !release.late {
            return;
        }
        let (late, skipped) = (release.lateness_ns, release.skipped);
        let tolerance = slot.timing().tolerance_ns();
        self.record(slot, AnomalyKind::DeadlineMiss, late, || {
            format!(
                "released {} us late (tolerance {} us); {skipped} releases skipped",
                late / 1_000,
                tolerance / 1_000
            )
        });
    }

    fn ticked(&mut self, slot: &mut Slot<Guarded>, done: &Completion) {
        slot.node_mut().account_cpu(done.duration_ns);
        if !slot.node().reported.is_empty() {
            let reported = std::mem::take(&mut slot.node_mut().reported);
            // The kept reports come first; those beyond were only counted.
            let first = (slot.node().errors)
                .saturating_sub(reported.len() as u64)
                .saturating_sub(slot.node().reported_dropped);
            for (n, detail) in (first + 1..).zip(reported) {
                self.record(slot, AnomalyKind::NodeError, n, || {
                    format!("tick reported: {detail}")
                });
            }
        }
        if done.overrun {
            let (took, budget) = (done.duration_ns, slot.timing().budget_ns());
            self.record(slot, AnomalyKind::BudgetOverrun, took, || {
                format!(
                    "tick took {} us, budget {} us",
                    took / 1_000,
                    budget / 1_000
                )
            });
        }
    }

    fn faulted(&mut self, slot: &mut Slot<Guarded>, _: NodeFault) {
        let policy = slot.policy();
        let message = slot.node().last_panic.clone().unwrap_or_default();
        let stopped = policy == FaultPolicy::Stop;
        self.record_panic(
            slot,
            stopped,
            format!("panicked in tick ({policy}): {message}"),
        );
    }

    fn restart_failed(&mut self, slot: &mut Slot<Guarded>, _: NodeFault) {
        let why = match slot.node_mut().init_failure.take() {
            Some(InitFailure::Error(e)) => e.to_string(),
            Some(InitFailure::Panic(m)) => format!("panicked: {m}"),
            None => "failed".to_owned(),
        };
        // The node is stopped: recorded whatever errors it reported lately.
        slot.node_mut().quiet.allow_next(AnomalyKind::NodeError);
        self.record(slot, AnomalyKind::NodeError, 0, || {
            format!("restart failed, node stopped: init: {why}")
        });
    }

    fn restarted(&mut self, slot: &mut Slot<Guarded>) {
        // A node restarted while held changed no state: what its
        // `shutdown` and `safe_state` did is recorded here.
        self.record_pending(slot);
    }

    fn state_changed(&mut self, slot: &mut Slot<Guarded>, from: NodeState) {
        self.record_pending(slot);
        match (from, slot.state()) {
            (NodeState::Registered, NodeState::Faulted) => {
                let node = slot.node().name.clone();
                let failure = slot.node_mut().init_failure.take();
                self.init_failed = self.init_failed.take().or(match failure {
                    Some(InitFailure::Error(e)) => Some(SchedulerError::InitFailed {
                        node,
                        error: Box::new(e),
                    }),
                    Some(InitFailure::Panic(message)) => Some(SchedulerError::Panicked {
                        node,
                        during: "init",
                        message,
                    }),
                    None => None,
                });
            }
            (_, NodeState::Finished) => {
                if let Some(why) = slot.node_mut().shutdown_failure.take() {
                    let node = slot.node().name.clone();
                    self.shutdown_failures.push((node, why));
                }
            }
            _ => {}
        }
    }
}
