//! The core scheduler under a manual clock: event traces of order, rates,
//! deadline accounting, fault policies, hold/resume and shutdown.

use std::cell::RefCell;

use horus_nostd::sched::{
    AddError, Completion, ControlError, CoreNode, CoreScheduler, Event, FaultPolicy, NodeConfig,
    NodeFault, NodeId, NodeState, Observer, Rate, Release, Slot, StartError, Tick,
};
use horus_nostd::time::{Clock, Frequency, ManualClock};

/// What happened, in order: (node name, what, time).
type Trace = RefCell<Vec<(&'static str, &'static str, u64)>>;

/// A node that logs its calls into a shared trace; it may advance the clock
/// while ticking (to simulate work) and fail on chosen ticks.
struct Probe<'t> {
    name: &'static str,
    trace: &'t Trace,
    clock: &'t ManualClock,
    work_ns: u64,
    fail_on: Option<u64>,
    /// Which `init` calls fail (0: the start's, 1: the first restart's, ...).
    fail_init: Option<u32>,
    inits: u32,
}

impl<'t> Probe<'t> {
    fn new(name: &'static str, trace: &'t Trace, clock: &'t ManualClock) -> Self {
        Self {
            name,
            trace,
            clock,
            work_ns: 0,
            fail_on: None,
            fail_init: None,
            inits: 0,
        }
    }

    fn log(&self, what: &'static str) {
        self.trace
            .borrow_mut()
            .push((self.name, what, self.clock.now_ns()));
    }
}

impl CoreNode for Probe<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn init(&mut self) -> Result<(), NodeFault> {
        self.log("init");
        self.inits += 1;
        if self.fail_init == Some(self.inits - 1) {
            Err(NodeFault::new(7))
        } else {
            Ok(())
        }
    }
    fn tick(&mut self, tick: &Tick) -> Result<(), NodeFault> {
        self.log("tick");
        self.clock.advance(self.work_ns);
        if self.fail_on == Some(tick.seq) {
            return Err(NodeFault::new(42));
        }
        Ok(())
    }
    fn safe_state(&mut self) {
        self.log("safe");
    }
    fn shutdown(&mut self) {
        self.log("shutdown");
    }
}

const MS: u64 = 1_000_000;

fn ticks_of(trace: &Trace) -> Vec<(&'static str, u64)> {
    trace
        .borrow()
        .iter()
        .filter(|e| e.1 == "tick")
        .map(|e| (e.0, e.2))
        .collect()
}

#[test]
fn nodes_tick_by_order_then_insertion_at_their_rates() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut c = Probe::new("c", &trace, &clock);
    let mut a = Probe::new("a", &trace, &clock);
    let mut b1 = Probe::new("b1", &trace, &clock);
    let mut b2 = Probe::new("b2", &trace, &clock);
    let mut sched = CoreScheduler::<4>::new(Frequency::from_hz(1_000)).unwrap();
    // Added out of order; b1 and b2 share an order.
    sched
        .add(&mut c, NodeConfig::new(2).rate(Rate::Divisor(2)))
        .unwrap();
    sched.add(&mut b1, NodeConfig::new(1)).unwrap();
    sched
        .add(&mut a, NodeConfig::new(0).rate(Rate::PeriodNs(3 * MS)))
        .unwrap();
    sched.add(&mut b2, NodeConfig::new(1)).unwrap();
    sched.start(0).unwrap();
    for _ in 0..4 {
        sched.step(&clock);
        clock.advance(MS);
    }
    sched.shutdown();
    let expected = vec![
        ("a", 0),
        ("b1", 0),
        ("b2", 0),
        ("c", 0),
        ("b1", MS),
        ("b2", MS),
        ("b1", 2 * MS),
        ("b2", 2 * MS),
        ("c", 2 * MS),
        ("a", 3 * MS),
        ("b1", 3 * MS),
        ("b2", 3 * MS),
    ];
    assert_eq!(ticks_of(&trace), expected);
    // init in order, shutdown in reverse order.
    let lifecycle: Vec<_> = trace
        .borrow()
        .iter()
        .filter(|e| e.1 != "tick")
        .map(|e| (e.0, e.1))
        .collect();
    assert_eq!(
        lifecycle,
        [
            ("a", "init"),
            ("b1", "init"),
            ("b2", "init"),
            ("c", "init"),
            ("c", "shutdown"),
            ("b2", "shutdown"),
            ("b1", "shutdown"),
            ("a", "shutdown"),
        ]
    );
}

