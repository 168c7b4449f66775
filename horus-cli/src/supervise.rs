//! Child processes of `horus run` and `horus launch`: spawning with prefixed
//! output, stopping (SIGTERM, then SIGKILL after a grace period), and the
//! SIGINT/SIGTERM that ask `horus` itself to stop.
//!
//! Every child gets `PR_SET_PDEATHSIG = SIGTERM`, so it is asked to stop if
//! `horus` dies without doing so (SIGKILL of `horus` included); launch nodes
//! without shell syntax are exec'd directly, so that child is the program.
//! A child can run in a process group of its own (every launch node, and
//! `run`'s programs when there are several): stopping it signals the whole
//! group, the group is SIGKILLed once its leader has exited (nothing a node
//! started outlives it), and a [`Proc`] dropped unreaped (an error or panic
//! in `horus`) kills its group. If `horus` dies without doing any of this
//! (SIGKILL), its [`guard`](crate::guard) stops every group it left, and a
//! child in no group of its own (`run`'s single program) by its pid. What
//! such a child starts is stopped by `horus run` once it ends
//! ([`orphans`](crate::orphans)).
//!
//! A closed stdout (`horus launch x.yaml | head`) never reaches a child: the
//! forwarders keep reading the children's pipes and drop the lines, so no
//! child sees EPIPE or SIGPIPE; the supervisor takes it as a stop request
//! ([`StopRequests::count`]) and `horus` then exits 141, as a program killed
//! by SIGPIPE does. What `horus` says itself goes through [`note`], which
//! never panics on a closed stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rustix::process::{Pid, Signal};

/// How often supervisors poll their children.
pub const POLL: Duration = Duration::from_millis(20);

/// Counts the SIGINT/SIGTERM received by `horus` (from the first `watch` on).
#[derive(Debug, Clone)]
pub struct StopRequests(Arc<AtomicUsize>);

impl StopRequests {
    /// Starts counting SIGINT and SIGTERM instead of dying of them.
    pub fn watch() -> anyhow::Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let count = Arc::new(AtomicUsize::new(0));
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
            .context("installing the SIGINT/SIGTERM handlers")?;
        let c = count.clone();
        std::thread::spawn(move || {
            for _ in signals.forever() {
                c.fetch_add(1, Ordering::SeqCst);
            }
        });
        Ok(Self(count))
    }

    /// How many stop requests arrived: stop signals, plus one once a write
    /// to our stdout failed (nobody reads what we print any more: see
    /// [`crate::out`]). One atomic load: the loops of `topic echo` and `hz`
    /// ask it per message.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst) + usize::from(crate::out::failed())
    }

    /// [`count`](Self::count), a pipe on our stdout that has no reader left
    /// counted as a failed write (a system call: for the supervisors of
    /// `run` and `launch`, which poll every [`POLL`], and whose children
    /// may print nothing more for hours: `horus launch x | head -1`).
    pub fn count_or_reader_gone(&self) -> usize {
        self.0.load(Ordering::SeqCst) + usize::from(crate::out::reader_gone())
    }

    /// For a stop that begins now: whether a further stop signal arrived
    /// (a second Ctrl+C), which hurries it (SIGKILL without waiting out the
    /// grace period). A second signal that arrived before the stop began
    /// (two Ctrl+C within one poll, `kill -INT; kill -TERM`) counts too; a
    /// closed stdout does not (a Ctrl+C at `horus launch x | head` closes it
    /// too: the nodes still get their grace period).
    pub fn hurry(&self) -> impl Fn() -> bool + '_ {
        let first = self.0.load(Ordering::SeqCst).min(1);
        move || self.0.load(Ordering::SeqCst) > first
    }
}

/// Says `line` on stderr; a closed or broken stderr is ignored (never a panic).
pub fn note(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Where a child's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Shared with `horus` (stdin too).
    Inherit,
    /// Each line prefixed with `[name] `; stdin closed.
    Prefixed,
    /// Stdin and stderr shared; stdout copied through `horus` unchanged, so
    /// a closed stdout (`| head`) never reaches the child (see the module doc).
    Forwarded,
}

/// A running child.
#[derive(Debug)]
pub struct Proc {
    /// Its name (the program's, or the node's).
    pub name: String,
    child: Child,
    own_group: bool,
    /// When it started.
    pub started: Instant,
    /// One message per output forwarder that has copied its last line.
    forwarded: std::sync::mpsc::Receiver<()>,
    forwarders: usize,
    /// Its exit status was collected.
    reaped: bool,
}

impl Drop for Proc {
    /// A child dropped while running (`horus` is failing or panicking): it
    /// and its process group are killed and reaped, never left behind.
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        self.signal(Signal::KILL);
        let _ = self.child.wait();
        self.after_reaping();
    }
}

/// How long, after a child exits, its last lines may take to be copied
/// (a grandchild that inherited the pipe may keep it open longer).
const DRAIN: Duration = Duration::from_secs(1);

