//! Time for the scheduler core: the [`Clock`] the caller provides,
//! [`Extend32`], which makes a wrapping 32-bit counter a monotonic one, and
//! [`Frequency`], the rate a node or a scheduler ticks at.
//!
//! The core never reads a clock of its own: a board gives it a timer (a
//! HAL's millisecond tick, a free-running TIMx or cycle counter, a simulated
//! clock), `horus-std` gives it `CLOCK_MONOTONIC`. All times are nanoseconds
//! in `u64` (584 years). A hardware counter narrower than that wraps (a
//! `u32` millisecond tick after 49.7 days): extend it with [`Extend32`]
//! before scaling it to nanoseconds.

use core::cell::Cell;
use core::fmt;

use crate::sync::{AtomicU32, Ordering};

/// A monotonic clock, in nanoseconds from an arbitrary origin.
///
/// `now_ns` must never go backwards. A clock that does anyway (a 32-bit
/// counter that wrapped, see [`Extend32`]) is detected by the scheduler at
/// its next round: it re-phases every node onto the new time, counts the
/// step back ([`Engine::clock_steps_back`](crate::sched::Engine::clock_steps_back))
/// and reports it ([`Event::ClockWentBack`](crate::sched::Event::ClockWentBack)),
/// rather than waiting, silently, for the old time to come round again.
/// Within a tick, a reading earlier than the one before counts as "no time
/// passed" (durations and lateness saturate at 0, never panic).
///
/// ```
/// use horus_nostd::time::Clock;
///
/// struct Ticks(u64); // a free-running 1 MHz timer, say
/// impl Clock for Ticks {
///     fn now_ns(&self) -> u64 {
///         self.0 * 1_000
///     }
/// }
/// assert_eq!(Ticks(3).now_ns(), 3_000);
/// ```
pub trait Clock {
    /// The current time, ns.
    fn now_ns(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ns(&self) -> u64 {
        (**self).now_ns()
    }
}

/// Extends a wrapping 32-bit counter (a HAL's `u32` millisecond tick, a
/// free-running 32-bit timer, the Cortex-M cycle counter) into a monotonic
/// 64-bit count of the same unit, for a [`Clock`] to scale to nanoseconds.
///
/// `tick as u64 * 1_000_000` over a `u32` millisecond tick jumps back by
/// 49.7 days at the wrap; a scheduler on it would detect the step back and
/// re-phase, but the clock is still wrong. Through an `Extend32`, the count
/// goes on past `u32::MAX`.
///
/// **Contract: [`extend`](Self::extend) must run at least once per half
/// wrap period of the counter** (24.8 days for a 1 kHz tick, 35.8 minutes
/// for a 1 MHz timer, 13.4 s for a 160 MHz cycle counter), by any caller. A
/// scheduler that reads its clock every round does. A clock read less often
/// than that may miss a wrap: its time falls behind by 2^32 counts. A
/// narrower counter (SysTick's 24 bits, a 16-bit timer) is not a `u32`
/// counter: count its wraps in its interrupt into a `u32` (or `u64`) tick
/// and use that. The count goes on for 2^31 wraps (1,800 years of a
/// 160 MHz counter).
///
/// It needs no `&mut`: a `static` one can stand behind a [`Clock`] (whose
/// `now_ns` takes `&self`), and the main loop and interrupt handlers may
/// read it concurrently. Its state is one 32-bit word
/// ([`crate::sync::AtomicU32`]): the wraps seen and which half of its range
/// the counter was last seen in. Each call loads the state, reads the
/// counter, and swaps the state for what the reading makes of it (the same
/// word when the reading is in the same half; a move from the upper half
/// to the lower one is a wrap): a reading is never compared with a state
/// newer than itself, and a state moved by another caller since the load
/// fails the swap, so an interrupt that extends in between makes the
/// interrupted call read again. Lock-free wherever the target has a 32-bit
/// compare-and-swap (thumbv7em and riscv32imac included), so an interrupt
/// handler may extend while the code it interrupted is inside `extend`; on
/// thumbv6m the swap takes the `critical-section` (interrupts masked).
/// Allocation-free; 4 bytes.
///
/// ```
/// use horus_nostd::time::{Clock, Extend32};
/// use core::sync::atomic::{AtomicU32, Ordering};
///
/// // A HAL's millisecond tick, incremented by its SysTick interrupt.
/// static TICK_MS: AtomicU32 = AtomicU32::new(u32::MAX - 1);
/// static EXTENDED: Extend32 = Extend32::new();
///
/// struct HalClock;
/// impl Clock for HalClock {
///     fn now_ns(&self) -> u64 {
///         EXTENDED.extend(|| TICK_MS.load(Ordering::Relaxed)) * 1_000_000
///     }
/// }
/// let before = HalClock.now_ns();
/// TICK_MS.fetch_add(3, Ordering::Relaxed); // wraps: u32::MAX - 1 + 3 = 1
/// assert_eq!(HalClock.now_ns() - before, 3_000_000);
/// ```
#[derive(Debug, Default)]
pub struct Extend32 {
    /// `wraps << 1 | upper`: the wraps seen (31 bits) and whether the
    /// reading that last moved it was in the upper half of the range (its
    /// top bit). Starts at 0: no wrap, the lower half.
    state: AtomicU32,
}

impl Extend32 {
    /// An extender that has seen no reading yet.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            state: AtomicU32::new(0),
        }
    }

    /// An extender that has seen no reading yet (loom's atomics are not `const`).
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            state: AtomicU32::new(0),
        }
    }

    /// Reads the counter through `read` and returns it extended to 64
    /// bits: the wraps seen, times 2^32, plus the reading. `read` runs
    /// once, and once more each time another caller (an interrupt handler,
    /// another thread) moved the state between this call's load and its
    /// swap.
    pub fn extend(&self, mut read: impl FnMut() -> u32) -> u64 {
        // SYNC(extend32-state): Acquire pairs with the Release of the
        // successful exchange below: the reading that moved the state
        // happened before, so ours (read after this load) is not older.
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let raw = read();
            let upper = raw >> 31;
            let mut wraps = state >> 1;
            if upper == 0 && state & 1 == 1 {
                // From the upper half to the lower one: a wrap (31 bits).
                wraps = wraps.wrapping_add(1) & (u32::MAX >> 1);
            }
            // The same word again when the reading is in the same half: a
            // read-modify-write reads the latest state (a plain load may
            // return an older one), so a move by another caller since our
            // load fails the exchange. SYNC(extend32-state): Release
            // publishes this reading's move to the next caller's Acquire
            // load (or failed exchange); failure: Acquire, for the same
            // reason, before reading again.
            match self.state.compare_exchange(
                state,
                (wraps << 1) | upper,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return (u64::from(wraps) << 32) | u64::from(raw),
                Err(now) => state = now,
            }
        }
    }
}

