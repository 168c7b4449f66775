//! A boxed [`Node`] as the engine's [`CoreNode`]: every call into the node
//! is under `catch_unwind`, a panic in `tick` becomes the core's fault, and
//! what the engine's types cannot carry (the panic message, the `init`
//! error, the reported errors, CPU time) is kept here for the observer
//! (`observe.rs`) and for [`NodeInfo`].
//!
//! CPU time is sampled, not read around every tick: the thread's CPU clock
//! has no vDSO path (each read is a system call, several hundred ns in a VM),
//! so it is read around at most one tick of a node per [`CPU_SAMPLE_EVERY_NS`]
//! (every tick of a node at 100 Hz or slower). A tick in between is counted
//! as its wall-clock duration (which the engine measures anyway, from the
//! vDSO clock) times the CPU share of the node's last sampled tick.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use horus_nostd::sched::{CoreNode, NodeFault, Slot, Storage, Tick};

use super::report::{NodeInfo, Quiet};
use crate::node::Node;

/// The fault the engine sees for a panic in `tick` or `init`.
const PANICKED: NodeFault = NodeFault::new(1);
/// The fault the engine sees for an error returned by `init`.
const INIT_FAILED: NodeFault = NodeFault::new(2);

/// Least time between two ticks of one node whose CPU time is read exactly.
pub(crate) const CPU_SAMPLE_EVERY_NS: u64 = 10_000_000;

/// [`CpuMeter::share`] of a tick that was all CPU (fixed point, 16 bits).
const FULL_SHARE: u64 = 1 << 16;

/// The CPU time of one node's ticks, sampled (see the module docs).
#[derive(Debug)]
struct CpuMeter {
    /// CPU time of its ticks so far, ns: exact for sampled ticks, estimated
    /// for the others.
    total_ns: u64,
    /// Monotonic time from which the next tick is sampled.
    next_sample_ns: u64,
    /// CPU time of the last tick, if it was sampled (taken by `account`).
    sampled_ns: Option<u64>,
    /// CPU time per wall-clock time of the last sampled tick, in 1/65536.
    share: u64,
}

impl CpuMeter {
    const fn new() -> Self {
        Self {
            total_ns: 0,
            next_sample_ns: 0,
            sampled_ns: None,
            share: FULL_SHARE,
        }
    }

    /// Runs `f` (the tick that started at `start_ns`), reading the thread's
    /// CPU clock around it if a sample is due.
    fn run<R>(&mut self, start_ns: u64, f: impl FnOnce() -> R) -> R {
        if start_ns < self.next_sample_ns {
            self.sampled_ns = None;
            return f();
        }
        self.next_sample_ns = start_ns.saturating_add(CPU_SAMPLE_EVERY_NS);
        let before = thread_cpu_ns();
        let r = f();
        self.sampled_ns = Some(thread_cpu_ns().saturating_sub(before));
        r
    }

    /// Counts the tick just run, which took `wall_ns` by the engine's clock.
    fn account(&mut self, wall_ns: u64) {
        match self.sampled_ns.take() {
            Some(cpu) => {
                self.total_ns = self.total_ns.saturating_add(cpu);
                self.share = match wall_ns {
                    0 => FULL_SHARE,
                    w => (u128::from(cpu) * u128::from(FULL_SHARE) / u128::from(w))
                        .min(u128::from(FULL_SHARE)) as u64,
                };
            }
            None => {
                let estimate =
                    u128::from(wall_ns) * u128::from(self.share) / u128::from(FULL_SHARE);
                self.total_ns = self.total_ns.saturating_add(estimate as u64);
            }
        }
    }
}

/// Why a node's `init` failed.
pub(crate) enum InitFailure {
    /// It returned this error.
    Error(crate::Error),
    /// It panicked with this message.
    Panic(String),
}

/// One boxed node, guarded, with the figures the std scheduler keeps beyond
/// the core's [`Timing`](horus_nostd::sched::Timing).
pub(crate) struct Guarded {
    node: Box<dyn Node>,
    pub(crate) name: String,
    /// `registry::node_tag(name)`, recorded by the topics the node creates.
    tag: u64,
    /// Successful `init`s: the first, then one per restart.
    inits: u64,
    /// Why the last `init` failed (taken by the observer).
    pub(crate) init_failure: Option<InitFailure>,
    /// Panics caught in `tick` and `safe_state`.
    pub(crate) panics: u64,
    pub(crate) last_panic: Option<String>,
    /// A panic caught in `safe_state` and not yet recorded.
    pub(crate) safe_state_panic: Option<String>,
    /// What went wrong in `shutdown` (taken by the observer).
    pub(crate) shutdown_failure: Option<String>,
    pub(crate) quiet: Quiet,
    /// CPU time of the scheduler thread spent in this node's ticks.
    cpu: CpuMeter,
    /// Errors the node reported with `horus::node::report_error`.
    pub(crate) errors: u64,
    /// The reports of its last tick, not yet recorded.
    pub(crate) reported: Vec<String>,
    /// Reports of its last tick beyond those kept in `reported` (counted
    /// in `errors`, not recorded one by one).
    pub(crate) reported_dropped: u64,
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

impl Guarded {
    pub(crate) fn new(node: Box<dyn Node>, name: String) -> Self {
        Self {
            node,
            tag: crate::system::registry::node_tag(&name),
            name,
            inits: 0,
            init_failure: None,
            panics: 0,
            last_panic: None,
            safe_state_panic: None,
            shutdown_failure: None,
            quiet: Quiet::default(),
            cpu: CpuMeter::new(),
            errors: 0,
            reported: Vec::new(),
            reported_dropped: 0,
            last_tick_failed: false,
        }
    }
}

impl Guarded {
    /// Counts the errors its last tick reported: those kept in `reported`
    /// and those beyond (out of line: most ticks report none).
    #[cold]
    #[inline(never)]
    fn count_reported(&mut self) {
        self.reported_dropped = crate::node::take_reported_beyond_kept();
        self.errors = self
            .errors
            .saturating_add(self.reported.len() as u64)
            .saturating_add(self.reported_dropped);
    }

