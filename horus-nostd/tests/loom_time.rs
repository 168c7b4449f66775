//! Loom model of `Extend32` (the production code over loom's 32-bit atomic
//! through `horus_nostd::sync`): a timer moves a 32-bit counter across its
//! wrap in steps of at most half a wrap, extending after each (as its
//! interrupt handler would), while a reader extends twice. No caller's
//! count ever goes back or jumps ahead by 2^32, whatever the interleaving.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p horus-nostd --release --test loom_time
//! ```
//!
//! With a plain load in place of the swap when the reading is in the half
//! the loaded state says (a version tried first), the model fails with a
//! reader's count 2^32 behind (0x1000_0000 instead of 0x1_1000_0000): the
//! reader's second load may return the state as it was before the timer's
//! moves, though its reading of the counter came after them (nothing orders
//! a plain load after a relaxed reading); a read-modify-write reads the
//! latest state. With the first load Relaxed instead of Acquire, it fails
//! with a reader's count 2^32 ahead (0x1_7fff_fff0, tried): the reader saw
//! the timer's move to the upper half but read the counter from before it,
//! which looked like a wrap.
#![cfg(loom)]
// The execution counter is a std atomic on purpose: it lives outside the model.
#![allow(clippy::disallowed_types)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

use horus_nostd::sync::{AtomicU32, Ordering};
use horus_nostd::time::Extend32;
use loom::thread;

/// Where the counter starts (the lower half), and where the timer moves it:
/// the upper half, then past the wrap.
const START: u32 = 0x7fff_fff0;
const STEPS: [u32; 2] = [0xc000_0000, 0x1000_0000];

#[test]
fn extend32_never_goes_back_nor_jumps_across_a_wrap() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(|| {
        RUNS.fetch_add(1, StdOrdering::Relaxed);
        let ext = Arc::new(Extend32::new());
        let counter = Arc::new(AtomicU32::new(START));
        let read = |c: &AtomicU32| c.load(Ordering::Relaxed);
        assert_eq!(ext.extend(|| read(&counter)), u64::from(START));
        let timer = {
            let (ext, counter) = (Arc::clone(&ext), Arc::clone(&counter));
            thread::spawn(move || {
                STEPS.map(|raw| {
                    counter.store(raw, Ordering::Relaxed);
                    ext.extend(|| read(&counter))
                })
            })
        };
        let reader = {
            let (ext, counter) = (Arc::clone(&ext), Arc::clone(&counter));
            thread::spawn(move || [(); 2].map(|()| ext.extend(|| read(&counter))))
        };
        let wrapped = (1_u64 << 32) | u64::from(STEPS[1]);
        assert_eq!(
            timer.join().unwrap(),
            [u64::from(STEPS[0]), wrapped],
            "the timer's own readings"
        );
        let seen = reader.join().unwrap();
        let possible = [u64::from(START), u64::from(STEPS[0]), wrapped];
        for count in seen {
            assert!(possible.contains(&count), "reader counted {count:#x}");
        }
        assert!(seen[0] <= seen[1], "went back: {seen:x?}");
        assert_eq!(ext.extend(|| read(&counter)), wrapped);
    });
    let n = RUNS.load(StdOrdering::Relaxed);
    println!(
        "loom model extend32: {n} executions (preemption bound {:?})",
        builder.preemption_bound
    );
    assert!(n >= 100, "explored {n} interleavings only");
}
