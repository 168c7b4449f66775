//! What the fuzz targets share: reading the input, and memory made of it.

use horus_nostd::sync::AtomicU64;
use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};

/// The next value of the input; zero once it is exhausted.
pub fn next<T: for<'a> Arbitrary<'a> + Default>(input: &mut Unstructured<'_>) -> T {
    input.arbitrary().unwrap_or_default()
}

/// `words` zeroed words.
pub fn zeroed(words: usize) -> Vec<AtomicU64> {
    (0..words).map(|_| AtomicU64::new(0)).collect()
}

/// The rest of the input as region memory, byte for byte (little-endian
/// words, the last one zero-padded); the input is exhausted after.
pub fn words_of(input: &mut Unstructured<'_>) -> Vec<AtomicU64> {
    let rest = input.len();
    input
        .bytes(rest)
        .expect("the rest of the input")
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            AtomicU64::new(u64::from_le_bytes(b))
        })
        .collect()
}
