//! Precise periodic wake-up: sleep on `CLOCK_MONOTONIC` until a margin
//! before the deadline (absolute `clock_nanosleep`, so no drift), then spin
//! for the last stretch. The margin covers the kernel's wake-up latency
//! (timer slack is 50 us for normal threads), so the spin is what decides
//! the wake-up time; it costs that much CPU per wake-up.

use std::time::Duration;

use rustix::thread::clock_nanosleep_absolute;
use rustix::time::{ClockId, Timespec};

use crate::time::now_ns;

/// Default spin margin.
pub(crate) const DEFAULT_SPIN: Duration = Duration::from_micros(100);

/// Longest single sleep, so stop requests are seen promptly even when a
/// signal is delivered to another thread.
pub(crate) const MAX_SLEEP_NS: u64 = 50_000_000;

/// Sleeps until `deadline_ns` (sleep, then spin the last `spin_ns`);
/// returns the time it woke at. Returns at once if the deadline has passed;
/// a signal may end the sleep early (the caller re-checks).
pub(crate) fn sleep_until(deadline_ns: u64, spin_ns: u64) -> u64 {
    let now = now_ns();
    if deadline_ns <= now {
        return now;
    }
    let sleep_to = deadline_ns - spin_ns.min(deadline_ns);
    if sleep_to > now {
        let ts = Timespec {
            tv_sec: (sleep_to / 1_000_000_000) as i64,
            tv_nsec: (sleep_to % 1_000_000_000) as _,
        };
        if clock_nanosleep_absolute(ClockId::Monotonic, &ts).is_err() {
            // EINTR: a signal; let the caller look at it.
            return now_ns();
        }
    }
    loop {
        let t = now_ns();
        if t >= deadline_ns {
            return t;
        }
        std::hint::spin_loop();
    }
}
