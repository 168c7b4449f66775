//! Loom models of the ring, running the production code (`TopicRegion::init`,
//! `TopicHandle::join`/`send`/`recv`, `reclaim_dead`) over loom's atomics
//! through `horus_nostd::sync`.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p horus-nostd --release --test loom_ring
//! ```
//!
//! Every actor is a `loom::thread`; the main thread only sets up (init, join)
//! before spawning and, after joining every actor, drains the receivers
//! single-threaded and checks: no torn message, per-publisher order, no
//! duplicates, and exact accounting (`delivered + dropped == published`).
//! Each model counts its executions and asserts a minimum (about a quarter of
//! what it explores today, so a change that collapses the exploration, such
//! as an actor moved onto the main thread, fails the model). Models are kept small (capacity 2-4,
//! 1-3 messages, 2-word payloads) to finish in seconds.
#![cfg(loom)]
// The execution counters (`explore`, `report_incoherent_skips`) count across
// loom's executions, outside the model: std atomics on purpose, not the
// `sync` shim that `clippy.toml` enforces for everything the models run.
#![allow(clippy::disallowed_types)]

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

use horus_nostd::layout::hdr;
use horus_nostd::message::{Message, TypeInfo};
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{OwnerToken, TopicHandle, TopicLayout, TopicRegion};
use loom::thread;

horus_nostd::message! {
    /// Two words that must agree: a torn copy mixes two messages.
    Pair {
        a: u64,
        b: u64,
    }
}

impl Pair {
    fn new(publisher: u64, seq: u64) -> Self {
        let a = publisher << 32 | seq;
        Self { a, b: !a }
    }

    fn publisher(&self) -> usize {
        (self.a >> 32) as usize
    }

    fn seq(&self) -> u64 {
        self.a & 0xffff_ffff
    }
}

type Handle = TopicHandle<Pair, &'static [AtomicU64]>;

/// A fresh region for this execution. Loom's threads need `'static`; the few
/// words leaked per execution are never touched again.
fn region(
    capacity: u32,
    participants: u32,
) -> (&'static [AtomicU64], TopicRegion<&'static [AtomicU64]>) {
    let words = TopicLayout::of::<Pair>(capacity, participants)
        .expect("valid geometry")
        .region_words();
    let mem: Vec<AtomicU64> = (0..words).map(|_| AtomicU64::new(0)).collect();
    let mem: &'static [AtomicU64] = Box::leak(mem.into_boxed_slice());
    let region = TopicRegion::init::<Pair>(mem, capacity, participants, 0).expect("init");
    (mem, region)
}

/// [`region`] with `lanes` publisher lanes.
fn region_with_lanes(
    capacity: u32,
    participants: u32,
    lanes: u32,
) -> TopicRegion<&'static [AtomicU64]> {
    let layout =
        TopicLayout::of_publishers::<Pair>(capacity, participants, lanes).expect("valid geometry");
    let mem: Vec<AtomicU64> = (0..layout.region_words())
        .map(|_| AtomicU64::new(0))
        .collect();
    let mem: &'static [AtomicU64] = Box::leak(mem.into_boxed_slice());
    TopicRegion::init_with(mem, layout, TypeInfo::of::<Pair>(), Pair::FIELDS, 0).expect("init")
}

fn join(region: TopicRegion<&'static [AtomicU64]>, token: u64) -> Handle {
    TopicHandle::join(region, OwnerToken::new(token).expect("token"), 0, 0).expect("join")
}

