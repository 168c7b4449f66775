//! The ring under real threads, on the production code: 1:1, 1:N, N:1, N:N
//! and all-to-all, with roomy and with tiny (lapping) capacities, and a
//! publisher that dies mid-write.
//!
//! Every message carries its publisher, a per-publisher sequence and three
//! fields derived from them ([`Probe`]), so a torn copy cannot pass as whole.
//! Every receiver checks, for each publisher: order, no duplicates, no torn
//! message, and that the newest message is never lost once publishing stops;
//! and, for itself, exact loss accounting: the receiver joins a fresh region
//! before any publisher, so after it drains
//! `delivered_count() + dropped_count() == published_count()`.
//!
//! No sleeps: threads spin (yielding) on conditions. Counts are scaled down
//! under Miri.

// The test harness counts finished threads with std atomics of its own;
// the ring under test takes its atomics from `horus_nostd::sync` as always.
#![allow(clippy::disallowed_types)]
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::thread;

use horus_nostd::layout::hdr;
use horus_nostd::message;
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{JoinError, OwnerToken, RawHandle, TopicHandle, TopicLayout, TopicRegion};

message! {
    /// A test message: every field is a function of `publisher` and `seq`.
    Probe {
        seq: u64,
        publisher: u64,
        a: u64,
        b: u64,
        c: u64,
    }
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;
const COUNT: u64 = if cfg!(miri) { 50 } else { 100_000 };

impl Probe {
    fn new(publisher: u64, seq: u64) -> Self {
        Self {
            seq,
            publisher,
            a: seq ^ publisher.rotate_left(32),
            b: !seq,
            c: seq.wrapping_mul(K) ^ publisher,
        }
    }

    fn is_whole(&self) -> bool {
        *self == Self::new(self.publisher, self.seq)
    }
}

/// Fresh zeroed memory for a `Probe` topic.
fn memory(capacity: u32, participants: u32) -> Vec<AtomicU64> {
    let words = TopicLayout::of::<Probe>(capacity, participants)
        .expect("valid geometry")
        .region_words();
    (0..words).map(|_| AtomicU64::new(0)).collect()
}

fn token(i: u64) -> OwnerToken {
    OwnerToken::new(i + 1).expect("non-zero token")
}

/// What one receiver saw, checked message by message.
struct Checker {
    /// Last sequence received per publisher (0: none yet).
    last: Vec<u64>,
    received: u64,
}

impl Checker {
    fn new(publishers: usize) -> Self {
        Self {
            last: vec![0; publishers],
            received: 0,
        }
    }

    fn accept(&mut self, m: Probe) {
        assert!(m.is_whole(), "torn message: {m:?}");
        let p = m.publisher as usize;
        assert!(p < self.last.len(), "unknown publisher in {m:?}");
        assert!(
            m.seq > self.last[p],
            "publisher {p}: seq {} after {} (duplicate or out of order)",
            m.seq,
            self.last[p]
        );
        self.last[p] = m.seq;
        self.received += 1;
    }
}

/// Receives until every publisher has finished and nothing is left.
fn drain_until_done(
    sub: &mut TopicHandle<Probe, &[AtomicU64]>,
    done: &AtomicUsize,
    publishers: usize,
) -> Checker {
    let mut check = Checker::new(publishers);
    loop {
        // Read the flag first: once it says "all finished", one more drain
        // sees every message (the join of `done` orders the last stamps).
        let finished = done.load(StdOrdering::Acquire) == publishers;
        while let Some(m) = sub.recv() {
            check.accept(m);
        }
        if finished {
            return check;
        }
        thread::yield_now();
    }
}

/// The receiver's accounting once everything is published and drained.
fn assert_accounting(
    region: &TopicRegion<&[AtomicU64]>,
    sub: &TopicHandle<Probe, &[AtomicU64]>,
    check: &Checker,
    published: u64,
) {
    assert_eq!(region.published_count(), published);
    assert_eq!(sub.delivered_count(), check.received);
    assert_eq!(
        sub.delivered_count() + sub.dropped_count(),
        published,
        "delivered {} + dropped {} != published {published}",
        sub.delivered_count(),
        sub.dropped_count()
    );
    // The newest message of a publisher that stopped is never lost.
    for (p, &last) in check.last.iter().enumerate() {
        assert_eq!(last, COUNT, "publisher {p}: newest message not delivered");
    }
}

/// `publishers` threads each send `COUNT` messages while `subscribers`
/// threads receive; all join before anyone publishes.
fn run(capacity: u32, publishers: usize, subscribers: usize) -> u64 {
    let mem = memory(capacity, (publishers + subscribers) as u32);
    let region =
        TopicRegion::init::<Probe>(&mem[..], capacity, (publishers + subscribers) as u32, 0)
            .expect("init");
    let subs: Vec<_> = (0..subscribers)
        .map(|i| TopicHandle::<Probe, _>::join(region, token(i as u64), 0, 0).expect("join"))
        .collect();
    let pubs: Vec<_> = (0..publishers)
        .map(|i| TopicHandle::<Probe, _>::join(region, token(100 + i as u64), 0, 0).expect("join"))
        .collect();
    let done = AtomicUsize::new(0);
    let published = publishers as u64 * COUNT;
    let mut dropped = 0;
    thread::scope(|s| {
        for (id, mut publisher) in pubs.into_iter().enumerate() {
            let done = &done;
            s.spawn(move || {
                for seq in 1..=COUNT {
                    publisher
                        .send(Probe::new(id as u64, seq))
                        .expect("not evicted");
                }
                done.fetch_add(1, StdOrdering::Release);
                // The handle leaves here; its lane stays readable.
            });
        }
        let receivers: Vec<_> = subs
            .into_iter()
            .map(|mut sub| {
                let done = &done;
                s.spawn(move || {
                    let check = drain_until_done(&mut sub, done, publishers);
                    (sub, check)
                })
            })
            .collect();
        for r in receivers {
            let (sub, check) = r.join().expect("receiver");
            assert_accounting(&region, &sub, &check, published);
            dropped += sub.dropped_count();
        }
    });
    dropped
}

#[test]
fn one_to_one() {
    run(64, 1, 1);
}

#[test]
fn one_to_one_tiny_capacity_laps() {
    let dropped = run(2, 1, 1);
    eprintln!("one_to_one_tiny_capacity_laps: {dropped} drops accounted");
}

#[test]
fn one_to_many() {
    run(16, 1, 3);
}

#[test]
fn one_to_many_tiny_capacity_laps() {
    let dropped = run(2, 1, 3);
    eprintln!("one_to_many_tiny_capacity_laps: {dropped} drops accounted");
}

#[test]
fn many_to_one() {
    run(16, 3, 1);
}

#[test]
fn many_to_one_tiny_capacity_laps() {
    let dropped = run(4, 3, 1);
    eprintln!("many_to_one_tiny_capacity_laps: {dropped} drops accounted");
}

#[test]
fn many_to_many() {
    run(16, 2, 2);
}

#[test]
fn many_to_many_tiny_capacity_laps() {
    let dropped = run(2, 3, 2);
    eprintln!("many_to_many_tiny_capacity_laps: {dropped} drops accounted");
}

/// Every handle both publishes and receives (all-to-all, own messages
/// included): each still accounts for every message of the topic.
#[test]
fn all_to_all_peers() {
    const PEERS: usize = 3;
    let per_peer = COUNT / 4;
    let mem = memory(4, PEERS as u32);
    let region = TopicRegion::init::<Probe>(&mem[..], 4, PEERS as u32, 0).expect("init");
    let peers: Vec<_> = (0..PEERS)
        .map(|i| TopicHandle::<Probe, _>::join(region, token(i as u64), 0, 0).expect("join"))
        .collect();
    let done = AtomicUsize::new(0);
    thread::scope(|s| {
        let handles: Vec<_> = peers
            .into_iter()
            .enumerate()
            .map(|(id, mut peer)| {
                let done = &done;
                s.spawn(move || {
                    let mut check = Checker::new(PEERS);
                    for seq in 1..=per_peer {
                        peer.send(Probe::new(id as u64, seq)).expect("not evicted");
                        if let Some(m) = peer.recv() {
                            check.accept(m);
                        }
                    }
                    done.fetch_add(1, StdOrdering::Release);
                    loop {
                        let finished = done.load(StdOrdering::Acquire) == PEERS;
                        while let Some(m) = peer.recv() {
                            check.accept(m);
                        }
                        if finished {
                            break;
                        }
                        thread::yield_now();
                    }
                    (peer, check)
                })
            })
            .collect();
        for h in handles {
            let (peer, check) = h.join().expect("peer");
            let published = PEERS as u64 * per_peer;
            assert_eq!(region.published_count(), published);
            assert_eq!(peer.delivered_count(), check.received);
            assert_eq!(peer.delivered_count() + peer.dropped_count(), published);
            assert!(check.last.iter().all(|&l| l == per_peer));
        }
    });
}

/// One thread, deterministic: a lapped reader counts exactly what it lost and
/// then reads the newest messages in order.
#[test]
fn lapped_reader_counts_every_lost_message() {
    let mem = memory(4, 2);
    let region = TopicRegion::init::<Probe>(&mem[..], 4, 2, 0).expect("init");
    let mut sub = TopicHandle::<Probe, _>::join(region, token(0), 0, 0).expect("join");
    let mut publisher = TopicHandle::<Probe, _>::join(region, token(1), 0, 0).expect("join");
    for seq in 1..=10 {
        publisher.send(Probe::new(0, seq)).expect("not evicted");
    }
    let got: Vec<u64> = std::iter::from_fn(|| sub.recv())
        .inspect(|m| assert!(m.is_whole()))
        .map(|m| m.seq)
        .collect();
    // A contiguous run of the newest messages, at least capacity - 1 of them
    // (the oldest retained slot may be the one being overwritten).
    assert!(got.len() >= 3, "got {got:?}");
    assert_eq!(*got.last().unwrap(), 10);
    assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "got {got:?}");
    assert_eq!(sub.delivered_count(), got.len() as u64);
    assert_eq!(sub.dropped_count(), 10 - got.len() as u64);
    // Caught up: new messages arrive without loss.
    publisher.send(Probe::new(0, 11)).expect("not evicted");
    assert_eq!(sub.recv().map(|m| m.seq), Some(11));
    assert_eq!(sub.delivered_count() + sub.dropped_count(), 11);
    assert_eq!(region.published_count(), 11);
}

