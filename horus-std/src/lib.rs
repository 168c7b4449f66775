//! HORUS on Linux: named, typed publish/subscribe topics over shared memory,
//! and the node scheduler.
//!
//! ```no_run
//! use horus::prelude::*;
//!
//! message! { WheelEncoder { left_ticks: i64, right_ticks: i64, timestamp_ns: u64 } }
//!
//! fn main() -> Result<()> {
//!     let topic: Topic<WheelEncoder> = Topic::new("wheel.encoders")?;
//!     topic.send(WheelEncoder { left_ticks: 1, right_ticks: 2, timestamp_ns: horus::now_ns() });
//!     if let Some(m) = topic.recv() {
//!         println!("{m:?}");
//!     }
//!     Ok(())
//! }
//! ```
//!
//! - [`Topic`]: the same `Topic::new(name)` in one thread, across threads and
//!   across processes; see its docs for the semantics and the files it uses.
//! - [`Scheduler`] and [`Node`]: tick nodes in order at a rate.
//! - [`shm`]: namespaces, liveness and cleanup of `/dev/shm/horus_<ns>/`.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod depth;
pub mod dynamic;
pub mod error;
pub mod image;
pub mod inspect;
mod join;
pub mod logging;
mod message_type;
pub mod node;
pub mod payload;
pub mod pointcloud;
pub mod pool;
pub mod pooled;
pub mod prelude;
pub mod process_pool;
pub mod scheduler;
pub mod serialized;
pub mod shm;
pub mod system;
pub mod tensor;
pub mod time;
pub mod topic;

/// The one place a lower layer's report is wired to a higher layer: the
/// topic layer reports reclaimed and evicted handles
/// ([`join::TopicEvent`]); the system layer decides what reaches the
/// blackbox. (A constant, not a registry: a program that only uses topics
/// records them too, with nothing to install.)
const TOPIC_EVENTS: join::EventSink = system::blackbox::record_topic_event;

pub use error::{Error, Result};
pub use horus_nostd::{message, msgs};
/// The logging facade HORUS and its users log through (see [`logging`]).
pub use log;
pub use node::Node;
pub use payload::Payload;
pub use scheduler::Scheduler;
pub use time::now_ns;
pub use topic::Topic;

#[doc(hidden)]
pub mod __private {
    pub use horus_nostd::__private::*;
}

// Processes sharing a region synchronise only through the atomic instructions
// themselves. A lock-based fallback (portable-atomic's `fallback`, or
// horus-nostd's `critical-section` feature, turned on by feature unification
// on a target without native 64-bit atomics) locks inside one process only,
// so across processes every access would race.
const _: () = assert!(
    horus_nostd::sync::AtomicU64::is_always_lock_free(),
    "horus-std needs lock-free 64-bit atomics: on this target horus-nostd's AtomicU64 is a \
     per-process lock or critical section, which cannot synchronise processes sharing /dev/shm; \
     build for a target with native 64-bit atomics and do not enable horus-nostd's \
     `critical-section` feature (or portable-atomic's `fallback`) for host builds"
);
