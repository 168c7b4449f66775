//! The engine reads the clock once per node ticked: a tick's start is the
//! end of the clean tick before it (or the round's start), and a round the
//! caller starts with its own reading (`step_from`, `step_all_from`) does
//! not read the clock for it again. On a VM a reading costs 20-50 ns, the
//! better part of the std scheduler's cost per node.

use std::cell::{Cell, RefCell};

use horus_nostd::sched::{CoreNode, CoreScheduler, NodeConfig, NodeFault, Tick};
use horus_nostd::time::{Clock, Frequency};

const MS: u64 = 1_000_000;

/// A clock that counts its readings and moves on by 1 µs at each.
struct Counting {
    now: Cell<u64>,
    reads: Cell<u32>,
}

impl Counting {
    fn new(now: u64) -> Self {
        Self {
            now: Cell::new(now),
            reads: Cell::new(0),
        }
    }
    /// Readings since the last call.
    fn take_reads(&self) -> u32 {
        self.reads.replace(0)
    }
}

impl Clock for Counting {
    fn now_ns(&self) -> u64 {
        self.reads.set(self.reads.get() + 1);
        let t = self.now.get() + 1_000;
        self.now.set(t);
        t
    }
}

/// Records each tick's start, and takes `spend` ns of the clock's time.
struct Starts<'a> {
    starts: &'a RefCell<Vec<u64>>,
    clock: &'a Counting,
    spend: u64,
}

impl CoreNode for Starts<'_> {
    fn tick(&mut self, t: &Tick) -> Result<(), NodeFault> {
        self.starts.borrow_mut().push(t.start_ns);
        self.clock.now.set(self.clock.now.get() + self.spend);
        Ok(())
    }
}

#[test]
fn a_round_of_clean_ticks_reads_the_clock_once_per_node() {
    let clock = Counting::new(0);
    let starts = RefCell::new(Vec::new());
    let mut nodes: Vec<Starts<'_>> = (0..3)
        .map(|_| Starts {
            starts: &starts,
            clock: &clock,
            spend: 0,
        })
        .collect();
    let mut sched = CoreScheduler::<3>::new(Frequency::from_hz(1_000)).unwrap();
    for (i, n) in nodes.iter_mut().enumerate() {
        sched.add(n, NodeConfig::new(i as u32)).unwrap();
    }
    sched.start(0).unwrap();
    // The first round: every node becomes Running (not a clean tick), so
    // after the first (which starts at the round's start) each reads the
    // clock for its start and its end.
    sched.step_all_with(&clock, &mut |_| {});
    assert_eq!(clock.take_reads(), 1 + 1 + 2 * 2);
    starts.borrow_mut().clear();

    // Clean rounds: the round's start, then one reading per tick's end.
    let report = sched.step_all_with(&clock, &mut |_| {});
    assert_eq!(report.ran, 3);
    assert_eq!(clock.take_reads(), 1 + 3);
    let now = clock.now_ns();
    clock.take_reads();
    sched.step_all_from(now, &clock, &mut |_| {});
    assert_eq!(clock.take_reads(), 3, "the caller's reading is the round's");
    // Each start is the reading before it: the round's, then each end.
    let s = starts.borrow();
    assert_eq!(s[3..], [now, now + 1_000, now + 2_000]);
    drop(s);

    // `step_from` (nodes at their rate) alike, on one grid again, due now.
    clock.now.set(now + 2 * MS);
    let now = clock.now_ns();
    sched.rephase_all(now);
    clock.take_reads();
    assert_eq!(sched.step_from(now, &clock, &mut |_| {}).ran, 3);
    assert_eq!(clock.take_reads(), 3);
    sched.shutdown();
}

#[test]
fn after_a_tick_over_its_budget_the_next_node_reads_the_clock_again() {
    let clock = Counting::new(0);
    let starts = RefCell::new(Vec::new());
    let mut slow = Starts {
        starts: &starts,
        clock: &clock,
        spend: 50_000, // over its 10 µs budget
    };
    let mut next = Starts {
        starts: &starts,
        clock: &clock,
        spend: 0,
    };
    let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(1_000)).unwrap();
    sched
        .add(&mut slow, NodeConfig::new(0).budget_ns(10_000))
        .unwrap();
    sched.add(&mut next, NodeConfig::new(1)).unwrap();
    sched.start(0).unwrap();
    sched.step_all_with(&clock, &mut |_| {}); // both become Running
    let overruns = RefCell::new(0);
    let now = clock.now_ns();
    clock.take_reads();
    starts.borrow_mut().clear();
    sched.step_all_from(now, &clock, &mut |e| {
        if matches!(e, horus_nostd::sched::Event::Overrun { .. }) {
            *overruns.borrow_mut() += 1;
        }
    });
    assert_eq!(*overruns.borrow(), 1, "the slow node overran");
    // The slow tick's end, then the next node's own start and end: the
    // observer heard about the overrun between them.
    assert_eq!(clock.take_reads(), 3);
    let s = starts.borrow();
    assert_eq!(s[0], now);
    assert_eq!(s[1], now + 50_000 + 2_000, "a fresh reading, after the end");
}
