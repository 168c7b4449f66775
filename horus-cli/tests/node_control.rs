//! `horus node pause|resume|restart|kill`: a node of another process
//! (a scheduler started by this test) is controlled through the namespace's
//! control topic, the registry shows each new state, the blackbox records
//! each action; unknown and ambiguous names are errors that say the fix.
//! A SIGKILLed process's nodes show as crashed, and its death is in the
//! blackbox.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::{Running, TestNs, start_role, text};
use serde_json::Value;

/// Seconds; only catches hangs.
const T: u64 = 30;

#[test]
#[ignore = "child process entry point; run by the parent tests"]
fn child_main() {
    match std::env::var("HORUS_TEST_ROLE").as_deref() {
        Ok("listed_only") => listed_only(),
        Ok("claims_pid") => claims_pid(),
        _ => {}
    }
    common::child_main();
}

/// A process that lists a node named `HORUS_TEST_TOPIC` in the registry as
/// running but has no scheduler to answer a request; SIGTERM ends it.
fn listed_only() -> ! {
    use horus::system::registry::{NodeFigures, NodeReport, NodeStatus, Registry};
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .expect("prctl");
    let name = std::env::var("HORUS_TEST_TOPIC").expect("node name");
    let mut registry = Registry::open(None).expect("registry");
    registry.report(
        0,
        &NodeReport {
            name: &name,
            state: NodeStatus::Running,
            figures: NodeFigures {
                rate_hz: 10.0,
                ticks: 1,
                ..NodeFigures::default()
            },
        },
    );
    println!("\n@@ready {}", std::process::id());
    loop {
        std::thread::park();
    }
}

/// A process that lists a node named `HORUS_TEST_TOPIC` as running with
/// pid `HORUS_TEST_CLAIMED_PID`, which is not its own, under a liveness
/// token naming that pid whose lock it holds itself: what a scheduler in
/// another pid namespace (a container sharing `/dev/shm`, `unshare --pid`)
/// looks like here, its pid there being the number of an unrelated
/// process here. It never answers a request; SIGTERM ends it.
fn claims_pid() -> ! {
    use std::os::unix::fs::OpenOptionsExt;

    use horus::prelude::Topic;
    use horus::shm::{Namespace, liveness};
    use horus::system::registry::{NodeRecord, NodeStatus, REGISTRY_TOPIC, Registry};
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .expect("prctl");
    let name = std::env::var("HORUS_TEST_TOPIC").expect("node name");
    let claimed: u32 = std::env::var("HORUS_TEST_CLAIMED_PID")
        .expect("claimed pid")
        .parse()
        .expect("a pid");
    // The registry made as every scheduler makes it (and our own liveness file).
    let _registry = Registry::open(None).expect("registry");
    let ns = Namespace::open(&Namespace::current_name().expect("namespace")).expect("open");
    // The liveness file of the claimed token, made as liveness makes one:
    // locked under a temporary name, then linked into place.
    let token = u64::from(claimed) << 32 | 0x5eed_0001;
    let proc_dir = ns.path().join("proc");
    let tmp = proc_dir.join(format!(".init.{claimed}-5eed0001.0"));
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .expect("temporary liveness file");
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).expect("flock");
    let file_name = liveness::lock_file_name(horus_nostd::OwnerToken::new(token).expect("token"));
    std::fs::hard_link(&tmp, proc_dir.join(file_name)).expect("liveness file");
    std::fs::remove_file(&tmp).expect("temporary name removed");
    let records: Topic<NodeRecord> = Topic::builder(REGISTRY_TOPIC).build().expect("registry");
    let mut node_name = [0u8; 48];
    node_name[..name.len()].copy_from_slice(name.as_bytes());
    records.send(NodeRecord {
        timestamp_ns: horus::time::now_ns(),
        owner: token,
        ticks: 1,
        deadline_misses: 0,
        overruns: 0,
        cpu_ns: 0,
        rss_bytes: 0,
        rate_hz: 10.0,
        measured_hz: 10.0,
        pid: claimed,
        state: NodeStatus::Running as u32,
        order: 0,
        _pad: 0,
        name: node_name,
    });
    println!("\n@@ready {}", std::process::id());
    loop {
        std::thread::park();
    }
}

