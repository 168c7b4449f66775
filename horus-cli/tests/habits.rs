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
    horus.assert_stops_on_sigterm();
    let _ = std::fs::remove_dir_all(&dir);
    horus.seen.clone()
}

#[test]
fn rust_log_reaches_a_launched_program_and_the_default_is_silent() {
    let ns = TestNs::new("logging");
    let lines = launch_logged(&ns, Some("debug"));
    // The std layer names the file it creates; the core (the same statements
    // go through defmt on the boards) logs the join and the scheduler.
    for expected in [
        "[logged] [DEBUG horus::shm::region_file] topic /logged/topic (WheelEncoder): creating",
        "[logged] [DEBUG horus_nostd::ring::participants] region of type WheelEncoder: pid",
        "[logged] [DEBUG horus::join] topic /logged/topic (WheelEncoder) in namespace ",
        "[logged] [INFO  horus_nostd::sched::engine] scheduler: started 1 node(s)",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "{expected}\n{}",
            lines.join("\n")
        );
    }
    let lines = launch_logged(&ns, None);
    let noisy: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("horus::") || l.contains("horus_nostd::"))
        .collect();
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

    // Bad names are refused with the rule, not a panic: invalid input (exit 2).
    let out = ns.run(&["topic", "echo", "a//b", "--once"], 30);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("empty part"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn echo_waits_selects_fields_cuts_arrays_stamps_time_and_shows_the_last() {
    use horus::msgs::{LaserScan, MAX_RANGES, Odometry};
    let ns = TestNs::new("echoopts");

    // --wait: started before the topic exists, prints once it does.
    let mut echo = common::Running::start(ns.horus(&[
        "topic",
        "echo",
        "/scan",
        "--wait",
        "--once",
        "-t",
        "--timeout",
        "60",
    ]));
    echo.expect("waiting for topic /scan", 30);
    let scan: horus::Topic<LaserScan> = horus::Topic::builder("/scan")
        .namespace(&ns.name)
        .build()
        .expect("scan topic");
    let msg = LaserScan {
        ranges: [2.5; MAX_RANGES],
        ..Default::default()
    };
    wait_until(30, "echo --wait to print a scan", || {
        scan.send(msg);
        echo.count("---") == 1
    });
    // `--once`: it exits by itself, successfully.
    let mut status = None;
    wait_until(30, "echo --once to exit", || {
        status = echo.child.try_wait().expect("try_wait");
        status.is_some()
    });
    let out = echo.seen.join("\n");
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{out}");
    assert!(
        echo.seen
            .iter()
            .any(|l| l.starts_with("# received 20") && l.ends_with('Z')),
        "{out}"
    );
    let more = MAX_RANGES - 32;
    assert!(
        out.contains("ranges: [2.5, 2.5, ")
            && out.contains(&format!(", ... ({more} more; --full shows all)]")),
        "{out}"
    );

    // --last: the newest retained message, with nothing published after.
    let odom: horus::Topic<Odometry> = horus::Topic::builder("/odom")
        .namespace(&ns.name)
        .build()
        .expect("odom topic");
    let mut o = Odometry::default();
    o.pose.x = 1.0;
    odom.send(o);
    o.pose.x = 1.5;
    o.twist.linear = [0.25, 0.0, 0.0];
    o.timestamp_ns = 10;
    odom.send(o);
    // Another publisher sends later a message stamped earlier: not the newest.
    let late: horus::Topic<Odometry> = horus::Topic::builder("/odom")
        .namespace(&ns.name)
        .build()
        .expect("odom topic");
    late.send(Odometry {
        timestamp_ns: 5,
        ..Odometry::default()
    });
    let out = ns.run(
        &[
            "topic", "echo", "/odom", "--last", "--once", "--field", "pose.x",
        ],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "pose.x: 1.5\n---\n");
    // A prefix selects the nested message; several --field add up.
    let out = ns.run(
        &[
            "topic",
            "echo",
            "/odom",
            "--last",
            "--once",
            "-f",
            "pose",
            "-f",
            "twist.linear",
        ],
        30,
    );
    let block = text(&out.stdout);
    assert!(
        block.contains("pose.y: 0.0")
            && block.contains("pose.theta: ")
            && block.contains("twist.linear: [0.25, 0.0, 0.0]"),
        "{block}"
    );
    assert!(
        !block.contains("frame_id") && !block.contains("twist.angular"),
        "{block}"
    );
    // An unknown field is a usage error naming the fields.
    let out = ns.run(&["topic", "echo", "/odom", "--field", "pose.z"], 30);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--field pose.z: Odometry has no such field (fields: pose.x"),
        "{}",
        text(&out.stderr)
    );

    // --full prints every element; JSON is never cut and carries the time with -t.
    let out = ns.run(
        &["topic", "echo", "/scan", "--last", "--once", "--full"],
        30,
    );
    let block = text(&out.stdout);
    assert!(
        !block.contains("more;") && block.matches("2.5").count() == MAX_RANGES,
        "{block}"
    );
    let out = ns.run(
        &["topic", "echo", "/scan", "--last", "--once", "-t", "--json"],
        30,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["ranges"].as_array().map(Vec::len),
        Some(MAX_RANGES),
        "{v}"
    );
    assert!(
        v["@received"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{v}"
    );

    // --wait gives up at --timeout: exit 1, saying so.
    let out = ns.run(
        &["topic", "echo", "/never", "--wait", "--timeout", "0.2"],
        30,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no topic /never appeared"),
        "{}",
        text(&out.stderr)
    );
    // A topic that exists but sends nothing within --timeout: exit 1, and a
    // sentence saying how many of the messages asked for came (it was silent).
    let out = ns.run(
        &["topic", "echo", "/scan", "--once", "--timeout", "0.2"],
        30,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--timeout 200ms: 0 of 1 message(s) came on /scan"),
        "{}",
        text(&out.stderr)
    );
}

/// `echo --timeout` without a count printed the messages, said "stopped
/// after 15 message(s)" and exited 1, though `--timeout` is the way to end
/// a stream (as `hz --duration` ends with 0). It is a normal end now; only
/// a stream that brought nothing exits 1, saying so.
#[test]
fn echo_timeout_without_a_count_ends_normally_unless_nothing_came() {
    let ns = TestNs::new("echotimeout");
    let _publ = publisher(&ns.name, "wheel.encoders");
    // `--last`: the publisher's newest message (it has published: it said
    // ready) comes first, whatever the clock says, and then its stream.
    // Without it, an echo preempted for the 0.3 s between its start and its
    // first receive (a loaded host) saw no message at all, and exited 1.
    let out = ns.run(
        &[
            "topic",
            "echo",
            "wheel.encoders",
            "--last",
            "--timeout",
            "0.3",
        ],
        30,
    );
    assert_eq!(
        (out.status.code(), text(&out.stderr).as_str()),
        (Some(0), ""),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("left_ticks: "));
    let _quiet: horus::Topic<WheelEncoder> = horus::Topic::builder("quiet")
        .namespace(&ns.name)
        .build()
        .expect("quiet topic");
    let out = ns.run(&["topic", "echo", "quiet", "--timeout", "0.2"], 30);
    assert_eq!(
        (out.status.code(), text(&out.stderr).as_str()),
        (
            Some(1),
            "horus: --timeout 200ms: no message came on quiet\n"
        )
    );
}

/// What a ROS 2 user types: `pub TOPIC TYPE "{yaml}"`, `--once`/`-1`,
/// `-t N`, `echo TOPIC TYPE`, `list -t`, `info -v`, `topic type`, and
/// `linear.x` on a vector. Each was a clap error or "expected FIELD=VALUE".
#[test]
fn ros2_spellings_of_topic_commands_work_or_say_what_horus_takes() {
    use horus::msgs::{CmdVel, Odometry, Twist};
    let ns = TestNs::new("ros2habits");
    let cmd: horus::Topic<CmdVel> = horus::Topic::builder("/robot/cmd_vel")
        .namespace(&ns.name)
        .build()
        .expect("cmd_vel");
    let odom: horus::Topic<Odometry> = horus::Topic::builder("/odom")
        .namespace(&ns.name)
        .build()
        .expect("odom");
    let _twist: horus::Topic<Twist> = horus::Topic::builder("/twist")
        .namespace(&ns.name)
        .build()
        .expect("twist");
    let ok = |args: &[&str]| {
        let out = ns.run(args, 30);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        out
    };
    let usage = |args: &[&str], says: &str| {
        let out = ns.run(args, 30);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&out.stderr), format!("horus: {says}\n"), "{args:?}");
    };

    let topic = "/robot/cmd_vel";
    ok(&[
        "topic",
        "pub",
        topic,
        "CmdVel",
        "{linear: 0.5, angular: 0.1}",
    ]);
    let m = cmd.recv().expect("the published command");
    assert_eq!((m.linear, m.angular), (0.5, 0.1));
    ok(&[
        "topic",
        "pub",
        topic,
        "geometry_msgs/msg/CmdVel",
        r#"{"angular": -1}"#,
    ]);
    assert_eq!(cmd.recv().map(|m| m.angular), Some(-1.0));
    for (flag, n) in [
        (&["--once"][..], 1),
        (&["-1"], 1),
        (&["-t", "3"], 3),
        (&["--times", "2"], 2),
    ] {
        let out = ok(&[&["topic", "pub", topic, "linear=1"][..], flag].concat());
        let s = if n == 1 { "" } else { "s" };
        assert_eq!(
            text(&out.stderr),
            format!("horus: published {n} message{s} on {topic}\n")
        );
    }
    ok(&[
        "topic",
        "pub",
        "/odom",
        "{pose: {x: 1.5}, frame_id: odom, twist: {linear: [0.25]}}",
    ]);
    let o = odom.recv().expect("the published odometry");
    assert_eq!(
        (o.pose.x, &o.frame_id[..5], o.twist.linear[0]),
        (1.5, &b"odom\0"[..], 0.25)
    );
    usage(
        &["topic", "pub", topic, "Twist", "linear=1"],
        "Twist: /robot/cmd_vel is of type CmdVel; horus takes the type from the topic, so the \
         type can be left out",
    );
    usage(
        &["topic", "pub", "/twist", "Twist", "{linear: {x: 0.5}}"],
        "Twist has no field \"linear.x\": linear is an array ([f64; 3]), given whole as a list \
         whose missing elements stay 0: linear=[0.5]",
    );
    usage(
        &["topic", "pub", topic, "{linear"],
        "\"{linear\": not YAML (line 1 column 1: unclosed bracket '{'); give a mapping \
         {field: value, ...} or FIELD=VALUE",
    );

    let out = ok(&["topic", "echo", topic, "CmdVel", "--last", "--once"]);
    assert!(
        text(&out.stdout).contains("linear: 1.0"),
        "{}",
        text(&out.stdout)
    );
    usage(
        &["topic", "echo", topic, "Twist", "--once"],
        "Twist: /robot/cmd_vel is of type CmdVel; horus takes the type from the topic, so the \
         type can be left out",
    );
    let out = ok(&["topic", "list", "-t"]);
    assert!(text(&out.stdout).contains("CmdVel"));
    let out = ok(&["topic", "info", "-v", topic, "--no-rate"]);
    assert!(text(&out.stdout).contains("CmdVel"));
    assert_eq!(text(&ok(&["topic", "type", topic]).stdout), "CmdVel\n");
    let v: serde_json::Value =
        serde_json::from_slice(&ok(&["topic", "type", topic, "--json"]).stdout).expect("json");
    assert_eq!(v, serde_json::json!({"topic": topic, "type": "CmdVel"}));
}

