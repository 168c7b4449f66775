//! A scheduler in one process follows the e-stop raised in another, and
//! lists its nodes in the registry.

mod common;

use common::{Peer, Probe, TestNs, Trace, say};
use horus::prelude::*;
use horus::system::blackbox::{self, AnomalyKind};
use horus::system::estop;
use horus::system::registry::{self, NodeStatus};

/// Seconds; only catches hangs.
const TIMEOUT_S: u64 = 30;

fn listed_as(ns: &TestNs, state: NodeStatus) -> bool {
    registry::list(Some(&ns.name))
        .unwrap()
        .iter()
        .any(|n| n.name == "Actuator" && n.state == Some(state))
}

/// Waits until the registry lists the node "Actuator" in `state`; `what`
/// says what timed out.
fn wait_listed_as(ns: &TestNs, state: NodeStatus, what: &str) {
    common::wait_until(TIMEOUT_S, what, || listed_as(ns, state));
}

/// The node of `child` is held by the e-stop of `ns`, raised: once it is
/// listed as stopped, it has not said `word` (a scheduler ticking at 200 Hz
/// would have by then); cleared, the e-stop lets it tick, and say `word`.
fn assert_held_until_cleared(ns: &TestNs, child: &mut Peer, word: &str) {
    wait_listed_as(ns, NodeStatus::Stopped, "the node listed as stopped");
    assert!(!child.has_said(word), "the node ticked while held");
    estop::clear(Some(&ns.name)).unwrap();
    child.expect(word, TIMEOUT_S);
}

#[test]
fn an_estop_from_another_process_holds_and_resumes_a_scheduler() {
    let ns = TestNs::new("sched_estop");
    let mut child = Peer::spawn("scheduler", &ns.name, &[]);
    child.expect("ticking", TIMEOUT_S);
    let pid = child.child.id();

    // The registry shows the node, running, from the other process.
    common::wait_until(TIMEOUT_S, "the node in the registry", || {
        registry::list(Some(&ns.name))
            .unwrap()
            .iter()
            .any(|n| n.name == "Actuator" && n.pid == pid && n.state == Some(NodeStatus::Running))
    });

    estop::raise(Some(&ns.name), "operator pressed the button").unwrap();
    child.expect("safe_state", TIMEOUT_S);
    // The node says "resumed" on its first tick after safe_state.
    assert_held_until_cleared(&ns, &mut child, "resumed");

    child.kill();
    let records = blackbox::read(Some(&ns.name)).unwrap().entries;
    let kinds: Vec<_> = records
        .iter()
        .filter(|r| r.pid == pid)
        .map(|r| r.kind)
        .collect();
    assert!(
        kinds.contains(&Some(AnomalyKind::EstopRaised)),
        "{records:?}"
    );
    assert!(
        kinds.contains(&Some(AnomalyKind::EstopCleared)),
        "{records:?}"
    );
    // The killed process is not forgotten: its node is listed as Crashed.
    let nodes = registry::list(Some(&ns.name)).unwrap();
    assert!(
        nodes
            .iter()
            .all(|n| n.pid == pid && !n.alive && n.state == Some(NodeStatus::Crashed)),
        "{nodes:?}"
    );
}

#[test]
fn a_scheduler_started_during_an_estop_starts_held() {
    let ns = TestNs::new("sched_estop_first");
    estop::raise(Some(&ns.name), "before start").unwrap();
    let mut child = Peer::spawn("scheduler", &ns.name, &[]);
    // init runs, but the first tick waits for the clear.
    child.expect("init", TIMEOUT_S);
    assert_held_until_cleared(&ns, &mut child, "ticking");
    child.kill();
}

#[test]
fn a_finished_scheduler_is_listed_as_finished_while_its_process_lives() {
    let ns = TestNs::new("sched_finished");
    let mut child = Peer::spawn("finish", &ns.name, &[]);
    child.expect("finished", TIMEOUT_S);
    // Reported once, at shutdown: no waiting needed.
    assert!(
        listed_as(&ns, NodeStatus::Finished),
        "{:?}",
        registry::list(Some(&ns.name))
    );
    child.kill();
}

