//! A Python node's settings (`name`, `rate`, `order`, `on_error`,
//! `budget`, `tolerance`) converted and checked in one place, for two
//! callers: `horus.Node(...)` makes a [`NodeSettings`] so that a
//! mistake is refused where it is written, before any scheduler exists;
//! `Scheduler.add` converts again with the same function, because its
//! `rate=`/`order=`/`on_error=` override the node's and a subclass may have
//! changed the attributes since. Each refusal keeps the exception type
//! `Scheduler.add` always raised (a `TypeError` for a wrong type, a
//! `ValueError` for a value out of range, `HorusError` for what horus-std
//! refuses), so code catching them is unaffected.
//!
//! The rules are horus-std's where it has them (the name:
//! [`horus::scheduler::check_node_name`]; the fastest rate:
//! [`Frequency::period_ns`]), not copies.

use std::time::Duration;

use horus::error::SchedulerError;
use horus::scheduler::{FaultPolicy, NodeBuilder};
use horus::time::Frequency;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::args::{opt_float, opt_int};
use crate::node::scheduler_err;

/// A node's settings, checked: what `Scheduler::add(..)` is given. Python
/// makes one to check them (`horus.Node(...)`) and to add a node
/// (`Scheduler.add`); it has nothing else to offer Python.
#[pyclass(frozen, module = "horus._horus")]
pub(crate) struct NodeSettings {
    pub(crate) name: String,
    rate: Option<Frequency>,
    order: u32,
    policy: FaultPolicy,
    budget: Option<Duration>,
    tolerance: Option<Duration>,
}

#[pymethods]
impl NodeSettings {
    /// The settings as `horus.Node` holds them (`None`: not given, the
    /// scheduler's default), or the error naming the wrong argument: what
    /// `Scheduler.add` raises, so `horus.Node(...)` raises it where the
    /// mistake is written.
    #[new]
    #[pyo3(signature = (name, rate, order, on_error, budget, tolerance))]
    fn new(
        name: &Bound<'_, PyAny>,
        rate: Option<Bound<'_, PyAny>>,
        order: Option<Bound<'_, PyAny>>,
        on_error: &Bound<'_, PyAny>,
        budget: Option<Bound<'_, PyAny>>,
        tolerance: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (rate, order) = (rate.as_ref(), order.as_ref());
        let (budget, tolerance) = (budget.as_ref(), tolerance.as_ref());
        let name = text("Node name", name)?;
        horus::scheduler::check_node_name(&name).map_err(|e| scheduler_err(e.into()))?;
        let policy = fault_policy(&name, &text("Node on_error", on_error)?)?;
        let order: u32 = opt_int("Node order", order)?.unwrap_or(0);
        let rate = opt_float("Node rate", rate)?
            .map(|hz| node_rate(&name, hz))
            .transpose()?;
        let budget = opt_float("Node budget", budget)?
            .map(|s| seconds("budget", s))
            .transpose()?;
        let tolerance = opt_float("Node tolerance", tolerance)?
            .map(|s| seconds("tolerance", s))
            .transpose()?;
        Ok(Self {
            name,
            rate,
            order,
            policy,
            budget,
            tolerance,
        })
    }
}

impl NodeSettings {
    /// The settings applied to a node being added.
    pub(crate) fn apply<'s>(&self, node: NodeBuilder<'s>) -> NodeBuilder<'s> {
        let mut node = node.order(self.order).on_panic(self.policy);
        if let Some(r) = self.rate {
            node = node.rate(r);
        }
        if let Some(d) = self.budget {
            node = node.budget(d);
        }
        if let Some(d) = self.tolerance {
            node = node.tolerance(d);
        }
        node
    }
}

/// The string argument `what` (`"Node name"`); anything else, a `TypeError`
/// naming it (PyO3's names neither the call nor the argument).
fn text(what: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    match value.cast::<PyString>() {
        Ok(s) => Ok(s.to_str()?.to_owned()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{what} must be a str, not {}",
            value.get_type().name()?
        ))),
    }
}

/// `on_error` of node `name` as the scheduler's fault policy.
fn fault_policy(name: &str, on_error: &str) -> PyResult<FaultPolicy> {
    match on_error {
        "stop" => Ok(FaultPolicy::Stop),
        "skip" => Ok(FaultPolicy::Skip),
        "restart" => Ok(FaultPolicy::Restart),
        other => Err(PyValueError::new_err(format!(
            "on_error of node {name:?} is {other:?}: it is one of \"stop\", \"skip\", \"restart\""
        ))),
    }
}

/// The `rate` of node `name`: a [`frequency`] the scheduler can keep —
/// not above 1 MHz, which `build()` would refuse (horus-std's rule, asked
/// of [`Frequency::period_ns`], in `scheduler_err`'s sentence).
fn node_rate(name: &str, hz: f64) -> PyResult<Frequency> {
    let rate = frequency("rate", hz)?;
    match rate.period_ns() {
        Ok(_) => Ok(rate),
        Err(rate_error) => Err(scheduler_err(
            SchedulerError::InvalidRate {
                node: name.to_owned(),
                rate_error,
            }
            .into(),
        )),
    }
}

/// `hz` (the argument `what`: `"rate"`, `"tick_rate"`) as a frequency: a
/// positive number of Hz, at least the 1 µHz a frequency resolves.
pub(crate) fn frequency(what: &str, hz: f64) -> PyResult<Frequency> {
    if !(hz.is_finite() && hz > 0.0) {
        return Err(PyValueError::new_err(format!(
            "{what} must be a positive number of Hz, not {hz}"
        )));
    }
    // Rates beyond u64 µHz saturate, as Rust's `Frequency` does.
    let microhz = (hz * 1e6).round() as u64;
    if microhz == 0 {
        // 1e-300 as written, not three hundred digits.
        let shown = if hz < 1e-9 {
            format!("{hz:e}")
        } else {
            hz.to_string()
        };
        return Err(PyValueError::new_err(format!(
            "{what} of {shown} Hz is below the slowest rate a scheduler keeps, 1 µHz (0.000001 Hz)"
        )));
    }
    Ok(Frequency::from_microhz(microhz))
}

/// `s` (the argument `what`: `"budget"`, `"duration"`) as a duration: a
/// non-negative, finite number of seconds.
pub(crate) fn seconds(what: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must be a non-negative number of seconds, not {s}"
        ))
    })
}
