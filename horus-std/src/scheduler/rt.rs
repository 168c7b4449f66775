//! The thread that runs the scheduler: opt-in real-time priority
//! (`SCHED_FIFO`) and CPU pinning, with errors that name the fix; and its
//! timer slack while `run` runs ([`TimerSlack`]).

use std::io;
use std::num::NonZeroU64;

use super::SchedulerError;

/// Puts the calling thread under `SCHED_FIFO` at `priority` (1..=99).
pub(crate) fn set_realtime(priority: u8) -> Result<(), SchedulerError> {
    if !(1..=99).contains(&priority) {
        return Err(SchedulerError::InvalidPriority { priority });
    }
    // rustix has no sched_setscheduler; libc is used for this one call.
    let param = libc::sched_param {
        sched_priority: i32::from(priority),
    };
    // SAFETY: `sched_setscheduler` only reads `*param`, a valid, initialised
    // `sched_param` on our stack that outlives the call; pid 0 names the
    // calling thread. It touches no other memory of the process.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    Err(match err.raw_os_error() {
        Some(libc::EPERM) => SchedulerError::RealtimeDenied { priority },
        Some(libc::EINVAL) => SchedulerError::InvalidPriority { priority },
        _ => SchedulerError::Os {
            op: "sched_setscheduler(SCHED_FIFO)",
            source: err,
        },
    })
}

/// Pins the calling thread to `cpu`.
pub(crate) fn pin_cpu(cpu: usize) -> Result<(), SchedulerError> {
    let online = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpu >= rustix::thread::CpuSet::MAX_CPU {
        return Err(SchedulerError::InvalidCpu { cpu, online });
    }
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).map_err(|e| match e {
        rustix::io::Errno::PERM => SchedulerError::PinDenied { cpu },
        rustix::io::Errno::INVAL => SchedulerError::InvalidCpu { cpu, online },
        e => SchedulerError::Os {
            op: "sched_setaffinity",
            source: e.into(),
        },
    })
}

/// The scheduler's default timer slack, ns: the least Linux allows.
pub(crate) const DEFAULT_TIMER_SLACK_NS: u64 = 1;

/// The calling thread's timer slack set for as long as this lives, then
/// back to what it was.
///
/// Linux lets a timer of a normal (`SCHED_OTHER`) thread expire up to its
/// slack late, 50 µs by default, so that wake-ups coalesce; real-time
/// threads have none. A control loop wants its release, not a saving of
/// power: with the slack at 1 ns the scheduler's sleep ends when it asked,
/// and its spin margin covers the kernel's own wake-up latency only. If the
/// kernel refuses (a seccomp filter), the slack stays as it was and the
/// spin margin covers it as before: logged, never an error.
pub(crate) struct TimerSlack {
    /// The slack to restore; `None` if it was not changed.
    previous: Option<NonZeroU64>,
}

impl TimerSlack {
    /// Sets the calling thread's slack to `ns` (0: leaves it as it is).
    pub(crate) fn set(ns: u64) -> Self {
        let Some(want) = NonZeroU64::new(ns) else {
            return Self { previous: None };
        };
        let changed = rustix::thread::current_timer_slack().and_then(|previous| {
            rustix::thread::set_current_timer_slack(Some(want))?;
            Ok(NonZeroU64::new(previous))
        });
        match changed {
            Ok(previous) => Self { previous },
            Err(e) => {
                log::debug!("scheduler: timer slack left as it is (prctl: {e})");
                Self { previous: None }
            }
        }
    }
}

impl Drop for TimerSlack {
    fn drop(&mut self) {
        if let Some(previous) = self.previous {
            // (Setting back a value the kernel gave us cannot be refused
            // where setting ours was not.)
            let _ = rustix::thread::set_current_timer_slack(Some(previous));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_requests_are_refused_before_the_kernel() {
        assert!(matches!(
            set_realtime(0),
            Err(SchedulerError::InvalidPriority { priority: 0 })
        ));
        assert!(matches!(
            pin_cpu(usize::MAX),
            Err(SchedulerError::InvalidCpu { .. })
        ));
    }

    #[test]
    fn the_timer_slack_is_set_while_held_and_restored_after() {
        // (Each test runs in a thread of its own: this slack is its alone.)
        rustix::thread::set_current_timer_slack(NonZeroU64::new(40_000)).unwrap();
        let slack = || rustix::thread::current_timer_slack().unwrap();
        {
            let _slack = TimerSlack::set(DEFAULT_TIMER_SLACK_NS);
            assert_eq!(slack(), 1);
            {
                let _inner = TimerSlack::set(0);
                assert_eq!(slack(), 1, "0 leaves it as it is");
            }
            assert_eq!(slack(), 1);
        }
        assert_eq!(slack(), 40_000);
    }
}
