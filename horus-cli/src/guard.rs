//! The guard: a helper process (`horus __guard GRACE`) that stops every
//! node's process group when the `horus` that started it ends in a way it
//! cannot act upon itself (SIGKILL, a crash). `PR_SET_PDEATHSIG` reaches only
//! a node's own process; what a `sh -c` node started would survive without it.
//!
//! `run` and `launch` start one guard ([`start`]) in a process group of its
//! own (a Ctrl+C at the terminal does not reach it), its stdin a pipe that
//! only `horus` holds (close-on-exec: no node inherits it). `horus` writes
//! `+PGID` for each process group it creates and `-PGID` once it has reaped
//! the group's leader and killed the group. The kernel closes the pipe when
//! `horus` dies, however it dies: on end of input the guard sends SIGTERM to
//! every group still listed, SIGKILL after the grace period to those still
//! there, and exits. After a normal exit of `horus` nothing is listed, and
//! the guard exits at once.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, ExitCode, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

/// The hidden subcommand that runs the guard.
pub const COMMAND: &str = "__guard";

/// The pipe to this process's guard, once started.
static GUARD: OnceLock<Mutex<ChildStdin>> = OnceLock::new();

/// Starts this process's guard (once); `grace` is how long it waits between
/// SIGTERM and SIGKILL. Without a guard, nodes still get `PR_SET_PDEATHSIG`.
pub fn start(grace: Duration) -> std::io::Result<()> {
    if GUARD.get().is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg(COMMAND)
        .arg(grace.as_secs_f64().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    let Some(pipe) = child.stdin.take() else {
        return Err(std::io::Error::other("the guard's stdin is not a pipe"));
    };
    // Not waited for: it outlives us by design (init reaps it).
    drop(child);
    let _ = GUARD.set(Mutex::new(pipe));
    Ok(())
}

fn tell(line: &str) {
    if let Some(pipe) = GUARD.get() {
        let mut pipe = pipe.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(pipe, "{line}").and_then(|()| pipe.flush());
    }
}

/// The guard must stop process group `pgid` if `horus` dies.
pub fn watch(pgid: u32) {
    tell(&format!("+{pgid}"));
}

/// Process group `pgid` was reaped and killed: no longer the guard's concern.
pub fn forget(pgid: u32) {
    tell(&format!("-{pgid}"));
}

/// `horus __guard GRACE`: the guard itself.
pub fn main(grace: &str) -> ExitCode {
    let grace = grace
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(Duration::from_secs(5));
    let mut groups = HashSet::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (add, pgid) = match line.split_at_checked(1) {
            Some(("+", n)) => (true, n),
            Some(("-", n)) => (false, n),
            _ => continue,
        };
        let Some(pgid) = pgid.parse::<i32>().ok().and_then(Pid::from_raw) else {
            continue;
        };
        if add {
            groups.insert(pgid);
        } else {
            groups.remove(&pgid);
        }
    }
    // End of input: the `horus` that started us is gone.
    let exists = |g: &Pid| rustix::process::test_kill_process_group(*g).is_ok();
    for g in &groups {
        let _ = rustix::process::kill_process_group(*g, Signal::TERM);
    }
    let deadline = crate::supervise::after(Instant::now(), grace);
    while groups.iter().any(exists) && Instant::now() < deadline {
        std::thread::sleep(crate::supervise::POLL);
    }
    for g in groups.iter().filter(|g| exists(g)) {
        let _ = rustix::process::kill_process_group(*g, Signal::KILL);
    }
    ExitCode::SUCCESS
}