/// Word index of the stamp of lane sequence `seq` in `lane`, from the header
/// (the layout documented in `horus_nostd::layout`).
fn stamp_index(mem: &[AtomicU64], lane: u32, seq: u64) -> usize {
    let lanes_at = mem[hdr::LANES_AT].load(Ordering::Relaxed) as usize;
    let slot_words = mem[hdr::SLOT_WORDS].load(Ordering::Relaxed) as usize;
    let capacity = mem[hdr::CAPACITY].load(Ordering::Relaxed) as usize;
    lanes_at + (lane as usize * capacity + (seq as usize & (capacity - 1))) * slot_words
}

/// Makes `publisher` look killed between claiming the slot of its next
/// message and finishing it: stamp `WRITING(seq)` (`seq << 2 | 1`), then the
/// handle vanishes without leaving.
fn die_mid_write(mem: &[AtomicU64], publisher: TopicHandle<Probe, &[AtomicU64]>, lane_seq: u64) {
    let lane = publisher.raw().lane().expect("a publisher holds a lane");
    let at = stamp_index(mem, lane, lane_seq);
    mem[at].store(lane_seq << 2 | 1, Ordering::Release);
    std::mem::forget(publisher);
}

/// Deterministic: a dead publisher blocks only its own lane, `reclaim_dead`
/// turns its unfinished slot into exactly one drop, and a new publisher on
/// the same lane is read on.
#[test]
fn dead_publisher_is_one_drop_then_lane_is_reused() {
    let mem = memory(4, 3);
    let region = TopicRegion::init::<Probe>(&mem[..], 4, 3, 0).expect("init");
    let me = token(0);
    let mut sub = TopicHandle::<Probe, _>::join(region, me, 0, 0).expect("join");
    let dead = token(1);
    let mut doomed = TopicHandle::<Probe, _>::join(region, dead, 0, 0).expect("join");
    let mut live = TopicHandle::<Probe, _>::join(region, token(2), 0, 0).expect("join");
    let mut check = Checker::new(3);
    for seq in 1..=3 {
        doomed.send(Probe::new(0, seq)).expect("not evicted");
    }
    let dead_lane = doomed.raw().lane();
    die_mid_write(&mem, doomed, 4);
    assert_eq!(region.published_count(), 4); // the claimed message counts

    // The dead lane is stuck at WRITING(4); the live lane still flows.
    for seq in 1..=2 {
        live.send(Probe::new(1, seq)).expect("not evicted");
    }
    while let Some(m) = sub.recv() {
        check.accept(m);
    }
    assert_eq!((check.last[0], check.last[1]), (3, 2));
    assert_eq!(sub.recv(), None);
    assert_eq!(sub.dropped_count(), 0);

    // Nobody reclaims a live participant.
    assert_eq!(region.reclaim_dead(me, |_| true), 0);
    assert_eq!(region.reclaim_dead(me, |t| t != dead), 1);
    assert_eq!(region.reclaim_dead(me, |t| t != dead), 0); // already free
    assert_eq!(sub.recv(), None);
    assert_eq!(sub.dropped_count(), 1);

    // The freed lane goes to the next publisher, which continues the lane's
    // sequence past the abandoned slot.
    let mut next = TopicHandle::<Probe, _>::join(region, token(3), 0, 0).expect("join");
    for seq in 1..=6 {
        next.send(Probe::new(2, seq)).expect("not evicted");
        assert_eq!(next.raw().lane(), dead_lane);
        while let Some(m) = sub.recv() {
            check.accept(m);
        }
    }
    assert_eq!(check.last[2], 6);
    assert_eq!(sub.dropped_count(), 1); // only the abandoned slot
    assert_eq!(region.published_count(), 4 + 2 + 6);
    assert_eq!(
        sub.delivered_count() + sub.dropped_count(),
        region.published_count()
    );
}

