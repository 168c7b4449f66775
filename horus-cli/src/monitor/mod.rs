//! `horus monitor`: a live, system-wide view of the namespace — every node
//! of every process, every topic with its publishers and subscribers, the
//! topic graph between them ([`graph`]), the e-stop and the blackbox.
//!
//! - `horus monitor`: the web UI at `http://localhost:3000` (as the seed
//!   shows; `--port`, `--bind`), until Ctrl+C ([`web`]).
//! - `horus monitor --terminal`: the same view in the terminal, refreshed
//!   every `--interval`; `--once` prints one snapshot and exits (`--json`:
//!   the document the web UI's `/api/snapshot` serves).
//!
//! Everything is read the way `node list`, `topic list` and `bb` read it:
//! without a daemon, and without creating or changing anything.

mod access;
mod admission;
pub mod graph;
mod http;
mod text;
mod web;

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use horus::inspect::list_topics;
use horus::shm::Namespace;
use horus::system::{blackbox, estop};

use crate::Ctx;

/// `horus monitor`
#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// Print one snapshot in the terminal and exit.
    #[arg(long)]
    once: bool,
    /// A refreshing view in the terminal instead of the web UI.
    #[arg(long)]
    terminal: bool,
    /// Port of the web UI (0: any free port, printed).
    #[arg(long, default_value_t = 3000, conflicts_with_all = ["once", "terminal"])]
    port: u16,
    /// Address the web UI listens on (default: this machine only).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST), conflicts_with_all = ["once", "terminal"])]
    bind: IpAddr,
    /// A host name the web UI answers for besides its addresses, `localhost`
    /// and this machine's name (with --bind to a network address;
    /// repeatable): what the page is opened as, behind a DNS name.
    #[arg(long = "allow-host", value_name = "NAME", conflicts_with_all = ["once", "terminal"])]
    allow_host: Vec<String>,
    /// Time between refreshes of the terminal view (with --terminal).
    #[arg(long, default_value = "1s", value_parser = crate::topic::period_secs, value_name = "SECS", requires = "terminal")]
    interval: Duration,
}

impl MonitorArgs {
    /// `--once` or `--terminal`: printing to stdout, no web UI.
    pub fn in_terminal(&self) -> bool {
        self.once || self.terminal
    }
}

pub fn main(ctx: &Ctx, args: &MonitorArgs) -> anyhow::Result<ExitCode> {
    if !args.once && !args.terminal {
        return web::serve(ctx, args.bind, args.port, &args.allow_host);
    }
    let stop = crate::supervise::StopRequests::watch()?;
    let mut rates = graph::Rates::default();
    // A terminal is cleared before each snapshot; a pipe or a file gets a
    // separator line between them instead of screen codes.
    let clear = std::io::stdout().is_terminal();
    let mut first = true;
    loop {
        let snap = snapshot_json(ctx, &mut rates)?;
        if ctx.json {
            crate::json::print(&snap)?;
        } else {
            if !args.once && clear {
                crate::out::write("\x1b[2J\x1b[H"); // clear the screen, cursor home
            } else if !args.once && !first {
                let now = humantime::format_rfc3339_millis(std::time::SystemTime::now());
                outln!("\n--- {now} ---");
            }
            text::print(ctx, &snap);
        }
        first = false;
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        // Asked to stop is looked at once a snapshot at least, however
        // short the interval.
        let next = crate::supervise::after(Instant::now(), args.interval);
        loop {
            if stop.count() > 0 {
                return Ok(ExitCode::SUCCESS);
            }
            let now = Instant::now();
            if now >= next {
                break;
            }
            std::thread::sleep(crate::supervise::POLL.min(next - now));
        }
    }
}

/// The snapshot the web UI and `--once --json` show; the graph's rates are
/// measured against the previous samples in `rates`.
pub(crate) fn snapshot_json(
    ctx: &Ctx,
    rates: &mut graph::Rates,
) -> anyhow::Result<crate::json::Snapshot> {
    let ns = Some(ctx.namespace.as_str());
    let nodes = horus::system::registry::list(ns).context("reading the node registry")?;
    let opened = Namespace::open_existing(&ctx.namespace).context("opening the namespace")?;
    let topics = match &opened {
        Some(n) => list_topics(n).context("listing the topics")?,
        None => Vec::new(),
    };
    // Who holds the liveness locks here: a pid is named only once proved.
    let holders = opened
        .as_ref()
        .map(horus::shm::lock_holders::LockHolders::read)
        .unwrap_or_default();
    let topics: Vec<_> = topics
        .iter()
        .filter(|(name, _)| !crate::topic::is_system(name))
        .collect();
    let readable: Vec<_> = topics
        .iter()
        .filter_map(|(name, info)| Some((name.as_str(), info.as_ref().ok()?)))
        .collect();
    let procs = crate::names::Processes::new(&nodes).proving(holders);
    let (anomalies, overwritten) = anomaly_count(ctx)?;
    Ok(crate::json::Snapshot {
        namespace: ctx.namespace.clone(),
        estop: estop::state(ns).context("reading the e-stop")?,
        anomalies,
        overwritten,
        nodes: nodes.iter().map(Into::into).collect(),
        topics: crate::json::TopicRow::all(topics.iter().copied(), true, &procs),
        graph: graph::Graph::new(&nodes, &readable, rates, Instant::now(), &procs),
    })
}

/// The anomalies the blackbox holds, and how many of its records (of any
/// kind) were overwritten before them.
fn anomaly_count(ctx: &Ctx) -> anyhow::Result<(usize, u64)> {
    let dump = blackbox::read(Some(&ctx.namespace)).context("reading the blackbox")?;
    let anomalies = dump
        .entries
        .iter()
        .filter(|e| e.kind.is_none_or(|k| k.is_anomaly()))
        .count();
    Ok((anomalies, dump.overwritten))
}
