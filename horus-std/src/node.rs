//! Nodes: units of work the [`Scheduler`](crate::Scheduler) ticks.
//!
//! Only `tick` must be written (and usually `name`); the seed's nodes are:
//!
//! ```
//! use horus::prelude::*;
//!
//! struct Counter {
//!     n: u64,
//! }
//! impl Node for Counter {
//!     fn name(&self) -> &str {
//!         "Counter"
//!     }
//!     fn tick(&mut self) {
//!         self.n += 1;
//!     }
//! }
//! ```

use crate::error::Result;

/// A unit of work ticked by the scheduler, from the scheduler's thread.
///
/// Life of a node (see [`horus_nostd::sched::NodeState`] for the diagram):
/// `init` once before its first tick; `tick` at its rate; `safe_state`
/// when its panic policy stops it and when the namespace's e-stop is raised;
/// `shutdown`
/// once for each `init` that succeeded (at the end, also after a panic, or
/// by a restart before it runs `init` again). A panic in any
/// of them is caught by the scheduler (see [`FaultPolicy`](crate::scheduler::FaultPolicy)).
pub trait Node {
    /// The node's name: unique within its scheduler; shown by
    /// `horus node list` and the blackbox. Defaults to the type's name.
    fn name(&self) -> &str {
        short_type_name(std::any::type_name::<Self>())
    }

    /// Prepares the node, once, before its first tick (and again when the
    /// `Restart` policy or `horus node restart` restarts it, after its
    /// `shutdown`).
    ///
    /// # Errors
    /// An error stops the scheduler from starting: `run()` shuts down the
    /// nodes already initialised and returns it.
    fn init(&mut self) -> Result<()> {
        Ok(())
    }

    /// One step of work.
    fn tick(&mut self);

    /// Puts the node's outputs in a safe state (motors off, brakes on). Run
    /// when a panic stops the node, and when the namespace's e-stop is raised
    /// (the scheduler then holds the node until the e-stop is cleared).
    fn safe_state(&mut self) {}

    /// Releases what the node holds; run once when the scheduler stops
    /// (SIGINT, SIGTERM, end of `run_for`, `shutdown()`, drop), if `init`
    /// succeeded.
    ///
    /// # Errors
    /// Reported by `run()` after every other node's `shutdown` ran.
    fn shutdown(&mut self) -> Result<()> {
        Ok(())
    }
}

thread_local! {
    /// Errors reported by the node running on this thread, for its scheduler.
    static REPORTED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Reports beyond [`MAX_REPORTED`] since the last collection: not kept,
    /// but counted (a node's error count stays exact).
    static REPORTED_DROPPED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

thread_local! {
    /// The tag ([`node_tag`](crate::system::registry::node_tag)) of the node
    /// whose `init`, `tick`, `safe_state` or `shutdown` runs on this thread;
    /// 0 outside any. Topics created meanwhile record it in their
    /// participant entry, so tools name the node that holds each handle.
    static CURRENT_NODE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Runs `f` as the node tagged `tag` (see `CURRENT_NODE`); the previous tag
/// is back afterwards, also when `f` unwinds.
pub(crate) fn as_node<R>(tag: u64, f: impl FnOnce() -> R) -> R {
    struct Restore(u64);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT_NODE.set(self.0);
        }
    }
    let _restore = Restore(CURRENT_NODE.replace(tag));
    f()
}

/// Least time between two panics of one node printed by the panic hook.
const PANIC_PRINT_EVERY_NS: u64 = 1_000_000_000;

thread_local! {
    /// `(node tag, when its last panic was printed)` per node that panicked
    /// on this thread (see [`quiet_node_panics`]).
    static PANIC_PRINTED: std::cell::RefCell<Vec<(u64, u64)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Installs, once per process, a panic hook around the one in place: a
/// panic inside a node's call under a scheduler (caught there, counted and
/// recorded at most once a second) goes to the hook in place at most once
/// a second per node, as the scheduler records it; a node that panics on
/// every tick at 1 kHz (its `Restart` or `Skip` policy ticks it again) does
/// not print a thousand messages (and, with `RUST_BACKTRACE`, backtraces)
/// a second. Other panics are untouched. A hook set later replaces this one.
pub(crate) fn quiet_node_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::thread::panicking() {
        return; // `set_hook` would panic (a scheduler started in a `Drop`)
    }
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !node_panic_muted() {
                previous(info);
            }
        }));
    });
}

