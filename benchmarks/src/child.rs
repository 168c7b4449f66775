//! Cross-process rows: the benchmark binary re-executes itself as a child
//! with a role (`HORUS_BENCH_ROLE`) and arguments (`HORUS_BENCH_ARGS`). The
//! two sides coordinate through the child's stdout pipe ("ready" once its
//! endpoints exist, "done ..." at the end), never through sleeps; the hot
//! loop itself synchronises only through the shared memory being measured.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};

use crate::Res;

const ROLE_VAR: &str = "HORUS_BENCH_ROLE";
const ARGS_VAR: &str = "HORUS_BENCH_ARGS";

/// A running child role.
pub struct ChildProc {
    child: Child,
    out: BufReader<ChildStdout>,
    role: String,
}

/// Starts this binary as a child running `role` with `args` (no spaces in
/// an argument), pinned to core B.
pub fn spawn(role: &str, args: &[String]) -> Res<ChildProc> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(ROLE_VAR, role)
        .env(ARGS_VAR, args.join(" "))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let out = BufReader::new(child.stdout.take().ok_or("child stdout not piped")?);
    Ok(ChildProc {
        child,
        out,
        role: role.to_owned(),
    })
}

impl ChildProc {
    /// Waits for the child's line starting with `word`; returns the rest.
    pub fn expect(&mut self, word: &str) -> Res<Vec<String>> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.out.read_line(&mut line)? == 0 {
                let status = self.child.wait()?;
                return Err(format!(
                    "child {} exited ({status}) before saying {word:?}",
                    self.role
                )
                .into());
            }
            let mut parts = line.split_whitespace().map(str::to_owned);
            if parts.next().as_deref() == Some(word) {
                return Ok(parts.collect());
            }
        }
    }

    /// Waits for "done ..." and for the child to exit successfully.
    pub fn finish(mut self) -> Res<Vec<String>> {
        let rest = self.expect("done")?;
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("child {} failed: {status}", self.role).into());
        }
        Ok(rest)
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// In a child: prints one protocol line.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs the child role this process was started for, if any.
pub fn run_role() -> Option<ExitCode> {
    let role = std::env::var(ROLE_VAR).ok()?;
    let args: Vec<String> = std::env::var(ARGS_VAR)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    crate::sys::die_with_parent();
    crate::sys::pin(crate::sys::CORE_B);
    let result = match role.as_str() {
        "raw-pong" => crate::raw::child_pong(&args),
        "horus-pong" => crate::horus_rows::child_pong(&args),
        "horus-sink" => crate::throughput::child_sink(&args),
        "iox-pong" => crate::iceoryx::child_pong(&args),
        "pooled-pong" => crate::pooled_rows::child_pong(&args),
        "iox-slice-pong" => crate::iceoryx_slice::child_pong(&args),
        other => Err(format!("unknown child role {other}").into()),
    };
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("child {role}: {e}");
            ExitCode::FAILURE
        }
    })
}

/// Parses argument `i` of a child.
pub fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> Res<T> {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("child argument {i} missing or malformed in {args:?}").into())
}
