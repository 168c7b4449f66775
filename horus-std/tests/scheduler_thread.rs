//! What `run` sets on the thread that calls it, and puts back when it
//! returns: the timer slack (1 ns by default, so the thread wakes when it
//! asked), the CPU (`.pin_cpu`) and the policy (`.realtime`).

use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use horus::prelude::*;
use horus::scheduler::{SchedulerError, StopHandle};
use rustix::thread::CpuSet;

/// The settings of the calling thread that `run` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ThreadState {
    slack_ns: u64,
    mask: CpuSet,
    policy: i32,
}

fn thread_state() -> ThreadState {
    ThreadState {
        slack_ns: rustix::thread::current_timer_slack().unwrap(),
        mask: rustix::thread::sched_getaffinity(None).unwrap(),
        // SAFETY: no pointer; pid 0 is the calling thread.
        policy: unsafe { libc::sched_getscheduler(0) },
    }
}

/// Records the thread's state in its ticks; asks to stop after three.
struct Probe {
    seen: Arc<Mutex<Option<ThreadState>>>,
    ticks: u32,
    stop: StopHandle,
}

impl Node for Probe {
    fn name(&self) -> &str {
        "thread_probe"
    }
    fn tick(&mut self) {
        *self.seen.lock().unwrap() = Some(thread_state());
        self.ticks += 1;
        if self.ticks == 3 {
            self.stop.stop();
        }
    }
}

/// Runs a 1 kHz scheduler, set up by `setup`, until its probe has ticked
/// three times; returns `run`'s result and the state the ticks ran in.
fn run_probe(
    setup: impl FnOnce(Scheduler) -> Scheduler,
) -> (horus::Result<()>, Option<ThreadState>) {
    let mut sched = setup(
        Scheduler::new()
            .tick_rate(1_000_u64.hz())
            .blackbox(false)
            .system_topics(false),
    );
    let seen = Arc::new(Mutex::new(None));
    let probe = Probe {
        seen: seen.clone(),
        ticks: 0,
        stop: sched.stop_handle(),
    };
    sched.add(probe).order(0).build().unwrap();
    let r = sched.run();
    let seen = *seen.lock().unwrap();
    (r, seen)
}

/// Gives this test's thread (its own: each test runs on one) a slack of
/// 40 µs, so that every change is visible; returns its state.
fn known_start() -> ThreadState {
    rustix::thread::set_current_timer_slack(NonZeroU64::new(40_000)).unwrap();
    thread_state()
}

#[test]
fn run_ticks_with_the_minimal_timer_slack_and_puts_the_callers_back() {
    let before = known_start();
    let (r, during) = run_probe(|s| s);
    r.unwrap();
    let during = during.expect("ticked");
    assert_eq!(during.slack_ns, 1, "slack during run, ns");
    assert_eq!((during.mask, during.policy), (before.mask, before.policy));
    assert_eq!(thread_state(), before);
}

#[test]
fn a_chosen_timer_slack_is_the_one_run_ticks_with() {
    let before = known_start();
    for (chosen, want) in [
        (Duration::from_micros(50), 50_000),
        (Duration::ZERO, 40_000),
    ] {
        let (r, during) = run_probe(|s| s.timer_slack(chosen));
        r.unwrap();
        assert_eq!(during.expect("ticked").slack_ns, want, "{chosen:?}");
        assert_eq!(thread_state(), before);
    }
}

#[test]
fn a_pinned_run_ticks_on_its_cpu_and_puts_the_mask_back() {
    let before = known_start();
    let cpu = (0..CpuSet::MAX_CPU)
        .rev()
        .find(|&c| before.mask.is_set(c))
        .unwrap();
    let (r, during) = run_probe(|s| s.pin_cpu(cpu));
    r.unwrap();
    let mask = during.expect("ticked").mask;
    assert!(mask.is_set(cpu) && mask.count() == 1, "pinned to {cpu}");
    assert_eq!(thread_state(), before);
}

#[test]
fn a_realtime_run_ticks_under_fifo_and_puts_the_policy_back() {
    let before = known_start();
    assert_eq!(before.policy, libc::SCHED_OTHER);
    let (r, during) = run_probe(|s| s.realtime(10));
    match r {
        // Where the privilege is missing, nothing ran and nothing changed.
        Err(horus::Error::Scheduler(SchedulerError::RealtimeDenied { priority: 10 })) => {
            assert_eq!(during, None);
        }
        r => {
            r.unwrap();
            let during = during.expect("ticked");
            assert_eq!(during.policy, libc::SCHED_FIFO);
            // (Linux gives a real-time thread no slack: 0 on recent kernels.)
            assert!(during.slack_ns <= 1, "slack under FIFO {}", during.slack_ns);
        }
    }
    assert_eq!(thread_state(), before);
}
