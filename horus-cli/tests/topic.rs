//! `horus topic list|echo|hz|bw|pub` against live processes of the same
//! namespace and of another one, and a printing command's closed or full
//! stdout. Elsewhere: `clean.rs` (housekeeping and hostile namespace
//! contents), `topic_echo.rs` (how echo shows serialized topics and arrays),
//! `topic_pooled.rs` (large messages).

mod common;

use std::process::Stdio;

use common::{Running, TestNs, last_json, publisher, text};

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::child_main();
}

#[test]
fn ctrl_c_ends_echo_hz_bw_and_leaves_nothing_in_proc() {
    // Ctrl+C is how a stream ends: it used to kill them by the signal,
    // leaving their liveness file (and topic handle) behind.
    let ns = TestNs::new("ctrlc");
    let _publ = publisher(&ns.name, "wheel.encoders");
    for args in [
        &["topic", "echo", "wheel.encoders"][..],
        &["topic", "echo", "not.yet", "--wait"],
        &["topic", "hz", "wheel.encoders"],
        &["topic", "bw", "wheel.encoders"],
    ] {
        let mut cmd = Running::start(ns.horus(args));
        let pid = cmd.child.id();
        let mine = || {
            std::fs::read_dir(ns.path().join("proc"))
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|f| f.starts_with(&format!("{pid}-")))
                .count()
        };
        if args.contains(&"--wait") {
            // No topic joined yet, so no liveness file: it is waiting.
            cmd.expect("waiting for topic not.yet", 30);
        } else {
            common::wait_until(30, "the command's liveness file", || mine() == 1);
        }
        assert_eq!(cmd.stop("INT", 30), Some(0), "{args:?}: {:?}", cmd.seen);
        assert_eq!(mine(), 0, "{args:?} left its liveness file");
    }
    // With a count not yet reached, Ctrl+C interrupts: 130, as a shell says
    // for a program Ctrl+C ended (it was 0, as if the message had come).
    let _quiet: horus::Topic<horus::msgs::CmdVel> = horus::Topic::builder("quiet")
        .namespace(&ns.name)
        .build()
        .unwrap();
    for (args, wait_for) in [
        (&["topic", "echo", "quiet", "--once"][..], None),
        (&["topic", "echo", "quiet", "-n", "3"], None),
        (
            &["topic", "echo", "never.there", "--wait", "--once"],
            Some("waiting for topic never.there"),
        ),
    ] {
        let mut cmd = Running::start(ns.horus(args));
        let pid = cmd.child.id();
        match wait_for {
            Some(line) => {
                cmd.expect(line, 30);
            }
            None => common::wait_until(30, "the command's liveness file", || {
                std::fs::read_dir(ns.path().join("proc"))
                    .unwrap()
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .any(|f| f.starts_with(&format!("{pid}-")))
            }),
        }
        assert_eq!(cmd.stop("INT", 30), Some(130), "{args:?}: {:?}", cmd.seen);
        let said = cmd.seen.join("\n");
        let n = if args.contains(&"3") { 3 } else { 1 };
        assert!(
            said.contains(&format!("interrupted: 0 of {n} message(s) came on ")),
            "{args:?}: {said}"
        );
    }
}

