//! Copying a payload through atomic words.
//!
//! A reader may copy a slot while its publisher overwrites it; the seqlock
//! check in [`super::lane`] then throws the copy away. For that race not to be
//! undefined behaviour in Rust's memory model, both sides copy with relaxed
//! atomic word accesses, never `ptr::read`/`memcpy` over racing memory. Each
//! word holds eight message bytes little-endian, so the region's memory holds
//! exactly the message's bytes in order (the crate builds for little-endian
//! targets only: see the crate docs).
//!
//! Whole 64-byte blocks go through [`wide`], a block copy chosen once per
//! target by `build.rs` (cfg `horus_asm_copy`): inline assembly on x86_64
//! (`copy/x86_64.rs`: SSE2, or AVX for long copies where `CPUID` reports it;
//! the file argues why a racy assembly copy is defined), none elsewhere and
//! under loom and Miri (`copy/words.rs`). What remains goes word by word
//! below; both leave the same bytes in the region.

use crate::sync::{AtomicU64, Ordering};

#[cfg_attr(horus_asm_copy, path = "copy/x86_64.rs")]
#[cfg_attr(not(horus_asm_copy), path = "copy/words.rs")]
mod wide;

/// Stores `src` into `dst`, eight bytes a word; the last word is zero-padded.
/// Stops at whichever of the two ends first. Always inlined, as is
/// [`load_payload`]: the ring's send and receive paths called them out of
/// line once the block copy grew, and the 8 to 256 B copy rows of
/// `benchmarks/compare.sh` paid 1.13x to 1.21x for it.
#[inline(always)]
pub(crate) fn store_payload(dst: &[AtomicU64], src: &[u8]) {
    let done = wide::store_blocks(dst, src);
    // A message of whole 64-byte blocks (the usual POD sizes) is the block
    // copy and this compare.
    if done * 8 != src.len() {
        store_words(&dst[done..], &src[done * 8..]);
    }
}

/// [`store_payload`] one relaxed word at a time: the words path, alone on
/// targets without a block copy, and the tail after the blocks elsewhere.
#[inline(always)]
fn store_words(dst: &[AtomicU64], src: &[u8]) {
    let mut chunks = src.chunks_exact(8);
    let mut words = dst.iter();
    // Chunks first: `zip` must not pull a word once the chunks have run out.
    for (chunk, word) in chunks.by_ref().zip(words.by_ref()) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        word.store(u64::from_le_bytes(b), Ordering::Relaxed);
    }
    let tail = chunks.remainder();
    if let (false, Some(word)) = (tail.is_empty(), words.next()) {
        word.store(short_word(tail), Ordering::Relaxed);
    }
}

/// The little-endian word of `b`, at most 8 bytes (the missing high bytes
/// zero; bytes past 8 ignored). Built from at most two 4-byte loads or three
/// byte loads, overlapping where `b` is shorter: no `memcpy` call for the
/// variable length, and no store to a stack buffer that a wider load would
/// then read (a store-forwarding stall; both showed in `perf` on the
/// serialized topics' frames, whose lengths are rarely multiples of 8).
#[inline(always)]
pub(crate) fn short_word(b: &[u8]) -> u64 {
    let n = b.len().min(8);
    if let (Some(lo), Some(hi)) = (b.first_chunk::<4>(), b[..n].last_chunk::<4>()) {
        // 4 to 8 bytes: bytes 0..4 and n-4..n (the same bytes where they overlap).
        let (lo, hi) = (u32::from_le_bytes(*lo), u32::from_le_bytes(*hi));
        u64::from(lo) | u64::from(hi) << (8 * (n - 4))
    } else if let (Some(&first), Some(&last)) = (b.first(), b.last()) {
        // 1 to 3 bytes: 0, n/2 and n-1 (n/2 is 0 or 1, so in range).
        let mid = b.get(n / 2).copied().unwrap_or(0);
        u64::from(first) | u64::from(mid) << (8 * (n / 2)) | u64::from(last) << (8 * (n - 1))
    } else {
        0
    }
}