/// A clock whose time only moves when told to: for tests, simulation, and
/// boards that step time deterministically.
///
/// ```
/// use horus_nostd::time::{Clock, ManualClock};
///
/// let clock = ManualClock::new(0);
/// clock.advance(1_000);
/// assert_eq!(clock.now_ns(), 1_000);
/// clock.set(5_000);
/// assert_eq!(clock.now_ns(), 5_000);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ns: Cell<u64>,
}

impl ManualClock {
    /// A clock that reads `start_ns` until moved.
    pub const fn new(start_ns: u64) -> Self {
        Self {
            now_ns: Cell::new(start_ns),
        }
    }

    /// Moves the clock on by `ns` (saturating at `u64::MAX`).
    pub fn advance(&self, ns: u64) {
        self.now_ns.set(self.now_ns.get().saturating_add(ns));
    }

    /// Sets the time; a time earlier than now is ignored (the clock is monotonic).
    pub fn set(&self, ns: u64) {
        if ns > self.now_ns.get() {
            self.now_ns.set(ns);
        }
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.now_ns.get()
    }
}

/// A rate, with micro-hertz resolution (`0.5 Hz` is `Frequency::from_millihz(500)`).
///
/// ```
/// use horus_nostd::time::Frequency;
///
/// let f = Frequency::from_hz(100);
/// assert_eq!(f.period_ns(), Ok(10_000_000));
/// assert_eq!(Frequency::from_period_ns(1_000_000), Ok(Frequency::from_hz(1_000)));
/// assert!(Frequency::from_hz(0).period_ns().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Frequency {
    microhz: u64,
}

/// µHz·ns in one: `period_ns = NS_MICROHZ / microhz`.
const NS_MICROHZ: u64 = 1_000_000_000 * 1_000_000;

/// The shortest period a rate may have, ns: 1 µs, a rate of 1 MHz. A
/// shorter one (or a rate clamped to it) would make a scheduler run its
/// rounds back to back without ever sleeping.
///
/// ```
/// use horus_nostd::time::{Frequency, MIN_PERIOD_NS, RateError};
///
/// assert_eq!(Frequency::from_hz(1_000_000).period_ns(), Ok(MIN_PERIOD_NS));
/// assert_eq!(Frequency::from_hz(2_000_000).period_ns(), Err(RateError::TooFast));
/// ```
pub const MIN_PERIOD_NS: u64 = 1_000;

