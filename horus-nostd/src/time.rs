//! Time for the scheduler core: the [`Clock`] the caller provides, and
//! [`Frequency`], the rate a node or a scheduler ticks at.
//!
//! The core never reads a clock of its own: a board gives it a timer
//! (SysTick, a TIMx counter, a simulated clock), `horus-std` gives it
//! `CLOCK_MONOTONIC`. All times are nanoseconds in `u64` (584 years).

use core::cell::Cell;
use core::fmt;

/// A monotonic clock, in nanoseconds from an arbitrary origin.
///
/// `now_ns` must never go backwards; the scheduler treats a clock that does
/// as "no time passed" (it saturates, never panics).
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