#[test]
fn an_overrun_is_counted_and_delays_the_nodes_after_it() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut slow = Probe::new("slow", &trace, &clock);
    slow.work_ns = 3 * MS / 2; // 1.5 ms per tick, budget 1 ms
    let mut next = Probe::new("next", &trace, &clock);
    let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(100)).unwrap();
    let s = sched
        .add(&mut slow, NodeConfig::new(0).budget_ns(MS))
        .unwrap();
    let n = sched
        .add(&mut next, NodeConfig::new(1).tolerance_ns(MS))
        .unwrap();
    sched.start(0).unwrap();
    let mut events = Vec::new();
    let report = sched.step_with(&clock, &mut |e| events.push(e));
    assert_eq!(report.ran, 2);
    assert_eq!(report.next_release_ns, Some(10 * MS));
    assert_eq!(
        events,
        [
            Event::Overrun {
                node: s,
                duration_ns: 3 * MS / 2,
                budget_ns: MS
            },
            Event::LateRelease {
                node: n,
                lateness_ns: 3 * MS / 2
            },
        ]
    );
    let (ss, ns) = (sched.stats(s).unwrap(), sched.stats(n).unwrap());
    assert_eq!((ss.ticks, ss.overruns, ss.late_releases), (1, 1, 0));
    assert_eq!((ns.ticks, ns.overruns, ns.late_releases), (1, 0, 1));
    assert_eq!(ns.max_lateness_ns, 3 * MS / 2);
}

#[test]
fn releases_missed_while_late_are_skipped_not_burst() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut n = Probe::new("n", &trace, &clock);
    let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(1_000)).unwrap();
    let id = sched.add(&mut n, NodeConfig::new(0)).unwrap();
    sched.start(0).unwrap();
    sched.step(&clock);
    clock.set(5 * MS + MS / 2); // the caller slept through 4 releases
    let mut events = Vec::new();
    let r = sched.step_with(&clock, &mut |e| events.push(e));
    assert_eq!(r.ran, 1);
    assert_eq!(r.next_release_ns, Some(6 * MS));
    assert!(events.contains(&Event::Skipped { node: id, count: 4 }));
    assert_eq!(sched.step(&clock).ran, 0, "nothing due until 6 ms");
    let st = sched.stats(id).unwrap();
    assert_eq!((st.ticks, st.skipped_releases, st.late_releases), (2, 4, 1));
}

#[test]
fn fault_policies_stop_skip_and_restart() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut stop = Probe::new("stop", &trace, &clock);
    let mut skip = Probe::new("skip", &trace, &clock);
    let mut restart = Probe::new("restart", &trace, &clock);
    for p in [&mut stop, &mut skip, &mut restart] {
        p.fail_on = Some(1);
    }
    let mut sched = CoreScheduler::<3>::new(Frequency::from_hz(1_000)).unwrap();
    let ids: Vec<NodeId> = [
        (&mut stop, FaultPolicy::Stop),
        (&mut skip, FaultPolicy::Skip),
        (&mut restart, FaultPolicy::Restart),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (node, policy))| {
        sched
            .add(node, NodeConfig::new(i as u32).on_fault(policy))
            .unwrap()
    })
    .collect();
    sched.start(0).unwrap();
    let mut faults = 0;
    for _ in 0..3 {
        faults += sched.step(&clock).faults;
        clock.advance(MS);
    }
    assert_eq!(faults, 3);
    assert_eq!(sched.state(ids[0]), Some(NodeState::Faulted));
    assert_eq!(sched.state(ids[1]), Some(NodeState::Running));
    assert_eq!(sched.state(ids[2]), Some(NodeState::Running));
    sched.shutdown();
    let of = |name| -> Vec<&str> {
        trace
            .borrow()
            .iter()
            .filter(|e| e.0 == name)
            .map(|e| e.1)
            .collect()
    };
    assert_eq!(of("stop"), ["init", "tick", "tick", "safe", "shutdown"]);
    assert_eq!(of("skip"), ["init", "tick", "tick", "tick", "shutdown"]);
    assert_eq!(
        of("restart"),
        [
            "init", "tick", "tick", "shutdown", "init", "tick", "shutdown"
        ]
    );
}