#[test]
fn the_registry_shows_a_node_that_failed_as_error_and_one_that_was_stopped_as_crashed() {
    let ns = TestNs::new("sched_states");
    let mut child = Peer::spawn("faulty", &ns.name, &[]);
    child.expect("ticking", TIMEOUT_S);
    let state_of = |name: &str| {
        registry::list(Some(&ns.name))
            .unwrap()
            .into_iter()
            .find(|n| n.name == name)
            .and_then(|n| n.state)
    };
    common::wait_until(
        TIMEOUT_S,
        "Error, Crashed and Running in the registry",
        || {
            state_of("flaky") == Some(NodeStatus::Error)
                && state_of("broken") == Some(NodeStatus::Crashed)
                && state_of("Actuator") == Some(NodeStatus::Running)
        },
    );
    child.kill();
}

/// Was a bug (seen under qemu-aarch64, where starting is slow): a run that
/// ended before its first round never opened the registry, so its nodes'
/// final state was never reported and the process listed nothing.
#[test]
fn a_run_that_ends_before_its_first_round_still_reports_finished() {
    let ns = TestNs::new("sched_no_round");
    let log = Trace::default();
    let mut sched = Scheduler::new().namespace(&ns.name).blackbox(false);
    sched.add(Probe::new("Brief", &log)).build().unwrap();
    // A zero-length run: init, then straight to shutdown, no round at all.
    sched.run_for(std::time::Duration::ZERO).unwrap();
    assert_eq!(*log.borrow(), ["init Brief", "shutdown Brief"]);
    let nodes = registry::list(Some(&ns.name)).unwrap();
    assert!(
        nodes
            .iter()
            .any(|n| n.name == "Brief" && n.state == Some(NodeStatus::Finished)),
        "{nodes:?}"
    );
}

/// Was a bug: a scheduler that could not open its namespace's e-stop topic
/// (here a foreign file at its path) said so on stderr and ran its nodes
/// anyway, with no way to stop them. No node starts; the error names the fix.
#[test]
fn a_scheduler_that_cannot_follow_the_estop_starts_no_node() {
    use std::os::unix::fs::PermissionsExt;
    let ns = TestNs::new("sched_no_estop");
    let dir = horus::shm::Namespace::open(&ns.name).unwrap();
    let planted = dir.topic_path(estop::ESTOP_TOPIC);
    std::fs::write(&planted, [0x5a_u8; 4096]).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o600)).unwrap();
    let log = Trace::default();
    let mut sched = Scheduler::new().namespace(&ns.name).blackbox(false);
    sched.add(Probe::new("Motor", &log)).build().unwrap();
    let e = sched.run_for(std::time::Duration::ZERO).unwrap_err();
    let sentence = e.to_string();
    assert!(
        matches!(
            &e,
            horus::Error::Scheduler(horus::error::SchedulerError::EstopUnavailable { namespace, .. })
                if *namespace == ns.name
        ),
        "{sentence}"
    );
    assert!(
        sentence.contains("no node started")
            && sentence.contains(&planted.display().to_string())
            && sentence.contains("horus clean --shm")
            && sentence.contains(".system_topics(false)"),
        "{sentence}"
    );
    assert!(
        log.borrow().is_empty(),
        "a node started: {:?}",
        log.borrow()
    );
    // The fix: the foreign file removed, the same scheduler starts. The
    // scheduler's attempt opened it; a child that another test of this
    // binary was spawning meanwhile holds a copy of that descriptor (and
    // its lock) until its `exec`, and the cleaner leaves a locked file
    // alone (this test failed about once in fifty runs so): wait for that.
    common::wait_until(10, "no process to hold the planted file", || {
        use std::os::fd::AsFd;
        let f = std::fs::File::open(&planted).unwrap();
        rustix::fs::flock(
            f.as_fd(),
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        )
        .is_ok()
    });
    let report = horus::shm::clean_namespace(&dir, true).unwrap();
    assert!(report.removed.contains(&planted), "{report:?}");
    sched.run_for(std::time::Duration::ZERO).unwrap();
    assert_eq!(*log.borrow(), ["init Motor", "shutdown Motor"]);
}

