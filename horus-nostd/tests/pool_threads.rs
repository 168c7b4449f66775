//! The block pool under threads: publishers loan, fill and publish blocks and
//! send the descriptors to every receiver (a stand-in for the topic ring);
//! receivers hold them for random durations, several at a time.
//!
//! Checked: every view reads the pattern of its own generation when held
//! *and* when released (a held block never changes under its holder), every
//! published message is delivered or stale for every receiver (exact
//! accounting), every refused loan is counted, and nothing stays held.
#![cfg(not(loom))]

use std::collections::VecDeque;
use std::sync::mpsc;
use std::thread;

use horus_nostd::OwnerToken;
use horus_nostd::pool::{BlockDescriptor, BlockView, HoldError, PoolLayout, PoolRegion};
use horus_nostd::sync::{AtomicU64, Ordering};

const BLOCK: u32 = 256;
/// Descriptors in flight per receiver: the test paces the publisher so that
/// receivers see most messages (the pool itself never makes it wait).
const LAG: usize = 2;

/// Word `i` of the message with descriptor `d`: ties the bytes to the
/// generation, so a recycled block reads differently.
fn word(d: &BlockDescriptor, i: usize) -> u64 {
    let x = d.generation.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(d.block) << 40;
    x.wrapping_add(i as u64).rotate_left(i as u32 % 64)
}

fn check(view: &BlockView<&[AtomicU64]>, when: &str) {
    let d = view.descriptor();
    for (i, w) in view.words().iter().enumerate().take(view.len().div_ceil(8)) {
        assert_eq!(
            w.load(Ordering::Relaxed),
            word(&d, i),
            "block {} generation {}: word {i} changed {when}",
            d.block,
            d.generation
        );
    }
}

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Debug, Default)]
struct Counts {
    delivered: u64,
    stale: u64,
}

fn run(publishers: usize, receivers: usize, blocks: u32, messages: u64) {
    let layout = PoolLayout::new(BLOCK, blocks).unwrap();
    let mem: Vec<AtomicU64> = (0..layout.region_words())
        .map(|_| AtomicU64::new(0))
        .collect();
    let pool = PoolRegion::init(&mem[..], BLOCK, blocks, 1, 0).unwrap();
    let (senders, inboxes): (Vec<_>, Vec<_>) = (0..receivers)
        .map(|_| mpsc::sync_channel::<BlockDescriptor>(LAG))
        .unzip();
    let (published, refused, counts) = thread::scope(|s| {
        let publishing: Vec<_> = (0..publishers)
            .map(|p| {
                let senders = senders.clone();
                s.spawn(move || publish(pool, p, messages, &senders))
            })
            .collect();
        drop(senders);
        let receiving: Vec<_> = inboxes
            .into_iter()
            .enumerate()
            .map(|(r, inbox)| s.spawn(move || receive(pool, r as u32, inbox)))
            .collect();
        let (mut published, mut refused) = (0, 0);
        for h in publishing {
            let (p, f) = h.join().unwrap();
            published += p;
            refused += f;
        }
        let counts: Vec<Counts> = receiving.into_iter().map(|h| h.join().unwrap()).collect();
        (published, refused, counts)
    });
    for (r, c) in counts.iter().enumerate() {
        assert_eq!(c.delivered + c.stale, published, "receiver {r}: {c:?}");
    }
    assert_eq!(published + refused, publishers as u64 * messages);
    assert_eq!(pool.loans_failed(), refused);
    let usage = pool.usage();
    assert_eq!(
        (usage.held, usage.loaned, usage.busy),
        (0, 0, 0),
        "{usage:?}"
    );
    let delivered: u64 = counts.iter().map(|c| c.delivered).sum();
    println!(
        "{publishers} publishers, {receivers} receivers, {blocks} blocks: \
         {published} published, {refused} refused, {delivered} delivered, counts {counts:?}"
    );
    assert!(delivered > 0);
}

/// Publishes `messages` times (or counts a refusal); returns (published, refused).
fn publish(
    pool: PoolRegion<&[AtomicU64]>,
    p: usize,
    messages: u64,
    receivers: &[mpsc::SyncSender<BlockDescriptor>],
) -> (u64, u64) {
    let me = OwnerToken::new(p as u64 + 1).unwrap();
    let mut rng = Xorshift(0x1234_5678 + p as u64);
    let (mut published, mut refused) = (0, 0);
    for _ in 0..messages {
        let Ok(loan) = pool.loan(me) else {
            refused += 1;
            thread::yield_now();
            continue;
        };
        let len = 1 + (rng.next() % u64::from(BLOCK)) as usize;
        // Write the pattern of the descriptor the publish will return.
        let d = BlockDescriptor {
            generation: loan.generation(),
            segment: 1,
            block: loan.block(),
            len: len as u32,
            reserved: 0,
        };
        let words = loan.words();
        for (i, w) in words.iter().enumerate().take(len.div_ceil(8)) {
            w.store(word(&d, i), Ordering::Relaxed);
        }
        let published_d = loan.publish(len).unwrap();
        assert_eq!(published_d, d);
        published += 1;
        for r in receivers {
            r.send(d).unwrap();
        }
    }
    (published, refused)
}