/// Each successful `init` is paired with exactly one `shutdown`, whichever
/// restart ran it: a restart whose `init` fails leaves a node that owes none.
#[test]
fn a_restart_whose_init_fails_owes_no_shutdown() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut by_policy = Probe::new("policy", &trace, &clock);
    by_policy.fail_on = Some(0);
    by_policy.fail_init = Some(1);
    let mut by_operator = Probe::new("operator", &trace, &clock);
    by_operator.fail_init = Some(1);
    let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(1_000)).unwrap();
    let p = sched
        .add(
            &mut by_policy,
            NodeConfig::new(0).on_fault(FaultPolicy::Restart),
        )
        .unwrap();
    let o = sched.add(&mut by_operator, NodeConfig::new(1)).unwrap();
    sched.start(0).unwrap();
    sched.step(&clock);
    sched.restart(o, 0).unwrap();
    assert_eq!(sched.state(p), Some(NodeState::Faulted));
    assert_eq!(sched.state(o), Some(NodeState::Faulted));
    sched.shutdown();
    let of = |name| -> Vec<&str> {
        trace
            .borrow()
            .iter()
            .filter(|e| e.0 == name)
            .map(|e| e.1)
            .collect()
    };
    assert_eq!(of("policy"), ["init", "tick", "shutdown", "init", "safe"]);
    assert_eq!(of("operator"), ["init", "tick", "shutdown", "init", "safe"]);
}

/// A restart during the e-stop must not re-enable outputs: the node's
/// `safe_state` runs after its new `init`, and it stays held until `resume`.
#[test]
fn a_restart_during_a_hold_runs_safe_state_after_init_and_stays_held() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut n = Probe::new("n", &trace, &clock);
    let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(1_000)).unwrap();
    let id = sched.add(&mut n, NodeConfig::new(0)).unwrap();
    sched.start(0).unwrap();
    sched.hold();
    sched.restart(id, 0).unwrap();
    assert_eq!(sched.state(id), Some(NodeState::Held));
    assert_eq!(sched.step(&clock).ran, 0);
    sched.resume(MS);
    clock.set(MS);
    assert_eq!(sched.step(&clock).ran, 1);
    let calls: Vec<_> = trace.borrow().iter().map(|e| e.1).collect();
    assert_eq!(calls, ["init", "safe", "shutdown", "init", "safe", "tick"]);
}

#[test]
fn a_failed_init_stops_start_and_shutdown_spares_uninitialised_nodes() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut ok = Probe::new("ok", &trace, &clock);
    let mut bad = Probe::new("bad", &trace, &clock);
    bad.fail_init = Some(0);
    let mut later = Probe::new("later", &trace, &clock);
    let mut sched = CoreScheduler::<3>::new(Frequency::from_hz(10)).unwrap();
    sched.add(&mut ok, NodeConfig::new(0)).unwrap();
    let b = sched.add(&mut bad, NodeConfig::new(1)).unwrap();
    let l = sched.add(&mut later, NodeConfig::new(2)).unwrap();
    assert_eq!(
        sched.start(0),
        Err(StartError::Init {
            node: b,
            fault: NodeFault::new(7)
        })
    );
    assert_eq!(sched.state(l), Some(NodeState::Registered));
    assert_eq!(sched.start(0), Err(StartError::AlreadyStarted));
    sched.shutdown();
    assert!(sched.nodes().all(|v| v.state == NodeState::Finished));
    let calls: Vec<_> = trace.borrow().iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(calls, [("ok", "init"), ("bad", "init"), ("ok", "shutdown")]);
}

