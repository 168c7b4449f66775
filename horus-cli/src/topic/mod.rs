//! `horus topic list|info|echo|hz|bw|pub`: topics of the namespace, decoded with
//! the self-description stored in each region (no source tree needed).
//!
//! `list` and `info` only read the regions (mapped under a shared lock, nothing
//! written). `echo`, `hz`, `bw` and `pub` join the topic as one more
//! participant through `horus::inspect::RawTopic`, the way any program does;
//! they never create, truncate or remove a topic.

mod codec;
mod echo;
mod info;
mod mapping;
mod publish;
mod rate;
mod summary;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use horus::inspect::{RawTopic, TopicInfo, list_topics};
use horus::shm::Namespace;

use crate::Ctx;
use crate::exit::{self, Failure};
use crate::table::{self, Align::Left, Align::Right, Col};

/// `horus topic ...`
#[derive(Debug, clap::Subcommand)]
pub enum TopicCommand {
    /// List the topics of the namespace.
    List {
        /// Also show the publishing and subscribing processes, geometry and fields.
        #[arg(short, long)]
        verbose: bool,
        /// Include the system topics (`_horus.*`).
        #[arg(short, long)]
        all: bool,
        /// Show each topic's type (it always is: accepted as `ros2 topic list -t` takes it).
        #[arg(short = 't', long = "show-types")]
        show_types: bool,
    },
    /// Print the type of a topic (as `ros2 topic type`).
    Type {
        /// Topic name.
        name: String,
    },
    /// One topic in full: type, fields, capacity, who publishes and subscribes, its rate.
    Info(info::InfoArgs),
    /// Print each message, decoded field by field (hex if the type has no self-description).
    Echo(echo::EchoArgs),
    /// Measure the publishing rate.
    Hz(rate::RateArgs),
    /// Measure the bandwidth.
    Bw(rate::RateArgs),
    /// Publish messages built from FIELD=VALUE (unspecified fields are zero).
    Pub(publish::PubArgs),
}

pub fn main(ctx: &Ctx, cmd: TopicCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TopicCommand::List { verbose, all, .. } => list(ctx, verbose, all),
        TopicCommand::Type { name } => type_of(ctx, &name),
        TopicCommand::Info(args) => info::main(ctx, &args),
        TopicCommand::Echo(args) => echo::main(ctx, &args),
        TopicCommand::Hz(args) => rate::main(ctx, &args, rate::Measure::Hz),
        TopicCommand::Bw(args) => rate::main(ctx, &args, rate::Measure::Bw),
        TopicCommand::Pub(args) => publish::main(ctx, &args),
    }
}

/// `horus topic type NAME`: the type's name (JSON: `{topic, type}`). Only
/// reads the region, as `topic info --no-rate` does.
fn type_of(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let info = info::read(ctx, name)?;
    if ctx.json {
        crate::json::print(&crate::json::TopicType {
            topic: info.name,
            type_name: info.type_name,
        })?;
    } else {
        outln!("{}", info.type_name);
    }
    Ok(ExitCode::SUCCESS)
}

/// Joins topic `name` of the current namespace, or explains that it is absent.
pub fn open(ctx: &Ctx, name: &str) -> anyhow::Result<RawTopic> {
    check_name(name)?;
    let topic =
        RawTopic::open(&ctx.namespace, name).with_context(|| format!("opening topic {name}"))?;
    topic.ok_or_else(|| no_topic(ctx, name).into())
}

/// A name no topic can have is a usage error (exit 2) that says the rule,
/// before looking for it.
fn check_name(name: &str) -> Result<(), Failure> {
    horus::shm::names::check_topic_name(name).map_err(|reason| {
        Failure::usage(
            horus::error::TopicError::InvalidName {
                name: name.to_owned(),
                reason,
            }
            .to_string(),
        )
    })
}

