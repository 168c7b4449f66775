//! The e-stop inside one process: raised by a node, it holds the nodes
//! after it in the same round; a restart during it leaves the node held.

mod common;

use common::{Probe, TestNs, Trace, calls_of};
use horus::prelude::*;
use horus::scheduler::NodeState;
use horus::system::blackbox::AnomalyKind;
use horus::system::control::{self, ControlCommand};
use horus::system::estop;

/// In namespace `ns`, node `raiser` (order 0) that raises the e-stop of
/// namespace `raises` on its first tick, and a motor (order 1).
fn raiser_and_motor(
    ns: &TestNs,
    raiser: &'static str,
    raises: &TestNs,
    trace: &Trace,
) -> Scheduler {
    let mut sched = Scheduler::new()
        .namespace(&ns.name)
        .tick_rate(1_000_u64.hz())
        .blackbox(false);
    let mut node = Probe::new(raiser, trace);
    node.raise_in = Some(raises.name.clone());
    sched.add(node).order(0).build().unwrap();
    sched
        .add(Probe::new("motor", trace))
        .order(1)
        .build()
        .unwrap();
    sched
}

/// A monitor (order 0) that raises the e-stop, and a motor (order 1).
fn monitor_and_motor(ns: &TestNs, trace: &Trace) -> Scheduler {
    raiser_and_motor(ns, "monitor", ns, trace)
}

#[test]
fn an_estop_raised_by_a_node_holds_the_nodes_after_it_in_the_same_round_of_tick_once() {
    let ns = TestNs::new("estop_round_once");
    let trace = Trace::default();
    let mut sched = monitor_and_motor(&ns, &trace);
    sched.tick_once().unwrap();
    assert_eq!(sched.node("motor").unwrap().state, NodeState::Held);
    sched.shutdown().unwrap();
    assert_eq!(calls_of(&trace, "motor"), ["init", "safe", "shutdown"]);
    assert_eq!(
        calls_of(&trace, "monitor"),
        ["init", "tick", "safe", "shutdown"]
    );
    let raised = sched
        .anomalies()
        .iter()
        .any(|a| a.kind == AnomalyKind::EstopRaised);
    assert!(raised, "{:?}", sched.anomalies());
}

#[test]
fn an_estop_raised_by_a_node_holds_the_nodes_after_it_in_the_same_round_of_run() {
    let ns = TestNs::new("estop_round_run");
    let trace = Trace::default();
    let mut sched = monitor_and_motor(&ns, &trace);
    // Held from the first round on: the run only ends at its duration.
    sched.run_for(Duration::from_millis(50)).unwrap();
    assert_eq!(calls_of(&trace, "motor"), ["init", "safe", "shutdown"]);
}

/// A node (order 0) that raises the e-stop of namespace `elsewhere` on its
/// first tick, as another test's thread of this process does, and a motor
/// (order 1), in namespace `ns`.
fn raiser_elsewhere_and_motor(ns: &TestNs, elsewhere: &TestNs, trace: &Trace) -> Scheduler {
    raiser_and_motor(ns, "raiser", elsewhere, trace)
}

/// Was a bug (seen under qemu-aarch64, tests in parallel): the scheduler
/// notices its process's e-stop raises of any namespace before each node,
/// and an e-stop raised in another namespace (by another test's thread)
/// ended the `tick_once` round for good: the nodes after that moment did
/// not tick (the test above found the motor `Ready`, not `Held`).
#[test]
fn an_estop_raised_in_another_namespace_does_not_cut_a_round_of_tick_once() {
    let (ns, elsewhere) = (TestNs::new("estop_here"), TestNs::new("estop_elsewhere"));
    let trace = Trace::default();
    let mut sched = raiser_elsewhere_and_motor(&ns, &elsewhere, &trace);
    sched.tick_once().unwrap();
    assert_eq!(sched.node("motor").unwrap().state, NodeState::Running);
    sched.tick_once().unwrap();
    sched.shutdown().unwrap();
    assert_eq!(
        calls_of(&trace, "motor"),
        ["init", "tick", "tick", "shutdown"]
    );
    assert_eq!(
        calls_of(&trace, "raiser"),
        ["init", "tick", "tick", "shutdown"]
    );
}

