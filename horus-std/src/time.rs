//! Time: the monotonic clock every HORUS process of a machine shares.

/// Nanoseconds of `CLOCK_MONOTONIC`: the same clock in every process of the
/// machine, so timestamps from different processes compare.
pub fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    // tv_sec and tv_nsec of CLOCK_MONOTONIC are never negative.
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}