/// Was a bug: `Scheduler::new()` auto-cleaned `HORUS_NAMESPACE` before
/// `.namespace(..)` said where the scheduler runs. It cleans the namespace it
/// runs in, when it starts.
#[test]
fn a_scheduler_cleans_the_namespace_it_runs_in_when_it_starts() {
    let ns = TestNs::new("sched_clean");
    // A region nobody holds any more: stale. Made by a process that has
    // exited: made here, its lock could live on for a moment in a child
    // another test of this binary is spawning (a child holds copies of our
    // descriptors until its `exec` closes them), so that the start's clean
    // found it held (this test failed about once in ten runs so).
    let made = common::child_command("leave_region", &ns.name, &[])
        .status()
        .unwrap();
    assert!(made.success(), "the child that makes the region: {made}");
    let region = ns.path().join("left.behind.topic");
    assert!(region.exists());
    let mut sched = Scheduler::new()
        .namespace(&ns.name)
        .system_topics(false)
        .blackbox(false);
    let log = Trace::default();
    sched.add(Probe::new("n", &log)).build().unwrap();
    assert!(region.exists(), "cleaned before the scheduler started");
    sched.tick_once().unwrap();
    assert!(
        !region.exists(),
        "the stale region of its namespace was kept"
    );
}

/// Was a bug: a node initialised during an e-stop was left `Ready`, its
/// `safe_state` not run, and counted the hold as late releases on resume.
#[test]
fn a_node_added_during_an_estop_starts_held_and_resumes_with_the_others() {
    let ns = TestNs::new("sched_add_held");
    estop::raise(Some(&ns.name), "held before the second node").unwrap();
    let log = Trace::default();
    let node = |name| Probe::new(name, &log);
    let mut sched = Scheduler::new().namespace(&ns.name).blackbox(false);
    sched.add(node("first")).order(0).build().unwrap();
    sched.tick_once().unwrap();
    sched.add(node("second")).order(1).build().unwrap();
    sched.tick_once().unwrap();
    let state = |s: &Scheduler, n| s.node(n).unwrap().state;
    assert_eq!(state(&sched, "second"), horus::scheduler::NodeState::Held);
    estop::clear(Some(&ns.name)).unwrap();
    sched.tick_once().unwrap();
    assert_eq!(
        state(&sched, "second"),
        horus::scheduler::NodeState::Running
    );
    sched.shutdown().unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "init first",
            "safe first",
            "init second",
            "safe second",
            "tick first",
            "tick second",
            "shutdown second",
            "shutdown first",
        ]
    );
}

#[test]
fn a_scheduler_given_a_namespace_follows_its_estop_and_reports_there() {
    let ns = TestNs::new("sched_named");
    estop::raise(Some(&ns.name), "before start").unwrap();
    let mut sched = Scheduler::new().namespace(&ns.name).tick_rate(200_u64.hz());
    sched
        .add(Actuator {
            ticks: 0,
            held: false,
        })
        .build()
        .unwrap();
    let stop = sched.stop_handle();
    // The scheduler runs here (it is not `Send`); another thread watches it
    // and stops it whatever happens.
    std::thread::scope(|s| {
        let observer = s.spawn(|| {
            let seen = std::panic::catch_unwind(|| {
                wait_listed_as(&ns, NodeStatus::Stopped, "the node listed as stopped");
                estop::clear(Some(&ns.name)).unwrap();
                wait_listed_as(&ns, NodeStatus::Running, "the node listed as running");
            });
            stop.stop();
            seen
        });
        sched.run().unwrap();
        if let Err(panic) = observer.join().unwrap() {
            std::panic::resume_unwind(panic);
        }
    });
    let records = blackbox::read(Some(&ns.name)).unwrap().entries;
    assert!(
        records
            .iter()
            .any(|r| r.pid == std::process::id() && r.kind == Some(AnomalyKind::EstopCleared)),
        "{records:?}"
    );
}

