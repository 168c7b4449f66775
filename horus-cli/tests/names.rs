//! Names, not PIDs: `horus topic info`, `horus node info`, `node list`'s
//! CPU %, `horus ns list` and `topic list -v`'s process names, against live
//! schedulers (`talker`, `subscriber_node`) and a plain subscriber
//! (`listen`) in a namespace of their own; an invalid namespace is one usage
//! error that names where it came from.

mod common;

use common::{Running, TestNs, publisher, start_role, text, wait_until};
use serde_json::Value;

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::child_main();
}

fn pid_of(r: &mut Running) -> u64 {
    r.expect("@@ready", 30)
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("pid after @@ready")
}

/// `horus ARGS --json` in `ns`, parsed (`Value::Null` if it failed).
fn json(ns: &TestNs, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = ns.run(&all, 30);
    if !out.status.success() {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn pids(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().filter_map(|p| p["pid"].as_u64()).collect())
        .unwrap_or_default()
}

/// The `topic list --json` row of `topic`.
fn topic_row(ns: &TestNs, topic: &str) -> Value {
    json(ns, &["topic", "list", "--verbose"])["topics"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == topic).cloned())
        .unwrap_or(Value::Null)
}

/// Waits until the registry lists `node` (alive) and returns its row.
fn wait_node(ns: &TestNs, node: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let mut row = Value::Null;
    wait_until(30, &format!("node {node} in node list"), || {
        row = json(ns, &["node", "list"])
            .as_array()
            .and_then(|a| a.iter().find(|n| n["name"] == node).cloned())
            .unwrap_or(Value::Null);
        !row.is_null() && cond(&row)
    });
    row
}

#[test]
fn topic_info_and_list_name_publishers_subscribers_and_holders() {
    let ns = TestNs::new("topicinfo");
    let mut talker = start_role("talker", &ns.name, "wheel.encoders");
    let mut listener = start_role("subscriber_node", &ns.name, "wheel.encoders");
    let mut plain = start_role("listen", &ns.name, "wheel.encoders");
    let (t, l, p) = (
        pid_of(&mut talker),
        pid_of(&mut listener),
        pid_of(&mut plain),
    );
    wait_node(&ns, "Talker", |_| true);
    wait_node(&ns, "Listener", |_| true);
    wait_until(30, "both subscribers received", || {
        let subs = topic_row(&ns, "wheel.encoders")["subscribers"].clone();
        [l, p].iter().all(|pid| {
            subs.as_array()
                .is_some_and(|a| a.iter().any(|s| s.as_u64() == Some(*pid)))
        })
    });

    // JSON: type, fields, geometry, rate, who, with their nodes.
    let v = json(&ns, &["topic", "info", "wheel.encoders", "--window", "1s"]);
    assert_eq!(v["type"], "WheelEncoder", "{v}");
    assert_eq!(v["fields"].as_array().map(Vec::len), Some(3), "{v}");
    assert!(v["capacity"].as_u64().unwrap() > 0, "{v}");
    let rate = v["rate_hz"].as_f64().expect("rate measured");
    assert!((20.0..=200.0).contains(&rate), "rate {rate}: {v}");
    assert_eq!(pids(&v["publishers"]), [t], "{v}");
    let publ = &v["publishers"][0];
    assert_eq!(publ["nodes"], serde_json::json!(["Talker"]), "{v}");
    assert!(publ["program"].is_string(), "{v}");
    assert!(
        publ.get("dropped").is_none(),
        "a publisher has no drops: {v}"
    );
    let subs = pids(&v["subscribers"]);
    assert!(subs.contains(&l) && subs.contains(&p), "{v}");
    for s in v["subscribers"].as_array().unwrap() {
        // Drops are counted in the subscriber's process only: unknown, not 0.
        assert!(s.get("dropped").is_some_and(Value::is_null), "{v}");
        let nodes = &s["nodes"];
        if s["pid"] == l {
            assert_eq!(nodes, &serde_json::json!(["Listener"]), "{v}");
        } else if s["pid"] == p {
            assert_eq!(nodes, &serde_json::json!([]), "no scheduler: {v}");
        }
    }

    // Text, without waiting for a rate.
    let out = ns.run(&["topic", "info", "wheel.encoders", "--no-rate"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("type:      WheelEncoder"), "{s}");
    assert!(s.contains("rate:      not measured (--no-rate)"), "{s}");
    assert!(s.contains(&format!("(pid {t}): nodes Talker")), "{s}");
    assert!(s.contains(&format!("(pid {l}): nodes Listener")), "{s}");
    assert!(s.contains("drops unknown"), "{s}");

    // A handle that never sent nor received is a holder.
    let v = json(&ns, &["topic", "info", "idle.topic", "--no-rate"]);
    assert_eq!(pids(&v["holders"]), [t], "{v}");
    assert!(pids(&v["publishers"]).is_empty(), "{v}");
    assert!(v["rate_hz"].is_null() && v["window_s"].is_null(), "{v}");

    // A typo: exit 1, the close name and where to look.
    let out = ns.run(&["topic", "info", "wheel.encoder"], 30);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no topic wheel.encoder in namespace")
            && err.contains("Did you mean wheel.encoders?")
            && err.contains("`horus topic list`"),
        "{err}"
    );

    // A name no topic can have: a usage error saying the rule, for every topic command.
    for args in [
        &["topic", "info", "a b"][..],
        &["topic", "echo", "-w", ".."],
    ] {
        let out = ns.run(args, 30);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains("invalid topic name"), "{args:?}");
    }

    // topic list -v: names, not PIDs; the holder is listed.
    let out = ns.run(&["topic", "list", "-v"], 30);
    let s = text(&out.stdout);
    assert!(s.contains(&format!("publishers:  Talker (pid {t})")), "{s}");
    assert!(s.contains(&format!("Listener (pid {l})")), "{s}");
    assert!(s.contains(&format!("(pid {p})")), "{s}");
    assert!(
        s.contains(&format!("opened by:   Talker (pid {t})")),
        "the unused handle: {s}"
    );
    let row = topic_row(&ns, "idle.topic");
    assert_eq!(row["holders"], serde_json::json!([t]), "{row}");
    let procs = &row["processes"];
    assert_eq!(pids(procs), [t], "{row}");
    assert_eq!(procs[0]["nodes"], serde_json::json!(["Talker"]), "{row}");
}

