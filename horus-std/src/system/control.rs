//! Node control across processes: pause, resume, restart or stop a node of
//! any process of a namespace (`horus node pause|resume|restart|kill`).
//!
//! The control topic `_horus.control` carries [`ControlRecord`] requests:
//! a node name, a pid (0: whichever process runs a node of that name), a
//! [`ControlCommand`], the requester's pid and a request id. Every std
//! `Scheduler` with system topics joins it when it starts (reading only
//! what is published after that: a request is never replayed to a
//! scheduler started later) and reads it at the start of every round, as
//! it follows the e-stop. A scheduler that runs the named node (and has
//! the pid asked for, if any) carries the request out:
//!
//! - `Pause`: the node's `safe_state` runs; it is not ticked and the
//!   registry shows it `Paused` until `Resume`. The e-stop's clear does not
//!   resume it.
//! - `Resume`: it ticks again, on a fresh release grid.
//! - `Restart`: its `shutdown`, then its `init` (as the `Restart` fault
//!   policy, plus the shutdown); its counters start from zero. If `init`
//!   fails the node is stopped (`Crashed`).
//! - `Kill`: the scheduler stops as on SIGTERM: every node's `shutdown`
//!   runs in reverse order and `run` returns `Ok(())`, so a program whose
//!   `main` ends with `run` exits (`tick_once` shuts down likewise; its next
//!   call is `Finished`). The whole scheduler stops, not one node.
//!
//! Each request carried out is recorded in the blackbox (kind
//! `node_control`, by the executing process, `value` = the requester's pid).
//! Nothing is acknowledged on this topic: the requester watches the
//! registry for the new state ([`registry::list`](super::registry::list)).

use crate::error::Result;
use crate::message;
use crate::system::{fixed_str, str_of};
use crate::topic::Topic;

/// Name of the control topic.
pub const CONTROL_TOPIC: &str = "_horus.control";
const _: () = assert!(CONTROL_TOPIC.len() > super::SYSTEM_PREFIX.len());

message! {
    /// One request to control a node.
    ControlRecord {
        /// When it was sent, ns of the monotonic clock.
        timestamp_ns: u64,
        /// The requester's id for it (echoed in the blackbox record).
        request_id: u64,
        /// The pid of the node's process; 0: any process running a node of this name.
        target_pid: u32,
        /// The requester's pid.
        sender_pid: u32,
        /// [`ControlCommand`] code.
        command: u32,
        /// Explicit padding.
        _pad: u32,
        /// The node's name, NUL-padded (as the registry's).
        node: [u8; super::registry::NODE_NAME_MAX],
    }
}

/// What is asked of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum ControlCommand {
    /// Not ticked (after its `safe_state`) until resumed.
    Pause = 1,
    /// Ticked again.
    Resume = 2,
    /// `shutdown`, then `init`.
    Restart = 3,
    /// Its process's scheduler shuts down and `run` returns.
    Kill = 4,
}

impl ControlCommand {
    /// The command of a record's code, if known.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => Self::Pause,
            2 => Self::Resume,
            3 => Self::Restart,
            4 => Self::Kill,
            _ => return None,
        })
    }

    /// Its name, as `horus node` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Restart => "restart",
            Self::Kill => "kill",
        }
    }
}

/// A request as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRequest {
    /// The node's name.
    pub node: String,
    /// Its process; 0: any.
    pub target_pid: u32,
    /// What; `None` for a code this build does not know.
    pub command: Option<ControlCommand>,
    /// The requester's id for it.
    pub request_id: u64,
    /// The requester's pid.
    pub sender_pid: u32,
}

impl ControlRequest {
    /// Whether the request is for a node named `name` of process `pid`.
    pub fn targets(&self, name: &str, pid: u32) -> bool {
        self.node == name && (self.target_pid == 0 || self.target_pid == pid)
    }
}

fn open(namespace: Option<&str>) -> Result<Topic<ControlRecord>> {
    super::open(CONTROL_TOPIC, 16, namespace)
}

/// Asks the schedulers of the current namespace (or `namespace`) to
/// `command` node `node` of process `pid` (0: of any process). Returns
/// once the request is published; see the module doc for how to learn it
/// was carried out.
///
/// # Errors
/// `node` is no name a node can have
/// ([`SchedulerError::InvalidNodeName`](crate::scheduler::SchedulerError::InvalidNodeName):
/// empty, longer than the 48 bytes a request holds, or with control
/// characters): cut to fit, it would name another node. Or the control
/// topic could not be opened.
pub fn send(
    namespace: Option<&str>,
    node: &str,
    pid: u32,
    command: ControlCommand,
    request_id: u64,
) -> Result<()> {
    crate::scheduler::check_node_name(node)?;
    log::info!("asking node {node:?} (pid {pid}) to {}", command.name());
    open(namespace)?.send(ControlRecord {
        timestamp_ns: crate::time::now_ns(),
        request_id,
        target_pid: pid,
        sender_pid: std::process::id(),
        command: command as u32,
        _pad: 0,
        node: fixed_str(node),
    });
    Ok(())
}

/// A scheduler's reader of the control topic: what was sent since it opened.
#[derive(Debug)]
pub struct ControlReader {
    topic: Topic<ControlRecord>,
    /// What a poll receives into, kept: a poll that finds nothing (a
    /// scheduler's every round) neither zeroes nor copies a record.
    scratch: ControlRecord,
}

impl ControlReader {
    /// Starts reading the control topic of the current namespace (or
    /// `namespace`): requests published from now on.
    pub fn open(namespace: Option<&str>) -> Result<Self> {
        Ok(Self {
            topic: open(namespace)?,
            scratch: ControlRecord::default(),
        })
    }

    /// Requests lost so far: overwritten before this reader polled them
    /// (more than the topic holds were published between two polls).
    pub fn lost(&self) -> u64 {
        self.topic.dropped_count()
    }

    /// The next request published since the last call, if any.
    #[inline]
    pub fn poll(&mut self) -> Option<ControlRequest> {
        if !self.topic.recv_wire_into(&mut self.scratch) {
            return None; // every round but a request's
        }
        Some(request_of(&self.scratch))
    }
}

/// The request `r` carries.
#[cold]
fn request_of(r: &ControlRecord) -> ControlRequest {
    ControlRequest {
        node: str_of(&r.node),
        target_pid: r.target_pid,
        command: ControlCommand::from_code(r.command),
        request_id: r.request_id,
        sender_pid: r.sender_pid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_targets_match_name_and_pid() {
        for c in [
            ControlCommand::Pause,
            ControlCommand::Resume,
            ControlCommand::Restart,
            ControlCommand::Kill,
        ] {
            assert_eq!(ControlCommand::from_code(c as u32), Some(c));
        }
        assert_eq!(ControlCommand::from_code(0), None);
        let r = ControlRequest {
            node: "a".into(),
            target_pid: 0,
            command: Some(ControlCommand::Pause),
            request_id: 1,
            sender_pid: 2,
        };
        assert!(r.targets("a", 7) && !r.targets("b", 7));
        let pinned = ControlRequest { target_pid: 7, ..r };
        assert!(pinned.targets("a", 7) && !pinned.targets("a", 8));
    }
}