    /// Counts the CPU time of the tick just run, which took `wall_ns` by
    /// the engine's clock (called by the observer for every tick).
    pub(crate) fn account_cpu(&mut self, wall_ns: u64) {
        self.cpu.account(wall_ns);
    }
}

impl CoreNode for Guarded {
    fn name(&self) -> &str {
        &self.name
    }

    fn init(&mut self) -> Result<(), NodeFault> {
        let (failure, fault) = match crate::node::as_node(self.tag, || guarded(|| self.node.init()))
        {
            Ok(Ok(())) => {
                self.inits += 1;
                return Ok(());
            }
            Ok(Err(e)) => (InitFailure::Error(e), INIT_FAILED),
            Err(message) => (InitFailure::Panic(message), PANICKED),
        };
        self.init_failure = Some(failure);
        Err(fault)
    }

    /// A panic is the fault; errors reported with `report_error` are kept
    /// for the observer and are not (the node keeps being ticked).
    fn tick(&mut self, tick: &Tick) -> Result<(), NodeFault> {
        // Reports made outside any tick (kept and counted) are not this node's.
        if !crate::node::take_reported_errors_if_any().is_empty() {
            crate::node::take_reported_beyond_kept();
        }
        let (tag, node) = (self.tag, &mut self.node);
        let outcome = self.cpu.run(tick.start_ns, || {
            crate::node::as_node(tag, || guarded(|| node.tick()))
        });
        self.reported = crate::node::take_reported_errors_if_any();
        self.last_tick_failed = !self.reported.is_empty();
        if self.last_tick_failed {
            self.count_reported();
        }
        outcome.map_err(|message| {
            self.panics += 1;
            self.last_panic = Some(message);
            PANICKED
        })
    }

    fn safe_state(&mut self) {
        if let Err(m) = crate::node::as_node(self.tag, || guarded(|| self.node.safe_state())) {
            self.panics += 1;
            self.last_panic = Some(format!("in safe_state: {m}"));
            self.safe_state_panic = Some(m);
        }
    }

    fn shutdown(&mut self) {
        self.shutdown_failure =
            match crate::node::as_node(self.tag, || guarded(|| self.node.shutdown())) {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(m) => Some(format!("panicked: {m}")),
            };
    }
}

/// The figures of the node in `slot`.
pub(crate) fn info(slot: &Slot<Guarded>) -> NodeInfo {
    let g = slot.node();
    let timing = slot.timing();
    NodeInfo {
        name: g.name.clone(),
        order: slot.order(),
        state: slot.state(),
        period_ns: timing.period_ns(),
        budget_ns: timing.budget_ns(),
        stats: *timing.stats(),
        panics: g.panics,
        restarts: g.inits.saturating_sub(1),
        last_panic: g.last_panic.clone(),
        cpu_ns: g.cpu.total_ns,
        errors: g.errors,
        last_tick_failed: g.last_tick_failed,
    }
}

/// The std scheduler's slots: as many as a [`NodeId`](horus_nostd::sched::NodeId)
/// numbers, on the heap.
#[derive(Default)]
pub(crate) struct Nodes(Vec<Slot<Guarded>>);

impl Storage for Nodes {
    type Node = Guarded;

    fn slots(&self) -> impl DoubleEndedIterator<Item = &Slot<Guarded>> {
        self.0.iter()
    }

    fn slots_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Slot<Guarded>> {
        self.0.iter_mut()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn insert(&mut self, index: usize, slot: Slot<Guarded>) -> bool {
        if index > self.0.len() || self.0.len() >= self.capacity() {
            return false;
        }
        self.0.insert(index, slot);
        true
    }

    fn capacity(&self) -> usize {
        usize::from(u16::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_sampled_at_most_once_per_interval_and_estimated_between() {
        let mut m = CpuMeter::new();
        // Due at once: read exactly (some CPU time was spent spinning).
        let spin = || (0..100_000u64).fold(0u64, |a, x| std::hint::black_box(a ^ x));
        m.run(1_000, spin);
        let sampled = m.sampled_ns.expect("the first tick is sampled");
        m.account(sampled * 2); // it took twice its CPU time: share 1/2
        assert_eq!(m.total_ns, sampled);
        assert!(m.share.abs_diff(FULL_SHARE / 2) <= 1, "share {}", m.share);
        // Within the interval: not read; counted as half its wall time.
        m.run(1_000 + CPU_SAMPLE_EVERY_NS - 1, spin);
        assert_eq!(m.sampled_ns, None);
        m.account(1_000);
        assert!(m.total_ns.abs_diff(sampled + 500) <= 1, "{}", m.total_ns);
        // Due again after the interval.
        m.run(1_000 + CPU_SAMPLE_EVERY_NS, spin);
        assert!(m.sampled_ns.is_some());
    }

    #[test]
    fn the_share_is_at_most_one_and_a_zero_duration_is_all_cpu() {
        let mut m = CpuMeter::new();
        m.sampled_ns = Some(500);
        m.account(100); // a coarse clock can make CPU time exceed wall time
        assert_eq!((m.total_ns, m.share), (500, FULL_SHARE));
        m.sampled_ns = Some(7);
        m.account(0);
        assert_eq!((m.total_ns, m.share), (507, FULL_SHARE));
        m.account(40);
        assert_eq!(m.total_ns, 547);
    }
}
