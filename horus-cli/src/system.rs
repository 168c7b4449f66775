//! `horus node list`, `horus bb`, `horus estop`: the namespace's system
//! topics (`horus::system`), read without a daemon. (`horus node
//! pause|resume|restart|kill` are in `node_control.rs`.)
//!
//! Looking (`node list`, `bb`, `estop` / `estop --status`) only reads; `estop --raise`
//! (or `--reason`) and `estop --clear` publish to the e-stop topic, which every scheduler of the
//! namespace follows within one tick.

use std::process::ExitCode;

use anyhow::Context;
use horus::system::blackbox::{self, BlackboxEntry};
use horus::system::control::ControlCommand;
use horus::system::estop;
use horus::system::registry;

use crate::exit::{self, Failure};
use crate::table::{self, Align::Left, Align::Right, Col};
use crate::{Ctx, colour};

/// `horus node ...`
#[derive(Debug, clap::Subcommand)]
pub enum NodeCommand {
    /// Every node of every live process in the namespace: PID, rate, CPU, memory, state.
    List,
    /// One node in full: its process, state, rates, misses, CPU, memory, and its process's topics.
    Info {
        /// Node name (as `node list` shows it).
        name: String,
        /// Only the node of this process id (nodes of one name may run in several processes).
        #[arg(long)]
        pid: Option<u32>,
    },
    /// Pause a node of any process: its safe_state runs, it is not ticked until resumed.
    Pause(crate::node_control::ControlArgs),
    /// Resume a paused node.
    Resume(crate::node_control::ControlArgs),
    /// Restart a node: its shutdown, then its init; its counters start over.
    Restart(crate::node_control::ControlArgs),
    /// Stop the process of a node: its scheduler shuts every node down and returns (SIGTERM if none answers).
    Kill(crate::node_control::ControlArgs),
}

/// `horus bb`
#[derive(Debug, clap::Args)]
pub struct BbArgs {
    /// Only anomalies (deadline misses, overruns, panics, errors, e-stops), no notes.
    #[arg(long)]
    anomalies: bool,
}

/// `horus estop`: bare, it shows the state (as `--status`); raising takes
/// `--raise` or a `--reason`, so looking never stops anything.
#[derive(Debug, clap::Args)]
pub struct EstopArgs {
    /// Raise the e-stop: every scheduler of the namespace holds its nodes.
    #[arg(long, conflicts_with_all = ["clear", "status"])]
    raise: bool,
    /// Clear the e-stop: schedulers resume ticking.
    #[arg(long, conflicts_with_all = ["status", "reason"])]
    clear: bool,
    /// Only print whether the e-stop is engaged (exit 0 if clear, 1 if engaged); the default.
    #[arg(long, conflicts_with = "reason")]
    status: bool,
    /// Raise the e-stop with this reason (recorded with it); implies `--raise`.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
}

/// The reason recorded by a bare `horus estop --raise`.
const DEFAULT_REASON: &str = "raised with `horus estop --raise`";

pub fn node(ctx: &Ctx, cmd: &NodeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        NodeCommand::List => node_list(ctx),
        NodeCommand::Info { name, pid } => crate::node_info::main(ctx, name, *pid),
        NodeCommand::Pause(a) => crate::node_control::main(ctx, ControlCommand::Pause, a),
        NodeCommand::Resume(a) => crate::node_control::main(ctx, ControlCommand::Resume, a),
        NodeCommand::Restart(a) => crate::node_control::main(ctx, ControlCommand::Restart, a),
        NodeCommand::Kill(a) => crate::node_control::main(ctx, ControlCommand::Kill, a),
    }
}

