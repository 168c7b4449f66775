//! `horus node pause|resume|restart|kill NAME`: control one node of any
//! process of the namespace through its control topic
//! (`horus::system::control`), then watch the registry until it shows the
//! result.
//!
//! The request names the node and its pid (from the registry), so only
//! that process acts on it. What is waited for: `Paused` (pause); not
//! `Paused` (resume: `Running`, or `Stopped` while the e-stop holds it);
//! a report made after the request with its tick count started over
//! (restart); the node gone or `Finished` (kill). Without an answer within
//! `--timeout`, `kill` sends SIGTERM to the pid the registry gives, which a
//! horus scheduler answers the same way, and waits again; the others fail
//! naming the node and what was not seen.
//!
//! A pid read from shared memory is the pid its process has in *its* pid
//! namespace: a scheduler in a container sharing `/dev/shm`, or started
//! with `unshare --pid`, registers as pid 1 or another number that names an
//! unrelated process here. So the SIGTERM is sent only once the process
//! with that pid here is proved to be the node's process: it holds the
//! liveness lock of the registry entry's token (`/proc/locks`, see
//! `horus::shm::lock_holders`). Otherwise nothing is signalled and the
//! error says the pid is unknown here.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use horus::shm::lock_holders::LockHolders;
use horus::system::control::{self, ControlCommand};
use horus::system::registry::{self, NodeEntry, NodeStatus};

use crate::Ctx;
use crate::exit::{self, Failure};

/// The longest `--timeout`.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// How often the registry is read while waiting.
const POLL: Duration = Duration::from_millis(20);

/// The arguments every control command takes.
#[derive(Debug, clap::Args)]
pub struct ControlArgs {
    /// Node name (as `node list` shows it).
    pub name: String,
    /// The node's process id: needed when nodes of this name run in several processes.
    #[arg(long)]
    pub pid: Option<u32>,
    /// How long to wait for the registry to show the new state (seconds, or 500ms, 2s).
    #[arg(long, default_value = "5", value_parser = crate::topic::secs, value_name = "SECS")]
    pub timeout: Duration,
}