/// `node pause --timeout 500ms` was refused as an invalid float though the
/// topic commands take `500ms`; `node info` had no `--pid`, though pause,
/// resume, restart and kill have one for a name run by several processes.
#[test]
fn node_commands_take_times_with_units_and_node_info_takes_pid() {
    let ns = TestNs::new("nodeunits");
    let mut a = common::start_role("schedule", &ns.name, "Twin");
    let mut b = common::start_role("schedule", &ns.name, "Twin");
    let (pa, pb) = (a.child.id(), b.child.id());
    let info = |args: &[&str]| {
        let out = ns.run(
            &[&["node", "info", "Twin", "--json"][..], args].concat(),
            30,
        );
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    wait_until(30, "both Twin nodes Running", || {
        let (_, doc, _) = info(&[]);
        serde_json::from_str::<serde_json::Value>(&doc).is_ok_and(|v| {
            v["nodes"]
                .as_array()
                .is_some_and(|n| n.len() == 2 && n.iter().all(|n| n["state"] == "Running"))
        })
    });
    let (code, doc, err) = info(&["--pid", &pb.to_string()]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&doc).expect("json");
    let pids: Vec<_> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["pid"].clone())
        .collect();
    assert_eq!(pids, [serde_json::json!(pb)], "{v}");
    let mut both = [pa, pb];
    both.sort_unstable();
    assert_eq!(
        info(&["--pid", "1"]),
        (
            Some(1),
            String::new(),
            format!(
                "horus: no node Twin with pid 1 in namespace {} (it runs in pid {}, {}); \
                 `horus node list` shows every node\n",
                ns.name, both[0], both[1]
            )
        )
    );

    let pause = |timeout: &str| {
        let pid = pa.to_string();
        ns.run(
            &["node", "pause", "Twin", "--pid", &pid, "--timeout", timeout],
            60,
        )
    };
    let out = pause("30000ms");
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (timeout, shown) in [("0ms", "0s"), ("2h", "2h")] {
        let out = pause(timeout);
        assert_eq!(
            (out.status.code(), text(&out.stderr)),
            (
                Some(2),
                format!("horus: --timeout {shown}: give a time above 0 and at most 3600 s\n")
            )
        );
    }
    a.assert_stops_on_sigterm();
    b.assert_stops_on_sigterm();
}

