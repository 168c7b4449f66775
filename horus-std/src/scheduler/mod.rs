//! The std scheduler: ticks [`Node`]s in order, each at its rate, on the
//! calling thread, until SIGINT/SIGTERM.
//!
//! ```no_run
//! use horus::prelude::*;
//!
//! struct Encoder;
//! impl Node for Encoder {
//!     fn name(&self) -> &str { "Encoder" }
//!     fn tick(&mut self) { /* read, publish */ }
//! }
//!
//! fn main() -> Result<()> {
//!     let mut sched = Scheduler::new().tick_rate(100_u64.hz());
//!     sched.add(Encoder).order(0).build()?;
//!     sched.run()?;
//!     Ok(())
//! }
//! ```
//!
//! The scheduler *is* the core's engine ([`horus_nostd::sched::Engine`]):
//! the table, the release grid, deadline accounting, fault policies, hold
//! and resume, and the reverse-order shutdown are the core's code, run over
//! a `Vec` of boxed nodes, so a program behaves the same on Linux and on a
//! board. Around it, this module adds only what std has:
//!
//! - a node adapter (`adapter.rs`): every call into a node under
//!   `catch_unwind`, a panic in `tick` turned into the core's fault;
//! - an observer (`observe.rs`): the engine's reports turned into anomalies
//!   (memory and blackbox) and errors;
//! - the thread: sleeping until the next release, signals, real-time
//!   priority (`run.rs`), the e-stop and the registry (`system.rs`).
//!
//! # Decisions
//!
//! - **`tick_rate` vs `rate`.** `tick_rate` (default 100 Hz) is the rate of
//!   every node that does not set its own with `.rate(f)`; a node's rate
//!   need not divide or be divided by it. Releases are on a fixed grid from
//!   the start (after the `init`s, when `run` begins its rounds), so rates
//!   do not drift.
//! - **Order.** Nodes due at the same time tick by ascending `.order(n)`
//!   (default 0); equal orders tick in the order they were added. Nodes run
//!   one after the other on the thread that called `run`: a node's tick
//!   sees everything the nodes before it published in the same round.
//! - **Deadlines.** A node released more than its tolerance late (default a
//!   tenth of its period; `.tolerance(d)`) counts a *deadline miss*; a tick
//!   longer than its budget (default its period; `.budget(d)`) counts an
//!   *overrun*. Ticks are never interrupted; releases that pass while a node
//!   is a whole period late are skipped (counted), never run in a burst.
//!   Each is recorded in [`Scheduler::anomalies`] and in the namespace's
//!   blackbox (`horus bb --anomalies`), at most once per second per node and
//!   kind; the counters ([`Scheduler::nodes`]) are exact.
//! - **Panics.** Every call into a node is under `catch_unwind`. A panic in
//!   `tick` is counted, recorded (at most once per second per node, each
//!   record saying how many panics it stands for; always when it stops the
//!   node), and handled by the node's
//!   [`FaultPolicy`] (`.on_panic(..)`): `Stop` (default: `safe_state`, then
//!   never ticked again; the others go on), `Skip` (tick again at the next
//!   release), `Restart` (`shutdown`, then `init` again; if that fails, as
//!   `Stop`, and no `shutdown` is owed at the end). When every
//!   node is stopped, `run` shuts down and returns
//!   [`SchedulerError::NoRunnableNodes`]. A panic or error in `init` stops the
//!   start: the nodes already initialised are shut down and `run` returns it.
//!   The panic hook (Rust's message on stderr, with `RUST_BACKTRACE` a
//!   backtrace) is called for at most one panic per second per node: a
//!   scheduler's first start wraps the process's hook in place then (a hook
//!   set later replaces it; panics outside nodes are untouched).
//! - **Stopping.** `run` returns after SIGINT or SIGTERM (a second one exits
//!   at once; see [`stop_requested`]), or [`StopHandle::stop`]; `run_for(d)`
//!   also `d` after its first round began (the `init`s do not count). Both then run every initialised node's `shutdown`, in
//!   reverse order, even after a panic, and the scheduler is finished.
//!   `tick_once` runs one round of every tickable node regardless of rates
//!   (tests, simulation); the nodes are shut down by `shutdown()` or on drop.
//!   The signal handlers are installed by the process's first `run` and
//!   stay; the stop request they set is sticky (a later `run` returns at
//!   once). `tick_once` installs none: SIGINT ends a `tick_once` loop
//!   without `shutdown` unless the loop checks [`stop_requested`] after a
//!   `run` installed them.
//! - **Node control.** `horus node pause|resume|restart|kill` (or
//!   [`crate::system::control::send`]) from any process: a node is paused
//!   (`safe_state`, then not ticked, [`NodeState::Paused`]), resumed,
//!   restarted (`shutdown` then `init`, its [`NodeStats`] zeroed, while the
//!   totals of [`NodeInfo`] (panics, errors, restarts, CPU time) are kept;
//!   during an e-stop
//!   its `safe_state` runs after that `init` and it stays held), or the scheduler
//!   stops as on SIGTERM (`kill`: `run` returns `Ok(())` after the usual
//!   shutdown). Read every round with the e-stop; see `system.rs`.
//! - **Wake-up.** Sleep until a margin before the next release, then spin
//!   (`.spin_margin(d)`, default 100 µs; zero to never spin). The lateness of
//!   every wake-up is measured ([`Scheduler::wake_jitter`]).
//! - **Timer slack.** While `run` runs, its thread's timer slack is 1 ns
//!   (`.timer_slack(d)`): Linux would otherwise end each sleep of a normal
//!   thread up to 50 µs late.
//! - **Real time** is opt-in: `.realtime(priority)` (`SCHED_FIFO`) and
//!   `.pin_cpu(n)` apply to the thread that calls `run`, and fail with an
//!   error naming the fix (CAP_SYS_NICE, `ulimit -r`) when not permitted.
//!   What `run` sets on its thread (CPU, policy, timer slack) is put back
//!   when it returns.
//! - **Stale shared memory** of dead processes in the scheduler's namespace
//!   is removed when it starts (its first `run`, `run_for` or `tick_once`);
//!   a failure is said on stderr, never fatal.

