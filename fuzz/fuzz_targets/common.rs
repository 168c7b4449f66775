//! What the fuzz targets share: reading the input, and memory made of it.

use horus_nostd::sync::AtomicU64;
use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};

/// The next value of the input; zero once it is exhausted.
pub fn next<T: for<'a> Arbitrary<'a> + Default>(input: &mut Unstructured<'_>) -> T {
    input.arbitrary().unwrap_or_default()
}

/// The next operation of a driving loop: its byte and the index in its high
/// nibble (`op >> 4`), while input is left and fewer than 256 steps ran.
pub fn next_op(input: &mut Unstructured<'_>, steps: &mut u32) -> Option<(u8, usize)> {
    if input.is_empty() || *steps >= 256 {
        return None;
    }
    *steps += 1;
    let op = next::<u8>(input);
    Some((op, usize::from(op >> 4)))
}

/// A value to corrupt a word with: small, near `u64::MAX`, one of the
/// target's two special forms (`a`, `b`) of the next 8 bytes, or anything.
pub fn value(input: &mut Unstructured<'_>, a: fn(u64) -> u64, b: fn(u64) -> u64) -> u64 {
    let kind = next::<u8>(input);
    let v = next::<u64>(input);
    match kind % 6 {
        0 => v % 256,
        1 => u64::MAX - v % 256,
        2 => a(v),
        3 => b(v),
        _ => v,
    }
}

/// `words` zeroed words.
pub fn zeroed(words: usize) -> Vec<AtomicU64> {
    (0..words).map(|_| AtomicU64::new(0)).collect()
}

/// The memory a target attaches to, from `data` = `mode, geometry, body...`:
/// with mode bit 0 clear, `body` byte for byte ([`words_of`]); set, what
/// `patched(input, mode, geometry)` makes of it. Returns the input left.
pub fn memory<'a>(
    data: &'a [u8],
    patched: impl FnOnce(&mut Unstructured<'a>, u8, u8) -> Vec<AtomicU64>,
) -> (Unstructured<'a>, Vec<AtomicU64>) {
    let mut input = Unstructured::new(data);
    let mode = next::<u8>(&mut input);
    let geometry = next::<u8>(&mut input);
    let mem = if mode & 1 == 0 {
        words_of(&mut input)
    } else {
        patched(&mut input, mode, geometry)
    };
    (input, mem)
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