/// The longest period a rate may have, ns: 10^15 ns (11.5 days), that of
/// 1 µHz, the finest rate a [`Frequency`] holds.
///
/// ```
/// use horus_nostd::time::{Frequency, MAX_PERIOD_NS};
///
/// assert_eq!(Frequency::from_microhz(1).period_ns(), Ok(MAX_PERIOD_NS));
/// ```
pub const MAX_PERIOD_NS: u64 = NS_MICROHZ;

impl Frequency {
    /// `hz` hertz (saturating at the largest representable rate).
    pub const fn from_hz(hz: u64) -> Self {
        Self {
            microhz: hz.saturating_mul(1_000_000),
        }
    }

    /// `mhz` millihertz.
    pub const fn from_millihz(mhz: u64) -> Self {
        Self {
            microhz: mhz.saturating_mul(1_000),
        }
    }

    /// `uhz` microhertz.
    pub const fn from_microhz(uhz: u64) -> Self {
        Self { microhz: uhz }
    }

    /// The rate whose period is `period_ns`.
    ///
    /// # Errors
    /// [`RateError::Zero`] for a zero period, [`RateError::TooFast`] for a
    /// period shorter than [`MIN_PERIOD_NS`] (1 µs),
    /// [`RateError::OutOfRange`] for one longer than [`MAX_PERIOD_NS`]
    /// (10^15 ns, 11.5 days).
    pub const fn from_period_ns(period_ns: u64) -> Result<Self, RateError> {
        if period_ns == 0 {
            return Err(RateError::Zero);
        }
        if period_ns < MIN_PERIOD_NS {
            return Err(RateError::TooFast);
        }
        if period_ns > MAX_PERIOD_NS {
            return Err(RateError::OutOfRange);
        }
        Ok(Self {
            microhz: NS_MICROHZ / period_ns,
        })
    }

    /// The rate in microhertz.
    pub const fn as_microhz(self) -> u64 {
        self.microhz
    }

    /// The rate in hertz, as a float (for display and reports).
    pub fn as_hz_f64(self) -> f64 {
        self.microhz as f64 / 1e6
    }

    /// The period, ns, rounded down.
    ///
    /// # Errors
    /// [`RateError::Zero`] for a zero rate, [`RateError::TooFast`] for a
    /// rate above 1 MHz (a period under [`MIN_PERIOD_NS`]).
    pub const fn period_ns(self) -> Result<u64, RateError> {
        if self.microhz == 0 {
            return Err(RateError::Zero);
        }
        let p = NS_MICROHZ / self.microhz;
        if p < MIN_PERIOD_NS {
            Err(RateError::TooFast)
        } else {
            Ok(p)
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.microhz / 1_000_000, self.microhz % 1_000_000);
        if frac == 0 {
            write!(f, "{whole} Hz")
        } else {
            // Trailing zeros of the fraction are dropped: 0.5 Hz, not 0.500000 Hz.
            let mut digits = 6;
            let mut frac = frac;
            while frac % 10 == 0 {
                frac /= 10;
                digits -= 1;
            }
            write!(f, "{whole}.{frac:0digits$} Hz")
        }
    }
}

/// A rate or period that cannot drive a node.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RateError {
    /// A rate of 0 Hz (std's `.hz()` gives it for a rate below the 1 µHz
    /// resolution, a negative rate or NaN), a period of 0 ns, or a divisor of 0.
    #[error(
        "a rate must be from 0.000001 Hz (1 µHz, its resolution) to 1 MHz, and a period \
         or divisor above 0: give e.g. 100 Hz or a 10 ms period"
    )]
    Zero,
    /// The period does not fit: longer than 10^15 ns, or a divisor times the
    /// scheduler's period overflows.
    #[error(
        "the period is out of range: it must be from 1 µs to 10^15 ns (11.5 days), a rate \
         from 1 MHz down to 0.000001 Hz"
    )]
    OutOfRange,
    /// A rate above 1 MHz, or a period under 1 µs ([`MIN_PERIOD_NS`]).
    #[error(
        "the rate is too fast: a period must be at least 1 µs (a rate at most 1 MHz); give \
         e.g. 1 kHz or a 1 ms period"
    )]
    TooFast,
}

