//! The "Targets" section: each target of the issues, MET or MISSED with its
//! numbers, and beside a latency target the limit that bounds it.

use std::fmt::Write;

use super::verdict::ratio as judge;
use super::{Bound, Fig, Report, Row, Verdict, ns, ratio, regression};
use crate::schedcost::SchedRow;
use crate::stats::Summary;

/// A row's p50 (whole and per round).
fn p50(s: &Summary) -> Fig<'_> {
    Fig::p50(s)
}

/// A row's p99.9 (whole and per round).
fn p999(s: &Summary) -> Fig<'_> {
    Fig::p999(s)
}

impl Report {
    pub(super) fn targets(&self, o: &mut String) {
        let _ = writeln!(o, "\n## Targets\n");
        let _ = writeln!(
            o,
            "Ratio targets: MET or MISSED only when the whole rows' ratio and the per-round \
             (paired) median agree, with the timer's cost in both figures and with it removed \
             from both, and the margin is over one clock step; else UNDECIDED \
             (`benchmarks/README.md`, \"Verdicts\").\n"
        );
        let clock = &self.clock;
        let mut t = |what: &str, v: Verdict, detail: String| {
            let _ = writeln!(o, "- {v} {what}: {detail}");
        };
        for (what, ok, detail) in self.python.targets() {
            t(what, Verdict::of(ok), detail);
        }
        if let Some(r) = self.row("cross-process 1:1") {
            if let Some(l) = &r.limit {
                let (v, d) = judge(p50(&r.s), p50(l), Bound::AtMost(1.3), clock);
                t(
                    "cross-process 1:1 p50 within 1.3x of the raw process limit",
                    v,
                    d + &seqlock_beside(&self.main, "processes", Tail::P50),
                );
            }
            let (v, d) = judge(p999(&r.s), p50(&r.s), Bound::AtMost(3.0), clock);
            t("cross-process 1:1 p99.9 within 3x of its p50", v, d);
            if let Some(p) = &r.peer {
                let (v, d) = judge(p50(p), p50(&r.s), Bound::AtLeast(3.0), clock);
                t(
                    "at least 3x faster than iceoryx2 at p50 (iceoryx2 / HORUS)",
                    v,
                    d,
                );
                let (v, d) = judge(p999(&r.s), p999(p), Bound::AtMost(1.0), clock);
                t("faster than iceoryx2 at p99.9 (HORUS / iceoryx2)", v, d);
            }
        }
        for (row, limits) in [
            ("same process 1:1", "threads"),
            ("cross-process 1:1", "processes"),
        ] {
            let Some(r) = self.row(row) else { continue };
            if let Some(l) = r.limit.as_ref().filter(|_| row.starts_with("same")) {
                let (v, d) = judge(p50(&r.s), p50(l), Bound::AtMost(1.3), clock);
                t(
                    "same process 1:1 p50 within 1.3x of the raw thread limit",
                    v,
                    d + &seqlock_beside(&self.main, "threads", Tail::P50),
                );
            }
            if let Some(seq) = self.row(&format!("limit: raw seqlock 64 B, {limits}")) {
                let (v, d) = judge(p50(&r.s), p50(&seq.s), Bound::AtMost(1.1), clock);
                t(
                    &format!("{row} p50 within 1.1x of the raw 64-byte seqlock ({limits})"),
                    v,
                    d,
                );
            }
        }
        for place in ["same process", "cross-process"] {
            for topo in ["1:1", "1:N", "N:1", "N:N"] {
                let name = format!("{place} {topo}");
                let Some((r, l)) = self.row(&name).and_then(|r| Some((r, r.limit.as_ref()?)))
                else {
                    continue;
                };
                let mode = if place == "same process" {
                    "threads"
                } else {
                    "processes"
                };
                let (v, d) = judge(p999(&r.s), p999(l), Bound::AtMost(1.5), clock);
                t(
                    &format!("{name} p99.9 within 1.5x of the raw limit's p99.9"),
                    v,
                    d + &seqlock_beside(&self.main, mode, Tail::P999),
                );
            }
        }
        for (what, ok, detail) in self.shm.targets() {
            t(&what, Verdict::of(ok), detail);
        }
        if let (Some(pod), Some(ser)) = (
            self.row("cross-process 1:1"),
            self.main.iter().find(|r| r.name == crate::SERIALIZED_ROW),
        ) {
            let alone = self.serde.map_or(String::new(), |c| {
                let rest = ser.s.p50 - c.fresh_ns;
                format!(
                    "; postcard's encode + decode of the message with its allocations, alone \
                     (one thread, no ring): {} ns a hop, so an estimate of the row without them \
                     (a difference of medians, not timed) is {} ns = {} the POD row",
                    ns(c.fresh_ns),
                    ns(rest),
                    ratio(rest, pod.s.p50)
                )
            });
            let (v, d) = judge(p50(&ser.s), p50(&pod.s), Bound::AtMost(2.0), clock);
            t(
                "serialized 64 B struct (String + Vec<f32>) p50 within 2x of the 64 B POD row",
                v,
                d + &alone,
            );
        }
        let one = self.subs_sweep.iter().find(|(n, _)| *n == 1);
        let eight = self.subs_sweep.iter().find(|(n, _)| *n == 8);
        if let (Some((_, a)), Some((_, b))) = (one, eight) {
            let (v, d) = judge(p50(b), p50(a), Bound::AtMost(2.0), clock);
            t("1:8 fan-out p50 within 2x of 1:1", v, d);
        }
        if let Some(r) = self.copy.iter().find(|r| r.bytes == 65536) {
            let target = crate::copybw::TARGET_RATIO;
            t(
                &format!("64 KiB payload copy at >= {target}x of memcpy's bandwidth"),
                Verdict::of(r.ratio() >= target),
                format!(
                    "one thread, in cache: a message sent and received through the core ring \
                     against two memcpy of 64 KiB (in and out), payload counted once: {:.1} GB/s \
                     vs {:.1} GB/s = {:.2}x",
                    r.horus_gbs(),
                    r.memcpy_gbs(),
                    r.ratio()
                ),
            );
        }
        for name in ["same process N:N", "cross-process N:N"] {
            if let Some(r) = self.row(name) {
                let (v, d) = judge(p999(&r.s), p50(&r.s), Bound::AtMost(5.0), clock);
                t(
                    &format!("{name} without a lock convoy (p99.9 within 5x of p50)"),
                    v,
                    d,
                );
            }
        }
        self.sched_targets(&mut t);
        crate::jitter::targets(&self.jitter, o);
        if let Some(p) = &self.pooled {
            p.targets(o, clock);
        }
        let commit = &self.machine.commit;
        let _ = writeln!(
            o,
            "- {}",
            regression::line(self.compare.as_ref(), commit, clock)
        );
    }

