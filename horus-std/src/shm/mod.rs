//! Shared memory on Linux: namespaces, region files, liveness, cleanup.
//!
//! - [`namespace`]: `/dev/shm/horus_<ns>/`, created 0700, never followed
//!   through links, refused if another user owns it.
//! - `region_file` (crate-private): creating a region atomically, mapping it, replacing a
//!   stale unfit one.
//! - [`liveness`]: one `flock`ed file per live process; the kernel drops it
//!   on any death, so liveness is never misjudged and never trusts a pid.
//! - `pool_file` (crate-private): block pool segments as files next to their topic.
//! - `fork_private` (crate-private): pool segments mapped private in a
//!   child made by `fork()`, so its writes never reach the parent's blocks.
//! - `mapping` (crate-private): a mapped file whose words regions, handles,
//!   loans and views share by reference count (`MappedWords`).
//! - [`cleanup`]: removing what dead processes left, never what a live one
//!   holds; [`auto_clean`] of a namespace.
//! - [`lock_holders`]: which process here (in our pid namespace) holds a
//!   liveness token's lock, before a pid from shared memory is signalled or
//!   named.
//! - [`files`]: opening without blocking or following, publishing by atomic
//!   rename, and removing a name only under the lock of the file it names.

pub mod cleanup;
pub mod files;
pub(crate) mod fork_private;
pub mod liveness;
pub mod lock_holders;
pub(crate) mod mapping;
pub mod names;
pub mod namespace;
pub(crate) mod pool_file;
pub(crate) mod region_file;

pub use cleanup::{
    CleanReport, ForeignFile, ForeignKind, auto_clean, clean_namespace, clean_namespace_keeping,
    clean_stale_current_namespace, remove_if_unused, unknown_files,
};
pub use namespace::Namespace;