#[test]
fn hold_runs_safe_state_and_resume_rephases() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut n = Probe::new("n", &trace, &clock);
    let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(1_000)).unwrap();
    let id = sched.add(&mut n, NodeConfig::new(0)).unwrap();
    sched.start(0).unwrap();
    sched.step(&clock);
    sched.hold();
    assert_eq!(sched.state(id), Some(NodeState::Held));
    assert_eq!(sched.next_release_ns(), None);
    clock.set(10 * MS);
    assert_eq!(sched.step(&clock).ran, 0);
    sched.resume(clock.now_ns());
    assert_eq!(sched.step(&clock).ran, 1);
    let st = sched.stats(id).unwrap();
    assert_eq!((st.ticks, st.skipped_releases, st.late_releases), (2, 0, 0));
    let calls: Vec<_> = trace.borrow().iter().map(|e| e.1).collect();
    assert_eq!(calls, ["init", "tick", "safe", "tick"]);
}

#[test]
fn bad_configuration_is_a_typed_error() {
    struct Nop;
    impl CoreNode for Nop {
        fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
            Ok(())
        }
    }
    assert!(CoreScheduler::<1>::new(Frequency::from_hz(0)).is_err());
    let (mut a, mut b, mut c) = (Nop, Nop, Nop);
    let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(1)).unwrap();
    assert!(matches!(
        sched.add(&mut a, NodeConfig::new(0).rate(Rate::Divisor(0))),
        Err(AddError::Rate(_))
    ));
    sched.add(&mut b, NodeConfig::new(0)).unwrap();
    assert_eq!(
        sched.add(&mut c, NodeConfig::new(0)),
        Err(AddError::Full { capacity: 1 })
    );
    let (mut d, mut e) = (Nop, Nop);
    let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(1)).unwrap();
    sched.add(&mut d, NodeConfig::new(0)).unwrap();
    sched.start(0).unwrap();
    assert_eq!(
        sched.add(&mut e, NodeConfig::new(0)),
        Err(AddError::AlreadyStarted)
    );
    assert_eq!(sched.step(&ManualClock::new(0)).ran, 1);
}

/// Logs everything the engine reports, as "node what".
#[derive(Default)]
struct Log(Vec<String>);

impl<T: CoreNode> Observer<T> for Log {
    fn released(&mut self, slot: &mut Slot<T>, r: &Release) {
        let name = slot.node().name();
        self.0.push(format!(
            "{name} released late={} skipped={}",
            r.late, r.skipped
        ));
    }
    fn ticked(&mut self, slot: &mut Slot<T>, done: &Completion) {
        let name = slot.node().name();
        self.0
            .push(format!("{name} ticked overrun={}", done.overrun));
    }
    fn faulted(&mut self, slot: &mut Slot<T>, fault: NodeFault) {
        let name = slot.node().name();
        self.0.push(format!("{name} fault {}", fault.code()));
    }
    fn restart_failed(&mut self, slot: &mut Slot<T>, fault: NodeFault) {
        let name = slot.node().name();
        self.0
            .push(format!("{name} restart failed {}", fault.code()));
    }
    fn state_changed(&mut self, slot: &mut Slot<T>, from: NodeState) {
        let name = slot.node().name();
        self.0.push(format!("{name} {from}->{}", slot.state()));
    }
}