/// Runs `model` under loom with room for the region's many atomics and
/// returns how many executions loom explored (counted in `runs`, one static
/// per model so models can run in parallel).
///
/// The preemption bound is 3 unless `LOOM_MAX_PREEMPTIONS` says otherwise
/// (bugs needing more than 3 preemptions are rare; unbounded exploration of
/// the larger models takes minutes).
fn explore(
    name: &str,
    runs: &'static AtomicUsize,
    min_runs: usize,
    model: impl Fn() + Sync + Send + 'static,
) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 100_000;
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(move || {
        runs.fetch_add(1, StdOrdering::Relaxed);
        model();
    });
    let n = runs.load(StdOrdering::Relaxed);
    println!(
        "loom model {name}: {n} executions (preemption bound {:?})",
        builder.preemption_bound
    );
    assert!(
        n >= min_runs,
        "model {name} explored {n} interleavings, fewer than {min_runs}"
    );
}

/// Prints how many of a model's executions were skipped as loom-incoherent
/// (see `evicted_writer_vs_new_owner_vs_reader`) and fails if they are more
/// than a quarter of all its executions: a model that skips most of its
/// executions checks little.
fn report_incoherent_skips(runs: &AtomicUsize, incoherent: &AtomicUsize) {
    let skipped = incoherent.load(StdOrdering::Relaxed);
    println!("  of which skipped as loom-incoherent (see the model's doc comment): {skipped}");
    assert!(
        skipped * 4 <= runs.load(StdOrdering::Relaxed),
        "more than a quarter of the executions skipped: the model checks little"
    );
}

/// Receives up to `attempts` times concurrently; the handle comes back for
/// the final single-threaded drain.
fn spawn_receiver(mut sub: Handle, attempts: usize) -> thread::JoinHandle<(Handle, Vec<Pair>)> {
    thread::spawn(move || {
        let mut got = Vec::new();
        for _ in 0..attempts {
            if let Some(m) = sub.recv() {
                got.push(m);
            }
        }
        (sub, got)
    })
}

fn spawn_publisher(mut publisher: Handle, id: u64, count: u64) -> thread::JoinHandle<Handle> {
    thread::spawn(move || {
        for seq in 1..=count {
            publisher.send(Pair::new(id, seq)).expect("not evicted");
        }
        // Handed back, still holding its lane: a publisher that left would
        // free it, and another publisher of the model could take it over
        // (continuing its sequence) and overwrite its messages at these
        // small capacities, a counted loss the checks do not expect.
        publisher
    })
}

/// A thread that wrongly judges `victim` dead (an `is_alive` that lies),
/// reclaims its entry and lane, and publishes message 1 of publisher 1 there
/// with a new handle (the new owner, handed back).
fn spawn_evictor(
    region: TopicRegion<&'static [AtomicU64]>,
    victim: OwnerToken,
) -> thread::JoinHandle<Handle> {
    thread::spawn(move || {
        let liar = OwnerToken::new(9).unwrap();
        assert_eq!(region.reclaim_dead(liar, |t| t != victim), 1);
        let mut owner = join(region, 3);
        owner
            .send(Pair::new(1, 1))
            .expect("the new owner holds its entry");
        owner
    })
}

/// Checks what a reader of an eviction model received (publisher 0 the
/// evicted writer, 1 the new owner): nothing torn, each publisher in order
/// and once, the new owner's message there. The newest sequence per
/// publisher.
fn check_evicted_and_owner(got: &[Pair]) -> [u64; 2] {
    let mut last = [0u64; 2];
    for m in got {
        assert_eq!(m.b, !m.a, "torn message {m:?}");
        assert!(m.seq() > last[m.publisher()], "order or duplicate: {got:?}");
        last[m.publisher()] = m.seq();
    }
    assert_eq!(last[1], 1, "the new owner's message was lost: {got:?}");
    last
}

/// After every actor joined: drains `sub` and checks everything it received.
fn check_receiver(
    region: &TopicRegion<&[AtomicU64]>,
    (mut sub, mut got): (Handle, Vec<Pair>),
    publishers: usize,
    count: u64,
) {
    while let Some(m) = sub.recv() {
        got.push(m);
    }
    let mut last = vec![0u64; publishers];
    for m in &got {
        assert_eq!(m.b, !m.a, "torn message {m:?}");
        let p = m.publisher();
        assert!(
            m.seq() > last[p],
            "publisher {p}: {} after {}",
            m.seq(),
            last[p]
        );
        last[p] = m.seq();
    }
    assert!(last.iter().all(|&l| l == count), "newest lost: {last:?}");
    let published = publishers as u64 * count;
    assert_eq!(region.published_count(), published);
    assert_eq!(sub.delivered_count(), got.len() as u64);
    assert_eq!(sub.delivered_count() + sub.dropped_count(), published);
}