/// As above, for `run`: a first round cut by an e-stop raised elsewhere
/// still runs whole, however short the run (it ended at the pass that
/// would have ticked the rest).
#[test]
fn an_estop_raised_in_another_namespace_does_not_cut_the_first_round_of_run() {
    let (ns, elsewhere) = (
        TestNs::new("estop_here_run"),
        TestNs::new("estop_elsewhere_run"),
    );
    let trace = Trace::default();
    let mut sched = raiser_elsewhere_and_motor(&ns, &elsewhere, &trace);
    sched.run_for(Duration::from_nanos(1)).unwrap();
    // The pass after the cut ticks the motor; the run ends after it.
    assert_eq!(calls_of(&trace, "motor"), ["init", "tick", "shutdown"]);
}

#[test]
fn a_node_restarted_during_an_estop_runs_safe_state_after_its_init_and_stays_held() {
    let ns = TestNs::new("estop_restart");
    let trace = Trace::default();
    let mut sched = Scheduler::new()
        .namespace(&ns.name)
        .tick_rate(1_000_u64.hz())
        .blackbox(false);
    sched.add(Probe::new("motor", &trace)).build().unwrap();
    sched.tick_once().unwrap(); // joins the e-stop and the control topic
    estop::raise(Some(&ns.name), "operator").unwrap();
    sched.tick_once().unwrap();
    control::send(Some(&ns.name), "motor", 0, ControlCommand::Restart, 1).unwrap();
    sched.tick_once().unwrap();
    assert_eq!(sched.node("motor").unwrap().state, NodeState::Held);
    assert_eq!(
        calls_of(&trace, "motor"),
        ["init", "tick", "safe", "shutdown", "init", "safe"],
        "its outputs stay safe after the restart's init"
    );
    estop::clear(Some(&ns.name)).unwrap();
    sched.tick_once().unwrap();
    sched.tick_once().unwrap();
    assert_eq!(sched.node("motor").unwrap().state, NodeState::Running);
    sched.shutdown().unwrap();
}

/// Panics on every tick.
struct Crasher;

impl Node for Crasher {
    fn name(&self) -> &str {
        "crasher"
    }
    fn tick(&mut self) {
        panic!("crasher fails");
    }
}

#[test]
fn a_node_panicking_on_every_tick_does_not_push_the_estop_out_of_the_blackbox() {
    use horus::system::blackbox;
    let ns = TestNs::new("estop_panic_flood");
    let mut sched = Scheduler::new()
        .namespace(&ns.name)
        .tick_rate(1_000_u64.hz());
    sched
        .add(Crasher)
        .on_panic(FaultPolicy::Skip)
        .build()
        .unwrap();
    sched.tick_once().unwrap();
    estop::raise(Some(&ns.name), "operator").unwrap();
    sched.tick_once().unwrap();
    estop::clear(Some(&ns.name)).unwrap();
    // More panics than the blackbox lane keeps records, until a second panic
    // record is due (a second after the first).
    let panic_records = |sched: &Scheduler| -> Vec<horus::scheduler::Anomaly> {
        sched
            .anomalies()
            .iter()
            .filter(|a| a.kind == AnomalyKind::NodePanic)
            .cloned()
            .collect()
    };
    let lane = u64::from(blackbox::RARE_RECORDS_PER_WRITER);
    common::wait_until(30, "a second panic record", || {
        sched.tick_once().unwrap();
        sched.node("crasher").unwrap().panics > lane && panic_records(&sched).len() >= 2
    });
    let panics = panic_records(&sched);
    // Every panic is counted; each record but the first says how many
    // panics it stands for.
    let (first, second) = (&panics[0], &panics[1]);
    assert_eq!(first.value, 1);
    let since = format!(
        "{} panics since the last record",
        second.value - first.value
    );
    assert!(second.detail.starts_with(&since), "{second:?}");
    let records = blackbox::read(Some(&ns.name)).unwrap().entries;
    let kinds: Vec<_> = records.iter().filter_map(|r| r.kind).collect();
    assert!(kinds.contains(&AnomalyKind::EstopRaised), "{records:?}");
    assert!(kinds.contains(&AnomalyKind::EstopCleared), "{records:?}");
    sched.shutdown().unwrap();
}