#[test]
fn an_observer_hears_every_release_tick_fault_and_transition_in_order() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut r = Probe::new("r", &trace, &clock);
    r.fail_on = Some(0);
    r.fail_init = Some(1); // the restart's init fails
    let mut s = Probe::new("s", &trace, &clock);
    s.fail_on = Some(0);
    let mut n = Probe::new("n", &trace, &clock);
    let mut late = Probe::new("late", &trace, &clock);
    let mut sched = CoreScheduler::<4>::new(Frequency::from_hz(1_000)).unwrap();
    let policy = |order, p| NodeConfig::new(order).on_fault(p);
    sched.add(&mut r, policy(0, FaultPolicy::Restart)).unwrap();
    sched.add(&mut s, policy(1, FaultPolicy::Skip)).unwrap();
    sched.add(&mut n, NodeConfig::new(2)).unwrap();
    let mut log = Log::default();
    sched.start_with(0, &mut log).unwrap();
    assert_eq!(sched.step_with(&clock, &mut log).faults, 2);
    sched.hold_with(&mut log);
    // Added and initialised during the hold: it starts held.
    let id = sched.push(&mut late, NodeConfig::new(3)).unwrap();
    clock.set(MS);
    sched.init_registered(clock.now_ns(), &mut log).unwrap();
    assert_eq!(sched.state(id), Some(NodeState::Held));
    clock.set(5 * MS);
    assert_eq!(sched.step_with(&clock, &mut log).ran, 0, "held");
    sched.resume_with(clock.now_ns(), &mut log);
    assert_eq!(sched.step_with(&clock, &mut log).ran, 3);
    sched.shutdown_with(&mut log);
    let expected = [
        "r registered->ready",
        "s registered->ready",
        "n registered->ready",
        // step at 0
        "r released late=false skipped=0",
        "r ready->running",
        "r ticked overrun=false",
        "r fault 42",
        "r restart failed 7",
        "r running->faulted",
        "s released late=false skipped=0",
        "s ready->running",
        "s ticked overrun=false",
        "s fault 42",
        "n released late=false skipped=0",
        "n ready->running",
        "n ticked overrun=false",
        // hold, then the late node's start
        "s running->held",
        "n running->held",
        "late registered->ready",
        "late ready->held",
        // resume at 5 ms: nothing missed while held is late or skipped
        "s held->running",
        "n held->running",
        "late held->running",
        "s released late=false skipped=0",
        "s ticked overrun=false",
        "n released late=false skipped=0",
        "n ticked overrun=false",
        "late released late=false skipped=0",
        "late ticked overrun=false",
        // shutdown, in reverse order
        "late running->finished",
        "n running->finished",
        "s running->finished",
        "r faulted->finished",
    ];
    assert_eq!(log.0, expected);
    let calls: Vec<_> = trace
        .borrow()
        .iter()
        .filter(|e| e.1 == "safe" || e.1 == "shutdown")
        .map(|e| (e.0, e.1))
        .collect();
    assert_eq!(
        calls,
        [
            ("r", "shutdown"), // its restart: the first init's shutdown, then init
            ("r", "safe"),
            ("s", "safe"),
            ("n", "safe"),
            ("late", "safe"),
            ("late", "shutdown"),
            ("n", "shutdown"),
            ("s", "shutdown"),
        ],
        "r's shutdown ran before its restart's init, which failed: none is owed at the end"
    );
}

#[test]
fn a_node_pushed_after_the_start_is_initialised_by_the_next_init_registered() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut a = Probe::new("a", &trace, &clock);
    let mut b = Probe::new("b", &trace, &clock);
    let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(1_000)).unwrap();
    sched.add(&mut a, NodeConfig::new(1)).unwrap();
    sched.start(0).unwrap();
    assert_eq!(sched.step(&clock).ran, 1);
    // Lower order: it ticks first once initialised.
    let id = sched.push(&mut b, NodeConfig::new(0)).unwrap();
    assert_eq!(sched.state(id), Some(NodeState::Registered));
    clock.set(MS);
    assert_eq!(sched.step(&clock).ran, 1, "not ticked before its init");
    sched.init_registered(MS, &mut |_| {}).unwrap();
    clock.set(2 * MS);
    assert_eq!(sched.step(&clock).ran, 2);
    // step_all_with ticks every node at once, whatever its rate, on time.
    let mut events = Vec::new();
    assert_eq!(sched.step_all_with(&clock, &mut |e| events.push(e)).ran, 2);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(
        ticks_of(&trace),
        [
            ("a", 0),
            ("a", MS),
            ("b", 2 * MS),
            ("a", 2 * MS),
            ("b", 2 * MS),
            ("a", 2 * MS)
        ]
    );
}

