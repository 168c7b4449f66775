/// Who holds the lane: 0 = free, else `participant + 1` in the low 8
/// bits and the low 56 bits of that participant's `CLAIM` (as its join
/// left it) above: a tag that goes stale when the participant entry is
/// reclaimed or rejoined (see `ring/participants.rs`).
pub const OWNER: usize = 0;
/// Next sequence the lane's holder will write: a hint that lets a lapped
/// reader jump straight to the oldest intact message. Written (Relaxed)
/// after every publish; readers load it only when lapped. Written less
/// often it would still be a correct lower bound, but a lapped reader
/// would then move one message per look (each resume lands on the slot
/// the writer overwrote next), and a receive gives up after a few laps
/// with messages still there (tried: `tests/ring_threads.rs` caught it).
pub const HEAD: usize = 1;
/// Sequences reclaims reserved in this lane, cumulative across holders.
/// They count as published and, for readers, as dropped, like any
/// abandoned message; tools subtract them to tell messages lost from
/// gaps left for safety (see `ring/participants.rs`).
pub const RESERVED: usize = 2;
/// Words per entry.
pub const WORDS: usize = 8;
