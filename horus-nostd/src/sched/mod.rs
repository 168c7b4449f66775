//! The scheduler core: a fixed-capacity table of nodes, ticked in order,
//! each at its own rate, from a caller-provided [`Clock`](crate::time::Clock),
//! with deadline accounting. No allocation, no threads, no panics on input.
//!
//! - [`CoreScheduler`] (`table.rs`): the table of `N` nodes and the step
//!   that runs the due ones. Firmware drives it directly; see
//!   `boards/pipeline`.
//! - [`Timing`] (`timing.rs`): one node's release grid and counters (late
//!   releases, skipped releases, overruns, lateness, durations). The std
//!   `Scheduler` keeps one per node and makes the same calls, so both count
//!   the same way.
//! - [`NodeState`] (`state.rs`): the life of a node, as a diagram, with the
//!   function that makes each transition.
//! - [`CoreNode`], [`NodeConfig`], [`Rate`], [`FaultPolicy`], [`Event`]
//!   (`node.rs`); errors (`error.rs`); [`NodeStats`] (`stats.rs`).
//!
//! # Decisions
//!
//! - **Order.** Nodes due at the same step run by ascending `order`; equal
//!   orders run in the order they were added. The due set is decided once,
//!   from the clock as the step begins, so a step is deterministic under a
//!   deterministic clock.
//! - **Rates.** The scheduler has a tick rate; a node runs at it
//!   ([`Rate::Base`]), at a divisor of it ([`Rate::Divisor`]) or at its own
//!   period or frequency, which need not be a multiple of the base period.
//!   Releases lie on a fixed grid from the start time: lateness never
//!   accumulates into drift.
//! - **Late release** (counted): a start more than the node's tolerance after
//!   its release (default a tenth of the period). **Overrun** (counted): a
//!   tick longer than its budget (default its period). A tick is never
//!   interrupted; releases that pass while a node is a period or more late
//!   are skipped and counted, not run in a burst.
//! - **Faults.** A tick that returns a [`NodeFault`] is counted and handled
//!   by the node's [`FaultPolicy`] (`Stop` by default: `safe_state`, then
//!   never ticked again; `Skip`; `Restart`: `init` again).
//! - **Shutdown** runs in reverse order, and only for nodes whose `init`
//!   succeeded.

mod error;
mod node;
mod state;
mod stats;
mod table;
mod timing;

pub use error::{AddError, NodeFault, StartError};
pub use node::{CoreNode, Event, FaultPolicy, NodeConfig, NodeId, Rate, Tick};
pub use state::NodeState;
pub use stats::NodeStats;
pub use table::{CoreScheduler, NodeView, StepReport};
pub use timing::{Completion, Release, Timing};
