//! The block pool on one thread: the life of a block, reuse only when nobody
//! holds it, typed errors for foreign descriptors and memory, reclamation of
//! dead loaners and holders, and exact accounting.
#![cfg(not(loom))]

use horus_nostd::OwnerToken;
use horus_nostd::pool::{
    BlockDescriptor, HoldError, LoanError, PoolAttachError, PoolLayout, PoolRegion, PublishError,
    ctl, hdr,
};
use horus_nostd::sync::{AtomicU64, Ordering};

// Loans and views can move to (and be shared with) other threads: std hands
// them to worker threads and Python.
static_assertions::assert_impl_all!(horus_nostd::pool::Loan<&'static [AtomicU64]>: Send, Sync);
static_assertions::assert_impl_all!(horus_nostd::pool::BlockView<&'static [AtomicU64]>: Send, Sync);
static_assertions::assert_impl_all!(PoolRegion<&'static [AtomicU64]>: Send, Sync, Copy);

fn memory(block_size: u32, blocks: u32) -> Vec<AtomicU64> {
    let words = PoolLayout::new(block_size, blocks).unwrap().region_words();
    (0..words).map(|_| AtomicU64::new(0)).collect()
}

fn token(t: u64) -> OwnerToken {
    OwnerToken::new(t).unwrap()
}

/// The bytes message `n` carries.
fn pattern(n: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (n.wrapping_mul(31) as usize + i * 7) as u8)
        .collect()
}

fn publish(
    pool: &PoolRegion<&[AtomicU64]>,
    n: u64,
    len: usize,
) -> Result<BlockDescriptor, LoanError> {
    let mut loan = pool.loan(token(1))?;
    loan.write(0, &pattern(n, len)).unwrap();
    Ok(loan.publish(len).unwrap())
}

fn read_all(
    pool: &PoolRegion<&[AtomicU64]>,
    p: u32,
    d: BlockDescriptor,
) -> Result<Vec<u8>, HoldError> {
    let view = pool.hold(p, d)?;
    let mut out = vec![0; view.len()];
    view.read(0, &mut out).unwrap();
    Ok(out)
}

#[test]
fn loan_publish_hold_release_reuse() {
    let mem = memory(128, 2);
    let pool = PoolRegion::init(&mem[..], 128, 2, 5, 0).unwrap();
    let d = publish(&pool, 1, 100).unwrap();
    assert_eq!((d.segment, d.len, d.reserved), (5, 100, 0));
    // Two participants hold it at once; both read the same bytes.
    let a = pool.hold(0, d).unwrap();
    let b = pool.hold(63, d).unwrap();
    let mut out = vec![0; 100];
    a.read(0, &mut out).unwrap();
    assert_eq!(out, pattern(1, 100));
    b.read(0, &mut out).unwrap();
    assert_eq!(out, pattern(1, 100));
    assert_eq!(pool.usage().held, 1);
    drop(a);
    b.release();
    assert_eq!(pool.usage().held, 0);
    // Four more messages through two blocks: each recycles the oldest.
    let mut last = d;
    for n in 2..6 {
        let next = publish(&pool, n, 128).unwrap();
        assert_ne!(
            next.block, last.block,
            "round robin: the older block is recycled"
        );
        assert_eq!(read_all(&pool, 0, next).unwrap(), pattern(n, 128));
        last = next;
    }
    assert_eq!(read_all(&pool, 0, d), Err(HoldError::Stale));
    assert_eq!(pool.loans_failed(), 0);
}

/// `init_zeroed` rewrites the header and every control line (a pool left
/// with held, loaned and published blocks starts afresh) and leaves the
/// block data as it was; `init` zeroes the data too.
#[test]
fn init_zeroed_resets_the_control_lines_and_keeps_the_data() {
    let mem = memory(64, 3);
    let old = PoolRegion::init(&mem[..], 64, 3, 1, 0).unwrap();
    let held = publish(&old, 1, 64).unwrap();
    std::mem::forget(old.hold(2, held).unwrap());
    let mut loan = old.loan(token(9)).unwrap();
    loan.write(0, &pattern(9, 64)).unwrap();
    std::mem::forget(loan); // half-written by a loaner that died
    publish(&old, 2, 64).unwrap();
    let data = |b: usize| &mem[PoolLayout::new(64, 3).unwrap().region_words() - (3 - b) * 8];
    assert!((0..3).all(|b| data(b).load(Ordering::Relaxed) != 0));

    let pool = PoolRegion::init_zeroed(&mem[..], 64, 3, 7, 0).unwrap();
    let usage = pool.usage();
    assert_eq!((usage.held, usage.busy, pool.loans_failed()), (0, 0, 0));
    assert_eq!(pool.segment(), 7);
    assert!(
        (0..3).all(|b| data(b).load(Ordering::Relaxed) != 0),
        "data kept"
    );
    // Every block is free again: three loans at once, a fourth refused.
    let loans: Vec<_> = (0..3).map(|_| pool.loan(token(1)).unwrap()).collect();
    assert!(matches!(
        pool.loan(token(1)),
        Err(LoanError::Exhausted { .. })
    ));
    drop(loans);
    assert_eq!(
        read_all(&pool, 0, publish(&pool, 3, 64).unwrap()).unwrap(),
        pattern(3, 64)
    );

    PoolRegion::init(&mem[..], 64, 3, 7, 0).unwrap();
    assert!(
        (0..3).all(|b| data(b).load(Ordering::Relaxed) == 0),
        "init zeroes"
    );
}

#[test]
fn loans_go_round_the_pool_from_any_hint() {
    const N: u32 = 4;
    let mem = memory(64, N);
    let pool = PoolRegion::init(&mem[..], 64, N, 0, 0).unwrap();
    // In order, wrapping after the last block: the oldest is recycled.
    let blocks: Vec<u32> = (0..2 * N as u64)
        .map(|n| publish(&pool, n, 64).unwrap().block)
        .collect();
    assert_eq!(blocks, [0, 1, 2, 3, 0, 1, 2, 3]);
    // A hint on the last block wraps to block 0 after it; one past the
    // last block, or anything another process wrote there, starts at 0.
    for (hint, first, second) in [(3, 3, 0), (4, 0, 1), (1000, 0, 1), (u64::MAX, 0, 1)] {
        mem[hdr::NEXT].store(hint, Ordering::Relaxed);
        assert_eq!(
            pool.next_candidate().0 as *const _,
            &mem[hdr::WORDS + first as usize * ctl::WORDS + ctl::STATE] as *const _,
            "hint {hint}"
        );
        assert_eq!(publish(&pool, 1, 64).unwrap().block, first, "hint {hint}");
        assert_eq!(publish(&pool, 2, 64).unwrap().block, second, "hint {hint}");
    }
    // The scan goes on past busy blocks, round the end of the pool.
    let held: Vec<_> = [1, 2, 3]
        .map(|b| {
            mem[hdr::NEXT].store(b, Ordering::Relaxed);
            pool.hold(9, publish(&pool, 7, 64).unwrap()).unwrap()
        })
        .into();
    mem[hdr::NEXT].store(1, Ordering::Relaxed);
    assert_eq!(publish(&pool, 8, 64).unwrap().block, 0);
    drop(held);
    assert_eq!(pool.loans_failed(), 0);
}

#[test]
fn a_held_block_is_never_reused() {
    const N: u32 = 4;
    let mem = memory(64, N);
    let pool = PoolRegion::init(&mem[..], 64, N, 0, 0).unwrap();
    let held_desc = publish(&pool, 1000, 64).unwrap();
    let held = pool.hold(7, held_desc).unwrap();
    // Many more loans than blocks: the held one is never handed out.
    for n in 0..(4 * N as u64 + 1) {
        let d = publish(&pool, n, 64).unwrap();
        assert_ne!(d.block, held_desc.block);
    }
    // With every other block loaned at once, the pool is exhausted.
    let loans: Vec<_> = (1..N).map(|_| pool.loan(token(2)).unwrap()).collect();
    assert!(loans.iter().all(|l| l.block() != held_desc.block));
    assert_eq!(
        pool.loan(token(2)).unwrap_err(),
        LoanError::Exhausted { blocks: N }
    );
    assert_eq!(pool.loans_failed(), 1);
    assert_eq!(pool.usage().busy, N);
    // The held bytes never changed.
    let mut out = [0u8; 64];
    held.read(0, &mut out).unwrap();
    assert_eq!(out.to_vec(), pattern(1000, 64));
    // Released: the next loan may take it (the others are still loaned).
    drop(held);
    assert_eq!(pool.loan(token(2)).unwrap().block(), held_desc.block);
    drop(loans);
}

#[test]
fn foreign_descriptors_are_typed_errors() {
    let mem = memory(64, 2);
    let pool = PoolRegion::init(&mem[..], 64, 2, 3, 0).unwrap();
    let d = publish(&pool, 1, 10).unwrap();
    let hold = |p, d| pool.hold(p, d).map(drop);
    assert_eq!(
        hold(0, BlockDescriptor { segment: 4, ..d }),
        Err(HoldError::WrongSegment {
            expected: 3,
            found: 4
        })
    );
    assert_eq!(
        hold(0, BlockDescriptor { block: 2, ..d }),
        Err(HoldError::BlockOutOfRange {
            block: 2,
            blocks: 2
        })
    );
    assert_eq!(
        hold(
            0,
            BlockDescriptor {
                block: u32::MAX,
                ..d
            }
        ),
        Err(HoldError::BlockOutOfRange {
            block: u32::MAX,
            blocks: 2
        })
    );
    assert_eq!(
        hold(0, BlockDescriptor { len: 65, ..d }),
        Err(HoldError::BadLength {
            len: 65,
            block_size: 64
        })
    );
    assert_eq!(
        hold(64, d),
        Err(HoldError::BadParticipant { participant: 64 })
    );
    // Wrong generation (older, newer, beyond 62 bits) or length: stale.
    for generation in [d.generation - 1, d.generation + 1, u64::MAX, 1 << 62] {
        assert_eq!(
            hold(0, BlockDescriptor { generation, ..d }),
            Err(HoldError::Stale)
        );
    }
    assert_eq!(
        hold(0, BlockDescriptor { len: 11, ..d }),
        Err(HoldError::Stale)
    );
    // The other block was never published.
    let other = BlockDescriptor {
        block: 1 - d.block,
        ..d
    };
    assert_eq!(
        hold(
            0,
            BlockDescriptor {
                generation: 0,
                ..other
            }
        ),
        Err(HoldError::Stale)
    );
    // None of that left a holder bit behind; a nested hold is refused, not counted twice.
    assert_eq!(pool.usage().held, 0);
    let view = pool.hold(0, d).unwrap();
    assert_eq!(hold(0, d), Err(HoldError::AlreadyHeld));
    drop(view);
    assert_eq!(pool.usage().held, 0);
    assert!(hold(0, d).is_ok());
}

#[test]
fn a_block_being_written_cannot_be_held() {
    let mem = memory(64, 1);
    let pool = PoolRegion::init(&mem[..], 64, 1, 0, 0).unwrap();
    let old = publish(&pool, 1, 8).unwrap();
    let loan = pool.loan(token(1)).unwrap(); // recycles the only block
    assert_eq!(pool.hold(0, old).map(drop), Err(HoldError::Stale));
    let guess = BlockDescriptor {
        generation: old.generation + 1,
        ..old
    };
    assert_eq!(pool.hold(0, guess).map(drop), Err(HoldError::Stale));
    let new = loan.publish(8).unwrap();
    assert_eq!(new, guess);
    assert!(pool.hold(0, new).is_ok());
}

#[test]
fn failed_publish_gives_the_block_back() {
    let mem = memory(64, 1);
    let pool = PoolRegion::init(&mem[..], 64, 1, 0, 0).unwrap();
    let loan = pool.loan(token(1)).unwrap();
    assert_eq!(
        loan.publish(65),
        Err(PublishError::TooLong {
            len: 65,
            block_size: 64
        })
    );
    assert_eq!(pool.usage().free, 1);
    let mut loan = pool.loan(token(1)).unwrap();
    assert!(loan.write(64, &[1]).is_err());
    assert!(loan.write(usize::MAX, &[1]).is_err());
    drop(loan);
    assert_eq!(pool.usage().busy, 0);
}

#[test]
fn dead_holders_are_reclaimed_live_ones_kept() {
    let mem = memory(64, 2);
    let pool = PoolRegion::init(&mem[..], 64, 2, 0, 0).unwrap();
    let me = token(1);
    let d = publish(&pool, 1, 8).unwrap();
    std::mem::forget(pool.hold(4, d).unwrap()); // participant 4 killed while holding
    let live = pool.hold(9, d).unwrap();
    // Participant 4 is dead, participant 9 alive: only bit 4 goes.
    let r = pool.reclaim_dead(me, |_| true, 1 << 4);
    assert_eq!((r.holds_cleared, r.loans_freed), (1, 0));
    assert_eq!(
        mem[hdr::WORDS + d.block as usize * ctl::WORDS + ctl::HOLDERS].load(Ordering::Relaxed),
        1 << 9
    );
    // Still held by 9: loans never take it.
    for _ in 0..4 {
        assert_ne!(publish(&pool, 2, 8).unwrap().block, d.block);
    }
    drop(live);
    assert_eq!(pool.reclaim_dead(me, |_| true, u64::MAX).holds_cleared, 0);
    assert_eq!(pool.usage().held, 0);
}

#[test]
fn dead_loaners_are_reclaimed_live_ones_kept() {
    let mem = memory(64, 4);
    let pool = PoolRegion::init(&mem[..], 64, 4, 0, 0).unwrap();
    let (me, dead, alive) = (token(1), token(2), token(3));
    let mut half = pool.loan(dead).unwrap();
    half.write(0, b"half").unwrap();
    let half_block = half.block();
    std::mem::forget(half); // killed mid-write
    let live = pool.loan(alive).unwrap();
    // A loaner killed after publishing, before letting go of OWNER.
    let published = publish(&pool, 7, 8).unwrap();
    let owner_at = hdr::WORDS + published.block as usize * ctl::WORDS + ctl::OWNER;
    mem[owner_at].store(dead.get(), Ordering::Relaxed);
    // A reclaimer (token 5) killed while reclaiming block 3's owner.
    let last_at = hdr::WORDS + 3 * ctl::WORDS;
    assert_eq!(
        mem[last_at + ctl::STATE].load(Ordering::Relaxed),
        0,
        "block 3 unused"
    );
    mem[last_at + ctl::OWNER].store(5 | 1 << 63, Ordering::Relaxed);
    let is_alive = |t: OwnerToken| t == alive;
    let r = pool.reclaim_dead(me, is_alive, 0);
    assert_eq!((r.holds_cleared, r.loans_freed), (0, 3));
    // The half-written block is free, the published one still readable, the
    // live loan untouched.
    let u = pool.usage();
    assert_eq!((u.loaned, u.published, u.free), (1, 1, 2));
    assert_eq!(read_all(&pool, 0, published).unwrap(), pattern(7, 8));
    let d = live.publish(3).unwrap();
    assert!(pool.hold(0, d).is_ok());
    let again = pool.loan(me).unwrap();
    assert!(again.block() == half_block || again.block() == 3);
    assert_eq!(
        pool.reclaim_dead(me, |_| false, 0).loans_freed,
        0,
        "own loan kept"
    );
}

#[test]
fn a_block_reclaimed_from_a_misjudged_loaner_is_not_published() {
    let mem = memory(64, 1);
    let pool = PoolRegion::init(&mem[..], 64, 1, 0, 0).unwrap();
    let loan = pool.loan(token(2)).unwrap();
    pool.reclaim_dead(token(1), |_| false, 0);
    assert_eq!(loan.publish(4), Err(PublishError::Reclaimed));
    let d = pool.loan(token(1)).unwrap().publish(4).unwrap();
    assert!(pool.hold(0, d).is_ok());
}

/// A ring of descriptors read late by one receiver: every published message
/// is either delivered or stale, and every refused loan is counted.
#[test]
fn accounting_is_exact() {
    let mem = memory(64, 3);
    let pool = PoolRegion::init(&mem[..], 64, 3, 0, 0).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut published, mut refused, mut delivered, mut stale) = (0u64, 0u64, 0u64, 0u64);
    let mut ring = std::collections::VecDeque::new();
    let mut held = Vec::new();
    let rounds = if cfg!(miri) { 300 } else { 20_000 };
    for n in 0..rounds {
        match rand() % 4 {
            0 | 1 => match publish(&pool, n, (rand() % 65) as usize) {
                Ok(d) => {
                    published += 1;
                    ring.push_back((n, d));
                }
                Err(LoanError::Exhausted { .. }) => refused += 1,
                Err(e) => panic!("{e}"),
            },
            2 => {
                // Mostly the newest (a receiver that caught up), sometimes the oldest.
                let next = if rand() % 4 == 0 {
                    ring.pop_front()
                } else {
                    ring.pop_back()
                };
                if let Some((n, d)) = next {
                    match pool.hold(0, d) {
                        Ok(view) => {
                            delivered += 1;
                            let mut out = vec![0; view.len()];
                            view.read(0, &mut out).unwrap();
                            assert_eq!(out, pattern(n, d.len as usize));
                            held.push((n, view));
                        }
                        Err(HoldError::Stale) => stale += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            _ => {
                if !held.is_empty() {
                    let (n, view) = held.swap_remove((rand() % held.len() as u64) as usize);
                    let mut out = vec![0; view.len()];
                    view.read(0, &mut out).unwrap();
                    assert_eq!(out, pattern(n, view.len()), "changed while held");
                }
            }
        }
    }
    for (_, d) in ring.drain(..) {
        match pool.hold(0, d) {
            Ok(_) => delivered += 1,
            Err(_) => stale += 1,
        }
    }
    assert_eq!(delivered + stale, published);
    assert_eq!(pool.loans_failed(), refused);
    assert!(
        delivered > 0 && stale > 0 && refused > 0,
        "{delivered} {stale} {refused}"
    );
}

#[test]
fn attach_validates_every_header_field() {
    let mem = memory(128, 4);
    assert!(matches!(
        PoolRegion::attach(&mem[..]),
        Err(PoolAttachError::BadMagic { found: 0 })
    ));
    let pool = PoolRegion::init(&mem[..], 128, 4, 11, 99).unwrap();
    let attached = PoolRegion::attach(&mem[..]).unwrap();
    assert_eq!(attached.layout(), pool.layout());
    assert_eq!((attached.segment(), attached.created_ns()), (11, 99));
    assert!(matches!(
        PoolRegion::attach(&mem[..hdr::WORDS - 1]),
        Err(PoolAttachError::Truncated { .. })
    ));
    assert!(matches!(
        PoolRegion::attach(&mem[..mem.len() - 1]),
        Err(PoolAttachError::Truncated { .. })
    ));
    let cases: [(usize, u64, PoolAttachError); 9] = [
        (
            hdr::VERSION,
            2,
            PoolAttachError::VersionMismatch {
                found: 2,
                expected: 1,
            },
        ),
        (
            hdr::BLOCK_SIZE,
            100,
            PoolAttachError::BadGeometry {
                field: "block_size",
            },
        ),
        (
            hdr::BLOCK_SIZE,
            1 << 32,
            PoolAttachError::BadGeometry {
                field: "block_size",
            },
        ),
        (
            hdr::BLOCK_SIZE,
            64,
            PoolAttachError::BadGeometry {
                field: "region_words",
            },
        ),
        (
            hdr::BLOCKS,
            0,
            PoolAttachError::BadGeometry { field: "blocks" },
        ),
        (
            hdr::BLOCKS,
            5,
            PoolAttachError::BadGeometry { field: "data_at" },
        ),
        (
            hdr::SEGMENT,
            1 << 32,
            PoolAttachError::BadGeometry { field: "segment" },
        ),
        (
            hdr::CONTROL_AT,
            0,
            PoolAttachError::BadGeometry {
                field: "control_at",
            },
        ),
        (
            hdr::REGION_WORDS,
            u64::MAX,
            PoolAttachError::BadGeometry {
                field: "region_words",
            },
        ),
    ];
    for (at, value, want) in cases {
        let saved = mem[at].load(Ordering::Relaxed);
        mem[at].store(value, Ordering::Relaxed);
        assert_eq!(
            PoolRegion::attach(&mem[..]).map(|_| ()),
            Err(want),
            "word {at} = {value}"
        );
        mem[at].store(saved, Ordering::Relaxed);
    }
    assert!(PoolRegion::attach(&mem[..]).is_ok());
}

/// Attach and use random memory: typed errors or a usable pool, never a panic.
#[test]
fn random_memory_never_panics() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let rounds = if cfg!(miri) { 20 } else { 2000 };
    for round in 0..rounds {
        let mem = memory(64, 2);
        PoolRegion::init(&mem[..], 64, 2, 0, 0).unwrap();
        for _ in 0..(round % 4) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (seed >> 33) as usize % mem.len();
            let value = if seed & 1 == 0 { seed >> 40 } else { seed };
            mem[at].store(value, Ordering::Relaxed);
        }
        if let Ok(pool) = PoolRegion::attach(&mem[..]) {
            let _ = pool.usage();
            if let Ok(d) = publish(&pool, 1, 8) {
                let _ = pool.hold((seed % 64) as u32, d);
            }
            pool.reclaim_dead(token(1), |t| t.get() % 2 == 0, seed);
        }
    }
}