#[test]
fn a_node_of_another_process_is_paused_resumed_restarted_and_killed_through_the_control_topic() {
    use horus::system::control::{self, ControlCommand};
    let ns = TestNs::new("sched_control");
    let mut child = Peer::spawn("scheduler", &ns.name, &[]);
    child.expect("ticking", TIMEOUT_S);
    let pid = child.child.id();
    wait_listed_as(&ns, NodeStatus::Running, "the node listed as running");
    let send = |cmd, target_pid, id| {
        control::send(Some(&ns.name), "Actuator", target_pid, cmd, id).unwrap();
    };

    // A request for another pid, or another name, is not this process's.
    send(ControlCommand::Pause, pid + 1, 1);
    control::send(Some(&ns.name), "Other", 0, ControlCommand::Kill, 2).unwrap();
    send(ControlCommand::Pause, 0, 3);
    child.expect("safe_state", TIMEOUT_S);
    wait_listed_as(&ns, NodeStatus::Paused, "the node listed as paused");
    assert!(!child.has_said("resumed"), "the node ticked while paused");

    send(ControlCommand::Resume, pid, 4);
    child.expect("resumed", TIMEOUT_S);
    wait_listed_as(&ns, NodeStatus::Running, "the node listed as running again");

    send(ControlCommand::Restart, pid, 5);
    child.expect("shutdown", TIMEOUT_S);
    child.expect("init", TIMEOUT_S);
    child.expect("ticking", TIMEOUT_S);

    // Kill: the scheduler shuts its nodes down and `run` returns Ok.
    send(ControlCommand::Kill, pid, 6);
    child.expect("shutdown", TIMEOUT_S);
    child.wait_success(TIMEOUT_S);

    let me = u64::from(std::process::id());
    let done: Vec<String> = blackbox::read(Some(&ns.name))
        .unwrap()
        .entries
        .into_iter()
        .filter(|r| r.pid == pid && r.kind == Some(AnomalyKind::NodeControl))
        .inspect(|r| assert_eq!((r.value, r.node.as_str()), (me, "Actuator")))
        .map(|r| r.detail)
        .collect();
    let words: Vec<&str> = done
        .iter()
        .map(|d| d.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        words,
        ["paused", "resumed", "restarted", "stopping"],
        "{done:?}"
    );
    assert!(done[0].ends_with("(request 3)"), "{done:?}");
}

/// A scheduler in `ns` with an [`Actuator`], one round run: it follows the
/// control topic from then on.
fn actuator_following_control(ns: &TestNs) -> Scheduler {
    let mut sched = Scheduler::new().namespace(&ns.name);
    sched
        .add(Actuator {
            ticks: 0,
            held: false,
        })
        .build()
        .unwrap();
    sched.tick_once().unwrap(); // joins the control topic
    sched
}

#[test]
fn tick_once_pauses_on_request_and_a_kill_shuts_the_scheduler_down() {
    use horus::scheduler::NodeState;
    use horus::system::control::{self, ControlCommand};
    let ns = TestNs::new("sched_control_once");
    let mut sched = actuator_following_control(&ns);
    let send = |cmd| control::send(Some(&ns.name), "Actuator", 0, cmd, 1).unwrap();
    send(ControlCommand::Pause);
    sched.tick_once().unwrap();
    let ticks = |s: &Scheduler| s.nodes()[0].stats.ticks;
    assert_eq!(sched.nodes()[0].state, NodeState::Paused);
    let before = ticks(&sched);
    sched.tick_once().unwrap();
    assert_eq!(ticks(&sched), before, "a paused node is not ticked");
    send(ControlCommand::Restart);
    sched.tick_once().unwrap();
    assert_eq!(
        ticks(&sched),
        1,
        "restarted (from paused): counters from zero, then ticked"
    );
    assert_eq!(
        sched.nodes()[0].restarts,
        1,
        "an operator restart counts in NodeInfo::restarts"
    );
    send(ControlCommand::Kill);
    sched.tick_once().unwrap();
    assert_eq!(sched.nodes()[0].state, NodeState::Finished);
    assert!(sched.tick_once().is_err(), "finished after a kill");
}