/// A type given with the topic (`ros2 topic echo /t TYPE`, `ros2 topic pub
/// /t TYPE VALUES`) must be the topic's own: its name, or a path ending in
/// it (`geometry_msgs/msg/Twist`, `horus::msgs::Twist`).
pub fn check_type(info: &TopicInfo, given: &str) -> Result<(), Failure> {
    let last = given.rsplit(['/', ':']).next().unwrap_or(given);
    if last == info.type_name {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "{given}: {} is of type {}; horus takes the type from the topic, so the type can be left out",
        info.name, info.type_name
    )))
}

fn no_topic(ctx: &Ctx, name: &str) -> Failure {
    let names = Namespace::open_existing(&ctx.namespace)
        .ok()
        .flatten()
        .and_then(|ns| ns.topic_names().ok())
        .unwrap_or_default();
    let names: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !is_system(n))
        .collect();
    let (list, hint) = crate::names::not_here(&ctx.namespace, name, &names);
    Failure::new(
        exit::ERROR,
        format!(
            "no topic {name} in namespace {} (topics: {list}).{hint} `horus topic list` shows them; \
             is the publisher running with the same HORUS_NAMESPACE?",
            ctx.namespace
        ),
    )
}

/// The processes using a topic, by role, each pid once per role and sorted:
/// live handles that published, that received, and that did neither (of
/// processes in neither other list).
#[derive(Debug, Default)]
pub struct Roles {
    pub publishers: Vec<u32>,
    pub subscribers: Vec<u32>,
    pub holders: Vec<u32>,
}

impl Roles {
    pub fn of(i: &TopicInfo) -> Self {
        let publishers = pids(i.publishers());
        let subscribers = pids(i.subscribers());
        let holders = pids(i.participants.iter().filter(|p| {
            p.alive
                && !p.publisher
                && !p.subscriber
                && !publishers.contains(&p.pid)
                && !subscribers.contains(&p.pid)
        }));
        Self {
            publishers,
            subscribers,
            holders,
        }
    }

