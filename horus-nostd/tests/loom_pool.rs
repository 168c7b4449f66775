//! Loom models of the block pool, running the production code
//! (`PoolRegion::init`/`loan`/`publish`/`hold`/`reclaim_dead`) over loom's
//! atomics through `horus_nostd::sync`.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p horus-nostd --release --test loom_pool
//! ```
//!
//! Every actor is a `loom::thread`; the main thread only sets up (init, a
//! first publish) before spawning and checks after joining. Holders read
//! their block twice, before and after the other actors may have run, and
//! assert both reads carry the pattern of the held generation: a loan that
//! reused a held block would write another generation's pattern in
//! between. Each model counts its executions and asserts a minimum (about a
//! quarter of what it explores today).
//!
//! The models catch the bug the RMW design avoids: the hold reads `STATE`
//! with a plain Acquire load, which is sound only because the loan's
//! `HOLDERS` RMW (step 4) is a Release that the hold's `fetch_or` (R1)
//! acquires. Weaken either side (step 4 Acquire only, or R1 Release only:
//! the store-buffering shape of a Dekker pattern without SeqCst) and
//! `held_block_is_never_reloaned` fails with "held block rewritten" in
//! under a second (both tried). A publish whose `STATE` store is Relaxed
//! instead of Release fails `a_hold_racing_the_publish_sees_the_published_data`
//! with "wrong data at hold" (tried): there the holder knows the descriptor
//! in advance, so only the pool's own ordering makes the data visible.
#![cfg(loom)]
// The execution counter is a std atomic on purpose: it lives outside the model.
#![allow(clippy::disallowed_types)]

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

use horus_nostd::OwnerToken;
use horus_nostd::pool::{BlockDescriptor, HoldError, PoolLayout, PoolRegion};
use horus_nostd::sync::{AtomicU64, Ordering};
use loom::thread;

/// 64-byte blocks; messages are the first two words.
const BLOCK: u32 = 64;
const LEN: usize = 16;

fn pool(blocks: u32) -> PoolRegion<&'static [AtomicU64]> {
    let words = PoolLayout::new(BLOCK, blocks).unwrap().region_words();
    let mem: Vec<AtomicU64> = (0..words).map(|_| AtomicU64::new(0)).collect();
    let mem: &'static [AtomicU64] = Box::leak(mem.into_boxed_slice());
    PoolRegion::init(mem, BLOCK, blocks, 0, 0).expect("init")
}

fn token(t: u64) -> OwnerToken {
    OwnerToken::new(t).unwrap()
}

/// The two words of generation `g`.
fn pattern(g: u64) -> [u64; 2] {
    [g.wrapping_mul(0x9e37_79b9), !g]
}

/// Loans, writes the generation's pattern, publishes. `None` if exhausted.
fn publish(pool: PoolRegion<&[AtomicU64]>, me: u64) -> Option<BlockDescriptor> {
    let loan = pool.loan(token(me)).ok()?;
    let p = pattern(loan.generation());
    for (w, v) in loan.words().iter().zip(p) {
        w.store(v, Ordering::Relaxed);
    }
    Some(loan.publish(LEN).unwrap())
}

/// Holds `d` as participant `p`, checks the pattern twice (a yield between),
/// releases. True if the hold succeeded.
fn hold_and_check(pool: PoolRegion<&[AtomicU64]>, p: u32, d: BlockDescriptor) -> bool {
    let view = match pool.hold(p, d) {
        Ok(view) => view,
        Err(HoldError::Stale) => return false,
        Err(e) => panic!("{e}"),
    };
    let read = || -> Vec<u64> {
        view.words()[..2]
            .iter()
            .map(|w| w.load(Ordering::Relaxed))
            .collect()
    };
    assert_eq!(read(), pattern(d.generation), "wrong data at hold");
    thread::yield_now();
    assert_eq!(read(), pattern(d.generation), "held block rewritten");
    drop(view);
    true
}

/// As in `loom_ring.rs`: runs `model`, counts executions, asserts a minimum.
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

/// Two holders of one published message and a writer that loans twice from
/// a pool of two blocks: the second loan may recycle the message's block
/// only if neither holder holds it, and never under a holder's reads.
#[test]
fn held_block_is_never_reloaned() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("held_block_is_never_reloaned", &RUNS, 4_000, || {
        let pool = pool(2);
        let d = publish(pool, 1).unwrap();
        let a = thread::spawn(move || hold_and_check(pool, 0, d));
        let b = thread::spawn(move || hold_and_check(pool, 1, d));
        let w = thread::spawn(move || [publish(pool, 2), publish(pool, 2)]);
        let (a, b, loans) = (a.join().unwrap(), b.join().unwrap(), w.join().unwrap());
        let recycled = loans.iter().flatten().any(|l| l.block == d.block);
        // The first loan takes the free block; the second starts its scan at
        // the message's block and falls back to the one loan 1 published.
        assert!(loans[0].is_some_and(|l| l.block != d.block));
        assert!(loans[1].is_some());
        if recycled {
            // Recycled: the message is gone for late holders; a holder that
            // got in before read it intact (checked inside).
            assert_eq!(pool.hold(2, d).map(drop), Err(HoldError::Stale));
        }
        let _ = (a, b);
        let u = pool.usage();
        assert_eq!((u.held, u.loaned), (0, 0));
        assert_eq!(pool.loans_failed(), 0);
    });
}

