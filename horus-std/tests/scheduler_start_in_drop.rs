//! A scheduler first started while its thread unwinds (from a `Drop`) does
//! not abort the process. Alone in its binary: the first start of the
//! process is the one that matters (it wraps the panic hook).

mod common;

use common::quiet_scheduler;
use horus::prelude::*;

struct Nop;

impl Node for Nop {
    fn name(&self) -> &str {
        "nop"
    }
    fn tick(&mut self) {}
}

/// Runs a scheduler's round when dropped.
struct RoundOnDrop;

impl Drop for RoundOnDrop {
    fn drop(&mut self) {
        let mut sched = quiet_scheduler();
        sched.add(Nop).build().unwrap();
        sched.tick_once().unwrap();
        assert_eq!(sched.node("nop").unwrap().stats.ticks, 1);
    }
}

#[test]
fn a_scheduler_first_started_during_unwinding_does_not_abort() {
    let unwound = std::panic::catch_unwind(|| {
        let _round = RoundOnDrop;
        panic!("the program fails");
    });
    assert!(unwound.is_err());
}
