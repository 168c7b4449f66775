//! `horus launch FILE`: start the nodes of a launch file in one namespace and
//! supervise them (restarts with backoff, dependencies, start delays,
//! critical nodes). The file is validated completely before anything starts
//! (see [`file`]).
//!
//! - Each node runs its command (executed directly, or as `sh -c "<cmd>
//!   <args>"` when it has shell syntax: see [`command`]) in a process group
//!   of its own, from the launch file's folder, with `HORUS_NAMESPACE` set and the folder
//!   of this `horus` first on `PATH` (so `cmd: horus run x.rs` uses it).
//!   Output lines are prefixed with `[node] `.
//! - A node starts once every node it `depends_on` has started, plus its
//!   `start_delay` (counted from the latest of those starts, or from the launch).
//! - Restarts: `on-failure` (non-zero exit or a signal) or `always`; the delay
//!   starts at `restart_delay` and doubles on each consecutive restart up to
//!   `max_restart_delay`; a node that ran for 10 s or more starts over at
//!   `restart_delay`. `max_restarts` bounds the restarts (default: none).
//! - A `critical` node that fails stops the whole launch at once (no restart):
//!   the namespace's e-stop is raised ([`on_critical_failure`]), then SIGTERM
//!   to every node, SIGKILL after `--grace`, exit code 3.
//! - Ctrl+C / SIGTERM: every node gets SIGTERM, SIGKILL after `--grace`.
//! - Exit: 0 when every node ended well (or stopped when asked), 1 if one
//!   failed for good, 2 for an invalid file, 3 after a critical failure.

pub mod command;
pub mod env;
pub mod file;
mod order;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use crate::Ctx;
use crate::exit::{self, Failure};
use crate::supervise::{self, Output, Proc, StopRequests};
use file::{LaunchFile, NodeSpec, Restart};
use order::start_order;

/// A node that ran this long gets its restart delay reset.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// Arguments of `horus launch`.
#[derive(Debug, clap::Args)]
pub struct LaunchArgs {
    /// The launch file (YAML).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Validate the file and print what would start, in order; start nothing.
    #[arg(long)]
    dry_run: bool,
    /// Time between SIGTERM and SIGKILL when stopping: seconds (`1.5`) or
    /// with a unit (`500ms`).
    #[arg(long, default_value = "5", value_parser = crate::topic::secs, value_name = "SECS")]
    grace: Duration,
}

impl LaunchArgs {
    /// `--dry-run`: print the plan, start nothing.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }
}

pub fn main(ctx: &Ctx, args: &LaunchArgs) -> anyhow::Result<ExitCode> {
    let grace = args.grace;
    let launch = file::load(&args.file)?;
    // The flag wins, then the file, then HORUS_NAMESPACE / default.
    let namespace = match (&launch.namespace, ctx.namespace_from_flag) {
        (Some(ns), false) => ns.value.clone(),
        _ => ctx.namespace.clone(),
    };
    let dir = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let horus_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned));
    // What every node runs must exist and its shell line parse, before
    // anything starts (dry run or not).
    for spec in &launch.nodes {
        let path = node_path(&launch, spec, horus_dir.as_deref());
        command::check_needed_files(&args.file, spec, &dir, &path)?;
    }
    if args.dry_run {
        print_plan(ctx, &launch, &namespace);
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.json {
        return Err(Failure::usage(
            "--json: `horus launch` prints JSON only with --dry-run (the plan); its nodes print \
             what they print. For machine-readable state use `horus node list --json` or \
             `horus monitor --once --json` next to it",
        )
        .into());
    }
    crate::system::warn_if_estop_engaged(&namespace);
    crate::run::start_guard(grace);
    // What a node leaves outside its process group (a `setsid` daemon) is
    // adopted and stopped too (see `orphans`).
    crate::orphans::adopt();
    let stop = StopRequests::watch()?;
    let mut sup = Supervisor::new(&launch, namespace.clone(), dir, horus_dir);
    let code = sup.run(&stop, grace);
    drop(sup);
    crate::orphans::stop("nodes", grace, stop.hurry());
    // Raising the e-stop made this process a participant of that namespace.
    crate::release_liveness(&namespace);
    Ok(code)
}

