//! The results as Markdown: the machine, the method, the tables, the targets.

use std::fmt::Write;

use crate::stats::Summary;
use crate::sys::Machine;
use crate::throughput::Throughput;
use crate::{Config, jitter::Jitter};

pub mod regression;
mod targets;
pub mod verdict;

pub use verdict::{Bound, Clock, Fig, Verdict};

/// A latency row of the main table.
#[derive(Debug)]
pub struct Row {
    pub name: String,
    /// The seed's claimed number for this row.
    pub seed: &'static str,
    pub s: Summary,
    /// The physical limit this row is compared with (measured beside it,
    /// in the same rounds).
    pub limit: Option<Summary>,
    /// iceoryx2 measured for the same row.
    pub peer: Option<Summary>,
}

/// Everything one run measured.
#[derive(Debug)]
pub struct Report {
    pub machine: Machine,
    pub command: String,
    pub cfg: Config,
    pub timer_ns: f64,
    /// The timer's one-way cost and the clock's step, for the verdicts.
    pub clock: Clock,
    /// The newest `compare.sh` session (old and new commit), if any.
    pub compare: Option<regression::Session>,
    pub main: Vec<Row>,
    /// The serialized rows' message encoded and decoded alone (no HORUS).
    pub serde: Option<crate::serde_cost::SerdeCost>,
    pub subs_sweep: Vec<(usize, Summary)>,
    pub size_sweep: Vec<(usize, Summary)>,
    /// Payload copy against `memcpy`, per size.
    pub copy: Vec<crate::copybw::CopyRow>,
    pub throughput: Vec<Throughput>,
    /// Shared memory per topic, per subscriber, for 1,000 topics.
    pub shm: crate::shm_rows::Shm,
    /// Python <-> Rust rows (horus-py), or why they were skipped.
    pub python: crate::python_rows::PythonRows,
    /// Scheduler overhead per round, per node count.
    pub sched: Vec<crate::schedcost::SchedRow>,
    pub jitter: Vec<Jitter>,
    /// Large messages through the loan APIs (`pooled_rows`).
    pub pooled: Option<crate::pooled_rows::Section>,
    pub load_after: String,
    pub seconds: f64,
}

