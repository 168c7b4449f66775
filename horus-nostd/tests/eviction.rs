//! A live handle whose participant entry is reclaimed under it (`reclaim_dead`
//! with an `is_alive` that lies, as a liveness bug would) is *evicted*: its
//! sends are refused and hand the message back, it rejoins on a fresh lane,
//! and no reader ever sees a torn or duplicated message or loses one
//! uncounted. The threaded test races a publishing handle against a thread
//! that keeps evicting it and publishing on the lane it lost.
//!
//! Counts are scaled down under Miri.

// The test harness counts with std atomics of its own; the ring under test
// takes its atomics from `horus_nostd::sync` as always.
#![allow(clippy::disallowed_types)]
#![cfg(not(loom))]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64 as StdU64, Ordering as StdOrdering};
use std::thread;

use horus_nostd::layout::hdr;
use horus_nostd::message;
use horus_nostd::ring::{Refusal, SendError, SendRefused};
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{OwnerToken, RawHandle, TopicHandle, TopicLayout, TopicRegion};

message! {
    /// Every field is a function of `publisher` and `seq`: a torn copy shows.
    Tagged {
        publisher: u64,
        seq: u64,
        a: u64,
        b: u64,
    }
}

impl Tagged {
    fn new(publisher: u64, seq: u64) -> Self {
        let a = publisher.rotate_left(32) ^ seq;
        Self {
            publisher,
            seq,
            a,
            b: !a,
        }
    }

    fn is_whole(&self) -> bool {
        *self == Self::new(self.publisher, self.seq)
    }
}

fn memory(capacity: u32, participants: u32) -> Vec<AtomicU64> {
    let words = TopicLayout::of::<Tagged>(capacity, participants)
        .expect("valid geometry")
        .region_words();
    (0..words).map(|_| AtomicU64::new(0)).collect()
}

fn token(raw: u64) -> OwnerToken {
    OwnerToken::new(raw).expect("token")
}

/// Per publisher tag: strictly increasing sequences (no reordering); every
/// message whole; no sequence of a publisher family (`tag / FAMILY`) twice.
///
/// A rejoined handle publishes on another lane, and per-publisher order holds
/// per lane only: a reader that had not caught up with the lost lane may get
/// the new lane's messages first. So the victim tags its messages with its
/// rejoin count (`tag = family * FAMILY + rejoins`), and order is checked
/// per tag, uniqueness per family.
#[derive(Default)]
struct Checker {
    last: HashMap<u64, u64>,
    seen: std::collections::HashSet<(u64, u64)>,
    received: u64,
}

/// Tags of one publishing handle across its rejoins.
const FAMILY: u64 = 1 << 20;

impl Checker {
    fn accept(&mut self, m: Tagged) {
        assert!(m.is_whole(), "torn message: {m:?}");
        assert!(
            self.seen.insert((m.publisher / FAMILY, m.seq)),
            "duplicate: {m:?}"
        );
        let last = self.last.entry(m.publisher).or_insert(0);
        assert!(
            m.seq > *last,
            "publisher {}: seq {} after {} (duplicate or out of order)",
            m.publisher,
            m.seq,
            *last
        );
        *last = m.seq;
        self.received += 1;
    }

    fn drain(&mut self, sub: &mut TopicHandle<Tagged, &[AtomicU64]>) {
        while let Some(m) = sub.recv() {
            self.accept(m);
        }
    }
}

