//! The x86_64 block copy, in inline assembly: 64 bytes per iteration through
//! four 16-byte SSE2 registers (`movdqu`), or, for long copies on a CPU with
//! AVX, 128 bytes per iteration through four 32-byte AVX registers
//! (`vmovdqu`, `vmovdqa`) with the destination aligned, chosen at run time by
//! `CPUID` (the answer cached in an atomic, [`has_avx`]).
//!
//! Why assembly: LLVM never merges or vectorises atomic loads and stores, so
//! the per-word relaxed copy of [`super`] moves 8 bytes per instruction, far
//! below `memcpy` on large payloads (measured: "Copy against memcpy" in
//! `benchmarks/README.md`, the copy rows of `benchmarks/results/`); a plain
//! `ptr::copy_nonoverlapping` over memory another thread or process writes
//! concurrently would be a data race, undefined behaviour in Rust's memory
//! model. An `asm!` block is outside that model: its memory accesses are the
//! machine's, and on x86_64 a racing `movdqu` or `vmovdqu` is a well-defined
//! access whose result may mix old and new bytes (single bytes never tear),
//! which is what per-byte relaxed atomic accesses (C++ P1478
//! `atomic_load_per_byte_memcpy`) would give. The seqlock around every copy
//! (see [`crate::ring::lane`]) discards a copy that overlapped a write,
//! exactly as for the word path.
//!
//! Ordering: an `asm!` block without `nomem`/`readonly` may read and write
//! any memory, so the compiler moves no memory access or fence across it; the
//! hardware (x86-TSO) keeps loads in order with loads and stores with stores,
//! so the block sits between the stamp accesses and fences of the seqlock as
//! the per-word loop does. Both loops use only ordinary write-back loads and
//! stores (`movdqu`, `vmovdqu`, `vmovdqa`), which x86-TSO orders like any
//! `mov`; never non-temporal stores (`movntdq`) or string instructions
//! (`rep movsb`, what glibc's `memcpy` uses for long copies), whose stores
//! the architecture lets become visible out of order and which would need
//! fences of their own. The AVX loop reads and writes some bytes twice (its
//! first and last 128 bytes overlap its aligned middle); both reads still
//! come before the seqlock's recheck, and a torn byte is discarded with the
//! copy as before. The bytes land in memory order, which on this
//! little-endian target is exactly the per-word path's `to_le_bytes` layout.
//!
//! Stores of a message shorter than [`AVX_MIN`] load the caller's bytes
//! eight at a time (`movq` and `movhps` into the two halves of an xmm
//! register) rather than sixteen: the message was usually built on the stack
//! just before the send, by stores of 8 bytes or of 16 bytes at other
//! offsets, and a 16-byte load that no single earlier store covers cannot
//! take its bytes from the store buffer (store-to-load forwarding fails, and
//! the load waits for those stores to reach the cache: measured with `perf
//! annotate` as the hottest instruction of a send, about a third of its
//! samples, see `benchmarks/README.md`). An 8-byte load inside one earlier 8-
//! or 16-byte store forwards. The slot keeps 16-byte stores, which the
//! receiver's 16-byte loads of the same addresses forward from when both
//! sides run in one thread. Long messages keep 16- and 32-byte loads (their
//! bytes are rarely all still in the store buffer, and fewer loads keep the
//! bandwidth).
//!
//! SSE2 is part of the x86_64 baseline: the SSE2 loop needs no check. AVX is
//! used only where `CPUID` reports both the instructions and an OS that saves
//! the 32-byte registers (`XGETBV`), and only for copies of at least
//! [`AVX_MIN`] bytes: shorter ones, the 64-byte hot path among them, take the
//! SSE2 loop without even loading the cached answer. `build.rs` selects this
//! file only on x86_64 outside loom and Miri.

use core::arch::asm;

use crate::sync::{AtomicU64, Ordering};

