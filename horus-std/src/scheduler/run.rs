//! Running: start (init), the loop of rounds and sleeps, shutdown.

use std::time::Duration;

use horus_nostd::sched::{NodeState, StartError};

use super::observe::Feed;
use super::{Scheduler, SchedulerError, rt, signals, sleep, system};

/// How often a scheduler held by the e-stop (or with every node paused)
/// looks for it to clear (or for a resume).
const HELD_POLL_NS: u64 = 2_000_000;
use crate::error::Result;
use crate::time::{MonotonicClock, duration_ns, now_ns};

impl Scheduler {
    /// Runs until SIGINT or SIGTERM (or [`StopHandle::stop`](super::StopHandle::stop)),
    /// then runs every node's `shutdown`.
    ///
    /// # Signals
    /// The first `run` or `run_for` of the process installs handlers for
    /// SIGINT and SIGTERM, which stay installed after it returns: the first
    /// signal asks every scheduler of the process to stop, a second one
    /// exits at once (130 or 143). The request is sticky: once a signal
    /// arrived, every later `run` returns after its `init`s and `shutdown`s
    /// without a round (see [`stop_requested`](super::stop_requested)).
    ///
    /// # Errors
    /// The e-stop could not be opened (no node started), real-time settings
    /// refused, a node's `init` failed, every node stopped after panicking,
    /// or a `shutdown` failed (after all ran).
    pub fn run(&mut self) -> Result<()> {
        self.run_until(None)
    }