/// Deterministic. The evicted handle's lane goes to another handle with the
/// *same* owner token (all handles of one process share a token, so the token
/// alone cannot tell them apart): the evicted handle's send is refused, its
/// drop frees nothing of the new holder's, and after `rejoin` it publishes on
/// a fresh lane; the reader gets everything once, in order, accounted.
#[test]
fn an_evicted_writer_is_refused_even_when_its_lane_goes_to_its_own_process() {
    let mem = memory(8, 4);
    let region = TopicRegion::init::<Tagged>(&mem[..], 8, 4, 0).expect("init");
    let (reader, process) = (token(1), token(2));
    let mut sub = TopicHandle::<Tagged, _>::join(region, reader, 0, 0).expect("join");
    let mut a = TopicHandle::<Tagged, _>::join(region, process, 0, 0).expect("join");
    let mut check = Checker::default();
    for seq in 1..=3 {
        a.send(Tagged::new(0, seq)).expect("held");
    }
    let lost_lane = a.raw().index();

    // A liveness bug: someone judges `process` dead while it lives.
    assert_eq!(region.reclaim_dead(token(9), |t| t != process), 1);
    // Another handle of the same process takes the freed entry and lane.
    let mut b = TopicHandle::<Tagged, _>::join(region, process, 0, 0).expect("join");
    assert_eq!(b.raw().index(), lost_lane);
    b.send(Tagged::new(FAMILY, 1)).expect("held");

    // The evicted handle finds out before writing and gets its message back.
    let Err(SendRefused {
        msg: back,
        reason: Refusal::Evicted,
    }) = a.send(Tagged::new(0, 4))
    else {
        panic!("an evicted handle published into a lane it no longer holds");
    };
    assert_eq!(back, Tagged::new(0, 4));
    // Still evicted until it rejoins; the byte API says so too.
    let mut raw = RawHandle::join(region, token(3), 0, 0).expect("join");
    assert_eq!(region.reclaim_dead(token(9), |t| t != token(3)), 1);
    assert_eq!(
        raw.send_bytes(bytemuck::bytes_of(&Tagged::new(2, 1))),
        Err(SendError::Refused(Refusal::Evicted))
    );
    drop(raw); // leaves nothing: its entry is free already

    a.rejoin(0, 0).expect("a free entry");
    assert_ne!(a.raw().index(), lost_lane);
    // Retagged: order is per lane (see `Checker`).
    a.send(Tagged::new(1, 4)).expect("held again");
    b.send(Tagged::new(FAMILY, 2)).expect("held");
    check.drain(&mut sub);
    assert_eq!(check.last[&0], 3);
    assert_eq!(check.last[&1], 4);
    assert_eq!(check.last[&FAMILY], 2);

    // Dropping the stale view of `a` never freed `b`'s entry: `b` keeps
    // publishing and is still a participant.
    let held = region.participants().count();
    drop(a);
    assert_eq!(region.participants().count(), held - 1);
    b.send(Tagged::new(FAMILY, 3))
        .expect("b still holds its entry");
    check.drain(&mut sub);
    assert_eq!(check.last[&FAMILY], 3);
    // The reclaim reserved one sequence of the lost lane (its owner was
    // between messages): one drop, counted as published, and told apart as
    // a gap by `reserved_count`.
    assert_eq!(sub.dropped_count(), 1);
    assert_eq!(region.reserved_count(), 1);
    assert_eq!(
        sub.delivered_count() + sub.dropped_count(),
        region.published_count()
    );
    assert_eq!(sub.delivered_count(), check.received);
}

/// An owner reclaimed mid-write (its newest slot `WRITING`) has that message
/// in flight: its unfinished slot is the one drop, and no further sequence is
/// reserved.
#[test]
fn a_writer_reclaimed_mid_write_costs_one_drop_and_no_reservation() {
    let mem = memory(4, 3);
    let region = TopicRegion::init::<Tagged>(&mem[..], 4, 3, 0).expect("init");
    let mut sub = TopicHandle::<Tagged, _>::join(region, token(1), 0, 0).expect("join");
    let mut a = TopicHandle::<Tagged, _>::join(region, token(2), 0, 0).expect("join");
    a.send(Tagged::new(0, 1)).expect("held");
    // `a` is mid-write of its lane's sequence 2: stamp WRITING(2) = 2 << 2 | 1.
    let lanes_at = mem[hdr::LANES_AT].load(Ordering::Relaxed) as usize;
    let slot_words = mem[hdr::SLOT_WORDS].load(Ordering::Relaxed) as usize;
    let lane = a.raw().lane().expect("a lane since its first send");
    let at = lanes_at + (lane as usize * 4 + 2) * slot_words;
    mem[at].store(2 << 2 | 1, Ordering::Relaxed);
    assert_eq!(region.reclaim_dead(token(9), |t| t != token(2)), 1);
    assert_eq!(region.lanes_in_use(), 0, "the reclaim freed the lane");
    let mut b = TopicHandle::<Tagged, _>::join(region, token(3), 0, 0).expect("join");
    b.send(Tagged::new(FAMILY, 1)).expect("held");
    assert_eq!(b.raw().lane(), Some(lane), "the freed lane, continued");
    let mut check = Checker::default();
    check.drain(&mut sub);
    assert_eq!((check.received, sub.dropped_count()), (2, 1));
    assert_eq!(region.published_count(), 3); // 1, the abandoned 2, b's 3
    assert_eq!(region.reserved_count(), 0); // mid-write: nothing reserved
    assert!(a.send(Tagged::new(0, 3)).is_err(), "evicted");
}

