//! The receive fast path (`lane::Expected`): taken while one lane is active,
//! left for the general path by everything else, and never changing what is
//! delivered or counted; and the send fast path (`lane::Sending`): always
//! the words the slot arithmetic names.

use super::TopicHandle;
use super::lane::Expected;
use super::stamp::{self, DONE};
use crate::OwnerToken;
use crate::msgs::Heartbeat;
use crate::region::{RegionBuffer, TopicRegion};
use crate::sync::AtomicU64;

/// A region over borrowed test memory and two handles of it.
type Pair<'m> = (
    TopicRegion<&'m [AtomicU64]>,
    [TopicHandle<Heartbeat, &'m [AtomicU64]>; 2],
);

fn beat(sequence: u64) -> Heartbeat {
    Heartbeat {
        sequence,
        ..Default::default()
    }
}

fn me() -> OwnerToken {
    OwnerToken::new(1).unwrap()
}

/// A region of `Heartbeat`s, capacity 4, in `mem`.
fn region(mem: &RegionBuffer<4096>, participants: u32) -> TopicRegion<&[AtomicU64]> {
    TopicRegion::init::<Heartbeat>(mem.words(), 4, participants, 0).unwrap()
}

fn join(region: TopicRegion<&[AtomicU64]>) -> TopicHandle<Heartbeat, &[AtomicU64]> {
    TopicHandle::join(region, me(), 0, 0).unwrap()
}

/// A region of two participants in `mem`, its publisher and its subscriber.
fn pair(mem: &RegionBuffer<4096>) -> Pair<'_> {
    let region = region(mem, 2);
    (region, [join(region), join(region)])
}

/// As [`pair`], with message 1 published and received: the subscriber is on
/// the fast path.
fn on_fast_path(mem: &RegionBuffer<4096>) -> Pair<'_> {
    let (region, [mut publisher, mut subscriber]) = pair(mem);
    publisher.send(beat(1)).unwrap();
    assert_eq!(subscriber.recv().map(|m| m.sequence), Some(1));
    assert_ne!(subscriber.raw.ep.expected, Expected::NONE);
    (region, [publisher, subscriber])
}

/// The sequences of everything `h` receives now (a lane holds at most four).
fn drain(h: &mut TopicHandle<Heartbeat, &[AtomicU64]>) -> heapless::Vec<u64, 8> {
    core::iter::from_fn(|| h.recv())
        .map(|m| m.sequence)
        .collect()
}

/// The fast path of `h` points where its lane's cursor is, or is off.
fn assert_consistent(region: &TopicRegion<&[AtomicU64]>, h: &TopicHandle<Heartbeat, &[AtomicU64]>) {
    let ep = &h.raw.ep;
    let x = ep.expected;
    if x == Expected::NONE {
        return;
    }
    let lane = x.lane as usize;
    assert_eq!(x.mask, 1 << lane);
    assert_eq!(x.at, region.layout.slot_at(lane, ep.cursors[lane]));
    assert_eq!(x.stamp, stamp::encode(ep.cursors[lane], DONE));
}

#[test]
fn one_publishing_lane_is_read_on_the_fast_path_across_wrap_arounds() {
    let mem = RegionBuffer::<4096>::new();
    let (region, [mut publisher, mut subscriber]) = pair(&mem);
    assert_eq!(subscriber.recv(), None);
    for i in 1..=11 {
        publisher.send(beat(i)).unwrap();
        assert_eq!(subscriber.recv().map(|m| m.sequence), Some(i));
        // Set by the first delivery, then moved along slot by slot.
        assert_eq!(subscriber.raw.ep.expected.mask, 1 << publisher.raw.index());
        assert_consistent(&region, &subscriber);
        assert_eq!(subscriber.recv(), None);
    }
    assert_eq!(
        (subscriber.delivered_count(), subscriber.dropped_count()),
        (11, 0)
    );
}

#[test]
fn a_topic_nothing_was_published_on_announces_the_role_then_answers_at_the_mask() {
    let mem = RegionBuffer::<4096>::new();
    let (region, [mut publisher, mut subscriber]) = pair(&mem);
    let role = crate::layout::part::ROLE_SUBSCRIBER;
    assert_eq!(subscriber.raw.ep.roles & role, 0);
    // The first receive announces the role (tools list the subscriber) ...
    assert_eq!(subscriber.recv(), None);
    assert_ne!(subscriber.raw.ep.roles & role, 0);
    let seen = region.participants().filter(|p| p.subscriber).count();
    assert_eq!(seen, 1, "the subscriber is listed");
    // ... the next ones find no lane active, and change nothing.
    let state = |h: &TopicHandle<Heartbeat, &[AtomicU64]>| {
        let ep = &h.raw.ep;
        (
            ep.expected,
            ep.next_lane,
            ep.roles,
            ep.cursors,
            ep.delivered,
            ep.dropped,
        )
    };
    let before = state(&subscriber);
    for _ in 0..3 {
        assert_eq!(subscriber.recv(), None);
    }
    assert_eq!(state(&subscriber), before);
    // The first message published is delivered, and the fast path set up.
    publisher.send(beat(1)).unwrap();
    assert_eq!(subscriber.recv().map(|m| m.sequence), Some(1));
    assert_eq!(subscriber.raw.ep.expected.mask, 1 << publisher.raw.index());
    assert_eq!(
        (subscriber.delivered_count(), subscriber.dropped_count()),
        (1, 0)
    );
}

