//! The namespace's system topics across processes: e-stop, blackbox, registry.

mod common;

use std::io::{BufRead, BufReader};

use common::{TestNs, spawn_child};
use horus::system::blackbox::{self, AnomalyKind, Blackbox};
use horus::system::estop::{self, EstopEvent, EstopMonitor};
use horus::system::registry::{self, NodeFigures, NodeReport, NodeStatus, Registry};

/// Waits for the child to print `line` on stdout.
fn wait_line(child: &mut std::process::Child, line: &str) {
    let out = child.stdout.as_mut().expect("piped stdout");
    let mut reader = BufReader::new(out);
    let mut buf = String::new();
    loop {
        buf.clear();
        assert!(
            reader.read_line(&mut buf).unwrap() > 0,
            "child exited before {line:?}"
        );
        // libtest prints "test child_main ... " before the child's first line.
        if buf.trim_end().ends_with(line) {
            return;
        }
    }
}

#[test]
fn an_estop_raised_in_another_process_is_seen_and_outlives_its_raiser() {
    let ns = TestNs::new("estop");
    let mut monitor = EstopMonitor::open(Some(&ns.name)).unwrap();
    assert!(!monitor.engaged());
    let mut child = spawn_child("raise", &ns.name, &[]);
    assert!(child.wait().unwrap().success());
    assert_eq!(
        monitor.poll(),
        Some(EstopEvent::Raised {
            reason: "test raise".into()
        })
    );
    // A monitor started after the raiser exited starts engaged.
    assert_eq!(
        estop::state(Some(&ns.name)).unwrap().as_deref(),
        Some("test raise")
    );
    // Auto-clean keeps the e-stop even though no process holds it now.
    drop(monitor);
    assert_eq!(
        estop::state(Some(&ns.name)).unwrap().as_deref(),
        Some("test raise")
    );
    estop::clear(Some(&ns.name)).unwrap();
    assert_eq!(estop::state(Some(&ns.name)).unwrap(), None);
}

/// An e-stop message stamped `timestamp_ns`, as any program may publish one.
fn forged(timestamp_ns: u64, engaged: bool, reason: &str) -> horus::msgs::EmergencyStop {
    let mut m = horus::msgs::EmergencyStop {
        timestamp_ns,
        engaged: u8::from(engaged),
        ..Default::default()
    };
    m.reason[..reason.len()].copy_from_slice(reason.as_bytes());
    m
}

