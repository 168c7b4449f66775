//! `horus run FILE... [-- ARGS]`: build each file, then run them all as
//! separate processes in one namespace and supervise them.
//!
//! - `.rs`: built as a program that can `use horus::prelude::*` (see [`build`]);
//!   all files are built before anything starts, and a build error stops there.
//! - `.py`: run with `-u` by a Python where `import horus` is this
//!   repository's `horus-py`: `HORUS_PYTHON`, else a virtual environment
//!   under the cache where `horus run` builds the module when it is missing
//!   or older than the sources (see [`python`]), before anything starts.
//! - One file: it shares the terminal (stdin, stdout, stderr) with `horus`
//!   (when stdout is not a terminal, its stdout is copied through `horus`).
//!   Several: each line of output is prefixed with `[program] `, each
//!   program in a process group of its own.
//! - A closed stdout (`horus run ... | head`) stops the programs as Ctrl+C
//!   does (they never see the broken pipe) and `horus` exits 141.
//! - Ctrl+C or SIGTERM to `horus`: SIGTERM to every program, SIGKILL to those
//!   still running after `--grace` seconds (at once on a second Ctrl+C).
//! - A program that exits on its own does not stop the others.
//! - Exit status: 0 if every program succeeded or stopped when asked, 1 if any failed.
//! - Starting while the namespace's e-stop is engaged prints a warning (every
//!   scheduler would start with its nodes held); `--json` is rejected (exit 2).

pub mod build;
pub mod python;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::Context;

use crate::Ctx;
use crate::exit::{self, Failure};
use crate::supervise::{self, Output, Proc, StopRequests};

/// Arguments of `horus run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Programs to run: `.rs` files (built first) or `.py` files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Build with optimizations.
    #[arg(short, long)]
    release: bool,
    /// Time between SIGTERM and SIGKILL when stopping: seconds (`1.5`) or
    /// with a unit (`500ms`).
    #[arg(long, default_value = "5", value_parser = crate::topic::secs, value_name = "SECS")]
    grace: Duration,
    /// Hide cargo's progress lines (compiler errors are still shown).
    #[arg(short, long)]
    quiet: bool,
    /// Arguments given to every program (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

/// How one file is run.
#[derive(Debug)]
struct Program {
    name: String,
    command: Command,
}

pub fn main(ctx: &Ctx, args: RunArgs) -> anyhow::Result<ExitCode> {
    if ctx.json {
        return Err(Failure::usage(
            "--json: `horus run` has no JSON output (its programs print what they print); \
             for machine-readable state use `horus node list --json`, `horus topic echo NAME --json` \
             or `horus monitor --once --json` next to it",
        )
        .into());
    }
    let grace = args.grace;
    // Check every file before building any, then build all before running any.
    let files = args
        .files
        .iter()
        .map(|f| check_file(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // One interpreter for every `.py` file (built once if needed).
    let python = if files.iter().any(|(_, k)| matches!(k, Kind::Python)) {
        Some(python::interpreter(args.release, args.quiet)?)
    } else {
        None
    };
    let mut programs = Vec::new();
    for (file, kind) in &files {
        programs.push(prepare(file, *kind, &args, python.as_deref())?);
    }
    let names = distinct(programs.iter().map(|p| p.name.clone()).collect());
    for (program, name) in programs.iter_mut().zip(names) {
        program.name = name;
    }
    crate::system::warn_if_estop_engaged(&ctx.namespace);
    start_guard(grace);
    // After the builds: what cargo or pip left running is not ours to stop.
    crate::orphans::adopt();
    let stop = StopRequests::watch()?;
    let output = if programs.len() > 1 {
        Output::Prefixed
    } else if std::io::stdout().is_terminal() {
        Output::Inherit
    } else {
        // Copied through us, so `horus run x.rs | head` never hands the
        // program a broken pipe.
        Output::Forwarded
    };
    let mut running = Vec::new();
    for mut p in programs {
        p.command
            .env(horus::shm::namespace::NAMESPACE_ENV, &ctx.namespace);
        // Several programs: each in a process group of its own (stdin is
        // closed, so none needs the terminal's foreground group).
        match Proc::spawn(&p.name, &mut p.command, output, output == Output::Prefixed) {
            Ok(proc) => {
                // The program's own pid: it is exec'd directly, never through a shell.
                note!("horus: started {} (pid {})", p.name, proc.pid());
                running.push(proc);
            }
            Err(e) => {
                supervise::stop_all(running, grace, || true);
                return Err(e).with_context(|| format!("starting {}", p.name));
            }
        }
    }
    Ok(supervise_programs(running, &stop, grace, &ctx.namespace))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rust,
    Python,
}

fn check_file(file: &Path) -> anyhow::Result<(PathBuf, Kind)> {
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("rs") => Kind::Rust,
        Some("py") => Kind::Python,
        _ => {
            return Err(Failure::usage(format!(
                "{}: unknown file type: horus run takes Rust (.rs) or Python (.py) files",
                file.display()
            ))
            .into());
        }
    };
    let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    if let Some(why) = not_a_source_file(&abs) {
        return Err(Failure::usage(format!("{}: {why}", file.display())).into());
    }
    // The build's Cargo.toml names the file, and TOML is UTF-8: a path that
    // is not would name another file ("can't find bin ... at path").
    if kind == Kind::Rust && abs.to_str().is_none() {
        return Err(Failure::usage(format!(
            "{}: its path is not UTF-8, and Cargo builds only from UTF-8 paths: rename the \
             file (or the folder holding the bytes that are not)",
            file.display()
        ))
        .into());
    }
    // Python puts the program's folder first on its module path: a
    // `horus.py` there is what `import horus` imports (Python says
    // "partially initialized module 'horus' ... circular import").
    let shadow = abs.with_file_name("horus.py");
    if kind == Kind::Python && shadow.is_file() {
        return Err(Failure::usage(format!(
            "{}: `import horus` in it would import {} instead of HORUS: rename that file",
            file.display(),
            shadow.display()
        ))
        .into());
    }
    Ok((abs, kind))
}

/// Why `path` (links followed) is not a source file to build or run, if
/// it is not: missing, a directory, a FIFO (whose reading would block),
/// a socket, a device, or not to be looked at.
fn not_a_source_file(path: &Path) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    let kind = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => return None,
        Ok(m) => m.file_type(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some("no such file".to_owned());
        }
        Err(e) => return Some(format!("cannot be read ({e})")),
    };
    let what = if kind.is_dir() {
        return Some("is a directory: give a .rs or .py file in it".to_owned());
    } else if kind.is_fifo() {
        "is a FIFO, not"
    } else if kind.is_socket() {
        "is a socket, not"
    } else if kind.is_block_device() || kind.is_char_device() {
        "is a device, not"
    } else {
        "is not"
    };
    Some(format!(
        "{what} a regular file: give the program's source file (.rs or .py)"
    ))
}

