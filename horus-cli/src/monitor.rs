//! `horus monitor`: a live, system-wide view of the namespace in the
//! terminal — every node of every process, every topic with its publishers
//! and subscribers, the e-stop and the blackbox — refreshed every
//! `--interval` until Ctrl+C; `--once` prints one snapshot and exits.
//!
//! The seed shows a web UI at `http://localhost:3000`; until that lands (see
//! docs/decisions.md) this terminal view shows the same data, read the same
//! way as `node list`, `topic list` and `bb`: without a daemon, and without
//! creating or changing anything.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use horus::inspect::list_topics;
use horus::shm::Namespace;
use horus::system::{blackbox, estop};

use crate::Ctx;
use crate::system::NodeCommand;

/// `horus monitor`
#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// Print one snapshot and exit.
    #[arg(long)]
    once: bool,
    /// Time between refreshes.
    #[arg(long, default_value = "1s", value_parser = crate::topic::secs, value_name = "SECS")]
    interval: Duration,
}

pub fn main(ctx: &Ctx, args: &MonitorArgs) -> anyhow::Result<ExitCode> {
    let stop = crate::supervise::StopRequests::watch()?;
    loop {
        if ctx.json {
            println!("{}", snapshot_json(ctx)?);
        } else {
            if !args.once {
                print!("\x1b[2J\x1b[H"); // clear the screen, cursor home
            }
            snapshot_text(ctx)?;
        }
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        let next = crate::supervise::after(Instant::now(), args.interval);
        while Instant::now() < next {
            if stop.count() > 0 {
                return Ok(ExitCode::SUCCESS);
            }
            std::thread::sleep(crate::supervise::POLL);
        }
    }
}

fn snapshot_text(ctx: &Ctx) -> anyhow::Result<()> {
    let ns = Some(ctx.namespace.as_str());
    let estop = estop::state(ns).context("reading the e-stop")?;
    let anomalies = anomaly_count(ctx)?;
    println!(
        "horus monitor: namespace {}  e-stop {}  anomalies {anomalies} (`horus bb --anomalies`)",
        ctx.namespace,
        estop.map_or_else(|| "clear".to_owned(), |r| format!("ENGAGED ({r})")),
    );
    println!();
    crate::system::node(ctx, &NodeCommand::List)?;
    println!();
    crate::topic::list(ctx, false, false)?;
    Ok(())
}

fn snapshot_json(ctx: &Ctx) -> anyhow::Result<serde_json::Value> {
    let ns = Some(ctx.namespace.as_str());
    let nodes = horus::system::registry::list(ns).context("reading the node registry")?;
    let topics = match Namespace::open_existing(&ctx.namespace).context("opening the namespace")? {
        Some(n) => list_topics(&n).context("listing the topics")?,
        None => Vec::new(),
    };
    let topics: Vec<_> = topics
        .iter()
        .filter(|(name, _)| !crate::topic::is_system(name))
        .map(|(name, info)| match info {
            Ok(i) => crate::topic::info_json(i, false),
            Err(e) => serde_json::json!({ "name": name, "error": e.to_string() }),
        })
        .collect();
    Ok(serde_json::json!({
        "namespace": ctx.namespace,
        "estop": estop::state(ns).context("reading the e-stop")?,
        "anomalies": anomaly_count(ctx)?,
        "nodes": nodes.iter().map(crate::system::node_json).collect::<Vec<_>>(),
        "topics": topics,
    }))
}

fn anomaly_count(ctx: &Ctx) -> anyhow::Result<usize> {
    let dump = blackbox::read(Some(&ctx.namespace)).context("reading the blackbox")?;
    Ok(dump
        .entries
        .iter()
        .filter(|e| e.kind.is_none_or(|k| k.is_anomaly()))
        .count())
}
