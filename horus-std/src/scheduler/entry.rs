//! One node in the std scheduler: its box, its core [`Timing`], its state,
//! and the guarded calls (every call into the node is under `catch_unwind`).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use horus_nostd::sched::{FaultPolicy, NodeConfig, NodeState, Timing};

use super::SchedulerError;
use super::report::{NodeInfo, Quiet, Recorder};
use crate::node::Node;
use crate::system::blackbox::AnomalyKind;
use crate::time::now_ns;

pub(crate) struct Entry {
    pub(crate) node: Box<dyn Node>,
    pub(crate) name: String,
    pub(crate) config: NodeConfig,
    pub(crate) timing: Timing,
    pub(crate) state: NodeState,
    /// `init` succeeded at least once, so `shutdown` is owed.
    initialised: bool,
    panics: u64,
    restarts: u64,
    last_panic: Option<String>,
    quiet: Quiet,
    /// CPU time of the scheduler thread spent in this node's ticks.
    cpu_ns: u64,
    /// Errors the node reported with `horus::node::report_error`.
    errors: u64,
    /// Whether its last tick reported an error.
    last_tick_failed: bool,
}

/// CPU time of the calling thread, ns.
fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    // Never negative for a CPU-time clock.
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

/// The text of a panic payload (`panic!("...")` gives `&str` or `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic with a non-string payload)".to_owned()
    }
}

/// Runs `f`, turning a panic into its message. The payload is dropped here,
/// itself under `catch_unwind` (a payload whose drop panics is leaked).
fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let msg = panic_message(&*payload);
        if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            // Leaked rather than risking a third panic.
            std::mem::forget(second);
        }
        msg
    })
}

impl Entry {
    pub(crate) fn new(
        node: Box<dyn Node>,
        name: String,
        config: NodeConfig,
        timing: Timing,
    ) -> Self {
        Self {
            node,
            name,
            config,
            timing,
            state: NodeState::Registered,
            initialised: false,
            panics: 0,
            restarts: 0,
            last_panic: None,
            quiet: Quiet::default(),
            cpu_ns: 0,
            errors: 0,
            last_tick_failed: false,
        }
    }

    /// `start()`: `Registered -> Ready` (first release at `t0_ns`), or
    /// `Faulted` with the error.
    pub(crate) fn init(&mut self, t0_ns: u64) -> Result<(), SchedulerError> {
        debug_assert_eq!(self.state, NodeState::Registered);
        let outcome = guarded(|| self.node.init());
        let err = match outcome {
            Ok(Ok(())) => {
                self.initialised = true;
                self.timing.start_at(t0_ns);
                self.state.become_(NodeState::Ready);
                return Ok(());
            }
            Ok(Err(e)) => SchedulerError::InitFailed {
                node: self.name.clone(),
                source: Box::new(e),
            },
            Err(message) => SchedulerError::Panicked {
                node: self.name.clone(),
                during: "init",
                message,
            },
        };
        self.state.become_(NodeState::Faulted);
        Err(err)
    }

    /// `step()`: one tick, found due by the round that began at
    /// `round_ns`, with the deadline accounting of the core's [`Timing`]
    /// and the node's panic policy.
    pub(crate) fn tick(&mut self, round_ns: u64, rec: &mut Recorder) {
        let release = self.timing.release(round_ns, now_ns());
        if release.late {
            let (late, skipped) = (release.lateness_ns, release.skipped);
            let tolerance = self.timing.tolerance_ns();
            rec.record(
                &mut self.quiet,
                AnomalyKind::DeadlineMiss,
                &self.name,
                late,
                || {
                    format!(
                        "released {} us late (tolerance {} us); {skipped} releases skipped",
                        late / 1_000,
                        tolerance / 1_000
                    )
                },
            );
        }
        if self.state == NodeState::Ready {
            self.state.become_(NodeState::Running);
        }
        // Reports made outside any tick are not this node's.
        drop(crate::node::take_reported_errors());
        let cpu_before = thread_cpu_ns();
        let outcome = guarded(|| self.node.tick());
        self.cpu_ns += thread_cpu_ns().saturating_sub(cpu_before);
        let reported = crate::node::take_reported_errors();
        self.last_tick_failed = !reported.is_empty();
        for detail in reported {
            self.errors += 1;
            let errors = self.errors;
            rec.record(
                &mut self.quiet,
                AnomalyKind::NodeError,
                &self.name,
                errors,
                || format!("tick reported: {detail}"),
            );
        }
        let done = self.timing.complete(&release, now_ns());
        if done.overrun {
            let budget = self.timing.budget_ns();
            let took = done.duration_ns;
            rec.record(
                &mut self.quiet,
                AnomalyKind::BudgetOverrun,
                &self.name,
                took,
                || {
                    format!(
                        "tick took {} us, budget {} us",
                        took / 1_000,
                        budget / 1_000
                    )
                },
            );
        }
        if let Err(message) = outcome {
            self.on_panic(message, rec);
        }
    }

