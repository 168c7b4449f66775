//! The `horus` command for daily use: ROS 2 topic names with `/`, `topic
//! echo` options, completions and man page, logging, and the blackbox's
//! rare records.

mod common;

use common::{TestNs, WheelEncoder, publisher, text, wait_until};

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::child_main();
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