/// Requests published between two rounds are all carried out, in order,
/// before the next round's nodes run: not one a round.
#[test]
fn every_request_since_the_last_round_is_carried_out_before_the_next() {
    use horus::scheduler::NodeState;
    use horus::system::control::{self, ControlCommand};
    let ns = TestNs::new("sched_control_burst");
    let mut sched = actuator_following_control(&ns);
    let send = |cmd, id| control::send(Some(&ns.name), "Actuator", 0, cmd, id).unwrap();
    send(ControlCommand::Pause, 1);
    send(ControlCommand::Resume, 2);
    sched.tick_once().unwrap();
    let node = &sched.nodes()[0];
    assert_eq!(
        (node.state, node.stats.ticks),
        (NodeState::Running, 2),
        "paused and resumed before the round, then ticked in it"
    );
    send(ControlCommand::Pause, 3);
    send(ControlCommand::Resume, 4);
    send(ControlCommand::Pause, 5);
    sched.tick_once().unwrap();
    let node = &sched.nodes()[0];
    assert_eq!((node.state, node.stats.ticks), (NodeState::Paused, 2));
}

/// Panics on its `panic_on`-th tick.
struct Faulty {
    name: &'static str,
    ticks: u64,
    panic_on: u64,
}

impl Node for Faulty {
    fn name(&self) -> &str {
        self.name
    }
    fn tick(&mut self) {
        self.ticks += 1;
        assert!(self.ticks != self.panic_on, "{} fails", self.name);
    }
}

struct Actuator {
    ticks: u64,
    held: bool,
}

impl Node for Actuator {
    fn name(&self) -> &str {
        "Actuator"
    }

    fn init(&mut self) -> Result<()> {
        self.ticks = 0;
        say("init");
        Ok(())
    }

    fn shutdown(&mut self) -> Result<()> {
        say("shutdown");
        Ok(())
    }

    fn tick(&mut self) {
        self.ticks += 1;
        if self.ticks == 1 {
            say("ticking");
        }
        if self.held {
            self.held = false;
            say("resumed");
        }
    }

    fn safe_state(&mut self) {
        self.held = true;
        say("safe_state");
    }
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::run_child(|role, _| {
        if role == "leave_region" {
            // Makes a region and exits: nobody holds it afterwards.
            drop(Topic::<Heartbeat>::new("left.behind").unwrap());
            return;
        }
        let mut sched = Scheduler::new().tick_rate(200_u64.hz());
        sched
            .add(Actuator {
                ticks: 0,
                held: false,
            })
            .order(0)
            .build()
            .unwrap();
        match role {
            "scheduler" => sched.run().unwrap(),
            // A node whose panic is skipped (Error) and one stopped by it (Crashed).
            "faulty" => {
                let faulty = |name, panic_on| Faulty {
                    name,
                    ticks: 0,
                    panic_on,
                };
                sched
                    .add(faulty("flaky", 2))
                    .on_panic(FaultPolicy::Skip)
                    .build()
                    .unwrap();
                sched
                    .add(faulty("broken", 1))
                    .on_panic(FaultPolicy::Stop)
                    .build()
                    .unwrap();
                sched.run().unwrap();
            }
            // Runs a few ticks, shuts down, and lives on (holding nothing).
            "finish" => {
                sched.run_for(50_u64.ms()).unwrap();
                drop(sched);
                say("finished");
                loop {
                    std::thread::park();
                }
            }
            other => panic!("unknown role {other}"),
        }
    });
}

/// A node that only has a name.
struct Named(String);

impl Node for Named {
    fn name(&self) -> &str {
        &self.0
    }
    fn tick(&mut self) {}
}

