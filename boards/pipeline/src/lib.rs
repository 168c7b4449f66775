//! The firmware both QEMU boards run, as a library: the boards add only the
//! memory (a `static` region), the reset and panic handlers, the defmt
//! transport and the semihosting exit.
//!
//! - [`topics`]: three topics in one statically sized region ([`REGION_WORDS`]).
//! - [`nodes`]: a sensor, a moving-average filter and a checker.
//! - [`check`]: the checker's [`Verdict`].
//! - [`golden`]: the golden byte layout the region must match on every target.
//!
//! `cargo test` in this directory runs the same pipeline on the host.
#![cfg_attr(not(test), no_std)]

pub mod check;
pub mod golden;
pub mod nodes;
pub mod topics;

/// Logs through defmt when the `defmt` feature is on; nothing otherwise.
macro_rules! log {
    ($level:ident, $($arg:tt)*) => {
        #[cfg(feature = "defmt")]
        defmt::$level!($($arg)*);
    };
}

pub use check::{Failure, Verdict};
pub use nodes::{Checker, Filter, Sensor};
pub use topics::{REGION_BYTES, REGION_WORDS, Topics};

use horus_nostd::OwnerToken;
use horus_nostd::sched::{AddError, CoreScheduler, NodeConfig, Rate, StartError};
use horus_nostd::time::{Clock, Frequency, ManualClock};

/// The owner token of the firmware's one "process": all nodes share it.
pub const OWNER: OwnerToken = match OwnerToken::new(1) {
    Some(t) => t,
    None => unreachable!(),
};

/// Joins `region` as node `id`, writing the handle straight into the
/// caller's slot.
///
/// A topic handle is several hundred bytes (mostly its per-lane read
/// cursors; the firmware logs its size), so the firmware never moves one:
/// each is built in place by this out-of-line call and only borrowed
/// afterwards. Building a struct of handles instead costs a
/// stack copy per level of `Result` and struct, which overflowed the 16 KiB
/// micro:bit (22 KiB of stack on Cortex-M4 before this change).
#[inline(never)]
pub fn join<'r, T: horus_nostd::Message>(
    region: horus_nostd::TopicRegion<&'r [horus_nostd::sync::AtomicU64]>,
    id: u32,
) -> Result<nodes::Handle<'r, T>, horus_nostd::JoinError> {
    horus_nostd::TopicHandle::join(region, OWNER, u64::from(id), 0)
}

/// The handle inside a [`join`] result, borrowed where it lies (taking it
/// out of the `Result` would copy it).
fn borrow<T>(
    joined: &mut Result<T, horus_nostd::JoinError>,
) -> Result<&mut T, horus_nostd::JoinError> {
    joined.as_mut().map_err(|e| *e)
}

/// Simulated time per loop iteration: 1 ms.
///
/// The boards drive the core's [`ManualClock`] with it rather than SysTick:
/// QEMU without `-icount` ties its timers to host time, which would make the
/// checker's exact release-time and tick-count checks flaky. A real board
/// passes its timer as a [`horus_nostd::time::Clock`] instead.
pub const STEP_NS: u64 = 1_000_000;

/// Scheduler steps in a run: one per `STEP_NS` from 0 to `RUN_NS` inclusive.
pub const STEPS: u64 = nodes::RUN_NS / STEP_NS + 1;

/// The scheduler's base rate: one step per [`STEP_NS`].
pub const BASE_RATE: Frequency = Frequency::from_hz(1_000_000_000 / STEP_NS);

/// Why the firmware could not even run its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RunError {
    /// The region could not be initialised.
    Init(horus_nostd::InitError),
    /// A node could not join a topic.
    Join(horus_nostd::JoinError),
    /// The scheduler rejected its rate.
    Rate(horus_nostd::time::RateError),
    /// The scheduler rejected a node.
    Add(AddError),
    /// The scheduler did not start.
    Start(StartError),
}

macro_rules! from_errors {
    ($($variant:ident($t:ty)),*) => {$(
        impl From<$t> for RunError {
            fn from(e: $t) -> Self {
                Self::$variant(e)
            }
        }
    )*};
}
from_errors!(
    Init(horus_nostd::InitError),
    Join(horus_nostd::JoinError),
    Rate(horus_nostd::time::RateError),
    Add(AddError),
    Start(StartError)
);

/// What a run of the firmware found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The freshly initialised region against the golden bytes.
    pub golden: golden::GoldenCheck,
    /// The checker's verdict (`None` if it never finished).
    pub verdict: Option<Verdict>,
    /// Loop iterations run.
    pub steps: u64,
}

impl Outcome {
    /// Logs the outcome (with the `defmt` feature; a no-op otherwise).
    pub fn log(&self) {
        #[cfg(feature = "defmt")]
        match &self.verdict {
            None => defmt::error!("the checker gave no verdict after {=u64} steps", self.steps),
            Some(v) => {
                defmt::info!(
                    "{=u32} checks: {=u32} passed, {=u32} failed ({=u64} scheduler steps)",
                    v.checks,
                    v.checks - v.failures,
                    v.failures,
                    self.steps
                );
                defmt::info!(
                    "imu.raw (lossy subscriber): delivered {=u64} + dropped {=u64}; imu.filtered: {=u64} means checked",
                    v.raw_delivered,
                    v.raw_dropped,
                    v.filtered_checked
                );
            }
        }
    }

