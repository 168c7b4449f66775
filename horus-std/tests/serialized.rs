//! Serialized messages (`horus::serialized!`): across processes with exact
//! accounting (by value, and by reference into a reused message), the
//! schema in the region decoded without the type, type and schema
//! mismatches, the bound, and hostile schema bytes.

mod common;

use common::{Peer, TestNs, next_command, say};
use horus::error::{Corruption, TopicError};
use horus::inspect::{RawTopic, topic_info};
use horus::prelude::*;
use horus::serialized::{SchemaDerive, Unsent, Value, decode};
use horus_nostd::ring::Refusal;
use serde::{Deserialize, Serialize};

const TOPIC: &str = "plans";
const TIMEOUT_S: u64 = 60;

#[derive(Serialize, Deserialize, SchemaDerive, Debug, Clone, PartialEq)]
struct Plan {
    name: String,
    weights: Vec<f32>,
    seq: u64,
}
horus::serialized!(Plan);

fn plan(seq: u64) -> Plan {
    Plan {
        name: format!("plan-{seq}"),
        weights: (0..seq % 7).map(|i| i as f32 + seq as f32).collect(),
        seq,
    }
}

mod other {
    /// Same name as the test's `Plan`, other fields.
    #[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive)]
    pub struct Plan {
        pub name: String,
        pub weights: Vec<f64>,
        pub seq: u64,
    }
    horus::serialized!(Plan);
}

fn topic(ns: &TestNs) -> Topic<Plan> {
    Topic::builder(TOPIC).namespace(&ns.name).build().unwrap()
}

#[test]
fn round_trip_across_processes_with_exact_accounting() {
    across_processes("ser_xproc", "value");
}

/// `send_ref` of one message updated in place, `recv_into` one kept message.
#[test]
fn by_reference_into_a_kept_message_across_processes_with_exact_accounting() {
    across_processes("ser_xproc_ref", "ref");
}

/// The publisher child sends `N` plans (`how`: `value` by `try_send`, `ref`
/// by `send_ref` of one message it updates), this process receives them
/// (`value`: `recv`, `ref`: `recv_into` one message) while they come.
fn across_processes(ns: &str, how: &str) {
    const N: u64 = 20_000;
    let ns = TestNs::new(ns);
    let sub: Topic<Plan> = Topic::builder(TOPIC)
        .namespace(&ns.name)
        .capacity(16)
        .build()
        .unwrap();
    let mut publisher = Peer::spawn("publisher", &ns.name, &[&N.to_string(), how]);
    publisher.expect("ready", TIMEOUT_S);
    publisher.tell("go");
    let (mut received, mut last) = (0u64, 0u64);
    let mut check = |p: &Plan| {
        assert_eq!(*p, plan(p.seq), "every message arrives whole");
        assert!(p.seq > last, "in order: {} after {last}", p.seq);
        last = p.seq;
        received += 1;
    };
    let mut kept = Plan {
        name: String::new(),
        weights: Vec::new(),
        seq: 0,
    };
    let mut drain = || match how {
        "ref" => {
            while sub.recv_into(&mut kept) {
                check(&kept);
            }
        }
        _ => {
            while let Some(p) = sub.recv() {
                check(&p);
            }
        }
    };
    let mut done = false;
    while !done {
        done = publisher.has_said("sent");
        drain();
    }
    drain();
    publisher.wait_success(TIMEOUT_S);
    assert_eq!(sub.published_count(), N);
    assert_eq!(sub.received_count(), received);
    assert_eq!(
        received + sub.dropped_count(),
        N,
        "received + dropped == published"
    );
    assert_eq!(last, N, "the last message is never lost");
}

