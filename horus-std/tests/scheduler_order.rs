//! The std scheduler ticks in a deterministic order: an event trace of
//! init, tick and shutdown asserted exactly.

mod common;

use common::{Probe, Trace, quiet_scheduler};
use horus::prelude::*;
use horus::scheduler::{NodeState, SchedulerError};

#[test]
fn tick_once_runs_by_order_then_insertion_and_shuts_down_in_reverse() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    // Added out of order; "b1" and "b2" share order 1.
    sched.add(Probe::new("c", &trace)).order(2).build().unwrap();
    sched
        .add(Probe::new("b1", &trace))
        .order(1)
        .build()
        .unwrap();
    sched.add(Probe::new("a", &trace)).order(0).build().unwrap();
    sched
        .add(Probe::new("b2", &trace))
        .order(1)
        .build()
        .unwrap();
    sched.tick_once().unwrap();
    sched.tick_once().unwrap();
    sched.shutdown().unwrap();
    let round = ["tick a", "tick b1", "tick b2", "tick c"];
    let mut expected = vec!["init a", "init b1", "init b2", "init c"];
    expected.extend(round);
    expected.extend(round);
    expected.extend(["shutdown c", "shutdown b2", "shutdown b1", "shutdown a"]);
    assert_eq!(*trace.borrow(), expected);
    assert!(sched.nodes().iter().all(|n| n.state == NodeState::Finished));
    assert!(matches!(
        sched.tick_once().map_err(|e| e.to_string()),
        Err(m) if m.contains("already shut")
    ));
}

#[test]
fn a_node_added_between_two_tick_once_is_initialised_by_the_second() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    sched.add(Probe::new("a", &trace)).order(0).build().unwrap();
    sched.tick_once().unwrap();
    sched.tick_once().unwrap();
    sched.add(Probe::new("b", &trace)).order(1).build().unwrap();
    sched.tick_once().unwrap();
    sched.tick_once().unwrap();
    sched.shutdown().unwrap();
    let expected = [
        "init a",
        "tick a",
        "tick a",
        "init b",
        "tick a",
        "tick b",
        "tick a",
        "tick b",
        "shutdown b",
        "shutdown a",
    ];
    assert_eq!(*trace.borrow(), expected);
}

#[test]
fn run_keeps_the_order_in_every_round_and_each_node_at_its_rate() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    let mut last = Probe::new("z_last", &trace);
    last.stop_after = Some((40, sched.stop_handle()));
    sched.add(last).order(9).build().unwrap();
    sched
        .add(Probe::new("first", &trace))
        .order(0)
        .build()
        .unwrap();
    // A quarter of the tick rate.
    sched
        .add(Probe::new("slow", &trace))
        .order(5)
        .rate(250_u64.hz())
        .build()
        .unwrap();
    sched.run().unwrap();

    let trace = trace.borrow();
    let ticks: Vec<&str> = trace
        .iter()
        .filter_map(|l| l.strip_prefix("tick "))
        .collect();
    // Within a round, "first" precedes "slow" precedes "z_last"; rounds are
    // separated by "first" (every round ticks it, at the tick rate).
    for round in ticks.split(|n| *n == "first").skip(1) {
        assert!(
            round == ["z_last"] || round == ["slow", "z_last"],
            "round out of order: {round:?}"
        );
    }
    let count = |n: &str| ticks.iter().filter(|t| **t == n).count();
    assert_eq!(count("z_last"), 40);
    assert_eq!(count("first"), 40);
    // Each node's releases (ticked + skipped) are the points of its own grid
    // that the rounds reached. Every round ticks "first" (its 1 ms grid holds
    // the 4 ms grid of "slow"), so whatever the load, "slow" has seen exactly
    // the 4 ms points among the 1 ms points "first" has seen: about 10 ticks
    // when on time, more (and fewer skipped) when the rounds fall behind.
    let releases = |n: &str| {
        let s = sched.node(n).unwrap().stats;
        s.ticks + s.skipped_releases
    };
    let (first, slow) = (releases("first"), releases("slow"));
    assert_eq!(slow, (first - 1) / 4 + 1, "first {first}, slow {slow}");
    assert_eq!(
        count("slow") as u64,
        sched.node("slow").unwrap().stats.ticks
    );
    assert!(count("slow") >= 1);
    assert_eq!(
        trace.last().map(String::as_str),
        Some("shutdown first"),
        "shutdown in reverse order"
    );
    let info = sched.node("first").unwrap();
    assert_eq!((info.stats.ticks, info.state), (40, NodeState::Finished));
}

/// Was a bug (seen under qemu-aarch64, where starting is slow): the
/// duration of `run_for` counted from before the `init`s, so a start
/// slower than it left no round at all.
#[test]
fn run_for_counts_from_its_first_round_not_from_before_the_inits() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    let mut camera = Probe::new("camera", &trace);
    camera.init_work = Duration::from_millis(100);
    sched.add(camera).build().unwrap();
    sched.run_for(Duration::from_millis(20)).unwrap();
    let calls = common::calls_of(&trace, "camera");
    assert_eq!(calls.first().map(String::as_str), Some("init"));
    assert_eq!(calls.last().map(String::as_str), Some("shutdown"));
    let ticks = calls.iter().filter(|c| *c == "tick").count();
    assert!(
        ticks >= 1,
        "a start slower than the run left no round: {calls:?}"
    );
}

#[test]
fn names_are_unique_and_rates_valid() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    sched.add(Probe::new("x", &trace)).build().unwrap();
    let dup = sched.add(Probe::new("x", &trace)).build().unwrap_err();
    assert!(matches!(
        dup,
        Error::Scheduler(SchedulerError::DuplicateName { .. })
    ));
    let zero = sched
        .add(Probe::new("y", &trace))
        .rate(0_u64.hz())
        .build()
        .unwrap_err();
    assert!(zero.to_string().contains("\"y\""), "{zero}");
}

/// Names the registry and `horus node pause|kill` can hold whole: a longer
/// one was listed cut, and no control request could ever match it.
#[test]
fn names_are_one_to_48_bytes_without_control_characters() {
    let trace = Trace::default();
    let mut sched = quiet_scheduler();
    let longest: &'static str = "n".repeat(48).leak();
    horus::scheduler::check_node_name(longest).unwrap();
    sched.add(Probe::new(longest, &trace)).build().unwrap();
    let too_long: &'static str = "n".repeat(49).leak();
    for (name, reason) in [
        ("", "it is empty"),
        (too_long, "it is longer than the registry holds"),
        ("tab\there", "it has control characters"),
    ] {
        let e = sched.add(Probe::new(name, &trace)).build().unwrap_err();
        assert!(
            matches!(&e, Error::Scheduler(SchedulerError::InvalidNodeName { node, .. }) if node == name),
            "{e:?}"
        );
        assert!(
            e.to_string().ends_with(&format!(
                "{reason}; use 1 to 48 bytes without control characters (Node::name)"
            )),
            "{e}"
        );
        // The public check (front ends refuse a name where it is given) is
        // the one build() applies: the same error.
        let checked = horus::scheduler::check_node_name(name).unwrap_err();
        assert_eq!(checked.to_string(), e.to_string());
    }
    assert_eq!(sched.nodes().len(), 1);
}