fn print_plan(ctx: &Ctx, launch: &LaunchFile, namespace: &str) {
    let order = start_order(launch);
    if ctx.json {
        let nodes = order
            .iter()
            .map(|&i| {
                let n = &launch.nodes[i];
                crate::json::PlannedNode {
                    name: n.name.value.clone(),
                    command: n.command_line(),
                    env: n.env.vars.clone(),
                    restart: n.restart.to_string(),
                    max_restarts: n.max_restarts,
                    depends_on: n.depends_on.iter().map(|d| d.value.clone()).collect(),
                    start_delay_s: n.start_delay.0.as_secs_f64(),
                    critical: n.critical,
                }
            })
            .collect();
        let plan = crate::json::LaunchPlan {
            namespace: namespace.to_owned(),
            env: launch.env.vars.clone(),
            nodes,
        };
        // A closed stdout ends this command by SIGPIPE (`prints_only`).
        let _ = crate::json::print(&plan);
        return;
    }
    outln!("namespace: {namespace}");
    for (k, &i) in order.iter().enumerate() {
        let n = &launch.nodes[i];
        let mut notes = Vec::new();
        if !n.depends_on.is_empty() {
            let deps: Vec<&str> = n.depends_on.iter().map(|d| d.value.as_str()).collect();
            notes.push(format!("after {}", deps.join(", ")));
        }
        if !n.start_delay.0.is_zero() {
            notes.push(format!("delay {:?}", n.start_delay.0));
        }
        if n.restart != Restart::Never {
            notes.push(format!("restart {}", n.restart));
        }
        if n.critical {
            notes.push("critical".into());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        outln!("{}. {}: {}{notes}", k + 1, n.name.value, n.command_line());
    }
    outln!("(dry run: nothing started)");
}

/// What a node is doing.
#[derive(Debug)]
enum State {
    Waiting,
    Running(Proc),
    /// Waiting to restart until the instant; `failed`: its last run failed
    /// (what the launch reports if it is stopped before the restart).
    Backoff {
        until: Instant,
        failed: bool,
    },
    Ended {
        failed: bool,
    },
}

#[derive(Debug)]
struct Node<'f> {
    spec: &'f NodeSpec,
    state: State,
    first_started: Option<Instant>,
    restarts: u32,
    consecutive: u32,
}

struct Supervisor<'f> {
    launch: &'f LaunchFile,
    nodes: Vec<Node<'f>>,
    order: Vec<usize>,
    /// Each node's dependencies, as indices into `nodes`.
    deps: Vec<Vec<usize>>,
    namespace: String,
    dir: PathBuf,
    /// Where this `horus` is: first on every node's PATH.
    horus_dir: Option<PathBuf>,
    started: Instant,
    /// What the guard is told of the nodes' descendants.
    descendants: crate::guard::Descendants,
    /// A critical node that could not be started (its program could not be
    /// executed): handled as its failure.
    critical_not_started: Option<String>,
}

