//! `horus topic info NAME` (as `ros2 topic info -v`): one topic in full.
//!
//! Read-only: the region is mapped under the shared lock twice (no handle
//! joins), and the rate is the change of its `published` count between the
//! two reads, `--window` apart (`--no-rate`: one read, no wait). Each
//! process using the topic is named by its program and the nodes its
//! scheduler registered; a handle records its process, not its node. What a
//! subscriber lost is counted in its own process only, so drops are shown as
//! unknown rather than as zero.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use horus::inspect::{TopicInfo, topic_info};
use horus::shm::Namespace;

use crate::Ctx;
use crate::json::{FieldJson, Participant, ProcessJson, TopicDetail};
use crate::names::Processes;

/// Arguments of `horus topic info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Topic name.
    name: String,
    /// Time over which the rate is sampled.
    #[arg(long, default_value = "1s", value_parser = super::period_secs, value_name = "SECS")]
    window: Duration,
    /// Do not measure the rate (answer at once).
    #[arg(long, conflicts_with = "window")]
    no_rate: bool,
    /// Accepted as `ros2 topic info -v` takes it: `topic info` always shows everything.
    #[arg(short, long)]
    verbose: bool,
}

pub fn main(ctx: &Ctx, args: &InfoArgs) -> anyhow::Result<ExitCode> {
    let first = read(ctx, &args.name)?;
    let (info, rate) = if args.no_rate {
        (first, None)
    } else {
        let t0 = Instant::now();
        std::thread::sleep(args.window);
        let second = read(ctx, &args.name)?;
        let dt = t0.elapsed().as_secs_f64();
        // A smaller count: the topic was created anew meanwhile; no rate.
        let rate = second
            .published
            .checked_sub(first.published)
            .map(|n| n as f64 / dt);
        (second, Some((rate, dt)))
    };
    let procs = Processes::load(&ctx.namespace);
    let doc = detail(ctx, &info, rate, &procs);
    if ctx.json {
        crate::json::print_pretty(&doc)?;
    } else {
        print_text(&doc, info.serialized.is_some());
    }
    Ok(ExitCode::SUCCESS)
}

/// The topic as it is now; an absent one is the error every topic command gives.
/// Reads topic `name`'s region (under the shared lock, nothing joined), or
/// explains that it is absent.
pub fn read(ctx: &Ctx, name: &str) -> anyhow::Result<TopicInfo> {
    super::check_name(name)?;
    let ns = Namespace::open_existing(&ctx.namespace).context("opening the namespace")?;
    let info = match ns {
        Some(ns) => topic_info(&ns, name).with_context(|| format!("reading topic {name}"))?,
        None => None,
    };
    info.ok_or_else(|| super::no_topic(ctx, name).into())
}

fn detail(
    ctx: &Ctx,
    i: &TopicInfo,
    rate: Option<(Option<f64>, f64)>,
    procs: &Processes,
) -> TopicDetail {
    let roles = super::Roles::of(i);
    let role = |pids: &[u32], pred: super::RolePred, sub: bool| {
        pids.iter()
            .map(|&pid| Participant {
                process: ProcessJson::new(pid, procs),
                by_nodes: super::handle_nodes(i, pid, pred, procs.nodes(pid)).0,
                handles: i
                    .participants
                    .iter()
                    .filter(|p| p.alive && p.pid == pid && pred(p))
                    .count(),
                dropped: sub.then_some(None),
            })
            .collect()
    };
    TopicDetail {
        namespace: ctx.namespace.clone(),
        name: i.name.clone(),
        type_name: i.type_name.clone(),
        type_id: format!("{:#018x}", i.type_id),
        message_size: i.message_size,
        capacity: i.capacity,
        max_participants: i.max_participants,
        max_publishers: i.max_publishers,
        lanes_in_use: i.lanes_in_use,
        region_bytes: i.region_bytes,
        resident_bytes: i.resident_bytes,
        path: i.path.clone(),
        published: i.published,
        rate_hz: rate.and_then(|r| r.0),
        window_s: rate.map(|r| r.1),
        fields: FieldJson::all(i),
        pooled: horus::pooled::PooledKind::of_type(i.type_id).map(|k| k.name()),
        pool: crate::json::PoolSegmentJson::all(i),
        pool_unreadable: crate::json::UnreadableSegmentJson::all(i),
        publishers: role(&roles.publishers, super::PUBLISHES, false),
        subscribers: role(&roles.subscribers, super::SUBSCRIBES, true),
        holders: role(&roles.holders, super::HOLDS, false),
    }
}