    /// As [`run`](Self::run), but also stops `duration` after its first
    /// round began. The `init`s do not count: a node slow to start (a
    /// camera, a driver) still gets the whole duration, and the first round
    /// runs however long the start took. `Duration::ZERO` runs no round:
    /// the nodes are initialised and shut down.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_for(&mut self, duration: Duration) -> Result<()> {
        self.run_until(Some(duration_ns(duration)))
    }

    /// Runs one round: every tickable node once, in order, regardless of
    /// rates (deadline accounting still applies). Initialises nodes not yet
    /// initialised first. Does not shut down: call [`shutdown`](Self::shutdown)
    /// or drop the scheduler.
    ///
    /// A `horus node kill` request for one of its nodes shuts the scheduler
    /// down instead of ticking (the next call returns
    /// [`SchedulerError::Finished`]).
    ///
    /// Installs no signal handler: in a loop of `tick_once` calls, SIGINT
    /// and SIGTERM keep their default action (the process ends at once, no
    /// `shutdown` runs) unless a `run` of the process installed them
    /// earlier (see [`run`](Self::run)), in which case the loop sees a
    /// signal only through [`stop_requested`](super::stop_requested).
    ///
    /// # Errors
    /// The scheduler is finished, the e-stop could not be opened (no node
    /// started), or a node's `init` failed (the scheduler is then shut
    /// down).
    pub fn tick_once(&mut self) -> Result<()> {
        if self.finished {
            return Err(SchedulerError::Finished.into());
        }
        self.start_or_shutdown()?;
        let now = now_ns();
        let followed = self.follow_system(now);
        if let Some(pid) = self.system.as_ref().and_then(|l| l.kill_from) {
            // `horus node kill`: as `run` does, shut down; the next call is `Finished`.
            log::info!("scheduler: shutting down at the request of pid {pid} (horus node kill)");
            return self.shutdown();
        }
        if followed.held {
            return Ok(());
        }
        let watch = self
            .system
            .as_ref()
            .and_then(system::SystemLink::estop_watch);
        let mut feed = Feed::new(&mut self.recorder).watching(watch);
        let mut report =
            self.engine
                .step_all_from(followed.round_start(now), &MonotonicClock, &mut feed);
        while let Some(position) = report.ended_before {
            // This process raised an e-stop. Ours (a node of the round):
            // hold the rest now, not next call. Another namespace's (raised
            // by another thread): the round goes on from where it stopped,
            // since a `tick_once` ticks every node once.
            let now = now_ns();
            let followed = self.follow_system(now);
            let killed = self.system.as_ref().is_some_and(|l| l.kill_from.is_some());
            if followed.held || killed {
                break; // a kill: the next call shuts down, as above
            }
            let watch = self
                .system
                .as_ref()
                .and_then(system::SystemLink::estop_watch);
            let mut feed = Feed::new(&mut self.recorder).watching(watch);
            report = self.engine.step_all_rest_from(
                position,
                followed.round_start(now),
                &MonotonicClock,
                &mut feed,
            );
        }
        Ok(())
    }

    /// Runs the `shutdown` of every initialised node, in reverse order
    /// (also after panics); the scheduler is finished afterwards. Calling
    /// it again does nothing.
    ///
    /// # Errors
    /// [`SchedulerError::ShutdownFailed`] naming each node whose `shutdown`
    /// failed or panicked; every other node's ran.
    pub fn shutdown(&mut self) -> Result<()> {
        self.finished = true;
        let mut feed = Feed::new(&mut self.recorder);
        self.engine.shutdown_with(&mut feed);
        let failures = feed.shutdown_failures;
        // The registry's last word on these nodes: Finished (or Crashed), not
        // the Running of the last round, for as long as this process lives
        // (the link is open since the start, before any node's `init`).
        if let Some(link) = &mut self.system {
            link.report(&self.engine, now_ns());
        }
        for (node, why) in &failures {
            eprintln!("horus: node {node:?} shutdown failed: {why}");
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(SchedulerError::ShutdownFailed { failures }.into())
        }
    }

    /// Runs until stopped, or `duration_ns` after the first round began.
    fn run_until(&mut self, duration_ns: Option<u64>) -> Result<()> {
        if self.finished {
            return Err(SchedulerError::Finished.into());
        }
        signals::install()?;
        // Undone when this returns, whichever way (see `rt::ThreadSetup`).
        let mut thread = rt::ThreadSetup::default();
        if let Some(cpu) = self.cpu {
            thread.pin_cpu(cpu)?;
        }
        // The slack before the policy: entering SCHED_FIFO zeroes it, and
        // what is put back must be the caller's.
        thread.timer_slack(self.timer_slack_ns);
        if let Some(priority) = self.realtime {
            thread.realtime(priority)?;
        }
        self.start_or_shutdown()?;
        // One grid from now: not from before the `init`s (a slow one made
        // every node late and skip releases in the first round), nor the
        // staggered grids of earlier `tick_once` rounds.
        let start = now_ns();
        self.engine.rephase_all(start);
        self.jitter.reserve();
        let outcome = if duration_ns == Some(0) {
            Ok(())
        } else {
            self.rounds(duration_ns.map(|d| start.saturating_add(d)))
        };
        let shut = self.shutdown();
        outcome.and(shut)
    }

    /// Initialises every `Registered` node in order; on failure, shuts
    /// down the initialised ones and returns the failure.
    #[inline(always)]
    fn start_or_shutdown(&mut self) -> Result<()> {
        if self.started && !self.registered {
            return Ok(()); // every round after the first, until a node is added
        }
        self.start_registered()
    }

    /// [`start_or_shutdown`](Self::start_or_shutdown) when there is
    /// something to start: the scheduler itself, or nodes added since.
    fn start_registered(&mut self) -> Result<()> {
        if !self.started {
            // Panics its nodes repeat print at most once a second each.
            crate::node::quiet_node_panics();
            // First use: clean the namespace actually used (set by now).
            super::auto_clean_logged(self.recorder.namespace.as_deref());
            // No node starts under a scheduler that could not stop it.
            self.open_system()?;
        }
        self.started = true;
        if !std::mem::take(&mut self.registered) {
            return Ok(()); // started, and no node added
        }
        let mut feed = Feed::new(&mut self.recorder);
        let started = self.engine.init_registered(now_ns(), &mut feed);
        let init_failed = feed.init_failed;
        let Err(e) = started else { return Ok(()) };
        let err = match e {
            StartError::Init { .. } => {
                init_failed.unwrap_or(SchedulerError::NotStarted { error: e })
            }
            StartError::Rate { node, rate_error } => SchedulerError::InvalidRate {
                node: self
                    .engine
                    .slots()
                    .find(|s| s.id() == node)
                    .map(|s| s.node().name.clone())
                    .unwrap_or_default(),
                rate_error,
            },
            other => SchedulerError::NotStarted { error: other },
        };
        // The init error is the one to report; shutdown failures are logged.
        let _ = self.shutdown();
        Err(err.into())
    }

    /// Rounds and sleeps until stopped, `end_ns`, or nothing is left to
    /// tick. The first round always runs whole, whatever the clock says: a
    /// thread preempted between the start and it, or a round ended early
    /// by an e-stop raised elsewhere and run on at the next pass, still
    /// ticks every node once (unless the e-stop holds them).
    fn rounds(&mut self, end_ns: Option<u64>) -> Result<()> {
        // The first round has yet to run whole.
        let mut first = true;
        loop {
            if self.stop_asked() {
                return Ok(());
            }
            let now = now_ns();
            if !first && end_ns.is_some_and(|end| now >= end) {
                return Ok(());
            }
            let followed = self.follow_system(now);
            if let Some(pid) = self.system.as_ref().and_then(|l| l.kill_from) {
                log::info!("scheduler: stopping at the request of pid {pid} (horus node kill)");
                return Ok(());
            }
            if followed.held {
                // Held by the e-stop: nothing is due; look again shortly.
                first = false;
                sleep::sleep_until(now + HELD_POLL_NS, 0);
                continue;
            }
            // A round an e-stop raise of this process ended early leaves
            // nodes due: the next pass polls the e-stop at once and holds
            // them (a node's raise), or ticks them (another namespace's).
            let watch = self
                .system
                .as_ref()
                .and_then(system::SystemLink::estop_watch);
            let report = self.engine.step_from(
                followed.round_start(now),
                &MonotonicClock,
                &mut Feed::new(&mut self.recorder).watching(watch),
            );
            first &= report.ended_before.is_some();
            let next = report.next_release_ns;
            if next.is_none() && !self.engine.is_empty() {
                if self.engine.slots().any(|s| s.state() == NodeState::Paused) {
                    // Nothing but paused nodes left: wait for a resume.
                    sleep::sleep_until(now_ns() + HELD_POLL_NS, 0);
                    continue;
                }
                let faulted = self
                    .engine
                    .slots()
                    .filter(|s| s.state() == NodeState::Faulted)
                    .map(|s| s.node().name.clone())
                    .collect();
                return Err(SchedulerError::NoRunnableNodes { faulted }.into());
            }
            let target = next.unwrap_or(u64::MAX).min(end_ns.unwrap_or(u64::MAX));
            let now = now_ns();
            if target <= now {
                continue; // behind: no sleep, no jitter sample
            }
            if target - now > sleep::MAX_SLEEP_NS {
                // Sleep in slices, to see a stop request promptly.
                sleep::sleep_until(now + sleep::MAX_SLEEP_NS, 0);
                continue;
            }
            let woke = sleep::sleep_until(target, self.spin_ns);
            if woke >= target {
                self.jitter.record(woke - target);
            }
        }
    }

    /// Follows the e-stop and the control topic and reports to the registry
    /// (opened at the start, see [`open_system`](Self::open_system)) at
    /// `now`, a clock reading just taken.
    #[inline]
    fn follow_system(&mut self, now: u64) -> Followed {
        let Some(link) = &mut self.system else {
            return Followed::default();
        };
        let (held, moved) = link.follow_estop(&mut self.engine, &mut self.recorder, now);
        let controlled = link.follow_control(&mut self.engine, &mut self.recorder, now);
        let reported = link.report(&self.engine, now);
        Followed {
            held,
            took_time: moved || controlled || reported,
        }
    }

    /// Opens the e-stop monitor, control topic and registry link before the
    /// first node starts, unless system topics are off: an e-stop that
    /// cannot be followed is [`SchedulerError::EstopUnavailable`].
    fn open_system(&mut self) -> Result<()> {
        if self.system_topics && self.system.is_none() {
            let namespace = self.recorder.namespace.as_deref();
            let link = system::SystemLink::open(namespace).map_err(|error| {
                SchedulerError::EstopUnavailable {
                    namespace: namespace.map_or_else(
                        || crate::shm::Namespace::current_name().unwrap_or_default(),
                        str::to_owned,
                    ),
                    error: Box::new(error),
                }
            })?;
            self.system = Some(link);
        }
        Ok(())
    }
}

