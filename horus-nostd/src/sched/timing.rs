//! Release times and deadline accounting of one node.
//!
//! A node with period `P` started at `t0` is *released* at `t0`, `t0 + P`,
//! `t0 + 2P`, ... (a fixed grid: an early or late tick never shifts later
//! releases, so the rate does not drift). For each tick the scheduler calls
//! [`Timing::release`] just before the node runs and [`Timing::complete`]
//! just after; between them they count:
//!
//! - **late release**: the node started more than its *tolerance* after
//!   its release time (default: a tenth of the period). Lateness is measured
//!   for every tick (max and mean kept) whether or not it counts as late.
//! - **skipped releases**: a node a whole period or more late (it, or a
//!   node before it, overran) runs once, and the releases that had passed
//!   when its round began are skipped and counted, never run in a burst to
//!   catch up. The next release is the first grid point after the round's
//!   time. (The round's time, not the tick's start: nodes on a common grid
//!   then always stay in the same rounds, so their order holds even when a
//!   tick starts late.)
//! - **overrun**: the tick took longer than its *budget* (default: the
//!   period). A tick is never interrupted; the overrun is counted, and its
//!   consequence shows up as late or skipped releases.

use super::NodeStats;
use crate::time::RateError;

/// The schedule and counters of one node.
///
/// ```
/// use horus_nostd::sched::Timing;
///
/// let mut t = Timing::new(1_000).unwrap().with_budget_ns(300);
/// t.start_at(0);
/// assert!(t.is_due(0));
/// let r = t.release(0, 50); // round at 0, started 50 ns after its release at 0
/// let c = t.complete(&r, 450); // ran 400 ns: over its 300 ns budget
/// assert!(c.overrun);
/// assert_eq!(t.next_release_ns(), 1_000);
/// assert_eq!((t.stats().ticks, t.stats().overruns, t.stats().late_releases), (1, 1, 0));
/// let r = t.release(3_500, 3_500); // 2.5 periods late: releases 2000 and 3000 are skipped
/// assert!(r.late);
/// assert_eq!((r.lateness_ns, r.skipped), (2_500, 2));
/// assert_eq!(t.next_release_ns(), 4_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Timing {
    period_ns: u64,
    budget_ns: u64,
    tolerance_ns: u64,
    next_release_ns: u64,
    seq: u64,
    stats: NodeStats,
}

/// One release of a node, from [`Timing::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Release {
    /// Number of this tick, from 0.
    pub seq: u64,
    /// When the node was due, ns.
    pub release_ns: u64,
    /// When it started, ns.
    pub start_ns: u64,
    /// `start_ns - release_ns` (0 if it started early).
    pub lateness_ns: u64,
    /// Whether the lateness exceeds the node's tolerance (counted).
    pub late: bool,
    /// Releases that passed while it was late and will not run.
    pub skipped: u64,
}

/// The end of a tick, from [`Timing::complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Completion {
    /// How long the tick ran, ns.
    pub duration_ns: u64,
    /// Whether that is over the node's budget (counted).
    pub overrun: bool,
}

impl Timing {
    /// A schedule with period `period_ns`, budget = period, tolerance =
    /// period / 10, not started.
    ///
    /// # Errors
    /// [`RateError::Zero`] for a zero period.
    pub const fn new(period_ns: u64) -> Result<Self, RateError> {
        if period_ns == 0 {
            return Err(RateError::Zero);
        }
        Ok(Self {
            period_ns,
            budget_ns: period_ns,
            tolerance_ns: period_ns / 10,
            next_release_ns: 0,
            seq: 0,
            stats: NodeStats::ZERO,
        })
    }

    /// Sets the budget: a tick running longer counts as an overrun.
    #[must_use]
    pub const fn with_budget_ns(mut self, budget_ns: u64) -> Self {
        self.budget_ns = budget_ns;
        self
    }

    /// Sets the tolerance: a start later than this after the release counts
    /// as a late release.
    #[must_use]
    pub const fn with_tolerance_ns(mut self, tolerance_ns: u64) -> Self {
        self.tolerance_ns = tolerance_ns;
        self
    }

    /// Places the first release at `t0_ns` (and the grid after it).
    pub fn start_at(&mut self, t0_ns: u64) {
        self.next_release_ns = t0_ns;
    }

    /// Whether the next release is at or before `now_ns`.
    pub const fn is_due(&self, now_ns: u64) -> bool {
        now_ns >= self.next_release_ns
    }

    /// When the next release is, ns.
    pub const fn next_release_ns(&self) -> u64 {
        self.next_release_ns
    }

    /// The period, ns.
    pub const fn period_ns(&self) -> u64 {
        self.period_ns
    }

    /// The budget, ns.
    pub const fn budget_ns(&self) -> u64 {
        self.budget_ns
    }

    /// The late-release tolerance, ns.
    pub const fn tolerance_ns(&self) -> u64 {
        self.tolerance_ns
    }

    /// The counters so far.
    pub const fn stats(&self) -> &NodeStats {
        &self.stats
    }

    /// Counts a failed tick (an error returned, or a panic in std).
    pub fn record_fault(&mut self) {
        self.stats.faults = self.stats.faults.saturating_add(1);
    }

