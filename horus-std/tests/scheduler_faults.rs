//! Overruns are counted and recorded; a panicking node never takes the
//! scheduler down, and its policy decides what happens to it.

mod common;

use common::{Probe, Trace, calls_of, quiet_scheduler};
use horus::prelude::*;
use horus::scheduler::{NodeState, SchedulerError};
use horus::system::blackbox::AnomalyKind;

#[test]
fn an_overrun_is_counted_recorded_and_makes_the_next_node_late() {
    let trace = Trace::default();
    let mut sched = Scheduler::new()
        .tick_rate(100_u64.hz())
        .blackbox(false)
        .system_topics(false);
    let mut slow = Probe::new("slow", &trace);
    slow.work = 3_u64.ms();
    sched.add(slow).order(0).budget(1_u64.ms()).build().unwrap();
    // Stopped by a tick count, not a duration: a slow machine only takes longer.
    let mut after = Probe::new("after", &trace);
    after.stop_after = Some((5, sched.stop_handle()));
    sched
        .add(after)
        .order(1)
        .tolerance(1_u64.ms())
        .build()
        .unwrap();
    sched.run().unwrap();

    let slow = sched.node("slow").unwrap();
    assert!(slow.stats.ticks >= 1);
    assert_eq!(slow.stats.overruns, slow.stats.ticks, "every tick overran");
    assert!(slow.stats.max_duration_ns >= 3_000_000);
    // "after" is due with "slow" in every round and starts 3 ms late.
    let after = sched.node("after").unwrap();
    assert_eq!(after.stats.ticks, slow.stats.ticks);
    assert_eq!(after.stats.late_releases, after.stats.ticks);
    assert!(after.stats.max_lateness_ns >= 3_000_000);

    let overrun = sched
        .anomalies()
        .iter()
        .find(|a| a.kind == AnomalyKind::BudgetOverrun)
        .expect("the overrun is recorded");
    assert_eq!(overrun.node, "slow");
    assert!(overrun.value >= 3_000_000);
    assert!(
        overrun.detail.contains("budget 1000 us"),
        "{}",
        overrun.detail
    );
    assert!(
        sched
            .anomalies()
            .iter()
            .any(|a| a.kind == AnomalyKind::DeadlineMiss && a.node == "after")
    );
}

#[test]
fn panic_policies_stop_skip_and_restart_while_the_others_go_on() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    for (name, policy) in [
        ("stop", FaultPolicy::Stop),
        ("skip", FaultPolicy::Skip),
        ("restart", FaultPolicy::Restart),
    ] {
        let mut p = Probe::new(name, &trace);
        p.panic_on = vec![2];
        sched.add(p).on_panic(policy).build().unwrap();
    }
    sched.add(Probe::new("healthy", &trace)).build().unwrap();
    for _ in 0..4 {
        sched.tick_once().unwrap();
    }
    let state = |n: &str| sched.node(n).unwrap().state;
    assert_eq!(state("stop"), NodeState::Faulted);
    assert_eq!(state("skip"), NodeState::Running);
    assert_eq!(state("restart"), NodeState::Running);
    let stop = sched.node("stop").unwrap();
    assert_eq!(
        (stop.panics, stop.stats.faults, stop.stats.ticks),
        (1, 1, 2)
    );
    assert_eq!(
        stop.last_panic.as_deref(),
        Some("stop failed on tick 2"),
        "the panic message is kept"
    );
    assert_eq!(sched.node("restart").unwrap().restarts, 1);
    let panics = sched
        .anomalies()
        .iter()
        .filter(|a| a.kind == AnomalyKind::NodePanic)
        .count();
    assert_eq!(panics, 3);
    sched.shutdown().unwrap();

    let t = |n| calls_of(&trace, n);
    assert_eq!(t("stop"), ["init", "tick", "tick", "safe", "shutdown"]);
    assert_eq!(
        t("skip"),
        ["init", "tick", "tick", "tick", "tick", "shutdown"]
    );
    assert_eq!(
        t("restart"),
        [
            "init", "tick", "tick", "shutdown", "init", "tick", "tick", "shutdown"
        ]
    );
    assert_eq!(
        t("healthy"),
        ["init", "tick", "tick", "tick", "tick", "shutdown"]
    );
}

#[test]
fn a_restart_policy_whose_init_panics_runs_each_shutdown_once() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    let mut p = Probe::new("r", &trace);
    p.panic_on = vec![1];
    p.panic_in_reinit = true;
    sched.add(p).on_panic(FaultPolicy::Restart).build().unwrap();
    sched.add(Probe::new("other", &trace)).build().unwrap();
    sched.tick_once().unwrap();
    assert_eq!(sched.node("r").unwrap().state, NodeState::Faulted);
    sched.shutdown().unwrap();
    assert_eq!(
        calls_of(&trace, "r"),
        ["init", "tick", "shutdown", "init", "safe"],
        "the shutdown owed by the first init ran before the restart; none after"
    );
}

