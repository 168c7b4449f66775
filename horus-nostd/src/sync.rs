//! The one place the core takes its atomics from.
//!
//! Normally [`AtomicU64`] wraps `core`'s atomic (or portable-atomic's on
//! targets without native 64-bit atomics); under `cfg(loom)` it wraps loom's,
//! so the loom models in `tests/loom_ring.rs` exercise the production ring
//! code. Clippy's `disallowed-types` (see `clippy.toml`) keeps the rest of the
//! crate from bypassing this module.
//!
//! Every word of shared memory the core touches is an [`AtomicU64`]: the
//! header, the participant table, the stamps and the payload. A region is
//! therefore a `&[AtomicU64]`, whatever provides the memory.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

#[cfg(loom)]
use loom::sync::atomic as imp;

#[cfg(all(not(loom), target_has_atomic = "64"))]
use core::sync::atomic as imp;

#[cfg(all(not(loom), not(target_has_atomic = "64")))]
use portable_atomic as imp;

pub use imp::Ordering;

/// A 64-bit atomic word with the size, alignment and bit layout of `u64`.
#[repr(transparent)]
#[derive(Debug, Default)]
pub struct AtomicU64(imp::AtomicU64);

impl AtomicU64 {
    /// A word holding `v`.
    #[cfg(not(loom))]
    pub const fn new(v: u64) -> Self {
        Self(imp::AtomicU64::new(v))
    }

    /// A word holding `v` (loom's atomics are not `const`).
    #[cfg(loom)]
    pub fn new(v: u64) -> Self {
        Self(imp::AtomicU64::new(v))
    }

    /// Atomic load.
    #[inline(always)]
    pub fn load(&self, order: Ordering) -> u64 {
        self.0.load(order)
    }

    /// Atomic store.
    #[inline(always)]
    pub fn store(&self, v: u64, order: Ordering) {
        self.0.store(v, order)
    }

    /// Atomic compare-and-exchange.
    #[inline(always)]
    pub fn compare_exchange(
        &self,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64> {
        self.0.compare_exchange(current, new, success, failure)
    }

    /// Atomic bitwise or; returns the previous value.
    #[inline(always)]
    pub fn fetch_or(&self, v: u64, order: Ordering) -> u64 {
        self.0.fetch_or(v, order)
    }

    /// Atomic bitwise and; returns the previous value.
    #[inline(always)]
    pub fn fetch_and(&self, v: u64, order: Ordering) -> u64 {
        self.0.fetch_and(v, order)
    }

    /// Atomic add; returns the previous value.
    #[inline(always)]
    pub fn fetch_add(&self, v: u64, order: Ordering) -> u64 {
        self.0.fetch_add(v, order)
    }
}

/// A memory fence.
#[inline(always)]
pub fn fence(order: Ordering) {
    imp::fence(order)
}

/// A CPU hint for spin loops (a yield under loom, so models terminate).
#[inline(always)]
pub fn spin_loop() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}