impl Drop for Scheduler {
    /// Nodes initialised (by `tick_once`) and not shut down are shut down.
    fn drop(&mut self) {
        if self.started && !self.finished {
            // Failures were logged by `shutdown`.
            let _ = self.shutdown();
        }
    }
}

/// What [`Scheduler::follow_system`] found.
#[derive(Debug, Default, Clone, Copy)]
struct Followed {
    /// The nodes are held by the e-stop.
    held: bool,
    /// It did more than look: nodes ran `safe_state` or were controlled,
    /// or the registry was written.
    took_time: bool,
}

impl Followed {
    /// The start of the round after it, whose first tick starts then: the
    /// reading `now` it followed at (in the common case, one clock reading
    /// per round), or the clock again if it took time, which would count
    /// in the first tick's duration and lateness.
    fn round_start(self, now: u64) -> u64 {
        if self.took_time { now_ns() } else { now }
    }
}

#[cfg(test)]
mod tests {
    use super::Followed;

    #[test]
    fn a_round_after_following_that_took_time_starts_at_a_fresh_reading() {
        let looked = Followed::default();
        assert_eq!(looked.round_start(5), 5, "the reading it followed at");
        let worked = Followed {
            held: false,
            took_time: true,
        };
        assert!(worked.round_start(5) > 5, "the clock read again");
    }
}