    /// True if the region matched the golden layout and every check passed.
    pub fn passed(&self) -> bool {
        self.golden.matches() && self.verdict.as_ref().is_some_and(Verdict::passed)
    }
}

/// Initialises the three topics in `words`, compares them with the golden
/// layout, joins the nodes, and runs them for [`RUN_NS`](nodes::RUN_NS) on the
/// core scheduler ([`CoreScheduler`]) driven by a [`ManualClock`]; then checks
/// the scheduler's own counters and returns the checker's verdict.
pub fn run(words: &[horus_nostd::sync::AtomicU64]) -> Result<Outcome, RunError> {
    use nodes::SENSOR_PERIOD_NS;
    use nodes::{CHECKER_ID, CHECKER_PERIOD_NS, FILTER_ID, FILTER_PERIOD_NS, SENSOR_ID};

    let topics = Topics::init(words, 0)?;
    let golden = golden::compare(&words[..REGION_WORDS]);
    if golden.matches() {
        log!(info, "golden layout: {}", golden);
    } else {
        log!(error, "golden layout: {}", golden);
    }
    // Every handle is built in place and only borrowed from here on (see `join`).
    let mut sensor_raw = join(topics.raw, SENSOR_ID);
    let mut sensor_beat = join(topics.heartbeat, SENSOR_ID);
    let mut filter_raw = join(topics.raw, FILTER_ID);
    let mut filter_out = join(topics.filtered, FILTER_ID);
    let mut filter_beat = join(topics.heartbeat, FILTER_ID);
    let mut checker_raw = join(topics.raw, CHECKER_ID);
    let mut checker_filtered = join(topics.filtered, CHECKER_ID);
    let mut checker_beat = join(topics.heartbeat, CHECKER_ID);
    let mut sensor = Sensor::new(borrow(&mut sensor_raw)?, borrow(&mut sensor_beat)?);
    let mut filter = Filter::new(
        borrow(&mut filter_raw)?,
        borrow(&mut filter_out)?,
        borrow(&mut filter_beat)?,
    );
    let mut checker = Checker::new(
        borrow(&mut checker_raw)?,
        borrow(&mut checker_filtered)?,
        borrow(&mut checker_beat)?,
        topics.raw,
    );
    log!(
        info,
        "RAM: region {=usize} B; 8 topic handles of {=usize} B and a 3-node scheduler of {=usize} B on the stack",
        REGION_BYTES,
        core::mem::size_of::<nodes::Handle<'_, horus_nostd::msgs::Imu>>(),
        core::mem::size_of::<CoreScheduler<'_, 3>>()
    );

    let clock = ManualClock::new(0);
    let mut stats = [None; 3];
    let mut steps = 0;
    {
        let mut sched = CoreScheduler::<3>::new(BASE_RATE)?;
        let at = |order, period_ns| NodeConfig::new(order).rate(Rate::PeriodNs(period_ns));
        let ids = [
            sched.add(&mut sensor, at(0, SENSOR_PERIOD_NS))?,
            sched.add(&mut filter, at(1, FILTER_PERIOD_NS))?,
            sched.add(&mut checker, at(2, CHECKER_PERIOD_NS))?,
        ];
        sched.start(clock.now_ns())?;
        while steps < STEPS {
            sched.step(&clock);
            clock.advance(STEP_NS);
            steps += 1;
        }
        for (slot, id) in stats.iter_mut().zip(ids) {
            *slot = sched.stats(id);
        }
        sched.shutdown();
    }
    for (id, s) in [SENSOR_ID, FILTER_ID, CHECKER_ID].into_iter().zip(stats) {
        if let Some(_s) = s {
            log!(
                info,
                "scheduler: node {=u32}: {=u64} ticks, {=u64} late, {=u64} skipped, {=u64} overruns, {=u64} faults",
                id,
                _s.ticks,
                _s.late_releases,
                _s.skipped_releases,
                _s.overruns,
                _s.faults
            );
        }
        checker.check_scheduler(id, s);
    }
    Ok(Outcome {
        golden,
        verdict: checker.verdict().cloned(),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use horus_nostd::region::RegionBuffer;

    /// Ticks the nodes in order at their periods on a 1 ms simulated clock,
    /// until the checker's verdict is in.
    #[test]
    fn pipeline_passes_its_checks() {
        static MEM: RegionBuffer<REGION_WORDS> = RegionBuffer::new();
        let outcome = run(MEM.words()).unwrap();
        assert!(outcome.golden.matches(), "{:?}", outcome.golden);
        assert_eq!(outcome.steps, STEPS);
        let v = outcome.verdict.unwrap();
        assert_eq!(
            (v.raw_delivered, v.raw_dropped, v.filtered_checked),
            (26, 75, 51)
        );
        #[cfg(not(feature = "fail-demo"))]
        assert!(v.passed(), "{v:?}");
        #[cfg(feature = "fail-demo")]
        assert!(
            matches!(v.first[0], Some(Failure::FilterMismatch { .. })),
            "{v:?}"
        );
        println!("{v:?}");
    }
}
