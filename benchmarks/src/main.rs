//! HORUS benchmarks: `cargo run -p horus-benchmarks --release -- [--quick]`.
//!
//! Prints, for this machine, the seed's latency table measured end to end
//! (one-way = ping-pong round trip / 2), beside the physical limit (a raw
//! two-cache-line ping-pong between the same cores) and iceoryx2, then the
//! scale sweeps, large messages through the loan APIs (`pooled_rows`), throughput, shared memory per topic and scheduler jitter;
//! writes `benchmarks/results/RESULTS.md` and SVG plots (`--quick`: to
//! `benchmarks/results/quick/`, with fewer samples; `--rt`: both sides in
//! SCHED_FIFO, to `.../rt/`).

mod child;
mod copybw;
mod horus_rows;
mod iceoryx;
mod iceoryx_slice;
mod jitter;
mod msgs;
mod only;
mod paired;
mod plot;
mod pooled_report;
mod pooled_rows;
mod python_rows;
mod raw;
mod raw_held;
mod report;
mod schedcost;
mod serde_cost;
mod shm_rows;
mod stats;
mod sys;
mod throughput;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use horus_rows::{Ctx, Geom, Mode};
use msgs::{Bench64, BenchMsg};
use report::{Report, Row};
use stats::Summary;

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// How many samples each kind of row records.
#[derive(Debug, Clone)]
pub struct Config {
    pub quick: bool,
    /// SCHED_FIFO priority of both sides (`--rt`), if any.
    pub rt: Option<i32>,
    /// Longest one row records.
    pub row_budget: std::time::Duration,
    /// Interleaved blocks per row (see `interleave`).
    pub rounds: usize,
    pub warmup: usize,
    pub samples: usize,
    pub sweep_warmup: usize,
    pub sweep_samples: usize,
    pub throughput_msgs: u64,
    pub jitter_secs: u64,
}

impl Config {
    fn new(quick: bool, rt: bool) -> Self {
        let rt = rt.then_some(RT_PRIORITY);
        if quick {
            Self {
                quick,
                rt,
                row_budget: std::time::Duration::from_secs(3),
                rounds: 2,
                warmup: 2_000,
                samples: 20_000,
                sweep_warmup: 500,
                sweep_samples: 5_000,
                throughput_msgs: 200_000,
                jitter_secs: 1,
            }
        } else {
            Self {
                quick,
                rt,
                row_budget: std::time::Duration::from_secs(20),
                rounds: 20,
                warmup: 10_000,
                samples: 1_000_000,
                sweep_warmup: 2_000,
                sweep_samples: 200_000,
                throughput_msgs: 10_000_000,
                jitter_secs: 10,
            }
        }
    }

    /// Sweep samples for a payload of `size` bytes (large copies are slow).
    fn sweep_samples_for(&self, size: usize) -> usize {
        if size >= 16384 {
            self.sweep_samples / 4
        } else {
            self.sweep_samples
        }
    }
}

