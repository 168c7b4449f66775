//! Errors of the scheduler core, one small `Copy` enum per operation.

use super::{NodeId, NodeState};
use crate::time::RateError;

// `Debug` is the sentence, as for every core error (see `crate::error`).
crate::error::debug_is_display!(NodeFault, AddError, StartError, ControlError);

/// A node's report that its `init` or `tick` failed, with a code of the
/// node's own choosing (the scheduler only stores and shows it).
///
/// ```
/// use horus_nostd::sched::NodeFault;
///
/// const SENSOR_NACK: NodeFault = NodeFault::new(2);
/// assert_eq!(SENSOR_NACK.code(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[error("node fault (code {code})")]
pub struct NodeFault {
    code: u32,
}

impl NodeFault {
    /// A fault with the node's `code`.
    pub const fn new(code: u32) -> Self {
        Self { code }
    }

    /// The node's code.
    pub const fn code(self) -> u32 {
        self.code
    }
}

/// A node could not be added.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AddError {
    /// Every slot of the table is taken.
    #[error(
        "the scheduler table is full ({capacity} nodes): declare it with a larger \
         capacity, CoreScheduler::<N>"
    )]
    Full {
        /// Slots of the table (its `N`).
        capacity: usize,
    },
    /// The node's rate cannot be scheduled.
    #[error("invalid node rate: {0}")]
    Rate(RateError),
    /// Nodes are added before `start()`.
    #[error("a node was added after start(): add every node, then start the scheduler")]
    AlreadyStarted,
}

/// By hand, not `#[from]`: that would also make the `RateError` the
/// `source()`, and the sentence already quotes it (a report walking the chain
/// would print it twice).
impl From<RateError> for AddError {
    fn from(e: RateError) -> Self {
        Self::Rate(e)
    }
}

/// The scheduler could not start.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StartError {
    /// `start()` was called twice.
    #[error("the scheduler was already started: call start() once")]
    AlreadyStarted,
    /// A node's `init` failed. That node is `Faulted`; the nodes before it
    /// are `Ready`, the nodes after it still `Registered`. `shutdown()`
    /// shuts down the initialised ones.
    #[error(
        "node #{} failed to initialise: {fault}; call shutdown() to release the \
         nodes already initialised",
        node.index()
    )]
    Init {
        /// The node.
        node: NodeId,
        /// What its `init` returned.
        fault: NodeFault,
    },
    /// The tick rate was changed ([`Engine::set_tick_rate`](super::Engine::set_tick_rate))
    /// to one this node's rate cannot use; it stays `Registered`, the nodes
    /// after it are not initialised.
    #[error(
        "node #{} cannot run at the scheduler's tick rate: {rate_error}; set a valid tick \
         rate, or the node's own rate",
        node.index()
    )]
    Rate {
        /// The node.
        node: NodeId,
        /// What is wrong with its rate at this tick rate.
        rate_error: RateError,
    },
}

/// A node could not be paused, resumed or restarted
/// ([`Engine::pause`](super::Engine::pause) and its kin).
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ControlError {
    /// No node of the table has this handle.
    #[error(
        "no node #{} in this scheduler: use the NodeId that add() returned",
        node.index()
    )]
    NoSuchNode {
        /// The handle.
        node: NodeId,
    },
    /// The node's state does not allow it: pausing a node that is not
    /// `Ready`, `Running` or `Held`, resuming one that is not `Paused`,
    /// restarting one not initialised, faulted or finished.
    #[error(
        "node #{} cannot {action} while {state}: pause a ready, running or held node, \
         resume a paused one, restart one that initialised and has not faulted",
        node.index()
    )]
    NotNow {
        /// The node.
        node: NodeId,
        /// Its state.
        state: NodeState,
        /// What was asked: `"pause"`, `"resume"`, `"restart"`.
        action: &'static str,
    },
}
