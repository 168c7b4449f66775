//! What a scheduler measured and recorded: wake-up jitter, per-node
//! figures, anomalies (kept in memory and written to the blackbox).

use horus_nostd::sched::{NodeState, NodeStats};

use crate::system::blackbox::{AnomalyKind, Blackbox};

/// Lateness of the scheduler's wake-ups: how long after the release it
/// slept for it actually woke (after the final spin). Keeps exact count,
/// mean, min and max, and the last [`JitterStats::WINDOW`] samples for
/// percentiles.
#[derive(Debug, Clone, Default)]
pub struct JitterStats {
    count: u64,
    sum_ns: u64,
    min_ns: u64,
    max_ns: u64,
    /// Ring of the newest samples (allocated once, when the run starts).
    window: Vec<u64>,
    next: usize,
}

impl JitterStats {
    /// Samples kept for percentiles.
    pub const WINDOW: usize = 16_384;

    pub(crate) fn reserve(&mut self) {
        self.window
            .reserve_exact(Self::WINDOW.saturating_sub(self.window.len()));
    }

    pub(crate) fn record(&mut self, lateness_ns: u64) {
        self.min_ns = if self.count == 0 {
            lateness_ns
        } else {
            self.min_ns.min(lateness_ns)
        };
        self.count += 1;
        self.sum_ns = self.sum_ns.saturating_add(lateness_ns);
        self.max_ns = self.max_ns.max(lateness_ns);
        if self.window.len() < Self::WINDOW {
            self.window.push(lateness_ns);
        } else {
            self.window[self.next] = lateness_ns;
        }
        self.next = (self.next + 1) % Self::WINDOW;
    }

    /// Wake-ups measured.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean lateness, ns (0 before the first sample).
    pub fn mean_ns(&self) -> u64 {
        self.sum_ns.checked_div(self.count).unwrap_or(0)
    }

    /// Smallest lateness, ns.
    pub fn min_ns(&self) -> u64 {
        self.min_ns
    }

    /// Largest lateness, ns.
    pub fn max_ns(&self) -> u64 {
        self.max_ns
    }

    /// The newest samples (at most [`WINDOW`](Self::WINDOW)), the ones
    /// percentiles are taken over, ns, in no particular order: to merge the
    /// figures of several runs, or for a histogram.
    pub fn samples(&self) -> &[u64] {
        &self.window
    }

    /// The `p`-th percentile (0.0..=100.0, nearest rank) of the newest
    /// samples, ns; `None` before the first sample.
    pub fn percentile_ns(&self, p: f64) -> Option<u64> {
        if self.window.is_empty() {
            return None;
        }
        let mut sorted = self.window.clone();
        sorted.sort_unstable();
        let rank = ((p.clamp(0.0, 100.0) / 100.0) * sorted.len() as f64).ceil() as usize;
        Some(sorted[rank.clamp(1, sorted.len()) - 1])
    }
}

/// One node, as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeInfo {
    /// Its name.
    pub name: String,
    /// Its position in the tick order.
    pub order: u32,
    /// Its state.
    pub state: NodeState,
    /// Its period, ns.
    pub period_ns: u64,
    /// Its budget, ns.
    pub budget_ns: u64,
    /// Ticks, late releases, overruns, lateness and durations: since its
    /// last operator restart (`horus node restart` zeroes them), else since
    /// it was added.
    pub stats: NodeStats,
    /// Panics caught in its `tick` and `safe_state`, since it was added
    /// (restarts keep them, as the fields below).
    pub panics: u64,
    /// Restarts whose `init` succeeded, by its `Restart` policy or by an
    /// operator (`horus node restart`).
    pub restarts: u64,
    /// The message of its last panic (in `tick`; one in `safe_state` says
    /// so: "in safe_state: ...").
    pub last_panic: Option<String>,
    /// CPU time spent in its ticks since it was added, ns (thread CPU time, so time blocked
    /// or preempted inside a tick does not count). Read exactly around at
    /// most one tick per 10 ms (every tick of a node at 100 Hz or slower);
    /// a tick in between counts its duration times the CPU share of the
    /// last tick read exactly.
    pub cpu_ns: u64,
    /// Errors it reported with [`report_error`](crate::node::report_error),
    /// every one (the details of at most 64 per tick are kept).
    pub errors: u64,
    /// Whether its last tick reported an error.
    pub last_tick_failed: bool,
}

/// An anomaly the scheduler recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Anomaly {
    /// When, ns of the monotonic clock.
    pub timestamp_ns: u64,
    /// What.
    pub kind: AnomalyKind,
    /// The node.
    pub node: String,
    /// Lateness (deadline miss), duration (overrun), or panics so far.
    pub value: u64,
    /// Said in words (at most 512 bytes: a longer text, such as a node's
    /// panic message or reported error, is cut at a character boundary).
    pub detail: String,
}

/// Where anomalies go: a bounded list in memory, and the namespace's
/// blackbox (opened at the first anomaly, unless disabled).
///
/// Counters are exact; records of deadline misses, overruns, node errors
/// and panics are limited to one per node and kind per
/// [`Recorder::QUIET_NS`] so a node that is late (or panics) on every tick
/// does not flood the blackbox and push an e-stop or a death out of its
/// lane (the first one is always recorded; a panic record says how many
/// panics it stands for, and a node's death is always recorded, see
/// [`Quiet::allow_next`]).
#[derive(Debug)]
pub(crate) struct Recorder {
    pub(crate) anomalies: Vec<Anomaly>,
    pub(crate) blackbox_enabled: bool,
    /// The scheduler's namespace (its blackbox's, e-stop's and registry's);
    /// `None`: `HORUS_NAMESPACE`.
    pub(crate) namespace: Option<String>,
    blackbox: Option<Blackbox>,
    blackbox_failed: bool,
}