fn main() -> ExitCode {
    if let Some(code) = child::run_role() {
        return code;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(bad) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--quick" | "--rt"))
    {
        eprintln!("usage: horus-benchmarks [--quick] [--rt]  (unknown argument {bad})");
        return ExitCode::FAILURE;
    }
    let flag = |f: &str| args.iter().any(|a| a == f);
    match run(Config::new(flag("--quick"), flag("--rt"))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("horus-benchmarks: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn progress(what: &str, s: &Summary) {
    eprintln!(
        "  {what:<40} p50 {:>8} p99 {:>8} p99.9 {:>8} max {:>9} ns ({} samples)",
        report::ns(s.p50),
        report::ns(s.p99),
        report::ns(s.p999),
        report::ns(s.max),
        s.count_cell()
    );
}

/// SCHED_FIFO priority with `--rt` (below the kernel's own threads at 99).
const RT_PRIORITY: i32 = 50;

fn run(cfg: Config) -> Res<()> {
    if let Some(pattern) = only::only() {
        sys::pin(sys::CORE_A);
        return only::run_only(&cfg, &pattern);
    }
    let started = Instant::now();
    let quick = cfg.quick;
    stats::set_row_budget(cfg.row_budget / cfg.rounds as u32);
    let machine = sys::Machine::probe();
    if sys::cores() < 2 {
        eprintln!("warning: one core only: both sides share it, numbers are scheduler-bound");
    }
    sys::pin(sys::CORE_A);
    if cfg.rt.is_some() && !sys::realtime(cfg.rt) {
        return Err(
            "--rt: sched_setscheduler(SCHED_FIFO) refused (needs CAP_SYS_NICE or root)".into(),
        );
    }
    let ctx = Ctx::new();
    let iox_before = iceoryx_files();
    let measured = suite(&cfg, &ctx);
    let cleaned = cleanup(&ctx);
    remove_new_iceoryx_files(&iox_before);
    let mut report = measured?;
    cleaned?;
    report.machine = machine;
    report.load_after = sys::load();
    report.seconds = started.elapsed().as_secs_f64();
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
    if quick {
        dir.push("quick");
    }
    if report.cfg.rt.is_some() {
        dir.push("rt");
    }
    std::fs::create_dir_all(&dir)?;
    let md = report.markdown();
    std::fs::write(dir.join("RESULTS.md"), &md)?;
    let main: Vec<(String, &Summary)> =
        report.main.iter().map(|r| (r.name.clone(), &r.s)).collect();
    plot::cdf(
        &dir.join("latency.svg"),
        "One-way latency, 64 B: HORUS, raw limit, iceoryx2",
        &main,
    )?;
    let scale: Vec<(String, &Summary)> = report
        .subs_sweep
        .iter()
        .map(|(n, s)| (format!("1:{n}, 64 B"), s))
        .chain(
            report
                .size_sweep
                .iter()
                .map(|(b, s)| (format!("1:1, {b} B"), s)),
        )
        .collect();
    plot::cdf(
        &dir.join("scale.svg"),
        "Cross-process one-way latency: subscribers and payload",
        &scale,
    )?;
    println!("{md}");
    eprintln!("written to {}", dir.display());
    Ok(())
}

/// Removes the run's namespace once every handle is gone.
fn cleanup(ctx: &Ctx) -> Res<()> {
    if let Some(ns) = horus::shm::Namespace::open_existing(&ctx.ns)? {
        horus::shm::liveness::unregister(&ns);
        if !horus::shm::remove_if_unused(&ns)? {
            return Err(format!("namespace {} still in use, left behind", ctx.ns).into());
        }
    }
    Ok(())
}

/// iceoryx2's files in /dev/shm (`iox2_*`: its services and its global
/// node-management segment).
fn iceoryx_files() -> Vec<PathBuf> {
    std::fs::read_dir("/dev/shm").map_or_else(
        |_| Vec::new(),
        |dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("iox2_"))
                })
                .collect()
        },
    )
}

