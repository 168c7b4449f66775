//! Time: the monotonic clock every HORUS process of a machine shares, and
//! the `.hz()`, `.ms()`, `.us()` helpers of the seed's programs.
//!
//! ```
//! use horus::prelude::*;
//!
//! assert_eq!(100_u64.hz().period_ns(), Ok(10_000_000));
//! assert_eq!(5_u64.ms(), Duration::from_millis(5));
//! assert_eq!(250_u64.us(), Duration::from_micros(250));
//! assert_eq!(0.5.hz(), Frequency::from_millihz(500));
//! ```

use std::time::Duration;

pub use horus_nostd::time::{Clock, Frequency, RateError};

/// Nanoseconds of `CLOCK_MONOTONIC`: the same clock in every process of the
/// machine, so timestamps from different processes compare.
pub fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    // tv_sec and tv_nsec of CLOCK_MONOTONIC are never negative.
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

/// `CLOCK_MONOTONIC` as the scheduler core's [`Clock`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        now_ns()
    }
}

/// Rates and durations from numbers: `100_u64.hz()`, `5_u64.ms()`, `250_u64.us()`.
///
/// Implemented for `u64`, `u32`, `usize` and `f64`. A rate is valid from
/// 0.000001 Hz (1 µHz, the resolution) to 1 MHz; the scheduler refuses one
/// outside with a [`RateError`] that says so:
/// an `f64` rate that is negative, NaN or below the resolution gives 0 Hz
/// (`RateError::Zero`), one above 1 MHz or infinite `RateError::TooFast`.
pub trait DurationExt {
    /// This many hertz.
    fn hz(self) -> Frequency;
    /// This many seconds.
    fn secs(self) -> Duration;
    /// This many milliseconds.
    fn ms(self) -> Duration;
    /// This many microseconds.
    fn us(self) -> Duration;
    /// This many nanoseconds.
    fn ns(self) -> Duration;
}

macro_rules! duration_ext_int {
    ($($t:ty),*) => {$(
        impl DurationExt for $t {
            fn hz(self) -> Frequency {
                Frequency::from_hz(self as u64)
            }
            fn secs(self) -> Duration {
                Duration::from_secs(self as u64)
            }
            fn ms(self) -> Duration {
                Duration::from_millis(self as u64)
            }
            fn us(self) -> Duration {
                Duration::from_micros(self as u64)
            }
            fn ns(self) -> Duration {
                Duration::from_nanos(self as u64)
            }
        }
    )*};
}
duration_ext_int!(u64, u32, usize);

impl DurationExt for f64 {
    fn hz(self) -> Frequency {
        // `as` saturates: NaN and negatives give 0, huge values u64::MAX.
        Frequency::from_microhz((self * 1e6).round() as u64)
    }
    fn secs(self) -> Duration {
        Duration::try_from_secs_f64(self.max(0.0)).unwrap_or(Duration::MAX)
    }
    fn ms(self) -> Duration {
        (self / 1e3).secs()
    }
    fn us(self) -> Duration {
        (self / 1e6).secs()
    }
    fn ns(self) -> Duration {
        (self / 1e9).secs()
    }
}

/// Nanoseconds of a duration, saturating at `u64::MAX` (584 years).
pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_floats_give_zero_not_panics() {
        assert_eq!(f64::NAN.hz(), Frequency::from_hz(0));
        assert_eq!((-1.0).ms(), Duration::ZERO);
        assert_eq!(f64::NAN.secs(), Duration::ZERO);
        assert_eq!(f64::INFINITY.secs(), Duration::MAX);
    }

    #[test]
    fn rates_outside_one_microhertz_to_one_megahertz_are_refused_in_words() {
        use horus_nostd::time::RateError;
        for too_fast in [1e12, f64::INFINITY, 1_000_001.0] {
            assert_eq!(
                too_fast.hz().period_ns(),
                Err(RateError::TooFast),
                "{too_fast}"
            );
        }
        assert_eq!(1e6.hz().period_ns(), Ok(1_000));
        // Above 0 Hz but below the resolution: the sentence says the range.
        let err = 1e-7.hz().period_ns().unwrap_err();
        assert!(err.to_string().contains("from 0.000001 Hz"), "{err}");
        assert!(1e-6.hz().period_ns().is_ok());
    }

    #[test]
    fn the_clock_is_monotonic() {
        let a = now_ns();
        let b = MonotonicClock.now_ns();
        assert!(b >= a);
    }
}
