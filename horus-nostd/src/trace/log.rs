//! The trace shim with the `log` feature (horus-std enables it): the core's
//! events go through the `log` facade. Chosen in `lib.rs`, the one place
//! that picks this file, `defmt.rs` or `off.rs`.

/// An event worth a debug line (a topic joined).
macro_rules! trace_debug {
    ($($arg:tt)*) => { log::debug!($($arg)*) };
}

/// An event worth an info line (a reclaim, the scheduler starting/stopping).
macro_rules! trace_info {
    ($($arg:tt)*) => { log::info!($($arg)*) };
}

/// An event worth a warning (an eviction, a node fault).
macro_rules! trace_warn {
    ($($arg:tt)*) => { log::warn!($($arg)*) };
}
