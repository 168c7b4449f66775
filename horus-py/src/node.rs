//! Python nodes on the std [`Scheduler`]: the same loop, registry, e-stop,
//! deadline accounting, blackbox, fault policies and signal handling as
//! Rust nodes.
//!
//! [`PyNode`] adapts a Python `horus.Node` to [`horus::Node`]: each call
//! takes the GIL, calls the Python method, and releases it. An exception in
//! `tick` (or `init`/`shutdown`) is printed with its traceback and becomes
//! the node's panic — raised with `resume_unwind`, so no panic hook runs —
//! which the scheduler catches and handles by the node's fault policy like
//! any Rust panic. `Scheduler.run` releases the GIL for the whole run, so
//! other Python threads run while the scheduler sleeps.

use horus::Scheduler;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

use crate::args::opt_float;
use crate::horus_err;
use crate::node_settings::{NodeSettings, frequency, seconds};

/// A Python node: calls `_init`, `_tick`, `_safe_state` and `_shutdown` of
/// the `horus.Node` object.
struct PyNode {
    name: String,
    obj: Py<PyAny>,
}

impl PyNode {
    /// Calls `method`; `Err(sentence)` if it raised (traceback printed).
    fn call(&self, method: &str) -> Result<(), String> {
        Python::attach(|py| {
            swallow_interrupt(py);
            self.call_attached(py, method)
        })
    }

    fn call_attached(&self, py: Python<'_>, method: &str) -> Result<(), String> {
        match self.obj.bind(py).call_method0(method) {
            Ok(_) => Ok(()),
            // Ctrl+C while Python ran: the scheduler stops on its own
            // (it saw the same signal); not a fault of the node.
            Err(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => Ok(()),
            Err(e) => {
                // Short: the blackbox keeps a bounded detail, and the
                // record already names the node and the call.
                let sentence = format!("Python {e}");
                e.display(py);
                Err(sentence)
            }
        }
    }

    /// As [`call`](Self::call); an exception becomes this node's panic (the
    /// GIL is released by then).
    fn call_or_panic(&self, method: &str) {
        if let Err(sentence) = self.call(method) {
            std::panic::resume_unwind(Box::new(sentence));
        }
    }
}

impl horus::Node for PyNode {
    fn name(&self) -> &str {
        &self.name
    }

    fn init(&mut self) -> horus::Result<()> {
        self.call_or_panic("_init");
        Ok(())
    }

    fn tick(&mut self) {
        self.call_or_panic("_tick");
    }

    fn safe_state(&mut self) {
        self.call_or_panic("_safe_state");
    }

    fn shutdown(&mut self) -> horus::Result<()> {
        self.call_or_panic("_shutdown");
        Ok(())
    }
}

/// The scheduler of `horus.Scheduler`.
#[pyclass(name = "Scheduler", module = "horus._horus", unsendable)]
pub struct PyScheduler {
    inner: Scheduler,
}

/// `&mut Scheduler` moved into `Python::detach`, which runs its closure on
/// the calling thread before returning: the scheduler never changes thread.
struct OnThisThread<'a>(&'a mut Scheduler);
// SAFETY: `detach` runs the closure synchronously on the current thread (it
// only releases the GIL around it), so the `Scheduler` — not `Send` because
// of its `Box<dyn Node>`s — is used by the thread that owns it only. The
// Python nodes it calls hold `Py<PyAny>` (itself `Send`) and take the GIL.
unsafe impl Send for OnThisThread<'_> {}

#[pymethods]
impl PyScheduler {
    /// A scheduler ticking at `tick_rate` Hz (nodes without their own rate),
    /// in `namespace` (default `HORUS_NAMESPACE`).
    /// With `system_topics=False` it neither follows the e-stop nor lists
    /// its nodes (tests, simulation; see `Scheduler::system_topics`).
    #[new]
    #[pyo3(signature = (tick_rate=None, namespace=None, system_topics=true))]
    fn new(
        tick_rate: Option<Bound<'_, PyAny>>,
        namespace: Option<&str>,
        system_topics: bool,
    ) -> PyResult<Self> {
        let tick_rate = opt_float("Scheduler tick_rate", tick_rate.as_ref())?.unwrap_or(100.0);
        let rate = frequency("tick_rate", tick_rate)?;
        // Refused here, not at the first `add` of a node that inherits it.
        if let Err(e) = rate.period_ns() {
            return Err(horus_err(format!(
                "horus.Scheduler(tick_rate={tick_rate}): {e}"
            )));
        }
        let mut inner = Scheduler::new()
            .tick_rate(rate)
            .system_topics(system_topics);
        if let Some(ns) = namespace {
            inner = inner.namespace(ns);
        }
        Ok(Self { inner })
    }

