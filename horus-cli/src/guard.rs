//! The guard: a helper process (`horus __guard GRACE`) that stops every
//! node's process group when the `horus` that started it ends in a way it
//! cannot act upon itself (SIGKILL, a crash). `PR_SET_PDEATHSIG` reaches only
//! a node's own process; what a `sh -c` node started would survive without it.
//!
//! `run` and `launch` start one guard ([`start`]) in a process group of its
//! own (a Ctrl+C at the terminal does not reach it), its stdin a pipe that
//! only `horus` holds (close-on-exec: no node inherits it). `horus` writes
//! `+PGID` for each process group it creates and `-PGID` once it has reaped
//! the group's leader and killed the group; for a child that stays in
//! `horus`'s own group (`run`'s single program, which keeps the terminal)
//! it writes `+pid PID START` (START: its start time, from `/proc/PID/stat`)
//! and `-pid PID` once reaped. The guard holds a pidfd of such a process,
//! opened when it reads the line and kept only if the start time matches,
//! so a pid reused after `horus` reaped it is never signalled. The kernel
//! closes the pipe when `horus` dies, however it dies: on end of input the
//! guard sends SIGTERM to every group and process still listed, SIGKILL
//! after the grace period to those still there, and exits. After a normal
//! exit of `horus` nothing is listed, and the guard exits at once.
//!
//! Processes in no group the guard knows (what a single program started,
//! what `horus` adopted, a node's `setsid` daemon) are told to it by pid
//! too: `horus` scans its descendants once a second ([`Descendants`]), so
//! one started less than a second before `horus` dies may be missed (the
//! program itself got SIGTERM through its parent-death signal and should
//! stop it). While `horus` lives, [`orphans`](crate::orphans) stops them.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, ExitCode, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, PidfdFlags, Signal};

/// The hidden subcommand that runs the guard.
pub const COMMAND: &str = "__guard";

/// The pipe to this process's guard, once started, and the guard's pid.
static GUARD: OnceLock<(Mutex<ChildStdin>, u32)> = OnceLock::new();

/// The guard's pid, once started (a child `horus` never reaps).
pub fn pid() -> Option<u32> {
    GUARD.get().map(|g| g.1)
}

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
    let pid = child.id();
    drop(child);
    let _ = GUARD.set((Mutex::new(pipe), pid));
    Ok(())
}

fn tell(line: &str) {
    if let Some((pipe, _)) = GUARD.get() {
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

/// The guard must stop process `pid` (a child of ours, not yet reaped, in
/// no group of its own) if `horus` dies.
pub fn watch_process(pid: u32) {
    if let Some(stat) = crate::orphans::stat_of(pid) {
        tell(&format!("+pid {pid} {}", stat.start));
    }
}

/// Process `pid` was reaped: no longer the guard's concern.
pub fn forget_process(pid: u32) {
    tell(&format!("-pid {pid}"));
}

/// How often [`Descendants::update`] scans.
const DESCENDANTS_EVERY: Duration = Duration::from_secs(1);

/// Every descendant of `horus` but the guard, told to the guard as it
/// appears and forgotten as it goes (see the module docs). Kept by pid and
/// start time, so a pid reused between two scans is a new process.
#[derive(Debug, Default)]
pub struct Descendants {
    told: HashSet<(u32, u64)>,
    scanned: Option<Instant>,
}

impl Descendants {
    /// Scans the descendants if the last scan is [`DESCENDANTS_EVERY`] old,
    /// and tells the guard what changed.
    pub fn update(&mut self) {
        if GUARD.get().is_none()
            || self
                .scanned
                .is_some_and(|t| t.elapsed() < DESCENDANTS_EVERY)
        {
            return;
        }
        self.scanned = Some(Instant::now());
        let mut pids = HashSet::new();
        let mut queue = crate::orphans::children_of(std::process::id());
        queue.retain(|&p| Some(p) != pid());
        while let Some(p) = queue.pop() {
            if pids.insert(p) {
                queue.extend(crate::orphans::children_of(p));
            }
        }
        let now: HashSet<(u32, u64)> = pids
            .into_iter()
            .filter_map(|p| Some((p, crate::orphans::stat_of(p)?.start)))
            .collect();
        // Forgotten first: a pid reused since is then watched again.
        for &(p, _) in self.told.difference(&now) {
            forget_process(p);
        }
        for &(p, start) in now.difference(&self.told) {
            tell(&format!("+pid {p} {start}"));
        }
        self.told = now;
    }
}

/// A pidfd of `pid` if it is still the process started at `start`.
fn open_process(pid: i32, start: u64) -> Option<OwnedFd> {
    let fd = rustix::process::pidfd_open(Pid::from_raw(pid)?, PidfdFlags::empty()).ok()?;
    // Read after the pidfd is open: if the start time matches now, the
    // pidfd is of that process (a pid is reused only after its reaping).
    let stat = crate::orphans::stat_of(u32::try_from(pid).ok()?)?;
    (stat.start == start).then_some(fd)
}

/// Has the process of `fd` exited? (Its pidfd is readable then.)
fn exited(fd: &OwnedFd) -> bool {
    let mut p = [PollFd::new(fd, PollFlags::IN)];
    matches!(rustix::event::poll(&mut p, Some(&Timespec::default())), Ok(n) if n > 0)
}

/// `horus __guard GRACE`: the guard itself.
pub fn main(grace: &str) -> ExitCode {
    let grace = grace
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(Duration::from_secs(5));
    let mut groups = HashSet::new();
    let mut processes = HashMap::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (add, what) = match line.split_at_checked(1) {
            Some(("+", w)) => (true, w),
            Some(("-", w)) => (false, w),
            _ => continue,
        };
        if let Some(process) = what.strip_prefix("pid ") {
            let mut words = process.split(' ').map(str::parse::<u64>);
            let Some(Ok(pid)) = words.next() else {
                continue;
            };
            let Ok(pid) = i32::try_from(pid) else {
                continue;
            };
            if !add {
                processes.remove(&pid);
            } else if let Some(fd) = words
                .next()
                .and_then(Result::ok)
                .and_then(|s| open_process(pid, s))
            {
                processes.insert(pid, fd);
            }
            continue;
        }
        let Some(pgid) = what.parse::<i32>().ok().and_then(Pid::from_raw) else {
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
    for fd in processes.values() {
        let _ = rustix::process::pidfd_send_signal(fd, Signal::TERM);
    }
    let deadline = crate::supervise::after(Instant::now(), grace);
    let running = |groups: &HashSet<Pid>, processes: &HashMap<i32, OwnedFd>| {
        groups.iter().any(exists) || processes.values().any(|fd| !exited(fd))
    };
    while running(&groups, &processes) && Instant::now() < deadline {
        std::thread::sleep(crate::supervise::POLL);
    }
    for g in groups.iter().filter(|g| exists(g)) {
        let _ = rustix::process::kill_process_group(*g, Signal::KILL);
    }
    for fd in processes.values().filter(|fd| !exited(fd)) {
        let _ = rustix::process::pidfd_send_signal(fd, Signal::KILL);
    }
    ExitCode::SUCCESS
}
