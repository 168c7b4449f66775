//! The three nodes: a sensor, a moving-average filter and a checker.
//!
//! ```text
//! sensor  (100 Hz) --imu.raw (Imu)--------> filter (50 Hz) --imu.filtered (Imu)--> checker (25 Hz)
//!                  \--imu.raw (lossy)----------------------------------------------> checker
//! all three        --heartbeat (Heartbeat, N:1: sequence = tick count, status = health)--> checker
//! ```
//!
//! Each node is a [`CoreNode`] ticked by the core scheduler (`crate::run`).
//! Everything is deterministic: the sensor's sample `n` is [`sample(n)`](sample)
//! stamped `n * SENSOR_PERIOD_NS`, so the checker can recompute what every
//! message must hold from its timestamp alone.

use horus_nostd::msgs::{Heartbeat, Imu};
use horus_nostd::sched::{CoreNode, NodeFault, NodeStats, Tick};
use horus_nostd::sync::AtomicU64;
use horus_nostd::{TopicHandle, TopicRegion};

/// A handle of the pipeline: its region's words are borrowed for `'r`.
pub type Handle<'r, T> = TopicHandle<T, &'r [AtomicU64]>;

use crate::check::{Failure, Verdict};

/// Sensor period: 100 Hz.
pub const SENSOR_PERIOD_NS: u64 = 10_000_000;
/// Filter period: 50 Hz.
pub const FILTER_PERIOD_NS: u64 = 20_000_000;
/// Checker period: 25 Hz.
pub const CHECKER_PERIOD_NS: u64 = 40_000_000;
/// The checker's tick at this time is its last: it checks the totals and
/// returns its verdict. Every node ticks at `0, period, 2 * period, ...,
/// RUN_NS` inclusive.
pub const RUN_NS: u64 = 1_000_000_000;
/// Samples the moving average spans.
pub const WINDOW: usize = 4;

/// Heartbeat `pid` of the sensor (also its index in [`PERIODS_NS`] plus one).
pub const SENSOR_ID: u32 = 1;
/// Heartbeat `pid` of the filter.
pub const FILTER_ID: u32 = 2;
/// Heartbeat `pid` of the checker.
pub const CHECKER_ID: u32 = 3;
/// Period of node `id` at index `id - 1`.
pub const PERIODS_NS: [u64; 3] = [SENSOR_PERIOD_NS, FILTER_PERIOD_NS, CHECKER_PERIOD_NS];

/// Ticks node `id` makes in `[0, RUN_NS]`.
pub const fn expected_ticks(id: u32) -> u64 {
    RUN_NS / PERIODS_NS[id as usize - 1] + 1
}

/// The sensor's acceleration sample `n`: small integers (and 9.75), so every
/// sum and mean the filter takes is exact and reproducible in any f64 code.
pub fn sample(n: u64) -> [f64; 3] {
    let v = ((n * 37) % 101) as f64 - 50.0;
    [v, -0.5 * v, 9.75]
}

/// The mean of samples `max(0, n + 1 - len) ..= n`, summed oldest first.
pub(crate) fn window_mean(n: u64, len: usize) -> [f64; 3] {
    let first = (n + 1).saturating_sub(len as u64);
    let mut sum = [0.0; 3];
    for i in first..=n {
        let s = sample(i);
        for (a, v) in sum.iter_mut().zip(s) {
            *a += v;
        }
    }
    let count = (n - first + 1) as f64;
    sum.map(|a| a / count)
}

/// The heartbeat every node publishes on each tick.
fn beat(id: u32, sequence: u64, now_ns: u64, status: u32) -> Heartbeat {
    Heartbeat {
        timestamp_ns: now_ns,
        sequence,
        pid: id,
        status,
    }
}

/// Publishes [`sample`]`(n)` on `imu.raw` at every tick.
pub struct Sensor<'a, 'r> {
    raw: &'a mut Handle<'r, Imu>,
    heartbeat: &'a mut Handle<'r, Heartbeat>,
    ticks: u64,
}

