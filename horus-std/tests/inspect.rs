//! Type-erased access, as the `horus` command and bindings use it.

mod common;

use common::TestNs;
use horus::inspect::{RawTopic, list_topics, topic_info};
use horus::prelude::*;
use horus::shm::Namespace;

message! {
    WheelEncoder { left_ticks: i64, right_ticks: i64, timestamp_ns: u64 }
}

#[test]
fn raw_handles_exchange_bytes_with_typed_ones_and_see_the_fields() {
    let ns = TestNs::new("raw");
    let typed: Topic<WheelEncoder> = Topic::builder("wheel.encoders")
        .namespace(&ns.name)
        .build()
        .unwrap();
    let raw = RawTopic::open(&ns.name, "wheel.encoders").unwrap().unwrap();
    let names: Vec<String> = raw
        .info()
        .fields
        .iter()
        .map(|f| f.name.to_string())
        .collect();
    assert_eq!(names, ["left_ticks", "right_ticks", "timestamp_ns"]);
    assert_eq!(raw.info().type_name, "WheelEncoder");
    assert_eq!(raw.message_size(), 24);

    typed.send(WheelEncoder {
        left_ticks: 10,
        right_ticks: 12,
        timestamp_ns: 7,
    });
    let mut buf = [0u8; 24];
    assert_eq!(raw.recv_bytes(&mut buf), Ok(true));
    assert_eq!(i64::from_ne_bytes(buf[8..16].try_into().unwrap()), 12);

    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&5i64.to_ne_bytes());
    raw.send_bytes(&out).unwrap();
    assert_eq!(typed.recv().map(|m| m.left_ticks), Some(10)); // its own first
    assert_eq!(typed.recv().map(|m| m.left_ticks), Some(5));
    assert!(raw.send_bytes(&[0u8; 3]).is_err());
    assert!(raw.recv_bytes(&mut [0u8; 25]).is_err());
    drop(raw);
    drop(typed);
}

#[test]
fn topic_info_lists_live_handles_with_roles_and_never_creates() {
    let ns = TestNs::new("info");
    assert!(RawTopic::open(&ns.name, "nothing").unwrap().is_none());
    assert!(!ns.path().exists(), "looking created the namespace");
    let publisher: Topic<WheelEncoder> = Topic::builder("enc").namespace(&ns.name).build().unwrap();
    let subscriber: Topic<WheelEncoder> =
        Topic::builder("enc").namespace(&ns.name).build().unwrap();
    publisher.send(WheelEncoder::default());
    assert!(subscriber.recv().is_some());
    let dir = Namespace::open_existing(&ns.name).unwrap().unwrap();
    let info = topic_info(&dir, "enc").unwrap().unwrap();
    assert_eq!(info.published, 1);
    assert_eq!(info.publishers().count(), 1);
    assert_eq!(info.subscribers().count(), 1);
    assert!(
        info.participants
            .iter()
            .all(|p| p.pid == std::process::id() && p.alive)
    );
    let all = list_topics(&dir).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].0, "enc");
    drop((publisher, subscriber));
}

/// A node that opens its topic in `init`.
struct Encoder {
    ns: String,
    topic: Option<Topic<WheelEncoder>>,
}

impl Node for Encoder {
    fn init(&mut self) -> horus::Result<()> {
        self.topic = Some(Topic::builder("enc").namespace(&self.ns).build()?);
        Ok(())
    }
    fn tick(&mut self) {}
}

#[test]
fn a_topic_created_in_a_nodes_init_records_the_node() {
    use horus::system::registry::node_tag;
    let ns = TestNs::new("holder");
    let outside: Topic<WheelEncoder> = Topic::builder("enc").namespace(&ns.name).build().unwrap();
    let mut sched = Scheduler::new()
        .namespace(&ns.name)
        .system_topics(false)
        .blackbox(false);
    sched
        .add(Encoder {
            ns: ns.name.clone(),
            topic: None,
        })
        .build()
        .unwrap();
    sched.tick_once().unwrap();
    let ns_handle = Namespace::open_existing(&ns.name).unwrap().unwrap();
    let info = topic_info(&ns_handle, "enc").unwrap().unwrap();
    let mut tags: Vec<u64> = info.participants.iter().map(|p| p.node_tag).collect();
    tags.sort_unstable();
    assert_eq!(tags, [0, node_tag("Encoder")], "{:?}", info.participants);
    drop(outside);
}