fn node_list(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let nodes = registry::list(Some(&ctx.namespace)).context("reading the node registry")?;
    let rows: Vec<crate::json::NodeRow> = nodes.iter().map(Into::into).collect();
    if ctx.json {
        crate::json::print_pretty(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    node_table(ctx, &rows);
    Ok(ExitCode::SUCCESS)
}

/// The table of `node list` (also `monitor --terminal`'s), or the line
/// saying there are no nodes.
pub(crate) fn node_table(ctx: &Ctx, nodes: &[crate::json::NodeRow]) {
    if nodes.is_empty() {
        outln!(
            "no running nodes in namespace {}; {}",
            ctx.namespace,
            crate::names::elsewhere(&ctx.namespace)
        );
        return;
    }
    let mut table = table::new(&[
        Col("NODE", 24, Left),
        Col("PID", 7, Right),
        Col("STATE", 9, Left),
        Col("RATE Hz", 9, Right),
        Col("MEAS. Hz", 9, Right),
        Col("TICKS", 10, Right),
        Col("MISSES", 7, Right),
        Col("CPU %", 6, Right),
        Col("MEM MiB", 9, Right),
    ]);
    for n in nodes {
        table.add_row(vec![
            crate::names::shown(&n.name).into_owned(),
            n.pid.to_string(),
            n.state.to_owned(),
            table::figure(n.rate_hz),
            // A process gone has no rate: its last figure would read as live.
            if n.alive {
                table::figure(n.measured_hz)
            } else {
                "-".to_owned()
            },
            n.ticks.to_string(),
            n.deadline_misses.saturating_add(n.overruns).to_string(),
            cpu_percent(n.cpu_percent),
            table::figure(n.rss_bytes as f64 / (1024.0 * 1024.0)),
        ]);
    }
    table::print(&table, |i| colour::of_state(nodes[i].state));
}

pub fn bb(ctx: &Ctx, args: &BbArgs) -> anyhow::Result<ExitCode> {
    let dump = blackbox::read(Some(&ctx.namespace)).context("reading the blackbox")?;
    let shown: Vec<&BlackboxEntry> = dump
        .entries
        .iter()
        .filter(|e| !args.anomalies || e.kind.is_none_or(|k| k.is_anomaly()))
        .collect();
    if ctx.json {
        crate::json::print_pretty(&crate::json::BlackboxJson {
            records: shown.iter().copied().map(Into::into).collect(),
            overwritten: dump.overwritten,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in &shown {
        let kind = e.kind.map_or("unknown", |k| k.name());
        outln!(
            "{}  pid {:<7} {} {:<20} {}",
            wall_time(e.wall_ns),
            e.pid,
            colour::paint(colour::of_kind(kind), &format!("{kind:<17}")),
            crate::names::shown(&e.node),
            crate::names::shown(&e.detail)
        );
    }
    outln!(
        "{} record(s){}; {} older record(s) overwritten",
        shown.len(),
        if args.anomalies { " (anomalies)" } else { "" },
        dump.overwritten
    );
    Ok(ExitCode::SUCCESS)
}

/// A node's CPU % of one core (`-` until the registry has two records of it).
pub(crate) fn cpu_percent(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_owned(), table::figure)
}

/// A record's wall-clock time, RFC 3339 UTC to the millisecond.
pub(crate) fn wall_time(wall_ns: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(wall_ns);
    humantime::format_rfc3339_millis(t).to_string()
}

pub fn estop_cmd(ctx: &Ctx, args: &EstopArgs) -> anyhow::Result<ExitCode> {
    let ns = Some(ctx.namespace.as_str());
    let raise = args.raise || args.reason.is_some();
    if !raise && !args.clear {
        let state = estop::state(ns).context("reading the e-stop")?;
        if ctx.json {
            crate::json::print(&crate::json::EstopJson {
                namespace: ctx.namespace.clone(),
                engaged: state.is_some(),
                reason: state.clone(),
            })?;
        } else {
            match &state {
                Some(reason) => outln!(
                    "e-stop {} in {}: {}",
                    colour::paint(colour::BAD, "ENGAGED"),
                    ctx.namespace,
                    crate::names::shown(reason)
                ),
                None => outln!(
                    "e-stop {} in {}",
                    colour::paint(colour::GOOD, "clear"),
                    ctx.namespace
                ),
            }
        }
        return Ok(ExitCode::from(if state.is_some() {
            exit::ERROR
        } else {
            0
        }));
    }
    if args.clear {
        // A namespace that does not exist has no e-stop to clear: clearing
        // there (a mistyped --namespace) must not create it.
        let exists = horus::shm::Namespace::open_existing(&ctx.namespace)
            .context("opening the namespace")?
            .is_some();
        if exists {
            estop::clear(ns).context("clearing the e-stop")?;
            if let Some(reason) = estop::state(ns).context("reading the e-stop back")? {
                return Err(not_taken(&ctx.namespace, "engaged", &reason).into());
            }
        }
        if ctx.json {
            crate::json::print(&crate::json::EstopJson {
                namespace: ctx.namespace.clone(),
                engaged: false,
                reason: None,
            })?;
        } else if exists {
            outln!("e-stop cleared in namespace {}", ctx.namespace);
        } else {
            outln!(
                "e-stop clear in namespace {}: the namespace does not exist (nothing has run in it), nothing to clear",
                ctx.namespace
            );
        }
    } else {
        let reason = args.reason.as_deref().unwrap_or(DEFAULT_REASON);
        if reason.trim().is_empty() {
            return Err(Failure::usage(format!(
                "--reason {reason:?}: give the e-stop a reason, not only blanks (or use --raise \
                 alone)"
            ))
            .into());
        }
        estop::raise(ns, reason).context("raising the e-stop")?;
        let Some(stored) = estop::state(ns).context("reading the e-stop back")? else {
            return Err(not_taken(&ctx.namespace, "clear", "").into());
        };
        if stored != reason {
            crate::supervise::note(&format!(
                "horus: note: the reason was cut to the {} bytes an e-stop message holds: {}",
                stored.len(),
                crate::names::shown(&stored)
            ));
        }
        if ctx.json {
            crate::json::print(&crate::json::EstopJson {
                namespace: ctx.namespace.clone(),
                engaged: true,
                reason: Some(stored),
            })?;
        } else {
            outln!(
                "e-stop {} in namespace {}: every scheduler holds its nodes until `horus estop --clear`",
                colour::paint(colour::BAD, "RAISED"),
                ctx.namespace
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A raise or a clear that published, but reads back `state` (`reason`):
/// a message stamped at the end of the clock's range outranks it, which no
/// horus process writes (they stamp with the monotonic clock, and a raise
/// or a clear outranks every stamp below that end).
fn not_taken(namespace: &str, state: &str, reason: &str) -> Failure {
    let reason = if reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", crate::names::shown(reason))
    };
    Failure::new(
        exit::ERROR,
        format!(
            "the e-stop of namespace {namespace} still reads {state}{reason}: a message stamped at          the end of the clock's range, which no horus process writes, outranks every raise and          clear. Stop the namespace's processes and remove its e-stop file, {}, by hand",
            horus::shm::Namespace::path_of(namespace)
                .join(format!("{}.topic", estop::ESTOP_TOPIC))
                .display()
        ),
    )
}

/// Warns (on stderr) when the e-stop of `namespace` is engaged: every
/// scheduler started there begins with its nodes held, which `run` and
/// `launch` must not let happen silently. An unreadable e-stop is said too.
pub fn warn_if_estop_engaged(namespace: &str) {
    match estop::state(Some(namespace)) {
        Ok(None) => {}
        Ok(Some(reason)) => crate::supervise::note(&format!(
            "horus: warning: the e-stop of namespace {namespace} is ENGAGED ({reason}): \
             every node starts held and will not tick until `horus estop --clear`"
        )),
        Err(e) => crate::supervise::note(&format!(
            "horus: warning: could not read the e-stop of namespace {namespace}: {e}"
        )),
    }
}
