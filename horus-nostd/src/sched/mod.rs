//! The scheduler engine: a table of nodes, ticked in order, each at its own
//! rate, from a caller-provided [`Clock`](crate::time::Clock), with deadline
//! accounting and fault policies. No allocation, no threads, no panics on
//! input. It is the one engine of HORUS: firmware drives it directly, and the
//! std `Scheduler` is this engine plus a thread, a node adapter and an
//! observer; a behaviour fixed here is fixed on both.
//!
//! - [`Engine`] (`engine.rs`): the table and every function that moves a
//!   node (`start`, `step`, `hold`, `resume`, `shutdown`; one node:
//!   `pause`, `resume_node`, `restart`), generic over
//!   where its slots live. [`CoreScheduler<'a, N>`](CoreScheduler) is the
//!   engine over `N` inline slots of `&'a mut dyn CoreNode`; see
//!   `boards/pipeline`.
//! - [`Slot`], [`Storage`] (`slot.rs`): one node with its bookkeeping, and
//!   where the slots live ([`Inline`] here, a `Vec` in horus-std).
//! - [`Observer`] (`observer.rs`): what the engine reports as it goes
//!   (releases, ticks, faults, transitions); any `FnMut(`[`Event`]`)` is one.
//! - [`Timing`] (`timing.rs`): one node's release grid and counters (late
//!   releases, skipped releases, overruns, lateness, durations).
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
//!   never ticked again; `Skip`; `Restart`: `shutdown`, then `init` again).
//! - **Shutdown** runs in reverse order, and only for nodes whose `init`
//!   succeeded: each successful `init` is paired with exactly one
//!   `shutdown`, which a restart runs before its `init`.
//! - **Adding late.** [`Engine::add`] refuses nodes after the start;
//!   [`Engine::push`] takes them, and [`Engine::init_registered`]
//!   initialises them at the caller's next round (std's `tick_once`).

mod control;
mod engine;
mod error;
mod node;
mod observer;
mod slot;
mod state;
mod stats;
mod tick_one;
mod timing;

pub use engine::{CoreScheduler, Engine, NodeView, StepReport};
pub use error::{AddError, ControlError, NodeFault, StartError};
pub use node::{CoreNode, Event, FaultPolicy, NodeConfig, NodeId, Rate, Tick};
pub use observer::Observer;
pub use slot::{Inline, Slot, Storage};
pub use state::NodeState;
pub use stats::NodeStats;
pub use timing::{Completion, Release, Timing};