/// Makes what `cmd` starts get SIGTERM when this process dies
/// (`PR_SET_PDEATHSIG`): the programs `horus` runs, and what it runs to
/// build them (cargo, maturin, pip), which would otherwise go on building
/// after a `horus` stopped before its programs started.
pub fn ends_with_us(cmd: &mut Command) {
    ends_with(cmd, rustix::process::getpid());
}

/// [`ends_with_us`] for the process `parent`. A parent that died between the
/// fork and the `prctl` sends no signal (the child was reparented first): the
/// child sees another parent and does not start the program (`spawn` fails
/// with `ESRCH`).
fn ends_with(cmd: &mut Command, parent: Pid) {
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed (no allocation, no lock, no
    // panic): it captures one `Pid` (a copy), and makes the `prctl` and
    // `getppid` system calls (through rustix, which neither allocates nor
    // locks); an error becomes an `io::Error` by `from_raw_os_error` (an
    // errno in the error's own word, no allocation), which `Command::spawn`
    // reports.
    unsafe {
        cmd.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(Signal::TERM))?;
            if rustix::process::getppid() != Some(parent) {
                return Err(rustix::io::Errno::SRCH.into());
            }
            Ok(())
        });
    }
}

impl Proc {
    /// Spawns `cmd` as `name`.
    pub fn spawn(
        name: &str,
        cmd: &mut Command,
        output: Output,
        own_group: bool,
    ) -> std::io::Result<Self> {
        match output {
            Output::Inherit => {}
            Output::Prefixed => {
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
            }
            Output::Forwarded => {
                cmd.stdout(Stdio::piped());
            }
        }
        if own_group {
            cmd.process_group(0);
        }
        ends_with_us(cmd);
        let mut child = cmd.spawn()?;
        if own_group {
            crate::guard::watch(child.id());
        } else {
            crate::guard::watch_process(child.id());
        }
        let (done, forwarded) = std::sync::mpsc::channel();
        let mut forwarders = 0;
        if output == Output::Forwarded {
            if let Some(out) = child.stdout.take() {
                forward_lines(out, String::new(), false, done.clone());
                forwarders += 1;
            }
        }
        if output == Output::Prefixed {
            let prefix = format!("[{name}] ");
            if let Some(out) = child.stdout.take() {
                forward_lines(out, prefix.clone(), false, done.clone());
                forwarders += 1;
            }
            if let Some(err) = child.stderr.take() {
                forward_lines(err, prefix, true, done);
                forwarders += 1;
            }
        }
        Ok(Self {
            name: name.to_owned(),
            child,
            own_group,
            started: Instant::now(),
            forwarded,
            forwarders,
            reaped: false,
        })
    }

    /// Waits (at most [`DRAIN`]) until its output forwarders have copied
    /// everything it wrote, so its last lines (a panic message, say) are
    /// printed before anything is said about its end.
    fn drain_output(&mut self) {
        let deadline = Instant::now() + DRAIN;
        while self.forwarders > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.forwarded.recv_timeout(left) {
                Ok(()) => self.forwarders -= 1,
                Err(_) => break,
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it has exited (reaped). What it started in its
    /// process group goes with it (SIGKILL to the group).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        let status = self.child.try_wait().ok().flatten()?;
        self.reaped = true;
        self.after_reaping();
        self.drain_output();
        Some(status)
    }

    /// Once it is reaped: SIGKILL to what is left of its process group, if
    /// it has one (the group's id cannot name anyone else while a member
    /// lives: the kernel does not reuse a pid that is still a process
    /// group's id), and the guard forgets it.
    fn after_reaping(&self) {
        if !self.own_group {
            crate::guard::forget_process(self.child.id());
            return;
        }
        if let Some(pid) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) {
            // ESRCH: the group is empty already.
            let _ = rustix::process::kill_process_group(pid, Signal::KILL);
        }
        crate::guard::forget(self.child.id());
    }

    /// Sends `sig` to it (to its group if it has its own).
    pub fn signal(&self, sig: Signal) {
        let Some(pid) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) else {
            return;
        };
        // Errors mean it is gone already (ESRCH): nothing to do.
        let _ = if self.own_group {
            rustix::process::kill_process_group(pid, sig)
        } else {
            rustix::process::kill_process(pid, sig)
        };
    }
}

/// The longest line forwarded whole; a longer one is forwarded in pieces
/// of this many bytes, each prefixed.
const MAX_LINE: u64 = 64 * 1024;

