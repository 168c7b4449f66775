//! What the serialized rows' message costs by itself, without HORUS: postcard's
//! encode and decode of it, with the allocations the rows make, in one
//! thread, no ring. A serialized hop does this beyond what a POD hop does;
//! it is the message type's and serde's cost, not the transport's, so the
//! report shows the serialized rows beside it.

use std::hint::black_box;
use std::time::Instant;

use crate::Res;
use crate::msgs::{BenchSerialized, BenchSerializedKept};
use crate::stats::median;

/// ns per one-way hop's worth of serialization, median of the batches.
#[derive(Debug, Clone, Copy)]
pub struct SerdeCost {
    /// As the serialized row: a new message made (`with_seq`), encoded and
    /// dropped; a new one decoded and dropped.
    pub fresh_ns: f64,
    /// As the kept row: one message refilled (`fill`) and encoded; decoded
    /// in place into another (`deserialize_in_place`, as `recv_into`).
    pub kept_ns: f64,
}

/// Iterations per batch.
fn per_batch(quick: bool) -> u64 {
    if quick { 20_000 } else { 100_000 }
}

/// Measures both ways, `batches` batches each, alternating (a first,
/// unrecorded batch of each warms up).
pub fn measure(batches: usize, quick: bool) -> Res<SerdeCost> {
    let n = per_batch(quick);
    let mut buf = vec![0u8; 256];
    let mut sent = BenchSerializedKept::default();
    let mut got = BenchSerializedKept::default();
    let (mut fresh, mut kept) = (Vec::new(), Vec::new());
    for b in 0..=batches {
        let t = Instant::now();
        for i in 0..n {
            let msg = BenchSerialized::with_seq(black_box(i));
            let body = postcard::to_slice(&msg, &mut buf)?;
            drop(msg);
            let back: BenchSerialized = postcard::from_bytes(black_box(body))?;
            if back.seq != i {
                return Err("serde cost: the message decoded is not the one encoded".into());
            }
        }
        let df = t.elapsed().as_nanos() as f64 / n as f64;
        let t = Instant::now();
        for i in 0..n {
            sent.fill(black_box(i));
            let body = postcard::to_slice(&sent, &mut buf)?;
            serde::Deserialize::deserialize_in_place(
                &mut postcard::Deserializer::from_bytes(black_box(body)),
                &mut got,
            )?;
            if got.seq != i {
                return Err("serde cost: the message decoded is not the one encoded".into());
            }
        }
        let dk = t.elapsed().as_nanos() as f64 / n as f64;
        if b > 0 {
            fresh.push(df);
            kept.push(dk);
        }
    }
    Ok(SerdeCost {
        fresh_ns: median(fresh),
        kept_ns: median(kept),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways_measure_a_round_trip() {
        let c = measure(1, true).unwrap();
        assert!(c.fresh_ns > 0.0 && c.kept_ns > 0.0, "{c:?}");
    }
}