/// 1:1, capacity 2, three messages: the writer laps the reader mid-copy.
#[test]
fn one_to_one() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("one_to_one", &RUNS, 5000, || {
        let (_, region) = region(2, 2);
        let sub = join(region, 1);
        let publisher = join(region, 2);
        let p = spawn_publisher(publisher, 0, 3);
        let s = spawn_receiver(sub, 2);
        p.join().unwrap();
        check_receiver(&region, s.join().unwrap(), 1, 3);
    });
}

/// 1:1 of length-prefixed frames (`send_framed`/`recv_framed`, the path of
/// serialized types), capacity 2, three frames of different lengths: the
/// reader loads the length inside the seqlock, so a lapped copy never
/// yields a frame whose length and bytes belong to different messages.
#[test]
fn framed_one_to_one() {
    use horus_nostd::RawHandle;
    /// Frame `seq`: `4 * seq` bytes, each `seq`.
    fn frame(seq: u8) -> Vec<u8> {
        vec![seq; 4 * usize::from(seq)]
    }
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("framed_one_to_one", &RUNS, 5000, || {
        let (_, region) = region(2, 2);
        let raw = |t| RawHandle::join(region, OwnerToken::new(t).expect("token"), 0, 0);
        let mut sub = raw(1).expect("join");
        let mut publisher = raw(2).expect("join");
        let p = thread::spawn(move || {
            for seq in 1..=3 {
                publisher
                    .send_framed(&frame(seq))
                    .expect("fits, not evicted");
            }
        });
        let s = thread::spawn(move || {
            let mut got = Vec::new();
            let mut out = [0u8; 16];
            for _ in 0..2 {
                if let Some(body) = sub.recv_framed(&mut out).expect("right size") {
                    got.push(body.to_vec());
                }
            }
            (sub, got)
        });
        p.join().unwrap();
        let (mut sub, mut got) = s.join().unwrap();
        let mut out = [0u8; 16];
        while let Some(body) = sub.recv_framed(&mut out).expect("right size") {
            got.push(body.to_vec());
        }
        let mut last = 0;
        for body in &got {
            let seq = body.first().copied().expect("frames are not empty");
            assert_eq!(body, &frame(seq), "torn frame");
            assert!(seq > last, "{seq} after {last}");
            last = seq;
        }
        assert_eq!(last, 3, "newest lost");
        assert_eq!(sub.delivered_count(), got.len() as u64);
        assert_eq!(sub.delivered_count() + sub.dropped_count(), 3);
    });
}

/// 1:N: one publisher, two receivers with their own cursors.
#[test]
fn one_to_many() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("one_to_many", &RUNS, 1000, || {
        let (_, region) = region(2, 3);
        let s1 = join(region, 1);
        let s2 = join(region, 2);
        let publisher = join(region, 3);
        let p = spawn_publisher(publisher, 0, 2);
        let r1 = spawn_receiver(s1, 1);
        let r2 = spawn_receiver(s2, 1);
        p.join().unwrap();
        check_receiver(&region, r1.join().unwrap(), 1, 2);
        check_receiver(&region, r2.join().unwrap(), 1, 2);
    });
}