#[test]
fn recv_into_reuses_the_kept_messages_allocations() {
    let ns = TestNs::new("ser_into");
    let (a, b) = (topic(&ns), topic(&ns));
    let mut kept = Plan {
        name: String::with_capacity(64),
        weights: Vec::with_capacity(64),
        seq: 0,
    };
    let (name_at, weights_at) = (kept.name.as_ptr(), kept.weights.as_ptr());
    assert!(!b.recv_into(&mut kept), "nothing yet");
    assert_eq!(kept.seq, 0);
    // Longer, then shorter, then longer again than the kept vector holds.
    for seq in [6, 7, 13, 5] {
        a.send_ref(&plan(seq));
        assert!(b.recv_into(&mut kept));
        assert_eq!(kept, plan(seq));
        assert_eq!(kept.name.as_ptr(), name_at, "the String is reused");
        assert_eq!(kept.weights.as_ptr(), weights_at, "the Vec is reused");
    }
    assert!(!b.recv_into(&mut kept));
    assert_eq!(kept, plan(5), "untouched when there is nothing");
    // Beyond its capacity it grows, like any Vec.
    let big = Plan {
        weights: vec![2.5; 100],
        ..plan(1)
    };
    a.send_ref(&big);
    assert!(b.recv_into(&mut kept));
    assert_eq!(kept, big);
    assert_eq!(b.received_count(), 5);
    assert_eq!(a.published_count(), 5);
    assert_eq!(b.dropped_count(), 0);
}

#[test]
fn tools_decode_with_the_stored_schema() {
    let ns = TestNs::new("ser_decode");
    let t = topic(&ns);
    let info = topic_info(&horus::shm::Namespace::open(&ns.name).unwrap(), TOPIC)
        .unwrap()
        .unwrap();
    let schema = info.serialized.clone().expect("a serialized topic");
    assert_eq!(schema.name, "Plan");
    assert!(info.fields.is_empty());
    let raw = RawTopic::open(&ns.name, TOPIC).unwrap().unwrap();
    t.send(plan(9));
    let mut buf = vec![0u8; raw.message_size()];
    let body = raw.recv_frame(&mut buf).unwrap().expect("a message");
    let v = decode(&schema, body).unwrap();
    assert_eq!(
        v.to_string(),
        "{name: \"plan-9\", weights: [9, 10], seq: 9}",
    );
    let Value::Struct(fields) = v else { panic!() };
    assert_eq!(fields[2], ("seq".to_owned(), Value::UInt(9)));
    // And back: a tool publishes a message the typed handle receives.
    let bytes = horus::serialized::encode(&schema, &Value::Struct(fields)).unwrap();
    raw.send_frame(&bytes).unwrap();
    assert_eq!(t.recv(), Some(plan(9)));
}

#[test]
fn another_definition_of_the_name_is_the_type_mismatch_error() {
    let ns = TestNs::new("ser_mismatch");
    let _t = topic(&ns);
    let e = Topic::<other::Plan>::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            horus::Error::Topic(TopicError::TypeMismatch {
                same_name: true,
                ..
            })
        ),
        "{e}"
    );
    let e = Topic::<CmdVel>::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap_err();
    assert!(
        matches!(e, horus::Error::Topic(TopicError::TypeMismatch { .. })),
        "{e}"
    );
}

/// A message the topic takes no frame of (every publisher lane held) is
/// handed back by `try_send` with the reason, and counted by `send` and
/// `send_ref`: it used to be reported sent and only counted.
#[test]
fn a_send_refused_for_want_of_a_lane_says_so() {
    let ns = TestNs::new("ser_nolane");
    let one_lane = || -> Topic<Plan> {
        Topic::builder(TOPIC)
            .namespace(&ns.name)
            .max_publishers(1)
            .build()
            .unwrap()
    };
    let (a, b) = (one_lane(), one_lane());
    a.send(plan(1));
    match b.try_send(plan(2)) {
        Err(Unsent::Refused {
            message,
            reason: Refusal::NoLane { max_publishers: 1 },
            ..
        }) => assert_eq!(message, plan(2)),
        other => panic!("{other:?}"),
    }
    let kept = plan(3);
    let e = b.try_send_ref(&kept).unwrap_err();
    assert!(
        e.to_string().contains("was not published") && e.to_string().contains("max_publishers"),
        "{e}"
    );
    assert!(std::ptr::eq(e.into_message(), &kept));
    assert_eq!(b.unsent_count(), 0, "try_send counts nothing");
    b.send(plan(4));
    b.send_ref(&plan(5));
    assert_eq!(b.unsent_count(), 2);
    assert_eq!(a.recv(), Some(plan(1)));
    assert_eq!(a.recv(), None, "a refused message arrived");
}