#[test]
fn node_info_and_cpu_percent() {
    let ns = TestNs::new("nodeinfo");
    let mut talker = start_role("talker", &ns.name, "wheel.encoders");
    let mut listener = start_role("subscriber_node", &ns.name, "wheel.encoders");
    let (t, l) = (pid_of(&mut talker), pid_of(&mut listener));
    // CPU % needs two records of the node at least 0.5 s apart.
    let row = wait_node(&ns, "Talker", |n| n["cpu_percent"].is_number());
    let cpu = row["cpu_percent"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&cpu), "{row}");
    wait_until(30, "the listener received", || {
        topic_row(&ns, "wheel.encoders")["subscribers"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s.as_u64() == Some(l)))
    });
    let out = ns.run(&["node", "list"], 30);
    let s = text(&out.stdout);
    assert!(s.contains("CPU %"), "{s}");

    let v = json(&ns, &["node", "info", "Talker"]);
    let n = &v["nodes"][0];
    assert_eq!(n["pid"], t, "{v}");
    assert_eq!(n["state"], "Running", "{v}");
    assert!(
        n["program"].is_string() && n["ticks"].as_u64() > Some(0),
        "{v}"
    );
    assert!(n["cpu_percent"].is_number(), "{v}");
    assert_eq!(n["publishes"], serde_json::json!(["wheel.encoders"]), "{v}");
    assert_eq!(n["holds"], serde_json::json!(["idle.topic"]), "{v}");

    let out = ns.run(&["node", "info", "Listener"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains(&format!("(pid {l})")), "{s}");
    assert!(s.contains("subscribes: wheel.encoders"), "{s}");
    assert!(s.contains("state:      Running"), "{s}");

    let out = ns.run(&["node", "info", ""], 30);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = ns.run(&["node", "info", "Talkr"], 30);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no node Talkr in namespace") && err.contains("Did you mean Talker?"),
        "{err}"
    );
}