/// Threads: a reader spins on a lane whose publisher died mid-write while
/// another thread reclaims it and a new publisher takes the lane over. The
/// reader counts exactly one drop and receives everything else.
#[test]
fn dead_publisher_reclaimed_while_reader_spins() {
    const CAPACITY: u32 = 128; // holds every message: the only loss is the dead slot
    let rounds = if cfg!(miri) { 2 } else { 200 };
    let n = if cfg!(miri) { 5 } else { 50 };
    for _ in 0..rounds {
        let mem = memory(CAPACITY, 2);
        let region = TopicRegion::init::<Probe>(&mem[..], CAPACITY, 2, 0).expect("init");
        let me = token(0);
        let mut sub = TopicHandle::<Probe, _>::join(region, me, 0, 0).expect("join");
        let dead = token(1);
        let finished = AtomicUsize::new(0);
        thread::scope(|s| {
            let reader = s.spawn(|| drain_until_done(&mut sub, &finished, 1));
            s.spawn(|| {
                let mut doomed = TopicHandle::<Probe, _>::join(region, dead, 0, 0).expect("join");
                for seq in 1..=n {
                    doomed.send(Probe::new(0, seq)).expect("not evicted");
                }
                die_mid_write(&mem, doomed, n + 1);
                assert_eq!(region.reclaim_dead(me, |t| t != dead), 1);
                let mut next = TopicHandle::<Probe, _>::join(region, token(2), 0, 0).expect("join");
                for seq in n + 1..=2 * n {
                    next.send(Probe::new(0, seq)).expect("not evicted");
                }
                finished.store(1, StdOrdering::Release);
            });
            let check = reader.join().expect("reader");
            assert_eq!(check.last[0], 2 * n);
            assert_eq!(check.received, 2 * n);
        });
        assert_eq!(sub.dropped_count(), 1);
        assert_eq!(region.published_count(), 2 * n + 1);
        assert_eq!(sub.delivered_count() + sub.dropped_count(), 2 * n + 1);
    }
}