#[test]
fn list_echo_hz_bw_see_a_live_publisher() {
    let ns = TestNs::new("list");
    let other = TestNs::new("other");
    let mut publ = publisher(&ns.name, "wheel.encoders");
    let pid = publ
        .expect("@@ready", 1)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();

    // list, same namespace: text, verbose (publisher PID) and JSON.
    let out = ns.run(&["topic", "list", "--verbose"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.contains("wheel.encoders") && listing.contains("WheelEncoder"),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("    publishers:  ") && l.ends_with(&format!(" (pid {pid})"))),
        "{listing}"
    );
    assert!(
        listing.contains("left_ticks") && listing.contains("i64"),
        "{listing}"
    );
    let out = ns.run(&["topic", "list", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["topics"][0]["name"], "wheel.encoders");
    assert_eq!(v["topics"][0]["publishers"][0].to_string(), pid);

    // monitor: one snapshot, text and JSON, with the topic and its publisher.
    let out = ns.run(&["monitor", "--once"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let view = text(&out.stdout);
    assert!(
        view.contains(&format!("namespace {}", ns.name))
            && view.contains("e-stop clear")
            && view.contains("wheel.encoders"),
        "{view}"
    );
    let out = ns.run(&["monitor", "--once", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["topics"][0]["publishers"][0].to_string(), pid, "{v}");
    assert_eq!(v["estop"], serde_json::Value::Null, "{v}");

    // Another namespace does not see it, unless asked with --namespace.
    let out = other.run(&["topic", "list", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["topics"].as_array().map(Vec::len), Some(0), "{v}");
    let out = other.run(&["--namespace", &ns.name, "topic", "list"], 30);
    assert!(text(&out.stdout).contains("wheel.encoders"));

    // echo: decoded from the stored self-description.
    let out = ns.run(&["topic", "echo", "wheel.encoders", "-n", "2"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let blocks = text(&out.stdout);
    assert_eq!(blocks.matches("---").count(), 2, "{blocks}");
    assert!(
        blocks.contains("left_ticks: ") && blocks.contains("timestamp_ns: "),
        "{blocks}"
    );
    let out = ns.run(&["topic", "echo", "wheel.encoders", "--once", "--json"], 30);
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        m["right_ticks"].as_i64().unwrap() - m["left_ticks"].as_i64().unwrap(),
        2,
        "{m}"
    );

    // --hex: the raw 24 bytes; the JSON form is one hex string of them.
    let out = ns.run(
        &[
            "topic",
            "echo",
            "wheel.encoders",
            "--once",
            "--hex",
            "--json",
        ],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let hex = h["hex"].as_str().expect("hex field");
    assert_eq!(hex.len(), 48, "{hex}");
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{hex}");

    // From another namespace, with --namespace: echo and hz see it too.
    let out = other.run(
        &[
            "--namespace",
            &ns.name,
            "topic",
            "echo",
            "wheel.encoders",
            "--once",
        ],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("left_ticks: "),
        "{}",
        text(&out.stdout)
    );
    let out = other.run(
        &[
            "--namespace",
            &ns.name,
            "topic",
            "hz",
            "wheel.encoders",
            "-n",
            "5",
        ],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // hz and bw: about 100 Hz of 24-byte messages.
    let out = ns.run(&["topic", "hz", "wheel.encoders", "-n", "60", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = last_json(&out);
    let hz = r["rate_hz"].as_f64().expect("rate");
    // The publisher sleeps 10 ms between messages: at most 100 Hz, less when
    // the machine is loaded; generous bounds, the exact rate is no test's.
    assert!((2.0..=150.0).contains(&hz), "rate {hz}");
    let out = ns.run(&["topic", "bw", "wheel.encoders", "--duration", "1.5"], 30);
    let bw = text(&out.stdout);
    assert!(bw.contains("B/s") && bw.contains("message: 24 B"), "{bw}");

    // Unknown topic: exit 1, the namespace and the topics it has.
    let out = ns.run(&["topic", "echo", "nope"], 30);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "no topic nope in namespace {} (topics: wheel.encoders",
            ns.name
        )),
        "{err}"
    );

    // Looking changed nothing: the publisher still runs, the topic is still there.
    assert!(publ.child.try_wait().unwrap().is_none());
    assert!(ns.path().join("wheel.encoders.topic").exists());
}

#[test]
fn pub_fills_fields_for_a_live_subscriber() {
    let ns = TestNs::new("pub");
    let mut listener = common::start_role("listen", &ns.name, "cmd");
    let out = ns.run(
        &[
            "topic",
            "pub",
            "cmd",
            "left_ticks=5",
            "right_ticks=-3",
            "-n",
            "3",
            "--rate",
            "50",
        ],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    listener.expect("@@got 5 -3", 10);
    let out = ns.run(&["topic", "pub", "cmd", "speed=1"], 30);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("fields: left_ticks, right_ticks, timestamp_ns"));
}

#[test]
fn a_closed_stdout_ends_a_printing_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let ns = TestNs::new("epipe");
    let dir = common::temp_dir("epipe");
    std::fs::write(dir.join("l.yaml"), "nodes:\n  - name: t\n    cmd: true\n").unwrap();
    let file = dir.join("l.yaml");
    let cases: [&[&str]; 5] = [
        &["estop"],
        &["node", "list"],
        &["topic", "list"],
        &["bb"],
        &["launch", "--dry-run", file.to_str().unwrap()],
    ];
    for args in cases {
        // Like `horus ... | head -0`: the reader is gone before horus writes.
        // Close-on-exec: the other tests of this process spawn children
        // meanwhile, and one that inherited the read end would keep the
        // pipe read (then horus's write succeeds: this test failed about
        // once in fifteen runs so).
        let (read, write) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe");
        drop(read);
        let child = ns
            .horus(args)
            .stdout(std::process::Stdio::from(write))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn horus");
        let out = common::finish(child, 30, &args.join(" "));
        let err = text(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_eq!(
            out.status.signal(),
            Some(13),
            "{args:?}: SIGPIPE, as for `cat`: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One message is not a rate, but it came: `hz -n 1` said "no new messages".
#[test]
fn hz_after_one_message_says_it_came() {
    let ns = TestNs::new("hzone");
    let _publ = publisher(&ns.name, "wheel.encoders");
    let out = ns.run(&["topic", "hz", "wheel.encoders", "-n", "1"], 30);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(said.contains("1 new message: a rate needs two"), "{said}");
}

/// `> /dev/full`: `list` and `hz` panicked ("failed printing to stdout",
/// exit 101) and `echo` exited 0 having written nothing, taking every write
/// error for a closed pipe. Each says why, once, and exits 1.
#[test]
fn a_full_stdout_is_said_in_one_sentence_and_exits_1() {
    let ns = TestNs::new("devfull");
    let _publ = publisher(&ns.name, "wheel.encoders");
    let cases: [&[&str]; 8] = [
        &["topic", "list"],
        &["topic", "list", "--json"],
        &["topic", "hz", "wheel.encoders", "-n", "3"],
        &["topic", "echo", "wheel.encoders", "-n", "5"],
        &["node", "list"],
        &["monitor", "--once"],
        &["completions", "bash"],
        &["clean", "--shm"],
    ];
    for args in cases {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let child = ns
            .horus(args)
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn horus");
        let out = common::finish(child, 30, &args.join(" "));
        assert_eq!(
            (out.status.code(), text(&out.stderr).as_str()),
            (
                Some(1),
                "horus: writing to stdout: No space left on device\n"
            ),
            "{args:?}"
        );
    }
}
