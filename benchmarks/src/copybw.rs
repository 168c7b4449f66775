//! Copy bandwidth: one HORUS message through the core ring in one thread
//! (`RawHandle::send_bytes` then `recv_bytes`: the payload is copied into the
//! slot and out of it, plus the stamps and the seqlock check) against two
//! `ptr::copy_nonoverlapping` of the same size (into a buffer and out of it),
//! measured in the same run, batch after batch in turn, the order swapped
//! each batch (the second of two back-to-back loops measures differently).
//! No cross-core hop: this is what our racy-safe copy costs against
//! `memcpy`, nothing else.

use std::hint::black_box;
use std::time::Instant;

use horus_nostd::sync::AtomicU64;
use horus_nostd::{OwnerToken, RawHandle, TopicLayout, TopicRegion};

use crate::Res;
use crate::msgs::BenchMsg;
use crate::stats::{self, median};

/// One payload size measured both ways.
#[derive(Debug, Clone)]
pub struct CopyRow {
    pub bytes: usize,
    /// ns per message (send + receive), median of the batches.
    pub horus_ns: f64,
    /// ns per two `memcpy`s of the same size, median of the batches.
    pub memcpy_ns: f64,
}

impl CopyRow {
    /// HORUS bandwidth as a fraction of `memcpy`'s (> 1: faster).
    pub fn ratio(&self) -> f64 {
        self.memcpy_ns / self.horus_ns
    }

    /// Payload GB/s through HORUS: `bytes` per message (sent and received),
    /// the payload counted once, as the payload sweep's "GB/s at p50" does
    /// (each message is two copies: the bytes copied per second are twice
    /// this).
    pub fn horus_gbs(&self) -> f64 {
        self.bytes as f64 / self.horus_ns
    }

    /// Payload GB/s through `memcpy`: `bytes` per pair of copies (into the
    /// middle buffer and out of it), counted once as [`Self::horus_gbs`].
    pub fn memcpy_gbs(&self) -> f64 {
        self.bytes as f64 / self.memcpy_ns
    }
}

/// The target of the issue: HORUS copies at least at 0.7x `memcpy`.
pub const TARGET_RATIO: f64 = 0.7;

/// Messages per batch for a payload of `bytes` (about 16 MiB moved).
fn per_batch(bytes: usize, quick: bool) -> usize {
    let n = ((16 << 20) / bytes).clamp(64, 100_000);
    if quick { n / 4 } else { n }
}

/// `len` bytes of `buf` starting on a 64-byte boundary (`buf` has 64 spare
/// bytes): every buffer starts on a cache line, so no row pays for a
/// misalignment the other does not (this host's `rep movsb`, which glibc's
/// `memcpy` uses for large copies, is many times slower on misaligned ones).
fn aligned(buf: &mut [u8], len: usize) -> &mut [u8] {
    let off = buf.as_ptr().align_offset(64);
    &mut buf[off..off + len]
}

/// Measures `M`'s size: `batches` batches each way, in turn, the order
/// swapped each batch, after one warm-up batch each.
pub fn row<M: BenchMsg>(batches: usize, quick: bool) -> Res<CopyRow> {
    let bytes = std::mem::size_of::<M>();
    let layout = TopicLayout::of::<M>(8, 2).map_err(|e| format!("{e}"))?;
    let words: Vec<AtomicU64> = (0..layout.region_words())
        .map(|_| AtomicU64::new(0))
        .collect();
    let region = TopicRegion::init::<M>(&words[..], 8, 2, 0).map_err(|e| format!("{e}"))?;
    let owner = OwnerToken::new(1).ok_or("owner token 1 refused")?;
    let mut tx = RawHandle::join(region, owner, 0, 0).map_err(|e| format!("{e}"))?;
    let mut rx = RawHandle::join(region, owner, 0, 0).map_err(|e| format!("{e}"))?;
    let (mut src_buf, mut mid_buf, mut out_buf, mut copy_out_buf) = (
        vec![0u8; bytes + 64],
        vec![0u8; bytes + 64],
        vec![0u8; bytes + 64],
        vec![0u8; bytes + 64],
    );
    let src = aligned(&mut src_buf, bytes);
    for (i, b) in src.iter_mut().enumerate() {
        *b = i as u8;
    }
    let src = &*src;
    let mid = aligned(&mut mid_buf, bytes);
    let out = aligned(&mut out_buf, bytes);
    let copy_out = aligned(&mut copy_out_buf, bytes);
    let n = per_batch(bytes, quick);
    let mut horus = || -> Res<f64> {
        let t = Instant::now();
        for _ in 0..n {
            tx.send_bytes(black_box(src))?;
            if !rx.recv_bytes(black_box(&mut *out))? {
                return Err("copy row: the message sent was not received".into());
            }
        }
        Ok(t.elapsed().as_nanos() as f64 / n as f64)
    };
    let mut memcpy = || -> Res<f64> {
        let t = Instant::now();
        for _ in 0..n {
            // SAFETY: `src`, `mid` and `copy_out` are three distinct
            // allocations of `bytes` bytes each, owned by this function.
            unsafe {
                std::ptr::copy_nonoverlapping(black_box(src.as_ptr()), mid.as_mut_ptr(), bytes);
                std::ptr::copy_nonoverlapping(
                    black_box(mid.as_ptr()),
                    copy_out.as_mut_ptr(),
                    bytes,
                );
            }
            black_box(&mut *copy_out);
        }
        Ok(t.elapsed().as_nanos() as f64 / n as f64)
    };
    // HORUS first in even rounds, memcpy first in odd ones.
    let mut per = stats::batches_in_turn(batches, &mut [&mut horus, &mut memcpy])?.into_iter();
    let (h, m) = (
        per.next().unwrap_or_default(),
        per.next().unwrap_or_default(),
    );
    if *out != *src || *copy_out != *src {
        return Err("copy row: the last copy differs from the message".into());
    }
    Ok(CopyRow {
        bytes,
        horus_ns: median(h),
        memcpy_ns: median(m),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::{Bench4K, Bench64};

    #[test]
    fn rows_measure_and_round_trip() {
        for r in [row::<Bench64>(1, true), row::<Bench4K>(1, true)] {
            let r = r.unwrap();
            assert!(r.horus_ns > 0.0 && r.memcpy_ns > 0.0 && r.ratio() > 0.0);
        }
    }
}
