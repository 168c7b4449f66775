/// Owner token; 0 = free; top bit set = being reclaimed by the rest of the word.
pub const OWNER: usize = 0;
/// Roles seen: bit 0 publisher, bit 1 subscriber.
pub const ROLES: usize = 1;
/// Process id (or task id) for display.
pub const PID: usize = 2;
/// Join time in nanoseconds of the joiner's clock.
pub const JOINED_NS: usize = 3;
/// Claim counter: incremented by every join and every reclaim of the
/// entry. A handle publishes only while this word still holds the value
/// its join left, so a handle whose entry was reclaimed under it (its
/// process wrongly judged dead) finds out before writing (see
/// `ring/participants.rs`). Per claim, not per owner: all handles of one
/// process share an owner token. Written only by joins and reclaims, so
/// the line stays shared in the writer's cache. (Words 4 and 6 are
/// unused since layout version 3, which moved the lane's head hint and
/// reserved count to its [`super::lane`] entry.)
pub const CLAIM: usize = 5;
/// Who in the process holds the handle, for tools: an opaque tag the
/// holder sets after joining (`RawHandle::set_holder`; horus-std stores
/// a hash of the node's name), 0 = not said. Cleared by every join.
/// Regions written before this word had a use hold 0 here: "not said".
pub const HOLDER: usize = 7;
/// Words per entry.
pub const WORDS: usize = 8;
/// Role bit: has published.
pub const ROLE_PUBLISHER: u64 = 1;
/// Role bit: has received.
pub const ROLE_SUBSCRIBER: u64 = 2;