impl<'f> Supervisor<'f> {
    fn new(
        launch: &'f LaunchFile,
        namespace: String,
        dir: PathBuf,
        horus_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            launch,
            nodes: launch
                .nodes
                .iter()
                .map(|spec| Node {
                    spec,
                    state: State::Waiting,
                    first_started: None,
                    restarts: 0,
                    consecutive: 0,
                })
                .collect(),
            order: start_order(launch),
            deps: order::dependency_indices(launch),
            namespace,
            dir,
            horus_dir,
            started: Instant::now(),
            descendants: crate::guard::Descendants::default(),
            critical_not_started: None,
        }
    }

    fn run(&mut self, stop: &StopRequests, grace: Duration) -> ExitCode {
        let n = self.nodes.len();
        note!(
            "horus: launching {n} node{} in namespace {}",
            if n == 1 { "" } else { "s" },
            self.namespace
        );
        loop {
            if stop.count_or_reader_gone() > 0 {
                let clean = self.stop_all(grace, stop.hurry());
                return if clean && !self.any_failed() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(exit::ERROR)
                };
            }
            if let Some(name) = self.poll_exits() {
                self.on_critical_failure(&name);
                self.stop_all(grace, stop.hurry());
                return ExitCode::from(exit::CRITICAL);
            }
            self.start_ready();
            if let Some(name) = self.critical_not_started.take() {
                self.on_critical_failure(&name);
                self.stop_all(grace, stop.hurry());
                return ExitCode::from(exit::CRITICAL);
            }
            if self
                .nodes
                .iter()
                .all(|n| matches!(n.state, State::Ended { .. }))
            {
                return if self.any_failed() {
                    ExitCode::from(exit::ERROR)
                } else {
                    ExitCode::SUCCESS
                };
            }
            let tracked: Vec<u32> = self
                .nodes
                .iter()
                .filter_map(|n| match &n.state {
                    State::Running(p) => Some(p.pid()),
                    _ => None,
                })
                .collect();
            crate::orphans::reap(&tracked);
            self.descendants.update();
            std::thread::sleep(supervise::POLL);
        }
    }

    fn any_failed(&self) -> bool {
        self.nodes
            .iter()
            .any(|n| matches!(n.state, State::Ended { failed: true }))
    }

    /// Reaps exited nodes and schedules restarts; returns a critical node that failed.
    fn poll_exits(&mut self) -> Option<String> {
        for node in &mut self.nodes {
            let State::Running(p) = &mut node.state else {
                continue;
            };
            let Some(status) = p.try_wait() else { continue };
            let ran = p.started.elapsed();
            let name = node.spec.name.value.clone();
            let failed = !status.success();
            if failed && node.spec.critical {
                note!(
                    "horus: [{name}] critical node failed: {}",
                    supervise::describe(status)
                );
                node.state = State::Ended { failed: true };
                return Some(name);
            }
            if failed {
                // A node killed with its nodes running: the blackbox says so now.
                crate::record_deaths(&self.namespace);
            }
            node.state = next_state(node, status, ran);
        }
        None
    }

    /// Starts the nodes whose dependencies have started and whose delay has passed.
    fn start_ready(&mut self) {
        let now = Instant::now();
        for k in 0..self.order.len() {
            let i = self.order[k];
            if matches!(self.nodes[i].state, State::Waiting) {
                if let Some(dep) = self.dependency_never_started(i) {
                    note!(
                        "horus: [{}] not started: it depends on {dep}, which could not start",
                        self.nodes[i].spec.name.value
                    );
                    self.nodes[i].state = State::Ended { failed: true };
                    continue;
                }
            }
            let due = match self.nodes[i].state {
                State::Waiting => self
                    .dependencies_started(i)
                    .is_some_and(|t| now >= supervise::after(t, self.nodes[i].spec.start_delay.0)),
                State::Backoff { until, .. } => now >= until,
                _ => false,
            };
            if due {
                self.start(i);
            }
        }
    }

    /// A dependency of node `i` that ended without ever starting (its program
    /// could not be executed, or one of its own dependencies could not):
    /// node `i` never can.
    fn dependency_never_started(&self, i: usize) -> Option<&str> {
        self.deps[i].iter().find_map(|&j| {
            let dep = &self.nodes[j];
            let never = dep.first_started.is_none() && matches!(dep.state, State::Ended { .. });
            never.then_some(dep.spec.name.value.as_str())
        })
    }

    /// When the last of node `i`'s dependencies started (the launch start if none).
    fn dependencies_started(&self, i: usize) -> Option<Instant> {
        let mut latest = self.started;
        for &j in &self.deps[i] {
            latest = latest.max(self.nodes[j].first_started?);
        }
        Some(latest)
    }

    fn start(&mut self, i: usize) {
        let spec = self.nodes[i].spec;
        let path = node_path(self.launch, spec, self.horus_dir.as_deref());
        let line = spec.command_line();
        // Without shell syntax the node's process is the program itself.
        let mut cmd = match command::argv(&line) {
            Some(words) => {
                let program = command::resolve(&words[0], &self.dir, &path)
                    .unwrap_or_else(|| words[0].clone().into());
                let mut c = Command::new(program);
                c.args(&words[1..]);
                c
            }
            None => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(&line);
                c
            }
        };
        cmd.current_dir(&self.dir)
            .envs(&self.launch.env.vars)
            .envs(&spec.env.vars)
            .env(horus::shm::namespace::NAMESPACE_ENV, &self.namespace)
            .env("PATH", path);
        let node = &mut self.nodes[i];
        match Proc::spawn(&spec.name.value, &mut cmd, Output::Prefixed, true) {
            Ok(p) => {
                note!(
                    "horus: started {} (pid {}): {}",
                    spec.name.value,
                    p.pid(),
                    spec.command_line()
                );
                node.first_started.get_or_insert_with(Instant::now);
                node.state = State::Running(p);
            }
            Err(e) => {
                note!("horus: [{}] could not start: {e}", spec.name.value);
                node.state = State::Ended { failed: true };
                if spec.critical {
                    self.critical_not_started = Some(spec.name.value.clone());
                }
            }
        }
    }

    /// SIGTERM to all, SIGKILL after `grace`; true if all stopped cleanly.
    fn stop_all(&mut self, grace: Duration, hurry: impl Fn() -> bool) -> bool {
        let mut procs = Vec::new();
        for n in &mut self.nodes {
            match std::mem::replace(&mut n.state, State::Ended { failed: false }) {
                State::Running(p) => procs.push(p),
                State::Ended { failed } | State::Backoff { failed, .. } => {
                    n.state = State::Ended { failed };
                }
                State::Waiting => {}
            }
        }
        if !procs.is_empty() {
            note!(
                "horus: stopping {} node{}",
                procs.len(),
                if procs.len() == 1 { "" } else { "s" }
            );
        }
        let mut clean = true;
        for (name, status, killed) in supervise::stop_all(procs, grace, hurry) {
            if killed || !supervise::stopped_cleanly(status) {
                note!("horus: [{name}] {}", supervise::describe(status));
                clean = false;
            }
        }
        clean
    }

    /// A critical node died: raise the namespace's e-stop (every scheduler
    /// there holds its nodes, in this launch and outside it), then the launch
    /// stops. The e-stop stays engaged until `horus estop --clear`.
    fn on_critical_failure(&self, node: &str) {
        let reason = format!("critical node {node} of launch failed");
        note!(
            "horus: {reason}: raising the e-stop and stopping the whole launch (namespace {})",
            self.namespace
        );
        crate::record_deaths(&self.namespace);
        if let Err(e) = horus::system::estop::raise(Some(&self.namespace), &reason) {
            note!("horus: could not raise the e-stop: {e}");
        }
    }
}