    fn on_panic(&mut self, message: String, rec: &mut Recorder) {
        self.timing.record_fault();
        self.panics += 1;
        let policy = self.config.policy;
        rec.record(
            &mut self.quiet,
            AnomalyKind::NodePanic,
            &self.name,
            self.panics,
            || format!("panicked in tick ({policy}): {message}"),
        );
        self.last_panic = Some(message);
        match policy {
            FaultPolicy::Skip => {}
            FaultPolicy::Restart => {
                let why = match guarded(|| self.node.init()) {
                    Ok(Ok(())) => {
                        self.restarts += 1;
                        self.state.become_(NodeState::Ready);
                        return;
                    }
                    Ok(Err(e)) => e.to_string(),
                    Err(m) => format!("panicked: {m}"),
                };
                rec.record(
                    &mut self.quiet,
                    AnomalyKind::NodeError,
                    &self.name,
                    0,
                    || format!("restart failed, node stopped: init: {why}"),
                );
                self.stop_faulted(rec);
            }
            // `FaultPolicy` is non-exhaustive: anything new stops the node.
            _ => self.stop_faulted(rec),
        }
    }

    /// `Running -> Faulted`, after the node's `safe_state`.
    fn stop_faulted(&mut self, rec: &mut Recorder) {
        if let Err(m) = guarded(|| self.node.safe_state()) {
            self.panics += 1;
            rec.record(
                &mut self.quiet,
                AnomalyKind::NodePanic,
                &self.name,
                self.panics,
                || format!("panicked in safe_state: {m}"),
            );
        }
        self.state.become_(NodeState::Faulted);
    }

    /// `hold()` (the e-stop): a tickable node runs its `safe_state` and is
    /// `Held`; other states are left alone.
    pub(crate) fn hold(&mut self, rec: &mut Recorder) {
        if !self.state.is_tickable() {
            return;
        }
        if let Err(m) = guarded(|| self.node.safe_state()) {
            self.panics += 1;
            rec.record(
                &mut self.quiet,
                AnomalyKind::NodePanic,
                &self.name,
                self.panics,
                || format!("panicked in safe_state: {m}"),
            );
        }
        self.state.become_(NodeState::Held);
    }

    /// `resume()`: `Held -> Running`, on a release grid starting at `now_ns`.
    pub(crate) fn resume(&mut self, now_ns: u64) {
        if self.state == NodeState::Held {
            self.timing.rephase(now_ns);
            self.state.become_(NodeState::Running);
        }
    }

    /// `shutdown()`: `-> Finished`, running the node's `shutdown` if its
    /// `init` succeeded. Returns what went wrong, if anything.
    pub(crate) fn shutdown(&mut self) -> Option<String> {
        if self.state == NodeState::Finished {
            return None;
        }
        let result = if self.initialised {
            match guarded(|| self.node.shutdown()) {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(m) => Some(format!("panicked: {m}")),
            }
        } else {
            None
        };
        self.state.become_(NodeState::Finished);
        result
    }

    pub(crate) fn info(&self) -> NodeInfo {
        NodeInfo {
            name: self.name.clone(),
            order: self.config.order,
            state: self.state,
            period_ns: self.timing.period_ns(),
            budget_ns: self.timing.budget_ns(),
            stats: *self.timing.stats(),
            panics: self.panics,
            restarts: self.restarts,
            last_panic: self.last_panic.clone(),
            cpu_ns: self.cpu_ns,
            errors: self.errors,
            last_tick_failed: self.last_tick_failed,
        }
    }
}