pub fn main(ctx: &Ctx, command: ControlCommand, args: &ControlArgs) -> anyhow::Result<ExitCode> {
    let action = command.name();
    if args.name.trim().is_empty() {
        return Err(Failure::usage(format!(
            "node {action} \"\": give a node's name (`horus node list` shows them)"
        ))
        .into());
    }
    let timeout = args.timeout;
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(Failure::usage(format!(
            "--timeout {}: give a time above 0 and at most 3600 s",
            humantime::format_duration(timeout)
        ))
        .into());
    }
    let ns = Some(ctx.namespace.as_str());
    let target = find(ctx, &args.name, args.pid)?;
    let (name, pid) = (target.name.clone(), target.pid);
    if target.state == Some(NodeStatus::Crashed) && command != ControlCommand::Kill {
        return Err(Failure::new(
            exit::ERROR,
            format!(
                "node {name} (pid {pid}) is Crashed: it cannot be {}; restart its program \
                 (`horus bb` says what happened)",
                done_word(command)
            ),
        )
        .into());
    }
    let sent_ns = horus::time::now_ns();
    let request_id = sent_ns ^ u64::from(std::process::id());
    control::send(ns, &name, pid, command, request_id)
        .with_context(|| format!("sending the {action} request for node {name}"))?;
    let mut sigterm = false;
    let mut seen = wait(ctx, &target, command, sent_ns, timeout)?;
    if seen.is_err() && command == ControlCommand::Kill && process_alive(pid) {
        // No scheduler answered: stop the process as a user would, if the
        // pid here is provably the node's process.
        if !is_node_process_here(ctx, &target) {
            return Err(Failure::new(
                exit::ERROR,
                format!(
                    "node {name} did not answer the kill request within {}, and its pid {pid} \
                     is unknown here (another pid namespace? the process with pid {pid} here \
                     does not hold the node's liveness lock): nothing was signalled; stop its \
                     program where it runs (in its container or pid namespace)",
                    humantime::format_duration(timeout)
                ),
            )
            .into());
        }
        sigterm = true;
        if let Some(p) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
        }
        seen = wait(ctx, &target, command, horus::time::now_ns(), timeout)?;
    }
    let state = match seen {
        Ok(state) => state,
        Err(shown) => {
            return Err(Failure::new(
                exit::ERROR,
                format!(
                    "node {name} (pid {pid}) was not seen {} in the registry within {} (it \
                     shows {shown}){}: is its program a horus Scheduler running (with system \
                     topics)? `horus bb` records what its scheduler did; try a longer --timeout",
                    expected(command),
                    humantime::format_duration(timeout),
                    if sigterm { ", even after SIGTERM" } else { "" }
                ),
            )
            .into());
        }
    };
    if ctx.json {
        crate::json::print(&crate::json::NodeControlJson {
            namespace: ctx.namespace.clone(),
            node: name,
            pid,
            action,
            state,
            sigterm,
        })?;
    } else if sigterm {
        outln!(
            "node {name} (pid {pid}): no scheduler answered within {}; sent SIGTERM: {}",
            humantime::format_duration(timeout),
            state
        );
    } else {
        outln!(
            "node {name} (pid {pid}): {} (now {state})",
            done_word(command)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The live node `name` (of process `pid`, if given): exactly one.
fn find(ctx: &Ctx, name: &str, pid: Option<u32>) -> anyhow::Result<NodeEntry> {
    let all = registry::list(Some(&ctx.namespace)).context("reading the node registry")?;
    let named: Vec<&NodeEntry> = all
        .iter()
        .filter(|n| n.name == name && n.alive && n.state != Some(NodeStatus::Finished))
        .collect();
    if named.is_empty() {
        return Err(crate::node_info::no_node(ctx, name, &all).into());
    }
    let pids = || {
        named
            .iter()
            .map(|n| n.pid.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match pid {
        Some(p) => named
            .iter()
            .find(|n| n.pid == p)
            .map(|n| (*n).clone())
            .ok_or_else(|| {
                Failure::new(
                    exit::ERROR,
                    format!(
                        "no node {name} with pid {p} in namespace {} (it runs in pid {}); \
                         `horus node list` shows every node",
                        ctx.namespace,
                        pids()
                    ),
                )
                .into()
            }),
        None if named.len() > 1 => Err(Failure::usage(format!(
            "node {name} runs in {} processes (pids {}): choose one with --pid",
            named.len(),
            pids()
        ))
        .into()),
        None => Ok(named[0].clone()),
    }
}

/// Polls the registry until it shows what `command` leads to (`Ok` with
/// the state shown), or `timeout` passes (`Err` with the state shown then).
fn wait(
    ctx: &Ctx,
    target: &NodeEntry,
    command: ControlCommand,
    sent_ns: u64,
    timeout: Duration,
) -> anyhow::Result<Result<&'static str, &'static str>> {
    let deadline = Instant::now() + timeout;
    loop {
        let all = registry::list(Some(&ctx.namespace)).context("reading the node registry")?;
        let now = all
            .iter()
            .find(|n| n.name == target.name && n.pid == target.pid && n.owner == target.owner);
        let shown = now.map_or("Gone", |n| n.state.map_or("Unknown", |s| s.name()));
        if reached(command, target, now, sent_ns) {
            return Ok(Ok(shown));
        }
        if command == ControlCommand::Restart
            && now.is_some_and(|n| n.timestamp_ns > sent_ns)
            && shown == "Crashed"
        {
            return Err(Failure::new(
                exit::ERROR,
                format!(
                    "node {} (pid {}) was restarted but its init failed: it is stopped \
                     (Crashed); `horus bb` has the error",
                    target.name, target.pid
                ),
            )
            .into());
        }
        if Instant::now() >= deadline {
            return Ok(Err(shown));
        }
        std::thread::sleep(POLL);
    }
}

/// Whether the registry's entry `now` of the node shows `command` done.
fn reached(
    command: ControlCommand,
    before: &NodeEntry,
    now: Option<&NodeEntry>,
    sent_ns: u64,
) -> bool {
    let state = now.and_then(|n| n.state);
    match command {
        ControlCommand::Pause => state == Some(NodeStatus::Paused),
        ControlCommand::Resume => matches!(
            state,
            Some(NodeStatus::Running | NodeStatus::Error | NodeStatus::Stopped)
        ),
        ControlCommand::Restart => now.is_some_and(|n| {
            n.alive
                && n.timestamp_ns > sent_ns
                && (n.state == Some(NodeStatus::Starting) || n.figures.ticks < before.figures.ticks)
        }),
        _ => now.is_none_or(|n| !n.alive || n.state == Some(NodeStatus::Finished)),
    }
}

/// What the registry is expected to show, for the timeout's sentence.
fn expected(command: ControlCommand) -> &'static str {
    match command {
        ControlCommand::Pause => "Paused",
        ControlCommand::Resume => "Running",
        ControlCommand::Restart => "restarted (its tick count started over)",
        _ => "Finished or gone",
    }
}

fn done_word(command: ControlCommand) -> &'static str {
    match command {
        ControlCommand::Pause => "paused",
        ControlCommand::Resume => "resumed",
        ControlCommand::Restart => "restarted",
        _ => "stopped",
    }
}

/// Whether the process with `target`'s pid in this pid namespace is the
/// node's process: it holds the liveness lock of the entry's token (see
/// the module docs). False when that cannot be shown.
fn is_node_process_here(ctx: &Ctx, target: &NodeEntry) -> bool {
    match horus::shm::Namespace::open_existing(&ctx.namespace) {
        Ok(Some(ns)) => LockHolders::of_token(&ns, target.owner).proves(target.owner, target.pid),
        _ => false,
    }
}

/// Whether process `pid` exists (signal 0).
fn process_alive(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}
