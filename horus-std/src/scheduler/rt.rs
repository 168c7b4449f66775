//! The thread that runs the scheduler: its CPU (opt-in `.pin_cpu`), its
//! policy (opt-in `.realtime`, `SCHED_FIFO`) and its timer slack, each set
//! when `run` starts (with errors that name the fix) and put back as it was
//! when `run` returns ([`ThreadSetup`]).

use std::io;
use std::num::NonZeroU64;

use rustix::thread::CpuSet;

use super::SchedulerError;

/// The scheduler's default timer slack, ns: the least Linux allows.
pub(crate) const DEFAULT_TIMER_SLACK_NS: u64 = 1;

/// What `run` changed on its thread, put back when this is dropped (when
/// `run` returns, whichever way), in the reverse order. A setting that
/// outlived `run` would be the next code's on that thread: a second
/// scheduler without `.realtime` would still run under SCHED_FIFO (the
/// benchmark program's jitter rows did until 2026-12-04), a thread's
/// cleanup after `run` would spin pinned to one CPU.
#[derive(Default)]
pub(crate) struct ThreadSetup {
    /// The CPU mask before `pin_cpu`.
    affinity: Option<CpuSet>,
    /// The policy (with its flags) and parameters before `realtime`.
    policy: Option<(i32, libc::sched_param)>,
    /// The timer slack before `timer_slack`.
    slack: Option<NonZeroU64>,
}

impl ThreadSetup {
    /// Pins the calling thread to `cpu`.
    pub(crate) fn pin_cpu(&mut self, cpu: usize) -> Result<(), SchedulerError> {
        let online = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpu >= CpuSet::MAX_CPU {
            return Err(SchedulerError::InvalidCpu { cpu, online });
        }
        let before = rustix::thread::sched_getaffinity(None).map_err(|e| SchedulerError::Os {
            op: "sched_getaffinity",
            error: e.into(),
        })?;
        let mut set = CpuSet::new();
        set.set(cpu);
        rustix::thread::sched_setaffinity(None, &set).map_err(|e| match e {
            rustix::io::Errno::PERM => SchedulerError::PinDenied { cpu },
            rustix::io::Errno::INVAL => SchedulerError::InvalidCpu { cpu, online },
            e => SchedulerError::Os {
                op: "sched_setaffinity",
                error: e.into(),
            },
        })?;
        self.affinity.get_or_insert(before);
        Ok(())
    }

    /// Puts the calling thread under `SCHED_FIFO` at `priority` (1..=99).
    pub(crate) fn realtime(&mut self, priority: u8) -> Result<(), SchedulerError> {
        if !(1..=99).contains(&priority) {
            return Err(SchedulerError::InvalidPriority { priority });
        }
        let before = current_policy().map_err(|error| SchedulerError::Os {
            op: "sched_getscheduler",
            error,
        })?;
        // rustix has no sched_setscheduler; libc is used for these calls.
        let param = libc::sched_param {
            sched_priority: i32::from(priority),
        };
        // SAFETY: `sched_setscheduler` only reads `*param`, a valid,
        // initialised `sched_param` on our stack that outlives the call; pid
        // 0 names the calling thread. It touches no other memory of the
        // process.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return Err(match err.raw_os_error() {
                Some(libc::EPERM) => SchedulerError::RealtimeDenied { priority },
                Some(libc::EINVAL) => SchedulerError::InvalidPriority { priority },
                _ => SchedulerError::Os {
                    op: "sched_setscheduler(SCHED_FIFO)",
                    error: err,
                },
            });
        }
        self.policy.get_or_insert(before);
        Ok(())
    }

    /// Sets the calling thread's timer slack to `ns` (0: leaves it as it
    /// is).
    ///
    /// Linux lets a timer of a normal (`SCHED_OTHER`) thread expire up to
    /// its slack late, 50 µs by default, so that wake-ups coalesce;
    /// real-time threads have none. A control loop wants its release, not a
    /// saving of power: with the slack at 1 ns the scheduler's sleep ends
    /// when it asked, and its spin margin covers the kernel's own wake-up
    /// latency only. If the kernel refuses (a seccomp filter), the slack
    /// stays as it was and the spin margin covers it as before: logged,
    /// never an error.
    pub(crate) fn timer_slack(&mut self, ns: u64) {
        let Some(want) = NonZeroU64::new(ns) else {
            return;
        };
        let changed = rustix::thread::current_timer_slack().and_then(|before| {
            rustix::thread::set_current_timer_slack(Some(want))?;
            Ok(before)
        });
        match changed {
            Ok(before) => {
                if self.slack.is_none() {
                    self.slack = NonZeroU64::new(before);
                }
            }
            Err(e) => log::debug!("scheduler: timer slack left as it is (prctl: {e})"),
        }
    }
}