mod adapter;
mod observe;
mod report;
mod rt;
mod run;
mod signals;
mod sleep;
mod system;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use horus_nostd::sched::{AddError, Engine, NodeConfig, Rate};

pub use crate::error::SchedulerError;
pub use horus_nostd::sched::{FaultPolicy, NodeState, NodeStats};
pub use report::{Anomaly, JitterStats, NodeInfo};
pub use signals::stop_requested;

use crate::error::Result;
use crate::node::Node;
use crate::time::{Frequency, duration_ns};
use adapter::{Guarded, Nodes};
use report::Recorder;

/// The node scheduler (see the [module documentation](self) for its rules).
///
/// Holds its nodes as `Box<dyn Node>` and ticks them on the thread that
/// calls [`run`](Self::run).
pub struct Scheduler {
    engine: Engine<Nodes>,
    spin_ns: u64,
    /// The timer slack of `run`'s thread while it runs, ns (0: left as is).
    timer_slack_ns: u64,
    realtime: Option<u8>,
    cpu: Option<usize>,
    stop: Arc<AtomicBool>,
    started: bool,
    /// Nodes were added since the last `init_registered`.
    registered: bool,
    finished: bool,
    recorder: Recorder,
    jitter: JitterStats,
    /// Follow the e-stop and report to the registry (see `system`).
    system_topics: bool,
    system: Option<system::SystemLink>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field(
                "nodes",
                &self
                    .engine
                    .slots()
                    .map(|s| &s.node().name)
                    .collect::<Vec<_>>(),
            )
            .field("tick_rate", &self.engine.tick_rate())
            .field("started", &self.started)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

/// The auto-clean of the namespace a scheduler runs in (`ns`, or
/// `HORUS_NAMESPACE`), when it starts. A scheduler runs without the
/// auto-clean it could not do: a failure is logged, never fatal.
fn auto_clean_logged(ns: Option<&str>) {
    let result = match ns {
        Some(ns) => crate::shm::auto_clean(ns),
        None => crate::shm::clean_stale_current_namespace(),
    };
    if let Err(e) = result {
        eprintln!("horus: cleaning stale shared memory failed (continuing): {e}");
    }
}

/// Stops a running scheduler from another thread (or from a node).
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the scheduler to stop: `run` returns after the current round
    /// and shutdown.
    pub fn stop(&self) {
        // SYNC(stop-flag): pairs with the Acquire load in `stop_asked`.
        self.0.store(true, Ordering::Release);
    }
}