/// Holds what arrives, for random durations, up to 3 views at once.
fn receive(
    pool: PoolRegion<&[AtomicU64]>,
    participant: u32,
    inbox: mpsc::Receiver<BlockDescriptor>,
) -> Counts {
    let mut rng = Xorshift(0x9876_5432 + u64::from(participant));
    let mut counts = Counts::default();
    // Each receiver is one participant; it holds distinct blocks (one bit each).
    let mut held: VecDeque<BlockView<&[AtomicU64]>> = VecDeque::new();
    loop {
        let d = match inbox.recv_timeout(std::time::Duration::from_micros(200)) {
            Ok(d) => d,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Nothing new (the publisher may be out of blocks): let go of one.
                if let Some(view) = held.pop_front() {
                    check(&view, "while held");
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if held.iter().any(|v| v.descriptor().block == d.block) {
            // Our own view pins that block: this descriptor names an older
            // or the same generation; holding again is refused either way.
            match pool.hold(participant, d) {
                Err(HoldError::Stale) => counts.stale += 1,
                other => panic!("expected Stale, got {:?}", other.map(|v| v.descriptor())),
            }
            continue;
        }
        match pool.hold(participant, d) {
            Ok(view) => {
                check(&view, "at hold");
                counts.delivered += 1;
                held.push_back(view);
            }
            Err(HoldError::Stale) => counts.stale += 1,
            Err(e) => panic!("{e}"),
        }
        let keep = (rng.next() % 4) as usize;
        while held.len() > keep {
            let view = held.pop_front().unwrap();
            for _ in 0..rng.next() % 64 {
                std::hint::spin_loop();
            }
            check(&view, "while held");
            drop(view);
        }
    }
    for view in held {
        check(&view, "while held");
    }
    counts
}

fn messages() -> u64 {
    if cfg!(miri) { 60 } else { 50_000 }
}

#[test]
fn one_publisher_three_receivers() {
    run(1, 3, 6, messages());
}

#[test]
fn two_publishers_two_receivers_few_blocks() {
    run(2, 2, 4, messages());
}

/// A receiver dies holding views and a loaner died mid-write; a reclaimer
/// frees both while the publisher and a live receiver go on. The dead
/// receiver's bits and the dead loan are reclaimed exactly, nothing of the
/// live ones is touched, and the live receiver's accounting stays exact.
#[test]
fn dead_holder_and_dead_loaner_reclaimed_while_running() {
    const DOOMED: u32 = 5;
    let messages = messages();
    let layout = PoolLayout::new(BLOCK, 5).unwrap();
    let mem: Vec<AtomicU64> = (0..layout.region_words())
        .map(|_| AtomicU64::new(0))
        .collect();
    let pool = PoolRegion::init(&mem[..], BLOCK, 5, 1, 0).unwrap();
    let dead_loaner = OwnerToken::new(99).unwrap();
    std::mem::forget(pool.loan(dead_loaner).unwrap()); // killed mid-write
    let doomed_is_dead = AtomicU64::new(0);
    let (live_tx, live_rx) = mpsc::sync_channel::<BlockDescriptor>(LAG);
    let (doomed_tx, doomed_rx) = mpsc::sync_channel::<BlockDescriptor>(LAG);
    let (published, live, forgotten, report) = thread::scope(|s| {
        let publisher = s.spawn(move || {
            let me = OwnerToken::new(1).unwrap();
            let mut published = 0;
            for n in 0..messages {
                let Ok(loan) = pool.loan(me) else {
                    thread::yield_now();
                    continue;
                };
                let d = BlockDescriptor {
                    generation: loan.generation(),
                    segment: 1,
                    block: loan.block(),
                    len: 8 + (n % 200) as u32,
                    reserved: 0,
                };
                for (i, w) in loan
                    .words()
                    .iter()
                    .enumerate()
                    .take(d.len.div_ceil(8) as usize)
                {
                    w.store(word(&d, i), Ordering::Relaxed);
                }
                assert_eq!(loan.publish(d.len as usize).unwrap(), d);
                published += 1;
                live_tx.send(d).unwrap();
                let _ = doomed_tx.send(d); // fails once it is dead
            }
            published
        });
        let dead_flag = &doomed_is_dead;
        let doomed = s.spawn(move || {
            let mut views = Vec::new();
            for d in doomed_rx.iter().take(10) {
                if views.len() < 3 {
                    if let Ok(view) = pool.hold(DOOMED, d) {
                        check(&view, "at hold");
                        views.push(view);
                    }
                }
            }
            let n = views.len() as u32;
            views.into_iter().for_each(std::mem::forget); // killed holding them
            dead_flag.store(1, Ordering::Release);
            n
        });
        let reclaimer = s.spawn(|| {
            while doomed_is_dead.load(Ordering::Acquire) == 0 {
                thread::yield_now();
            }
            pool.reclaim_dead(
                OwnerToken::new(9).unwrap(),
                |t| t != dead_loaner,
                1 << DOOMED,
            )
        });
        let live = s.spawn(move || receive(pool, 0, live_rx));
        (
            publisher.join().unwrap(),
            live.join().unwrap(),
            doomed.join().unwrap(),
            reclaimer.join().unwrap(),
        )
    });
    assert_eq!(report.loans_freed, 1, "the dead loan");
    assert_eq!(
        report.holds_cleared, forgotten,
        "exactly the dead one's bits"
    );
    assert_eq!(live.delivered + live.stale, published, "{live:?}");
    let u = pool.usage();
    assert_eq!((u.held, u.loaned, u.busy), (0, 0, 0), "{u:?}");
    // The whole pool is usable again.
    let me = OwnerToken::new(1).unwrap();
    let loans: Vec<_> = (0..5).map(|_| pool.loan(me).unwrap()).collect();
    assert_eq!(loans.len(), 5);
}