/// An e-stop raised and cleared between two rounds (here between two
/// `tick_once` calls; with a long tick the window is the whole tick) still
/// puts the nodes in their safe state, then resumes them, and both are
/// recorded: the monitor kept only the newest state, so the raise was
/// never seen.
#[test]
fn an_estop_raised_and_cleared_between_two_rounds_still_runs_safe_state() {
    let ns = TestNs::new("estop_pulse");
    let trace = Trace::default();
    let mut sched = Scheduler::new()
        .namespace(&ns.name)
        .tick_rate(1_000_u64.hz())
        .blackbox(false);
    sched
        .add(Probe::new("motor", &trace))
        .order(0)
        .build()
        .unwrap();
    sched.tick_once().unwrap();
    estop::raise(Some(&ns.name), "a bumper pressed and released").unwrap();
    estop::clear(Some(&ns.name)).unwrap();
    sched.tick_once().unwrap();
    assert_eq!(sched.node("motor").unwrap().state, NodeState::Running);
    sched.shutdown().unwrap();
    assert_eq!(
        calls_of(&trace, "motor"),
        ["init", "tick", "safe", "tick", "shutdown"]
    );
    let kinds: Vec<_> = sched.anomalies().iter().map(|a| a.kind).collect();
    assert!(
        kinds.contains(&AnomalyKind::EstopRaised) && kinds.contains(&AnomalyKind::EstopCleared),
        "{:?}",
        sched.anomalies()
    );
}

#[test]
fn a_failed_shutdown_of_a_node_restarted_during_an_estop_is_recorded() {
    let ns = TestNs::new("estop_restart_fail");
    let trace = Trace::default();
    let mut sched = Scheduler::new().namespace(&ns.name).blackbox(false);
    let mut motor = Probe::new("motor", &trace);
    motor.panic_in_shutdown = true;
    sched.add(motor).build().unwrap();
    sched.tick_once().unwrap(); // joins the e-stop and the control topic
    estop::raise(Some(&ns.name), "operator").unwrap();
    sched.tick_once().unwrap();
    control::send(Some(&ns.name), "motor", 0, ControlCommand::Restart, 1).unwrap();
    sched.tick_once().unwrap();
    // Held before the restart and after it: no state changed, still recorded.
    assert_eq!(sched.node("motor").unwrap().state, NodeState::Held);
    assert!(
        sched
            .anomalies()
            .iter()
            .any(|a| a.kind == AnomalyKind::NodeError
                && a.node == "motor"
                && a.detail.contains("shutdown failed during a restart")),
        "{:?}",
        sched.anomalies()
    );
    assert!(sched.shutdown().is_err(), "its last shutdown failed too");
    estop::clear(Some(&ns.name)).unwrap();
}

/// Its `safe_state` panics.
struct UnsafeStop;

impl Node for UnsafeStop {
    fn name(&self) -> &str {
        "brake"
    }
    fn tick(&mut self) {}
    fn safe_state(&mut self) {
        panic!("brake stuck");
    }
}

#[test]
fn a_panic_in_safe_state_during_an_estop_is_counted_recorded_and_shown_last() {
    let ns = TestNs::new("estop_safe_panic");
    let mut sched = Scheduler::new().namespace(&ns.name).blackbox(false);
    sched.add(UnsafeStop).build().unwrap();
    sched.tick_once().unwrap();
    estop::raise(Some(&ns.name), "operator").unwrap();
    sched.tick_once().unwrap();
    let brake = sched.node("brake").unwrap();
    assert_eq!((brake.state, brake.panics), (NodeState::Held, 1));
    assert_eq!(
        brake.last_panic.as_deref(),
        Some("in safe_state: brake stuck")
    );
    assert!(
        sched
            .anomalies()
            .iter()
            .any(|a| a.kind == AnomalyKind::NodePanic
                && a.detail.contains("panicked in safe_state: brake stuck"))
    );
    estop::clear(Some(&ns.name)).unwrap();
    sched.shutdown().unwrap();
}