#[test]
fn thousands_of_deadline_misses_leave_panics_estops_and_deaths_in_the_blackbox() {
    use horus::system::blackbox::{self, AnomalyKind, Blackbox};
    let ns = TestNs::new("bbrare");
    let bb = Blackbox::open(Some(&ns.name)).expect("blackbox");
    let before = std::time::SystemTime::now();
    bb.record(
        AnomalyKind::NodePanic,
        "planner",
        "panicked at 'index out of bounds'",
        0,
    );
    bb.record(AnomalyKind::EstopRaised, "", "e-stop raised: bumper", 0);
    bb.record_for(4242, AnomalyKind::ProcessDied, "lidar", "died (SIGKILL)", 0);
    let misses = 5_000u64;
    for i in 0..misses {
        bb.record(AnomalyKind::DeadlineMiss, "planner", "late", i);
    }
    let dump = blackbox::read(Some(&ns.name)).expect("read");
    let kinds: Vec<_> = dump.entries.iter().filter_map(|e| e.kind).collect();
    for k in [
        AnomalyKind::NodePanic,
        AnomalyKind::EstopRaised,
        AnomalyKind::ProcessDied,
    ] {
        assert!(kinds.contains(&k), "{k:?} pushed out: {kinds:?}");
    }
    let kept_misses = kinds
        .iter()
        .filter(|k| **k == AnomalyKind::DeadlineMiss)
        .count() as u64;
    assert_eq!(kept_misses + dump.overwritten, misses);
    // Wall-clock time on every record.
    let since = |e: &blackbox::BlackboxEntry| {
        std::time::UNIX_EPOCH + std::time::Duration::from_nanos(e.wall_ns)
    };
    assert!(
        dump.entries
            .iter()
            .all(|e| since(e) >= before - std::time::Duration::from_secs(1))
    );

    // `horus bb` shows them, with the wall-clock time.
    drop(bb);
    let out = ns.run(&["bb", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let records = v["records"].as_array().expect("records");
    let panic = records
        .iter()
        .find(|r| r["kind"] == "node_panic")
        .expect("node_panic");
    assert!(
        panic["wall_time"]
            .as_str()
            .is_some_and(|t| t.starts_with("20") && t.ends_with('Z')),
        "{panic}"
    );
    assert!(records.iter().any(|r| r["kind"] == "estop_raised"));
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "process_died" && r["pid"] == 4242)
    );
    let out = ns.run(&["bb", "--anomalies"], 30);
    let listing = text(&out.stdout);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("20") && l.contains("node_panic")),
        "{listing}"
    );
    // The long name upstream's users type is the same command.
    let out = ns.run(&["blackbox", "--anomalies"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), listing);
    // `clean --shm` keeps both parts of the blackbox; `--blackbox` removes them.
    let out = ns.run(&["clean", "--shm"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(ns.path().join("_horus.blackbox.rare.topic").exists());
    let out = ns.run(&["clean", "--shm", "--blackbox"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!ns.path().join("_horus.blackbox.rare.topic").exists());
}

#[test]
fn completions_and_man_pages_come_from_the_command_definition() {
    let ns = TestNs::new("docs");
    for (shell, marker) in [
        ("bash", "_horus()"),
        ("zsh", "#compdef horus"),
        ("fish", "complete -c horus"),
    ] {
        let out = ns.run(&["completions", shell], 30);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("echo") && script.contains("field"),
            "{shell}"
        );
        assert!(
            !script.contains("__guard"),
            "{shell}: the internal command leaks"
        );
    }
    let out = ns.run(&["completions", "tcsh"], 30);
    assert_eq!(out.status.code(), Some(2));

    let out = ns.run(&["man"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(
        page.contains(".TH horus 1") && page.contains("topic"),
        "{page}"
    );
    let dir = common::temp_dir("man");
    let out = ns.run(&["man", "--out", dir.to_str().unwrap()], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let echo = std::fs::read_to_string(dir.join("horus-topic-echo.1")).expect("echo page");
    assert!(echo.contains(r"\-\-wait"), "{echo}");
    assert!(dir.join("horus.1").is_file());
    // Documentation touches no shared memory.
    assert!(!ns.path().exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn colour_only_for_terminals_never_with_no_color() {
    let ns = TestNs::new("colour");
    let _publ = publisher(&ns.name, "wheel.encoders");
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = ns.horus(args);
        cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
        cmd.envs(env.iter().copied());
        let out = common::finish(
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn"),
            30,
            "horus",
        );
        text(&out.stdout)
    };
    // A pipe is no terminal: plain text.
    for args in [&["estop"][..], &["topic", "list"]] {
        assert!(!run(&[], args).contains('\x1b'), "{args:?}");
    }
    // Forced (as a terminal would get it): the state and the header in colour.
    let forced = [("CLICOLOR_FORCE", "1")];
    assert!(run(&forced, &["estop"]).contains("\x1b[32mclear\x1b[0m"));
    let listing = run(&forced, &["topic", "list"]);
    assert!(listing.starts_with("\x1b[1mTOPIC"), "{listing:?}");
    // NO_COLOR wins over everything; JSON never has colour.
    let plain = [("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")];
    assert!(!run(&plain, &["estop"]).contains('\x1b'));
    assert!(!run(&plain, &["topic", "list"]).contains('\x1b'));
    assert!(!run(&forced, &["topic", "list", "--json"]).contains('\x1b'));
}

#[test]
fn estop_clear_in_a_namespace_that_does_not_exist_creates_nothing() {
    let ns = TestNs::new("clearnothing");
    let out = ns.run(&["estop", "--clear"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("the namespace does not exist"),
        "{}",
        text(&out.stdout)
    );
    assert!(!ns.path().exists(), "clearing created the namespace");
    let out = ns.run(&["estop", "--clear", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["engaged"], false, "{v}");
    assert!(!ns.path().exists(), "clearing created the namespace");
}

#[test]
fn json_has_one_shape_per_command() {
    let ns = TestNs::new("jsonshape");
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    // estop: the same document for the state, raising and clearing.
    let mut shapes = Vec::new();
    for args in [
        &["estop", "--json"][..],
        &["estop", "--reason", "test", "--json"],
        &["estop", "--clear", "--json"],
    ] {
        let out = ns.run(args, 30);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["namespace"], ns.name.as_str(), "{v}");
        shapes.push(keys(&v));
    }
    assert!(
        shapes
            .iter()
            .all(|s| *s == ["engaged", "namespace", "reason"]),
        "{shapes:?}"
    );

    // topic list: every topic's keys, `--verbose` adds the geometry.
    let _publ = publisher(&ns.name, "wheel.encoders");
    let out = ns.run(&["topic", "list", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        keys(&v["topics"][0]),
        [
            "holders",
            "message_size",
            "name",
            "published",
            "publishers",
            "subscribers",
            "type",
            "type_id"
        ]
    );
    let out = ns.run(&["topic", "list", "--json", "-v"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(keys(&v["topics"][0]).len(), 17, "{v}");
    // topic hz: the statistics keys are always there (null for hz's bandwidth).
    let out = ns.run(
        &[
            "topic",
            "hz",
            "wheel.encoders",
            "--json",
            "-n",
            "1",
            "--interval",
            "0.2",
        ],
        30,
    );
    let line = text(&out.stdout);
    let v: serde_json::Value =
        serde_json::from_str(line.lines().next().expect("a report")).expect("json");
    assert_eq!(keys(&v).len(), 11, "{v}");
    assert_eq!(v["refused"], 0, "{v}");
    assert_eq!(v["bytes_per_s"], serde_json::Value::Null, "{v}");
}

/// Were accepted: `echo -n 0` printed nothing and `pub -n 0` said
/// "published 0 messages"; `hz --duration 0` ended at once.
#[test]
fn a_count_or_duration_of_zero_is_a_usage_error() {
    let ns = TestNs::new("zero_counts");
    for args in [
        &["topic", "echo", "x", "-n", "0"][..],
        &["topic", "pub", "x", "-n", "0"],
        &["topic", "hz", "x", "-n", "0"],
        &["topic", "bw", "x", "--duration", "0"],
    ] {
        let out = ns.run(args, 30);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains("invalid value '0'"), "{args:?}: {err}");
    }
    assert!(!ns.path().exists(), "a refused command made the namespace");
}

/// Was `--reason ""` whatever blanks were typed.
#[test]
fn a_blank_estop_reason_is_refused_as_typed() {
    let ns = TestNs::new("blank_reason");
    let out = ns.run(&["estop", "--reason", "   "], 30);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--reason \"   \": give the e-stop a reason, not only blanks"),
        "{err}"
    );
}