/// N:1: two publishers (two lanes, the lane mask announced concurrently),
/// one receiver.
#[test]
fn many_to_one() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("many_to_one", &RUNS, 20000, || {
        let (_, region) = region(2, 3);
        let sub = join(region, 1);
        let p0 = join(region, 2);
        let p1 = join(region, 3);
        let a = spawn_publisher(p0, 0, 1);
        let b = spawn_publisher(p1, 1, 2);
        let s = spawn_receiver(sub, 2);
        let _held = (a.join().unwrap(), b.join().unwrap());
        let (sub, got) = s.join().unwrap();
        // Publisher 0 sent 1 message, publisher 1 sent 2.
        let mut all = (sub, got);
        while let Some(m) = all.0.recv() {
            all.1.push(m);
        }
        let mut last = [0u64; 2];
        for m in &all.1 {
            assert_eq!(m.b, !m.a, "torn message {m:?}");
            assert!(m.seq() > last[m.publisher()], "order");
            last[m.publisher()] = m.seq();
        }
        assert_eq!(last, [1, 2]);
        assert_eq!(region.published_count(), 3);
        assert_eq!(all.0.delivered_count() + all.0.dropped_count(), 3);
    });
}

/// A publisher died mid-write (its lane holds `DONE(1)`, `WRITING(2)`); one
/// thread reclaims it and publishes on the freed lane while another reads.
/// The reader counts exactly one drop and receives the rest.
#[test]
fn dead_publisher_reclaimed_while_reading() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("dead_publisher_reclaimed_while_reading", &RUNS, 50, || {
        let (mem, region) = region(4, 2);
        let me = OwnerToken::new(1).unwrap();
        let sub = join(region, me.get());
        let dead = OwnerToken::new(2).unwrap();
        let mut doomed = join(region, dead.get());
        doomed.send(Pair::new(0, 1)).expect("not evicted");
        // Killed while writing lane sequence 2: stamp WRITING(2) = 2 << 2 | 1.
        let lanes_at = mem[hdr::LANES_AT].load(Ordering::Relaxed) as usize;
        let slot_words = mem[hdr::SLOT_WORDS].load(Ordering::Relaxed) as usize;
        let lane = doomed.raw().lane().expect("a publisher holds a lane") as usize;
        mem[lanes_at + (lane * 4 + 2) * slot_words].store(2 << 2 | 1, Ordering::Relaxed);
        std::mem::forget(doomed);
        let reclaimer = thread::spawn(move || {
            assert_eq!(region.reclaim_dead(me, |t| t != dead), 1);
            let mut next = join(region, 3);
            next.send(Pair::new(0, 2)).expect("not evicted");
        });
        let s = spawn_receiver(sub, 2);
        reclaimer.join().unwrap();
        let (mut sub, mut got) = s.join().unwrap();
        while let Some(m) = sub.recv() {
            got.push(m);
        }
        let seqs: Vec<u64> = got.iter().map(Pair::seq).collect();
        assert!(got.iter().all(|m| m.b == !m.a), "torn");
        assert_eq!(seqs, [1, 2]);
        assert_eq!(sub.dropped_count(), 1);
        assert_eq!(region.published_count(), 3);
    });
}

/// Two handles join at once: they claim distinct entries, and a third finds
/// the topic full.
#[test]
fn concurrent_joins_claim_distinct_entries() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("concurrent_joins_claim_distinct_entries", &RUNS, 4, || {
        let (_, region) = region(2, 2);
        let a = thread::spawn(move || join(region, 1));
        let b = thread::spawn(move || join(region, 2));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_ne!(a.raw().index(), b.raw().index());
        assert!(TopicHandle::<Pair, _>::join(region, OwnerToken::new(3).unwrap(), 0, 0).is_err());
    });
}

