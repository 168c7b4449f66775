//! Attaching to arbitrary memory as a block pool, then using whatever
//! attaches with forged descriptors, never panics.
//!
//! Input: `mode, geometry, body...`.
//! - mode bit 0 clear: `body` is the region, byte for byte (little-endian
//!   words): covers the validation order, `Truncated` and `BadMagic`.
//! - mode bit 0 set: a valid pool of a geometry picked by `geometry` is
//!   initialised, then `body` is read as up to 7 corruptions (a header word,
//!   a control word of a block, or any word) applied before attaching: this
//!   reaches the geometry checks and, when they pass, the pool over corrupt
//!   control words (states, owners, holder masks, lengths).
//!
//! Whatever attaches is then driven by the remaining bytes: loan, write,
//! publish, give back, hold real or forged descriptors, release, "kill"
//! (forget) loans and views, reclaim, and more corruption meanwhile.
#![no_main]

use horus_nostd::OwnerToken;
use horus_nostd::pool::{BlockDescriptor, BlockView, Loan, PoolLayout, PoolRegion, ctl, hdr};
use horus_nostd::sync::{AtomicU64, Ordering};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

mod common;

use common::{next, next_op, zeroed};

/// A value that is small, at a boundary, a state word of a small
/// generation, one holder bit, or anything.
fn value(input: &mut Unstructured<'_>) -> u64 {
    common::value(
        input,
        |v| (v % 8) << 2 | v >> 62, // a state word: small generation, any state
        |v| 1 << (v % 64),          // one holder bit
    )
}

/// Overwrites a header word, a control word, or any word (indices from the
/// header as init wrote it, before any corruption).
fn corrupt(mem: &[AtomicU64], blocks: usize, input: &mut Unstructured<'_>) {
    let kind = next::<u8>(input);
    let a = usize::from(next::<u8>(input));
    let b = next::<u32>(input) as usize;
    let v = value(input);
    let at = match kind % 3 {
        0 => a % hdr::WORDS,
        1 => hdr::WORDS + (a % blocks.max(1)) * ctl::WORDS + b % ctl::WORDS,
        _ => b % mem.len().max(1),
    };
    if let Some(w) = mem.get(at) {
        w.store(v, Ordering::Relaxed);
    }
}

/// A valid pool, then up to 7 corruptions applied before attaching.
fn patched(input: &mut Unstructured<'_>, geometry: u8) -> (Vec<AtomicU64>, usize) {
    let block_size = 64u32 << (geometry & 3); // 64..512
    let blocks = 1 + u32::from(geometry >> 2) % 16; // 1..16
    let layout = PoolLayout::new(block_size, blocks).expect("valid geometry");
    let mem = zeroed(layout.region_words());
    PoolRegion::init(
        &mem[..],
        block_size,
        blocks,
        u32::from(next::<u8>(input)),
        0,
    )
    .expect("init");
    for _ in 0..next::<u8>(input) % 8 {
        corrupt(&mem, blocks as usize, input);
    }
    (mem, blocks as usize)
}

