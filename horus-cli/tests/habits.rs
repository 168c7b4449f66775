//! The `horus` command for daily use: ROS 2 topic names with `/`, `topic
//! echo` options, completions and man page, logging, and the blackbox's
//! rare records.

mod common;

use common::{TestNs, WheelEncoder, publisher, text, wait_until};

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    if std::env::var("HORUS_TEST_ROLE").as_deref() == Ok("logged") {
        // A node program: a scheduler (which installs the logger), a topic,
        // one idle node, run until SIGTERM (from `horus launch`).
        struct Idle;
        impl horus::Node for Idle {
            fn tick(&mut self) {}
        }
        let mut sched = horus::Scheduler::new();
        let _t: horus::Topic<WheelEncoder> = horus::Topic::new("/logged/topic").expect("topic");
        sched.add(Idle).order(0).build().expect("add");
        println!("\n@@ready {}", std::process::id());
        sched.run().expect("run");
        return;
    }
    common::child_main();
}

/// This test binary, as a YAML double-quoted string.
fn this_exe() -> String {
    format!(
        "{:?}",
        std::env::current_exe().unwrap().display().to_string()
    )
}

/// `horus launch` of one node, this binary as role `logged`, with `RUST_LOG`
/// set to `level` (or unset) in `horus`'s environment; returns every line
/// printed, once stopped.
fn launch_logged(ns: &TestNs, level: Option<&str>) -> Vec<String> {
    let dir = common::temp_dir(&format!("log-{}", level.unwrap_or("none")));
    let yaml = format!(
        "nodes:\n  - name: logged\n    cmd: {}\n    args: [--exact, child_main, --nocapture, \
         --include-ignored, --test-threads=1]\n    env: {{ HORUS_TEST_ROLE: logged }}\n",
        this_exe()
    );
    std::fs::write(dir.join("l.yaml"), yaml).unwrap();
    let mut cmd = ns.horus(&["launch", dir.join("l.yaml").to_str().unwrap()]);
    match level {
        Some(l) => cmd.env("RUST_LOG", l),
        None => cmd.env_remove("RUST_LOG"),
    };
    let mut horus = common::Running::start(cmd);
    horus.expect("[logged] @@ready", 30);
    assert_eq!(horus.stop("TERM", 30), Some(0), "{}", horus.seen.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
    horus.seen.clone()
}

#[test]
fn rust_log_reaches_a_launched_program_and_the_default_is_silent() {
    let ns = TestNs::new("logging");
    let lines = launch_logged(&ns, Some("debug"));
    assert!(
        lines.iter().any(|l| l.starts_with(
            "[logged] [DEBUG horus::topic] topic /logged/topic (WheelEncoder): joined"
        )),
        "{}",
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[logged] [INFO  horus::scheduler")),
        "{}",
        lines.join("\n")
    );
    let lines = launch_logged(&ns, None);
    let noisy: Vec<_> = lines.iter().filter(|l| l.contains("horus::")).collect();
    assert!(noisy.is_empty(), "{}", lines.join("\n"));
}

#[test]
fn slash_topic_names_round_trip_through_the_api_and_the_cli() {
    let ns = TestNs::new("slash");
    let _publ = publisher(&ns.name, "/robot/cmd_vel");

    // The Rust API: another participant joins by the same name.
    let sub: horus::Topic<WheelEncoder> = horus::Topic::builder("/robot/cmd_vel")
        .namespace(&ns.name)
        .build()
        .expect("join /robot/cmd_vel");
    wait_until(30, "a message on /robot/cmd_vel", || sub.recv().is_some());
    // Its region: `/` mapped to `%`, reversibly, no subdirectory.
    assert!(ns.path().join("%robot%cmd_vel.topic").is_file());
    // A relative name is another topic, not the same file.
    let rel: horus::Topic<WheelEncoder> = horus::Topic::builder("robot/cmd_vel")
        .namespace(&ns.name)
        .build()
        .expect("join robot/cmd_vel");
    assert!(ns.path().join("robot%cmd_vel.topic").is_file());
    assert!(rel.recv().is_none());

    // The CLI lists the original names and echoes and publishes by them.
    let out = ns.run(&["topic", "list"], 30);
    let listing = text(&out.stdout);
    assert!(listing.contains("/robot/cmd_vel"), "{listing}");
    assert!(!listing.contains('%'), "{listing}");
    let out = ns.run(&["topic", "list", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<_> = v["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["/robot/cmd_vel", "robot/cmd_vel"], "{v}");
    let out = ns.run(&["topic", "echo", "/robot/cmd_vel", "--once"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("left_ticks: "));
    let out = ns.run(&["topic", "pub", "robot/cmd_vel", "left_ticks=-7"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until(30, "the published message", || {
        rel.recv().is_some_and(|m| m.left_ticks == -7)
    });

    // Bad names are refused with the rule, not a panic.
    let out = ns.run(&["topic", "echo", "a//b", "--once"], 30);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("empty part"),
        "{}",
        text(&out.stderr)
    );
}