#[test]
fn ns_list_counts_and_empty_messages_name_other_namespaces() {
    let busy = TestNs::new("nsbusy");
    let empty = TestNs::new("nsempty");
    let mut publ = publisher(&busy.name, "wheel.encoders");

    let v = json(&empty, &["ns", "list"]);
    assert_eq!(v["current"], empty.name.as_str(), "{v}");
    let row = v["namespaces"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["name"] == busy.name.as_str()))
        .unwrap_or_else(|| panic!("no {} in {v}", busy.name));
    assert_eq!(row["topics"], 1, "{v}");
    assert_eq!(row["processes"], 1, "the publisher: {v}");
    assert!(
        !v["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == empty.name.as_str()),
        "looking created nothing: {v}"
    );

    let out = empty.run(&["namespace", "list"], 30);
    let s = text(&out.stdout);
    assert!(s.contains(&busy.name) && s.contains("PROCESSES"), "{s}");

    let others = "namespaces with topics: ";
    let mine = format!("{} (1)", busy.name);
    for args in [&["topic", "list"][..], &["node", "list"][..]] {
        let out = empty.run(args, 30);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let s = text(&out.stdout);
        assert!(
            s.contains(&format!("in namespace {}; ", empty.name))
                && s.contains(others)
                && s.contains(&mine),
            "{args:?}: {s}"
        );
    }
    assert!(!empty.path().exists());

    // Once the publisher is dead (SIGKILL: its topic file stays until a
    // command runs in that namespace), the hint no longer sends the user to
    // a namespace where nothing runs.
    publ.stop("KILL", 30);
    assert!(busy.path().join("wheel.encoders.topic").exists());
    for args in [&["topic", "list"][..], &["node", "list"][..]] {
        let out = empty.run(args, 30);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let s = text(&out.stdout);
        assert!(
            s.contains(&format!("in namespace {}; ", empty.name)) && !s.contains(&busy.name),
            "{args:?}: {s}"
        );
    }
    assert!(!empty.path().exists());
}

#[test]
fn a_handle_created_in_a_nodes_init_is_named_by_its_node() {
    let ns = TestNs::new("holdertag");
    let mut child = start_role("init_nodes", &ns.name, "wheel.encoders");
    let pid = pid_of(&mut child);
    wait_node(&ns, "Encoder", |_| true);
    wait_node(&ns, "Idle", |_| true);
    wait_until(30, "the encoder published", || {
        topic_row(&ns, "wheel.encoders")["publishers"] == serde_json::json!([pid])
    });

    // topic list -v: `program/Node (pid N)`, also for a handle that never sent.
    let out = ns.run(&["topic", "list", "-v"], 30);
    let s = text(&out.stdout);
    let has = |prefix: &str, end: &str| {
        s.lines()
            .any(|l| l.trim_start().starts_with(prefix) && l.ends_with(end))
    };
    assert!(has("publishers:", &format!("/Encoder (pid {pid})")), "{s}");
    assert!(
        has(
            "opened by:",
            &format!("/Encoder (pid {pid}) (neither published nor received yet)")
        ),
        "{s}"
    );
    assert!(!s.contains("Idle (pid"), "{s}");

    // topic info --json: the node that holds the handles.
    let v = json(&ns, &["topic", "info", "wheel.encoders", "--no-rate"]);
    assert_eq!(
        v["publishers"][0]["by_nodes"],
        serde_json::json!(["Encoder"]),
        "{v}"
    );
    assert_eq!(
        v["publishers"][0]["nodes"],
        serde_json::json!(["Encoder", "Idle"]),
        "{v}"
    );
    let v = json(&ns, &["topic", "info", "idle.topic", "--no-rate"]);
    assert_eq!(
        v["holders"][0]["by_nodes"],
        serde_json::json!(["Encoder"]),
        "{v}"
    );

    // node info: the topics are Encoder's, not Idle's.
    let v = json(&ns, &["node", "info", "Idle"]);
    assert_eq!(v["nodes"][0]["publishes"], serde_json::json!([]), "{v}");
    assert_eq!(v["nodes"][0]["holds"], serde_json::json!([]), "{v}");
    let v = json(&ns, &["node", "info", "Encoder"]);
    assert_eq!(
        v["nodes"][0]["publishes"],
        serde_json::json!(["wheel.encoders"]),
        "{v}"
    );
    assert_eq!(
        v["nodes"][0]["holds"],
        serde_json::json!(["idle.topic"]),
        "{v}"
    );
}

#[test]
fn an_invalid_namespace_is_one_usage_error_naming_where_it_came_from() {
    let ns = TestNs::new("badns");
    for (flag, env, source) in [
        (Some("../x"), None, "(--namespace)"),
        (None, Some("a/b"), "(HORUS_NAMESPACE)"),
    ] {
        for command in [
            &["topic", "list"][..],
            &["clean", "--shm"],
            &["monitor", "--once"],
        ] {
            let mut cmd = ns.horus(&[]);
            if let Some(flag) = flag {
                cmd.args(["--namespace", flag]);
            }
            if let Some(env) = env {
                cmd.env("HORUS_NAMESPACE", env);
            }
            let out = cmd.args(command).output().expect("run horus");
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command:?}: {err}");
            let name = flag.or(env).unwrap();
            assert_eq!(
                err.trim_end(),
                format!(
                    "horus: invalid namespace {name:?} {source}: it has characters other than \
                     A-Z a-z 0-9 _ -; use 1 to 64 characters from A-Z a-z 0-9 _ -"
                ),
                "{command:?}"
            );
        }
    }
    assert!(!ns.path().exists());
}
