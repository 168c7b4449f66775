//! Verdicts of ratio targets, and when a ratio is too close to call.
//!
//! A ratio target (`a / b <= k` or `>= k`, both figures one-way latencies
//! of rows measured in the same interleaved blocks) is read four ways:
//!
//! - the whole rows' figures, as recorded (the timer inside);
//! - the same with the timer's measured cost (half an `Instant::now()` pair,
//!   one-way) taken from both: it sits in numerator and denominator and
//!   pulls every ratio toward 1;
//! - the median of the per-round ratios ([`crate::paired`]), with the timer
//!   and without it.
//!
//! MET only when every reading meets the target and the whole rows' margin
//! is more than one clock step on each figure (`|a - k b| > step (1 + k)`:
//! CLOCK_MONOTONIC advances in steps, so one-way figures come in half
//! steps); MISSED only when every reading misses it by that much;
//! UNDECIDED otherwise, with the readings that disagree on the line.

use std::fmt;

use crate::paired::paired;
use crate::report::ns;
use crate::stats::Summary;

/// A target's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// The readings disagree, or the margin is under the clock's step.
    Undecided,
}

impl Verdict {
    /// MET or MISSED: a target whose figure has no timer in it and no
    /// rounds to pair (memory, bandwidth of batches, jitter).
    pub fn of(ok: bool) -> Self {
        if ok { Self::Met } else { Self::Missed }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Met => "MET",
            Self::Missed => "MISSED",
            Self::Undecided => "UNDECIDED",
        })
    }
}

/// What the clock puts in every one-way figure, measured in the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// Half the median cost of an `Instant::now()` pair, ns.
    pub timer_one_way: f64,
    /// Half the clock's step (the smallest difference it reports), ns.
    pub step_one_way: f64,
}

impl Clock {
    /// From a pair's cost and the clock's step, both as measured (ns).
    pub fn from_pair(pair_ns: f64, step_ns: f64) -> Self {
        Self {
            timer_one_way: pair_ns / 2.0,
            step_one_way: step_ns / 2.0,
        }
    }
}

/// One figure of a row: the whole row's and each round's.
#[derive(Debug, Clone, Copy)]
pub struct Fig<'a> {
    pub whole: f64,
    pub rounds: &'a [f64],
}

impl<'a> Fig<'a> {
    /// A row's p50: the whole row's and each round's.
    pub fn p50(s: &'a Summary) -> Self {
        Self {
            whole: s.p50,
            rounds: &s.rounds_p50,
        }
    }

    /// A row's p99.9: the whole row's and each round's.
    pub fn p999(s: &'a Summary) -> Self {
        Self {
            whole: s.p999,
            rounds: &s.rounds_p999,
        }
    }
}

/// The direction of a ratio target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    AtMost(f64),
    AtLeast(f64),
}

impl Bound {
    fn k(self) -> f64 {
        match self {
            Self::AtMost(k) | Self::AtLeast(k) => k,
        }
    }

    fn meets(self, r: f64) -> bool {
        match self {
            Self::AtMost(k) => r <= k,
            Self::AtLeast(k) => r >= k,
        }
    }
}

