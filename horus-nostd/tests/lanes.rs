//! The lane pool (`ring/lanes.rs`): a topic of `max_publishers` lanes gives
//! one to each handle at its first send, refuses a publisher too many with
//! its message back, takes a lane back from a handle that leaves, is
//! reclaimed or whose tag went stale, and every new holder continues the
//! lane's sequence, so readers count every message exactly once.

#![cfg(not(loom))]

use horus_nostd::layout::{hdr, part};
use horus_nostd::message::{Message, TypeInfo};
use horus_nostd::msgs::Heartbeat;
use horus_nostd::ring::{Refusal, SendRefused};
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{OwnerToken, TopicHandle, TopicLayout, TopicRegion};

type Handle<'m> = TopicHandle<Heartbeat, &'m [AtomicU64]>;

const CAPACITY: u32 = 4;

fn layout(participants: u32, lanes: u32) -> TopicLayout {
    TopicLayout::of_publishers::<Heartbeat>(CAPACITY, participants, lanes).expect("geometry")
}

fn memory(participants: u32, lanes: u32) -> Vec<AtomicU64> {
    (0..layout(participants, lanes).region_words())
        .map(|_| AtomicU64::new(0))
        .collect()
}

fn region(mem: &[AtomicU64], participants: u32, lanes: u32) -> TopicRegion<&[AtomicU64]> {
    let l = layout(participants, lanes);
    TopicRegion::init_with(mem, l, TypeInfo::of::<Heartbeat>(), Heartbeat::FIELDS, 0).expect("init")
}

fn token(raw: u64) -> OwnerToken {
    OwnerToken::new(raw).expect("token")
}

fn join(region: TopicRegion<&[AtomicU64]>, t: u64) -> Handle<'_> {
    TopicHandle::join(region, token(t), 0, 0).expect("join")
}

fn beat(sequence: u64) -> Heartbeat {
    Heartbeat {
        sequence,
        ..Default::default()
    }
}

/// Every message `h` can receive now, by `sequence`.
fn drain(h: &mut Handle<'_>) -> Vec<u64> {
    core::iter::from_fn(|| h.recv())
        .map(|m| m.sequence)
        .collect()
}

fn exact(sub: &Handle<'_>, region: &TopicRegion<&[AtomicU64]>) {
    assert_eq!(
        sub.delivered_count() + sub.dropped_count(),
        region.published_count(),
        "delivered + dropped == published"
    );
}

#[test]
fn receivers_take_no_lane_and_a_publisher_too_many_gets_its_message_back() {
    let mem = memory(6, 2);
    let region = region(&mem, 6, 2);
    let mut subs = [join(region, 1), join(region, 1)];
    let [mut a, mut b, mut c] = [join(region, 2), join(region, 3), join(region, 4)];
    for s in &mut subs {
        assert_eq!(s.recv(), None);
        assert_eq!(s.raw().lane(), None, "a receiver holds no lane");
    }
    assert_eq!(region.lanes_in_use(), 0);
    a.send(beat(1)).expect("lane 0");
    b.send(beat(2)).expect("lane 1");
    assert_eq!((a.raw().lane(), b.raw().lane()), (Some(0), Some(1)));
    assert_eq!(region.lanes_in_use(), 2);
    let refused = c.send(beat(3)).expect_err("no third lane");
    assert_eq!(
        refused,
        SendRefused {
            msg: beat(3),
            reason: Refusal::NoLane { max_publishers: 2 }
        }
    );
    let sentence = refused.to_string();
    assert!(
        sentence.contains("max_publishers = 2") && sentence.contains(".max_publishers(n)"),
        "{sentence}"
    );
    assert_eq!(c.raw().lane(), None);
    // `a` leaves: its lane is free, and `c`'s retry takes it and continues
    // its sequence (2 after `a`'s 1).
    drop(a);
    assert_eq!(region.lanes_in_use(), 1);
    c.send(refused.msg).expect("a's lane");
    assert_eq!(c.raw().lane(), Some(0));
    for s in &mut subs {
        let mut got = drain(s);
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3]);
        assert_eq!(s.dropped_count(), 0);
        exact(s, &region);
    }
    assert_eq!(region.published_count(), 3); // lane 0: 1, 2; lane 1: 1
}

#[test]
fn a_reclaimed_publisher_frees_its_lane_and_readers_count_exactly() {
    let mem = memory(4, 1);
    let region = region(&mem, 4, 1);
    let mut sub = join(region, 1);
    let mut doomed = join(region, 7);
    let mut waiting = join(region, 2);
    doomed.send(beat(1)).expect("the only lane");
    assert!(
        waiting.send(beat(100)).is_err(),
        "no lane while doomed holds it"
    );
    core::mem::forget(doomed); // killed between two messages
    assert_eq!(region.reclaim_dead(token(1), |t| t != token(7)), 1);
    assert_eq!(region.lanes_in_use(), 0);
    // The reclaim reserved the sequence after 1 (the dead holder may have
    // been about to write it): the new holder starts at 3.
    for s in 2..=3 {
        waiting.send(beat(s)).expect("the freed lane");
    }
    assert_eq!(drain(&mut sub), [1, 2, 3]);
    assert_eq!((sub.dropped_count(), region.reserved_count()), (1, 1));
    assert_eq!(region.published_count(), 4);
    exact(&sub, &region);
}