/// Whether the panic under way is of a node whose last panic on this thread
/// was printed less than a second ago (if not, now is its last print).
fn node_panic_muted() -> bool {
    let tag = CURRENT_NODE.get();
    if tag == 0 {
        return false;
    }
    let now = crate::time::now_ns();
    PANIC_PRINTED
        .try_with(|printed| {
            let Ok(mut printed) = printed.try_borrow_mut() else {
                return false;
            };
            match printed.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, last)) if now.saturating_sub(*last) < PANIC_PRINT_EVERY_NS => true,
                Some((_, last)) => {
                    *last = now;
                    false
                }
                None => {
                    printed.push((tag, now));
                    false
                }
            }
        })
        .unwrap_or(false)
}

/// The tag of the node running on this thread (0 outside any node).
pub(crate) fn current_node_tag() -> u64 {
    CURRENT_NODE.get()
}

/// Most reports kept between two collections (a node ticked outside any
/// scheduler must not grow memory without bound).
const MAX_REPORTED: usize = 64;

/// Reports an error from inside a node's `tick` without panicking (a sensor
/// that does not answer, a bus error). The scheduler running the node records
/// it: a [`NodeError`](crate::system::blackbox::AnomalyKind::NodeError) in
/// its anomalies and the blackbox, state `Error` in `horus node list`, and a
/// count in the node's figures. The node keeps being ticked.
///
/// ```
/// use horus::prelude::*;
/// struct Sensor;
/// impl Node for Sensor {
///     fn tick(&mut self) {
///         horus::node::report_error("I2C: no acknowledge from 0x68");
///     }
/// }
/// let mut sched = Scheduler::new().system_topics(false).blackbox(false);
/// sched.add(Sensor).build()?;
/// sched.tick_once()?;
/// assert_eq!(sched.node("Sensor").unwrap().errors, 1);
/// # Ok::<(), horus::Error>(())
/// ```
pub fn report_error(detail: impl Into<String>) {
    REPORTED.with(|r| {
        let mut r = r.borrow_mut();
        if r.len() < MAX_REPORTED {
            r.push(detail.into());
        } else {
            REPORTED_DROPPED.set(REPORTED_DROPPED.get().saturating_add(1));
        }
    });
}

/// Takes the errors reported on this thread since the last call (what the
/// scheduler does after each tick; useful to test a node without one).
pub fn take_reported_errors() -> Vec<String> {
    REPORTED_DROPPED.set(0);
    REPORTED.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

/// [`take_reported_errors`] for the scheduler, around every tick: in the
/// common case, none reported, it reads the list's length and moves nothing
/// (moving the empty list through the thread-local cost a store-forwarding
/// stall per tick). How many more were reported than kept is
/// [`take_reported_beyond_kept`]'s (only ever more than 0 when the list is
/// full, so not asked for in the common case).
pub(crate) fn take_reported_errors_if_any() -> Vec<String> {
    REPORTED.with(|r| {
        let mut r = r.borrow_mut();
        if r.is_empty() {
            Vec::new()
        } else {
            std::mem::take(&mut *r)
        }
    })
}

/// The reports beyond the [`MAX_REPORTED`] kept since the last call: counted,
/// not kept.
pub(crate) fn take_reported_beyond_kept() -> u64 {
    REPORTED_DROPPED.replace(0)
}

/// `my_crate::nodes::Camera<T>` -> `Camera<T>`.
fn short_type_name(full: &str) -> &str {
    let head = full.split('<').next().unwrap_or(full);
    match head.rfind("::") {
        Some(i) => &full[i + 2..],
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_short_type_names() {
        struct Camera;
        impl Node for Camera {
            fn tick(&mut self) {}
        }
        assert_eq!(Camera.name(), "Camera");
        assert_eq!(short_type_name("a::b::Imu<x::Y>"), "Imu<x::Y>");
        assert_eq!(short_type_name("Plain"), "Plain");
    }
}