#[test]
fn a_second_publishing_lane_leaves_the_fast_path_and_keeps_round_robin() {
    let mem = RegionBuffer::<4096>::new();
    let region = region(&mem, 3);
    let mut a = join(region);
    let mut sub = join(region);
    let mut b = join(region);
    a.send(beat(1)).unwrap();
    assert_eq!(sub.recv().map(|m| m.sequence), Some(1));
    assert_ne!(sub.raw.ep.expected, Expected::NONE);
    a.send(beat(2)).unwrap();
    a.send(beat(3)).unwrap();
    b.send(beat(100)).unwrap();
    // Round-robin from the lane after the last delivered: b's message is not
    // held back behind a's.
    assert_eq!(drain(&mut sub), [100, 2, 3]);
    assert_eq!(
        sub.raw.ep.expected,
        Expected::NONE,
        "two lanes: general path"
    );
    assert_eq!((sub.delivered_count(), sub.dropped_count()), (4, 0));
}

#[test]
fn a_lap_seen_from_the_fast_path_is_counted_as_drops() {
    let mem = RegionBuffer::<4096>::new();
    let (region, [mut publisher, mut subscriber]) = on_fast_path(&mem);
    // Ten more into a lane of four slots, before the subscriber looks again.
    (2..=11).for_each(|i| publisher.send(beat(i)).unwrap());
    // The newest the lane can still hold intact, in order.
    assert_eq!(drain(&mut subscriber), [9, 10, 11]);
    assert_eq!(
        subscriber.delivered_count() + subscriber.dropped_count(),
        11
    );
    assert_consistent(&region, &subscriber);
}

#[test]
fn rewind_and_rejoin_leave_the_fast_path() {
    let mem = RegionBuffer::<4096>::new();
    let (region, [mut publisher, mut subscriber]) = pair(&mem);
    for i in 1..=3 {
        publisher.send(beat(i)).unwrap();
        assert_eq!(subscriber.recv().map(|m| m.sequence), Some(i));
    }
    subscriber.rewind();
    assert_eq!(subscriber.raw.ep.expected, Expected::NONE);
    assert_eq!(drain(&mut subscriber), [1, 2, 3]);
    assert_consistent(&region, &subscriber);
    // Evicted and rejoined: the next receive announces the subscriber role again.
    region.reclaim_dead(OwnerToken::new(2).unwrap(), |_| false);
    subscriber.rejoin(0, 0).unwrap();
    assert_eq!(subscriber.raw.ep.expected, Expected::NONE);
    assert_eq!(subscriber.raw.ep.roles, 0);
    publisher.rejoin(0, 0).unwrap();
    publisher.send(beat(4)).unwrap();
    assert_eq!(subscriber.recv().map(|m| m.sequence), Some(4));
    assert_ne!(
        subscriber.raw.ep.roles & crate::layout::part::ROLE_SUBSCRIBER,
        0
    );
}

#[test]
fn a_message_being_written_is_nothing_yet_and_then_delivered() {
    let mem = RegionBuffer::<4096>::new();
    let (region, [mut publisher, mut subscriber]) = on_fast_path(&mem);
    let x = subscriber.raw.ep.expected;
    // Message 2 half written, as a reader polling mid-write sees it.
    region
        .word(x.at)
        .store(x.stamp | stamp::WRITING, crate::sync::Ordering::Relaxed);
    assert_eq!(subscriber.recv(), None);
    assert_eq!(subscriber.raw.ep.expected, x, "still waiting on that slot");
    publisher.send(beat(2)).unwrap();
    assert_eq!(subscriber.recv().map(|m| m.sequence), Some(2));
    assert_eq!(
        (subscriber.delivered_count(), subscriber.dropped_count()),
        (2, 0)
    );
}

/// The words a send uses are the ones the layout computes, for every
/// sequence across several wraps of the lane, and again after a rejoin
/// (a new entry, and a lane claimed anew).
#[test]
fn the_send_fast_path_names_the_slot_of_the_next_sequence() {
    use crate::layout::{lane, part};
    let mem = RegionBuffer::<4096>::new();
    let (region, [mut publisher, mut subscriber]) = pair(&mem);
    let layout = region.layout;
    let check = |h: &TopicHandle<Heartbeat, &[AtomicU64]>| {
        let ep = &h.raw.ep;
        let l = ep.lane as usize;
        assert_eq!(
            ep.sending.at,
            layout.slot_at(l, ep.next_seq),
            "seq {}",
            ep.next_seq
        );
        assert_eq!(ep.sending.head_at, layout.lane_entry_at(l) + lane::HEAD);
        let claim_at = layout.participant_at(ep.index as usize) + part::CLAIM;
        assert_eq!(ep.sending.claim_at, claim_at);
    };
    for i in 1..=10 {
        publisher.send(beat(i)).unwrap();
        check(&publisher);
        assert_eq!(subscriber.recv().map(|m| m.sequence), Some(i));
    }
    region.reclaim_dead(OwnerToken::new(2).unwrap(), |_| false);
    publisher.rejoin(0, 0).unwrap();
    subscriber.rejoin(0, 0).unwrap();
    for i in 11..=20 {
        publisher.send(beat(i)).unwrap();
        check(&publisher);
        assert_eq!(subscriber.recv().map(|m| m.sequence), Some(i));
    }
    assert_consistent(&region, &subscriber);
}
