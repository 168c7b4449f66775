//! Type-erased topics of run-time message types meet typed `Topic<T>`s of
//! the same `message!` on one region; a different definition is the same
//! type-mismatch error.

mod common;

use common::TestNs;
use horus::dynamic::{DynTopic, FieldKind, FieldSpec, FieldTy, MessageType};
use horus::prelude::*;

message! {
    WheelEncoder {
        left_ticks: i64,
        right_ticks: i64,
        timestamp_ns: u64,
    }
}

fn encoder_type(last: &str) -> MessageType {
    let p = |n: &str, k| FieldSpec::new(n, FieldTy::Prim(k));
    MessageType::define(
        "WheelEncoder",
        &[
            p("left_ticks", FieldKind::I64),
            p("right_ticks", FieldKind::I64),
            p(last, FieldKind::U64),
        ],
    )
    .unwrap()
}

#[test]
fn dyn_and_typed_handles_share_a_topic_both_ways() {
    let ns = TestNs::new("dyn_typed");
    let ty = encoder_type("timestamp_ns");
    assert_eq!(ty, MessageType::of::<WheelEncoder>());
    let dynt = DynTopic::with_namespace("enc", &ty, Some(&ns.name)).unwrap();
    let typed: Topic<WheelEncoder> = Topic::builder("enc").namespace(&ns.name).build().unwrap();
    let m = WheelEncoder {
        left_ticks: -3,
        right_ticks: 7,
        timestamp_ns: 99,
    };
    typed.send(m);
    let mut buf = [0u8; 24];
    assert_eq!(dynt.recv_bytes(&mut buf), Ok(true));
    assert_eq!(&buf, bytemuck::bytes_of(&m));
    dynt.send_bytes(bytemuck::bytes_of(&WheelEncoder { left_ticks: 1, ..m }))
        .unwrap();
    // `typed` receives its own message and the dynamic one (lanes interleave).
    let mut got: Vec<i64> = std::iter::from_fn(|| typed.recv())
        .map(|e| e.left_ticks)
        .collect();
    got.sort();
    assert_eq!(got, [-3, 1]);
    assert!(dynt.send_bytes(&[0u8; 3]).is_err());
    assert_eq!(dynt.dropped_count(), 0);
}

#[test]
fn another_definition_of_the_name_is_the_type_mismatch_error() {
    let ns = TestNs::new("dyn_mismatch");
    let _typed: Topic<WheelEncoder> = Topic::builder("enc").namespace(&ns.name).build().unwrap();
    let other = encoder_type("stamp");
    let e = DynTopic::with_namespace("enc", &other, Some(&ns.name)).unwrap_err();
    assert!(e.to_string().contains("two different definitions"), "{e}");
    let e =
        DynTopic::with_namespace("enc", &MessageType::of::<CmdVel>(), Some(&ns.name)).unwrap_err();
    assert!(e.to_string().contains("this program uses `CmdVel`"), "{e}");
}
