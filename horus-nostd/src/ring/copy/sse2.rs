//! The x86_64 block copy: 64 bytes per iteration through four 16-byte SSE2
//! registers (`movdqu`), in inline assembly.
//!
//! Why assembly: LLVM never merges or vectorises atomic loads and stores, so
//! the per-word relaxed copy of [`super`] moves 8 bytes per instruction, far
//! below `memcpy` on large payloads (measured: "Copy against memcpy" in
//! `benchmarks/README.md`, the copy rows of `benchmarks/results/`); a plain
//! `ptr::copy_nonoverlapping` over memory another thread or process writes
//! concurrently would be a data race, undefined behaviour in Rust's memory
//! model. An `asm!` block is outside that model: its memory accesses are the
//! machine's, and on x86_64 a racing `movdqu` is a well-defined access whose
//! result may mix old and new bytes (single bytes never tear), which is what
//! per-byte relaxed atomic accesses (C++ P1478 `atomic_load_per_byte_memcpy`)
//! would give. The seqlock around every copy (see [`crate::ring::lane`])
//! discards a copy that overlapped a write, exactly as for the word path.
//!
//! Ordering: an `asm!` block without `nomem`/`readonly` may read and write
//! any memory, so the compiler moves no memory access or fence across it; the
//! hardware (x86-TSO) keeps loads in order with loads and stores with stores,
//! so the block sits between the stamp accesses and fences of the seqlock as
//! the per-word loop does. The bytes are stored in memory order, which on this
//! little-endian target is exactly the per-word path's `to_le_bytes` layout.
//!
//! Stores of a small message load the caller's bytes eight at a time
//! (`movq` and `movhps` into the two halves of an xmm register) rather than
//! sixteen: the message was usually built on the stack just before the send,
//! by stores of 8 bytes or of 16 bytes at other offsets, and a 16-byte load
//! that no single earlier store covers cannot take its bytes from the store
//! buffer (store-to-load forwarding fails, and the load waits for those
//! stores to reach the cache: measured with `perf annotate` as the hottest
//! instruction of a send, about a third of its samples, see
//! `benchmarks/README.md`). An 8-byte load inside one earlier 8- or 16-byte
//! store forwards. The slot keeps 16-byte stores, which the receiver's
//! 16-byte loads of the same addresses forward from when both sides run in
//! one thread. Large messages keep 16-byte loads (their bytes are rarely all
//! still in the store buffer, and half as many loads keep the bandwidth).
//!
//! SSE2 is part of the x86_64 baseline: no runtime feature check. `build.rs`
//! selects this file only on x86_64 outside loom and Miri.

use core::arch::asm;

use crate::sync::AtomicU64;

/// Bytes per loop iteration.
const BLOCK: usize = 64;
/// Words per loop iteration.
const BLOCK_WORDS: usize = BLOCK / 8;
/// Largest store whose source is loaded eight bytes at a time (see the
/// module docs).
const NARROW_LOADS_MAX: usize = 512;

/// Words of the longest prefix of whole 64-byte blocks that fits `words`
/// atomic words and `bytes` bytes (a multiple of 8, possibly 0).
#[inline(always)]
fn block_words(words: usize, bytes: usize) -> usize {
    words.min(bytes / 8) / BLOCK_WORDS * BLOCK_WORDS
}

/// Stores the longest prefix of whole 64-byte blocks that fits both `dst`
/// and `src`; returns the number of words stored (a multiple of 8).
#[inline(always)]
pub(super) fn store_blocks(dst: &[AtomicU64], src: &[u8]) -> usize {
    let words = block_words(dst.len(), src.len());
    if words != 0 {
        let (s, d, n) = (
            src.as_ptr(),
            dst.as_ptr().cast::<u8>().cast_mut(),
            words * 8,
        );
        // Both calls: `n` bytes (a non-zero multiple of 64) are read from
        // `src` and written to `dst`, both at least that long (`words` is at
        // most `dst.len()` words and `src.len() / 8` words). They do not
        // overlap: a `&[u8]` guarantees its bytes are not mutated while it
        // lives, and this call mutates every byte it writes in `dst`. `dst`'s
        // bytes are inside `AtomicU64`s, i.e. `UnsafeCell`s, so writing them
        // through a pointer derived from a shared reference is allowed;
        // concurrent readers are the racy-but-defined accesses argued in the
        // module docs.
        if n <= NARROW_LOADS_MAX {
            // SAFETY: see the comment above the branch.
            unsafe { copy_blocks_narrow_loads(s, d, n) };
        } else {
            // SAFETY: see the comment above the branch.
            unsafe { copy_blocks(s, d, n) };
        }
    }
    words
}