/// Threads: `victim` publishes `n` messages, resending on eviction after a
/// rejoin; an evictor thread repeatedly judges the victim dead, takes the lane
/// it lost with a new handle, publishes a few messages there and leaves; a
/// reader receives throughout. Every message is whole, none twice, each
/// publisher's in order, the victim's newest arrives, and the reader's
/// `delivered + dropped == published`.
///
/// The evictor waits until the victim noticed each eviction before the next,
/// and publishes fewer than `capacity - 2` messages per take-over, so the
/// victim's in-flight message never shares a slot with a concurrent write
/// (the documented limit of the defence) and the test cannot flake on it.
#[test]
fn an_evicted_writer_racing_the_new_owner_never_tears_or_duplicates() {
    const CAPACITY: u32 = 16;
    const PER_TAKEOVER: u64 = 5;
    let rounds = if cfg!(miri) { 1 } else { 5 };
    let n: u64 = if cfg!(miri) { 30 } else { 5_000 };
    let evictions = if cfg!(miri) { 2 } else { 100 };
    for _ in 0..rounds {
        let mem = memory(CAPACITY, 4);
        let region = TopicRegion::init::<Tagged>(&mem[..], CAPACITY, 4, 0).expect("init");
        let (reader, victim_token, evictor_token) = (token(1), token(2), token(3));
        let mut sub = TopicHandle::<Tagged, _>::join(region, reader, 0, 0).expect("join");
        let mut victim = TopicHandle::<Tagged, _>::join(region, victim_token, 0, 0).expect("join");
        let rejoins = StdU64::new(0);
        let sent = StdU64::new(0);
        let evictor_done = AtomicBool::new(false);
        let victim_done = AtomicBool::new(false);
        let all_done = AtomicBool::new(false);
        let check = thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut check = Checker::default();
                loop {
                    let finished = all_done.load(StdOrdering::Acquire);
                    check.drain(&mut sub);
                    if finished {
                        return check;
                    }
                    thread::yield_now();
                }
            });
            s.spawn(|| {
                // At least `n` messages, and on until the evictor is done, so
                // that every eviction is noticed however the threads run.
                let (mut tag, mut seq) = (0, 0);
                while seq < n || !evictor_done.load(StdOrdering::Acquire) {
                    seq += 1;
                    while victim.send(Tagged::new(tag, seq)).is_err() {
                        // Full while a reclaim holds entries mid-way: retry.
                        while victim.rejoin(0, 0).is_err() {
                            thread::yield_now();
                        }
                        tag += 1; // a new lane: order is per lane
                        rejoins.fetch_add(1, StdOrdering::Release);
                    }
                }
                sent.store(seq, StdOrdering::Relaxed);
                victim_done.store(true, StdOrdering::Release);
            });
            let evictor = s.spawn(|| {
                let mut takeovers = 0u64;
                for e in 0..evictions {
                    let seen = rejoins.load(StdOrdering::Acquire);
                    // The liar reclaims every entry of the victim's token: a
                    // rejoin racing one reclaim (even mid-join) can be evicted
                    // twice, and the victim may be between entries now. Wait
                    // until it holds one: it always rejoins.
                    while region.reclaim_dead(evictor_token, |t| t != victim_token) == 0 {
                        thread::yield_now();
                    }
                    let mut owner =
                        TopicHandle::<Tagged, _>::join(region, evictor_token, 0, 0).expect("join");
                    takeovers += 1;
                    for seq in 1..=PER_TAKEOVER {
                        owner
                            .send(Tagged::new((1 + e) * FAMILY, seq))
                            .expect("the evictor is never evicted");
                    }
                    drop(owner);
                    // Next eviction only once the victim noticed this one.
                    while rejoins.load(StdOrdering::Acquire) == seen {
                        thread::yield_now();
                    }
                }
                evictor_done.store(true, StdOrdering::Release);
                takeovers
            });
            let takeovers = evictor.join().expect("evictor");
            while !victim_done.load(StdOrdering::Acquire) {
                thread::yield_now();
            }
            all_done.store(true, StdOrdering::Release);
            let check = reader.join().expect("reader");
            (check, takeovers)
        });
        let (mut check, takeovers) = check;
        check.drain(&mut sub);
        let sent = sent.load(StdOrdering::Relaxed);
        assert!(
            check.seen.contains(&(0, sent)),
            "the victim's newest message was lost"
        );
        assert_eq!(takeovers, evictions);
        assert!(rejoins.load(StdOrdering::Relaxed) >= evictions);
        assert!(check.last.values().all(|&l| l <= sent.max(PER_TAKEOVER)));
        assert_eq!(sub.delivered_count(), check.received);
        assert_eq!(
            sub.delivered_count() + sub.dropped_count(),
            region.published_count(),
            "delivered {} + dropped {} != published {}",
            sub.delivered_count(),
            sub.dropped_count(),
            region.published_count()
        );
        drop(victim);
    }
}
