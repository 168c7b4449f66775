//! `horus topic pub`'s arguments as a user can get them wrong: a YAML
//! mapping the parser refuses is said in plain words, a long argument is
//! quoted by its first characters, and the mapping form takes the values
//! FIELD=VALUE takes.

mod common;

use std::process::Output;

use common::{TestNs, forge_schema_entry, text};
use horus::msgs::CmdVel;

/// A `CmdVel` topic of its own namespace, subscribed by this test.
fn cmd_vel(ns: &TestNs) -> horus::Topic<CmdVel> {
    horus::Topic::builder("cmd_vel")
        .namespace(&ns.name)
        .build()
        .expect("cmd_vel")
}

/// Checks `out` is a usage error (status 2) of one line, with no word of
/// the YAML parser's API; returns that line.
fn usage_line(out: &Output, what: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    for api in [
        "budget",
        "Depth {",
        "DuplicateKeyPolicy",
        "Options",
        "reject_non_finite",
    ] {
        assert!(!err.contains(api), "{what}: {err}");
    }
    err
}

#[test]
fn a_mapping_the_parser_refuses_is_said_plainly_and_quoted_short() {
    let ns = TestNs::new("pubyaml");
    let _cmd = cmd_vel(&ns);
    let deep = format!("{}{}", "{".repeat(200), "}".repeat(200));
    let out = ns.run(&["topic", "pub", "cmd_vel", &deep], 30);
    let err = usage_line(&out, "deep");
    assert!(
        err.contains("nest more than 64 deep here: nest them less); "),
        "{err}"
    );
    assert!(err.contains(&format!("\"{}…\"", "{".repeat(60))), "{err}");
    assert!(err.len() < 300, "{err}");

    let out = ns.run(&["topic", "pub", "cmd_vel", "{linear: 1, linear: 2}"], 30);
    assert_eq!(
        usage_line(&out, "twice"),
        "horus: \"{linear: 1, linear: 2}\": `linear` is given twice in the same mapping: keep one\n"
    );

    // A 100 KB argument: the error quotes its first 60 characters.
    let long = format!("{{linear: [{}1}}", "1, ".repeat(33_000));
    let out = ns.run(&["topic", "pub", "cmd_vel", &long], 30);
    let err = usage_line(&out, "long");
    assert!(err.len() < 300, "{} bytes: {}", err.len(), &err[..300]);
    assert!(err.contains(&format!("{}…", &long[..60])), "{err}");
    // So is a FIELD=VALUE one.
    let out = ns.run(&["topic", "pub", "cmd_vel", &format!("linear={long}")], 30);
    let err = usage_line(&out, "long FIELD=VALUE");
    assert!(err.len() < 300, "{} bytes: {}", err.len(), &err[..300]);
}

#[test]
fn the_mapping_takes_non_finite_floats_as_field_equals_value_does() {
    let ns = TestNs::new("pubnan");
    let cmd = cmd_vel(&ns);
    let out = ns.run(
        &["topic", "pub", "cmd_vel", "{linear: .nan, angular: -.inf}"],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = cmd.recv().expect("the published command");
    assert!(m.linear.is_nan() && m.angular == f32::NEG_INFINITY, "{m:?}");
    // A numeral too large is out of range in both forms, not infinity.
    for arg in ["{linear: 1e999}", "linear=1e999"] {
        let out = ns.run(&["topic", "pub", "cmd_vel", arg], 30);
        assert_eq!(
            usage_line(&out, arg),
            "horus: linear=1e999: out of range for f32\n"
        );
    }
}

#[test]
fn a_rate_or_time_out_of_range_says_which_way() {
    let ns = TestNs::new("pubrate");
    let _cmd = cmd_vel(&ns);
    // Its period (1e300 s) overflows a duration: too slow, not too fast.
    let out = ns.run(
        &["topic", "pub", "cmd_vel", "linear=1", "--rate", "1e-300"],
        30,
    );
    assert_eq!(
        usage_line(&out, "slow"),
        "horus: --rate 1e-300: too slow: at least 5.43e-20 messages per second (one every \
         2^64 s, 585 billion years)\n"
    );
    let out = ns.run(
        &[
            "topic", "pub", "cmd_vel", "linear=1", "--rate", "2e9", "-n", "1",
        ],
        30,
    );
    assert!(usage_line(&out, "fast").contains("too fast"));
    for (args, says) in [
        (
            &["topic", "hz", "cmd_vel", "--interval", "1e300"][..],
            "too long",
        ),
        (
            &["topic", "hz", "cmd_vel", "--interval", "1e-300"],
            "at least 1ns",
        ),
        (&["topic", "echo", "cmd_vel", "--timeout=-1"], "0 or more"),
        (&["node", "pause", "x", "--timeout", "1e300"], "too long"),
    ] {
        let out = ns.run(args, 30);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// Was: `topic pub` on a topic whose stored self-description does not fit
/// its messages said it "has no self-description", where `topic echo` says
/// the region is corrupt and how to remove it.
#[test]
fn a_corrupt_self_description_is_said_as_echo_says_it() {
    let ns = TestNs::new("pubcorrupt");
    let _cmd = cmd_vel(&ns);
    const U64: u8 = 7;
    forge_schema_entry(&ns.path().join("cmd_vel.topic"), 0, 0, 16, U64, 1);
    let out = ns.run(&["topic", "pub", "cmd_vel", "linear=1"], 30);
    let err = usage_line(&out, "corrupt");
    assert!(
        err.starts_with(
            "horus: cmd_vel (CmdVel) has a self-description that does not fit its messages \
             (its entry for field "
        ) && err.contains("run `horus clean --shm` to remove it; or give the message as --hex"),
        "{err}"
    );
}