// `Debug` is the sentence, as for every core error (see `crate::error`).
crate::error::debug_is_display!(RateError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_round_trip() {
        assert_eq!(Frequency::from_hz(3).period_ns(), Ok(333_333_333));
        assert_eq!(Frequency::from_millihz(500).period_ns(), Ok(2_000_000_000));
        assert_eq!(Frequency::from_period_ns(0), Err(RateError::Zero));
        assert_eq!(
            Frequency::from_period_ns(NS_MICROHZ + 1),
            Err(RateError::OutOfRange)
        );
    }

    #[test]
    fn a_period_under_a_microsecond_is_too_fast_not_clamped() {
        // Clamped to 1 ns, it made a scheduler loop without sleeping.
        assert_eq!(
            Frequency::from_hz(u64::MAX).period_ns(),
            Err(RateError::TooFast)
        );
        assert_eq!(
            Frequency::from_hz(1_000_001).period_ns(),
            Err(RateError::TooFast)
        );
        assert_eq!(Frequency::from_hz(1_000_000).period_ns(), Ok(1_000));
        assert_eq!(Frequency::from_period_ns(999), Err(RateError::TooFast));
        assert_eq!(
            Frequency::from_period_ns(MIN_PERIOD_NS),
            Ok(Frequency::from_hz(1_000_000))
        );
    }

    #[test]
    fn manual_clock_is_monotonic() {
        let c = ManualClock::new(10);
        c.set(5);
        assert_eq!(c.now_ns(), 10);
        c.advance(u64::MAX);
        assert_eq!(c.now_ns(), u64::MAX);
    }

    #[test]
    fn extend32_counts_through_wraps() {
        let ext = Extend32::new();
        let mut total = 0_u64;
        let mut raw = 0_u32;
        assert_eq!(ext.extend(|| raw), 0);
        // Steps of up to half a wrap (the contract), across two wraps.
        let half = 1_u32 << 31;
        for step in [5, half - 1, 100, half, half, 1, half - 7, 7, half, half] {
            raw = raw.wrapping_add(step);
            total += u64::from(step);
            assert_eq!(ext.extend(|| raw), total, "after a step of {step}");
        }
        assert!(total > 2 * (1_u64 << 32));
        // The same reading again: the same count, never a wrap.
        assert_eq!(ext.extend(|| raw), total);
    }

    #[test]
    fn extend32_starts_in_either_half() {
        let ext = Extend32::new();
        assert_eq!(ext.extend(|| u32::MAX - 1), u64::from(u32::MAX - 1));
        assert_eq!(ext.extend(|| 1), (1_u64 << 32) + 1);
    }

    #[test]
    fn extend32_reads_again_when_interrupted_between_its_load_and_its_reading() {
        // The call loads the state (no wrap, lower half); an "interrupt"
        // then extends through a wrap before the call reads the counter:
        // compared with the state it loaded, the call's reading (lower half
        // again) would look like no wrap, 2^32 counts behind the interrupt's.
        let ext = Extend32::new();
        ext.extend(|| 0x7fff_fff0);
        let counter = Cell::new(0x7fff_fff8_u32);
        let reads = Cell::new(0);
        let got = ext.extend(|| {
            reads.set(reads.get() + 1);
            if reads.get() == 1 {
                assert_eq!(ext.extend(|| 0xc000_0000), 0xc000_0000);
                assert_eq!(ext.extend(|| 0x1000_0000), 0x1_1000_0000, "a wrap");
                counter.set(0x1000_0010);
            }
            counter.get()
        });
        assert_eq!(reads.get(), 2, "the state moved since its load: read again");
        assert_eq!(got, 0x1_1000_0010);
        assert_eq!(ext.extend(|| 0x1000_0011), 0x1_1000_0011);
    }

    #[test]
    fn extend32_swaps_again_when_another_caller_moved_the_state_first() {
        // Both see the counter reach the upper half; the interrupt's move
        // lands first, the interrupted call's swap fails, and it reads again.
        let ext = Extend32::new();
        ext.extend(|| 0x7fff_fff0);
        let reads = Cell::new(0);
        let got = ext.extend(|| {
            reads.set(reads.get() + 1);
            if reads.get() == 1 {
                assert_eq!(ext.extend(|| 0x8000_0010), 0x8000_0010);
            }
            0x8000_0020
        });
        assert_eq!((reads.get(), got), (2, 0x8000_0020));
    }

    #[test]
    fn frequency_displays_in_hz() {
        use core::fmt::Write;
        let shown = |f: Frequency| {
            let mut s = heapless::String::<32>::new();
            write!(s, "{f}").unwrap();
            s
        };
        assert_eq!(shown(Frequency::from_hz(100)), "100 Hz");
        assert_eq!(shown(Frequency::from_millihz(500)), "0.5 Hz");
        assert_eq!(shown(Frequency::from_microhz(1_000_001)), "1.000001 Hz");
    }
}
