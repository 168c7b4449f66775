//! `horus estop`: what a raise and a clear store, and that they take.

mod common;

use common::{TestNs, text};
use serde_json::Value;

/// The e-stop's state as `horus estop --json` reads it: (engaged, reason).
fn state(ns: &TestNs) -> (bool, Value) {
    let out = ns.run(&["estop", "--json"], 30);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    (v["engaged"] == true, v["reason"].clone())
}

/// Publishes an e-stop message stamped `timestamp_ns`, as any process of
/// the namespace can.
fn forge(ns: &TestNs, timestamp_ns: u64, engaged: bool, reason: &str) {
    let out = ns.run(
        &[
            "topic",
            "pub",
            "_horus.estop",
            &format!("timestamp_ns={timestamp_ns}"),
            &format!("engaged={}", u8::from(engaged)),
            &format!("reason={reason}"),
        ],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Was: a reason over the 48 bytes of the message was cut silently, and
/// `--json` printed the uncut text as the reason raised.
#[test]
fn a_reason_too_long_for_the_message_is_cut_and_said_so() {
    let ns = TestNs::new("longreason");
    let long = "0123456789".repeat(6);
    let out = ns.run(&["estop", "--reason", &long, "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["reason"], long[..48], "{v}");
    let err = text(&out.stderr);
    assert!(
        err.contains("the reason was cut to the 48 bytes an e-stop message holds"),
        "{err}"
    );
    assert_eq!(state(&ns), (true, Value::from(&long[..48])));
}

/// Was: a message stamped by the wall clock (`topic pub` by hand) outranked
/// every later raise and clear, which still said they were done.
#[test]
fn a_raise_and_a_clear_take_after_a_message_stamped_by_the_wall_clock() {
    let ns = TestNs::new("wallstamp");
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(ns.run(&["estop", "--raise"], 30).status.success());
    forge(&ns, wall, false, "forged clear");
    assert!(!state(&ns).0, "the forged clear is the newest");
    let out = ns.run(&["estop", "--reason", "real"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(state(&ns), (true, Value::from("real")));
    forge(&ns, wall + 1_000, true, "forged raise");
    let out = ns.run(&["estop", "--clear"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!state(&ns).0);
}

/// A raise stamped at the end of the clock's range cannot be outranked: a
/// clear says so (and how to get out) instead of reporting done. A raise
/// after a clear stamped there still takes: of equal stamps, the raise wins.
#[test]
fn a_clear_that_cannot_take_says_so() {
    let ns = TestNs::new("endstamp");
    assert!(ns.run(&["estop", "--raise"], 30).status.success());
    forge(&ns, u64::MAX, false, "forged clear");
    let out = ns.run(&["estop", "--reason", "real"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(state(&ns), (true, Value::from("real")));
    forge(&ns, u64::MAX, true, "forged raise");
    let out = ns.run(&["estop", "--clear"], 30);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("still reads engaged")
            && err.contains("remove its e-stop file")
            && err.contains("_horus.estop.topic, by hand"),
        "{err}"
    );
    assert!(state(&ns).0);
}