#[test]
fn a_message_over_the_bound_is_an_error_or_counted_never_silent() {
    let ns = TestNs::new("ser_bound");
    let t: Topic<Plan> = Topic::builder(TOPIC)
        .namespace(&ns.name)
        .max_message_bytes(32)
        .build()
        .unwrap();
    let big = Plan {
        weights: vec![1.0; 10],
        ..plan(1)
    };
    let Err(Unsent::TooLarge(e)) = t.try_send(big.clone()) else {
        panic!("a message over the bound was sent")
    };
    assert_eq!((e.bytes, e.max), (49, 32));
    assert_eq!(e.message, big);
    assert!(
        e.to_string().contains("over the topic's bound of 32"),
        "{e}"
    );
    assert_eq!(t.unsent_count(), 0, "try_send counts nothing");
    t.send(big.clone());
    assert_eq!(t.unsent_count(), 1);
    // By reference: the same error, handing the reference back.
    let Err(Unsent::TooLarge(e)) = t.try_send_ref(&big) else {
        panic!("a message over the bound was sent")
    };
    assert!(std::ptr::eq(e.message, &big));
    assert_eq!((e.bytes, e.max), (49, 32));
    t.send_ref(&big);
    assert_eq!(t.unsent_count(), 2);
    assert_eq!(t.published_count(), 0);
    t.send(plan(1));
    assert_eq!(t.recv(), Some(plan(1)));
    // A bound out of range names the option and its range (it was the
    // frame's layout error: "a message of 4 bytes ... must be 1 byte to 16
    // MiB" for a bound of 0).
    let max = (16 << 20) - 4;
    for bound in [0, max + 1, u32::MAX] {
        let e = Topic::<Plan>::builder("other")
            .namespace(&ns.name)
            .max_message_bytes(bound)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                e,
                horus::Error::Topic(TopicError::MaxMessageBytes { value, max: m, .. })
                    if value == bound && m == max
            ),
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains(&format!("max_message_bytes({bound})"))
                && text.contains(&format!("use 1 to {max}"))
                && text.contains("\"other\""),
            "{text}"
        );
    }
    let at_max: Topic<Plan> = Topic::builder("other")
        .namespace(&ns.name)
        .max_message_bytes(max)
        .build()
        .unwrap();
    drop(at_max);
    // A handle without a bound takes the topic's; another explicit one is an error.
    let same: Topic<Plan> = topic(&ns);
    assert!(same.try_send(plan(1)).is_ok());
    let e = Topic::<Plan>::builder(TOPIC)
        .namespace(&ns.name)
        .max_message_bytes(64)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            horus::Error::Topic(TopicError::GeometryMismatch {
                what: "max_message_bytes",
                requested: 64,
                existing: 32,
                ..
            })
        ),
        "{e}"
    );
}