/// Drives an attached pool with the rest of the input.
fn exercise(mem: &[AtomicU64], pool: PoolRegion<&[AtomicU64]>, input: &mut Unstructured<'_>) {
    let blocks = pool.layout().blocks();
    let block_size = pool.layout().block_size() as usize;
    let mut loans: Vec<Loan<&[AtomicU64]>> = Vec::new();
    let mut views: Vec<BlockView<&[AtomicU64]>> = Vec::new();
    let mut descs: Vec<BlockDescriptor> = Vec::new();
    let check_usage = |pool: &PoolRegion<&[AtomicU64]>| {
        let u = pool.usage();
        assert!(u.free <= blocks && u.loaned <= blocks && u.published <= blocks);
        assert!(u.held <= blocks && u.busy <= blocks);
    };
    check_usage(&pool);
    let mut steps = 0;
    while let Some((op, i)) = next_op(input, &mut steps) {
        match op & 15 {
            0..=2 => {
                let me = OwnerToken::new(u64::from(next::<u8>(input) % 4) + 1).expect("non-zero");
                if let Ok(loan) = pool.loan(me) {
                    assert!(loan.block() < blocks);
                    loans.push(loan);
                }
            }
            3 => {
                let n = loans.len().max(1);
                if let Some(loan) = loans.get_mut(i % n) {
                    let offset = usize::from(next::<u8>(input)) * 4;
                    let len = usize::from(next::<u8>(input));
                    // A loan a reclaimer took (another owner judged this
                    // one dead) has no words and refuses every write.
                    let reclaimed = loan.words().is_empty();
                    let ok = loan.write(offset, &vec![op; len]).is_ok();
                    assert_eq!(ok, offset + len <= block_size && !reclaimed);
                }
            }
            4..=5 => {
                if !loans.is_empty() {
                    let loan = loans.swap_remove(i % loans.len());
                    let len = usize::from(next::<u8>(input)) * 4;
                    if let Ok(d) = loan.publish(len) {
                        assert!(len <= block_size && d.len as usize == len);
                        descs.push(d);
                    }
                }
            }
            6 => {
                if !loans.is_empty() {
                    let loan = loans.swap_remove(i % loans.len());
                    if op & 0x80 != 0 {
                        core::mem::forget(loan); // "killed" mid-write
                    }
                }
            }
            7..=9 => {
                let participant = u32::from(next::<u8>(input) % 70);
                let d = match (op & 15, descs.get(i % descs.len().max(1))) {
                    (7 | 8, Some(&d)) => d,
                    _ => BlockDescriptor {
                        generation: value(input),
                        segment: next::<u32>(input) % 4,
                        block: next::<u32>(input) % (blocks + 2),
                        len: next::<u32>(input) % (block_size as u32 + 2),
                        reserved: 0,
                    },
                };
                if let Ok(view) = pool.hold(participant, d) {
                    assert!(participant < 64 && d.block < blocks);
                    assert!(view.len() <= block_size);
                    let mut out = vec![0; view.len()];
                    view.read(0, &mut out).expect("within the message");
                    views.push(view);
                }
            }
            10 => {
                if !views.is_empty() {
                    let view = views.swap_remove(i % views.len());
                    if op & 0x80 != 0 {
                        core::mem::forget(view); // "killed" while holding
                    }
                }
            }
            11 => {
                let me = OwnerToken::new(1000).expect("non-zero");
                let alive = next::<u8>(input);
                let dead = value(input);
                let r = pool.reclaim_dead(me, |t| t.get() & 1 == u64::from(alive & 1), dead);
                assert!(r.loans_freed <= blocks && r.holds_cleared <= 64 * blocks);
            }
            12 => corrupt(mem, blocks as usize, input),
            _ => {
                check_usage(&pool);
                pool.loans_failed();
            }
        }
    }
    check_usage(&pool);
}

fuzz_target!(|data: &[u8]| {
    let (mut input, mem) = common::memory(data, |input, _, geometry| patched(input, geometry).0);
    let input = &mut input;
    // The header alone (what horus-std validates before it maps a file)
    // gives the same layout, and accepts exactly the segments that attach
    // where the memory holds what the header declares.
    let header = PoolLayout::from_header(&mem[..mem.len().min(hdr::WORDS)]);
    match (&header, PoolRegion::attach(&mem[..])) {
        (Ok(from_header), Ok(pool)) => assert_eq!(from_header, pool.layout()),
        (Ok(from_header), Err(_)) => assert!(from_header.region_words() > mem.len()),
        (Err(_), Ok(_)) => panic!("attached a segment whose header does not validate"),
        (Err(_), Err(_)) => {}
    }
    if let Ok(pool) = PoolRegion::attach(&mem[..]) {
        // Whatever attached fits the memory and reads as its header says.
        assert!(pool.layout().region_words() <= mem.len());
        exercise(&mem, pool, input);
    }
});
