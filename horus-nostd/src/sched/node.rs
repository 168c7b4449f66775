//! What a node is to the core, and how it is configured.

use core::fmt;

use super::NodeFault;
use crate::time::{Frequency, RateError};

/// A node the core scheduler ticks.
///
/// Firmware keeps its nodes in `static`s or on the stack and lends the
/// scheduler `&mut` to them; nothing is allocated.
///
/// ```
/// use horus_nostd::sched::{CoreNode, NodeFault, Tick};
///
/// struct Blink {
///     on: bool,
/// }
/// impl CoreNode for Blink {
///     fn name(&self) -> &str {
///         "blink"
///     }
///     fn tick(&mut self, _tick: &Tick) -> Result<(), NodeFault> {
///         self.on = !self.on;
///         Ok(())
///     }
///     fn safe_state(&mut self) {
///         self.on = false;
///     }
/// }
/// ```
pub trait CoreNode {
    /// The node's name, for reports.
    fn name(&self) -> &str {
        "node"
    }

    /// Prepares the node; run once by `start()` (and again by a restart,
    /// after the `shutdown` of the previous `init`).
    ///
    /// # Errors
    /// A fault leaves the node `Faulted`: it is never ticked.
    fn init(&mut self) -> Result<(), NodeFault> {
        Ok(())
    }

    /// One step of work, at release `tick`.
    ///
    /// # Errors
    /// A fault is counted and handled by the node's [`FaultPolicy`].
    fn tick(&mut self, tick: &Tick) -> Result<(), NodeFault>;

    /// Puts outputs in a safe state (motors off). Run when the node is held
    /// (e-stop) and when its policy stops it after a fault.
    fn safe_state(&mut self) {}

    /// Releases what the node holds; run once for each `init` that
    /// succeeded: by `shutdown()`, or by a restart before it runs `init`
    /// again (a restart whose `init` fails leaves nothing to shut down).
    fn shutdown(&mut self) {}
}

/// What a node is told about the tick it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tick {
    /// Number of the tick, from 0 (skipped releases are not numbered).
    pub seq: u64,
    /// When it was due, ns of the scheduler's clock.
    pub release_ns: u64,
    /// When it started, ns.
    pub start_ns: u64,
    /// The node's period, ns.
    pub period_ns: u64,
}

/// How often a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Rate {
    /// At the scheduler's tick rate.
    Base,
    /// Every `n`-th period of the scheduler's tick rate (`n >= 1`).
    Divisor(u32),
    /// Its own period, ns (need not be a multiple of the scheduler's).
    PeriodNs(u64),
    /// Its own rate.
    Frequency(Frequency),
}

impl Rate {
    /// The node's period, given the scheduler's.
    ///
    /// ```
    /// use horus_nostd::sched::Rate;
    /// use horus_nostd::time::Frequency;
    ///
    /// assert_eq!(Rate::Divisor(4).period_ns(1_000), Ok(4_000));
    /// assert_eq!(Rate::Frequency(Frequency::from_hz(50)).period_ns(1_000), Ok(20_000_000));
    /// assert!(Rate::Divisor(0).period_ns(1_000).is_err());
    /// ```
    ///
    /// # Errors
    /// A zero rate, period or divisor; a period under
    /// [`MIN_PERIOD_NS`](crate::time::MIN_PERIOD_NS) (1 µs), or over
    /// [`MAX_PERIOD_NS`](crate::time::MAX_PERIOD_NS) (10^15 ns, as a
    /// divisor's may be: a node whose next release is beyond any clock
    /// would never run again).
    pub const fn period_ns(self, base_period_ns: u64) -> Result<u64, RateError> {
        let p = match self {
            Self::Base => base_period_ns,
            Self::Divisor(n) => match base_period_ns.checked_mul(n as u64) {
                Some(p) => p,
                None => return Err(RateError::OutOfRange),
            },
            Self::PeriodNs(p) => p,
            Self::Frequency(f) => match f.period_ns() {
                Ok(p) => p,
                Err(e) => return Err(e),
            },
        };
        if p == 0 {
            Err(RateError::Zero)
        } else if p < crate::time::MIN_PERIOD_NS {
            Err(RateError::TooFast)
        } else if p > crate::time::MAX_PERIOD_NS {
            Err(RateError::OutOfRange)
        } else {
            Ok(p)
        }
    }
}

/// What happens to a node whose tick fails (returns a fault; in std, panics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FaultPolicy {
    /// Run its `safe_state`, then never tick it again (`Faulted`); the other
    /// nodes go on. The default: a failed node is not trusted to continue.
    #[default]
    Stop,
    /// Count the failure and tick it again at its next release.
    Skip,
    /// Run its `shutdown`, then its `init` again, and tick it at its next
    /// release (`Ready`); if that `init` fails, as `Stop` (and no `shutdown`
    /// runs at the end: none is owed).
    Restart,
}

impl fmt::Display for FaultPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stop => "stop",
            Self::Skip => "skip",
            Self::Restart => "restart",
        })
    }
}