/// Loads the longest prefix of whole 64-byte blocks that fits both `src`
/// and `dst`; returns the number of words loaded (a multiple of 8).
#[inline(always)]
pub(super) fn load_blocks(src: &[AtomicU64], dst: &mut [u8]) -> usize {
    let words = block_words(src.len(), dst.len());
    if words != 0 {
        // SAFETY: `words * 8` bytes (a non-zero multiple of 64) are read from
        // `src` and written to `dst`, both at least that long (`words` is at
        // most `src.len()` words and `dst.len() / 8` words); `dst` is an
        // exclusive borrow, so it overlaps nothing, and no other access to it
        // can race. Reading `src`'s `AtomicU64` bytes while their writer may
        // be storing them is the racy-but-defined access argued in the module
        // docs (the caller's seqlock check discards a torn copy).
        unsafe { copy_blocks(src.as_ptr().cast::<u8>(), dst.as_mut_ptr(), words * 8) };
    }
    words
}

/// The block loop: the four loads given (filling `x0` to `x3` from `[s]`),
/// four 16-byte stores to `[d]`, 64 bytes per iteration until `n` is 0.
/// Clobbers only the four named xmm registers, the three counters (declared
/// `inout`) and the flags (not declared preserved); touches no stack. Only
/// inside an `unsafe` block whose caller's contract covers every byte read
/// and written.
macro_rules! block_loop {
    ($src:expr, $dst:expr, $bytes:expr, $($load:literal),+) => {
        asm!(
            "2:",
            $($load,)+
            "movdqu xmmword ptr [{d}], {x0}",
            "movdqu xmmword ptr [{d} + 16], {x1}",
            "movdqu xmmword ptr [{d} + 32], {x2}",
            "movdqu xmmword ptr [{d} + 48], {x3}",
            "add {s}, 64",
            "add {d}, 64",
            "sub {n}, 64",
            "jnz 2b",
            s = inout(reg) $src => _,
            d = inout(reg) $dst => _,
            n = inout(reg) $bytes => _,
            x0 = out(xmm_reg) _,
            x1 = out(xmm_reg) _,
            x2 = out(xmm_reg) _,
            x3 = out(xmm_reg) _,
            options(nostack),
        )
    };
}

/// Copies `bytes` bytes from `src` to `dst`, 64 per iteration through four
/// xmm registers. Inlined into both callers: the loop is the same
/// instructions it was when each caller held its own copy.
///
/// # Safety
/// `bytes` is a non-zero multiple of 64; `src` is valid for reads and `dst`
/// for writes of `bytes` bytes, and the two ranges do not overlap. Any access
/// racing with the copy is to bytes inside atomics (`UnsafeCell`s), which the
/// module docs argue is defined for an `asm!` access.
#[inline(always)]
unsafe fn copy_blocks(src: *const u8, dst: *mut u8, bytes: usize) {
    // SAFETY: the caller's contract covers every byte read and written (the
    // loop stops after exactly `bytes`, a non-zero multiple of 64, so `sub`
    // reaches zero and never wraps); the loop clobbers only what
    // `block_loop` names and touches no stack.
    unsafe {
        block_loop!(
            src,
            dst,
            bytes,
            "movdqu {x0}, xmmword ptr [{s}]",
            "movdqu {x1}, xmmword ptr [{s} + 16]",
            "movdqu {x2}, xmmword ptr [{s} + 32]",
            "movdqu {x3}, xmmword ptr [{s} + 48]"
        );
    }
}

/// [`copy_blocks`] loading the source eight bytes at a time (`movq` into the
/// low half of an xmm register, `movhps` into its high half) and storing
/// sixteen: no failed store-to-load forwarding on a source just written by
/// 8-byte stores (see the module docs).
///
/// # Safety
/// As for [`copy_blocks`].
#[inline(always)]
unsafe fn copy_blocks_narrow_loads(src: *const u8, dst: *mut u8, bytes: usize) {
    // SAFETY: as in `copy_blocks`: the caller's contract covers every byte
    // read and written; the loop clobbers only what `block_loop` names and
    // touches no stack.
    unsafe {
        block_loop!(
            src,
            dst,
            bytes,
            "movq {x0}, qword ptr [{s}]",
            "movhps {x0}, qword ptr [{s} + 8]",
            "movq {x1}, qword ptr [{s} + 16]",
            "movhps {x1}, qword ptr [{s} + 24]",
            "movq {x2}, qword ptr [{s} + 32]",
            "movhps {x2}, qword ptr [{s} + 40]",
            "movq {x3}, qword ptr [{s} + 48]",
            "movhps {x3}, qword ptr [{s} + 56]"
        );
    }
}