/// The calling thread's policy (with its flags) and parameters.
fn current_policy() -> io::Result<(i32, libc::sched_param)> {
    // SAFETY: no pointer is passed; pid 0 names the calling thread.
    let policy = unsafe { libc::sched_getscheduler(0) };
    if policy < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_getparam` writes one `sched_param` through the
    // pointer, which is to a valid, initialised one on our stack that
    // outlives the call.
    if unsafe { libc::sched_getparam(0, &mut param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((policy, param))
}

impl Drop for ThreadSetup {
    /// Puts back what was changed: the policy first, since leaving
    /// SCHED_FIFO resets a thread's timer slack (Linux gives a real-time
    /// thread none, and a normal one its default again), then the slack,
    /// then the CPU mask. Each value is one the kernel gave this thread, and
    /// lowering a policy or widening a mask back needs no privilege, so a
    /// refusal is not expected; it is logged.
    fn drop(&mut self) {
        if let Some((policy, param)) = self.policy.take() {
            // SAFETY: as in `realtime`: `param` is a valid `sched_param` on
            // our stack, only read; pid 0 is the calling thread.
            if unsafe { libc::sched_setscheduler(0, policy, &param) } != 0 {
                let e = io::Error::last_os_error();
                log::warn!("scheduler: could not put the thread's policy back: {e}");
            }
        }
        if let Some(before) = self.slack.take() {
            if let Err(e) = rustix::thread::set_current_timer_slack(Some(before)) {
                log::warn!("scheduler: could not put the thread's timer slack back: {e}");
            }
        }
        if let Some(before) = self.affinity.take() {
            if let Err(e) = rustix::thread::sched_setaffinity(None, &before) {
                log::warn!("scheduler: could not put the thread's CPU mask back: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_requests_are_refused_before_the_kernel() {
        let mut setup = ThreadSetup::default();
        assert!(matches!(
            setup.realtime(0),
            Err(SchedulerError::InvalidPriority { priority: 0 })
        ));
        assert!(matches!(
            setup.pin_cpu(usize::MAX),
            Err(SchedulerError::InvalidCpu { .. })
        ));
        assert!(setup.affinity.is_none() && setup.policy.is_none());
    }

    #[test]
    fn what_was_set_is_put_back_when_dropped() {
        // (Each test runs in a thread of its own: what it sets is its alone.)
        rustix::thread::set_current_timer_slack(NonZeroU64::new(40_000)).unwrap();
        let slack = || rustix::thread::current_timer_slack().unwrap();
        let mask = || rustix::thread::sched_getaffinity(None).unwrap();
        let before = mask();
        let cpu = (0..CpuSet::MAX_CPU).find(|&c| before.is_set(c)).unwrap();
        {
            let mut setup = ThreadSetup::default();
            setup.timer_slack(DEFAULT_TIMER_SLACK_NS);
            assert_eq!(slack(), 1);
            setup.timer_slack(0);
            assert_eq!(slack(), 1, "0 leaves it as it is");
            setup.timer_slack(5_000);
            assert_eq!(slack(), 5_000);
            setup.pin_cpu(cpu).unwrap();
            assert!(mask().count() == 1 && mask().is_set(cpu));
        }
        assert_eq!(slack(), 40_000, "the slack from before the first change");
        assert!(mask() == before, "the CPU mask from before");
    }
}
