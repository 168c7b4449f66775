//! Why a scheduler could not be built or run; each error names the node and
//! the fix.

use std::fmt;
use std::io;

use horus_nostd::sched::{AddError, StartError};
use horus_nostd::time::RateError;

/// Why a scheduler could not be built or run.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// A node's rate (or the scheduler's tick rate it inherits) is invalid.
    #[error(
        "node {node:?}: {rate_error} (set it with .rate(..) on the node, or \
         Scheduler::new().tick_rate(..))"
    )]
    InvalidRate {
        /// The node.
        node: String,
        /// What is wrong.
        rate_error: RateError,
    },
    /// A node's name is empty, longer than the registry holds, or has
    /// control characters: tools could not show or address it.
    #[error(
        "node name {node:?} is invalid: {reason}; use 1 to {} bytes without control \
         characters (Node::name)",
        crate::system::registry::NODE_NAME_MAX
    )]
    InvalidNodeName {
        /// The name.
        node: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two nodes of one scheduler have the same name.
    #[error(
        "two nodes are named {node:?}: give each node of a scheduler its own name \
         (Node::name)"
    )]
    DuplicateName {
        /// The name.
        node: String,
    },
    /// The scheduler already shut its nodes down (after `run`, `run_for` or
    /// `shutdown`); it cannot run again.
    #[error(
        "this scheduler already shut its nodes down (run, run_for or shutdown ended); \
         build a new Scheduler to run again"
    )]
    Finished,
    /// A node's `init` returned an error; the nodes already initialised
    /// were shut down.
    #[error("node {node:?} failed to initialise: {error}")]
    InitFailed {
        /// The node.
        node: String,
        /// Its error.
        error: Box<crate::Error>,
    },
    /// A node panicked in `init` (or in `shutdown`); the panic was caught.
    #[error("node {node:?} panicked in {during}: {message}")]
    Panicked {
        /// The node.
        node: String,
        /// `"init"` or `"shutdown"`.
        during: &'static str,
        /// The panic message.
        message: String,
    },
    /// Some nodes' `shutdown` failed; every other node's ran.
    #[error("{}", shutdown_failed(failures))]
    ShutdownFailed {
        /// `(node, what went wrong)`, in shutdown order.
        failures: Vec<(String, String)>,
    },
    /// Every node is stopped by its panic policy: nothing is left to tick.
    #[error(
        "every node stopped after panicking ({}); see the panic messages above and \
         `horus bb --anomalies`, or give nodes .on_panic(FaultPolicy::Restart)",
        faulted.join(", ")
    )]
    NoRunnableNodes {
        /// The nodes stopped after panicking.
        faulted: Vec<String>,
    },
    /// The core engine refused a node for another reason than its rate
    /// (the table is full: 65 535 nodes).
    #[error("node {node:?} could not be added: {error}")]
    NotAdded {
        /// The node.
        node: String,
        /// Why.
        error: AddError,
    },
    /// The namespace's e-stop topic could not be opened, so no node
    /// started: a scheduler that could not be stopped by the e-stop does not
    /// run.
    #[error(
        "no node started: this scheduler could not follow the e-stop of namespace \
         {namespace}: {error}. Fix that first, or build the scheduler with \
         .system_topics(false) to run without an e-stop on purpose"
    )]
    EstopUnavailable {
        /// The namespace.
        namespace: String,
        /// Why the e-stop topic could not be opened.
        error: Box<crate::Error>,
    },
    /// The core engine could not start the nodes for a reason this enum
    /// does not name otherwise.
    #[error("the nodes could not start: {error}")]
    NotStarted {
        /// Why.
        error: StartError,
    },
    /// Real-time priority was asked for but the process may not raise it.
    #[error(
        "real-time priority {priority} (SCHED_FIFO) was refused: the process needs \
         CAP_SYS_NICE (e.g. `sudo setcap cap_sys_nice+ep <program>`) or an rtprio \
         limit of at least {priority} (`ulimit -r`; /etc/security/limits.conf: \
         `<user> - rtprio 99`)"
    )]
    RealtimeDenied {
        /// The priority asked for.
        priority: u8,
    },
    /// A real-time priority outside 1..=99.
    #[error("real-time priority {priority} is out of range: use 1 (lowest) to 99 (highest)")]
    InvalidPriority {
        /// The priority asked for.
        priority: u8,
    },
    /// Pinning to a CPU was refused.
    #[error(
        "pinning to CPU {cpu} was refused: the process's CPU set (cgroup cpuset, \
         taskset) does not allow it, or it needs CAP_SYS_NICE"
    )]
    PinDenied {
        /// The CPU asked for.
        cpu: usize,
    },
    /// The CPU does not exist or is not available to this process.
    #[error(
        "CPU {cpu} is not available to this process ({online} CPUs online, numbered \
         from 0; check `taskset -p $$` and the cgroup cpuset)"
    )]
    InvalidCpu {
        /// The CPU asked for.
        cpu: usize,
        /// CPUs online.
        online: usize,
    },
    /// The SIGINT/SIGTERM handlers could not be installed.
    #[error("could not install the SIGINT/SIGTERM handlers: {error}")]
    Signals {
        /// The error.
        error: io::Error,
    },
    /// Another system call failed.
    #[error("{op} failed: {error}")]
    Os {
        /// What was being done.
        op: &'static str,
        /// The error.
        error: io::Error,
    },
}

/// The sentence of [`SchedulerError::ShutdownFailed`]: each failure, in
/// shutdown order.
fn shutdown_failed(failures: &[(String, String)]) -> String {
    let mut s = String::from("shutdown failed for ");
    for (i, (node, why)) in failures.iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        s.push_str(&format!("{sep}node {node:?}: {why}"));
    }
    s + " (every other node's shutdown ran)"
}

/// The sentence, as `Display`: what `main` prints when it returns the error
/// (`super::debug_sentence`).
impl fmt::Debug for SchedulerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::debug_sentence(self, f)
    }
}