    /// The scheduler target, judged at every node count measured: a
    /// program with one node pays the one-node cost, so no count is
    /// favoured. Each line gives every count's cost per node over the bare
    /// loop, the marginal cost per added node between the two largest
    /// counts, and the fixed cost per round that slope leaves.
    fn sched_targets(&self, t: &mut impl FnMut(&str, Verdict, String)) {
        let target = crate::schedcost::TARGET_NS_PER_NODE;
        for (what, per) in [
            (
                "core engine",
                &(|r: &SchedRow| r.core_per_node()) as &dyn Fn(&SchedRow) -> f64,
            ),
            ("std tick_once", &|r: &SchedRow| r.std_per_node()),
        ] {
            if let Some((v, d)) = sched_line(&self.sched, per, target) {
                t(
                    &format!(
                        "scheduler ({what}) <= {target} ns per empty node tick, at every node count"
                    ),
                    v,
                    d,
                );
            }
        }
    }
}

/// The verdict and detail of the scheduler target for one way of ticking
/// (`per`: a row's cost per node over the bare loop, ns); None without rows.
fn sched_line(
    rows: &[SchedRow],
    per: &dyn Fn(&SchedRow) -> f64,
    target: f64,
) -> Option<(Verdict, String)> {
    if rows.is_empty() {
        return None;
    }
    let counts: Vec<String> = rows
        .iter()
        .map(|r| format!("{} at {} nodes", ns(per(r)), r.nodes))
        .collect();
    let mut d = format!("ns per node over the bare loop: {}", counts.join(", "));
    let mut by_count: Vec<&SchedRow> = rows.iter().collect();
    by_count.sort_by_key(|r| r.nodes);
    if let [.., a, b] = by_count[..] {
        // The round's extra cost is fixed + slope x nodes: two counts give both.
        let (ea, eb) = (per(a) * a.nodes as f64, per(b) * b.nodes as f64);
        let slope = (eb - ea) / (b.nodes - a.nodes) as f64;
        let _ = write!(
            d,
            "; marginal {} ns per added node ({} to {} nodes), fixed {} ns per round",
            ns(slope),
            a.nodes,
            b.nodes,
            ns(eb - slope * b.nodes as f64)
        );
    }
    Some((Verdict::of(rows.iter().all(|r| per(r) <= target)), d))
}

