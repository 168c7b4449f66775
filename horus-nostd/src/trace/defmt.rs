//! The trace shim with the `defmt` feature: the core's events go through
//! defmt (the board's logger). Chosen in `lib.rs`, the one place that picks
//! this file, `log.rs` or `off.rs`.

/// An event worth a debug line (a topic joined).
macro_rules! trace_debug {
    ($($arg:tt)*) => { defmt::debug!($($arg)*) };
}

/// An event worth an info line (a reclaim, the scheduler starting/stopping).
macro_rules! trace_info {
    ($($arg:tt)*) => { defmt::info!($($arg)*) };
}

/// An event worth a warning (an eviction, a node fault).
macro_rules! trace_warn {
    ($($arg:tt)*) => { defmt::warn!($($arg)*) };
}