/// `horus node list --json`.
fn nodes(ns: &TestNs) -> Vec<Value> {
    let out = ns.run(&["node", "list", "--json"], T);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The state `node list` shows for node `name` of process `pid`.
fn state_of(ns: &TestNs, name: &str, pid: u32) -> Option<String> {
    nodes(ns)
        .into_iter()
        .find(|n| n["name"] == name && n["pid"] == pid)
        .and_then(|n| n["state"].as_str().map(str::to_owned))
}

fn wait_state(ns: &TestNs, name: &str, pid: u32, state: &str) {
    common::wait_until(T, &format!("{name} (pid {pid}) listed {state}"), || {
        state_of(ns, name, pid).as_deref() == Some(state)
    });
}

/// `horus node ARGS --json`, successful; its document.
fn control(ns: &TestNs, args: &[&str]) -> Value {
    let mut all = vec!["node"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = ns.run(&all, T);
    assert!(
        out.status.success(),
        "horus {all:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Waits (at most `T` s) for the child to exit; its exit code.
fn exit_code(child: &mut Running) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(T);
    loop {
        if let Some(status) = child.child.try_wait().expect("try_wait") {
            return status.code();
        }
        assert!(Instant::now() < deadline, "the child did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn failed(out: &Output, code: i32, words: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}{}", text(&out.stdout));
    for w in words {
        assert!(err.contains(w), "{w:?} not in: {err}");
    }
}

#[test]
fn a_node_of_another_process_is_paused_resumed_restarted_and_killed() {
    let ns = TestNs::new("node_ctl");
    let mut child = start_role("schedule", &ns.name, "Pump");
    let pid = child.child.id();
    wait_state(&ns, "Pump", pid, "Running");

    let doc = control(&ns, &["pause", "Pump"]);
    assert_eq!(doc["action"], "pause");
    assert_eq!(doc["state"], "Paused");
    assert_eq!(doc["pid"], pid);
    assert_eq!(doc["sigterm"], false);
    assert_eq!(state_of(&ns, "Pump", pid).as_deref(), Some("Paused"));
    let listed = ns.run(&["node", "list"], T);
    assert!(
        text(&listed.stdout).contains("Paused"),
        "{}",
        text(&listed.stdout)
    );

    assert_eq!(control(&ns, &["resume", "Pump"])["state"], "Running");
    // Ticking again: the count grows past what it was when paused.
    let ticks = |ns: &TestNs| {
        nodes(ns)
            .into_iter()
            .find(|n| n["name"] == "Pump")
            .and_then(|n| n["ticks"].as_u64())
            .unwrap_or(0)
    };
    common::wait_until(T, "Pump ticking again", || ticks(&ns) > 0);

    let doc = control(&ns, &["restart", "Pump", "--pid", &pid.to_string()]);
    assert_eq!(doc["action"], "restart");
    wait_state(&ns, "Pump", pid, "Running");

    let doc = control(&ns, &["kill", "Pump"]);
    assert_eq!(doc["sigterm"], false, "{doc}");
    assert_eq!(
        exit_code(&mut child),
        Some(0),
        "run() returns Ok after a kill"
    );
    assert_eq!(
        state_of(&ns, "Pump", pid),
        None,
        "a killed process's nodes leave the list"
    );

    let bb = ns.run(&["bb", "--json"], T);
    let bb: Value = serde_json::from_slice(&bb.stdout).expect("json");
    let done: Vec<String> = bb["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["kind"] == "node_control" && r["pid"] == pid)
        .map(|r| r["detail"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(done.len(), 4, "{done:?}");
    for (d, word) in done
        .iter()
        .zip(["paused", "resumed", "restarted", "stopping"])
    {
        assert!(d.starts_with(word), "{d}");
        assert!(d.contains("at the request of pid "), "{d}");
    }
}

#[test]
fn an_unknown_node_is_exit_1_and_a_name_in_two_processes_needs_pid() {
    let ns = TestNs::new("node_ctl_names");
    let mut a = start_role("schedule", &ns.name, "Twin");
    let mut b = start_role("schedule", &ns.name, "Twin");
    let (pa, pb) = (a.child.id(), b.child.id());
    wait_state(&ns, "Twin", pa, "Running");
    wait_state(&ns, "Twin", pb, "Running");

    let out = ns.run(&["node", "pause", "Nope"], T);
    failed(&out, 1, &["no node Nope", "horus node list"]);
    let out = ns.run(&["node", "pause", "Twin"], T);
    failed(&out, 2, &["Twin runs in 2 processes", "--pid"]);
    let out = ns.run(&["node", "pause", "Twin", "--pid", "1"], T);
    failed(&out, 1, &["no node Twin with pid 1", &pa.to_string()]);
    let out = ns.run(&["node", "pause", "Twin", "--timeout", "0"], T);
    failed(&out, 2, &["--timeout 0"]);

    // --pid: only that process acts.
    let doc = control(&ns, &["pause", "Twin", "--pid", &pb.to_string()]);
    assert_eq!(doc["state"], "Paused");
    assert_eq!(state_of(&ns, "Twin", pa).as_deref(), Some("Running"));

    // A process that does not answer (stopped): the wait ends with the
    // sentence naming the node and what was not seen.
    let _ = std::process::Command::new("kill")
        .args(["-STOP", &pa.to_string()])
        .status();
    let out = ns.run(
        &[
            "node",
            "pause",
            "Twin",
            "--pid",
            &pa.to_string(),
            "--timeout",
            "0.3",
        ],
        T,
    );
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &pa.to_string()])
        .status();
    failed(
        &out,
        1,
        &[
            &format!("node Twin (pid {pa}) was not seen Paused"),
            "shows Running",
        ],
    );
    // The request was not lost: carried out once the process runs again.
    wait_state(&ns, "Twin", pa, "Paused");

    for (child, pid) in [(&mut a, pa), (&mut b, pb)] {
        control(&ns, &["kill", "Twin", "--pid", &pid.to_string()]);
        assert_eq!(exit_code(child), Some(0));
    }
}

#[test]
fn kill_falls_back_to_sigterm_when_no_scheduler_answers() {
    let ns = TestNs::new("node_ctl_term");
    let mut child = start_role("listed_only", &ns.name, "Ghost");
    let pid = child.child.id();
    wait_state(&ns, "Ghost", pid, "Running");
    let doc = control(&ns, &["kill", "Ghost", "--timeout", "0.3"]);
    assert_eq!(doc["sigterm"], true, "{doc}");
    assert_eq!(exit_code(&mut child), None, "ended by SIGTERM");
    // Neither can it be paused: the timeout names what was not seen.
    let mut other = start_role("listed_only", &ns.name, "Mute");
    let out = ns.run(&["node", "pause", "Mute", "--timeout", "0.2"], T);
    failed(
        &out,
        1,
        &[
            &format!("node Mute (pid {}) was not seen Paused", other.child.id()),
            "within 200ms",
        ],
    );
    let _ = other.stop("TERM", T);
}

#[test]
fn kill_never_signals_a_pid_that_is_not_the_nodes_process_here() {
    let ns = TestNs::new("node_ctl_alien");
    // An unrelated process whose pid the node's registry entry claims.
    let mut bystander = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("sleep");
    let pid = bystander.id();
    let mut cmd = common::child_command("claims_pid", &ns.name, &[]);
    cmd.env("HORUS_TEST_TOPIC", "Alien")
        .env("HORUS_TEST_CLAIMED_PID", pid.to_string());
    let mut child = Running::start(cmd);
    child.expect("@@ready", T);
    wait_state(&ns, "Alien", pid, "Running");
    let out = ns.run(&["node", "kill", "Alien", "--timeout", "0.3"], T);
    failed(
        &out,
        1,
        &[
            &format!("its pid {pid} is unknown here (another pid namespace?"),
            "nothing was signalled",
        ],
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        bystander.try_wait().expect("try_wait").is_none(),
        "the unrelated process was signalled"
    );
    // Nor is it named by that process's program.
    let out = ns.run(&["node", "info", "Alien"], T);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("pid unknown here"), "{shown}");
    assert!(!shown.contains("sleep"), "{shown}");
    let _ = bystander.kill();
    let _ = bystander.wait();
    let _ = child.stop("TERM", T);
}

/// `horus node list --json` rows for node `name`: (state, pid, alive).
fn node_rows(ns: &TestNs, name: &str) -> Vec<(String, u64, bool)> {
    let out = ns.run(&["node", "list", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v.as_array()
        .expect("array")
        .iter()
        .filter(|n| n["name"] == name)
        .map(|n| {
            (
                n["state"].as_str().unwrap_or_default().to_owned(),
                n["pid"].as_u64().unwrap_or_default(),
                n["alive"].as_bool().unwrap_or(true),
            )
        })
        .collect()
}

/// Waits (up to `T` seconds) until `node_rows(ns, name)` is `want`.
fn wait_rows(ns: &TestNs, name: &str, want: &[(String, u64, bool)]) {
    common::wait_until(T, &format!("{name} listed as {want:?}"), || {
        node_rows(ns, name) == want
    });
}

#[test]
fn a_sigkilled_process_shows_crashed_and_its_death_is_in_the_blackbox() {
    let ns = TestNs::new("sigkilled");
    let mut child = common::start_role("schedule", &ns.name, "Ticker");
    let pid = u64::from(child.child.id());
    wait_rows(&ns, "Ticker", &[("Running".to_owned(), pid, true)]);
    child.child.kill().expect("SIGKILL");
    child.child.wait().expect("reap");
    // Learned through liveness: listed as Crashed with its pid, not forgotten.
    assert_eq!(
        node_rows(&ns, "Ticker"),
        [("Crashed".to_owned(), pid, false)]
    );
    let out = ns.run(&["node", "list"], 30);
    let table = text(&out.stdout);
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.contains("Ticker") && l.contains("Crashed") && l.contains(&pid.to_string()))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .collect();
    // NODE PID STATE RATE MEAS.: a process gone has no measured rate.
    assert_eq!(row.get(4), Some(&"-"), "{table}");
    // The blackbox recorded the death once, with the dead process's pid.
    for _ in 0..2 {
        let (deaths, v) = common::bb_records(&ns, &["bb", "--anomalies"], "process_died");
        assert_eq!(deaths.len(), 1, "{v}");
        assert_eq!(deaths[0]["pid"].as_u64(), Some(pid), "{v}");
        assert_eq!(deaths[0]["node"], "Ticker", "{v}");
    }
    // A restarted node of that name replaces the crashed entry.
    let mut again = common::start_role("schedule", &ns.name, "Ticker");
    let pid2 = u64::from(again.child.id());
    wait_rows(&ns, "Ticker", &[("Running".to_owned(), pid2, true)]);
    // Stopped cleanly (SIGTERM: the scheduler shuts down): not a death.
    again.assert_stops_on_sigterm();
    assert!(
        node_rows(&ns, "Ticker").is_empty(),
        "{:?}",
        node_rows(&ns, "Ticker")
    );
    let (deaths, v) = common::bb_records(&ns, &["bb"], "process_died");
    assert_eq!(deaths.len(), 1, "{v}");
    let out = ns.run(&["clean", "--shm", "--blackbox"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