/// Judges `a / b` against `bound`: the verdict and the line's detail
/// (every reading, the margin and the clock).
pub fn ratio(a: Fig, b: Fig, bound: Bound, clock: &Clock) -> (Verdict, String) {
    let t = clock.timer_one_way;
    let less = |v: &[f64]| v.iter().map(|x| x - t).collect::<Vec<_>>();
    let whole = a.whole / b.whole;
    let whole_nt = (a.whole - t) / (b.whole - t);
    let pair = paired(a.rounds, b.rounds);
    let pair_nt = paired(&less(a.rounds), &less(b.rounds));
    let mut readings = vec![whole, whole_nt];
    readings.extend(pair.iter().chain(&pair_nt).map(|p| p.median));
    let k = bound.k();
    let margin = (a.whole - k * b.whole).abs();
    let resolved = margin > clock.step_one_way * (1.0 + k);
    let met = readings.iter().filter(|&&r| bound.meets(r)).count();
    let agree = met == 0 || met == readings.len();
    let verdict = match (agree, resolved) {
        (true, true) if met > 0 => Verdict::Met,
        (true, true) => Verdict::Missed,
        _ => Verdict::Undecided,
    };
    let mut d = format!(
        "{} ns vs {} ns = {whole:.2}x (timer removed: {whole_nt:.2}x)",
        ns(a.whole),
        ns(b.whole)
    );
    if let (Some(p), Some(q)) = (pair, pair_nt) {
        d += &format!("; {} (timer removed: {:.2}x)", p, q.median);
    }
    d += &format!(
        "; margin {} ns, clock step {} ns and timer {} ns one-way",
        ns(margin),
        ns(clock.step_one_way),
        ns(t)
    );
    if verdict == Verdict::Undecided {
        d += if !agree {
            "; undecided: the readings fall on both sides of the target"
        } else {
            "; undecided: within one clock step of the target"
        };
    }
    (verdict, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOCK: Clock = Clock {
        timer_one_way: 15.0,
        step_one_way: 5.0,
    };

    fn fig(whole: f64, rounds: &[f64]) -> Fig<'_> {
        Fig { whole, rounds }
    }

    #[test]
    fn met_when_every_reading_meets_with_margin() {
        let (v, d) = ratio(
            fig(100.0, &[100.0, 110.0]),
            fig(90.0, &[90.0, 100.0]),
            Bound::AtMost(1.3),
            &CLOCK,
        );
        assert_eq!(v, Verdict::Met, "{d}");
        assert!(
            d.starts_with("100 ns vs 90.0 ns = 1.11x (timer removed: 1.13x); paired by round:"),
            "{d}"
        );
    }

    #[test]
    fn the_timer_removed_can_flip_a_ratio_to_undecided() {
        // 1.83x with the timer, 2.11x without: the auditor's 1:8 fan-out.
        let (v, d) = ratio(fig(110.0, &[]), fig(60.0, &[]), Bound::AtMost(2.0), &CLOCK);
        assert!(d.contains("= 1.83x (timer removed: 2.11x)"), "{d}");
        assert_eq!(v, Verdict::Undecided);
        assert!(d.ends_with("on both sides of the target"), "{d}");
    }

    #[test]
    fn whole_rows_and_rounds_that_disagree_are_undecided() {
        let (v, _) = ratio(
            fig(100.0, &[150.0, 160.0, 150.0]),
            fig(90.0, &[90.0, 90.0, 90.0]),
            Bound::AtMost(1.3),
            &CLOCK,
        );
        assert_eq!(v, Verdict::Undecided);
    }

    #[test]
    fn within_a_clock_step_is_undecided_and_a_clear_miss_is_missed() {
        // 2 x 50 = 100: 104 is 4 ns over, under a step on each side.
        let (v, d) = ratio(fig(104.0, &[]), fig(50.0, &[]), Bound::AtMost(2.0), &CLOCK);
        assert_eq!(v, Verdict::Undecided, "{d}");
        assert!(d.ends_with("within one clock step of the target"), "{d}");
        let (v, _) = ratio(fig(200.0, &[]), fig(50.0, &[]), Bound::AtMost(2.0), &CLOCK);
        assert_eq!(v, Verdict::Missed);
        // At least 3x: iceoryx2 400 against 100 is met, 250 missed.
        let at_least = Bound::AtLeast(3.0);
        assert_eq!(
            ratio(fig(400.0, &[]), fig(100.0, &[]), at_least, &CLOCK).0,
            Verdict::Met
        );
        assert_eq!(
            ratio(fig(250.0, &[]), fig(100.0, &[]), at_least, &CLOCK).0,
            Verdict::Missed
        );
    }
}