impl<'a, 'r> Sensor<'a, 'r> {
    /// The sensor over its handles (built by [`crate::join`]).
    pub fn new(
        raw: &'a mut Handle<'r, Imu>,
        heartbeat: &'a mut Handle<'r, Heartbeat>,
    ) -> Self {
        Self {
            raw,
            heartbeat,
            ticks: 0,
        }
    }

    /// One tick: publish the next sample, then a heartbeat.
    fn step(&mut self, now_ns: u64) {
        let n = self.ticks;
        // Nothing reclaims participant entries on a board: a send is never
        // refused as evicted, so its `Result` carries nothing to act on.
        let _ = self.raw.send(Imu {
            linear_acceleration: sample(n),
            timestamp_ns: n * SENSOR_PERIOD_NS,
            ..Imu::default()
        });
        self.ticks += 1;
        let _ = self.heartbeat.send(beat(SENSOR_ID, self.ticks, now_ns, 0));
    }
}

impl CoreNode for Sensor<'_, '_> {
    fn name(&self) -> &str {
        "sensor"
    }

    fn tick(&mut self, tick: &Tick) -> Result<(), NodeFault> {
        self.step(tick.start_ns);
        Ok(())
    }
}

/// Moving average over the last [`WINDOW`] samples of `imu.raw`.
pub struct Filter<'a, 'r> {
    raw: &'a mut Handle<'r, Imu>,
    filtered: &'a mut Handle<'r, Imu>,
    heartbeat: &'a mut Handle<'r, Heartbeat>,
    window: [[f64; 3]; WINDOW],
    /// Samples in the window (up to its length).
    len: usize,
    /// Index of the oldest sample in `window` once it is full.
    oldest: usize,
    ticks: u64,
}

/// The window the filter averages over: one short under `fail-demo`, a bug
/// the checker must catch.
const FILTER_WINDOW: usize = if cfg!(feature = "fail-demo") {
    WINDOW - 1
} else {
    WINDOW
};

impl<'a, 'r> Filter<'a, 'r> {
    /// The filter over its handles (built by [`crate::join`]).
    pub fn new(
        raw: &'a mut Handle<'r, Imu>,
        filtered: &'a mut Handle<'r, Imu>,
        heartbeat: &'a mut Handle<'r, Heartbeat>,
    ) -> Self {
        Self {
            raw,
            filtered,
            heartbeat,
            window: [[0.0; 3]; WINDOW],
            len: 0,
            oldest: 0,
            ticks: 0,
        }
    }

    fn push(&mut self, s: [f64; 3]) {
        if self.len < FILTER_WINDOW {
            self.window[(self.oldest + self.len) % FILTER_WINDOW] = s;
            self.len += 1;
        } else {
            self.window[self.oldest] = s;
            self.oldest = (self.oldest + 1) % FILTER_WINDOW;
        }
    }

    fn mean(&self) -> [f64; 3] {
        let mut sum = [0.0; 3];
        for i in 0..self.len {
            let s = self.window[(self.oldest + i) % FILTER_WINDOW];
            for (a, v) in sum.iter_mut().zip(s) {
                *a += v;
            }
        }
        sum.map(|a| a / self.len as f64)
    }

    /// One tick: take every new sample, publish the mean once, then a
    /// heartbeat whose status is the samples this filter lost (must be 0).
    fn step(&mut self, now_ns: u64) {
        let mut newest = None;
        while let Some(m) = self.raw.recv() {
            self.push(m.linear_acceleration);
            newest = Some(m.timestamp_ns);
        }
        if let Some(timestamp_ns) = newest {
            let _ = self.filtered.send(Imu {
                linear_acceleration: self.mean(),
                timestamp_ns,
                ..Imu::default()
            });
        }
        self.ticks += 1;
        let lost = u32::try_from(self.raw.dropped_count()).unwrap_or(u32::MAX);
        let _ = self
            .heartbeat
            .send(beat(FILTER_ID, self.ticks, now_ns, lost));
    }
}

impl CoreNode for Filter<'_, '_> {
    fn name(&self) -> &str {
        "filter"
    }