pub fn ns(v: f64) -> String {
    if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

pub fn ratio(a: f64, b: f64) -> String {
    format!("{:.2}x", a / b)
}

pub(crate) fn bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

impl Report {
    fn row(&self, name: &str) -> Option<&Row> {
        self.main.iter().find(|r| r.name == name)
    }

    /// The raw process limit of this run (measured beside cross-process 1:1):
    /// what the sweeps' tails are divided by.
    fn process_limit(&self) -> Option<&Summary> {
        self.row("limit: raw ping-pong, processes").map(|r| &r.s)
    }

    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let m = &self.machine;
        let c = &self.cfg;
        let _ = writeln!(o, "# HORUS latency benchmarks\n");
        let _ = writeln!(o, "- command: `{}`", self.command);
        let _ = writeln!(o, "- date: {}; commit: {}", m.date, m.commit);
        let _ = writeln!(
            o,
            "- machine: {}, {} cores, kernel {}, clocksource {}",
            m.model, m.cores, m.kernel, m.clocksource
        );
        let _ = writeln!(
            o,
            "- load average (1/5/15 min) before: {}; after: {}; run took {:.0} s",
            m.load_before, self.load_after, self.seconds
        );
        let _ = writeln!(
            o,
            "- samples: {} per main row, {} per sweep row (fewer for payloads >= 16 KiB: see the table), \
             recorded in {} interleaved blocks per row (the rows compared with each other, e.g. the raw \
             limit, HORUS and iceoryx2 of one topology, take turns block by block, each block with fresh \
             endpoints and processes), every block after a warm-up of {} (main) / {} (sweeps) round trips \
             that are not recorded",
            c.samples, c.sweep_samples, c.rounds, c.warmup, c.sweep_warmup
        );
        let _ = writeln!(
            o,
            "- pinning: side A on core {}, side B (thread or child process) on core {} (sched_setaffinity); \
             scheduling: {}; each block of a row stops recording {:.1} s after its warm-up once it has \
             1,000 samples (a row of {} blocks records for at most about {} s; its samples cell says \
             recorded / planned and how many of its blocks were cut short)",
            crate::sys::CORE_A,
            crate::sys::CORE_B,
            c.rt.map_or("SCHED_OTHER (default)".to_owned(), |p| format!(
                "SCHED_FIFO priority {p} on both sides (`--rt`; the kernel's RT throttling still \
                 gives other tasks 50 ms of every second)"
            )),
            c.row_budget.as_secs_f64() / c.rounds as f64,
            c.rounds,
            c.row_budget.as_secs()
        );
        let _ = writeln!(
            o,
            "- method: one-way = round trip / 2. A sends on `ping`, B receives and answers on `pong`, \
             A receives; each round trip is timed alone with `Instant::now()` (CLOCK_MONOTONIC) around \
             the whole of it. The same loop for HORUS, the raw limit and iceoryx2. Every sample is kept \
             (sorted, nearest-rank percentiles, no outlier removal). The timer itself costs {} ns per \
             round trip (median of back-to-back reads, measured in this run), so {} ns of every one-way \
             number is the clock; the clock counts in steps of {} ns ({} ns one-way). Ratio targets \
             are given with the timer's cost in both figures and with it removed from both; MET or \
             MISSED only when those, the whole rows' and the per-round (paired) ratios all agree and \
             the margin is over one clock step, else UNDECIDED.",
            ns(self.timer_ns),
            ns(self.clock.timer_one_way),
            ns(self.clock.step_one_way * 2.0),
            ns(self.clock.step_one_way)
        );
        let _ = writeln!(
            o,
            "- topologies: P:S applies to both directions; P publisher handles are used round-robin, one \
             per round trip; a hop ends when the LAST of the S subscriber handles has the message. With \
             2 cores, the handles of one side share one spinning thread (each is its own participant: own \
             lane, own cursors). N = 4 in the N rows.\n"
        );
        self.main_table(&mut o);
        if let Some(p) = &self.pooled {
            p.markdown(&mut o);
        }
        self.sweeps(&mut o);
        self.python.markdown(&mut o);
        self.targets(&mut o);
        o
    }

    fn main_table(&self, o: &mut String) {
        let _ = writeln!(o, "## One-way latency, 64-byte POD message (ns)\n");
        let _ = writeln!(
            o,
            "| row | seed claims | samples | p50 | p99 | p99.9 | max | limit p50 | p50 / limit | limit p99.9 | p99.9 / limit p99.9 | iceoryx2 p50 | iceoryx2 p99.9 | HORUS / iceoryx2 p50 (< 1: HORUS faster) | HORUS / iceoryx2 p99.9 |"
        );
        let _ = writeln!(
            o,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for r in &self.main {
            let s = &r.s;
            let limit = r.limit.as_ref();
            let lim = limit.map_or("-".into(), |l| ratio(s.p50, l.p50));
            let lim_p50 = limit.map_or("-".into(), |l| ns(l.p50));
            let lim999 = limit.map_or("-".into(), |l| ratio(s.p999, l.p999));
            let lim_p999 = limit.map_or("-".into(), |l| ns(l.p999));
            let (ip50, ip999, r50, r999) =
                r.peer
                    .as_ref()
                    .map_or(("-".into(), "-".into(), "-".into(), "-".into()), |p| {
                        (
                            ns(p.p50),
                            ns(p.p999),
                            ratio(s.p50, p.p50),
                            ratio(s.p999, p.p999),
                        )
                    });
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.name,
                r.seed,
                s.count_cell(),
                ns(s.p50),
                ns(s.p99),
                ns(s.p999),
                ns(s.max),
                lim_p50,
                lim,
                lim_p999,
                lim999,
                ip50,
                ip999,
                r50,
                r999
            );
        }
        let _ = writeln!(
            o,
            "\n`limit p50`: the raw ping-pong (threads for in-process rows, processes for cross-process \
             rows) measured interleaved with that row, and `p99.9 / limit p99.9` the row's tail judged \
             against the tail of that same limit (the host's own tail); the limit rows are those \
             measured beside the 1:1 rows. The raw seqlock 64 B rows move a 64-byte payload through a \
             one-slot seqlock (stamp + 8 words over two lines, relaxed atomic copy, stamp re-check, \
             nothing else): their `limit` is the one-word ping-pong, so their ratio is what the physics \
             of 64 bytes adds. Same-thread has no cross-core hop: its ratio is below 1. This KVM guest's \
             core-to-core latency moves between regimes (about 40-60 ns and 170-250 ns one-way) during \
             a run: compare a row with its own `limit p50`, not with another row's.\n\n\
             Plot: [latency.svg](latency.svg) (CDF of every row).\n"
        );
        self.physics_vs_code(o);
    }

    /// Splits each 1:1 row's p50 into the one-word limit, what a 64-byte
    /// seqlock adds to it (the physics of the payload) and what HORUS adds
    /// on top of that (our code).
    fn physics_vs_code(&self, o: &mut String) {
        let mut lines = Vec::new();
        for (what, row) in [
            ("threads", "same process 1:1"),
            ("processes", "cross-process 1:1"),
        ] {
            let word = self.row(&format!("limit: raw ping-pong, {what}"));
            let seq = self.row(&format!("limit: raw seqlock 64 B, {what}"));
            if let (Some(w), Some(q), Some(h)) = (word, seq, self.row(row)) {
                lines.push(format!(
                    "| {row} | {} | {} (+{}) | {} (+{}) | {} |",
                    ns(w.s.p50),
                    ns(q.s.p50),
                    ns(q.s.p50 - w.s.p50),
                    ns(h.s.p50),
                    ns(h.s.p50 - q.s.p50),
                    ratio(h.s.p50, q.s.p50)
                ));
            }
        }
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(
            o,
            "Physics against code, p50 one-way (ns): the one-word limit, the 64-byte seqlock limit \
             (+ an estimate of what the payload's physics adds), HORUS (+ an estimate of what our \
             code adds), all interleaved in the same blocks. The (+) figures are differences of \
             medians, not timed: estimates, not measurements of the parts.\n"
        );
        let _ = writeln!(
            o,
            "| row | raw one word | raw seqlock 64 B | HORUS 64 B | HORUS / seqlock |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|");
        for l in lines {
            let _ = writeln!(o, "{l}");
        }
        let _ = writeln!(o);
    }

    fn sweeps(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "## Scale, cross-process, one-way (ns)\n\nSubscribers (1:S, 64 B; latency to the last subscriber):\n"
        );
        let _ = writeln!(
            o,
            "| subscribers | samples | p50 | p99 | p99.9 | max | p50 / 1:1 p50 | p99.9 / limit p99.9 (limit not interleaved) |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
        let base = self.subs_sweep.first().map_or(1.0, |(_, s)| s.p50);
        let tail = |s: &Summary| {
            self.process_limit()
                .map_or("-".into(), |l| ratio(s.p999, l.p999))
        };
        for (n, s) in &self.subs_sweep {
            let _ = writeln!(
                o,
                "| {n} | {} | {} | {} | {} | {} | {} | {} |",
                s.count_cell(),
                ns(s.p50),
                ns(s.p99),
                ns(s.p999),
                ns(s.max),
                ratio(s.p50, base),
                tail(s)
            );
        }
        let _ = writeln!(o, "\nPayload size (1:1):\n");
        let _ = writeln!(
            o,
            "| payload | samples | p50 | p99 | p99.9 | max | payload GB/s at p50 (bytes / one-way p50) | p99.9 / limit p99.9 (limit not interleaved) |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
        for (size, s) in &self.size_sweep {
            let _ = writeln!(
                o,
                "| {size} B | {} | {} | {} | {} | {} | {:.2} | {} |",
                s.count_cell(),
                ns(s.p50),
                ns(s.p99),
                ns(s.p999),
                ns(s.max),
                *size as f64 / s.p50,
                tail(s)
            );
        }
        let _ = writeln!(
            o,
            "\n`p99.9 / limit p99.9`: against the raw process limit's p99.9 of this run, measured \
             beside cross-process 1:1 in its blocks, not interleaved with the sweeps: a tail the \
             host gave one and not the other moves the ratio (the large-message table's ratios are \
             against references of the same blocks). `payload GB/s at p50`: the payload counted \
             once over the one-way p50, the cross-core hop included; not the copy bandwidth of the \
             table below.\n\nPlot: [scale.svg](scale.svg).\n"
        );
        self.copy_table(o);
        let _ = writeln!(
            o,
            "## Throughput, cross-process, 64 B, no loss\n\nThe publisher sends in bursts of half the \
             ring with at most two bursts unacknowledged, so nothing is overwritten unread \
             (checked: every subscriber receives every message, in order, `dropped_count` 0); the S \
             subscriber handles share one thread on the other core.\n"
        );
        let _ = writeln!(
            o,
            "| topology | messages | burst | messages / s to every subscriber |"
        );
        let _ = writeln!(o, "|---|---|---|---|");
        for t in &self.throughput {
            let _ = writeln!(
                o,
                "| 1:{} | {} | {} | {:.1} M |",
                t.subs,
                t.count,
                t.burst,
                t.per_s / 1e6
            );
        }
        self.shm.markdown(o);
        self.sched_table(o);
        let _ = writeln!(o, "\n## Scheduler tick jitter\n");
        crate::jitter::markdown(&self.jitter, o);
    }

    fn copy_table(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "## Payload copy against memcpy, one thread\n\nOne message through the core ring \
             (`RawHandle::send_bytes` + `recv_bytes`: copied into the slot and out of it, with the \
             stamps and the seqlock check) against two `ptr::copy_nonoverlapping` of the same size, \
             batch after batch in turn in the same run, the order swapped each batch (median of \
             the batches, ns per message). GB/s are payload bytes per second, the payload counted \
             once per message (in and out), as in the payload sweep's \"GB/s at p50\"; the bytes \
             copied per second are twice that. No cross-core hop and in cache (the 64 KiB row's \
             HORUS side cycles 640 KiB of slots and buffers, memcpy's 192 KiB, both within L2 here): \
             this is the copy code against `memcpy`, not a cross-process bandwidth, and the sweep's \
             GB/s (payload over one-way latency, the cross-core hop included) is not comparable with \
             it.\n"
        );
        let _ = writeln!(
            o,
            "| payload | HORUS ns per message | memcpy ns per two copies | HORUS payload GB/s | memcpy payload GB/s | HORUS / memcpy bandwidth |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|");
        for r in &self.copy {
            let _ = writeln!(
                o,
                "| {} B | {} | {} | {:.1} | {:.1} | {:.2}x |",
                r.bytes,
                ns(r.horus_ns),
                ns(r.memcpy_ns),
                r.horus_gbs(),
                r.memcpy_gbs(),
                r.ratio()
            );
        }
        let _ = writeln!(o);
    }

    fn sched_table(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "\n## Scheduler overhead, empty nodes\n\nOne round (every node ticked once) of N empty \
             nodes, ns, median of batches: the core engine (`CoreScheduler::step_all_with`, \
             `ManualClock`: the engine alone) and the std `Scheduler::tick_once` (monotonic clock, \
             panic guard, statistics, system check), each beside a bare loop calling the same \
             nodes through the same `dyn` pointers; the four loops run one batch each per \
             round, in an order rotated each round. Per node = (round - bare) / N.\n"
        );
        let _ = writeln!(
            o,
            "| nodes | bare core loop | core engine | core per node | bare std loop | std tick_once | std per node |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|");
        for r in &self.sched {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.nodes,
                ns(r.bare_core),
                ns(r.core),
                ns(r.core_per_node()),
                ns(r.bare_std),
                ns(r.std),
                ns(r.std_per_node())
            );
        }
    }
}