#[test]
fn a_stale_lane_is_taken_over_with_its_in_flight_sequence_reserved() {
    let mem = memory(4, 1);
    let region = region(&mem, 4, 1);
    let mut sub = join(region, 1);
    let mut gone = join(region, 7);
    gone.send(beat(1)).expect("the only lane");
    let index = gone.raw().index() as usize;
    core::mem::forget(gone);
    // Its entry was reclaimed by a reclaim that never saw the lane (as if the
    // holder had died right after its lane CAS): only the claim counter moved.
    let participants_at = mem[hdr::PARTICIPANTS_AT].load(Ordering::Relaxed) as usize;
    mem[participants_at + index * part::WORDS + part::CLAIM].fetch_add(1, Ordering::Relaxed);
    assert_eq!(region.lanes_in_use(), 0, "a stale tag is not in use");
    let mut next = join(region, 2);
    next.send(beat(2)).expect("took the stale lane over");
    assert_eq!(next.raw().lane(), Some(0));
    assert_eq!(drain(&mut sub), [1, 2]);
    // One reserved sequence (a counted drop) between the holders' messages.
    assert_eq!((sub.dropped_count(), region.reserved_count()), (1, 1));
    exact(&sub, &region);
}

#[test]
fn an_evicted_handle_gets_its_lane_back_only_after_rejoining() {
    let mem = memory(4, 1);
    let region = region(&mem, 4, 1);
    let mut sub = join(region, 1);
    let mut a = join(region, 2);
    a.send(beat(1)).expect("the only lane");
    // Wrongly judged dead: entry and lane reclaimed.
    assert_eq!(region.reclaim_dead(token(9), |t| t != token(2)), 1);
    let Err(SendRefused {
        msg,
        reason: Refusal::Evicted,
    }) = a.send(beat(2))
    else {
        panic!("an evicted handle published");
    };
    a.rejoin(0, 0).expect("a free entry");
    assert_eq!(a.raw().lane(), None);
    a.send(msg).expect("the freed lane, continued");
    assert_eq!(drain(&mut sub), [1, 2]);
    exact(&sub, &region);
}

#[test]
fn geometry_bounds_the_lanes_and_receivers_cost_one_line() {
    let one = layout(16, 3);
    let more = layout(17, 3);
    // One 64-byte entry (or nothing, where the block alignment of the
    // lanes had room for it).
    assert!(more.region_bytes() - one.region_bytes() <= 64);
    assert_eq!(one.max_publishers(), 3);
    assert!(TopicLayout::of_publishers::<Heartbeat>(CAPACITY, 2, 3).is_err());
    assert!(TopicLayout::of_publishers::<Heartbeat>(CAPACITY, 2, 0).is_err());
}

/// A publisher that comes after one that left continues its lane (the
/// first free lane, however many others never published), so a reader
/// with messages of the old one still unread gets them first and the new
/// one's after them: a restarted node's fresh data never arrives before
/// its predecessor's stale data (see `ring/lanes.rs`).
#[test]
fn a_new_publisher_continues_the_lane_of_the_one_that_left() {
    let mem = memory(6, 3);
    let region = region(&mem, 6, 3);
    let mut sub = join(region, 1);
    let mut old = join(region, 2);
    for s in 1..=2 {
        old.send(beat(s)).expect("a free lane");
    }
    assert_eq!(old.raw().lane(), Some(0));
    drop(old);
    let mut new = join(region, 3);
    for s in 11..=12 {
        new.send(beat(s)).expect("a free lane");
    }
    assert_eq!(new.raw().lane(), Some(0), "the lane the old one left");
    // Four messages: the lane's capacity holds them all.
    assert_eq!(drain(&mut sub), [1, 2, 11, 12], "publication order");
    assert_eq!(sub.dropped_count(), 0);
    exact(&sub, &region);
}

/// A refusal that advises removing the region names the command that does
/// it: `horus clean --shm` (`horus clean` alone is a usage error).
#[test]
fn refusals_advise_horus_clean_with_shm() {
    for r in [
        Refusal::NoLane { max_publishers: 3 },
        Refusal::LaneExhausted { lane: 1, seq: 2 },
    ] {
        let s = r.to_string();
        assert!(s.contains("`horus clean --shm`"), "{s}");
    }
}