/// Was a bug: a scheduler reported all its nodes through one lane of 128
/// records, so past 64 nodes the first ones were overwritten within one
/// report: never listed, and `horus node pause|kill NAME` said "no node".
/// Each 64 nodes have a lane of their own now.
#[test]
fn every_node_of_a_scheduler_of_hundreds_is_listed() {
    let ns = TestNs::new("sched_many");
    let mut sched = Scheduler::new().namespace(&ns.name).blackbox(false);
    for i in 0..200 {
        sched
            .add(Named(format!("n{i:03}")))
            .order(i)
            .build()
            .unwrap();
    }
    sched.tick_once().unwrap();
    let listed: std::collections::BTreeSet<String> = registry::list(Some(&ns.name))
        .unwrap()
        .into_iter()
        .filter(|n| n.pid == std::process::id())
        .map(|n| n.name)
        .collect();
    let all: std::collections::BTreeSet<String> = (0..200).map(|i| format!("n{i:03}")).collect();
    assert_eq!(
        listed,
        all,
        "missing: {:?}",
        all.difference(&listed).collect::<Vec<_>>()
    );
    sched.shutdown().unwrap();
}

/// A request naming a node longer than a request holds is refused: cut to
/// 48 bytes (here in the middle of a character, back to 47) it would name
/// another node, and kill that one's scheduler.
#[test]
fn a_request_for_a_name_too_long_to_send_is_refused_not_cut_to_another_node() {
    use horus::scheduler::{NodeState, SchedulerError};
    use horus::system::control::{self, ControlCommand};
    struct Named(String);
    impl Node for Named {
        fn name(&self) -> &str {
            &self.0
        }
        fn tick(&mut self) {}
    }
    let ns = TestNs::new("sched_control_long");
    let short = "a".repeat(47);
    let mut sched = Scheduler::new().namespace(&ns.name);
    sched.add(Named(short.clone())).build().unwrap();
    sched.tick_once().unwrap(); // joins the control topic
    let long = format!("{short}é"); // 49 bytes
    let refused = control::send(Some(&ns.name), &long, 0, ControlCommand::Kill, 1)
        .expect_err("a name no node can have");
    assert!(
        matches!(
            refused,
            horus::Error::Scheduler(SchedulerError::InvalidNodeName { .. })
        ),
        "{refused}"
    );
    sched.tick_once().unwrap();
    assert_eq!(sched.nodes()[0].state, NodeState::Running, "not killed");
    assert!(control::send(Some(&ns.name), "", 0, ControlCommand::Kill, 2).is_err());
    sched.shutdown().unwrap();
}

/// More requests between two rounds than the control topic holds: the
/// oldest are lost, and that is recorded, not silent.
#[test]
fn control_requests_lost_in_a_burst_are_recorded() {
    use horus::system::control::{self, ControlCommand};
    let ns = TestNs::new("sched_control_lost");
    let mut sched = actuator_following_control(&ns);
    control::send(Some(&ns.name), "Actuator", 0, ControlCommand::Pause, 1).unwrap();
    for id in 2..42 {
        control::send(Some(&ns.name), "nobody", 0, ControlCommand::Restart, id).unwrap();
    }
    sched.tick_once().unwrap();
    let lost = sched
        .anomalies()
        .iter()
        .find(|a| a.kind == AnomalyKind::NodeControl && a.detail.contains("lost"))
        .expect("the loss is recorded");
    assert!(lost.value >= 1, "{lost:?}");
    sched.shutdown().unwrap();
}

/// Panics on every tick.
struct Storm;

impl Node for Storm {
    fn name(&self) -> &str {
        "storm"
    }
    fn tick(&mut self) {
        panic!("storm fails");
    }
}

/// Restarted by its policy after each tick, the node is `Ready` whenever
/// the registry is written (each round's start): it is listed in error,
/// not as starting.
#[test]
fn a_node_restarted_after_every_tick_is_listed_in_error_not_starting() {
    use horus::scheduler::FaultPolicy;
    let ns = TestNs::new("sched_restart_storm");
    let mut sched = Scheduler::new().namespace(&ns.name).blackbox(false);
    sched
        .add(Storm)
        .on_panic(FaultPolicy::Restart)
        .build()
        .unwrap();
    sched.tick_once().unwrap(); // listed as starting, then panics
    // No state changed since: the next report is the periodic one.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    sched.tick_once().unwrap();
    let listed = registry::list(Some(&ns.name)).unwrap();
    let storm = listed.iter().find(|n| n.name == "storm").expect("listed");
    assert_eq!(storm.state, Some(NodeStatus::Error));
    sched.shutdown().unwrap();
}
