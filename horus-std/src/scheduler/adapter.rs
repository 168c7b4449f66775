//! A boxed [`Node`] as the engine's [`CoreNode`]: every call into the node
//! is under `catch_unwind`, a panic in `tick` becomes the core's fault, and
//! what the engine's types cannot carry (the panic message, the `init`
//! error, the reported errors, CPU time) is kept here for the observer
//! (`observe.rs`) and for [`NodeInfo`].

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use horus_nostd::sched::{CoreNode, NodeFault, Slot, Storage, Tick};

use super::report::{NodeInfo, Quiet};
use crate::node::Node;

/// The fault the engine sees for a panic in `tick` or `init`.
const PANICKED: NodeFault = NodeFault::new(1);
/// The fault the engine sees for an error returned by `init`.
const INIT_FAILED: NodeFault = NodeFault::new(2);

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
    cpu_ns: u64,
    /// Errors the node reported with `horus::node::report_error`.
    pub(crate) errors: u64,
    /// The reports of its last tick, not yet recorded.
    pub(crate) reported: Vec<String>,
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
            cpu_ns: 0,
            errors: 0,
            reported: Vec::new(),
            last_tick_failed: false,
        }
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
    fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
        // Reports made outside any tick are not this node's.
        drop(crate::node::take_reported_errors());
        let cpu_before = thread_cpu_ns();
        let outcome = crate::node::as_node(self.tag, || guarded(|| self.node.tick()));
        self.cpu_ns += thread_cpu_ns().saturating_sub(cpu_before);
        self.reported = crate::node::take_reported_errors();
        self.last_tick_failed = !self.reported.is_empty();
        self.errors += self.reported.len() as u64;
        outcome.map_err(|message| {
            self.panics += 1;
            self.last_panic = Some(message);
            PANICKED
        })
    }

    fn safe_state(&mut self) {
        if let Err(m) = crate::node::as_node(self.tag, || guarded(|| self.node.safe_state())) {
            self.panics += 1;
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
        cpu_ns: g.cpu_ns,
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
