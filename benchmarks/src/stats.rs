//! Recording round trips, and summaries of the full distribution: every
//! sample is kept, sorted, and read at exact ranks. Nothing is dropped,
//! nothing is smoothed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The round-trip number that tells a responder to stop (never a sample).
pub const STOP: u64 = u64::MAX;

/// Longest one block may record, ns, counted from its first recorded round
/// trip (after the warm-up): a loaded machine must not make a run last
/// hours; the sample count of a block cut short is what it recorded.
static ROW_BUDGET_NS: AtomicU64 = AtomicU64::new(30_000_000_000);

/// Fewest samples a row records even past its budget.
const MIN_SAMPLES: usize = 1_000;

pub fn set_row_budget(d: Duration) {
    ROW_BUDGET_NS.store(d.as_nanos() as u64, Ordering::Relaxed);
}

/// Runs round trips 1, 2, 3 ... through `round_trip`, timing each alone with
/// `Instant::now()` around the whole of it; the first `warmup` are not
/// recorded. The same loop for every row of every system measured.
#[inline]
pub fn record<E>(
    warmup: usize,
    samples: usize,
    round_trip: impl FnMut(u64) -> Result<(), E>,
) -> Result<Samples, E> {
    let budget = Duration::from_nanos(ROW_BUDGET_NS.load(Ordering::Relaxed));
    record_within(budget, warmup, samples, round_trip)
}

/// [`record`] with the time limit `budget` (of one block, after the
/// warm-up; at least `MIN_SAMPLES` are recorded past it).
#[inline]
fn record_within<E>(
    budget: Duration,
    warmup: usize,
    samples: usize,
    mut round_trip: impl FnMut(u64) -> Result<(), E>,
) -> Result<Samples, E> {
    // Counted from the first recorded round trip, not from the warm-up.
    let mut deadline = None;
    let mut s = Samples::with_capacity(samples);
    s.planned = samples;
    let mut i = 0u64;
    while s.rtt_ns.len() < samples {
        i += 1;
        let t = Instant::now();
        round_trip(i)?;
        let dt = t.elapsed().as_nanos() as u64;
        if i as usize > warmup {
            s.push(dt);
            let end = *deadline.get_or_insert(t + budget);
            if t > end && s.rtt_ns.len() >= MIN_SAMPLES && s.rtt_ns.len() < samples {
                s.short_blocks = 1;
                break;
            }
        }
    }
    Ok(s)
}

/// The distribution of one row, one-way nanoseconds (round trip / 2).
#[derive(Debug, Clone)]
pub struct Summary {
    /// Samples recorded (after warm-up).
    pub count: usize,
    /// Samples asked of [`record`] (the sum over the row's blocks): more
    /// than `count` when the time limit cut blocks short; 0 for samples
    /// not recorded through [`record`].
    pub planned: usize,
    /// Blocks that [`record`] stopped at its time limit before `planned`.
    pub short_blocks: usize,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// Points of the CDF for the plot: (x = -log10(1 - p), one-way ns).
    pub cdf: Vec<(f64, f64)>,
    /// The p50 of each interleaved round's block, one-way ns, in round
    /// order (NaN for a block that recorded nothing); empty for a row not
    /// recorded in rounds. Rows of one interleaving pair up round by round
    /// ([`crate::paired`]).
    pub rounds_p50: Vec<f64>,
    /// The p99.9 of each round's block, as `rounds_p50`.
    pub rounds_p999: Vec<f64>,
}

impl Summary {
    fn planned(self, planned: usize, short_blocks: usize) -> Self {
        Self {
            planned,
            short_blocks,
            ..self
        }
    }

    /// The sample count as a table prints it: `recorded / planned`, with
    /// how many blocks the time limit cut short, if any (`recorded` alone
    /// when nothing was planned through [`record`]).
    pub fn count_cell(&self) -> String {
        match (self.planned, self.short_blocks) {
            (0, _) => self.count.to_string(),
            (p, 0) => format!("{} / {p}", self.count),
            (p, 1) => format!("{} / {p}, 1 block cut short", self.count),
            (p, k) => format!("{} / {p}, {k} blocks cut short", self.count),
        }
    }
}

/// Round-trip samples in ns, one per round trip.
#[derive(Debug)]
pub struct Samples {
    rtt_ns: Vec<u64>,
    /// The p50 and p99.9 round trips of each block added by
    /// [`extend`](Self::extend) (0: an empty block).
    block_rtt: Vec<(u64, u64)>,
    /// Samples asked of [`record`], summed over the blocks added.
    planned: usize,
    /// Blocks [`record`] cut short at its time limit.
    short_blocks: usize,
}