/// Bytes per SSE2 loop iteration; every copy is a multiple of it.
const BLOCK: usize = 64;
/// Words per block.
const BLOCK_WORDS: usize = BLOCK / 8;
/// The shortest copy that takes the AVX loop (bytes; at least 512, see
/// [`copy_blocks_avx`]). Below it the cached-answer load, the overlapping
/// first and last 128 bytes and `vzeroupper` are not repaid.
const AVX_MIN: usize = 512;

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
        // Both calls: `n` bytes (a non-zero multiple of 64) are read from
        // `src` and written to `dst`, both at least that long (`words` is at
        // most `dst.len()` words and `src.len() / 8` words). They do not
        // overlap: a `&[u8]` guarantees its bytes are not mutated while it
        // lives, and this call mutates every byte it writes in `dst`. `dst`'s
        // bytes are inside `AtomicU64`s, i.e. `UnsafeCell`s, so writing them
        // through a pointer derived from a shared reference is allowed;
        // concurrent readers are the racy-but-defined accesses argued in the
        // module docs.
        let (s, d, n) = (
            src.as_ptr(),
            dst.as_ptr().cast::<u8>().cast_mut(),
            words * 8,
        );
        if n < AVX_MIN {
            // SAFETY: see the comment above the branch.
            unsafe { copy_blocks_sse2_narrow_loads(s, d, n) };
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

/// Copies `bytes` bytes from `src` to `dst`: the AVX loop for [`AVX_MIN`]
/// bytes or more on a CPU with AVX, else the SSE2 loop. Inlined into both
/// callers, and they into the ring's send and receive paths: nothing here is
/// a call (the AVX loop and the feature check are inline assembly), since a
/// call on the long path made the compiler spill registers on the short one,
/// the 64-byte hot path.
///
/// # Safety
/// As [`copy_blocks_sse2`].
#[inline(always)]
unsafe fn copy_blocks(src: *const u8, dst: *mut u8, bytes: usize) {
    if bytes >= AVX_MIN && has_avx() {
        // SAFETY: the caller's contract covers `copy_blocks_avx`'s, and
        // `bytes >= AVX_MIN` was just checked; `has_avx` returned true: the
        // CPU runs AVX instructions and the OS saves their registers.
        unsafe { copy_blocks_avx(src, dst, bytes) }
    } else {
        // SAFETY: the caller's contract, unchanged.
        unsafe { copy_blocks_sse2(src, dst, bytes) }
    }
}

/// The SSE2 block loop: the loads given (filling `x0` to `x3` from `[s]`),
/// four 16-byte stores to `[d]`, 64 bytes per iteration until `n` is 0.
/// Clobbers only the four named xmm registers, the three counters (declared
/// `inout`) and the flags (not declared preserved); touches no stack. Only
/// inside an `unsafe` block whose caller's contract covers every byte read
/// and written.
macro_rules! sse2_loop {
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
/// xmm registers.
///
/// # Safety
/// `bytes` is a non-zero multiple of 64; `src` is valid for reads and `dst`
/// for writes of `bytes` bytes, and the two ranges do not overlap. Any access
/// racing with the copy is to bytes inside atomics (`UnsafeCell`s), which the
/// module docs argue is defined for an `asm!` access.
#[inline(always)]
unsafe fn copy_blocks_sse2(src: *const u8, dst: *mut u8, bytes: usize) {
    // SAFETY: the caller's contract covers every byte read and written (the
    // loop stops after exactly `bytes`, a non-zero multiple of 64, so `sub`
    // reaches zero and never wraps); the loop clobbers only what
    // `sse2_loop` names and touches no stack.
    unsafe {
        sse2_loop!(
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

/// [`copy_blocks_sse2`] loading the source eight bytes at a time (`movq`
/// into the low half of an xmm register, `movhps` into its high half) and
/// storing sixteen: no failed store-to-load forwarding on a source just
/// written by 8-byte stores (see the module docs).
///
/// # Safety
/// As for [`copy_blocks_sse2`].
#[inline(always)]
unsafe fn copy_blocks_sse2_narrow_loads(src: *const u8, dst: *mut u8, bytes: usize) {
    // SAFETY: as in `copy_blocks_sse2`: the caller's contract covers every
    // byte read and written; the loop clobbers only what `sse2_loop` names
    // and touches no stack.
    unsafe {
        sse2_loop!(
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

/// Copies `bytes` bytes from `src` to `dst` through 32-byte ymm registers,
/// with every store of the main loop on a 32-byte boundary of `dst` (so none
/// splits a cache line): the last 128 bytes and the first 128 bytes
/// unaligned, then 128 bytes per iteration from the first 32-byte boundary
/// of `dst` past 96 bytes in, as many whole iterations as fit. The three
/// parts overlap: a byte may be read and written twice, each write storing
/// what a read of the same source byte returned. Ends with `vzeroupper`, so
/// SSE code after it pays no transition penalty.
///
/// Not a `#[target_feature(enable = "avx")]` function, which could not be
/// inlined into its callers (compiled without AVX; a call here made the
/// compiler spill registers on the short path too): the assembler takes AVX
/// instructions whatever the compiler's target features, and the run-time
/// check ([`has_avx`]) is what makes executing them valid.
///
/// # Safety
/// The CPU supports AVX and the OS has enabled its state ([`has_avx`]
/// returned true); `bytes` is at least [`AVX_MIN`]; `src` is valid for reads
/// and `dst` for writes of `bytes` bytes, and the two ranges do not overlap.
/// Any access racing with the copy is to bytes inside atomics
/// (`UnsafeCell`s), which the module docs argue is defined for an `asm!`
/// access.
#[inline(always)]
unsafe fn copy_blocks_avx(src: *const u8, dst: *mut u8, bytes: usize) {
    const { assert!(AVX_MIN >= 384 + 128) };
    // SAFETY: the caller guarantees AVX, so every instruction here exists and
    // its registers are saved across context switches. Every access is
    // inside `src[..bytes]` or `dst[..bytes]`, which the caller's contract
    // covers: the last 128 bytes (at `bytes - 128`, in bounds as `bytes >
    // 128`), the first 128 bytes, and the loop: it starts `head = 128 -
    // (dst % 32)` bytes in (97..=128, inside the first 128 bytes; `dst +
    // head` is a multiple of 32) and runs `(bytes - head) & !127` bytes, a
    // multiple of 128 and at least 384 (`bytes - head >= AVX_MIN - 128`), so
    // `sub` reaches zero and never wraps; it ends at most 127 bytes before the
    // end, inside the last 128 bytes. The aligned stores (`vmovdqa`, which
    // fault on an address not a multiple of 32) are at `dst + head + 128 * k
    // + 32 * j`, all multiples of 32. Registers: the general ones it changes
    // are declared (`inout`, `out`); it writes ymm0-ymm3 and, with
    // `vzeroupper`, bits 128 and up of every one of the sixteen vector
    // registers: all sixteen are declared clobbered (`xmm0`..`xmm15`, which
    // for the compiler name the whole registers, ymm and zmm: rustc's own
    // `clobber_abi` lists them so), so it keeps nothing in them across the
    // block, even where this code is inlined into a function compiled with
    // AVX. No stack is touched; the flags are not declared preserved.
    unsafe {
        asm!(
            // The last 128 bytes.
            "vmovdqu ymm0, ymmword ptr [{s} + {n} - 128]",
            "vmovdqu ymm1, ymmword ptr [{s} + {n} - 96]",
            "vmovdqu ymm2, ymmword ptr [{s} + {n} - 64]",
            "vmovdqu ymm3, ymmword ptr [{s} + {n} - 32]",
            "vmovdqu ymmword ptr [{d} + {n} - 128], ymm0",
            "vmovdqu ymmword ptr [{d} + {n} - 96], ymm1",
            "vmovdqu ymmword ptr [{d} + {n} - 64], ymm2",
            "vmovdqu ymmword ptr [{d} + {n} - 32], ymm3",
            // The first 128 bytes.
            "vmovdqu ymm0, ymmword ptr [{s}]",
            "vmovdqu ymm1, ymmword ptr [{s} + 32]",
            "vmovdqu ymm2, ymmword ptr [{s} + 64]",
            "vmovdqu ymm3, ymmword ptr [{s} + 96]",
            "vmovdqu ymmword ptr [{d}], ymm0",
            "vmovdqu ymmword ptr [{d} + 32], ymm1",
            "vmovdqu ymmword ptr [{d} + 64], ymm2",
            "vmovdqu ymmword ptr [{d} + 96], ymm3",
            // head = 128 - (dst % 32); the loop runs (bytes - head) & !127.
            "mov {head}, {d}",
            "and {head}, 31",
            "sub {head}, 128",
            "sub {s}, {head}",
            "sub {d}, {head}",
            "add {n}, {head}",
            "and {n}, -128",
            "2:",
            "vmovdqu ymm0, ymmword ptr [{s}]",
            "vmovdqu ymm1, ymmword ptr [{s} + 32]",
            "vmovdqu ymm2, ymmword ptr [{s} + 64]",
            "vmovdqu ymm3, ymmword ptr [{s} + 96]",
            "vmovdqa ymmword ptr [{d}], ymm0",
            "vmovdqa ymmword ptr [{d} + 32], ymm1",
            "vmovdqa ymmword ptr [{d} + 64], ymm2",
            "vmovdqa ymmword ptr [{d} + 96], ymm3",
            "add {s}, 128",
            "add {d}, 128",
            "sub {n}, 128",
            "jnz 2b",
            "vzeroupper",
            s = inout(reg) src => _,
            d = inout(reg) dst => _,
            n = inout(reg) bytes => _,
            head = out(reg) _,
            out("xmm0") _,
            out("xmm1") _,
            out("xmm2") _,
            out("xmm3") _,
            out("xmm4") _,
            out("xmm5") _,
            out("xmm6") _,
            out("xmm7") _,
            out("xmm8") _,
            out("xmm9") _,
            out("xmm10") _,
            out("xmm11") _,
            out("xmm12") _,
            out("xmm13") _,
            out("xmm14") _,
            out("xmm15") _,
            options(nostack),
        );
    }
}

/// [`AVX_STATE`] before the first check.
const AVX_UNKNOWN: u64 = 0;
/// [`AVX_STATE`]: the AVX loop may not run.
const AVX_NO: u64 = 1;
/// [`AVX_STATE`]: the AVX loop may run.
const AVX_YES: u64 = 2;

/// The cached answer of [`cpu_has_avx`]: [`AVX_UNKNOWN`], [`AVX_NO`] or
/// [`AVX_YES`]. Relaxed, no SYNC pair: every thread that checks computes the
/// same answer from the same CPU, so a thread that sees `AVX_UNKNOWN` merely
/// asks again; nothing else is published through it.
static AVX_STATE: AtomicU64 = AtomicU64::new(AVX_UNKNOWN);

/// Whether the AVX loop may run: the CPU has AVX and the OS saves its state.
/// The first check asks the CPU ([`cpu_has_avx`], inline too: no call) and
/// caches the answer.
#[inline(always)]
fn has_avx() -> bool {
    match AVX_STATE.load(Ordering::Relaxed) {
        AVX_YES => true,
        AVX_NO => false,
        _ => {
            let yes = cpu_has_avx();
            AVX_STATE.store(if yes { AVX_YES } else { AVX_NO }, Ordering::Relaxed);
            yes
        }
    }
}

/// `CPUID` leaf 1 reports AVX (ECX bit 28) and `OSXSAVE` (ECX bit 27: the OS
/// enabled `XGETBV`), and `XCR0` has bits 1 and 2 set (the OS saves the xmm
/// registers and the upper halves of the ymm registers). The check Intel's
/// manual prescribes (SDM vol. 1, 14.3), without `std_detect` (this crate is
/// `no_std`).
#[inline(always)]
fn cpu_has_avx() -> bool {
    const OSXSAVE: u32 = 1 << 27;
    const AVX: u32 = 1 << 28;
    let ecx: u32;
    // SAFETY: `CPUID` exists on every x86_64 CPU and leaf 1 on every one of
    // them; it reads no memory. It writes eax, ebx, ecx and edx: eax, ecx and
    // edx are declared, and rbx, which the compiler reserves and cannot
    // declare, is saved in a scratch register and restored. No stack, no
    // flags.
    unsafe {
        asm!(
            "mov {keep}, rbx",
            "cpuid",
            "mov rbx, {keep}",
            keep = out(reg) _,
            inout("eax") 1u32 => _,
            inout("ecx") 0u32 => ecx,
            out("edx") _,
            options(nomem, nostack, preserves_flags),
        );
    }
    if ecx & (OSXSAVE | AVX) != OSXSAVE | AVX {
        return false;
    }
    let xcr0_low: u32;
    // SAFETY: `XGETBV` faults only if `CR4.OSXSAVE` is clear or ecx names no
    // register; `CPUID` just reported `OSXSAVE` (which mirrors `CR4.OSXSAVE`)
    // and ecx = 0 names `XCR0`, which always exists. It writes edx:eax only;
    // no memory, stack or flags.
    unsafe {
        asm!(
            "xgetbv",
            in("ecx") 0u32,
            out("eax") xcr0_low,
            out("edx") _,
            options(nomem, nostack, preserves_flags),
        );
    }
    xcr0_low & 0b110 == 0b110
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec;

    use super::super::{load_payload, load_words, store_payload, store_words};
    use super::*;

    #[test]
    fn detects_avx_as_std_does() {
        assert_eq!(has_avx(), std::is_x86_feature_detected!("avx"));
        assert_eq!(has_avx(), cpu_has_avx()); // cached, the same answer
    }

    /// Each loop on its own, every length it takes up to 2 KiB (and 64 KiB),
    /// from every source alignment mod 8 into every destination alignment
    /// mod 32 (the AVX loop's phase): exactly the bytes, nothing around them.
    /// The SSE2 loops at every length, long ones too (what a CPU without AVX
    /// runs); the AVX loop where this CPU has it.
    #[test]
    fn each_loop_copies_exactly_its_bytes() {
        const GUARD: u8 = 0xee;
        let src: vec::Vec<u8> = (0..65536 + 64).map(|i| (i * 131 + 7) as u8).collect();
        let lens = (64..=2048).step_by(64).chain([65536]);
        for bytes in lens {
            for which in ["SSE2", "SSE2 narrow loads", "AVX"] {
                let avx = which == "AVX";
                if avx && (bytes < AVX_MIN || !has_avx()) {
                    continue;
                }
                for s_off in [0, 1, 7] {
                    for d_off in 0..32 {
                        let mut dst = vec![GUARD; bytes + 64];
                        let s = &src[s_off..s_off + bytes];
                        let d = &mut dst[d_off..d_off + bytes];
                        // SAFETY: `s` and `d` are `bytes` long, distinct
                        // allocations; `bytes` is a non-zero multiple of 64;
                        // the AVX loop runs only where `has_avx` says so, and
                        // only from `AVX_MIN` bytes on.
                        unsafe {
                            match which {
                                "AVX" => copy_blocks_avx(s.as_ptr(), d.as_mut_ptr(), bytes),
                                "SSE2" => copy_blocks_sse2(s.as_ptr(), d.as_mut_ptr(), bytes),
                                _ => {
                                    copy_blocks_sse2_narrow_loads(s.as_ptr(), d.as_mut_ptr(), bytes)
                                }
                            }
                        }
                        assert!(
                            *d == *s,
                            "{which}: {bytes} bytes, src +{s_off}, dst +{d_off}"
                        );
                        assert!(dst[..d_off].iter().all(|&b| b == GUARD));
                        assert!(dst[d_off + bytes..].iter().all(|&b| b == GUARD));
                    }
                }
            }
        }
    }

    /// A property test against the words path: random lengths up to 72 KiB
    /// (a third of them within 300 bytes of `AVX_MIN`), random byte
    /// alignments, regions starting at every word mod 4, regions shorter and
    /// longer than the message: the same region words and the same bytes out.
    #[test]
    fn random_copies_match_the_word_path() {
        const MAX: usize = 72 * 1024;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let src: vec::Vec<u8> = (0..MAX + 8).map(|i| (i * 7 + i / 251) as u8).collect();
        let fill = |n: usize| -> vec::Vec<AtomicU64> {
            (0..n)
                .map(|i| AtomicU64::new(i as u64 * 0x0101_0101))
                .collect()
        };
        for case in 0..600 {
            let len = match case % 3 {
                0 => AVX_MIN - 300 + next(600),
                1 => next(MAX),
                _ => next(4096),
            };
            let off = next(8);
            let first = next(4);
            let words = len.div_ceil(8) + next(3) - next(2).min(len.div_ceil(8));
            let s = &src[off..off + len];
            let (wide, plain) = (fill(first + words + 4), fill(first + words + 4));
            store_payload(&wide[first..first + words], s);
            store_words(&plain[first..first + words], s);
            let same = wide
                .iter()
                .zip(&plain)
                .all(|(a, b)| a.load(Ordering::Relaxed) == b.load(Ordering::Relaxed));
            assert!(
                same,
                "store: case {case} len {len} off {off} words {first}+{words}"
            );
            let (mut got, mut want) = (vec![0xeeu8; len + 16], vec![0xeeu8; len + 16]);
            load_payload(&wide[first..first + words], &mut got[off..off + len]);
            load_words(&wide[first..first + words], &mut want[off..off + len]);
            assert!(
                got == want,
                "load: case {case} len {len} off {off} words {words}"
            );
        }
    }
}