    /// The node, found due by the round that began at `round_ns`, starts
    /// its tick at `start_ns` (`>= round_ns`): measures and counts its
    /// lateness, skips the releases that had passed at `round_ns`, and moves
    /// the next release to the first grid point after `round_ns`.
    #[inline]
    pub fn release(&mut self, round_ns: u64, start_ns: u64) -> Release {
        let release_ns = self.next_release_ns;
        let lateness_ns = start_ns.saturating_sub(release_ns);
        let late = lateness_ns > self.tolerance_ns;
        // Grid points strictly after release_ns that had passed when the round began.
        let behind = round_ns.saturating_sub(release_ns);
        // The common case (less than a period behind) without a division.
        let skipped = if behind < self.period_ns {
            0
        } else {
            behind / self.period_ns
        };
        self.next_release_ns = skipped
            .checked_add(1)
            .and_then(|k| k.checked_mul(self.period_ns))
            .and_then(|d| release_ns.checked_add(d))
            .unwrap_or(u64::MAX);
        let s = &mut self.stats;
        s.late_releases += u64::from(late);
        s.skipped_releases = s.skipped_releases.saturating_add(skipped);
        s.max_lateness_ns = s.max_lateness_ns.max(lateness_ns);
        s.total_lateness_ns = s.total_lateness_ns.saturating_add(lateness_ns);
        s.last_lateness_ns = lateness_ns;
        let seq = self.seq;
        self.seq += 1;
        Release {
            seq,
            release_ns,
            start_ns,
            lateness_ns,
            late,
            skipped,
        }
    }

    /// The tick released by `release` ended at `end_ns`: counts it, and an
    /// overrun if it ran longer than the budget.
    #[inline]
    pub fn complete(&mut self, release: &Release, end_ns: u64) -> Completion {
        let duration_ns = end_ns.saturating_sub(release.start_ns);
        let overrun = duration_ns > self.budget_ns;
        let s = &mut self.stats;
        s.ticks += 1;
        s.overruns += u64::from(overrun);
        s.max_duration_ns = s.max_duration_ns.max(duration_ns);
        s.total_duration_ns = s.total_duration_ns.saturating_add(duration_ns);
        s.last_duration_ns = duration_ns;
        Completion {
            duration_ns,
            overrun,
        }
    }

    /// Re-phases the grid so the next release is `now_ns` (after a hold:
    /// the releases missed while held are neither run nor counted).
    pub fn rephase(&mut self, now_ns: u64) {
        self.next_release_ns = now_ns;
    }

    /// Moves the grid onto a clock that went back from `from_ns` to `to_ns`
    /// (a 32-bit counter that wrapped, say): the next release stays as far
    /// ahead of the clock as it was of `from_ns` (a release already due
    /// then is due at `to_ns`). Counters are kept.
    ///
    /// ```
    /// use horus_nostd::sched::Timing;
    ///
    /// let mut t = Timing::new(1_000).unwrap();
    /// t.start_at(5_000_000);
    /// t.rebase(4_999_700, 200); // the clock read 4_999_700, now 200
    /// assert_eq!(t.next_release_ns(), 500);
    /// ```
    pub fn rebase(&mut self, from_ns: u64, to_ns: u64) {
        let ahead = self.next_release_ns.saturating_sub(from_ns);
        self.next_release_ns = to_ns.saturating_add(ahead);
    }

    /// Zeroes the counters and re-phases the grid to `now_ns`: the node
    /// starts over (a restart by an operator).
    pub fn restart_at(&mut self, now_ns: u64) {
        self.stats = NodeStats::ZERO;
        self.rephase(now_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_time_ticks_count_nothing_but_ticks() {
        let mut t = Timing::new(100).unwrap();
        t.start_at(1_000);
        for k in 0..10 {
            assert!(!t.is_due(1_000 + k * 100 - 1));
            let r = t.release(1_000 + k * 100, 1_000 + k * 100 + 5);
            assert_eq!((r.seq, r.late, r.skipped), (k, false, 0));
            t.complete(&r, 1_000 + k * 100 + 50);
        }
        let s = t.stats();
        assert_eq!(
            (s.ticks, s.late_releases, s.overruns, s.skipped_releases),
            (10, 0, 0, 0)
        );
        assert_eq!((s.max_lateness_ns, s.mean_lateness_ns()), (5, 5));
        assert_eq!(t.next_release_ns(), 2_000);
    }

    #[test]
    fn tolerance_decides_lateness() {
        let mut t = Timing::new(100).unwrap().with_tolerance_ns(20);
        t.start_at(0);
        assert!(!t.release(20, 20).late);
        assert!(t.release(121, 121).late);
        assert_eq!(t.stats().late_releases, 1);
    }

    #[test]
    fn huge_times_saturate_instead_of_overflowing() {
        let mut t = Timing::new(u64::MAX / 2).unwrap();
        t.start_at(u64::MAX - 10);
        let r = t.release(u64::MAX, u64::MAX);
        assert_eq!(r.lateness_ns, 10);
        assert_eq!(t.next_release_ns(), u64::MAX);
        assert!(Timing::new(0).is_err());
    }
}