/// A node's PATH: this horus's directory first, so `cmd: horus ...` runs
/// the same build, then the PATH the node's or the file's `env` gives, else
/// our own.
fn node_path(launch: &LaunchFile, spec: &NodeSpec, horus_dir: Option<&Path>) -> std::ffi::OsString {
    let given = spec
        .env
        .vars
        .get("PATH")
        .or_else(|| launch.env.vars.get("PATH"))
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    let paths = horus_dir
        .map(Path::to_owned)
        .into_iter()
        .chain(std::env::split_paths(&given));
    std::env::join_paths(paths).unwrap_or(given)
}

/// What follows an exit of `node`: a restart after a backoff, or the end.
fn next_state(node: &mut Node<'_>, status: ExitStatus, ran: Duration) -> State {
    let spec = node.spec;
    let name = &spec.name.value;
    let failed = !status.success();
    let wants = match spec.restart {
        Restart::Never => false,
        Restart::OnFailure => failed,
        Restart::Always => true,
    };
    let what = if failed {
        format!("failed: {}", supervise::describe(status))
    } else {
        "finished".to_owned()
    };
    if !wants {
        note!("horus: [{name}] {what}");
        return State::Ended { failed };
    }
    if spec.max_restarts.is_some_and(|max| node.restarts >= max) {
        note!(
            "horus: [{name}] {what}; not restarting: it was restarted {} times (max_restarts)",
            node.restarts
        );
        return State::Ended { failed };
    }
    if ran >= STABLE_AFTER {
        node.consecutive = 0;
    }
    let delay = backoff(
        spec.restart_delay.0,
        spec.max_restart_delay.0,
        node.consecutive,
    );
    node.consecutive += 1;
    node.restarts += 1;
    note!(
        "horus: [{name}] {what}; restarting in {:.1}s (restart {})",
        delay.as_secs_f64(),
        node.restarts
    );
    State::Backoff {
        until: supervise::after(Instant::now(), delay),
        failed,
    }
}

/// The shortest step of the doubling when `restart_delay` is 0: an
/// immediate first restart, then no crash loop of dozens a second.
const BACKOFF_FLOOR: Duration = Duration::from_millis(100);

/// `first` the first time (`n == 0`), then `max(first, BACKOFF_FLOOR) *
/// 2^n`, at most `max` (or `first`, if that is larger).
fn backoff(first: Duration, max: Duration, n: u32) -> Duration {
    if n == 0 {
        return first;
    }
    first
        .max(BACKOFF_FLOOR)
        .saturating_mul(1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX))
        .min(max.max(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let s = Duration::from_millis(500);
        let max = Duration::from_secs(30);
        assert_eq!(backoff(s, max, 0), s);
        assert_eq!(backoff(s, max, 1), Duration::from_secs(1));
        assert_eq!(backoff(s, max, 3), Duration::from_secs(4));
        assert_eq!(backoff(s, max, 40), max);
    }

    #[test]
    fn a_zero_restart_delay_restarts_at_once_then_backs_off() {
        let max = Duration::from_secs(30);
        assert_eq!(backoff(Duration::ZERO, max, 0), Duration::ZERO);
        assert_eq!(backoff(Duration::ZERO, max, 1), 2 * BACKOFF_FLOOR);
        assert_eq!(backoff(Duration::ZERO, max, 5), 32 * BACKOFF_FLOOR);
        assert_eq!(backoff(Duration::ZERO, max, 40), max);
    }
}
