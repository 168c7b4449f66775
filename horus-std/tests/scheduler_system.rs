//! A scheduler in one process follows the e-stop raised in another, and
//! lists its nodes in the registry.

mod common;

use std::io::{BufRead, BufReader, Lines};
use std::process::ChildStdout;

use common::{TestNs, spawn_child};
use horus::prelude::*;
use horus::system::blackbox::{self, AnomalyKind};
use horus::system::estop;
use horus::system::registry::{self, NodeState};

fn next_line(lines: &mut Lines<BufReader<ChildStdout>>, want: &str) {
    for line in lines.by_ref() {
        // libtest prints "test child_main ... " before the child's first line.
        if line.unwrap().trim_end().ends_with(want) {
            return;
        }
    }
    panic!("child exited before printing {want:?}");
}

#[test]
fn an_estop_from_another_process_holds_and_resumes_a_scheduler() {
    let ns = TestNs::new("sched_estop");
    let mut child = spawn_child("scheduler", &ns.name, &[]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    next_line(&mut lines, "ticking");

    // The registry shows the node, running, from the other process.
    common::wait_until(30, "the node in the registry", || {
        registry::list(Some(&ns.name)).unwrap().iter().any(|n| {
            n.name == "Actuator" && n.pid == child.id() && n.state == Some(NodeState::Running)
        })
    });

    estop::raise(Some(&ns.name), "operator pressed the button").unwrap();
    next_line(&mut lines, "safe_state");
    common::wait_until(30, "the node listed as stopped", || {
        registry::list(Some(&ns.name))
            .unwrap()
            .iter()
            .any(|n| n.name == "Actuator" && n.state == Some(NodeState::Stopped))
    });

    estop::clear(Some(&ns.name)).unwrap();
    next_line(&mut lines, "resumed");

    child.kill().unwrap();
    child.wait().unwrap();
    let records = blackbox::read(Some(&ns.name)).unwrap().entries;
    let kinds: Vec<_> = records
        .iter()
        .filter(|r| r.pid == child.id())
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
    // The killed process is forgotten.
    assert!(registry::list(Some(&ns.name)).unwrap().is_empty());
}

#[test]
fn a_scheduler_started_during_an_estop_starts_held() {
    let ns = TestNs::new("sched_estop_first");
    estop::raise(Some(&ns.name), "before start").unwrap();
    let mut child = spawn_child("scheduler", &ns.name, &[]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // init runs, but the first tick waits for the clear.
    next_line(&mut lines, "init");
    common::wait_until(30, "the node listed as stopped", || {
        registry::list(Some(&ns.name))
            .unwrap()
            .iter()
            .any(|n| n.name == "Actuator" && n.state == Some(NodeState::Stopped))
    });
    estop::clear(Some(&ns.name)).unwrap();
    next_line(&mut lines, "ticking");
    child.kill().unwrap();
    child.wait().unwrap();
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
        println!("init");
        Ok(())
    }

    fn tick(&mut self) {
        self.ticks += 1;
        if self.ticks == 1 {
            println!("ticking");
        }
        if self.held {
            self.held = false;
            println!("resumed");
        }
    }

    fn safe_state(&mut self) {
        self.held = true;
        println!("safe_state");
    }
}

#[test]
#[ignore = "run as a child by the tests above"]
fn child_main() {
    let Some((role, _)) = common::child_role() else {
        return;
    };
    assert_eq!(role, "scheduler");
    let mut sched = Scheduler::new().tick_rate(200_u64.hz());
    sched
        .add(Actuator {
            ticks: 0,
            held: false,
        })
        .order(0)
        .build()
        .unwrap();
    sched.run().unwrap();
}
