//! A node that panics on every tick does not flood stderr: the panic hook
//! hears of at most one of its panics per second. Alone in its binary: it
//! sets the process's panic hook.

mod common;

use std::cell::Cell;

use common::quiet_scheduler;
use horus::prelude::*;
use horus::scheduler::FaultPolicy;

thread_local! {
    /// Panics the hook heard of on this thread.
    static HEARD: Cell<u32> = const { Cell::new(0) };
}

struct Storm;

impl Node for Storm {
    fn name(&self) -> &str {
        "storm"
    }
    fn tick(&mut self) {
        panic!("storm fails");
    }
}

#[test]
fn a_node_panicking_on_every_tick_reaches_the_panic_hook_once_a_second() {
    // The program's hook, set before any scheduler starts.
    std::panic::set_hook(Box::new(|_| HEARD.set(HEARD.get() + 1)));
    let mut sched = quiet_scheduler();
    sched
        .add(Storm)
        .on_panic(FaultPolicy::Restart)
        .build()
        .unwrap();
    let mut skip = quiet_scheduler();
    skip.add(Storm).on_panic(FaultPolicy::Skip).build().unwrap();
    for _ in 0..200 {
        sched.tick_once().unwrap();
        skip.tick_once().unwrap();
    }
    assert_eq!(sched.node("storm").unwrap().panics, 200);
    assert_eq!(skip.node("storm").unwrap().panics, 200);
    // One per node (the same name in two schedulers: one node tag), plus
    // one if a second passed.
    let heard = HEARD.get();
    assert!((1..=2).contains(&heard), "the hook heard of {heard} panics");
    // A panic outside any node is not muted.
    assert!(std::panic::catch_unwind(|| panic!("not a node")).is_err());
    assert_eq!(HEARD.get(), heard + 1);
}
