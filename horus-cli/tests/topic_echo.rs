//! How `horus topic echo` shows a message: a serialized topic decoded from
//! the schema its region stores (fields, nested messages, `--field`, JSON,
//! a frame of bad length), text and non-finite floats in JSON, and arrays
//! of two dimensions (echoed as rows, published from rows).

mod common;

use common::{Running, TestNs, text};

/// A serialized type as a user declares it without depending on
/// postcard-schema directly (the derive is pointed at horus's re-export).
#[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive)]
#[postcard(crate = horus::serialized::postcard_schema)]
struct Plan {
    name: String,
    weights: Vec<f32>,
    mode: Option<u8>,
}
horus::serialized!(Plan);

#[test]
fn echo_decodes_a_serialized_topic_from_its_stored_schema() {
    let ns = TestNs::new("echo_serialized");
    let t: horus::Topic<Plan> = horus::Topic::builder("plans")
        .namespace(&ns.name)
        .build()
        .unwrap();
    t.send(Plan {
        name: "arm".into(),
        weights: vec![0.5, 2.0],
        mode: None,
    });
    let out = ns.run(&["topic", "echo", "plans", "--last", "--once"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "name: \"arm\"\nweights: [0.5, 2]\nmode: null\n---\n"
    );
    let out = ns.run(
        &[
            "topic", "echo", "plans", "--last", "--once", "--json", "-f", "weights",
        ],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v, serde_json::json!({"weights": [0.5, 2.0]}));

    // `topic info` and `topic list -v` say it is serialized and decoded by
    // echo (they said "no self-description: `topic echo` shows hex").
    for args in [
        &["topic", "info", "plans", "--no-rate"][..],
        &["topic", "list", "-v"],
    ] {
        let s = text(&ns.run(args, 30).stdout);
        assert!(
            s.contains("(serialized, postcard: `topic echo` decodes it") && !s.contains("hex"),
            "{args:?}: {s}"
        );
    }

    // `topic pub` cannot build a serialized frame: a usage error saying so,
    // nothing published (it asked for --hex, which writes no valid frame).
    for args in [
        &["topic", "pub", "plans", "name=x"][..],
        &["topic", "pub", "plans", "--hex", "00"],
    ] {
        let out = ns.run(args, 30);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("plans (Plan) is a serialized topic"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let v = serde_json::from_slice::<serde_json::Value>(
        &ns.run(&["topic", "list", "--json"], 30).stdout,
    )
    .expect("json");
    assert_eq!(v["topics"][0]["published"], 1, "{v}");
}

/// A point of a [`Mission`].
#[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive)]
#[postcard(crate = horus::serialized::postcard_schema)]
struct Goal {
    x: f32,
    y: f32,
}

/// A serialized type with nested messages, one of them optional.
#[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive)]
#[postcard(crate = horus::serialized::postcard_schema)]
struct Mission {
    name: String,
    goal: Goal,
    via: Option<Goal>,
}
horus::serialized!(Mission);

/// `echo --field` on a serialized topic printed `---` and exited 0 for a
/// field the type does not have, and for a nested one (`goal.x`), though
/// `--help` says a path selects a nested field. It is checked against the
/// stored schema (a usage error listing the fields) and walks nested messages.
#[test]
fn echo_field_of_a_serialized_topic_is_checked_and_walks_nested_messages() {
    let ns = TestNs::new("echo_ser_field");
    let t: horus::Topic<Mission> = horus::Topic::builder("mission")
        .namespace(&ns.name)
        .build()
        .unwrap();
    t.send(Mission {
        name: "dock".into(),
        goal: Goal { x: 1.5, y: -2.0 },
        via: None,
    });
    let echo = |fields: &[&str]| {
        let mut args = vec!["topic", "echo", "mission", "--last", "--once"];
        for f in fields {
            args.extend(["--field", f]);
        }
        ns.run(&args, 30)
    };
    let out = echo(&["goal.x", "via.y", "goal"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "goal.x: 1.5\nvia.y: null\ngoal: {x: 1.5, y: -2}\n---\n"
    );
    for (field, says) in [
        (
            "nosuch",
            "Mission has no such field (fields: name, goal, via)",
        ),
        ("goal.z", "Mission has no such field (fields of goal: x, y)"),
        ("name.len", "Mission has no such field (name has no fields)"),
        ("goal.", "Mission has no such field (fields of goal: x, y)"),
    ] {
        let out = echo(&[field]);
        assert_eq!(out.status.code(), Some(2), "{field}");
        assert_eq!(
            text(&out.stderr),
            format!("horus: --field {field}: {says}\n"),
            "{field}"
        );
    }
}

/// `echo --json`: an empty NUL-padded text field (Odometry's `frame_id`)
/// was an array of 32 zeros, a string once set; NaN, +inf and -inf were all
/// `null`, so a REP-117 range lost its meaning. Empty text is `""`, and the
/// three floats are `"NaN"`, `"inf"`, `"-inf"`, on plain and serialized
/// topics alike.
#[test]
fn echo_json_shows_empty_text_as_a_string_and_non_finite_floats_by_name() {
    use horus::msgs::{LaserScan, Odometry};
    let ns = TestNs::new("echo_json_text");
    let json = |topic: &str| {
        let out = ns.run(&["topic", "echo", topic, "--last", "--once", "--json"], 30);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    let odom: horus::Topic<Odometry> = horus::Topic::builder("odom")
        .namespace(&ns.name)
        .build()
        .unwrap();
    odom.send(Odometry::default());
    let v = json("odom");
    assert_eq!(
        (&v["frame_id"], &v["child_frame_id"]),
        (&"".into(), &"".into()),
        "{v}"
    );
    let out = ns.run(
        &[
            "topic", "echo", "odom", "--last", "--once", "-f", "frame_id",
        ],
        30,
    );
    assert_eq!(text(&out.stdout), "frame_id: \"\"\n---\n");

    let scan: horus::Topic<LaserScan> = horus::Topic::builder("scan")
        .namespace(&ns.name)
        .build()
        .unwrap();
    let mut msg = LaserScan::default();
    msg.ranges[..4].copy_from_slice(&[f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1.5]);
    scan.send(msg);
    let v = json("scan");
    let first: Vec<_> = v["ranges"].as_array().expect("ranges")[..4].to_vec();
    assert_eq!(
        first,
        serde_json::json!(["inf", "-inf", "NaN", 1.5])
            .as_array()
            .unwrap()[..]
    );

    let plans: horus::Topic<Plan> = horus::Topic::builder("plans")
        .namespace(&ns.name)
        .build()
        .unwrap();
    plans.send(Plan {
        name: String::new(),
        weights: vec![f32::NAN, f32::NEG_INFINITY, 0.5],
        mode: None,
    });
    let v = json("plans");
    assert_eq!(v["weights"], serde_json::json!(["NaN", "-inf", 0.5]), "{v}");
}

/// A slot of a serialized topic whose length word claims 0x7fffffff bytes
/// (only a corrupt or hostile region holds one): `echo --last` stopped at
/// it and showed an older message; live `echo -n` skipped it without a
/// word and waited for another message. It is shown as an `error:` naming
/// the bad length, counted as a message; `--last` shows the newest slot.
#[test]
fn echo_of_a_serialized_topic_shows_a_frame_of_bad_length_as_an_error() {
    let ns = TestNs::new("echo_badframe");
    let t: horus::Topic<Plan> = horus::Topic::builder("plans")
        .namespace(&ns.name)
        .build()
        .unwrap();
    let plan = |name: &str| Plan {
        name: name.into(),
        weights: vec![1.0],
        mode: Some(3),
    };
    let raw = horus::inspect::RawTopic::open(&ns.name, "plans")
        .unwrap()
        .expect("the topic");
    let mut bad = vec![0u8; raw.message_size()];
    bad[..4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let bad_error = format!(
        "error: \"a received frame claims 2147483647 bytes where the topic's slots hold at most \
         {}: the region is corrupt",
        raw.message_size() - 4
    );
    let shown = |name: &str| format!("name: \"{name}\"\nweights: [1]\nmode: 3\n---\n");

    // The bad slot is the newest: --last shows its error (it showed "old").
    t.send(plan("old"));
    raw.send_bytes(&bad).unwrap();
    let out = ns.run(&["topic", "echo", "plans", "--last", "--once"], 30);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        said.starts_with(&bad_error) && said.ends_with("---\n"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 2, "{said}");
    let out = ns.run(
        &["topic", "echo", "plans", "--last", "--once", "--json"],
        30,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("claims 2147483647 bytes")),
        "{v}"
    );
    // A good message after it is the newest: --last shows it.
    t.send(plan("new"));
    let out = ns.run(&["topic", "echo", "plans", "--last", "--once"], 30);
    assert_eq!(text(&out.stdout), shown("new"), "{}", text(&out.stderr));

    // Live: the bad frame is one of the 4 messages, shown in its place.
    let mut echo = Running::start(ns.horus(&[
        "topic",
        "echo",
        "plans",
        "--last",
        "-n",
        "4",
        "--timeout",
        "20",
    ]));
    echo.expect("name: \"new\"", 30);
    raw.send_bytes(&bad).unwrap();
    t.send(plan("a"));
    t.send(plan("b"));
    let code = echo.stop("0", 30); // waits for the exit, without a signal
    let said = echo.seen.join("\n") + "\n";
    assert_eq!(code, Some(0), "{said}");
    let expected = format!("{}{bad_error}", shown("new"),);
    assert!(said.starts_with(&expected), "{said}");
    assert!(
        said.ends_with(&format!("---\n{}{}", shown("a"), shown("b"))),
        "{said}"
    );
    assert_eq!(said.matches("---").count(), 4, "{said}");
    drop((t, raw, echo));
}

horus::message! {
    /// A message with a two-dimensional array and an array of messages of
    /// two dimensions.
    Field2d {
        stamp: u64,
        cells: [[i16; 2]; 3],
        spots: [[Spot; 1]; 2],
        _pad: [u8; 4],
    }
    Spot { x: f32 }
}

#[test]
fn arrays_of_two_dimensions_echo_as_rows_and_publish_from_rows() {
    let ns = TestNs::new("echo_shape");
    let t: horus::Topic<Field2d> = horus::Topic::builder("grid")
        .namespace(&ns.name)
        .build()
        .unwrap();
    t.send(Field2d {
        stamp: 7,
        cells: [[1, -2], [3, 4], [5, 6]],
        spots: [[Spot { x: 0.5 }], [Spot { x: 1.5 }]],
        _pad: [0; 4],
    });
    let out = ns.run(&["topic", "echo", "grid", "--last", "--once"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "stamp: 7\ncells: [[1, -2], [3, 4], [5, 6]]\nspots[0][0].x: 0.5\nspots[1][0].x: 1.5\n\
         _pad: [0, 0, 0, 0]\n---\n"
    );
    let out = ns.run(&["topic", "info", "grid", "--json", "--no-rate"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let cells = &v["fields"][1];
    assert_eq!(cells["name"], "cells");
    assert_eq!(cells["shape"], serde_json::json!([3, 2]));
    assert_eq!(cells["count"], 6);
    assert!(v["pooled"].is_null() && v["pool"].is_null(), "{v}");
    let (resident, region) = (v["resident_bytes"].as_u64(), v["region_bytes"].as_u64());
    assert!(
        matches!((resident, region), (Some(r), Some(n)) if r > 0 && r <= n.next_multiple_of(4096)),
        "{v}"
    );
    let out = ns.run(&["topic", "info", "grid", "--no-rate"], 30);
    assert!(
        text(&out.stdout).contains("cells                    [[i16; 2]; 3]"),
        "{}",
        text(&out.stdout)
    );
    // `topic list -v` writes the type as Rust does too.
    let out = ns.run(&["topic", "list", "--verbose"], 30);
    assert!(
        text(&out.stdout).contains("    cells                    [[i16; 2]; 3] @8"),
        "{}",
        text(&out.stdout)
    );
    // `topic pub` takes the rows and refuses a flat list with the shape.
    let sub: horus::Topic<Field2d> = horus::Topic::builder("grid")
        .namespace(&ns.name)
        .build()
        .unwrap();
    while sub.recv().is_some() {}
    let out = ns.run(
        &["topic", "pub", "grid", "cells=[[9, 8], [7]]", "stamp=1"],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = sub.recv().expect("the published message");
    assert_eq!((got.stamp, got.cells), (1, [[9, 8], [7, 0], [0, 0]]));
    let out = ns.run(&["topic", "pub", "grid", "cells=[1, 2, 3, 4, 5, 6]"], 30);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("it is [[i16; 2]; 3]: give rows, e.g. cells=[[0, ...], ...]"),
        "{}",
        text(&out.stderr)
    );
}