#[test]
fn when_every_node_is_stopped_run_returns_after_running_every_shutdown() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    for name in ["a", "b"] {
        let mut p = Probe::new(name, &trace);
        p.panic_on = vec![3];
        sched.add(p).build().unwrap();
    }
    // `run` returns by itself once no node can run.
    let err = sched.run().unwrap_err();
    match &err {
        Error::Scheduler(SchedulerError::NoRunnableNodes { faulted }) => {
            assert_eq!(faulted, &["a", "b"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("FaultPolicy::Restart"), "{err}");
    assert_eq!(
        calls_of(&trace, "a"),
        ["init", "tick", "tick", "tick", "safe", "shutdown"]
    );
    assert_eq!(
        calls_of(&trace, "b").last().map(String::as_str),
        Some("shutdown")
    );
}

#[test]
fn a_panic_in_init_fails_the_start_and_shuts_down_the_nodes_before_it() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    sched
        .add(Probe::new("ok", &trace))
        .order(0)
        .build()
        .unwrap();
    let mut bad = Probe::new("bad", &trace);
    bad.panic_in_init = true;
    sched.add(bad).order(1).build().unwrap();
    sched
        .add(Probe::new("later", &trace))
        .order(2)
        .build()
        .unwrap();
    let err = sched.run_for(1_u64.secs()).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Scheduler(SchedulerError::Panicked { node, during: "init", .. }) if node == "bad"
        ),
        "{err:?}"
    );
    assert_eq!(
        *trace.borrow(),
        ["init ok", "init bad", "shutdown ok"],
        "no tick ran; only the initialised node is shut down"
    );
}

#[test]
fn a_panicking_shutdown_is_reported_after_every_other_shutdown_ran() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    sched.add(Probe::new("a", &trace)).order(0).build().unwrap();
    let mut b = Probe::new("b", &trace);
    b.panic_in_shutdown = true;
    sched.add(b).order(1).build().unwrap();
    sched.add(Probe::new("c", &trace)).order(2).build().unwrap();
    sched.tick_once().unwrap();
    let err = sched.shutdown().unwrap_err();
    assert!(err.to_string().contains("b cannot stop"), "{err}");
    let shutdowns: Vec<_> = trace
        .borrow()
        .iter()
        .filter(|l| l.starts_with("shutdown"))
        .cloned()
        .collect();
    assert_eq!(shutdowns, ["shutdown c", "shutdown b", "shutdown a"]);
}

#[test]
fn pinning_to_a_cpu_that_does_not_exist_is_a_clear_error() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler().pin_cpu(1000);
    sched.add(Probe::new("p", &trace)).build().unwrap();
    let err = sched.run_for(10_u64.ms()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Scheduler(SchedulerError::InvalidCpu { cpu: 1000, .. })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("CPU 1000 is not available"),
        "{err}"
    );
    assert!(calls_of(&trace, "p").is_empty(), "no node ran");
}

/// Sleeps its duration in `init` (a device that is slow to open).
struct SlowInit(Duration);

impl Node for SlowInit {
    fn name(&self) -> &str {
        "slow_init"
    }
    fn init(&mut self) -> Result<()> {
        std::thread::sleep(self.0);
        Ok(())
    }
    fn tick(&mut self) {}
}

/// The first release is timed from after the `init`s (and after earlier
/// `tick_once` rounds), not from before: a slow `init` used to make every
/// node "released 100000 us late; 10 releases skipped" at its first tick.
#[test]
fn the_first_release_is_timed_from_after_a_slow_init_and_after_tick_once() {
    // Ten periods of 10 ms before the run; the bug skipped all ten at the
    // first tick. Only the first round of the run is looked at: later
    // rounds wake from sleeps, and on a loaded host (qemu-aarch64, tests
    // in parallel) their late wake-ups may skip releases too, which is
    // right and no concern here. The first round starts microseconds after
    // the grid is placed: skipping half the ten would need a preemption of
    // 50 ms there.
    let slow = Duration::from_millis(100);
    let first_tick = |sched: &Scheduler| {
        let s = sched.node("after").unwrap().stats;
        (s.ticks, s.skipped_releases)
    };

    let trace = Trace::default();
    let mut sched = quiet_scheduler().tick_rate(100_u64.hz());
    sched.add(SlowInit(slow)).order(0).build().unwrap();
    let mut after = Probe::new("after", &trace);
    after.stop_after = Some((1, sched.stop_handle()));
    sched.add(after).order(1).build().unwrap();
    sched.run().unwrap();
    let (ticks, skipped) = first_tick(&sched);
    assert_eq!(ticks, 1, "{:?}", sched.node("after"));
    assert!(skipped < 5, "{:?}", sched.node("after"));

    let mut sched = quiet_scheduler().tick_rate(100_u64.hz());
    let mut after = Probe::new("after", &trace);
    // One tick by `tick_once`, then the first round of `run`.
    after.stop_after = Some((2, sched.stop_handle()));
    sched.add(after).build().unwrap();
    sched.tick_once().unwrap();
    std::thread::sleep(slow); // the program does something else before `run`
    sched.run().unwrap();
    let (ticks, skipped) = first_tick(&sched);
    assert_eq!(ticks, 2, "{:?}", sched.node("after"));
    assert!(skipped < 5, "{:?}", sched.node("after"));
}

