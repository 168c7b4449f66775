//! The golden layout: the bytes [`Topics::init`](crate::Topics::init) must
//! produce with `created_ns = 0`, on every target.
//!
//! `horus-nostd/tests/golden_layout.rs` writes and checks
//! `horus-nostd/tests/golden/board_region.bin` on the host (x86_64); the
//! firmware embeds the same file and compares its freshly initialised
//! `static` region with it on the 32-bit targets. The region is compared as
//! the bytes of its words in memory order (both targets are little-endian).

use horus_nostd::sync::{AtomicU64, Ordering};

const GOLDEN_FILE: &[u8] = include_bytes!("../../../horus-nostd/tests/golden/board_region.bin");

/// The golden bytes, as checked in (a named static, so the size report can
/// tell these 4 KiB of test data from code).
pub static GOLDEN: [u8; GOLDEN_FILE.len()] =
    *include_bytes!("../../../horus-nostd/tests/golden/board_region.bin");

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`, continuing from `h` (start with [`fnv1a_start`]).
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The FNV-1a 64 offset basis.
pub const fn fnv1a_start() -> u64 {
    FNV_OFFSET
}

/// FNV-1a 64 over the in-memory bytes of `words`.
pub fn region_hash(words: &[AtomicU64]) -> u64 {
    words.iter().fold(fnv1a_start(), |h, w| {
        fnv1a(h, &w.load(Ordering::Relaxed).to_ne_bytes())
    })
}

/// How a region compares with [`GOLDEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoldenCheck {
    /// FNV-1a 64 of the region's bytes.
    pub region_hash: u64,
    /// FNV-1a 64 of the golden file.
    pub golden_hash: u64,
    /// Region length in bytes.
    pub region_len: usize,
    /// Golden file length in bytes.
    pub golden_len: usize,
    /// Byte offset of the first difference, if any.
    pub first_difference: Option<usize>,
}

impl GoldenCheck {
    /// True if the region is byte for byte the golden file.
    pub fn matches(&self) -> bool {
        self.region_len == self.golden_len
            && self.first_difference.is_none()
            && self.region_hash == self.golden_hash
    }
}

/// Compares `words` with [`GOLDEN`] byte for byte and by hash.
pub fn compare(words: &[AtomicU64]) -> GoldenCheck {
    let mut first_difference = None;
    for (i, w) in words.iter().enumerate() {
        let bytes = w.load(Ordering::Relaxed).to_ne_bytes();
        let golden = GOLDEN.get(i * 8..i * 8 + 8);
        if golden != Some(&bytes[..]) {
            first_difference = Some(i * 8);
            break;
        }
    }
    GoldenCheck {
        region_hash: region_hash(words),
        golden_hash: fnv1a(fnv1a_start(), &GOLDEN),
        region_len: words.len() * 8,
        golden_len: GOLDEN.len(),
        first_difference,
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for GoldenCheck {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "region {=usize} B FNV-1a {=u64:#018x}, golden {=usize} B FNV-1a {=u64:#018x}: ",
            self.region_len,
            self.region_hash,
            self.golden_len,
            self.golden_hash
        );
        match self.first_difference {
            None if self.matches() => defmt::write!(f, "identical"),
            None => defmt::write!(f, "lengths differ"),
            Some(at) => defmt::write!(f, "first difference at byte {=usize}", at),
        }
    }
}