/// Which percentile a limit's context is given at.
#[derive(Clone, Copy)]
enum Tail {
    P50,
    P999,
}

/// What the raw 64-byte seqlock (`mode`: threads or processes) costs
/// against the one-word limit measured with it, at `tail`: the physics
/// of a 64-byte payload, beside a target judged against the one-word
/// limit (empty if the run has no such row).
fn seqlock_beside(main: &[Row], mode: &str, tail: Tail) -> String {
    let name = format!("limit: raw seqlock 64 B, {mode}");
    let Some((seq, word)) = main
        .iter()
        .find(|r| r.name == name)
        .and_then(|r| Some((&r.s, r.limit.as_ref()?)))
    else {
        return String::new();
    };
    let (s, w, what) = match tail {
        Tail::P50 => (seq.p50, word.p50, "p50"),
        Tail::P999 => (seq.p999, word.p999, "p99.9"),
    };
    format!(
        "; the raw 64-byte seqlock ({mode}) has {what} {} ns = {} the one-word limit's \
         measured with it",
        ns(s),
        ratio(s, w)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(p50: f64, p999: f64) -> Summary {
        Summary {
            count: 1,
            planned: 0,
            short_blocks: 0,
            p50,
            p99: p999,
            p999,
            max: p999,
            cdf: Vec::new(),
            rounds_p50: Vec::new(),
            rounds_p999: Vec::new(),
        }
    }

    fn row(name: &str, s: Summary, limit: Option<Summary>) -> Row {
        Row {
            name: name.to_owned(),
            seed: "-",
            s,
            limit,
            peer: None,
        }
    }

    #[test]
    fn the_seqlock_is_given_against_the_word_limit_measured_with_it() {
        let word = summary(60.0, 140.0);
        let main = vec![
            row(
                "limit: raw ping-pong, processes",
                summary(999.0, 999.0),
                None,
            ),
            row(
                "limit: raw seqlock 64 B, processes",
                summary(75.0, 280.0),
                Some(word),
            ),
        ];
        assert_eq!(
            seqlock_beside(&main, "processes", Tail::P50),
            "; the raw 64-byte seqlock (processes) has p50 75.0 ns = 1.25x the one-word \
             limit's measured with it"
        );
        assert_eq!(
            seqlock_beside(&main, "processes", Tail::P999),
            "; the raw 64-byte seqlock (processes) has p99.9 280 ns = 2.00x the one-word \
             limit's measured with it"
        );
        // No such row (a partial run): no context, not an error.
        assert_eq!(seqlock_beside(&main, "threads", Tail::P50), "");
    }

    #[test]
    fn the_scheduler_is_judged_at_every_count_with_its_marginal_cost() {
        let row = |nodes, std| SchedRow {
            nodes,
            bare_core: 0.0,
            core: 0.0,
            bare_std: 0.0,
            std,
        };
        // The auditor's figures: 177 ns at 1 node, 77.9 at 10, 68.1 at 100.
        let rows = [row(1, 177.0), row(10, 779.0), row(100, 6810.0)];
        let (v, d) = sched_line(&rows, &|r: &SchedRow| r.std_per_node(), 100.0).unwrap();
        assert_eq!(v, Verdict::Missed, "one node costs 177 ns: {d}");
        assert_eq!(
            d,
            "ns per node over the bare loop: 177 at 1 nodes, 77.9 at 10 nodes, 68.1 at 100 \
             nodes; marginal 67.0 ns per added node (10 to 100 nodes), fixed 109 ns per round"
        );
        let (v, _) = sched_line(&rows[1..], &|r: &SchedRow| r.std_per_node(), 100.0).unwrap();
        assert_eq!(v, Verdict::Met);
        assert!(sched_line(&[], &|r: &SchedRow| r.std_per_node(), 100.0).is_none());
    }
}