fn print_text(d: &TopicDetail, serialized: bool) {
    // Names come from shared memory: their control characters escaped.
    let shown = crate::names::shown;
    outln!("topic:     {}", shown(&d.name));
    outln!(
        "type:      {} ({}), {} bytes",
        shown(&d.type_name),
        d.type_id,
        d.message_size
    );
    outln!(
        "capacity:  {} slots per publisher, {} handles at most, region {} bytes ({} in memory)",
        d.capacity,
        d.max_participants,
        d.region_bytes,
        d.resident_bytes
    );
    outln!(
        "lanes:     {} of {} in use (max_publishers)",
        d.lanes_in_use,
        d.max_publishers
    );
    outln!("published: {}", d.published);
    match (d.rate_hz, d.window_s) {
        (Some(r), Some(w)) => outln!("rate:      {} Hz (over {w:.1} s)", crate::table::figure(r)),
        (None, Some(_)) => outln!("rate:      unknown (the topic was created anew meanwhile)"),
        _ => outln!("rate:      not measured (--no-rate)"),
    }
    outln!("path:      {}", shown(&d.path.display().to_string()));
    if serialized {
        outln!(
            "fields:    (serialized, postcard: `topic echo` decodes it with the schema stored in the region)"
        );
    } else if d.fields.is_empty() {
        outln!("fields:    (no self-description: `topic echo` shows hex)");
    } else {
        outln!("fields:");
        for f in &d.fields {
            let ty = super::codec::rust_type(f.kind.unwrap_or("?"), &f.shape);
            outln!(
                "  {:<24} {ty:<12} @{} ({} bytes)",
                shown(&f.name),
                f.offset,
                f.size
            );
        }
    }
    if let (Some(kind), Some(pool)) = (d.pooled, &d.pool) {
        outln!("pool:      the messages are descriptors of {kind} blocks in the publishers' pools");
        if pool.is_empty() && d.pool_unreadable.as_ref().is_none_or(Vec::is_empty) {
            outln!("  no segment yet");
        }
        for s in pool {
            let dead = if s.publisher_alive { "" } else { " (dead)" };
            outln!(
                "  pid {}{dead} segment {}: {} blocks of {} B, {} in use, {} published, \
                 {} loans refused",
                s.pid,
                s.segment,
                s.blocks,
                s.block_size,
                s.in_use,
                s.published,
                s.loans_failed
            );
        }
        for u in d.pool_unreadable.iter().flatten() {
            outln!("  unreadable: {}", u.error);
        }
    }
    for (title, list, extra) in [
        ("publishers", &d.publishers, ""),
        (
            "subscribers",
            &d.subscribers,
            "; drops unknown (counted in the subscriber's process only)",
        ),
        ("opened, neither published nor received yet", &d.holders, ""),
    ] {
        if list.is_empty() && title.starts_with("opened") {
            continue;
        }
        outln!("{title} ({}):", list.len());
        for p in list {
            let program = p.process.program.as_deref().unwrap_or("?");
            let program = if p.by_nodes.is_empty() {
                program.to_owned()
            } else {
                format!("{program}/{}", p.by_nodes.join(", {program}/"))
            };
            let nodes = if p.process.nodes.is_empty() {
                "no registered node".to_owned()
            } else {
                format!("nodes {}", p.process.nodes.join(", "))
            };
            let handles = if p.handles > 1 {
                format!(", {} handles", p.handles)
            } else {
                String::new()
            };
            let line = format!(
                "  {program} (pid {}): {nodes}{handles}{extra}",
                p.process.pid
            );
            outln!("{}", shown(&line));
        }
    }
}