impl Scheduler {
    /// A scheduler with no nodes, ticking at 100 Hz, in the current
    /// namespace (`HORUS_NAMESPACE`; see [`namespace`](Self::namespace)).
    /// When it starts (the first `run`, `run_for` or `tick_once`), it removes
    /// the stale shared memory of dead processes in the namespace it runs in
    /// (a failure is logged to stderr; it is never fatal).
    pub fn new() -> Self {
        crate::logging::init(); // only if the program installed no logger: see `logging`
        Self {
            engine: Engine::with_storage(Nodes::default(), Frequency::from_hz(100)),
            spin_ns: duration_ns(sleep::DEFAULT_SPIN),
            timer_slack_ns: rt::DEFAULT_TIMER_SLACK_NS,
            realtime: None,
            cpu: None,
            stop: Arc::new(AtomicBool::new(false)),
            started: false,
            registered: false,
            finished: false,
            recorder: Recorder::new(true),
            jitter: JitterStats::default(),
            system_topics: true,
            system: None,
        }
    }

    /// Runs in namespace `ns` instead of `HORUS_NAMESPACE`: the e-stop it
    /// follows, the registry it reports to, the blackbox it records in and
    /// the namespace it auto-cleans when it starts are `ns`'s. The nodes' own
    /// topics name their namespace themselves
    /// ([`TopicBuilder::namespace`](crate::topic::TopicBuilder::namespace)).
    #[must_use]
    pub fn namespace(mut self, ns: &str) -> Self {
        self.recorder.namespace = Some(ns.to_owned());
        self
    }

    /// The rate of every node that does not set its own (default 100 Hz).
    #[must_use]
    pub fn tick_rate(mut self, rate: Frequency) -> Self {
        self.engine.set_tick_rate(rate);
        self
    }

    /// Runs the scheduler's thread under `SCHED_FIFO` at `priority`
    /// (1..=99) while `run` runs (its policy before is put back when `run`
    /// returns). Needs CAP_SYS_NICE or an rtprio limit; otherwise `run`
    /// fails with [`SchedulerError::RealtimeDenied`].
    #[must_use]
    pub fn realtime(mut self, priority: u8) -> Self {
        self.realtime = Some(priority);
        self
    }

    /// Pins the scheduler's thread to CPU `cpu` while `run` runs (its CPU
    /// mask before is put back when `run` returns).
    #[must_use]
    pub fn pin_cpu(mut self, cpu: usize) -> Self {
        self.cpu = Some(cpu);
        self
    }

    /// How long before a release to stop sleeping and spin (default 100 µs).
    #[must_use]
    pub fn spin_margin(mut self, margin: Duration) -> Self {
        self.spin_ns = duration_ns(margin);
        self
    }

    /// The timer slack of the thread that calls `run` while it runs
    /// (default 1 ns, the least Linux allows; restored when `run` returns).
    /// Linux may end a normal thread's sleep up to its slack late (50 µs
    /// unless changed) to group wake-ups and save power; a real-time thread
    /// has none. Give a larger slack to trade punctuality for power (a
    /// battery robot at low rates); `Duration::ZERO` leaves the thread's
    /// slack as it is.
    #[must_use]
    pub fn timer_slack(mut self, slack: Duration) -> Self {
        self.timer_slack_ns = duration_ns(slack);
        self
    }

    /// Whether anomalies are also written to the namespace's blackbox
    /// (default on; they are always kept in [`Scheduler::anomalies`]).
    #[must_use]
    pub fn blackbox(mut self, on: bool) -> Self {
        self.recorder.blackbox_enabled = on;
        self
    }

    /// Whether to follow the namespace's e-stop and list the nodes in its
    /// registry (default on). On, a scheduler that cannot open the e-stop
    /// starts no node ([`SchedulerError::EstopUnavailable`]). Off for tests
    /// and simulations that must leave nothing in shared memory;
    /// `.blackbox(false)` too for that.
    #[must_use]
    pub fn system_topics(mut self, on: bool) -> Self {
        self.system_topics = on;
        self
    }