fn prepare(
    file: &Path,
    kind: Kind,
    args: &RunArgs,
    python: Option<&Path>,
) -> anyhow::Result<Program> {
    let name = file.file_stem().map_or_else(
        || "program".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    );
    let mut command = match kind {
        Kind::Rust => Command::new(build::build(file, args.release, args.quiet)?),
        Kind::Python => {
            let mut c = Command::new(python.context("no Python interpreter prepared")?);
            c.arg("-u").arg(file);
            c
        }
    };
    command.args(&args.args);
    Ok(Program { name, command })
}

/// `names` made distinct, so that output prefixes and messages tell the
/// programs apart: a name given again (`a/sensor.rs b/sensor.rs`, one file
/// twice) gets `#2`, `#3`... from its second on.
fn distinct(names: Vec<String>) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    names
        .into_iter()
        .map(|name| {
            let mut candidate = name.clone();
            let mut n = 1;
            while !taken.insert(candidate.clone()) {
                n += 1;
                candidate = format!("{name}#{n}");
            }
            candidate
        })
        .collect()
}

/// Starts the [`guard`](crate::guard) that stops the process groups of
/// the children if `horus` is killed; without one (said), the children still
/// get `PR_SET_PDEATHSIG`.
pub fn start_guard(grace: Duration) {
    if let Err(e) = crate::guard::start(grace) {
        note!(
            "horus: warning: could not start the guard process ({e}): if horus is killed, what the children started may survive them"
        );
    }
}

/// Waits for the programs; stops them all on Ctrl+C/SIGTERM; then stops
/// what they left running (see [`orphans`](crate::orphans)).
fn supervise_programs(
    mut running: Vec<Proc>,
    stop: &StopRequests,
    grace: Duration,
    namespace: &str,
) -> ExitCode {
    let mut failed = false;
    let mut descendants = crate::guard::Descendants::default();
    while !running.is_empty() {
        if stop.count_or_reader_gone() > 0 {
            for (name, status, killed) in supervise::stop_all(running, grace, stop.hurry()) {
                if killed || !supervise::stopped_cleanly(status) {
                    note!("horus: [{name}] {}", supervise::describe(status));
                    failed = true;
                }
            }
            break;
        }
        let mut still = Vec::new();
        for mut p in running {
            match p.try_wait() {
                Some(status) if status.success() => {
                    note!("horus: [{}] finished", p.name);
                }
                Some(status) => {
                    note!(
                        "horus: [{}] failed: {}",
                        p.name,
                        supervise::describe(status)
                    );
                    failed = true;
                    // Killed with its nodes running: the blackbox says so now.
                    crate::record_deaths(namespace);
                }
                None => still.push(p),
            }
        }
        running = still;
        let tracked: Vec<u32> = running.iter().map(Proc::pid).collect();
        crate::orphans::reap(&tracked);
        descendants.update();
        std::thread::sleep(supervise::POLL);
    }
    crate::orphans::stop("programs", grace, stop.hurry());
    if failed {
        ExitCode::from(exit::ERROR)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::distinct;

    #[test]
    fn programs_of_one_name_are_told_apart() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            distinct(names(&["sensor", "odometry", "sensor", "sensor"])),
            names(&["sensor", "odometry", "sensor#2", "sensor#3"])
        );
        assert_eq!(
            distinct(names(&["a", "a#2", "a"])),
            names(&["a", "a#2", "a#3"])
        );
    }
}
