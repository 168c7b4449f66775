//! Cache hints for the pool's hot paths: a publisher brings the next
//! block's lines into its cache while a message travels, a receiver starts
//! a block's data line while it takes the hold. Hints only: no memory is
//! accessed in the language's sense, so they are sound on words another
//! process writes concurrently, and they change no value. Nothing on
//! targets without such an instruction here, and under Miri (which runs no
//! inline assembly).

use crate::sync::AtomicU64;

/// Asks the CPU to bring the cache line of `word` here in exclusive state
/// (x86-64 `prefetchw`), so that a write soon after does not wait for the
/// line to leave another core. `horus-std`'s publisher calls it on the next
/// block's control line and first data line right after publishing: the
/// transfers from the readers' cores (their hold and release wrote the
/// control line, their reads shared the data line) then happen while the
/// message travels, not when the next loan needs them.
#[inline(always)]
pub fn prefetch_for_write(word: &AtomicU64) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: `prefetchw` only hints the cache: it reads and writes no
    // memory in the language's sense, cannot fault, and changes no register
    // or flag. Its encoding (0F 0D /1) executes as a no-op on x86-64 CPUs
    // without the instruction, so it needs no feature check (the
    // `_mm_prefetch` intrinsic would turn `_MM_HINT_ET0` into a read
    // prefetch unless the whole build enables `prfchw`). The address is
    // that of a live reference, widened to 64 bits: the operand fills the
    // whole register the template names (on x32 a pointer is 32 bits, and
    // the register's upper half would be undefined).
    unsafe {
        core::arch::asm!(
            "prefetchw [{0}]",
            in(reg) word as *const AtomicU64 as usize as u64,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = word;
}

/// Asks the CPU to bring the cache line of `word` here for reading (a hint,
/// as [`prefetch_for_write`]): a receiver calls it on a block's first data
/// word before it holds the block, so the data line travels beside the
/// hold's control line instead of after it.
#[inline(always)]
pub fn prefetch_for_read(word: &AtomicU64) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: as in `prefetch_for_write`: a cache hint on the address of a
    // live reference, which cannot fault; SSE prefetches are baseline x86-64.
    unsafe {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((word as *const AtomicU64).cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = word;
}
