//! A `Topic` whose participant entry is reclaimed by someone who wrongly
//! judged its process dead (a liveness bug elsewhere) is evicted: it rejoins
//! the same region on its next send, delivers that message there, and the
//! blackbox records the eviction. If the topic is full at that moment, the
//! message is counted (`unsent_count`) and the blackbox says so once.
//!
//! The "other process" is simulated with the core's region API over our own
//! mapping of the region file: `reclaim_dead` with an `is_alive` that lies,
//! and strangers (`RawHandle`s with other owner tokens) taking the freed
//! entries.

mod common;

use common::TestNs;
use horus::prelude::*;
use horus::system::blackbox::{self, AnomalyKind};
use horus_nostd::{OwnerToken, RawHandle, TopicRegion};

message! {
    Sample { seq: u64, check: u64 }
}

fn sample(seq: u64) -> Sample {
    Sample { seq, check: !seq }
}

/// Our own shared mapping of a topic's region file, as another process has.
struct Foreign {
    map: memmap2::MmapMut,
}

impl Foreign {
    fn open(topic: &Topic<Sample>) -> Self {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(topic.path())
            .expect("open the region file");
        // SAFETY: a shared mapping of the region file, accessed below only
        // through `words`, i.e. only by whole-word atomics, as every user of
        // the file does; it stays mapped while `self` lives.
        let map = unsafe { memmap2::MmapMut::map_mut(&file) }.expect("map");
        Self { map }
    }

    fn region(&mut self) -> TopicRegion<&[horus_nostd::sync::AtomicU64]> {
        let len = self.map.len();
        // SAFETY: the mapping is valid for `len` bytes for as long as the
        // borrow of `self`, page-aligned, and all of its users (the topic
        // handles of this process, this test) access it by atomic words only.
        let words = unsafe { horus_nostd::region::words_from_raw(self.map.as_mut_ptr(), len) }
            .expect("aligned");
        TopicRegion::attach::<Sample>(words).expect("attach")
    }
}

fn evictions(ns: &str) -> Vec<blackbox::BlackboxEntry> {
    blackbox::read(Some(ns))
        .expect("read the blackbox")
        .entries
        .into_iter()
        .filter(|e| e.kind == Some(AnomalyKind::ParticipantEvicted))
        .collect()
}

fn drain(sub: &Topic<Sample>) -> Vec<u64> {
    std::iter::from_fn(|| sub.recv())
        .map(|m| {
            assert_eq!(m.check, !m.seq, "torn: {m:?}");
            m.seq
        })
        .collect()
}

#[test]
fn an_evicted_topic_rejoins_keeps_delivering_and_records_it() {
    let ns = TestNs::new("evicted");
    let open = || -> Topic<Sample> {
        Topic::builder("evict")
            .namespace(&ns.name)
            .max_participants(4)
            .build()
            .unwrap()
    };
    let sub = open();
    let publisher = open();
    publisher.send(sample(1));
    assert_eq!(drain(&sub), [1]);

    let mut foreign = Foreign::open(&publisher);
    let region = foreign.region();
    // Another process judges ours dead: both handles lose their entries, and
    // strangers take them (and their lanes).
    let liar = OwnerToken::new(0x7777_0000_0001).unwrap();
    assert_eq!(region.reclaim_dead(liar, |_| false), 2);
    let stranger = |n: u64| RawHandle::join(region, OwnerToken::new(n).unwrap(), 0, 0).unwrap();
    let mut s1 = stranger(0x7777_0000_0002);
    let mut s2 = stranger(0x7777_0000_0003);
    s1.send_bytes(bytemuck::bytes_of(&sample(100))).unwrap();

    // The publisher finds out on its next send, rejoins and delivers it.
    publisher.send(sample(2));
    publisher.send(sample(3));
    s2.send_bytes(bytemuck::bytes_of(&sample(200))).unwrap();
    let mut got = drain(&sub);
    got.sort_unstable();
    assert_eq!(got, [2, 3, 100, 200]);
    assert_eq!(publisher.unsent_count(), 0);
    // The receiving side was evicted too: receiving needs no entry, and its
    // counts stay exact (one sequence reserved on the publisher's lost lane).
    assert_eq!(
        sub.received_count() + sub.dropped_count(),
        publisher.published_count()
    );
    assert_eq!((sub.dropped_count(), publisher.reserved_count()), (1, 1));
    let recorded = evictions(&ns.name);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(recorded[0].detail.ends_with("topic evict"), "{recorded:?}");
    assert!(recorded[0].detail.contains("rejoined"), "{recorded:?}");
    drop((s1, s2));
}

#[test]
fn an_evicted_topic_that_cannot_rejoin_counts_the_message_and_says_so() {
    let ns = TestNs::new("evictfull");
    let open = || -> Topic<Sample> {
        Topic::builder("full")
            .namespace(&ns.name)
            .max_participants(2)
            .build()
            .unwrap()
    };
    let sub = open();
    let publisher = open();
    let mut foreign = Foreign::open(&publisher);
    let region = foreign.region();
    let liar = OwnerToken::new(0x7777_0000_0001).unwrap();
    assert_eq!(region.reclaim_dead(liar, |_| false), 2);
    let stranger = |n: u64| RawHandle::join(region, OwnerToken::new(n).unwrap(), 0, 0).unwrap();
    let s1 = stranger(0x7777_0000_0002);
    let s2 = stranger(0x7777_0000_0003);

    // Full: neither send can be published; both are counted, recorded once.
    publisher.send(sample(1));
    publisher.send(sample(2));
    assert_eq!(publisher.unsent_count(), 2);
    let recorded = evictions(&ns.name);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(
        recorded[0].detail.contains("cannot rejoin (topic full)"),
        "{recorded:?}"
    );

    // A slot frees: the next send rejoins and is delivered.
    drop(s1);
    publisher.send(sample(3));
    assert_eq!(drain(&sub), [3]);
    assert_eq!(publisher.unsent_count(), 2);
    let recorded = evictions(&ns.name);
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert!(recorded[1].detail.contains("rejoined"), "{recorded:?}");
    drop(s2);
}