    /// Adds the `horus.Node` `node` with `settings` (checked when they were
    /// made, as `horus.Node(...)` checked its own: `Scheduler.add(node,
    /// rate=...)` overrides them, and a subclass may have changed them since).
    fn add(&mut self, node: Py<PyAny>, settings: &Bound<'_, NodeSettings>) -> PyResult<()> {
        let settings = settings.get();
        let node = PyNode {
            name: settings.name.clone(),
            obj: node,
        };
        settings
            .apply(self.inner.add(node))
            .build()
            .map_err(scheduler_err)
    }

    /// Runs until Ctrl+C/SIGTERM (or `duration` seconds, counted from the
    /// first round: the nodes' `init`s do not count), then every node's
    /// shutdown. The GIL is released while it runs.
    #[pyo3(signature = (duration=None))]
    fn run(&mut self, py: Python<'_>, duration: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let duration = opt_float("Scheduler.run duration", duration.as_ref())?
            .map(|d| seconds("duration", d))
            .transpose()?;
        let sched = OnThisThread(&mut self.inner);
        let result = py.detach(move || {
            let s = sched;
            match duration {
                Some(d) => s.0.run_for(d),
                None => s.0.run(),
            }
        });
        swallow_interrupt(py);
        result.map_err(scheduler_err)
    }

    /// One round: every runnable node once (tests, simulation).
    fn tick_once(&mut self, py: Python<'_>) -> PyResult<()> {
        let sched = OnThisThread(&mut self.inner);
        py.detach(move || {
            let s = sched;
            s.0.tick_once()
        })
        .map_err(scheduler_err)
    }

    /// Runs every node's shutdown (once).
    fn shutdown(&mut self, py: Python<'_>) -> PyResult<()> {
        let sched = OnThisThread(&mut self.inner);
        py.detach(move || {
            let s = sched;
            s.0.shutdown()
        })
        .map_err(scheduler_err)
    }

    /// `(name, state, ticks, deadline_misses, overruns, panics)` per node.
    fn nodes(&self) -> Vec<(String, String, u64, u64, u64, u64)> {
        self.inner
            .nodes()
            .into_iter()
            .map(|n| {
                (
                    n.name.clone(),
                    format!("{:?}", n.state),
                    n.stats.ticks,
                    n.stats.late_releases,
                    n.stats.overruns,
                    n.panics,
                )
            })
            .collect()
    }
}

/// A scheduler's error in Python's words where the Rust sentence names the
/// Rust API (`.on_panic(..)`, `.rate(..)`, `Node::name`, `.system_topics(false)`); the
/// others as they are.
pub(crate) fn scheduler_err(e: horus::Error) -> PyErr {
    use horus::error::SchedulerError as E;
    let horus::Error::Scheduler(se) = &e else {
        return horus_err(e);
    };
    match se {
        E::NoRunnableNodes { faulted } => horus_err(format!(
            "every node stopped after an exception ({}); see the tracebacks above and \
             `horus bb --anomalies`, or add the nodes with on_error=\"restart\" (or \"skip\")",
            faulted.join(", ")
        )),
        E::DuplicateName { node } => horus_err(format!(
            "two nodes are named {node:?}: give each node of a scheduler its own name \
             (horus.Node(name=...))"
        )),
        E::InvalidNodeName { node, reason } => horus_err(format!(
            "node name {node:?} is invalid: {reason}; use 1 to {} bytes without control \
             characters (horus.Node(name=...))",
            horus::system::registry::NODE_NAME_MAX
        )),
        E::InvalidRate { node, rate_error } => horus_err(format!(
            "node {node:?}: {rate_error} (horus.Node(rate=...), or \
             horus.Scheduler(tick_rate=...) for a node without its own rate)"
        )),
        E::EstopUnavailable { namespace, error } => horus_err(format!(
            "no node started: this scheduler could not follow the e-stop of namespace \
             {namespace}: {error}. Fix that first, or create the scheduler with \
             horus.Scheduler(system_topics=False) to run without an e-stop on purpose"
        )),
        _ => horus_err(e),
    }
}

/// After SIGINT, Python's own handler (which the scheduler's chains to) has
/// a pending `KeyboardInterrupt`: the scheduler stops gracefully on the same
/// signal, so it is consumed here — before each call into a node (or the
/// node's `shutdown` would be interrupted at its first line) and when the
/// run returns — rather than raised.
fn swallow_interrupt(py: Python<'_>) {
    if horus::scheduler::stop_requested() {
        if let Err(e) = py.check_signals() {
            if !e.is_instance_of::<PyKeyboardInterrupt>(py) {
                e.restore(py);
            }
        }
    }
}

/// Whether SIGINT or SIGTERM asked the schedulers of this process to stop.
#[pyfunction]
pub fn stop_requested() -> bool {
    horus::scheduler::stop_requested()
}

/// Records an error of the running node (`horus::node::report_error`): it
/// shows in `horus node list` and the blackbox without stopping the node.
#[pyfunction]
pub fn report_error(detail: String) {
    horus::node::report_error(detail);
}