/// Removes the iceoryx2 files this run created (its services are gone by
/// now; files that were there before the run belong to someone else and stay),
/// so a benchmark run leaves nothing in /dev/shm.
fn remove_new_iceoryx_files(before: &[PathBuf]) {
    for p in iceoryx_files() {
        if !before.contains(&p) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

const N: usize = 4;

type Spec = (&'static str, &'static str, Mode, usize, usize);

/// The seed's table: name, the seed's number, placement, publishers, subscribers.
const SPECS: [Spec; 9] = [
    ("same thread", "~3", Mode::SameThread, 1, 1),
    ("same process 1:1", "~18", Mode::Threads, 1, 1),
    ("same process 1:N", "~24", Mode::Threads, 1, N),
    ("same process N:1", "~26", Mode::Threads, N, 1),
    ("same process N:N", "~36", Mode::Threads, N, N),
    ("cross-process 1:1", "~50 (POD)", Mode::Processes, 1, 1),
    ("cross-process 1:N", "~70", Mode::Processes, 1, N),
    ("cross-process N:1", "~65", Mode::Processes, N, 1),
    ("cross-process N:N", "~91", Mode::Processes, N, N),
];

/// The seed's "cross-process, serialized type" row, measured beside the
/// cross-process 1:1 POD row.
pub(crate) const SERIALIZED_ROW: &str = "cross-process 1:1 serialized (String + Vec<f32>, ~64 B)";

/// The same message sent by reference from a message the side keeps
/// (`send_ref`) and received into one (`recv_into`): no allocation.
const SERIALIZED_KEPT_ROW: &str = "cross-process 1:1 serialized, kept (send_ref + recv_into)";

/// One block of a row: records `(warmup, samples)` round trips.
type Block<'a> = Box<dyn FnMut(usize, usize) -> Res<stats::Samples> + 'a>;

/// Runs `blocks` in turn (in an order rotated each round:
/// [`stats::rotation`]), `rounds` times, each recording its share of
/// `samples`: rows compared with each other are measured interleaved, so a
/// drift of the machine (this VM's vCPUs move between host cores: the raw
/// core-to-core latency changes several-fold over minutes) hits them alike.
fn interleave(
    cfg: &Config,
    warmup: usize,
    samples: usize,
    blocks: &mut [Block],
) -> Res<Vec<Summary>> {
    let per = samples.div_ceil(cfg.rounds);
    let mut acc: Vec<stats::Samples> = blocks
        .iter()
        .map(|_| stats::Samples::with_capacity(per * cfg.rounds))
        .collect();
    for round in 0..cfg.rounds {
        for j in stats::rotation(round, blocks.len()) {
            acc[j].extend(blocks[j](warmup, per)?);
        }
    }
    Ok(acc.into_iter().map(stats::Samples::one_way).collect())
}

fn suite(cfg: &Config, ctx: &Ctx) -> Res<Report> {
    let (w, n) = (cfg.warmup, cfg.samples);
    let (timer_ns, clock_step_ns) = sys::timer_overhead_ns();
    eprintln!(
        "timer: {timer_ns} ns per Instant pair, clock step {clock_step_ns} ns; {n} samples a row in {} interleaved blocks, each after {w} warm-up round trips",
        cfg.rounds
    );
    let mut main = Vec::new();
    let mut limits: Vec<(Mode, Summary)> = Vec::new();
    let mut seq_limits: Vec<(Mode, Summary)> = Vec::new();
    let mut iox_rows = Vec::new();
    let mut serde_alone = None;
    for (name, seed, mode, p, s) in SPECS {
        let g = Geom::for_topo(p, s);
        let raw = move |kind: raw::Kind, w, n| match mode {
            Mode::Processes => raw::processes(kind, w, n),
            _ => Ok(raw::threads(kind, w, n)),
        };
        let mut blocks: Vec<Block> = vec![
            Box::new(move |w, n| raw(raw::Kind::Word, w, n)),
            Box::new(move |w, n| horus_rows::ping_pong::<Bench64>(ctx, mode, p, s, g, w, n)),
        ];
        // The 64-byte seqlock limit beside the two 1:1 rows that cross cores.
        let with_seq = (p, s) == (1, 1) && mode != Mode::SameThread;
        if with_seq {
            blocks.push(Box::new(move |w, n| raw(raw::Kind::Seqlock64, w, n)));
        }
        if mode == Mode::Processes {
            blocks.push(Box::new(move |w, n| iceoryx::ping_pong(p, s, w, n)));
        }
        // The seed's serialized-type row beside the cross-process 1:1 POD row.
        let with_serialized = (p, s) == (1, 1) && mode == Mode::Processes;
        if with_serialized {
            blocks.push(Box::new(move |w, n| {
                horus_rows::ping_pong::<msgs::BenchSerialized>(ctx, mode, p, s, g, w, n)
            }));
            blocks.push(Box::new(move |w, n| {
                horus_rows::ping_pong::<msgs::BenchSerializedKept>(ctx, mode, p, s, g, w, n)
            }));
        }
        let mut sums = interleave(cfg, w, n, &mut blocks)?.into_iter();
        let (limit, sum) = (sums.next().ok_or("no limit")?, sums.next().ok_or("no row")?);
        progress(&format!("  limit beside {name}"), &limit);
        if with_seq {
            let seq = sums.next().ok_or("no seqlock limit")?;
            progress(&format!("  64 B seqlock limit beside {name}"), &seq);
            seq_limits.push((mode, seq));
        }
        let peer = if mode == Mode::Processes {
            sums.next()
        } else {
            None
        };
        let serialized = sums.next();
        let kept = sums.next();
        if with_serialized {
            // Beside the serialized rows: what their message costs alone.
            match serde_cost::measure(if cfg.quick { 5 } else { 21 }, cfg.quick) {
                Ok(c) => {
                    eprintln!(
                        "  postcard alone: {:.1} ns (fresh), {:.1} ns (kept)",
                        c.fresh_ns, c.kept_ns
                    );
                    serde_alone = Some(c);
                }
                Err(e) => eprintln!("  postcard alone not measured: {e}"),
            }
        }
        progress(name, &sum);
        if let Some(p) = &peer {
            progress(&format!("iceoryx2 {name}"), p);
            iox_rows.push(Row {
                name: format!("iceoryx2 {name}"),
                seed: "-",
                s: p.clone(),
                limit: Some(limit.clone()),
                peer: None,
            });
        }
        main.push(Row {
            name: name.to_owned(),
            seed,
            s: sum,
            limit: Some(limit.clone()),
            peer,
        });
        for (name, seed, row) in [
            (SERIALIZED_ROW, "~85", serialized),
            (SERIALIZED_KEPT_ROW, "-", kept),
        ] {
            let Some(row) = row else { continue };
            progress(name, &row);
            main.push(Row {
                name: name.to_owned(),
                seed,
                s: row,
                limit: Some(limit.clone()),
                peer: None,
            });
        }
        limits.push((mode, limit));
    }
    // The limit rows shown: those measured beside the two 1:1 rows.
    for (mode, what) in [(Mode::Processes, "processes"), (Mode::Threads, "threads")] {
        if let Some((_, seq)) = seq_limits.iter().find(|(m, _)| *m == mode) {
            let word = limits.iter().find(|(m, _)| *m == mode).map(|(_, l)| l);
            main.insert(
                0,
                Row {
                    name: format!("limit: raw seqlock 64 B, {what}"),
                    seed: "-",
                    s: seq.clone(),
                    limit: word.cloned(),
                    peer: None,
                },
            );
        }
        if let Some((_, l)) = limits.iter().find(|(m, _)| *m == mode) {
            main.insert(
                0,
                Row {
                    name: format!("limit: raw ping-pong, {what}"),
                    seed: "-",
                    s: l.clone(),
                    limit: Some(l.clone()),
                    peer: None,
                },
            );
        }
    }
    main.extend(iox_rows);

    let (sw, sn) = (cfg.sweep_warmup, cfg.sweep_samples);
    let subs_list = [1, 2, 4, 8, 16];
    let mut blocks: Vec<Block> = subs_list
        .iter()
        .map(|&subs| -> Block {
            Box::new(move |w, n| {
                let g = Geom::for_topo(1, subs);
                horus_rows::ping_pong::<Bench64>(ctx, Mode::Processes, 1, subs, g, w, n)
            })
        })
        .collect();
    let subs_sweep: Vec<(usize, Summary)> = subs_list
        .iter()
        .copied()
        .zip(interleave(cfg, sw, sn, &mut blocks)?)
        .collect();
    for (subs, s) in &subs_sweep {
        progress(&format!("cross-process 1:{subs}"), s);
    }
    let sizes = msgs::SIZES;
    let mut blocks: Vec<Block> = sizes
        .iter()
        .map(|&size| -> Block {
            // Fewer samples for the large copies (`sweep_samples_for`).
            let n = cfg.sweep_samples_for(size).div_ceil(cfg.rounds);
            Box::new(move |w, _| with_msg!(size, size_row(ctx, w, n)))
        })
        .collect();
    let size_sweep: Vec<(usize, Summary)> = sizes
        .iter()
        .copied()
        .zip(interleave(cfg, sw, sn, &mut blocks)?)
        .collect();
    for (size, s) in &size_sweep {
        progress(&format!("cross-process 1:1, {size} B"), s);
    }
    let pooled = pooled_rows::section(cfg, ctx)?;
    let batches = if cfg.quick { 5 } else { 21 };
    let mut copy = Vec::new();
    for size in sizes {
        let r = with_msg!(size, copy_row(batches, cfg.quick))?;
        eprintln!(
            "  copy {size} B: HORUS {:.1} ns, memcpy {:.1} ns per message = {:.2}x of memcpy",
            r.horus_ns,
            r.memcpy_ns,
            r.ratio()
        );
        copy.push(r);
    }
    let mut tput = Vec::new();
    for subs in [1, 4] {
        let t = throughput::run(ctx, subs, cfg.throughput_msgs)?;
        eprintln!(
            "  throughput 1:{subs}: {:.1} M messages/s to every subscriber, none lost",
            t.per_s / 1e6
        );
        tput.push(t);
    }
    let shm = shm_rows::measure(ctx)?;
    let python = python_rows::run(cfg, ctx);
    python_rows::progress(&python);
    let mut sched = Vec::new();
    for nodes in schedcost::COUNTS {
        let r = schedcost::row(nodes, batches, cfg.quick)?;
        eprintln!(
            "  scheduler, {nodes} empty nodes: core {:.1} ns (bare {:.1}), std tick_once {:.1} ns (bare {:.1}) per round",
            r.core, r.bare_core, r.std, r.bare_std
        );
        sched.push(r);
    }
    // The scheduler is measured as a user runs it: default policy.
    sys::realtime(None);
    let jitter = jitter_rows(cfg);
    Ok(Report {
        machine: sys::Machine::probe(),
        command: format!(
            "cargo run -p horus-benchmarks --release --{}{}",
            if cfg.quick { " --quick" } else { "" },
            if cfg.rt.is_some() { " --rt" } else { "" }
        ),
        cfg: cfg.clone(),
        timer_ns,
        clock: report::Clock::from_pair(timer_ns, clock_step_ns),
        compare: report::regression::newest(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/compare"),
        ),
        main,
        serde: serde_alone,
        subs_sweep,
        size_sweep,
        copy,
        throughput: tput,
        shm,
        python,
        sched,
        jitter,
        pooled: Some(pooled),
        load_after: String::new(),
        seconds: 0.0,
    })
}

fn copy_row<M: BenchMsg>(batches: usize, quick: bool) -> Res<copybw::CopyRow> {
    copybw::row::<M>(batches, quick)
}

fn size_row<M: BenchMsg>(ctx: &Ctx, warmup: usize, samples: usize) -> Res<stats::Samples> {
    horus_rows::ping_pong::<M>(
        ctx,
        Mode::Processes,
        1,
        1,
        Geom::for_topo(1, 1),
        warmup,
        samples,
    )
}

pub(crate) fn jitter_rows(cfg: &Config) -> Vec<jitter::Jitter> {
    let mut rows = jitter::rows(100, cfg.jitter_secs);
    rows.extend(jitter::rows(1000, cfg.jitter_secs));
    for j in &rows {
        eprintln!(
            "  jitter {} {} Hz: p50 {} p99 {} max {} ns",
            j.what, j.hz, j.p50, j.p99, j.max
        );
    }
    rows
}