/// Copies `from` line by line to our stdout (or stderr), each line prefixed.
/// Says so on `done` when `from` is closed. Once writing fails (the reader
/// of our output is gone) it keeps reading `from` and drops the lines, so
/// the child never gets EPIPE; a failed stdout is kept by [`crate::out`].
fn forward_lines(
    from: impl Read + Send + 'static,
    prefix: String,
    to_stderr: bool,
    done: std::sync::mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut line = Vec::new();
        // The start of a character cut by the end of the last piece.
        let mut cut = Vec::new();
        let mut writable = true;
        loop {
            line.clear();
            line.append(&mut cut);
            // At most MAX_LINE bytes at a time: a child that writes without
            // newlines has its output cut into lines, not held in memory.
            let room = MAX_LINE - line.len() as u64;
            let eof = match (&mut reader).take(room).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => true,
                Ok(_) => false,
            };
            if eof && line.is_empty() {
                break;
            }
            // A piece never ends inside a character: that start goes with
            // the next piece (it would print as two U+FFFD otherwise).
            if !eof && !line.ends_with(b"\n") {
                if let Some(at) = cut_character(&line) {
                    cut = line.split_off(at);
                }
            }
            if !writable {
                if eof {
                    break;
                }
                continue; // drained, not written: see above
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            writable = if to_stderr {
                writeln!(std::io::stderr().lock(), "{prefix}{text}").is_ok()
            } else {
                crate::out::write(&format!("{prefix}{text}\n"))
            };
            if eof {
                break;
            }
        }
        let _ = done.send(());
    });
}

/// Where the incomplete UTF-8 character that `piece` ends with starts, if
/// it ends with one (its last 1 to 3 bytes).
fn cut_character(piece: &[u8]) -> Option<usize> {
    let from = piece.len().saturating_sub(3);
    // The last byte that is not a continuation byte (`10xxxxxx`).
    let start = (from..piece.len())
        .rev()
        .find(|&i| piece[i] & 0xC0 != 0x80)?;
    match std::str::from_utf8(&piece[start..]) {
        // Valid but cut short (not invalid): the rest follows.
        Err(e) if e.error_len().is_none() => Some(start),
        _ => None,
    }
}

/// `at + d`, or a time a century away where that would overflow `Instant`:
/// a huge `--grace`, `--timeout`, `--duration` or `start_delay` means
/// "practically never", not a panic.
pub fn after(at: Instant, d: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    at.checked_add(d)
        .or_else(|| at.checked_add(CENTURY))
        .unwrap_or(at)
}

/// Stops every child still running: SIGTERM, then SIGKILL to those still
/// running after `grace` (or at once if `hurry` reports a second request).
/// Returns each child's name, status, and whether it had to be killed.
pub fn stop_all(
    procs: Vec<Proc>,
    grace: Duration,
    hurry: impl Fn() -> bool,
) -> Vec<(String, ExitStatus, bool)> {
    for p in &procs {
        p.signal(Signal::TERM);
    }
    let deadline = after(Instant::now(), grace);
    let mut running = procs;
    let mut done = Vec::new();
    let mut killed = false;
    while !running.is_empty() {
        let mut still = Vec::new();
        for mut p in running {
            match p.try_wait() {
                Some(status) => done.push((std::mem::take(&mut p.name), status, killed)),
                None => still.push(p),
            }
        }
        running = still;
        if running.is_empty() {
            break;
        }
        if !killed && (Instant::now() >= deadline || hurry()) {
            for p in &running {
                note(&format!(
                    "horus: [{}] still running after SIGTERM: sending SIGKILL",
                    p.name
                ));
                p.signal(Signal::KILL);
            }
            killed = true;
        }
        std::thread::sleep(POLL);
    }
    done
}

/// Did a child that we asked to stop end the way a stopped program does
/// (success, or SIGTERM/SIGINT, or the shell's 128+n codes for them)?
pub fn stopped_cleanly(status: ExitStatus) -> bool {
    status.success()
        || matches!(status.signal(), Some(s) if s == Signal::TERM.as_raw() || s == Signal::INT.as_raw())
        || matches!(status.code(), Some(130 | 143))
}

/// `exit code 3`, `signal 9 (SIGKILL)`.
pub fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    match status.signal() {
        Some(s) => format!("signal {s}{}", signal_name(s)),
        None => status.to_string(),
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child whose parent is not the one it was spawned for (as after a
    /// `horus` died between the fork and the `prctl`) does not run the
    /// program.
    #[test]
    fn a_child_whose_parent_is_gone_does_not_start() {
        let dir = std::env::temp_dir().join(format!("horus-ends-with-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let mut cmd = Command::new("touch");
        cmd.arg(&dir);
        // Pid 1 stands for the parent the child would have after a reparenting.
        ends_with(&mut cmd, Pid::from_raw(1).expect("pid 1"));
        let e = cmd.spawn().expect_err("a child of another parent");
        assert_eq!(
            e.raw_os_error(),
            Some(rustix::io::Errno::SRCH.raw_os_error()),
            "{e}"
        );
        assert!(!dir.exists(), "the program ran");
        let mut ours = Command::new("touch");
        ours.arg(&dir);
        ends_with_us(&mut ours);
        assert!(ours.status().expect("touch").success() && dir.exists());
        let _ = std::fs::remove_file(&dir);
    }
}
