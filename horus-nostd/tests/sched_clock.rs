//! The core scheduler over a board's clock: a HAL's `u32` millisecond tick
//! scaled to ns, which wraps after 49.7 days. Raw, the clock goes back at
//! the wrap: the engine must notice, re-phase and report it (it used to
//! wait, silently, for the old time to come round again). Extended with
//! `Extend32`, it never goes back, and nothing happens at the wrap.

use std::cell::{Cell, RefCell};

use horus_nostd::sched::{CoreNode, CoreScheduler, Event, NodeConfig, NodeFault, Rate, Tick};
use horus_nostd::time::{Clock, Extend32, Frequency};

const MS: u64 = 1_000_000;

/// Simulated milliseconds after the wrap (ten minutes natively).
const AFTER_WRAP_MS: u32 = if cfg!(miri) { 300 } else { 600_000 };

/// A HAL's millisecond tick, wrapping at `u32::MAX`.
struct HalTick(Cell<u32>);

impl HalTick {
    /// Starts `before_wrap` ms before the wrap.
    fn new(before_wrap: u32) -> Self {
        Self(Cell::new(0_u32.wrapping_sub(before_wrap)))
    }
    fn advance_ms(&self, ms: u32) {
        self.0.set(self.0.get().wrapping_add(ms));
    }
}

/// `tick as u64 * 1_000_000`: what boards did.
struct Raw<'a>(&'a HalTick);
impl Clock for Raw<'_> {
    fn now_ns(&self) -> u64 {
        u64::from(self.0.0.get()) * MS
    }
}

/// The same tick through `Extend32`.
struct Extended<'a>(&'a HalTick, Extend32);
impl Clock for Extended<'_> {
    fn now_ns(&self) -> u64 {
        self.1.extend(|| self.0.0.get()) * MS
    }
}

struct Count(u64);
impl CoreNode for Count {
    fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
        self.0 += 1;
        Ok(())
    }
}

/// Runs a 100 Hz and a 10 Hz node from 1 s before the wrap to
/// `AFTER_WRAP_MS` after it, stepping every millisecond: returns their
/// tick counts, the engine's steps back, and the events heard.
fn run_across_the_wrap(hal: &HalTick, clock: &dyn Clock) -> (u64, u64, u64, Vec<Event>) {
    let (mut fast, mut slow) = (Count(0), Count(0));
    let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(100)).unwrap();
    let f = sched.add(&mut fast, NodeConfig::new(0)).unwrap();
    let s = sched
        .add(&mut slow, NodeConfig::new(1).rate(Rate::Divisor(10)))
        .unwrap();
    let events = RefCell::new(Vec::new());
    let mut observe = |e: Event| events.borrow_mut().push(e);
    sched.start(clock.now_ns()).unwrap();
    for _ in 0..1_000 + AFTER_WRAP_MS {
        sched.step_with(clock, &mut observe);
        hal.advance_ms(1);
    }
    let ticks = |id| sched.stats(id).unwrap();
    let (fs, ss) = (ticks(f), ticks(s));
    for st in [fs, ss] {
        assert_eq!(
            (st.late_releases, st.skipped_releases, st.faults),
            (0, 0, 0),
            "{st:?}"
        );
    }
    let back = sched.clock_steps_back();
    sched.shutdown();
    (fs.ticks, ss.ticks, back, events.into_inner())
}

#[test]
fn a_wrapping_clock_is_detected_rephased_and_reported() {
    let hal = HalTick::new(1_000);
    let (fast, slow, back, events) = run_across_the_wrap(&hal, &Raw(&hal));
    let total_ms = u64::from(1_000 + AFTER_WRAP_MS);
    // Around the wrap one period may be lost (how long the clock really
    // took to go back is unknowable), never more.
    assert!(
        (total_ms / 10 - 1..=total_ms / 10).contains(&fast),
        "100 Hz node: {fast} ticks in {total_ms} ms"
    );
    assert!(
        (total_ms / 100 - 1..=total_ms / 100).contains(&slow),
        "10 Hz node: {slow} ticks in {total_ms} ms"
    );
    assert_eq!(back, 1, "one step back, counted");
    assert_eq!(
        events,
        [Event::ClockWentBack {
            from_ns: u64::from(u32::MAX) * MS,
            to_ns: 0
        }],
        "the step back, reported and nothing else"
    );
}

#[test]
fn an_extended_wrapping_clock_never_goes_back() {
    let hal = HalTick::new(1_000);
    let clock = Extended(&hal, Extend32::new());
    let (fast, slow, back, events) = run_across_the_wrap(&hal, &clock);
    let total_ms = u64::from(1_000 + AFTER_WRAP_MS);
    assert_eq!((fast, slow), (total_ms / 10, total_ms / 100));
    assert_eq!((back, events), (0, vec![]));
    // The extended time went on past u32::MAX ms.
    assert_eq!(
        clock.now_ns(),
        (u64::from(u32::MAX) + 1 + u64::from(AFTER_WRAP_MS)) * MS
    );
}