/// A receiver joins while a publisher sends: whatever the interleaving, it
/// never gets a torn message or one twice, receives in order, ends at the
/// newest message if it got any, and counts no more than was published.
#[test]
fn join_while_publishing() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("join_while_publishing", &RUNS, 300, || {
        let (_, region) = region(2, 2);
        let publisher = join(region, 1);
        let p = spawn_publisher(publisher, 0, 2);
        let s = thread::spawn(move || {
            let mut sub = join(region, 2);
            let got: Vec<Pair> = sub.recv().into_iter().collect();
            (sub, got)
        });
        p.join().unwrap();
        let (mut sub, mut got) = s.join().unwrap();
        while let Some(m) = sub.recv() {
            got.push(m);
        }
        assert!(got.iter().all(|m| m.b == !m.a), "torn: {got:?}");
        let seqs: Vec<u64> = got.iter().map(Pair::seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "order: {seqs:?}");
        if let Some(&newest) = seqs.last() {
            assert_eq!(newest, 2, "newest lost: {seqs:?}");
        }
        assert_eq!(sub.delivered_count(), got.len() as u64);
        assert!(sub.delivered_count() + sub.dropped_count() <= 2);
        assert_eq!(region.published_count(), 2);
    });
}

/// A wrong verdict: the publisher is alive, yet one thread reclaims its entry
/// (an `is_alive` that lies) and publishes on the lane with a new handle,
/// while the evicted publisher sends its second message and a reader reads.
/// The evicted send is refused, or lands on a sequence of its own (the
/// reclaim reserved one), never on the new owner's; nothing is torn or
/// duplicated, the new owner's message arrives, the reader's accounting is
/// exact, and dropping the evicted handle frees nothing of the new owner's.
///
/// Loom 0.7 can break coherence when a read-modify-write races plain stores
/// to the same word (tokio-rs/loom#282, #389: a thread then reads a value
/// older than one that happens-before the read). Here the reclaimer's and
/// joiner's CASes on the in-flight slot race the evicted writer's stamp
/// stores, so a few executions end with that slot at `WRITING(2)` although
/// its writer stamped `DONE(2)` after it, which no C++/Rust execution can
/// do. Those executions are detected and skipped (and counted); every other
/// one is checked in full.
#[test]
fn evicted_writer_vs_new_owner_vs_reader() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static INCOHERENT: AtomicUsize = AtomicUsize::new(0);
    explore(
        "evicted_writer_vs_new_owner_vs_reader",
        &RUNS,
        10_000,
        || {
            // Capacity 4: the new owner's first 3 messages never reach the slot
            // of the evicted writer's in-flight message (at capacity 2 the first
            // one can: the documented limit, see `ring/participants.rs`).
            let (mem, region) = region(4, 2);
            let sub = join(region, 1);
            let victim_token = OwnerToken::new(2).unwrap();
            let mut victim = join(region, victim_token.get());
            victim.send(Pair::new(0, 1)).expect("held");
            let lane = victim.raw().lane().expect("a publisher holds a lane") as usize;
            let v = thread::spawn(move || {
                let sent = victim.send(Pair::new(0, 2)).is_ok();
                (victim, sent)
            });
            let r = spawn_evictor(region, victim_token);
            let s = spawn_receiver(sub, 1);
            let (victim, victim_sent) = v.join().unwrap();
            let owner = r.join().unwrap();
            let (mut sub, mut got) = s.join().unwrap();
            let lanes_at = mem[hdr::LANES_AT].load(Ordering::Relaxed) as usize;
            let slot_words = mem[hdr::SLOT_WORDS].load(Ordering::Relaxed) as usize;
            let in_flight = mem[lanes_at + (lane * 4 + 2) * slot_words].load(Ordering::Relaxed);
            if victim_sent && in_flight == 2 << 2 | 1 {
                // WRITING(2) after its writer's DONE(2): loom's incoherence.
                INCOHERENT.fetch_add(1, StdOrdering::Relaxed);
                return;
            }
            while let Some(m) = sub.recv() {
                got.push(m);
            }
            let last = check_evicted_and_owner(&got);
            if !victim_sent {
                assert!(last[0] <= 1, "a refused message arrived: {got:?}");
            }
            assert_eq!(sub.delivered_count(), got.len() as u64);
            assert_eq!(
                sub.delivered_count() + sub.dropped_count(),
                region.published_count()
            );
            // Dropping the evicted handle frees nothing: the new owner still
            // holds the entry it took.
            drop(victim);
            assert_eq!(region.participants().count(), 2);
            drop(owner);
        },
    );
    report_incoherent_skips(&RUNS, &INCOHERENT);
}

