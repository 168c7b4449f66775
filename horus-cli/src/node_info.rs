//! `horus node info NAME` (as `ros2 node info`): a node from the registry
//! (state, rates, ticks, misses, CPU %, memory) with its process (pid,
//! program) and the topics that process uses, found in each topic's
//! participant table by pid and node tag: a handle created in this node's
//! `init` or `tick` is its own; one created outside any node (no tag) counts
//! for every node of its process.

use std::process::ExitCode;

use anyhow::Context;
use horus::inspect::list_topics;
use horus::shm::Namespace;
use horus::shm::lock_holders::LockHolders;
use horus::system::registry::{self, NodeEntry};

use crate::Ctx;
use crate::exit::{self, Failure};
use crate::json::{NodeDetail, NodeDetails};
use crate::table::figure;

/// `horus node info NAME [--pid PID]`.
pub fn main(ctx: &Ctx, name: &str, pid: Option<u32>) -> anyhow::Result<ExitCode> {
    if name.trim().is_empty() {
        return Err(Failure::usage(
            "node info \"\": give a node's name (`horus node list` shows them)",
        )
        .into());
    }
    let all = registry::list(Some(&ctx.namespace)).context("reading the node registry")?;
    let found: Vec<&NodeEntry> = all.iter().filter(|n| n.name == name).collect();
    if found.is_empty() {
        return Err(no_node(ctx, name, &all).into());
    }
    let found = match pid {
        None => found,
        Some(p) => match found
            .iter()
            .copied()
            .filter(|n| n.pid == p)
            .collect::<Vec<_>>()
        {
            mine if !mine.is_empty() => mine,
            _ => {
                let mut pids: Vec<u32> = found.iter().map(|n| n.pid).collect();
                pids.sort_unstable();
                pids.dedup();
                let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
                return Err(Failure::new(
                    exit::ERROR,
                    format!(
                        "no node {name} with pid {p} in namespace {} (it runs in pid {}); \
                         `horus node list` shows every node",
                        ctx.namespace,
                        pids.join(", ")
                    ),
                )
                .into());
            }
        },
    };
    let ns = Namespace::open_existing(&ctx.namespace).context("opening the namespace")?;
    let topics = match &ns {
        Some(ns) => list_topics(ns).context("listing the topics")?,
        None => Vec::new(),
    };
    // Who holds the liveness locks here: a pid is named only once proved.
    let holders = ns.as_ref().map(LockHolders::read).unwrap_or_default();
    let readable: Vec<_> = topics
        .iter()
        .filter(|(n, _)| !crate::topic::is_system(n))
        .filter_map(|(n, i)| Some((n.as_str(), i.as_ref().ok()?)))
        .collect();
    let nodes = crate::names::Processes::new(&all).proving(holders.clone());
    let doc = NodeDetails {
        namespace: ctx.namespace.clone(),
        nodes: found
            .iter()
            .map(|n| {
                // A handle tagged with this node, or one of its process
                // that names no node (then every node of it is a candidate).
                let of = |pick: fn(&crate::topic::Roles) -> &Vec<u32>,
                          role: crate::topic::RolePred|
                 -> Vec<String> {
                    readable
                        .iter()
                        .filter(|(_, i)| {
                            n.alive && pick(&crate::topic::Roles::of(i)).contains(&n.pid) && {
                                let (named, unnamed) =
                                    crate::topic::handle_nodes(i, n.pid, role, nodes.nodes(n.pid));
                                unnamed || named.contains(&n.name)
                            }
                        })
                        .map(|(t, _)| (*t).to_owned())
                        .collect()
                };
                NodeDetail {
                    node: (*n).into(),
                    program: (n.alive && holders.proves(n.owner, n.pid))
                        .then(|| crate::names::program_of(n.pid))
                        .flatten(),
                    process_nodes: all
                        .iter()
                        .filter(|o| o.pid == n.pid && o.owner == n.owner && o.name != n.name)
                        .map(|o| o.name.clone())
                        .collect(),
                    publishes: of(|r| &r.publishers, crate::topic::PUBLISHES),
                    subscribes: of(|r| &r.subscribers, crate::topic::SUBSCRIBES),
                    holds: of(|r| &r.holders, crate::topic::HOLDS),
                }
            })
            .collect(),
    };
    if ctx.json {
        crate::json::print_pretty(&doc)?;
    } else {
        for (k, d) in doc.nodes.iter().enumerate() {
            if k > 0 {
                outln!();
            }
            print_text(d);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn no_node(ctx: &Ctx, name: &str, all: &[NodeEntry]) -> Failure {
    let mut names: Vec<&str> = all.iter().map(|n| n.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let (list, hint) = crate::names::not_here(&ctx.namespace, name, &names);
    Failure::new(
        exit::ERROR,
        format!(
            "no node {name} in namespace {} (nodes: {list}).{hint} `horus node list` shows every \
             node; is its program running with the same HORUS_NAMESPACE?",
            ctx.namespace
        ),
    )
}

fn print_text(d: &NodeDetail) {
    let n = &d.node;
    let program = d.program.as_deref().unwrap_or(if n.alive {
        "? (pid unknown here: another pid namespace?)"
    } else {
        "(gone)"
    });
    let shown = crate::names::shown;
    outln!("node:       {}", shown(&n.name));
    outln!(
        "process:    {}",
        shown(&format!(
            "{program} (pid {}){}",
            n.pid,
            others(&d.process_nodes)
        ))
    );
    outln!(
        "state:      {}",
        crate::colour::paint(crate::colour::of_state(n.state), n.state)
    );
    outln!(
        "rate:       {} Hz asked, {} Hz measured; tick order {}",
        figure(n.rate_hz),
        figure(n.measured_hz),
        n.order
    );
    outln!(
        "ticks:      {}; {} deadline misses, {} overruns",
        n.ticks,
        n.deadline_misses,
        n.overruns
    );
    outln!(
        "cpu:        {} % of one core (over the last registry interval), {} ms in ticks",
        crate::system::cpu_percent(n.cpu_percent),
        figure(n.cpu_ns as f64 / 1e6)
    );
    outln!(
        "memory:     {} MiB resident (its process)",
        figure(n.rss_bytes as f64 / (1024.0 * 1024.0))
    );
    let show = |v: &[String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            shown(&v.join(", ")).into_owned()
        }
    };
    outln!("publishes:  {}", show(&d.publishes));
    outln!("subscribes: {}", show(&d.subscribes));
    if !d.holds.is_empty() {
        outln!(
            "opened:     {} (neither published nor received yet)",
            show(&d.holds)
        );
    }
    outln!("            (handles opened outside any node count for every node of the process)");
}

fn others(nodes: &[String]) -> String {
    if nodes.is_empty() {
        String::new()
    } else {
        format!(", with nodes {}", nodes.join(", "))
    }
}
