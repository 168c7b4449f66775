//! SIGINT and SIGTERM stop a real child process's scheduler and run every
//! node's `shutdown` (in reverse order), even that of a node that panicked;
//! the child then exits normally. Its overrun reached the blackbox.

mod common;

use common::{Peer, TestNs};
use horus::prelude::*;
use horus::system::blackbox::{self, AnomalyKind};

/// A node of the child: says when it ticked first, and says its shutdown.
struct Announcer {
    name: String,
    ticks: u64,
    panic_on_tick: Option<u64>,
    work: Duration,
}

impl Node for Announcer {
    fn name(&self) -> &str {
        &self.name
    }
    fn tick(&mut self) {
        self.ticks += 1;
        if self.ticks == 1 {
            common::say(&format!("ticking {}", self.name));
        }
        std::thread::sleep(self.work);
        if self.panic_on_tick == Some(self.ticks) {
            common::say(&format!("crashing {}", self.name));
            panic!("{} gives up", self.name);
        }
    }
    fn shutdown(&mut self) -> Result<()> {
        common::say(&format!("shutdown {} {}", self.name, self.ticks));
        Ok(())
    }
}

fn child_scheduler() -> Result<()> {
    let mut sched = Scheduler::new().tick_rate(200_u64.hz());
    let node = |name: &str| Announcer {
        name: name.to_owned(),
        ticks: 0,
        panic_on_tick: None,
        work: Duration::ZERO,
    };
    sched.add(node("sensor")).order(0).build()?;
    let mut crashy = node("crashy");
    crashy.panic_on_tick = Some(2);
    sched.add(crashy).order(1).build()?;
    let mut slow = node("slow");
    slow.work = 2_u64.ms();
    sched.add(slow).order(2).budget(1_u64.ms()).build()?;
    sched.add(node("actuator")).order(3).build()?;
    sched.run()?;
    common::say("returned ok");
    Ok(())
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::run_child(|role, _| match role {
        "scheduler" => {
            if let Err(e) = child_scheduler() {
                common::say(&format!("returned error {e}"));
                std::process::exit(1);
            }
        }
        "unprivileged_realtime" => unprivileged_realtime(),
        other => panic!("unknown role {other}"),
    });
}

/// Gives up every way to real-time priority (an rtprio limit of 0; as root,
/// becomes `nobody`, which drops CAP_SYS_NICE), then asks for it.
fn unprivileged_realtime() {
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit on our stack, only read by the call.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_RTPRIO, &limit) }, 0);
    // SAFETY: geteuid has no preconditions and touches no memory.
    if unsafe { libc::geteuid() } == 0 {
        // SAFETY: setgid/setuid take a plain id and touch no memory of ours
        // (glibc applies the change to every thread of the process).
        let (gid, uid) = unsafe { (libc::setgid(65534), libc::setuid(65534)) };
        assert_eq!((gid, uid), (0, 0), "setgid/setuid(nobody)");
    }
    // No shared memory: nothing of the namespace is this user's.
    let mut sched = Scheduler::new()
        .tick_rate(100_u64.hz())
        .realtime(50)
        .system_topics(false)
        .blackbox(false);
    let node = Announcer {
        name: "rt".to_owned(),
        ticks: 0,
        panic_on_tick: None,
        work: Duration::ZERO,
    };
    sched.add(node).build().unwrap();
    match sched.run_for(10_u64.ms()) {
        Err(e) => common::say(&format!("refused {e}")),
        Ok(()) => common::say("granted"),
    }
}

#[test]
fn realtime_without_the_privilege_is_a_clear_error() {
    let ns = TestNs::new("sched_rt");
    let mut child = Peer::spawn("unprivileged_realtime", &ns.name, &[]);
    let said = child.expect("refused", 30).join(" ");
    assert!(
        said.contains("real-time priority 50") && said.contains("CAP_SYS_NICE"),
        "{said}"
    );
    child.wait_success(30);
}

fn stop_child_with(signal: rustix::process::Signal) {
    let ns = TestNs::new("sched_signal");
    let mut child = Peer::spawn("scheduler", &ns.name, &[]);
    let mut ticking: Vec<String> = (0..4)
        .map(|_| child.expect("ticking", 30)[0].clone())
        .collect();
    ticking.sort();
    assert_eq!(ticking, ["actuator", "crashy", "sensor", "slow"]);
    child.expect("crashing", 30);
    let pid = rustix::process::Pid::from_child(&child.child);
    rustix::process::kill_process(pid, signal).expect("signal the child");

    let mut order = Vec::new();
    for _ in 0..4 {
        let rest = child.expect("shutdown", 30);
        order.push(rest[0].clone());
    }
    assert_eq!(order, ["actuator", "slow", "crashy", "sensor"]);
    child.expect("returned", 30);
    child.wait_success(30);

    let dump = blackbox::read(Some(&ns.name)).expect("read the blackbox");
    let kinds_of = |node: &str| -> Vec<AnomalyKind> {
        dump.entries
            .iter()
            .filter(|e| e.node == node)
            .filter_map(|e| e.kind)
            .collect()
    };
    assert!(kinds_of("slow").contains(&AnomalyKind::BudgetOverrun));
    assert!(kinds_of("crashy").contains(&AnomalyKind::NodePanic));
}

#[test]
fn sigint_runs_every_shutdown() {
    stop_child_with(rustix::process::Signal::INT);
}

#[test]
fn sigterm_runs_every_shutdown() {
    stop_child_with(rustix::process::Signal::TERM);
}
