//! The allocation-free core of HORUS.
//!
//! Everything here works over a memory region the caller provides: a `static`
//! buffer on a microcontroller, a linker section of an RTOS partition, or a file
//! in `/dev/shm` mapped by `horus-std`. The crate never allocates, never blocks,
//! never panics on bad input, and knows nothing about files, processes or
//! threads.
//!
//! - [`message`](mod@message): the [`Message`] trait, type
//!   identity and self-description, and the [`message!`] macro.
//! - [`layout`]: where every word of a topic region lives ([`TopicLayout`]).
//! - [`region`]: initialising and attaching a region ([`TopicRegion`]),
//!   participants and reclamation of dead ones.
//! - [`ring`]: publishing and receiving (one single-writer lane per publisher).
//! - [`pool`]: the block pool for large messages ([`PoolRegion`]): blocks
//!   loaned, published, held by reference, reclaimed from the dead.
//! - [`sched`]: the fixed-capacity scheduler core; [`time`]: its clock.
//!
//! All shared state is accessed through the [`sync`] shim, so the loom models
//! in `tests/loom_*.rs` run this production code.
//!
//! Byte order: little-endian only. A region is shared byte for byte between
//! processes, tools (`horus topic echo` decodes fields little-endian) and
//! boards, so its words and messages are stored little-endian; every
//! supported target (x86-64, AArch64, Cortex-M, RISC-V) is, and building for
//! a big-endian target is a compile error rather than a silent mismatch.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(
    missing_docs,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

#[cfg(target_endian = "big")]
compile_error!(
    "horus-nostd supports little-endian targets only: topic regions are shared byte for byte \
     between processes, tools and boards, and store their words and messages little-endian \
     (see docs/decisions.md, \"Byte order\")"
);

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!(
    "horus-nostd: features `defmt` and `log` are exclusive: the core's events go through one \
     logger (`defmt` on boards, `log` in horus-std)"
);

// The trace shim (`trace_debug!`, `trace_info!`, `trace_warn!`): the core's
// events (topic joins, reclaims, evictions, scheduler start/stop, node
// faults) through defmt, the `log` facade, or nowhere. The one cfg decision
// of logging: a whole-file swap.
#[cfg_attr(feature = "defmt", path = "trace/defmt.rs")]
#[cfg_attr(feature = "log", path = "trace/log.rs")]
#[cfg_attr(not(any(feature = "defmt", feature = "log")), path = "trace/off.rs")]
#[macro_use]
mod trace;

pub mod error;
mod header;
pub mod layout;
pub mod message;
pub mod msgs;
pub mod pool;
pub mod region;
pub mod ring;
pub mod sched;
pub mod sync;
pub mod time;

#[doc(hidden)]
pub mod __private {
    pub use bytemuck;
    pub use core;
}

pub use error::{AttachError, InitError, JoinError, LayoutError};
pub use layout::TopicLayout;
pub use message::{Field, FieldKind, FieldType, Message};
pub use pool::{BlockDescriptor, PoolLayout, PoolRegion};
pub use region::{OwnerToken, TopicRegion};
pub use ring::{RawHandle, Refusal, SendError, SendRefused, TopicHandle};
