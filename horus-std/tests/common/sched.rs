//! Scheduler tests in one process: a [`Probe`] node that logs its calls into
//! a shared [`Trace`], read back whole or per node ([`calls_of`]).

use std::cell::RefCell;
use std::rc::Rc;

use horus::prelude::*;
use horus::scheduler::StopHandle;
use horus::system::estop;

/// The calls of every [`Probe`] sharing it, in order, as "what name":
/// "init a", "tick a", "safe a", "shutdown a".
pub type Trace = Rc<RefCell<Vec<String>>>;

/// A node that logs each call (`init`, `tick`, `safe_state` as "safe",
/// `shutdown`) into its [`Trace`]. Made by [`Probe::new`] it does nothing
/// else; its public fields add behaviour: a sleep of `init_work` in `init`,
/// and in this order on each tick (after counting and logging it): sleep
/// `work`, panic on the ticks in `panic_on`, stop the scheduler after
/// `stop_after` ticks, raise the e-stop of namespace `raise_in` (on the
/// first tick only).
pub struct Probe {
    pub name: &'static str,
    pub trace: Trace,
    /// Ticks so far.
    pub ticks: u64,
    /// Work per tick (a sleep); none if zero.
    pub work: Duration,
    /// Work in `init` (a sleep); none if zero.
    pub init_work: Duration,
    /// The ticks (counted from 1) that panic.
    pub panic_on: Vec<u64>,
    /// `init` panics.
    pub panic_in_init: bool,
    /// Every `init` after the first panics (a restart that cannot start).
    pub panic_in_reinit: bool,
    /// `init`s so far.
    pub inits: u32,
    /// `shutdown` panics.
    pub panic_in_shutdown: bool,
    /// Stops the scheduler once `ticks` reaches the count.
    pub stop_after: Option<(u64, StopHandle)>,
    /// Raises the e-stop of this namespace on the first tick.
    pub raise_in: Option<String>,
}

impl Probe {
    /// A probe that only logs, into `trace`.
    pub fn new(name: &'static str, trace: &Trace) -> Self {
        Self {
            name,
            trace: Rc::clone(trace),
            ticks: 0,
            work: Duration::ZERO,
            init_work: Duration::ZERO,
            panic_on: Vec::new(),
            panic_in_init: false,
            panic_in_reinit: false,
            inits: 0,
            panic_in_shutdown: false,
            stop_after: None,
            raise_in: None,
        }
    }

    fn log(&self, what: &str) {
        self.trace
            .borrow_mut()
            .push(format!("{what} {}", self.name));
    }
}

impl Node for Probe {
    fn name(&self) -> &str {
        self.name
    }
    fn init(&mut self) -> Result<()> {
        self.log("init");
        self.inits += 1;
        if !self.init_work.is_zero() {
            std::thread::sleep(self.init_work);
        }
        assert!(!self.panic_in_init, "{} cannot start", self.name);
        assert!(
            !(self.panic_in_reinit && self.inits > 1),
            "{} cannot restart",
            self.name
        );
        Ok(())
    }
    fn tick(&mut self) {
        self.ticks += 1;
        self.log("tick");
        if !self.work.is_zero() {
            std::thread::sleep(self.work);
        }
        if self.panic_on.contains(&self.ticks) {
            panic!("{} failed on tick {}", self.name, self.ticks);
        }
        if let Some((n, stop)) = &self.stop_after {
            if self.ticks >= *n {
                stop.stop();
            }
        }
        if let Some(ns) = self.raise_in.take() {
            estop::raise(Some(&ns), "the monitor saw a fault").unwrap();
        }
    }
    fn safe_state(&mut self) {
        self.log("safe");
    }
    fn shutdown(&mut self) -> Result<()> {
        self.log("shutdown");
        assert!(!self.panic_in_shutdown, "{} cannot stop", self.name);
        Ok(())
    }
}

/// What node `name` was called for, in order: `["init", "tick", ...]`.
pub fn calls_of(trace: &Trace, name: &str) -> Vec<String> {
    trace
        .borrow()
        .iter()
        .filter(|l| l.ends_with(&format!(" {name}")))
        .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

/// A scheduler at 1 kHz without system topics or blackbox: it follows no
/// e-stop and leaves nothing in shared memory.
pub fn quiet_scheduler() -> Scheduler {
    Scheduler::new()
        .tick_rate(1_000_u64.hz())
        .blackbox(false)
        .system_topics(false)
}
