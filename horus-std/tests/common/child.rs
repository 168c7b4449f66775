//! Re-running this test binary as a child process: the parent's side
//! ([`spawn_child`], [`Peer`]) and the child's ([`child_role`], [`say`],
//! [`next_command`], [`die_with_parent`]).

use std::process::{Child, Command, Stdio};

/// Runs this test binary again as a child executing `role` (see `child_main`).
pub fn spawn_child(role: &str, ns: &str, args: &[&str]) -> Child {
    child_command(role, ns, args).spawn().expect("spawn child")
}

/// A command running this test binary. `HORUS_TEST_RUNNER`, if set, is put
/// in front of it (split on whitespace): a cross-compiled test binary run by
/// an emulator (`qemu-aarch64 -L /usr/aarch64-linux-gnu`, see
/// `ci/aarch64.sh`) cannot exec itself where no binfmt handler is registered.
pub fn self_command() -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let runner = std::env::var("HORUS_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None => Command::new(exe),
    }
}

/// The command [`spawn_child`] runs (stdout piped, stderr inherited): this
/// test binary running only its `child_main` test, as `role` with `args`, in
/// namespace `ns`.
pub fn child_command(role: &str, ns: &str, args: &[&str]) -> Command {
    let mut cmd = self_command();
    cmd.args([
        "--exact",
        "child_main",
        "--nocapture",
        "--include-ignored",
        "--test-threads=1",
    ])
    .env("HORUS_TEST_ROLE", role)
    .env("HORUS_TEST_ARGS", args.join(" "))
    .env("HORUS_NAMESPACE", ns)
    .env("HORUS_TEST_PARENT", std::process::id().to_string())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    cmd
}

/// Runs this test binary as a child executing `role` to the end; returns its
/// exit status, stdout and stderr.
pub fn child_output(role: &str, ns: &str, args: &[&str]) -> std::process::Output {
    child_command(role, ns, args)
        .stderr(Stdio::piped())
        .output()
        .expect("run child")
}

/// In a child (`child_main`): the role and arguments the parent gave.
/// Panics when there is none: `child_main` is only an entry point for the
/// parent tests (it is `#[ignore]`d), and run alone it must fail, not pass
/// having done nothing.
pub fn child_role() -> (String, Vec<String>) {
    let role = std::env::var("HORUS_TEST_ROLE").expect(
        "child_main is a child process entry point: HORUS_TEST_ROLE is not set; \
         run the parent tests instead",
    );
    let args = std::env::var("HORUS_TEST_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (role, args)
}

/// The body of a test binary's `child_main` (the `#[ignore]`d test that
/// [`spawn_child`] and [`Peer::spawn`] run) for children that must not
/// outlive their parent: takes the role and arguments the parent gave
/// ([`child_role`]), makes this process die with the parent
/// ([`die_with_parent`]), then runs `role(name, args)`.
pub fn run_child(role: impl FnOnce(&str, &[String])) {
    let (name, args) = child_role();
    die_with_parent();
    role(&name, &args);
}

/// Marks a protocol line a child prints (libtest may print its own text on
/// the same line first).
const TAG: &str = "@@";

/// A child process (see [`spawn_child`]) we talk to: its stdout lines arrive
/// on a channel (read by a thread, so waiting has a timeout) and its stdin
/// takes commands. Dropping it kills the child (SIGKILL) and reaps it, so a
/// failing test leaves no process holding the namespace.
pub struct Peer {
    pub child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    stdin: Option<std::process::ChildStdin>,
    role: String,
}

impl Peer {
    /// Spawns this test binary as a child running `role`, stdin piped.
    pub fn spawn(role: &str, ns: &str, args: &[&str]) -> Self {
        let mut child = child_command(role, ns, args)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find(TAG) {
                    if tx.send(line[at + TAG.len()..].to_owned()).is_err() {
                        break;
                    }
                }
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines,
            role: role.to_owned(),
        }
    }

    /// Waits (at most `secs`) for the child to say `word`; returns the rest of
    /// that line, split on whitespace. Panics if the child exits first.
    pub fn expect(&mut self, word: &str, secs: u64) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let mut parts = line.split_whitespace().map(str::to_owned);
                    if parts.next().as_deref() == Some(word) {
                        return parts.collect();
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("child {} did not say {word:?} within {secs} s", self.role)
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().expect("wait child");
                    panic!(
                        "child {} exited ({status}) before saying {word:?}",
                        self.role
                    )
                }
            }
        }
    }

    /// Whether the child has said `word` since the last `expect` (without
    /// waiting: only lines already printed count). Consumes what it reads.
    pub fn has_said(&mut self, word: &str) -> bool {
        while let Ok(line) = self.lines.try_recv() {
            if line.split_whitespace().next() == Some(word) {
                return true;
            }
        }
        false
    }

    /// Writes one command line to the child's stdin.
    pub fn tell(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("child stdin open");
        writeln!(stdin, "{line}").expect("write to child");
        stdin.flush().expect("flush child stdin");
    }

    /// Panics if the child has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!("child {} exited unexpectedly: {status}", self.role);
        }
    }

    /// SIGKILLs the child and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL child");
        self.child.wait().expect("reap child");
    }

    /// Closes the child's stdin, waits (at most `secs`) for it to exit, and
    /// asserts it succeeded. Lines it prints meanwhile are discarded.
    pub fn wait_success(&mut self, secs: u64) {
        self.stdin = None;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        // Its stdout closes when it exits.
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("child {} did not exit within {secs} s", self.role)
                }
            }
        }
        let status = self.child.wait().expect("reap child");
        assert!(status.success(), "child {} failed: {status}", self.role);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// In a child: prints a protocol line `word rest...` for [`Peer::expect`].
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n{TAG}{line}").expect("stdout");
    out.flush().expect("flush stdout");
}

/// In a child: the next command line from the parent (`Peer::tell`), trimmed;
/// `None` once the parent closed stdin (or died).
pub fn next_command() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_owned()),
    }
}

/// In a child: makes the kernel SIGKILL this process when the thread that
/// spawned it ends, so a child looping forever never outlives a test that
/// aborted (a `Peer` kills it on drop otherwise).
pub fn die_with_parent() {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .expect("prctl(PR_SET_PDEATHSIG)");
    // The parent may have gone before the call: then we were re-parented.
    if std::env::var("HORUS_TEST_PARENT").ok()
        != Some(
            rustix::process::getppid()
                .map_or(0, |p| p.as_raw_nonzero().get())
                .to_string(),
        )
    {
        std::process::exit(3);
    }
}
