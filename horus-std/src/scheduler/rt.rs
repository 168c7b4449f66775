//! Opt-in real-time priority (`SCHED_FIFO`) and CPU pinning of the thread
//! that runs the scheduler, with errors that name the fix.

use std::io;

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
}
