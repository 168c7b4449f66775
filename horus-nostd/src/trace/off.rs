//! The trace shim without `defmt` or `log`: the core's events are not
//! logged. The arguments are still type-checked (inside `if false`, never
//! evaluated), so a statement that breaks under one feature breaks in every
//! build. Chosen in `lib.rs`, the one place that picks this file, `log.rs`
//! or `defmt.rs`.

/// An event worth a debug line (a topic joined).
macro_rules! trace_debug {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {
        if false {
            let _ = ($(&$arg,)*);
        }
    };
}

/// An event worth an info line (a reclaim, the scheduler starting/stopping).
macro_rules! trace_info {
    ($($t:tt)*) => { trace_debug!($($t)*) };
}

/// An event worth a warning (an eviction, a node fault).
macro_rules! trace_warn {
    ($($t:tt)*) => { trace_debug!($($t)*) };
}
