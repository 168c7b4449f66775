//! Orphans: processes the programs of `horus run` (or the nodes of `horus
//! launch`) started and left behind.
//!
//! A single program runs in `horus`'s own process group (it keeps the
//! terminal: keyboard teleop nodes read it, Ctrl+Z stops it), so its process
//! group cannot be killed as several programs' groups are. Instead `horus
//! run` becomes a *child subreaper* ([`adopt`]): whatever a program started
//! and left (a `subprocess.Popen` never waited for, a `sh -c "x &"`) becomes
//! a child of `horus` once its parent exits, and not of init. While the
//! programs run, [`reap`] collects those that exit (no zombie accumulates);
//! once every program has ended, [`stop`] stops those still running:
//! SIGTERM, then SIGKILL after the grace period. Nothing a program started
//! outlives `horus run`. `horus launch` does the same for what escapes a
//! node's process group (a `setsid` daemon).
//!
//! Signalling a child by pid is sound: a pid cannot be reused until its
//! parent (here `horus`) reaps it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitIdOptions, WaitOptions};

use crate::supervise::{POLL, after, note};

/// Makes this process the reaper of its descendants' orphans
/// (`PR_SET_CHILD_SUBREAPER`). Without it (said), orphans go to init as
/// before and [`stop`] finds none.
pub fn adopt() {
    if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        note(&format!(
            "horus: warning: cannot adopt what the programs leave behind ({e}): processes \
             they start and do not stop may outlive them"
        ));
    }
}

/// Reaps the orphans that have exited, if any child is waitable: cheap
/// (one `waitid` that reaps nothing) when none is. `tracked` are the
/// children `horus` waits for itself (its programs), never reaped here.
pub fn reap(tracked: &[u32]) {
    let peek = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    if !matches!(
        rustix::process::waitid(rustix::process::WaitId::All, peek),
        Ok(Some(_))
    ) {
        return;
    }
    for pid in children(tracked) {
        let _ = rustix::process::waitpid(Some(pid), WaitOptions::NOHANG);
    }
}

/// Stops the orphans still running once every program (`who`: "programs"
/// or "nodes") has ended: SIGTERM, then SIGKILL to those left after `grace`
/// (or when `hurry` says so), each reaped.
pub fn stop(who: &str, grace: Duration, hurry: impl Fn() -> bool) {
    // Those that ended already are reaped, not counted.
    let first: Vec<Pid> = children(&[])
        .into_iter()
        .filter(|&pid| {
            !matches!(
                rustix::process::waitpid(Some(pid), WaitOptions::NOHANG),
                Ok(Some(_))
            )
        })
        .collect();
    if first.is_empty() {
        return;
    }
    // The first few pids: enough to find them in `ps`.
    const LISTED: usize = 8;
    let mut list = first
        .iter()
        .take(LISTED)
        .map(|p| p.as_raw_nonzero().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if first.len() > LISTED {
        list.push_str(&format!(" and {} more", first.len() - LISTED));
    }
    note(&format!(
        "horus: stopping {} process{} the {who} left running (pid {list})",
        first.len(),
        if first.len() == 1 { "" } else { "es" }
    ));
    let mut asked = HashSet::new();
    let deadline = after(Instant::now(), grace);
    let mut kill = false;
    loop {
        let now = children(&[]);
        if now.is_empty() {
            return;
        }
        kill = kill || Instant::now() >= deadline || hurry();
        for &pid in &now {
            if kill {
                let _ = rustix::process::kill_process(pid, Signal::KILL);
            } else if asked.insert(pid) {
                // Adopted since the last round (its parent just exited): asked too.
                let _ = rustix::process::kill_process(pid, Signal::TERM);
            }
            let _ = rustix::process::waitpid(Some(pid), WaitOptions::NOHANG);
        }
        std::thread::sleep(POLL);
    }
}

/// This process's children, but `tracked` and the guard: what it adopted.
fn children(tracked: &[u32]) -> Vec<Pid> {
    let skip = |pid: u32| tracked.contains(&pid) || crate::guard::pid() == Some(pid);
    child_pids()
        .into_iter()
        .filter(|&p| !skip(p))
        .filter_map(|p| i32::try_from(p).ok().and_then(Pid::from_raw))
        .collect()
}

/// The pids of this process's children (see [`children_of`]).
fn child_pids() -> Vec<u32> {
    children_of(std::process::id())
}

/// The pids of the children of process `pid`, from each of its threads'
/// `/proc/PID/task/TID/children`, or, on a kernel built without those
/// files, from the parent pid in every `/proc/PID/stat`. Empty if it is
/// gone.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return pids;
    };
    for task in tasks.flatten() {
        match std::fs::read_to_string(task.path().join("children")) {
            Ok(text) => pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            ),
            // Gone meanwhile: its children are another thread's now.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && task.path().exists() => {
                return children_by_scan(pid);
            }
            Err(_) => {}
        }
    }
    pids
}

fn children_by_scan(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| stat_of(pid).is_some_and(|s| s.ppid == parent))
        .collect()
}

/// What `/proc/PID/stat` says of a process that `horus` (or the guard)
/// needs: its parent, and its start time (clock ticks after boot), which
/// with the pid names one process for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Parent process id.
    pub ppid: u32,
    /// Start time, in clock ticks after boot.
    pub start: u64,
}

/// Reads [`Stat`] of `pid` (`None`: gone, or unreadable).
pub fn stat_of(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so
    // the fields are counted from its last `)`; field 4 is the parent,
    // field 22 the start time.
    let mut rest = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let ppid = rest.nth(1)?.parse().ok()?;
    let start = rest.nth(17)?.parse().ok()?;
    Some(Stat { ppid, start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_reads_parent_and_start_of_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let s = stat_of(child.id()).unwrap();
        assert_eq!(s.ppid, std::process::id());
        assert!(s.start >= stat_of(std::process::id()).unwrap().start);
        assert!(child_pids().contains(&child.id()));
        // The scan for kernels without `children` files finds it too.
        assert!(children_by_scan(std::process::id()).contains(&child.id()));
        assert_eq!(children_of(child.id()), Vec::<u32>::new());
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