impl Samples {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            rtt_ns: Vec::with_capacity(n),
            block_rtt: Vec::new(),
            planned: 0,
            short_blocks: 0,
        }
    }

    #[inline]
    pub fn push(&mut self, rtt_ns: u64) {
        self.rtt_ns.push(rtt_ns);
    }

    pub fn is_empty(&self) -> bool {
        self.rtt_ns.is_empty()
    }

    /// Adds the samples of another block of the same row (the next
    /// interleaved round), and notes that block's p50 and p99.9.
    pub fn extend(&mut self, mut other: Samples) {
        let v = &mut other.rtt_ns;
        let n = v.len();
        let mut at = |q: f64| {
            if n == 0 {
                return 0;
            }
            *v.select_nth_unstable(rank_index(n, q)).1
        };
        let p50 = at(0.5);
        let p999 = at(0.999);
        self.block_rtt.push((p50, p999));
        self.planned += other.planned;
        self.short_blocks += other.short_blocks;
        self.rtt_ns.extend(other.rtt_ns);
    }

    /// One-way = round trip / 2, for every sample.
    pub fn one_way(self) -> Summary {
        let (planned, short) = (self.planned, self.short_blocks);
        summarize(self.rtt_ns, &self.block_rtt, 0.5).planned(planned, short)
    }

    /// Samples that are one-way times already (stamped by both sides on
    /// the same clock), summarized as they are.
    pub fn measured_one_way(self) -> Summary {
        let (planned, short) = (self.planned, self.short_blocks);
        summarize(self.rtt_ns, &self.block_rtt, 1.0).planned(planned, short)
    }
}

/// The order of `n` blocks in round `round`: rotated by one each round, so
/// over the rounds every block runs in every position as often (the second
/// of two back-to-back runs measures differently: up to 1.3x, compare.sh).
pub fn rotation(round: usize, n: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |j| (j + round) % n)
}

/// Runs one batch of each of `blocks` per round, `1 + batches` rounds, in the
/// order [`rotation`] gives (round 0 warms caches and pages up and is not
/// kept); each block returns its batch's figure (ns per operation). Returns
/// each block's `batches` figures, in round order: rows compared with each
/// other are measured in the same rounds, each in every position as often.
pub fn batches_in_turn<E>(
    batches: usize,
    blocks: &mut [&mut dyn FnMut() -> Result<f64, E>],
) -> Result<Vec<Vec<f64>>, E> {
    let mut out = vec![Vec::with_capacity(batches); blocks.len()];
    for round in 0..=batches {
        for j in rotation(round, blocks.len()) {
            let ns = blocks[j]()?;
            if round > 0 {
                out[j].push(ns);
            }
        }
    }
    Ok(out)
}

/// The median of per-batch figures (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The sample at rank `ceil(q * n)` (nearest-rank percentile) of `sorted`
/// (not empty).
pub fn rank(sorted: &[u64], q: f64) -> u64 {
    sorted[rank_index(sorted.len(), q)]
}

/// The index, in sorted order, of the nearest-rank `q` percentile of `n`
/// samples (`n` > 0): rank `ceil(q * n)`, counted from 1.
fn rank_index(n: usize, q: f64) -> usize {
    ((q * n as f64).ceil() as usize).clamp(1, n) - 1
}

fn summarize(mut v: Vec<u64>, rounds: &[(u64, u64)], scale: f64) -> Summary {
    assert!(!v.is_empty(), "a row recorded no sample");
    v.sort_unstable();
    let at = |q: f64| rank(&v, q) as f64 * scale;
    let n = v.len();
    // x from 0 (p0) to log10(n) (the max), 40 points a decade.
    let top = (n as f64).log10();
    let mut cdf = Vec::new();
    let mut x = 0.0;
    while x < top {
        let q = 1.0 - 10f64.powf(-x);
        cdf.push((x, at(q)));
        x += 0.025;
    }
    cdf.push((top, v[n - 1] as f64 * scale));
    Summary {
        count: n,
        planned: 0,
        short_blocks: 0,
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: v[n - 1] as f64 * scale,
        cdf,
        rounds_p50: rounds.iter().map(|&(m, _)| scaled(m, scale)).collect(),
        rounds_p999: rounds.iter().map(|&(_, t)| scaled(t, scale)).collect(),
    }
}

