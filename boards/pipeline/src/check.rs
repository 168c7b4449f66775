//! What the checker found: a count of checks and the first failures.

/// One failed check, with what is needed to see why.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Failure {
    /// A filtered message is not the moving average of the samples it names.
    FilterMismatch {
        /// Newest sample index in the window.
        n: u64,
        /// x of the filter's mean.
        got: f64,
        /// x of the mean recomputed by the checker.
        want: f64,
    },
    /// A raw sample does not hold `sample(n)` (torn or wrong payload).
    CorruptSample {
        /// Sample index from its timestamp.
        n: u64,
    },
    /// A timestamp that is not a multiple of the sensor period.
    BadTimestamp {
        /// The timestamp.
        ns: u64,
    },
    /// A message arrived twice or out of order (topic 0 raw, 1 filtered).
    OutOfOrder {
        /// Which topic.
        topic: u8,
        /// Sample index.
        n: u64,
    },
    /// `delivered + dropped != published` on the lossy raw subscription.
    LossAccounting {
        /// Delivered to the checker.
        delivered: u64,
        /// Counted as dropped.
        dropped: u64,
        /// Published on the topic.
        published: u64,
    },
    /// After draining, the newest sample was not delivered.
    NotCaughtUp {
        /// Index of the newest published sample.
        newest: u64,
    },
    /// A heartbeat from no known node.
    UnknownNode {
        /// Its `pid`.
        id: u32,
    },
    /// A node's heartbeat sequence skipped or repeated (a lost or doubled tick).
    HeartbeatGap {
        /// Node.
        id: u32,
        /// Sequence expected.
        expected: u64,
        /// Sequence received.
        got: u64,
    },
    /// A node ticked at another time than `(sequence - 1) * period`.
    LateRelease {
        /// Node.
        id: u32,
        /// Its tick number (from 1).
        sequence: u64,
        /// Clock time of that tick.
        at_ns: u64,
    },
    /// A node reported a non-zero status (the filter: samples it lost).
    Unhealthy {
        /// Node.
        id: u32,
        /// Its status.
        status: u32,
    },
    /// A node ticked another number of times than its rate gives.
    TickCount {
        /// Node.
        id: u32,
        /// Ticks in `[0, RUN_NS]` at its rate.
        expected: u64,
        /// Ticks seen.
        got: u64,
    },
    /// The core scheduler's counters for a node are off: wrong tick count,
    /// or a deadline miss or fault under a clock that never runs late.
    SchedulerStats {
        /// Node.
        id: u32,
        /// Ticks it counted.
        ticks: u64,
        /// Late releases.
        late: u64,
        /// Skipped releases.
        skipped: u64,
        /// Overruns.
        overruns: u64,
        /// Failed ticks.
        faults: u64,
    },
    /// The lossy subscription lost nothing: the loss check tested nothing.
    NoLossExercised,
    /// The filtered or heartbeat subscription (sized not to lose) lost messages.
    UnexpectedLoss,
}

/// Most failures recorded in detail (all are counted).
pub const MAX_RECORDED: usize = 4;

/// The outcome of all checks.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Checks evaluated.
    pub checks: u32,
    /// Checks that failed.
    pub failures: u32,
    /// The first [`MAX_RECORDED`] failures.
    pub first: [Option<Failure>; MAX_RECORDED],
    /// Raw samples the lossy subscription received (set by the last tick).
    pub raw_delivered: u64,
    /// Raw samples it lost (set by the last tick).
    pub raw_dropped: u64,
    /// Filtered messages checked (set by the last tick).
    pub filtered_checked: u64,
}

impl Verdict {
    /// Counts one check; records `failure` unless `ok`.
    pub fn check(&mut self, ok: bool, failure: Failure) {
        self.checks += 1;
        if !ok {
            self.record(failure);
        }
    }

    /// Counts one failed check.
    pub fn fail(&mut self, failure: Failure) {
        self.checks += 1;
        self.record(failure);
    }

    fn record(&mut self, failure: Failure) {
        #[cfg(feature = "defmt")]
        if (self.failures as usize) < MAX_RECORDED {
            defmt::error!("check failed: {}", failure);
        } else if self.failures as usize == MAX_RECORDED {
            defmt::error!("more checks failed (counted, not logged)");
        }
        if let Some(slot) = self.first.get_mut(self.failures as usize) {
            *slot = Some(failure);
        }
        self.failures += 1;
    }

    /// True if every check passed and there were checks.
    pub fn passed(&self) -> bool {
        self.failures == 0 && self.checks > 0
    }
}