/// Was: the e-stop's state is its newest message by stamp, and a message
/// stamped in the future (a program, or `horus topic pub`, writing
/// wall-clock time) outranked every later raise and clear: a raise stopped
/// nothing, a clear reported done did not clear. A raise and a clear now
/// outrank every message the topic retains.
#[test]
fn a_raise_and_a_clear_outrank_messages_stamped_in_the_future() {
    let ns = TestNs::new("estop_future");
    let mut monitor = EstopMonitor::open(Some(&ns.name)).unwrap();
    let forger = horus::Topic::<horus::msgs::EmergencyStop>::builder(estop::ESTOP_TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    let wall_clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(
        wall_clock > horus::time::now_ns(),
        "the monotonic clock is ahead of the wall clock"
    );
    forger.send(forged(wall_clock, false, "forged clear"));
    assert_eq!(monitor.poll(), None, "a clear while clear changes nothing");
    estop::raise(Some(&ns.name), "after a forged clear").unwrap();
    let raised = EstopEvent::Raised {
        reason: "after a forged clear".into(),
    };
    assert_eq!(monitor.poll(), Some(raised));
    assert_eq!(
        estop::state(Some(&ns.name)).unwrap().as_deref(),
        Some("after a forged clear")
    );
    forger.send(forged(wall_clock + 1_000, true, "forged raise"));
    estop::clear(Some(&ns.name)).unwrap();
    assert_eq!(monitor.poll(), Some(EstopEvent::Cleared));
    assert_eq!(estop::state(Some(&ns.name)).unwrap(), None);
    // Of two messages with the same stamp, the raise wins (read first here).
    forger.send(forged(u64::MAX, true, "end raise"));
    forger.send(forged(u64::MAX, false, "end clear"));
    let raised = EstopEvent::Raised {
        reason: "end raise".into(),
    };
    assert_eq!(monitor.poll(), Some(raised));
    assert_eq!(
        estop::state(Some(&ns.name)).unwrap().as_deref(),
        Some("end raise")
    );
}

/// Was: the registry lists a node by its newest record, and a record
/// stamped in the future (forged with a wall-clock `timestamp_ns`) stood
/// for the node for good, whatever its scheduler reported after. A record
/// stamped later than the reader's clock is not a scheduler's: not listed.
#[test]
fn a_registry_record_stamped_in_the_future_is_not_listed() {
    let ns = TestNs::new("regfuture");
    let mut reg = Registry::open(Some(&ns.name)).unwrap();
    let report = |reg: &mut Registry, ticks| {
        let figures = NodeFigures {
            ticks,
            ..NodeFigures::default()
        };
        let state = NodeStatus::Running;
        reg.report(
            0,
            &NodeReport {
                name: "gamma",
                state,
                figures,
            },
        );
    };
    report(&mut reg, 1);
    let topic = horus::Topic::<registry::NodeRecord>::builder(registry::REGISTRY_TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    topic.rewind();
    let mut forged = topic.recv().expect("the record just reported");
    forged.timestamp_ns = u64::MAX / 2;
    forged.ticks = 666;
    topic.send(forged);
    report(&mut reg, 2);
    let nodes = registry::list(Some(&ns.name)).unwrap();
    let ticks: Vec<_> = nodes
        .iter()
        .map(|n| (n.name.as_str(), n.figures.ticks))
        .collect();
    assert_eq!(ticks, [("gamma", 2)]);
}

#[test]
fn a_blackbox_record_survives_a_kill_of_its_writer() {
    let ns = TestNs::new("blackbox");
    let mut child = spawn_child("record_then_wait", &ns.name, &[]);
    wait_line(&mut child, "recorded");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let dump = blackbox::read(Some(&ns.name)).unwrap();
    let mine: Vec<_> = dump.entries.iter().filter(|e| e.node == "victim").collect();
    assert_eq!(mine.len(), 1, "{:?}", dump.entries);
    assert_eq!(mine[0].kind, Some(AnomalyKind::BudgetOverrun));
    assert_eq!(mine[0].detail, "tick took 3 ms");
    assert_eq!(mine[0].value, 3_000_000);
    assert_eq!(mine[0].pid, child.id());
    assert_eq!(dump.overwritten, 0);
}

#[test]
fn the_blackbox_is_bounded_and_counts_what_it_overwrote() {
    let ns = TestNs::new("bbbound");
    let bb = Blackbox::open(Some(&ns.name)).unwrap();
    let n = u64::from(blackbox::RECORDS_PER_WRITER) + 10;
    for i in 0..n {
        bb.record(AnomalyKind::DeadlineMiss, "n", "late", i);
    }
    let dump = blackbox::read(Some(&ns.name)).unwrap();
    assert_eq!(dump.entries.len() as u64 + dump.overwritten, n);
    assert!(dump.entries.len() as u64 <= u64::from(blackbox::RECORDS_PER_WRITER));
    assert_eq!(dump.entries.last().unwrap().value, n - 1);
    drop(bb);
}

#[test]
fn the_registry_lists_nodes_of_other_processes_and_shows_killed_ones_crashed() {
    let ns = TestNs::new("registry");
    let mut a = spawn_child("register", &ns.name, &["alpha"]);
    let mut b = spawn_child("register", &ns.name, &["beta"]);
    wait_line(&mut a, "registered");
    wait_line(&mut b, "registered");
    let nodes = registry::list(Some(&ns.name)).unwrap();
    let names: Vec<(&str, u32)> = nodes.iter().map(|n| (n.name.as_str(), n.pid)).collect();
    assert!(names.contains(&("alpha", a.id())), "{names:?}");
    assert!(names.contains(&("beta", b.id())), "{names:?}");
    assert!(
        nodes
            .iter()
            .all(|n| n.state == Some(NodeStatus::Running) && n.rss_bytes > 0)
    );
    a.kill().unwrap();
    a.wait().unwrap();
    // Its death is learned through liveness: Crashed, with its pid.
    let nodes = registry::list(Some(&ns.name)).unwrap();
    let alpha: Vec<_> = nodes.iter().filter(|n| n.pid == a.id()).collect();
    assert_eq!(alpha.len(), 1, "{nodes:?}");
    assert_eq!(alpha[0].state, Some(NodeStatus::Crashed), "{nodes:?}");
    assert!(!alpha[0].alive, "{nodes:?}");
    assert!(
        nodes
            .iter()
            .any(|n| n.pid == b.id() && n.alive && n.state == Some(NodeStatus::Running))
    );
    // Recorded in the blackbox once, with the dead process's pid.
    let new = registry::record_deaths(Some(&ns.name)).unwrap();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(registry::record_deaths(Some(&ns.name)).unwrap().is_empty());
    let dump = horus::system::blackbox::read(Some(&ns.name)).unwrap();
    assert!(
        dump.entries
            .iter()
            .any(|e| e.kind == Some(AnomalyKind::ProcessDied)
                && e.pid == a.id()
                && e.node == "alpha"),
        "{:?}",
        dump.entries
    );
    b.kill().unwrap();
    b.wait().unwrap();
}

#[test]
fn a_participant_found_dead_is_recorded_in_the_blackbox() {
    let ns = TestNs::new("deadrec");
    let open = || -> horus::Topic<horus::msgs::Heartbeat> {
        horus::Topic::builder("beat")
            .namespace(&ns.name)
            .build()
            .unwrap()
    };
    // We hold the topic throughout: a region nobody holds would simply be
    // removed as stale by the next first use of the namespace.
    let _held = open();
    let mut child = spawn_child("hold_topic", &ns.name, &[]);
    wait_line(&mut child, "holding");
    child.kill().unwrap();
    child.wait().unwrap();
    // Joining reclaims the dead child's handle, and says so.
    drop(open());
    let dump = blackbox::read(Some(&ns.name)).unwrap();
    let dead: Vec<_> = dump
        .entries
        .iter()
        .filter(|e| e.kind == Some(AnomalyKind::ParticipantDead))
        .collect();
    assert_eq!(dead.len(), 1, "{:?}", dump.entries);
    assert!(dead[0].detail.contains("topic beat"), "{:?}", dead[0]);
    assert_eq!(dead[0].value, 1);
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    // A child that parks forever must not outlive a test that failed.
    common::run_child(|role, args| match role {
        "raise" => estop::raise(None, "test raise").unwrap(),
        "hold_topic" => {
            let _t: horus::Topic<horus::msgs::Heartbeat> = horus::Topic::new("beat").unwrap();
            println!("holding");
            loop {
                std::thread::park();
            }
        }
        "record_then_wait" => {
            let bb = Blackbox::open(None).unwrap();
            bb.record(
                AnomalyKind::BudgetOverrun,
                "victim",
                "tick took 3 ms",
                3_000_000,
            );
            println!("recorded");
            loop {
                std::thread::park();
            }
        }
        "register" => {
            let mut reg = Registry::open(None).unwrap();
            reg.report(
                0,
                &NodeReport {
                    name: &args[0],
                    state: NodeStatus::Running,
                    figures: NodeFigures {
                        rate_hz: 100.0,
                        measured_hz: 99.5,
                        ticks: 42,
                        cpu_ns: 1000,
                        ..NodeFigures::default()
                    },
                },
            );
            println!("registered");
            loop {
                std::thread::park();
            }
        }
        other => panic!("unknown role {other}"),
    });
}

#[test]
fn the_estop_has_room_for_more_followers_than_an_ordinary_topic() {
    let ns = TestNs::new("estopmany");
    // Every scheduler holds a monitor for its whole life; 40 of them (an
    // ordinary topic has room for 16 handles) must all see a raise.
    let mut monitors: Vec<EstopMonitor> = (0..40)
        .map(|_| EstopMonitor::open(Some(&ns.name)).expect("room for another follower"))
        .collect();
    estop::raise(Some(&ns.name), "many followers").unwrap();
    for m in &mut monitors {
        m.poll();
        assert!(m.engaged());
    }
    assert_eq!(
        estop::state(Some(&ns.name)).unwrap().as_deref(),
        Some("many followers")
    );
}