/// Reports its tick number as an error on the ticks in `failing`.
struct Flaky {
    tick: u64,
    failing: &'static [u64],
}

impl Node for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn tick(&mut self) {
        self.tick += 1;
        if self.failing.contains(&self.tick) {
            horus::node::report_error(format!("tick {} failed", self.tick));
            horus::node::report_error("and once more");
        }
    }
}

#[test]
fn errors_reported_in_a_tick_are_the_nodes_and_reports_outside_any_tick_are_not() {
    let mut sched = quiet_scheduler();
    sched
        .add(Flaky {
            tick: 0,
            failing: &[2],
        })
        .build()
        .unwrap();
    let flaky = |s: &Scheduler| s.node("flaky").unwrap();
    sched.tick_once().unwrap();
    assert_eq!(
        (flaky(&sched).errors, flaky(&sched).last_tick_failed),
        (0, false)
    );
    sched.tick_once().unwrap();
    assert_eq!(
        (flaky(&sched).errors, flaky(&sched).last_tick_failed),
        (2, true)
    );
    let recorded: Vec<_> = sched
        .anomalies()
        .iter()
        .filter(|a| a.kind == AnomalyKind::NodeError)
        .map(|a| a.detail.clone())
        .collect();
    assert_eq!(
        recorded.len(),
        1,
        "rate-limited to one record: {recorded:?}"
    );
    assert!(recorded[0].contains("tick 2 failed"), "{recorded:?}");
    // Made between two rounds, by no node: not counted for the next one.
    horus::node::report_error("outside any tick");
    sched.tick_once().unwrap();
    assert_eq!(
        (flaky(&sched).errors, flaky(&sched).last_tick_failed),
        (2, false)
    );
    assert!(horus::node::take_reported_errors().is_empty());
}

/// Reports `per_tick` errors on every tick.
struct Noisy {
    per_tick: u32,
}

impl Node for Noisy {
    fn name(&self) -> &str {
        "noisy"
    }
    fn tick(&mut self) {
        for i in 0..self.per_tick {
            horus::node::report_error(format!("error {i}"));
        }
    }
}

#[test]
fn every_error_reported_is_counted_even_thousands_per_tick() {
    let mut sched = quiet_scheduler();
    sched.add(Noisy { per_tick: 5_000 }).build().unwrap();
    sched.tick_once().unwrap();
    sched.tick_once().unwrap();
    let noisy = sched.node("noisy").unwrap();
    assert_eq!((noisy.errors, noisy.last_tick_failed), (10_000, true));
    // Recorded at most once a second: one record, numbered from the first.
    let recorded: Vec<_> = sched
        .anomalies()
        .iter()
        .filter(|a| a.kind == AnomalyKind::NodeError)
        .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].value, 1);
    assert!(horus::node::take_reported_errors().is_empty());
}

/// Reports one error of `len` two-byte characters per tick.
struct Verbose {
    len: usize,
}

impl Node for Verbose {
    fn name(&self) -> &str {
        "verbose"
    }
    fn tick(&mut self) {
        horus::node::report_error("é".repeat(self.len));
    }
}

#[test]
fn a_huge_error_text_is_kept_cut_on_a_character_boundary() {
    let mut sched = quiet_scheduler();
    sched.add(Verbose { len: 5_000_000 }).build().unwrap();
    sched.tick_once().unwrap();
    let error = sched
        .anomalies()
        .iter()
        .find(|a| a.kind == AnomalyKind::NodeError)
        .expect("recorded");
    // "tick reported: " (15 bytes) then two-byte characters: cut at 511.
    assert!(
        error.detail.len() <= 512,
        "{} bytes kept",
        error.detail.len()
    );
    assert!(error.detail.starts_with("tick reported: éé"));
    assert!(error.detail.ends_with('é'));
}