/// A node's place and timing in the table.
///
/// ```
/// use horus_nostd::sched::{FaultPolicy, NodeConfig, Rate};
///
/// let c = NodeConfig::new(2).rate(Rate::Divisor(5)).budget_ns(200_000).on_fault(FaultPolicy::Skip);
/// assert_eq!(c.order, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct NodeConfig {
    /// Position in the tick order: lower ticks first; equal orders tick in
    /// the order the nodes were added.
    pub order: u32,
    /// How often it runs (default: the scheduler's rate).
    pub rate: Rate,
    /// Longest a tick may run before it counts as an overrun (default: its period).
    pub budget_ns: Option<u64>,
    /// Latest a tick may start after its release before it counts as late
    /// (default: a tenth of its period).
    pub tolerance_ns: Option<u64>,
    /// What a failed tick does.
    pub policy: FaultPolicy,
}

impl NodeConfig {
    /// Order `order`, at the scheduler's rate, default budget, tolerance and policy.
    pub const fn new(order: u32) -> Self {
        Self {
            order,
            rate: Rate::Base,
            budget_ns: None,
            tolerance_ns: None,
            policy: FaultPolicy::Stop,
        }
    }

    /// Sets the rate.
    #[must_use]
    pub const fn rate(mut self, rate: Rate) -> Self {
        self.rate = rate;
        self
    }

    /// Sets the budget, ns.
    #[must_use]
    pub const fn budget_ns(mut self, ns: u64) -> Self {
        self.budget_ns = Some(ns);
        self
    }

    /// Sets the late-release tolerance, ns.
    #[must_use]
    pub const fn tolerance_ns(mut self, ns: u64) -> Self {
        self.tolerance_ns = Some(ns);
        self
    }

    /// Sets the fault policy.
    #[must_use]
    pub const fn on_fault(mut self, policy: FaultPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The [`Timing`](super::Timing) this configuration gives under a
    /// scheduler of period `base_period_ns`.
    ///
    /// # Errors
    /// As [`Rate::period_ns`].
    pub const fn timing(&self, base_period_ns: u64) -> Result<super::Timing, RateError> {
        let period = match self.rate.period_ns(base_period_ns) {
            Ok(p) => p,
            Err(e) => return Err(e),
        };
        let mut t = match super::Timing::new(period) {
            Ok(t) => t,
            Err(e) => return Err(e),
        };
        if let Some(b) = self.budget_ns {
            t = t.with_budget_ns(b);
        }
        if let Some(tol) = self.tolerance_ns {
            t = t.with_tolerance_ns(tol);
        }
        Ok(t)
    }
}

/// A node's handle in the table: the order it was added in (0, 1, 2, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NodeId(pub(crate) u16);

impl NodeId {
    /// The position at which it was added.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// Something the scheduler noticed, passed to the observer of
/// [`CoreScheduler::step_with`](super::CoreScheduler::step_with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// A node started later than its tolerance.
    LateRelease {
        /// The node.
        node: NodeId,
        /// How late, ns.
        lateness_ns: u64,
    },
    /// Releases passed while a node was late; they will not run.
    Skipped {
        /// The node.
        node: NodeId,
        /// How many.
        count: u64,
    },
    /// A tick ran past its budget.
    Overrun {
        /// The node.
        node: NodeId,
        /// How long it ran, ns.
        duration_ns: u64,
        /// Its budget, ns.
        budget_ns: u64,
    },
    /// A tick failed; `policy` was applied.
    Fault {
        /// The node.
        node: NodeId,
        /// What it returned.
        fault: NodeFault,
        /// What was done about it.
        policy: FaultPolicy,
    },
    /// A node's restart `init` failed: it is `Faulted` now.
    RestartFailed {
        /// The node.
        node: NodeId,
        /// What `init` returned.
        fault: NodeFault,
    },
    /// The clock read earlier at the start of a round than at the start of
    /// the round before (a wrapped 32-bit counter: see
    /// [`Extend32`](crate::time::Extend32)). Every tickable node was
    /// re-phased onto the new time ([`Timing::rebase`](super::Timing::rebase))
    /// before the round went on; [`Engine::clock_steps_back`](super::Engine::clock_steps_back)
    /// counts these.
    ClockWentBack {
        /// The earlier round's time, ns.
        from_ns: u64,
        /// This round's, ns.
        to_ns: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::Rate;
    use crate::time::{MAX_PERIOD_NS, RateError};

    #[test]
    fn a_period_beyond_the_longest_is_out_of_range_however_it_is_given() {
        assert_eq!(
            Rate::PeriodNs(MAX_PERIOD_NS).period_ns(1_000),
            Ok(MAX_PERIOD_NS)
        );
        // Accepted before: the node ran once, then its next release was
        // past any clock and it never ran again.
        assert_eq!(
            Rate::PeriodNs(MAX_PERIOD_NS + 1).period_ns(1_000),
            Err(RateError::OutOfRange)
        );
        assert_eq!(
            Rate::PeriodNs(u64::MAX).period_ns(1_000),
            Err(RateError::OutOfRange)
        );
        // A divisor of a one-second tick: 2^32 - 1 s is over 10^15 ns.
        assert_eq!(
            Rate::Divisor(u32::MAX).period_ns(1_000_000_000),
            Err(RateError::OutOfRange)
        );
        assert_eq!(
            Rate::Divisor(1_000_000).period_ns(1_000_000_000),
            Ok(MAX_PERIOD_NS)
        );
    }
}