/// Per node: when each rate-limited kind was last recorded.
#[derive(Debug, Default, Clone)]
pub(crate) struct Quiet {
    last_ns: [Option<u64>; 4],
    /// The node's panic count when its last panic was recorded.
    pub(crate) panics_recorded: u64,
}

impl Quiet {
    /// Where `kind`'s last record time is kept; `None`: never rate-limited.
    fn index(kind: AnomalyKind) -> Option<usize> {
        match kind {
            AnomalyKind::DeadlineMiss => Some(0),
            AnomalyKind::BudgetOverrun => Some(1),
            AnomalyKind::NodeError => Some(2),
            AnomalyKind::NodePanic => Some(3),
            _ => None,
        }
    }

    /// Lets the next record of `kind` through, however recent the last:
    /// for what must never be lost (a node stopped by its policy, a restart
    /// that failed).
    pub(crate) fn allow_next(&mut self, kind: AnomalyKind) {
        if let Some(i) = Self::index(kind) {
            self.last_ns[i] = None;
        }
    }
}

impl Recorder {
    /// Anomalies kept in memory (the oldest are dropped).
    pub(crate) const KEEP: usize = 1_024;
    /// Longest detail kept, bytes (cut at a character boundary).
    pub(crate) const DETAIL_MAX: usize = 512;
    /// Least time between two records of the same node and kind.
    pub(crate) const QUIET_NS: u64 = 1_000_000_000;

    pub(crate) fn new(blackbox_enabled: bool) -> Self {
        Self {
            anomalies: Vec::new(),
            blackbox_enabled,
            namespace: None,
            blackbox: None,
            blackbox_failed: false,
        }
    }

    /// Records an anomaly of `node` unless one of the same kind was
    /// recorded less than `QUIET_NS` ago (deadline misses, overruns, node
    /// errors and panics; the other kinds are always recorded). Returns
    /// whether it was recorded.
    pub(crate) fn record(
        &mut self,
        quiet: &mut Quiet,
        kind: AnomalyKind,
        node: &str,
        value: u64,
        detail: impl FnOnce() -> String,
    ) -> bool {
        let now = crate::time::now_ns();
        if let Some(i) = Quiet::index(kind) {
            if quiet.last_ns[i].is_some_and(|t| now.saturating_sub(t) < Self::QUIET_NS) {
                return false;
            }
            quiet.last_ns[i] = Some(now);
        }
        let mut detail = detail();
        if detail.len() > Self::DETAIL_MAX {
            // A node's text (a panic message, a reported error) can be of
            // any size: kept whole, `KEEP` of them could hold gigabytes.
            let mut end = Self::DETAIL_MAX;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
        }
        if self.blackbox_enabled && !self.blackbox_failed && self.blackbox.is_none() {
            match Blackbox::open(self.namespace.as_deref()) {
                Ok(bb) => self.blackbox = Some(bb),
                Err(e) => {
                    self.blackbox_failed = true;
                    eprintln!("horus: anomalies will not reach the blackbox: {e}");
                }
            }
        }
        if let Some(bb) = &self.blackbox {
            bb.record(kind, node, &detail, value);
        }
        if self.anomalies.len() == Self::KEEP {
            self.anomalies.remove(0);
        }
        self.anomalies.push(Anomaly {
            timestamp_ns: now,
            kind,
            node: node.to_owned(),
            value,
            detail,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_percentiles_use_nearest_rank() {
        let mut j = JitterStats::default();
        assert_eq!(j.percentile_ns(50.0), None);
        for v in 1..=100 {
            j.record(v);
        }
        assert_eq!(j.percentile_ns(50.0), Some(50));
        assert_eq!(j.percentile_ns(99.0), Some(99));
        assert_eq!(j.percentile_ns(100.0), Some(100));
        assert_eq!(j.percentile_ns(0.0), Some(1));
        assert_eq!(
            (j.count(), j.min_ns(), j.max_ns(), j.mean_ns()),
            (100, 1, 100, 50)
        );
    }

    #[test]
    fn samples_are_the_newest_window() {
        let mut j = JitterStats::default();
        let n = JitterStats::WINDOW as u64 + 3;
        for v in 0..n {
            j.record(v);
        }
        let mut kept = j.samples().to_vec();
        kept.sort_unstable();
        assert_eq!(kept.len(), JitterStats::WINDOW);
        assert_eq!((kept[0], kept[kept.len() - 1]), (3, n - 1));
    }

    #[test]
    fn repeated_anomalies_and_panics_are_rate_limited_but_estops_are_not() {
        let mut r = Recorder::new(false);
        let mut q = Quiet::default();
        for _ in 0..3 {
            r.record(&mut q, AnomalyKind::BudgetOverrun, "n", 1, String::new);
            r.record(&mut q, AnomalyKind::NodePanic, "n", 1, String::new);
            r.record(&mut q, AnomalyKind::EstopRaised, "", 0, String::new);
        }
        q.allow_next(AnomalyKind::NodePanic);
        assert!(r.record(&mut q, AnomalyKind::NodePanic, "n", 4, String::new));
        let count = |kind| r.anomalies.iter().filter(|a| a.kind == kind).count();
        assert_eq!(count(AnomalyKind::BudgetOverrun), 1);
        assert_eq!(
            count(AnomalyKind::NodePanic),
            2,
            "the first, then the allowed one"
        );
        assert_eq!(count(AnomalyKind::EstopRaised), 3);
    }
}