    fn tick(&mut self, tick: &Tick) -> Result<(), NodeFault> {
        self.step(tick.start_ns);
        Ok(())
    }
}

/// Checks everything the other nodes publish against what they must publish.
///
/// On each tick, in this order:
/// 1. every `imu.filtered` message equals the moving average of the samples
///    its timestamp names, recomputed here (exact f64 equality), in order;
/// 2. every `imu.raw` sample it receives (it is a deliberately slow, lossy
///    subscriber) holds exactly `sample(n)` and arrives in order; after
///    draining, `delivered + dropped == published` (exact loss accounting)
///    and the last delivered sample is the newest published;
/// 3. every heartbeat (its own included) continues its node's sequence
///    without a gap, was published at exactly `(sequence - 1) * period` of
///    the scheduler clock (rates and release times), and reports status 0.
///
/// Its tick at [`RUN_NS`] is the last: it also checks each node's tick count
/// against its rate, that the raw subscription did lose samples (so step 2
/// tested something) and that the filtered topic lost none, then returns the
/// [`Verdict`]. After the run, [`Checker::check_scheduler`] adds the core
/// scheduler's own counters for each node: ticks as the rates give, no late
/// or skipped release, no overrun, no fault.
pub struct Checker<'a, 'r> {
    raw: &'a mut Handle<'r, Imu>,
    filtered: &'a mut Handle<'r, Imu>,
    heartbeat: &'a mut Handle<'r, Heartbeat>,
    raw_region: TopicRegion<&'r [AtomicU64]>,
    last_raw: Option<u64>,
    last_filtered: Option<u64>,
    /// Last heartbeat sequence seen per node.
    beats: [u64; 3],
    ticks: u64,
    verdict: Verdict,
    done: bool,
}

impl<'a, 'r> Checker<'a, 'r> {
    /// The checker over its handles (built by [`crate::join`]); `raw_region`
    /// is where it reads the published count.
    pub fn new(
        raw: &'a mut Handle<'r, Imu>,
        filtered: &'a mut Handle<'r, Imu>,
        heartbeat: &'a mut Handle<'r, Heartbeat>,
        raw_region: TopicRegion<&'r [AtomicU64]>,
    ) -> Self {
        Self {
            raw,
            filtered,
            heartbeat,
            raw_region,
            last_raw: None,
            last_filtered: None,
            beats: [0; 3],
            ticks: 0,
            verdict: Verdict::default(),
            done: false,
        }
    }

    /// The verdict once the last tick ran, `None` before.
    pub fn verdict(&self) -> Option<&Verdict> {
        self.done.then_some(&self.verdict)
    }

    /// The checks so far (final or not).
    pub fn progress(&self) -> &Verdict {
        &self.verdict
    }

    /// One tick (see the type's documentation).
    fn step(&mut self, now_ns: u64) {
        if self.done {
            return;
        }
        self.check_filtered();
        self.check_raw();
        self.ticks += 1;
        let _ = self.heartbeat.send(beat(CHECKER_ID, self.ticks, now_ns, 0));
        self.check_heartbeats();
        if now_ns >= RUN_NS {
            self.check_totals();
            self.done = true;
        }
    }

    fn sample_index(timestamp_ns: u64) -> Option<u64> {
        (timestamp_ns % SENSOR_PERIOD_NS == 0).then_some(timestamp_ns / SENSOR_PERIOD_NS)
    }

    fn check_filtered(&mut self) {
        while let Some(m) = self.filtered.recv() {
            let Some(n) = Self::sample_index(m.timestamp_ns) else {
                self.verdict
                    .fail(Failure::BadTimestamp { ns: m.timestamp_ns });
                continue;
            };
            if self.last_filtered.is_some_and(|last| n <= last) {
                self.verdict.fail(Failure::OutOfOrder { topic: 1, n });
            }
            self.last_filtered = Some(n);
            let want = window_mean(n, WINDOW);
            self.verdict.check(
                m.linear_acceleration == want,
                Failure::FilterMismatch {
                    n,
                    got: m.linear_acceleration[0],
                    want: want[0],
                },
            );
        }
    }