/// A round's figure in one-way ns; NaN for an empty round (0).
fn scaled(rtt: u64, scale: f64) -> f64 {
    if rtt == 0 {
        f64::NAN
    } else {
        rtt as f64 * scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_ranks_and_halving() {
        let mut s = Samples::with_capacity(1000);
        for i in 1..=1000 {
            s.push(i * 2);
        }
        let sum = s.one_way();
        assert_eq!(sum.count, 1000);
        assert_eq!(sum.p50, 500.0);
        assert_eq!(sum.p99, 990.0);
        assert_eq!(sum.p999, 999.0);
        assert_eq!(sum.max, 1000.0);
        assert!(
            sum.rounds_p50.is_empty(),
            "recorded in one piece: no rounds"
        );
    }

    #[test]
    fn each_round_keeps_its_own_p50() {
        let block = |values: &[u64]| {
            let mut b = Samples::with_capacity(values.len());
            values.iter().for_each(|&v| b.push(v));
            b
        };
        let mut s = Samples::with_capacity(8);
        s.extend(block(&[40, 10, 20])); // p50 20 (rank 2 of 3)
        s.extend(block(&[]));
        s.extend(block(&[100, 300, 200, 400])); // p50 200 (rank 2 of 4)
        let sum = s.one_way();
        assert_eq!(sum.count, 7);
        assert_eq!(sum.rounds_p50.len(), 3);
        assert_eq!(sum.rounds_p50[0], 10.0);
        assert!(sum.rounds_p50[1].is_nan(), "an empty round has no p50");
        assert_eq!(sum.rounds_p50[2], 100.0);
        // p99.9: the top rank of blocks this small.
        assert_eq!(sum.rounds_p999[0], 20.0);
        assert!(sum.rounds_p999[1].is_nan());
        assert_eq!(sum.rounds_p999[2], 200.0);
    }

    #[test]
    fn every_block_takes_every_place_in_turn() {
        let order: Vec<Vec<usize>> = (0..3).map(|r| rotation(r, 3).collect()).collect();
        assert_eq!(order, [[0, 1, 2], [1, 2, 0], [2, 0, 1]]);
        assert_eq!(rotation(4, 3).collect::<Vec<_>>(), [1, 2, 0]);
    }

    #[test]
    fn batches_run_in_turn_after_one_warm_up_round() {
        let log = std::cell::RefCell::new(Vec::new());
        let mut a = || -> Result<f64, ()> {
            log.borrow_mut().push('a');
            Ok(1.0)
        };
        let mut b = || -> Result<f64, ()> {
            log.borrow_mut().push('b');
            Ok(2.0)
        };
        let out = batches_in_turn(2, &mut [&mut a, &mut b]).unwrap();
        assert_eq!(out, [vec![1.0, 1.0], vec![2.0, 2.0]]);
        assert_eq!(log.into_inner(), ['a', 'b', 'b', 'a', 'a', 'b']);
    }

    #[test]
    fn blocks_cut_short_by_the_time_limit_are_counted() {
        let ok = |_| Ok::<(), ()>(());
        let mut acc = Samples::with_capacity(0);
        // A full block: 10 asked, 10 recorded.
        acc.extend(record_within(Duration::from_secs(60), 2, 10, ok).unwrap());
        // A block whose limit passes at once: stops at MIN_SAMPLES.
        acc.extend(record_within(Duration::ZERO, 0, MIN_SAMPLES + 500, ok).unwrap());
        let sum = acc.one_way();
        assert_eq!(sum.planned, 10 + MIN_SAMPLES + 500);
        assert_eq!(sum.count, 10 + MIN_SAMPLES);
        assert_eq!(sum.short_blocks, 1);
        assert_eq!(
            sum.count_cell(),
            format!(
                "{} / {}, 1 block cut short",
                10 + MIN_SAMPLES,
                10 + MIN_SAMPLES + 500
            )
        );
    }

    #[test]
    fn a_block_that_reaches_its_count_is_not_short() {
        // MIN_SAMPLES asked: the limit passed, but nothing was cut.
        let s = record_within(Duration::ZERO, 0, MIN_SAMPLES, |_| Ok::<(), ()>(())).unwrap();
        let sum = s.one_way();
        assert_eq!((sum.count, sum.short_blocks), (MIN_SAMPLES, 0));
        assert_eq!(sum.count_cell(), format!("{MIN_SAMPLES} / {MIN_SAMPLES}"));
        let mut manual = Samples::with_capacity(1);
        manual.push(2);
        assert_eq!(manual.one_way().count_cell(), "1");
    }
}