/// Writes the low `dst.len()` (< 8) bytes of `w`, little-endian, into `dst`:
/// the store side of [`short_word`], without a `memcpy` call.
#[inline(always)]
fn put_short(dst: &mut [u8], w: u64) {
    let n = dst.len();
    if n >= 4 {
        let hi = (w >> (8 * (n - 4))) as u32;
        if let Some(d) = dst.first_chunk_mut::<4>() {
            *d = (w as u32).to_le_bytes();
        }
        if let Some(d) = dst.last_chunk_mut::<4>() {
            *d = hi.to_le_bytes();
        }
    } else if n > 0 {
        let b = w.to_le_bytes();
        dst[0] = b[0];
        dst[n / 2] = b[n / 2];
        dst[n - 1] = b[n - 1];
    }
}

/// Loads `src` into `dst`, eight bytes a word. Stops at whichever end first.
#[inline(always)]
pub(crate) fn load_payload(src: &[AtomicU64], dst: &mut [u8]) {
    let done = wide::load_blocks(src, dst);
    if done * 8 != dst.len() {
        load_words(&src[done..], &mut dst[done * 8..]);
    }
}

/// [`load_payload`] one relaxed word at a time (see [`store_words`]).
#[inline(always)]
fn load_words(src: &[AtomicU64], dst: &mut [u8]) {
    let mut words = src.iter();
    let mut chunks = dst.chunks_exact_mut(8);
    // Chunks first: `zip` must not pull a word once the chunks have run out.
    for (chunk, word) in chunks.by_ref().zip(words.by_ref()) {
        chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
    }
    let tail = chunks.into_remainder();
    if let (false, Some(word)) = (tail.is_empty(), words.next()) {
        put_short(tail, word.load(Ordering::Relaxed));
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        let words: [AtomicU64; 4] = Default::default();
        for len in 0..=32 {
            let src: [u8; 32] = core::array::from_fn(|i| i as u8 ^ 0xa5);
            store_payload(&words, &src[..len]);
            let mut dst = [0u8; 32];
            load_payload(&words, &mut dst[..len]);
            assert_eq!(&dst[..len], &src[..len]);
            assert!(dst[len..].iter().all(|&b| b == 0));
        }
    }

    /// The lengths the copy tests take: every one up to `max` natively;
    /// under Miri, which runs the words path only (`copy/words.rs`: no block
    /// copy, so only the tail's length matters), every length up to 17 (each
    /// tail alone and after a word) and those beside a whole block (63 to
    /// 65): the same code paths in an eighth of the time (the full range
    /// took these two tests 100 s of the Miri step on a slow host).
    fn test_lengths(max: usize) -> impl Iterator<Item = usize> {
        let (up_to, also): (usize, &'static [usize]) = if cfg!(miri) {
            (17, &[63, 64, 65])
        } else {
            (max, &[])
        };
        (0..=up_to.min(max)).chain(also.iter().copied().filter(move |&n| n <= max))
    }

    /// Lengths on both sides of whole blocks, with a destination shorter and
    /// longer than the source: the wide path and the word path agree.
    #[test]
    fn round_trips_across_blocks() {
        const W: usize = 40; // 320 bytes: five blocks
        let src: [u8; 8 * W] = core::array::from_fn(|i| (i * 7) as u8 ^ 0x5a);
        for len in test_lengths(8 * W) {
            for words in [len / 8, len.div_ceil(8), W] {
                let region: [AtomicU64; W] = core::array::from_fn(|_| AtomicU64::new(0));
                store_payload(&region[..words], &src[..len]);
                let stored = (words * 8).min(len);
                for (i, w) in region.iter().enumerate() {
                    let b = w.load(Ordering::Relaxed).to_le_bytes();
                    for (k, &byte) in b.iter().enumerate() {
                        let at = i * 8 + k;
                        let want = if at < stored { src[at] } else { 0 };
                        assert_eq!(byte, want, "len {len} words {words} byte {at}");
                    }
                }
                let mut dst = [0xffu8; 8 * W + 8];
                load_payload(&region[..words], &mut dst[..len]);
                assert_eq!(&dst[..stored], &src[..stored]);
                assert!(dst[stored..len].iter().all(|&b| b == 0xff));
                assert!(dst[len..].iter().all(|&b| b == 0xff));
            }
        }
    }

    /// Every length 0..=300 from and into byte buffers at every alignment
    /// mod 8, into regions starting at every word mod 4 (every 32-byte
    /// phase), with room to spare and exactly long enough: `store_payload`
    /// and `load_payload` leave exactly the bytes the words path leaves.
    #[test]
    fn matches_the_word_path_every_length_and_alignment() {
        const MAX: usize = 300;
        const W: usize = MAX.div_ceil(8) + 4;
        // Under Miri the region's word phase (`first`) changes nothing: it
        // matters only to the x86_64 block copy, which Miri does not run.
        let (offsets, firsts): (&[usize], usize) = if cfg!(miri) {
            (&[0, 3], 1)
        } else {
            (&[0, 1, 2, 3, 4, 5, 6, 7], 4)
        };
        let mut bytes = [0u8; MAX + 8];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i * 131 + 7) as u8;
        }
        for len in test_lengths(MAX) {
            for &off in offsets {
                let src = &bytes[off..off + len];
                for first in 0..firsts {
                    for words in [len.div_ceil(8), W - first] {
                        let fill = || -> [AtomicU64; W] {
                            core::array::from_fn(|_| AtomicU64::new(0x5a5a_5a5a_5a5a_5a5a))
                        };
                        let (wide, plain) = (fill(), fill());
                        store_payload(&wide[first..first + words], src);
                        store_words(&plain[first..first + words], src);
                        for (i, (a, b)) in wide.iter().zip(&plain).enumerate() {
                            let (a, b) = (a.load(Ordering::Relaxed), b.load(Ordering::Relaxed));
                            assert_eq!(a, b, "store: len {len} off {off} word {first}+{i}");
                        }
                        let (mut got, mut want) = ([0xeeu8; MAX + 16], [0xeeu8; MAX + 16]);
                        load_payload(&wide[first..first + words], &mut got[off..off + len]);
                        load_words(&wide[first..first + words], &mut want[off..off + len]);
                        assert_eq!(got, want, "load: len {len} off {off} first word {first}");
                        assert_eq!(&got[off..off + len], src, "len {len} off {off}");
                    }
                }
            }
        }
    }

    #[test]
    fn short_words_are_the_bytes_little_endian() {
        let src: [u8; 10] = core::array::from_fn(|i| 0x11 * (i as u8 + 1));
        for n in 0..=10 {
            let mut b = [0u8; 8];
            b[..n.min(8)].copy_from_slice(&src[..n.min(8)]);
            assert_eq!(short_word(&src[..n]), u64::from_le_bytes(b), "{n} bytes");
            if n < 8 {
                let mut out = [0xeeu8; 9];
                put_short(&mut out[..n], u64::from_le_bytes(b) | 0xff << (8 * n));
                assert_eq!(&out[..n], &src[..n], "{n} bytes");
                assert!(out[n..].iter().all(|&x| x == 0xee), "{n} bytes");
            }
        }
    }

    #[test]
    fn never_writes_past_either_end() {
        let words: [AtomicU64; 1] = Default::default();
        store_payload(&words, &[7u8; 20]);
        let mut dst = [0u8; 20];
        load_payload(&words, &mut dst);
        assert_eq!(&dst[..8], &[7u8; 8]);
        assert_eq!(&dst[8..], &[0u8; 12]);
    }
}
