//! Shared memory on Linux: namespaces, region files, liveness, cleanup.
//!
//! - [`namespace`]: `/dev/shm/horus_<ns>/`, created 0700, never followed
//!   through links, refused if another user owns it.
//! - [`region_file`]: creating a region atomically, mapping it, replacing a
//!   stale unfit one.
//! - [`liveness`]: one `flock`ed file per live process; the kernel drops it
//!   on any death, so liveness is never misjudged and never trusts a pid.
//! - [`cleanup`]: removing what dead processes left, never what a live one holds.

pub mod cleanup;
pub mod liveness;
pub mod names;
pub mod namespace;
pub mod region_file;

pub use cleanup::{
    CleanReport, clean_namespace, clean_namespace_keeping, clean_stale_current_namespace,
};
pub use namespace::Namespace;