    /// Every pid of the three roles, once, sorted.
    pub fn all(&self) -> Vec<u32> {
        let mut v: Vec<u32> = [&self.publishers, &self.subscribers, &self.holders]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Which handles a role counts: publishers, subscribers, or those that
/// did neither yet.
pub type RolePred = fn(&horus::inspect::ParticipantInfo) -> bool;
pub const PUBLISHES: RolePred = |p| p.publisher;
pub const SUBSCRIBES: RolePred = |p| p.subscriber;
pub const HOLDS: RolePred = |p| !p.publisher && !p.subscriber;

/// The handles process `pid` holds of `i` in a role, by node: the names,
/// among `nodes` (the process's registered nodes), of the nodes whose tag
/// the handles carry (distinct, sorted), and whether some handle names no
/// node of the list (created outside any node, or by an older version).
pub fn handle_nodes(
    i: &TopicInfo,
    pid: u32,
    role: RolePred,
    nodes: &[String],
) -> (Vec<String>, bool) {
    let mut named = Vec::new();
    let mut unnamed = false;
    for p in i
        .participants
        .iter()
        .filter(|p| p.alive && p.pid == pid && role(p))
    {
        match crate::names::node_of(nodes, p.node_tag) {
            Some(n) => named.push(n.to_owned()),
            None => unnamed = true,
        }
    }
    named.sort();
    named.dedup();
    (named, unnamed)
}

pub fn is_system(name: &str) -> bool {
    name.starts_with(horus::system::SYSTEM_PREFIX)
}

/// `horus topic list`.
pub fn list(ctx: &Ctx, verbose: bool, all: bool) -> anyhow::Result<ExitCode> {
    let (topics, foreign) =
        match Namespace::open_existing(&ctx.namespace).context("opening the namespace")? {
            Some(ns) => (
                list_topics(&ns).context("listing the topics")?,
                horus::shm::unknown_files(&ns).context("listing the namespace")?,
            ),
            None => (Vec::new(), Vec::new()),
        };
    let topics: Vec<_> = topics
        .into_iter()
        .filter(|(n, _)| all || !is_system(n))
        .collect();
    // Node names for the processes (`--verbose` only: it reads the registry).
    let procs = if verbose {
        crate::names::Processes::load(&ctx.namespace)
    } else {
        crate::names::Processes::default()
    };
    if ctx.json {
        crate::json::print(&crate::json::TopicList {
            namespace: ctx.namespace.clone(),
            topics: crate::json::TopicRow::all(&topics, verbose, &procs),
            foreign: foreign.iter().map(Into::into).collect(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if topics.is_empty() {
        outln!(
            "no topics in namespace {}; {}",
            ctx.namespace,
            crate::names::elsewhere(&ctx.namespace)
        );
        print_foreign(&foreign);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = table::new(&[
        Col("TOPIC", 28, Left),
        Col("TYPE", 24, Left),
        Col("BYTES", 6, Right),
        Col("PUBLISHED", 10, Right),
        Col("PUBS", 4, Right),
        Col("SUBS", 4, Right),
    ]);
    for i in topics.iter().filter_map(|(_, info)| info.as_ref().ok()) {
        table.add_row(vec![
            crate::names::shown(&i.name).into_owned(),
            crate::names::shown(&i.type_name).into_owned(),
            i.message_size.to_string(),
            i.published.to_string(),
            i.publishers().count().to_string(),
            i.subscribers().count().to_string(),
        ]);
    }
    // One line per readable topic, after the header; the details of each
    // (`--verbose`) and the unreadable ones in between, in name order.
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    outln!("{}", crate::colour::paint(crate::colour::HEADER, &header));
    for (name, info) in &topics {
        match info {
            Ok(i) => {
                outln!("{}", lines.next().unwrap_or_default());
                if verbose {
                    print_verbose(i, &procs);
                }
            }
            Err(e) => outln!(
                "{}",
                crate::names::shown(&format!("{name:<28} (unreadable: {e})"))
            ),
        }
    }
    print_foreign(&foreign);
    Ok(ExitCode::SUCCESS)
}

/// The files of the namespace at names HORUS never makes, after the topics:
/// no clean removes them, so the user is told where they are.
fn print_foreign(foreign: &[horus::shm::ForeignFile]) {
    for f in foreign {
        outln!(
            "foreign file {} ({})",
            crate::names::shown_path(&f.path),
            f.kind
        );
    }
}

pub(crate) fn pids<'a>(it: impl Iterator<Item = &'a horus::inspect::ParticipantInfo>) -> Vec<u32> {
    let mut v: Vec<u32> = it.map(|p| p.pid).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn print_verbose(i: &TopicInfo, procs: &crate::names::Processes) {
    let show = |v: &[u32], role: RolePred| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            let labels: Vec<String> = v
                .iter()
                .flat_map(|&pid| {
                    let (named, unnamed) = handle_nodes(i, pid, role, procs.nodes(pid));
                    let mut l: Vec<String> =
                        named.iter().map(|n| procs.node_label(pid, n)).collect();
                    if unnamed || l.is_empty() {
                        l.push(procs.label(pid));
                    }
                    l
                })
                .collect();
            labels.join(", ")
        }
    };
    let roles = Roles::of(i);
    outln!("    publishers:  {}", show(&roles.publishers, PUBLISHES));
    outln!("    subscribers: {}", show(&roles.subscribers, SUBSCRIBES));
    if !roles.holders.is_empty() {
        outln!(
            "    opened by:   {} (neither published nor received yet)",
            show(&roles.holders, HOLDS)
        );
    }
    outln!(
        "    capacity {} slots/publisher, {} participants max, region {} bytes ({} in memory): {}",
        i.capacity,
        i.max_participants,
        i.region_bytes,
        i.resident_bytes,
        i.path.display()
    );
    if let Some(kind) = horus::pooled::PooledKind::of_type(i.type_id) {
        print_pool(kind, i);
    }
    if i.serialized.is_some() {
        outln!(
            "    fields: (serialized, postcard: `topic echo` decodes it with the stored schema)"
        );
    } else if i.fields.is_empty() {
        outln!("    fields: (no self-description: shown in hex)");
    }
    for f in &i.fields {
        let ty = codec::rust_type(f.kind.map_or("?", |k| k.name()), f.shape.dims());
        outln!("    {:<24} {ty:<12} @{}", f.name.as_str(), f.offset);
    }
}

/// A pooled topic's block pool, one line per segment.
fn print_pool(kind: horus::pooled::PooledKind, i: &TopicInfo) {
    if i.pool.is_empty() && i.pool_unreadable.is_empty() {
        outln!("    pool ({}): no segment yet", kind.name());
    }
    for s in &i.pool {
        let dead = if s.publisher_alive { "" } else { " (dead)" };
        outln!(
            "    pool ({}): pid {}{dead} segment {}: {} blocks of {} B, {} in use, \
             {} published, {} loans refused",
            kind.name(),
            s.pid,
            s.segment,
            s.blocks,
            s.block_size,
            s.usage.busy,
            s.usage.published,
            s.loans_failed
        );
    }
    for u in &i.pool_unreadable {
        outln!("    pool ({}): unreadable: {}", kind.name(), u.why);
    }
}

/// Parses `--duration`/`--timeout` seconds (0 included): a bare number
/// (`1.5`) or a duration with units as humantime reads them (`500ms`,
/// `1h 30m`, as `launch::file::parse_duration` takes them), each refusal
/// saying which it is (negative, too long, not a time).
pub fn secs(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if let Ok(v) = t.parse::<f64>() {
        return seconds(v).map_err(|why| format!("{s:?}: {why}"));
    }
    humantime::parse_duration(t).map_err(|e| match e {
        humantime::DurationError::NumberOverflow => {
            format!(
                "{s:?}: too long (at most {} s), or finer than 1ns",
                u64::MAX
            )
        }
        _ => format!("{s:?}: expected seconds (1.5) or a unit (500ms, 2s)"),
    })
}

/// `v` seconds as a duration, or why that is none (a phrase): NaN or
/// negative, or more than a duration holds (2^64 s, 585 billion years; a
/// long one is clamped where it is waited for, see `supervise::after`).
pub fn seconds(v: f64) -> Result<Duration, String> {
    if v.is_nan() || v < 0.0 {
        return Err("expected seconds, 0 or more".to_owned());
    }
    Duration::try_from_secs_f64(v).map_err(|_| format!("too long: at most {} s", u64::MAX))
}

/// Parses the seconds of a period (`--interval`, a rate's `--window`): as
/// [`secs`], but at least a nanosecond (a zero period would report in a
/// busy loop; `1e-300` rounds to none).
pub fn period_secs(s: &str) -> Result<Duration, String> {
    match secs(s)? {
        d if d.is_zero() => Err(format!(
            "{s:?}: expected a time above 0, at least 1ns (500ms, 1s)"
        )),
        d => Ok(d),
    }
}

/// Sleep between polls of an empty topic (there is no blocking receive).
pub const IDLE: Duration = Duration::from_micros(200);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_argument_says_why_it_is_refused() {
        assert_eq!(secs("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(secs("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(secs("0"), Ok(Duration::ZERO));
        assert_eq!(
            secs("1e19"),
            Ok(Duration::from_secs(10_000_000_000_000_000_000))
        );
        for (arg, says) in [
            ("1e300", "too long: at most 18446744073709551615 s"),
            ("inf", "too long: at most"),
            ("99999999999999999999999h", "too long (at most"),
            ("-1", "expected seconds, 0 or more"),
            ("NaN", "expected seconds, 0 or more"),
            ("soon", "expected seconds (1.5) or a unit (500ms, 2s)"),
        ] {
            let e = secs(arg).unwrap_err();
            assert!(e.starts_with(&format!("{arg:?}: {says}")), "{arg}: {e}");
            assert_eq!(period_secs(arg).unwrap_err(), e);
        }
        // Above 0 but less than a nanosecond: no period at all.
        for tiny in ["1e-300", "0", "0.0000000001"] {
            let e = period_secs(tiny).unwrap_err();
            assert!(e.contains("at least 1ns"), "{tiny}: {e}");
        }
        assert_eq!(period_secs("1ns"), Ok(Duration::from_nanos(1)));
    }
}