#[test]
fn a_tick_rate_changed_to_a_bad_one_fails_the_start_of_the_nodes_that_use_it() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut own = Probe::new("own", &trace, &clock);
    let mut base = Probe::new("base", &trace, &clock);
    let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(1_000)).unwrap();
    sched
        .add(&mut own, NodeConfig::new(0).rate(Rate::PeriodNs(MS)))
        .unwrap();
    let b = sched.add(&mut base, NodeConfig::new(1)).unwrap();
    sched.set_tick_rate(Frequency::from_hz(0));
    assert!(matches!(
        sched.start(0),
        Err(StartError::Rate { node, .. }) if node == b
    ));
    assert_eq!(sched.state(b), Some(NodeState::Registered));
    sched.shutdown();
    let calls: Vec<_> = trace.borrow().iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(calls, [("own", "init"), ("own", "shutdown")]);
}

#[test]
fn pause_resume_and_restart_one_node_leave_the_others_ticking() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let (mut a, mut b) = (
        Probe::new("a", &trace, &clock),
        Probe::new("b", &trace, &clock),
    );
    b.fail_init = Some(2); // the second restart's init fails
    let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(1_000)).unwrap();
    let ia = sched.add(&mut a, NodeConfig::new(0)).unwrap();
    let ib = sched.add(&mut b, NodeConfig::new(1)).unwrap();
    sched.start(0).unwrap();
    sched.step(&clock);
    trace.borrow_mut().clear();

    // Pause: safe_state, not ticked, the e-stop's hold/resume leaves it paused.
    sched.pause(ib).unwrap();
    assert_eq!(sched.state(ib), Some(NodeState::Paused));
    sched.pause(ib).unwrap(); // again: nothing
    clock.set(MS);
    assert_eq!(sched.step(&clock).ran, 1);
    sched.hold();
    sched.resume(clock.now_ns());
    assert_eq!(sched.state(ib), Some(NodeState::Paused));
    clock.set(2 * MS);
    assert_eq!(sched.step(&clock).ran, 1);

    // Resume: on a fresh grid, nothing missed is run or counted.
    clock.set(5 * MS);
    sched.resume_node(ib, clock.now_ns()).unwrap();
    assert_eq!(sched.state(ib), Some(NodeState::Running));
    assert_eq!(sched.step(&clock).ran, 2);
    let st = sched.stats(ib).unwrap();
    assert_eq!((st.ticks, st.skipped_releases, st.late_releases), (2, 0, 0));
    assert_eq!(
        sched.resume_node(ib, 0),
        Ok(()),
        "resuming a running node does nothing"
    );

    // Restart: shutdown + init, counters zeroed, ticked at once.
    clock.set(6 * MS);
    sched.restart(ib, clock.now_ns()).unwrap();
    assert_eq!(sched.state(ib), Some(NodeState::Ready));
    assert_eq!(sched.stats(ib).unwrap().ticks, 0);
    assert_eq!(sched.step(&clock).ran, 2);
    assert_eq!(sched.stats(ib).unwrap().ticks, 1);

    // A restart whose init fails: safe_state, Faulted, and no more control.
    sched.pause(ib).unwrap();
    sched.restart(ib, clock.now_ns()).unwrap();
    assert_eq!(sched.state(ib), Some(NodeState::Faulted));
    assert!(matches!(
        sched.pause(ib),
        Err(ControlError::NotNow {
            state: NodeState::Faulted,
            action: "pause",
            ..
        })
    ));
    assert!(sched.restart(ib, 0).is_err() && sched.resume_node(ib, 0).is_err());
    assert_eq!(sched.state(ia), Some(NodeState::Running));

    let b_calls: Vec<_> = trace
        .borrow()
        .iter()
        .filter(|e| e.0 == "b")
        .map(|e| e.1)
        .collect();
    assert_eq!(
        b_calls,
        [
            "safe", // pause (the hold ran no safe_state: paused nodes are not held)
            "tick", // resume
            "shutdown", "init", "tick", // restart
            "safe", "shutdown", "init", "safe", // pause, failed restart
        ]
    );
    sched.shutdown();
    assert_eq!(sched.state(ib), Some(NodeState::Finished));
}