/// Handles free exactly their own entry when dropped; a forgotten handle
/// keeps its entry until reclaimed.
#[test]
fn dropping_handles_frees_exactly_their_entries() {
    let mem = memory(2, 3);
    let region = TopicRegion::init::<Probe>(&mem[..], 2, 3, 0).expect("init");
    let held = |r: &TopicRegion<&[AtomicU64]>| r.participants().count();
    let a = RawHandle::join(region, token(0), 10, 0).expect("join");
    let b = RawHandle::join(region, token(1), 11, 0).expect("join");
    let c = RawHandle::join(region, token(2), 12, 0).expect("join");
    assert_eq!(held(&region), 3);
    assert_eq!(
        RawHandle::join(region, token(3), 0, 0).err(),
        Some(JoinError::Full { max: 3 })
    );
    let b_index = b.index();
    drop(b);
    assert_eq!(held(&region), 2);
    let pids: Vec<u64> = region.participants().map(|p| p.pid).collect();
    assert_eq!(pids, [10, 12]);
    let d = RawHandle::join(region, token(3), 13, 0).expect("join after a drop");
    assert_eq!(d.index(), b_index);
    std::mem::forget(c); // "killed": its entry stays held
    drop(a);
    drop(d);
    assert_eq!(held(&region), 1);
    assert_eq!(region.reclaim_dead(token(9), |_| false), 1);
    assert_eq!(held(&region), 0);
}