/// A handle's lane claim (its first send, `ring/lanes.rs`) races the
/// reclaim of the dead holder of the topic's only lane, while a reader
/// reads: the claimer gets the lane (freed by the reclaim, or taken over as
/// stale first, the reclaim then leaving it alone) or finds it held and is
/// refused with nothing written; nothing is torn or duplicated, accounting
/// stays exact (the dead holder's next sequence reserved once, by whichever
/// of the two took the lane from it), and no lane leaks.
///
/// Not modelled: a claimer racing the reclaim of its *own* entry. That rests
/// on `SYNC(first-send)`, store buffering between SeqCst accesses, which
/// loom does not model (tokio-rs/loom#180: its SeqCst loads are Acquire
/// loads); it is argued in `ring/lanes.rs`, as before this pool existed.
#[test]
fn lane_claim_vs_reclaim_of_its_holder() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("lane_claim_vs_reclaim_of_its_holder", &RUNS, 900, || {
        let region = region_with_lanes(4, 3, 1);
        let sub = join(region, 1);
        let dead = OwnerToken::new(2).unwrap();
        let mut doomed = join(region, dead.get());
        doomed.send(Pair::new(0, 1)).expect("the only lane");
        std::mem::forget(doomed); // killed between two messages
        let mut claimer = join(region, 3);
        let r = thread::spawn(move || {
            let me = OwnerToken::new(1).unwrap();
            assert_eq!(region.reclaim_dead(me, |t| t != dead), 1);
        });
        let c = thread::spawn(move || {
            let sent = claimer.send(Pair::new(1, 1)).is_ok();
            (claimer, sent)
        });
        let s = spawn_receiver(sub, 1);
        r.join().unwrap();
        let (mut claimer, mut sent) = c.join().unwrap();
        let (mut sub, mut got) = s.join().unwrap();
        if !sent {
            // The lane was still held when it looked: it is free now.
            assert_eq!(claimer.raw().lane(), None, "refused, yet holds a lane");
            claimer.send(Pair::new(1, 1)).expect("the freed lane");
            sent = true;
        }
        assert!(sent);
        while let Some(m) = sub.recv() {
            got.push(m);
        }
        let mut last = [0u64; 2];
        for m in &got {
            assert_eq!(m.b, !m.a, "torn message {m:?}");
            assert!(m.seq() > last[m.publisher()], "order or duplicate: {got:?}");
            last[m.publisher()] = m.seq();
        }
        assert_eq!(last, [1, 1], "a message was lost: {got:?}");
        // 1, the reserved 2, the claimer's at 3: one counted drop.
        assert_eq!(region.published_count(), 3);
        assert_eq!(region.reserved_count(), 1);
        assert_eq!(
            (sub.delivered_count(), sub.dropped_count()),
            (2, 1),
            "{got:?}"
        );
        assert_eq!(region.lanes_in_use(), 1);
        drop(claimer);
        assert_eq!(region.lanes_in_use(), 0, "a lane leaked");
    });
}

