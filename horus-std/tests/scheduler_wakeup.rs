//! The scheduler's thread wakes when it asked: its timer slack is at the
//! minimum while `run` runs, and back to what it was once `run` returns.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use horus::prelude::*;

/// Records the timer slack its ticks run under; asks to stop after three.
struct SlackProbe {
    seen: Arc<AtomicU64>,
    ticks: u32,
    stop: horus::scheduler::StopHandle,
}

impl Node for SlackProbe {
    fn name(&self) -> &str {
        "slack_probe"
    }
    fn tick(&mut self) {
        let slack = rustix::thread::current_timer_slack().unwrap();
        self.seen.store(slack, Ordering::Relaxed);
        self.ticks += 1;
        if self.ticks == 3 {
            self.stop.stop();
        }
    }
}

/// Runs a 1 kHz scheduler (with `slack`, if given) until its probe has
/// ticked three times; returns the timer slack the ticks ran under, ns.
fn slack_seen_by_ticks(slack: Option<Duration>) -> u64 {
    let mut sched = Scheduler::new()
        .tick_rate(1_000_u64.hz())
        .blackbox(false)
        .system_topics(false);
    if let Some(slack) = slack {
        sched = sched.timer_slack(slack);
    }
    let seen = Arc::new(AtomicU64::new(0));
    let probe = SlackProbe {
        seen: seen.clone(),
        ticks: 0,
        stop: sched.stop_handle(),
    };
    sched.add(probe).order(0).build().unwrap();
    sched.run().unwrap();
    seen.load(Ordering::Relaxed)
}

#[test]
fn run_ticks_with_the_minimal_timer_slack_and_restores_the_callers() {
    // (The test's own thread: its slack is nobody else's.)
    rustix::thread::set_current_timer_slack(NonZeroU64::new(40_000)).unwrap();
    assert_eq!(slack_seen_by_ticks(None), 1, "slack during run, ns");
    assert_eq!(
        rustix::thread::current_timer_slack().unwrap(),
        40_000,
        "the caller's slack after run, ns"
    );
}

#[test]
fn a_chosen_timer_slack_is_the_one_run_ticks_with() {
    rustix::thread::set_current_timer_slack(NonZeroU64::new(40_000)).unwrap();
    for (chosen, during) in [
        (Duration::from_micros(50), 50_000),
        (Duration::ZERO, 40_000),
    ] {
        assert_eq!(slack_seen_by_ticks(Some(chosen)), during, "{chosen:?}");
        assert_eq!(rustix::thread::current_timer_slack().unwrap(), 40_000);
    }
}
