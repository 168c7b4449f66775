//! SIGINT and SIGTERM: the first asks every scheduler of the process to
//! stop (each runs its nodes' `shutdown`); a second one, if shutting down
//! hangs, exits at once with the shell's code (130 for SIGINT, 143 for
//! SIGTERM).
//!
//! The handlers are installed once per process, by the first `run` or
//! `run_for`, and stay: the request is process-wide and sticky, so a
//! scheduler run after a signal returns at once (after init and shutdown).
//! They only store to an atomic (signal-hook), which is async-signal-safe.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

use super::SchedulerError;

/// Set by the first SIGINT or SIGTERM.
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the handlers (once per process).
pub(crate) fn install() -> Result<(), SchedulerError> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        for (sig, code) in [(SIGINT, 130), (SIGTERM, 143)] {
            // Registered first, so it sees the flag as the previous signal left it.
            flag::register_conditional_shutdown(sig, code, &REQUESTED)
                .and_then(|_| flag::register(sig, &REQUESTED))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    });
    result.clone().map_err(|e| SchedulerError::Signals {
        error: std::io::Error::other(e),
    })
}

/// Whether a SIGINT or SIGTERM arrived since the handlers were installed.
pub fn stop_requested() -> bool {
    // SYNC(signal-flag): SeqCst store in the handler; any later load sees it.
    REQUESTED.load(Ordering::SeqCst)
}