/// Two handles make their first sends while the holder of one of the
/// topic's two lanes leaves: they get distinct lanes (the left one only
/// once it is free: the later claimer, or a retry after a refusal that
/// found it still held); the leaver's message stays readable (capacity 4,
/// nothing overwrites it), nothing is lost or duplicated, and no lane
/// leaks.
#[test]
fn first_sends_race_a_leave() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("first_sends_race_a_leave", &RUNS, 100, || {
        let region = region_with_lanes(4, 4, 2);
        let sub = join(region, 1);
        let mut leaver = join(region, 2);
        leaver.send(Pair::new(0, 1)).expect("a free lane");
        assert_eq!(leaver.raw().lane(), Some(0));
        let claimers = [1, 2].map(|id| {
            let mut h = join(region, 2 + id);
            thread::spawn(move || {
                let sent = h.send(Pair::new(id, 1)).is_ok();
                (h, sent)
            })
        });
        let l = thread::spawn(move || drop(leaver));
        l.join().unwrap();
        let mut held = Vec::new();
        for (id, c) in (1..).zip(claimers) {
            let (mut h, sent) = c.join().unwrap();
            if !sent {
                // Lane 0 was still held when it looked: free now.
                assert_eq!(h.raw().lane(), None, "refused, yet holds a lane");
                h.send(Pair::new(id, 1)).expect("the freed lane");
            }
            held.push(h);
        }
        let mut lanes: Vec<u32> = held.iter().filter_map(|h| h.raw().lane()).collect();
        lanes.sort_unstable();
        assert_eq!(lanes, [0, 1], "one lane each");
        check_receiver(&region, (sub, Vec::new()), 3, 1);
        assert_eq!(region.reserved_count(), 0);
        drop(held);
        assert_eq!(region.lanes_in_use(), 0, "a lane leaked");
    });
}

/// The eviction defence's documented formal gap (`ring/participants.rs`,
/// "Not guaranteed", the Relaxed check), as a model: the evicted writer
/// sends two messages while it is reclaimed, so in the language's memory
/// model both its claim checks may read the counter from before the
/// reclaim, and the reclaimer's scan may miss the first message's stamp.
/// Loom then finds executions where the new owner's message shares a
/// sequence (a stamp) with the writer's second one: one of them lost
/// uncounted, or a torn copy. Hardware does not do this (the argument in
/// `ring/participants.rs`); closing it in the model needs a SeqCst fence
/// per send, which the design declines. Ignored: it fails today, and is
/// here to show the gap and to check a future fix
/// (`bash ci/loom.sh evicted_writer_with --ignored`).
#[test]
#[ignore = "reaches the documented formal gap of the eviction defence (see its doc)"]
fn evicted_writer_with_an_unseen_message_vs_new_owner() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static INCOHERENT: AtomicUsize = AtomicUsize::new(0);
    explore(
        "evicted_writer_with_an_unseen_message_vs_new_owner",
        &RUNS,
        1_000,
        || {
            let (mem, region) = region(4, 2);
            let mut sub = join(region, 1);
            let victim_token = OwnerToken::new(2).unwrap();
            let mut victim = join(region, victim_token.get());
            victim.send(Pair::new(0, 1)).expect("held");
            let lane = victim.raw().lane().expect("a publisher holds a lane") as usize;
            let v = thread::spawn(move || {
                let sent = [2, 3].map(|seq| victim.send(Pair::new(0, seq)).is_ok());
                (victim, sent)
            });
            let r = spawn_evictor(region, victim_token);
            let (victim, sent) = v.join().unwrap();
            let owner = r.join().unwrap();
            let lanes_at = mem[hdr::LANES_AT].load(Ordering::Relaxed) as usize;
            let slot_words = mem[hdr::SLOT_WORDS].load(Ordering::Relaxed) as usize;
            let writing = (0..4).any(|slot| {
                mem[lanes_at + (lane * 4 + slot) * slot_words].load(Ordering::Relaxed) & 3 == 1
            });
            if writing && sent.iter().all(|&s| s) {
                // A WRITING stamp after its writer's DONE: loom's incoherence
                // (see `evicted_writer_vs_new_owner_vs_reader`).
                INCOHERENT.fetch_add(1, StdOrdering::Relaxed);
                return;
            }
            let mut got = Vec::new();
            while let Some(m) = sub.recv() {
                got.push(m);
            }
            check_evicted_and_owner(&got);
            let from_victim = got.iter().filter(|m| m.publisher() == 0).count() as u64;
            assert!(from_victim <= 1 + sent.iter().filter(|&&s| s).count() as u64);
            assert_eq!(
                sub.delivered_count() + sub.dropped_count(),
                region.published_count(),
                "{got:?} sent {sent:?}"
            );
            drop(victim);
            drop(owner);
        },
    );
    report_incoherent_skips(&RUNS, &INCOHERENT);
}

