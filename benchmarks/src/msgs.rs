//! The benchmark's messages: plain data of 8 B to 64 KiB, each carrying the
//! round-trip number in `seq` (the answer must echo it).

use bytemuck::Zeroable;
use horus::message;
use horus_nostd::Message;

message! {
    /// 8 bytes.
    Bench8 { seq: u64 }
    /// 64 bytes: the seed table's POD message.
    Bench64 { seq: u64, pad: [u64; 7] }
    /// 256 bytes.
    Bench256 { seq: u64, pad: [u64; 31] }
    /// 1 KiB.
    Bench1K { seq: u64, pad: [u64; 127] }
    /// 4 KiB.
    Bench4K { seq: u64, pad: [u64; 511] }
    /// 16 KiB.
    Bench16K { seq: u64, pad: [u64; 2047] }
    /// 64 KiB.
    Bench64K { seq: u64, pad: [u64; 8191] }
}

/// A message the ping-pong can stamp and check.
pub trait BenchMsg: Message + Send {
    fn with_seq(seq: u64) -> Self;
    fn seq(&self) -> u64;
}

macro_rules! bench_msg {
    ($($t:ident),*) => {$(
        impl BenchMsg for $t {
            #[inline]
            fn with_seq(seq: u64) -> Self {
                let mut m: Self = Zeroable::zeroed();
                m.seq = seq;
                m
            }
            #[inline]
            fn seq(&self) -> u64 {
                self.seq
            }
        }
    )*};
}
bench_msg!(
    Bench8, Bench64, Bench256, Bench1K, Bench4K, Bench16K, Bench64K
);

/// The seed's "serialized type" message: a `String` and a `Vec<f32>` that
/// postcard encodes to about 64 bytes (the POD row's size), plus the
/// round-trip number.
#[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive, Debug)]
#[postcard(crate = horus::serialized::postcard_schema)]
pub struct BenchSerialized {
    pub name: String,
    pub weights: Vec<f32>,
    pub seq: u64,
}
horus::serialized!(BenchSerialized);

impl BenchSerialized {
    /// Round trip `seq`'s message.
    pub fn with_seq(seq: u64) -> Self {
        Self {
            name: "arm.joint.plan".to_owned(),
            weights: vec![0.5; 11],
            seq,
        }
    }
}

/// [`BenchSerialized`]'s fields, for the rows that send a message the side
/// keeps (`send_ref`) and receive into one (`recv_into`).
#[derive(serde::Serialize, serde::Deserialize, horus::serialized::SchemaDerive, Debug, Default)]
#[postcard(crate = horus::serialized::postcard_schema)]
pub struct BenchSerializedKept {
    pub name: String,
    pub weights: Vec<f32>,
    pub seq: u64,
}
horus::serialized!(BenchSerializedKept);

impl BenchSerializedKept {
    /// Makes this round trip `seq`'s message, as [`BenchSerialized::with_seq`]
    /// builds it, in the buffers it already has.
    #[inline]
    pub fn fill(&mut self, seq: u64) {
        self.name.clear();
        self.name.push_str("arm.joint.plan");
        self.weights.clear();
        self.weights.resize(11, 0.5);
        self.seq = seq;
    }
}

/// The payload sizes of the size sweep.
pub const SIZES: [usize; 7] = [8, 64, 256, 1024, 4096, 16384, 65536];

/// Calls `$f::<M>($args)` with `M` the message of `$size` bytes.
#[macro_export]
macro_rules! with_msg {
    ($size:expr, $f:ident ( $($a:expr),* )) => {
        match $size {
            8 => $f::<$crate::msgs::Bench8>($($a),*),
            64 => $f::<$crate::msgs::Bench64>($($a),*),
            256 => $f::<$crate::msgs::Bench256>($($a),*),
            1024 => $f::<$crate::msgs::Bench1K>($($a),*),
            4096 => $f::<$crate::msgs::Bench4K>($($a),*),
            16384 => $f::<$crate::msgs::Bench16K>($($a),*),
            65536 => $f::<$crate::msgs::Bench64K>($($a),*),
            other => Err(format!("no message of {other} bytes").into()),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_as_named() {
        assert_eq!(size_of::<Bench8>(), 8);
        assert_eq!(size_of::<Bench64>(), 64);
        assert_eq!(size_of::<Bench256>(), 256);
        assert_eq!(size_of::<Bench1K>(), 1024);
        assert_eq!(size_of::<Bench4K>(), 4096);
        assert_eq!(size_of::<Bench16K>(), 16384);
        assert_eq!(size_of::<Bench64K>(), 65536);
    }

    #[test]
    fn the_serialized_message_encodes_to_about_64_bytes() {
        let n = postcard::to_allocvec(&BenchSerialized::with_seq(1 << 20))
            .unwrap()
            .len();
        assert!((60..=68).contains(&n), "{n} bytes");
    }

    #[test]
    fn the_kept_message_is_the_same_bytes() {
        let mut kept = BenchSerializedKept::default();
        for seq in [1, 1 << 20, 7] {
            kept.fill(seq);
            let a = postcard::to_allocvec(&kept).unwrap();
            let b = postcard::to_allocvec(&BenchSerialized::with_seq(seq)).unwrap();
            assert_eq!(a, b);
        }
    }
}
