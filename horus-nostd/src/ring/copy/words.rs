//! The portable block copy: none. Every word goes through the per-word
//! relaxed atomics of [`super`] (what loom and Miri check, and what targets
//! other than x86_64 run).

use crate::sync::AtomicU64;

/// Copies no block; returns the number of words copied: 0.
#[inline(always)]
pub(super) fn store_blocks(_dst: &[AtomicU64], _src: &[u8]) -> usize {
    0
}

/// Copies no block; returns the number of words copied: 0.
#[inline(always)]
pub(super) fn load_blocks(_src: &[AtomicU64], _dst: &mut [u8]) -> usize {
    0
}