    /// Adds a node; configure it on the returned builder and finish with
    /// [`NodeBuilder::build`].
    pub fn add<N: Node + 'static>(&mut self, node: N) -> NodeBuilder<'_> {
        NodeBuilder {
            sched: self,
            node: Box::new(node),
            config: NodeConfig::new(0),
        }
    }

    /// A handle that stops this scheduler from anywhere.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(Arc::clone(&self.stop))
    }

    /// Every node, in tick order, with its state and figures.
    pub fn nodes(&self) -> Vec<NodeInfo> {
        self.engine.slots().map(adapter::info).collect()
    }

    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<NodeInfo> {
        self.engine
            .slots()
            .find(|s| s.node().name == name)
            .map(adapter::info)
    }

    /// The anomalies recorded (newest last; at most the last 1024).
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.recorder.anomalies
    }

    /// Lateness of the scheduler's wake-ups.
    pub fn wake_jitter(&self) -> &JitterStats {
        &self.jitter
    }

    fn stop_asked(&self) -> bool {
        // SYNC(stop-flag): pairs with the Release store in `StopHandle::stop`.
        self.stop.load(Ordering::Acquire) || stop_requested()
    }
}

/// Configures a node being added; nothing is added until [`build`](Self::build).
#[must_use = "the node is added only by .build()"]
pub struct NodeBuilder<'s> {
    sched: &'s mut Scheduler,
    node: Box<dyn Node>,
    config: NodeConfig,
}

impl NodeBuilder<'_> {
    /// Position in the tick order: lower first (default 0; ties tick in the
    /// order added).
    pub fn order(mut self, order: u32) -> Self {
        self.config.order = order;
        self
    }

    /// The node's own rate (default: the scheduler's `tick_rate`).
    pub fn rate(mut self, rate: Frequency) -> Self {
        self.config.rate = Rate::Frequency(rate);
        self
    }

    /// Longest a tick may run before it counts as an overrun (default: its period).
    pub fn budget(mut self, budget: Duration) -> Self {
        self.config.budget_ns = Some(duration_ns(budget));
        self
    }

    /// Latest a tick may start after its release before it counts as a
    /// deadline miss (default: a tenth of its period).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.config.tolerance_ns = Some(duration_ns(tolerance));
        self
    }

    /// What a panic in its `tick` does (default [`FaultPolicy::Stop`]).
    pub fn on_panic(mut self, policy: FaultPolicy) -> Self {
        self.config.policy = policy;
        self
    }

    /// Adds the node. A node added while the scheduler runs (from
    /// `tick_once` to `tick_once`) is initialised at the next round.
    ///
    /// # Errors
    /// An invalid rate, an invalid name or one already used, or a finished
    /// scheduler.
    pub fn build(self) -> Result<()> {
        let name = self.node.name().to_owned();
        if self.sched.finished {
            return Err(SchedulerError::Finished.into());
        }
        check_node_name(&name)?;
        if self.sched.engine.slots().any(|s| s.node().name == name) {
            return Err(SchedulerError::DuplicateName { node: name }.into());
        }
        let node = Guarded::new(self.node, name.clone());
        match self.sched.engine.push(node, self.config) {
            Ok(_) => {
                self.sched.registered = true;
                Ok(())
            }
            Err(AddError::Rate(rate_error)) => Err(SchedulerError::InvalidRate {
                node: name,
                rate_error,
            }
            .into()),
            Err(error) => Err(SchedulerError::NotAdded { node: name, error }.into()),
        }
    }
}

/// Checks a node name as [`NodeBuilder::build`] does: 1 to
/// [`NODE_NAME_MAX`] bytes, no control characters (names the registry and
/// `horus node` can hold whole and address). Public so that a front end
/// (the Python bindings' `horus.Node(name=...)`) refuses a name where it is
/// given, by these rules, before any scheduler exists.
///
/// # Errors
/// [`SchedulerError::InvalidNodeName`] saying what is wrong.
///
/// [`NODE_NAME_MAX`]: crate::system::registry::NODE_NAME_MAX
pub fn check_node_name(name: &str) -> std::result::Result<(), SchedulerError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > crate::system::registry::NODE_NAME_MAX {
        "it is longer than the registry holds"
    } else if name.chars().any(char::is_control) {
        "it has control characters"
    } else {
        return Ok(());
    };
    Err(SchedulerError::InvalidNodeName {
        node: name.to_owned(),
        reason,
    })
}
