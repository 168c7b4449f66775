//! What the scheduler counts per node.

/// Counters of one node since it was added (see [`Timing`](super::Timing)
/// for what each means).
///
/// ```
/// use horus_nostd::sched::NodeStats;
///
/// let s = NodeStats { ticks: 4, total_lateness_ns: 100, ..NodeStats::ZERO };
/// assert_eq!(s.mean_lateness_ns(), 25);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NodeStats {
    /// Ticks run to the end (failed ones included).
    pub ticks: u64,
    /// Ticks that started later than the node's tolerance after their release.
    pub late_releases: u64,
    /// Ticks that ran longer than the node's budget.
    pub overruns: u64,
    /// Releases that passed while the node was late and were not run.
    pub skipped_releases: u64,
    /// Ticks that failed (returned an error, or panicked in std).
    pub faults: u64,
    /// Largest start lateness seen, ns.
    pub max_lateness_ns: u64,
    /// Sum of start lateness over all ticks, ns (for the mean).
    pub total_lateness_ns: u64,
    /// Lateness of the last tick, ns.
    pub last_lateness_ns: u64,
    /// Longest tick, ns.
    pub max_duration_ns: u64,
    /// Sum of tick durations, ns (time spent in the node).
    pub total_duration_ns: u64,
    /// Duration of the last tick, ns.
    pub last_duration_ns: u64,
}

impl NodeStats {
    /// All counters at zero.
    pub const ZERO: Self = Self {
        ticks: 0,
        late_releases: 0,
        overruns: 0,
        skipped_releases: 0,
        faults: 0,
        max_lateness_ns: 0,
        total_lateness_ns: 0,
        last_lateness_ns: 0,
        max_duration_ns: 0,
        total_duration_ns: 0,
        last_duration_ns: 0,
    };

    /// Mean start lateness, ns (0 before the first tick).
    pub const fn mean_lateness_ns(&self) -> u64 {
        match self.ticks {
            0 => 0,
            n => self.total_lateness_ns / n,
        }
    }

    /// Mean tick duration, ns (0 before the first tick).
    pub const fn mean_duration_ns(&self) -> u64 {
        match self.ticks {
            0 => 0,
            n => self.total_duration_ns / n,
        }
    }
}