#[test]
fn hostile_schema_bytes_are_a_typed_error() {
    use std::os::unix::fs::FileExt;
    let ns = TestNs::new("ser_hostile");
    let t = topic(&ns);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(t.path())
        .unwrap();
    let mut word = [0u8; 8];
    file.read_exact_at(&mut word, 11 * 8).unwrap(); // hdr::SCHEMA_AT
    let schema_at = u64::from_le_bytes(word) * 8;
    file.write_all_at(b"HSS\x01\x04Plan\x63", schema_at)
        .unwrap();
    let namespace = horus::shm::Namespace::open(&ns.name).unwrap();
    let e = topic_info(&namespace, TOPIC).unwrap_err();
    assert!(
        matches!(
            e,
            horus::Error::Topic(TopicError::Corrupt {
                reason: Corruption::BadSchema(_),
                ..
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("unknown tag 99"), "{e}");
    // A length beyond the schema area is refused by the core at attach.
    file.read_exact_at(&mut word, 14 * 8).unwrap(); // hdr::SCHEMA_FORMAT
    let format = u64::from_le_bytes(word);
    file.write_all_at(&(format + (1 << 20)).to_le_bytes(), 14 * 8)
        .unwrap();
    let e = topic_info(&namespace, TOPIC).unwrap_err();
    assert!(e.to_string().contains("schema_format"), "{e}");
    drop(t);
}

/// A message of zero-sized elements: each takes no byte on the wire.
#[derive(Serialize, Deserialize, SchemaDerive, Debug, Clone, PartialEq)]
struct Ticks {
    ticks: Vec<()>,
}
horus::serialized!(Ticks);

/// Was an error: the stored-schema decoder (`horus topic echo`, Python)
/// capped a sequence's length at the bytes left, refusing a valid message
/// of zero-sized elements as "ends early".
#[test]
fn tools_decode_a_sequence_of_zero_sized_elements() {
    let ns = TestNs::new("ser_zst_decode");
    let t: Topic<Ticks> = Topic::builder("ticks").namespace(&ns.name).build().unwrap();
    let info = topic_info(&horus::shm::Namespace::open(&ns.name).unwrap(), "ticks")
        .unwrap()
        .unwrap();
    let schema = info.serialized.expect("a serialized topic");
    let raw = RawTopic::open(&ns.name, "ticks").unwrap().unwrap();
    let msg = Ticks {
        ticks: vec![(); 10],
    };
    t.send(msg.clone());
    let mut buf = vec![0u8; raw.message_size()];
    let body = raw.recv_frame(&mut buf).unwrap().expect("a message");
    assert_eq!(body, [10], "ten units take their count and no byte each");
    let v = decode(&schema, body).unwrap();
    assert_eq!(
        v,
        Value::Struct(vec![("ticks".into(), Value::Seq(vec![Value::Unit; 10]))])
    );
    // And back, to the typed handle.
    raw.send_frame(&horus::serialized::encode(&schema, &v).unwrap())
        .unwrap();
    assert_eq!(t.recv(), Some(msg));
}

/// Was a hang: a frame claiming u64::MAX zero-sized elements made the typed
/// `recv` (postcard and serde) loop once per element without consuming a
/// byte. It is refused, counted, and the receive returns at once.
#[test]
fn a_frame_claiming_endless_zero_sized_elements_is_refused_at_once() {
    let ns = TestNs::new("ser_zst_hang");
    let t: Topic<Ticks> = Topic::builder("ticks").namespace(&ns.name).build().unwrap();
    let raw = RawTopic::open(&ns.name, "ticks").unwrap().unwrap();
    let mut hostile = vec![0xff; 9];
    hostile.push(0x01); // varint u64::MAX
    let start = std::time::Instant::now();
    raw.send_frame(&hostile).unwrap();
    assert_eq!(t.recv(), None);
    let mut kept = Ticks { ticks: Vec::new() };
    raw.send_frame(&hostile).unwrap();
    assert!(!t.recv_into(&mut kept));
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(t.received_count(), 0, "both refused");
    // A valid message after them still arrives.
    let ok = Ticks {
        ticks: vec![(); 1000],
    };
    t.send(ok.clone());
    assert_eq!(t.recv(), Some(ok));
    assert_eq!(t.received_count(), 1);
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    let (role, args) = common::child_role();
    match role.as_str() {
        // args: messages to send after `go`, `value` or `ref` (see `across_processes`).
        "publisher" => {
            let n: u64 = args[0].parse().unwrap();
            let t: Topic<Plan> = Topic::new(TOPIC).unwrap();
            say("ready");
            assert_eq!(next_command().as_deref(), Some("go"));
            let mut kept = plan(0);
            for seq in 1..=n {
                if args[1] == "ref" {
                    let next = plan(seq);
                    kept.name.clone_from(&next.name);
                    kept.weights.clone_from(&next.weights);
                    kept.seq = seq;
                    t.try_send_ref(&kept).unwrap();
                } else {
                    t.try_send(plan(seq)).unwrap();
                }
            }
            say("sent");
        }
        other => panic!("unknown role {other}"),
    }
}