/// Participant 0 died holding the only block. A reclaimer clears its bit
/// while participant 1 holds the same block and a writer tries to loan:
/// the live holder's bit survives, and the writer gets the block only once
/// nobody holds it.
#[test]
fn reclaiming_a_dead_holder_spares_the_live_one() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore(
        "reclaiming_a_dead_holder_spares_the_live_one",
        &RUNS,
        2000,
        || {
            let pool = pool(1);
            let d = publish(pool, 1).unwrap();
            std::mem::forget(pool.hold(0, d).unwrap()); // participant 0 killed
            let reclaimer =
                thread::spawn(move || pool.reclaim_dead(token(9), |_| true, 1).holds_cleared);
            let holder = thread::spawn(move || hold_and_check(pool, 1, d));
            let writer = thread::spawn(move || publish(pool, 2));
            let cleared = reclaimer.join().unwrap();
            let held = holder.join().unwrap();
            let loaned = writer.join().unwrap();
            assert_eq!(cleared, 1);
            // Both may back off (the holder saw the loan's generation, the loan
            // saw the holder's bit); never both get the block at once.
            let _ = held;
            if loaned.is_some() {
                assert_eq!(pool.hold(2, d).map(drop), Err(HoldError::Stale));
            }
            assert_eq!(pool.usage().held, 0);
        },
    );
}

/// A loaner died mid-write on the only block. A reclaimer frees it while a
/// writer tries to loan: the block is loaned at most once, and whoever got
/// it publishes a message a holder can read.
#[test]
fn reclaiming_a_dead_loaner_races_a_loan() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("reclaiming_a_dead_loaner_races_a_loan", &RUNS, 10, || {
        let pool = pool(1);
        let dead = token(7);
        std::mem::forget(pool.loan(dead).unwrap());
        let reclaimer = thread::spawn(move || {
            pool.reclaim_dead(token(9), move |t| t != dead, 0)
                .loans_freed
        });
        let writer = thread::spawn(move || publish(pool, 2));
        let freed = reclaimer.join().unwrap();
        let loaned = writer.join().unwrap();
        assert_eq!(freed, 1);
        if let Some(d) = loaned {
            assert!(hold_and_check(pool, 0, d));
        } else {
            let d = publish(pool, 2).expect("freed by the reclaimer");
            assert!(hold_and_check(pool, 0, d));
        }
    });
}

/// Two publishers race for the only block: a block is loaned to one of them
/// at a time (the `OWNER` claim), so neither sees the other's writes in its
/// block before publishing, and the last publication reads intact.
#[test]
fn two_loaners_never_share_a_block() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore("two_loaners_never_share_a_block", &RUNS, 150, || {
        let pool = pool(1);
        let writer = |me: u64| {
            move || {
                let loan = pool.loan(token(me)).ok()?;
                let p = pattern(loan.generation());
                for (w, v) in loan.words().iter().zip(p) {
                    w.store(v, Ordering::Relaxed);
                }
                thread::yield_now();
                let read: Vec<u64> = loan.words()[..2]
                    .iter()
                    .map(|w| w.load(Ordering::Relaxed))
                    .collect();
                assert_eq!(read, p, "another loaner wrote into our block");
                Some(loan.publish(LEN).unwrap())
            }
        };
        let a = thread::spawn(writer(1));
        let b = thread::spawn(writer(2));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let got: Vec<BlockDescriptor> = [a, b].into_iter().flatten().collect();
        assert!(!got.is_empty(), "the block was free: someone gets it");
        let newest = got.iter().max_by_key(|d| d.generation).unwrap();
        assert!(hold_and_check(pool, 0, *newest));
        assert_eq!(pool.loans_failed(), 2 - got.len() as u64);
    });
}

/// A reader holds a message while its publisher is still publishing it, and
/// the publisher then loans the only block again: the descriptor is known
/// in advance (block 0, generation 1), not sent, so nothing but the pool's
/// own ordering (publish's Release store of `STATE`, the hold's Acquire
/// load) makes the data visible. A hold that succeeds reads the whole
/// message. (A loan backs off from the block while a hold marks it, so
/// either loan may fail.)
#[test]
fn a_hold_racing_the_publish_sees_the_published_data() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    explore(
        "a_hold_racing_the_publish_sees_the_published_data",
        &RUNS,
        90,
        || {
            let pool = pool(1);
            let first = BlockDescriptor {
                generation: 1,
                segment: 0,
                block: 0,
                len: LEN as u32,
                reserved: 0,
            };
            let reader = thread::spawn(move || hold_and_check(pool, 0, first));
            let writer = thread::spawn(move || [publish(pool, 1), publish(pool, 1)]);
            let held = reader.join().unwrap();
            let [a, b] = writer.join().unwrap();
            // A loan backs off from a block a racing hold marked (even a
            // hold that then finds the block stale): either may fail.
            if a.is_some() {
                assert_eq!(a, Some(first));
            }
            if let Some(b) = b {
                assert!(b.generation > 1, "a new generation for each loan");
            }
            if held {
                assert_eq!(a, Some(first), "a hold succeeded on a published message");
            }
            assert_eq!(pool.usage().held, 0);
        },
    );
}