/// Memory backed on demand whose reservations fail while `FULL` (a per-
/// execution flag, outside the model: the storage's answer, not shared state
/// of the ring).
#[derive(Clone, Copy)]
struct OnDemand {
    words: &'static [AtomicU64],
    full: &'static std::sync::atomic::AtomicBool,
}

impl core::ops::Deref for OnDemand {
    type Target = [AtomicU64];
    fn deref(&self) -> &[AtomicU64] {
        self.words
    }
}

impl horus_nostd::region::Words for OnDemand {
    const RESERVE_ON_CLAIM: bool = true;

    fn reserve(&self, _: core::ops::Range<usize>) -> Result<(), horus_nostd::region::OutOfMemory> {
        if self.full.load(StdOrdering::Relaxed) {
            Err(horus_nostd::region::OutOfMemory)
        } else {
            Ok(())
        }
    }
}

/// A first send that finds no memory for the topic's only lane (refused,
/// `Refusal::NoMemory`, the lane given back untouched) races a wrong verdict
/// that reclaims the sender's entry (which frees the lane if it finds it
/// held, without touching it either). Whichever order: nothing was written
/// to the lane, and once there is memory the lane is claimed again (by the
/// evicted sender after a rejoin): no lane leaks.
#[test]
fn a_claim_without_memory_vs_reclaim_of_the_claimer() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore(
        "a_claim_without_memory_vs_reclaim_of_the_claimer",
        &RUNS,
        30,
        || {
            let layout = TopicLayout::of_publishers::<Pair>(2, 3, 1).expect("valid geometry");
            let words: Vec<AtomicU64> = (0..layout.region_words())
                .map(|_| AtomicU64::new(0))
                .collect();
            let words: &'static [AtomicU64] = Box::leak(words.into_boxed_slice());
            let full = Box::leak(Box::new(std::sync::atomic::AtomicBool::new(true)));
            let mem = OnDemand { words, full };
            let region =
                TopicRegion::init_with(mem, layout, TypeInfo::of::<Pair>(), Pair::FIELDS, 0)
                    .expect("init");
            let token = |t| OwnerToken::new(t).expect("token");
            let mut sub =
                TopicHandle::<Pair, OnDemand>::join(region, token(1), 0, 0).expect("join");
            let mut sender =
                TopicHandle::<Pair, OnDemand>::join(region, token(2), 0, 0).expect("join");
            let s = thread::spawn(move || {
                let refused = sender.send(Pair::new(0, 1)).expect_err("no memory");
                (sender, refused.reason)
            });
            let r = thread::spawn(move || {
                let me = OwnerToken::new(1).unwrap();
                assert_eq!(region.reclaim_dead(me, |t| t != token(2)), 1);
            });
            r.join().unwrap();
            let (mut sender, reason) = s.join().unwrap();
            // Refused for want of memory, or (the reclaim came first) evicted.
            assert!(
                matches!(
                    reason,
                    horus_nostd::Refusal::NoMemory { lane: 0, .. } | horus_nostd::Refusal::Evicted
                ),
                "{reason:?}"
            );
            let lanes_at = layout.lanes_offset() / 8;
            assert!(
                words[lanes_at..]
                    .iter()
                    .all(|w| w.load(Ordering::Relaxed) == 0),
                "a lane without memory was written"
            );
            assert_eq!(region.lanes_in_use(), 0, "a lane leaked");
            full.store(false, StdOrdering::Relaxed);
            sender.rejoin(0, 0).expect("rejoin");
            sender.send(Pair::new(0, 1)).expect("the lane, with memory");
            assert_eq!(sub.recv(), Some(Pair::new(0, 1)));
            assert_eq!(region.lanes_in_use(), 1);
        },
    );
}