#[test]
fn pausing_a_held_node_keeps_it_paused_after_the_estop_and_unknown_ids_are_errors() {
    let trace = Trace::default();
    let clock = ManualClock::new(0);
    let mut n = Probe::new("n", &trace, &clock);
    let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(1_000)).unwrap();
    let id = sched.add(&mut n, NodeConfig::new(0)).unwrap();
    assert!(matches!(
        sched.pause(id),
        Err(ControlError::NotNow {
            state: NodeState::Registered,
            ..
        })
    ));
    sched.start(0).unwrap();
    sched.hold();
    sched.pause(id).unwrap();
    sched.resume(MS);
    assert_eq!(sched.state(id), Some(NodeState::Paused));
    sched.hold();
    sched.resume_node(id, MS).unwrap();
    assert_eq!(
        sched.state(id),
        Some(NodeState::Held),
        "held while the e-stop is"
    );
    sched.resume(MS);
    assert_eq!(sched.state(id), Some(NodeState::Running));
    let calls: Vec<_> = trace.borrow().iter().map(|e| e.1).collect();
    assert_eq!(calls, ["init", "safe"]);

    let mut other = CoreScheduler::<2>::new(Frequency::from_hz(1_000)).unwrap();
    let mut m = Probe::new("m", &trace, &clock);
    let mut k = Probe::new("k", &trace, &clock);
    other.add(&mut m, NodeConfig::new(0)).unwrap();
    let second = other.add(&mut k, NodeConfig::new(0)).unwrap();
    let mut lone = CoreScheduler::<1>::new(Frequency::from_hz(1_000)).unwrap();
    let mut z = Probe::new("z", &trace, &clock);
    lone.add(&mut z, NodeConfig::new(0)).unwrap();
    assert_eq!(
        lone.pause(second),
        Err(ControlError::NoSuchNode { node: second })
    );
}

/// A manual clock that counts its readings.
struct CountingClock {
    inner: ManualClock,
    reads: std::cell::Cell<u32>,
}

impl Clock for CountingClock {
    fn now_ns(&self) -> u64 {
        self.reads.set(self.reads.get() + 1);
        self.inner.now_ns()
    }
}

#[test]
fn step_all_reads_the_clock_once_per_node_unless_a_tick_overran() {
    let trace = Trace::default();
    let clock = CountingClock {
        inner: ManualClock::new(0),
        reads: std::cell::Cell::new(0),
    };
    let mut nodes: Vec<Probe<'_>> = ["a", "b", "c"]
        .into_iter()
        .map(|n| Probe::new(n, &trace, &clock.inner))
        .collect();
    nodes[1].work_ns = 2 * MS; // over its 1 ms budget
    let mut sched = CoreScheduler::<3>::new(Frequency::from_hz(1_000)).unwrap();
    for (i, n) in nodes.iter_mut().enumerate() {
        sched.add(n, NodeConfig::new(i as u32)).unwrap();
    }
    sched.start(0).unwrap();
    // The first round also moves each node Ready -> Running: no chaining.
    sched.step_all_with(&clock, &mut |_| {});
    clock.reads.set(0);
    let mut overruns = 0;
    let report = sched.step_all_with(&clock, &mut |e| {
        overruns += u32::from(matches!(e, Event::Overrun { .. }));
    });
    assert_eq!((report.ran, overruns), (3, 1));
    // The round's start, then each tick's end; "c" follows an overrun, so
    // it reads the clock for its own start.
    assert_eq!(clock.reads.get(), 1 + 3 + 1);
    // Every tick started when its turn came: the second round at 2 ms (after
    // "b"'s work in the first), "b" at the end of "a", "c" after "b"'s work.
    let last: Vec<_> = ticks_of(&trace).into_iter().rev().take(3).collect();
    assert_eq!(last, [("c", 4 * MS), ("b", 2 * MS), ("a", 2 * MS)]);
}
