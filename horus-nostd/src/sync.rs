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

// Without native 64-bit atomics, portable-atomic provides `AtomicU64` only
// with its `fallback` feature (over a critical section or spin-locks, or, with
// the single-core cfg, by disabling interrupts); it is off by default, and
// without it the build would stop at an opaque "cannot find `AtomicU64` in
// `imp`". Name the fix instead. (With the single-core cfg the fallback may
// come from the firmware's own portable-atomic dependency, which no cfg can
// see: that case is left to portable-atomic.)
#[cfg(all(
    not(loom),
    not(target_has_atomic = "64"),
    not(feature = "critical-section"),
    not(portable_atomic_unsafe_assume_single_core)
))]
compile_error!(
    "horus-nostd needs 64-bit atomics, and this target has none natively \
     (cfg target_has_atomic = \"64\" is not set): enable horus-nostd's \
     `critical-section` feature (and link a critical-section implementation), \
     or, on a single-core target, build with \
     RUSTFLAGS=\"--cfg portable_atomic_unsafe_assume_single_core\" and \
     portable-atomic's `fallback` feature"
);

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

    /// Whether every operation on this type is a lock-free machine
    /// instruction sequence on this target, rather than a lock or critical
    /// section. Those are private to one process: over memory shared between
    /// processes they would synchronise nothing. `horus-std` asserts this at
    /// compile time.
    ///
    /// ```
    /// const _: () = assert!(horus_nostd::sync::AtomicU64::is_always_lock_free());
    /// ```
    pub const fn is_always_lock_free() -> bool {
        #[cfg(any(loom, target_has_atomic = "64"))]
        {
            // `core`'s AtomicU64 exists only where it is native (and loom's
            // models one process).
            true
        }
        #[cfg(not(any(loom, target_has_atomic = "64")))]
        {
            imp::AtomicU64::is_always_lock_free()
        }
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

/// A 32-bit atomic word, for state private to one process (never a region:
/// every word of shared memory is an [`AtomicU64`]). Lock-free wherever the
/// target has 32-bit compare-and-swap (thumbv7em, riscv32imac, every host):
/// safe to use from an interrupt handler that preempts another user. On
/// thumbv6m, which has none, its read-modify-writes take portable-atomic's
/// critical section (interrupts masked: interrupt-safe too).
#[derive(Debug, Default)]
pub struct AtomicU32(imp32::AtomicU32);

#[cfg(loom)]
use loom::sync::atomic as imp32;

#[cfg(all(not(loom), target_has_atomic = "32"))]
use core::sync::atomic as imp32;

#[cfg(all(not(loom), not(target_has_atomic = "32")))]
use portable_atomic as imp32;

impl AtomicU32 {
    /// A word holding `v`.
    #[cfg(not(loom))]
    pub const fn new(v: u32) -> Self {
        Self(imp32::AtomicU32::new(v))
    }

    /// A word holding `v` (loom's atomics are not `const`).
    #[cfg(loom)]
    pub fn new(v: u32) -> Self {
        Self(imp32::AtomicU32::new(v))
    }

    /// Atomic load.
    #[inline(always)]
    pub fn load(&self, order: Ordering) -> u32 {
        self.0.load(order)
    }

    /// Atomic store.
    #[inline(always)]
    pub fn store(&self, v: u32, order: Ordering) {
        self.0.store(v, order)
    }

    /// Atomic compare-and-exchange.
    #[inline(always)]
    pub fn compare_exchange(
        &self,
        current: u32,
        new: u32,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u32, u32> {
        self.0.compare_exchange(current, new, success, failure)
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