    fn check_raw(&mut self) {
        while let Some(m) = self.raw.recv() {
            let Some(n) = Self::sample_index(m.timestamp_ns) else {
                self.verdict
                    .fail(Failure::BadTimestamp { ns: m.timestamp_ns });
                continue;
            };
            if self.last_raw.is_some_and(|last| n <= last) {
                self.verdict.fail(Failure::OutOfOrder { topic: 0, n });
            }
            self.last_raw = Some(n);
            self.verdict.check(
                m.linear_acceleration == sample(n),
                Failure::CorruptSample { n },
            );
        }
        let delivered = self.raw.delivered_count();
        let dropped = self.raw.dropped_count();
        let published = self.raw_region.published_count();
        self.verdict.check(
            delivered + dropped == published,
            Failure::LossAccounting {
                delivered,
                dropped,
                published,
            },
        );
        self.verdict.check(
            self.last_raw == published.checked_sub(1),
            Failure::NotCaughtUp {
                newest: published.saturating_sub(1),
            },
        );
    }

    fn check_heartbeats(&mut self) {
        while let Some(b) = self.heartbeat.recv() {
            let Some(slot) = (b.pid as usize).checked_sub(1).filter(|&i| i < 3) else {
                self.verdict.fail(Failure::UnknownNode { id: b.pid });
                continue;
            };
            let expected = self.beats[slot] + 1;
            self.verdict.check(
                b.sequence == expected,
                Failure::HeartbeatGap {
                    id: b.pid,
                    expected,
                    got: b.sequence,
                },
            );
            self.beats[slot] = b.sequence;
            let release = b.sequence.saturating_sub(1) * PERIODS_NS[slot];
            self.verdict.check(
                b.timestamp_ns == release,
                Failure::LateRelease {
                    id: b.pid,
                    sequence: b.sequence,
                    at_ns: b.timestamp_ns,
                },
            );
            self.verdict.check(
                b.status == 0,
                Failure::Unhealthy {
                    id: b.pid,
                    status: b.status,
                },
            );
        }
    }

    fn check_totals(&mut self) {
        for id in [SENSOR_ID, FILTER_ID, CHECKER_ID] {
            let got = self.beats[id as usize - 1];
            let expected = expected_ticks(id);
            self.verdict
                .check(got == expected, Failure::TickCount { id, expected, got });
        }
        let raw_dropped = self.raw.dropped_count();
        self.verdict
            .check(raw_dropped > 0, Failure::NoLossExercised);
        self.verdict.check(
            self.filtered.dropped_count() == 0 && self.heartbeat.dropped_count() == 0,
            Failure::UnexpectedLoss,
        );
        self.verdict.raw_delivered = self.raw.delivered_count();
        self.verdict.raw_dropped = raw_dropped;
        self.verdict.filtered_checked = self.filtered.delivered_count();
    }
}

impl Checker<'_, '_> {
    /// After the run: the core scheduler's own counters for node `id` must
    /// agree with the heartbeats (ticks) and show no deadline miss (late or
    /// skipped release, overrun) and no fault.
    pub fn check_scheduler(&mut self, id: u32, stats: Option<NodeStats>) {
        let Some(s) = stats else {
            self.verdict.fail(Failure::UnknownNode { id });
            return;
        };
        let expected = expected_ticks(id);
        self.verdict.check(
            s.ticks == expected
                && s.late_releases == 0
                && s.skipped_releases == 0
                && s.overruns == 0
                && s.faults == 0,
            Failure::SchedulerStats {
                id,
                ticks: s.ticks,
                late: s.late_releases,
                skipped: s.skipped_releases,
                overruns: s.overruns,
                faults: s.faults,
            },
        );
    }
}

impl CoreNode for Checker<'_, '_> {
    fn name(&self) -> &str {
        "checker"
    }

    /// Checks; a failed check is recorded in the verdict, not returned as a
    /// fault, so the checker keeps checking until the end of the run.
    fn tick(&mut self, tick: &Tick) -> Result<(), NodeFault> {
        self.step(tick.start_ns);
        Ok(())
    }
}
