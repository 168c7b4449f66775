//! The std scheduler (being written; see the scheduler issue).

/// Why a scheduler could not be built or run.
#[derive(Debug)]
#[non_exhaustive]
pub enum SchedulerError {}

impl std::fmt::Display for SchedulerError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl std::error::Error for SchedulerError {}

/// The node scheduler.
pub struct Scheduler;
