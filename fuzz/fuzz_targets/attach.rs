//! Attaching to arbitrary memory, then using whatever attaches, never panics.
//!
//! Input: `mode, geometry, body...`.
//! - mode bit 0 clear: `body` is the region, byte for byte (little-endian
//!   words). Almost everything fails the magic check; this covers the
//!   validation order and the `Truncated`/`BadMagic` paths.
//! - mode bit 0 set: a valid region of a type and geometry picked by
//!   `geometry` is initialised, then `body` is read as patches
//!   corruptions (one word, a header word, a lane-pool header word
//!   (`LANES`, `LANE_TABLE_AT`, `LANES_ACTIVE`), a participant entry word,
//!   a lane table word (owner tag, head hint, reserved count) or a stamp,
//!   or that word in every entry or lane, or every stamp), applied before
//!   attaching. The region has 1..=participants publisher lanes (layout
//!   version 3). This reaches the geometry checks and, when they pass, the
//!   ring over corrupt state (huge sequences, head hints, lane owners,
//!   reserved counts, lane masks).
//!   With mode bit 2 also set, the region is of a serialized type (framed
//!   messages, an encoded schema from the input in the schema area), so the
//!   `SCHEMA_FORMAT` check and the framed send/receive paths are reached.
//!   With bit 3 set instead, of a message with a two-dimensional array (a
//!   schema with a shape entry, which corruptions turn into anything).
//!   Mode bit 4 multiplies the capacity by 16 (32..=256 slots per lane
//!   instead of 2..=16, within a bound on the region's size); bit 5 picks
//!   large messages: serialized frames of 260..=4355 bytes instead of
//!   4..=259, or, typed, a 368-byte message instead of `CmdVel`/`Imu`
//!   (several 64-byte blocks: the block copy, which `horus-nostd`'s
//!   `build.rs` makes the per-word one under `cfg(fuzzing)`).
//!
//! Whatever attaches (typed or untyped) is then driven by the remaining
//! bytes as operations: join, send, recv, rewind, reclaim, leave, and more
//! corruption while handles are live. Two handles join and send first, so
//! (where the region has two lanes and they are free) two publishers hold
//! lanes before the operations start; a refusal (no lane, evicted, lane
//! exhausted) is an accepted outcome of every send.
#![no_main]

use horus_nostd::layout::{hdr, lane, serialized_schema_entries};
use horus_nostd::message::{TypeInfo, TypeName};
use horus_nostd::msgs::{CmdVel, Imu};
use horus_nostd::ring::{FrameError, Refusal, SendError};
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{Message, OwnerToken, RawHandle, TopicLayout, TopicRegion, message};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

mod common;

message! {
    /// A message whose schema has a shape entry (`cells`).
    Grid { stamp: u64, cells: [[f32; 3]; 2] }
    /// A message of several 64-byte blocks and a tail (368 bytes).
    Scan { stamp: u64, ranges: [f32; 90] }
}

/// The largest region a patched input makes, words (2 MiB): a larger
/// geometry falls back to the small capacity.
const MAX_FUZZ_WORDS: usize = 1 << 18;

/// Slots per lane from `geometry` and `mode`: 2..=16, times 16 with mode bit 4.
fn capacity_of(mode: u8, geometry: u8) -> u32 {
    (2u32 << (geometry & 3)) << if mode & 0x10 != 0 { 4 } else { 0 }
}

/// The layout of `size`-byte messages at `capacity`, or at the small
/// capacity when that region would pass [`MAX_FUZZ_WORDS`].
fn bounded(capacity: u32, geometry: u8, make: impl Fn(u32) -> Option<TopicLayout>) -> TopicLayout {
    make(capacity)
        .filter(|l| l.region_words() <= MAX_FUZZ_WORDS)
        .or_else(|| make(2u32 << (geometry & 3)))
        .expect("valid geometry")
}

use common::{next, next_op, zeroed};

/// Where the corruptible words of a region are (from its header, read once
/// before any corruption).
#[derive(Clone, Copy)]
struct Map {
    participants: usize,
    /// Publisher lanes (`max_publishers`).
    lanes: usize,
    capacity: usize,
    participants_at: usize,
    lane_table_at: usize,
    lanes_at: usize,
    slot_words: usize,
}

impl Map {
    fn of(mem: &[AtomicU64]) -> Option<Self> {
        let get = |i: usize| mem.get(i).map(|w| w.load(Ordering::Relaxed) as usize);
        Some(Self {
            participants: get(hdr::PARTICIPANTS)?.clamp(1, 64),
            lanes: get(hdr::LANES)?.clamp(1, 64),
            capacity: get(hdr::CAPACITY)?.clamp(1, 1 << 20),
            participants_at: get(hdr::PARTICIPANTS_AT)?,
            lane_table_at: get(hdr::LANE_TABLE_AT)?,
            lanes_at: get(hdr::LANES_AT)?,
            slot_words: get(hdr::SLOT_WORDS)?,
        })
    }

    fn entry(&self, p: usize, off: usize) -> usize {
        self.participants_at.saturating_add(p * 8 + off % 8)
    }

    /// Word `off` of lane `l`'s table entry: its owner tag, head hint or
    /// reserved count (`off % 3`), the words the lane pool reads.
    fn lane(&self, l: usize, off: usize) -> usize {
        let word = [lane::OWNER, lane::HEAD, lane::RESERVED][off % 3];
        self.lane_table_at.saturating_add(l * lane::WORDS + word)
    }

    fn stamp(&self, lane: usize, slot: usize) -> usize {
        let slot = lane * self.capacity + slot % self.capacity;
        self.lanes_at
            .saturating_add(slot.saturating_mul(self.slot_words))
    }
}

/// A valid region of `T`, then up to 7 corruptions applied before attaching.
fn patched<T: Message>(input: &mut Unstructured<'_>, mode: u8, geometry: u8) -> Patched {
    let participants = 1 + u32::from(geometry >> 2); // 1..64
    let lanes = publishers(input, participants);
    let layout = bounded(capacity_of(mode, geometry), geometry, |capacity| {
        TopicLayout::of_publishers::<T>(capacity, participants, lanes).ok()
    });
    let mem = zeroed(layout.region_words());
    TopicRegion::init_layout::<T>(&mem[..], layout, 0).expect("init");
    corrupted(mem, input)
}

/// A valid region of a serialized type (frames of 4..=259 bytes, or
/// 260..=4355 with mode bit 5; an encoded schema of 1..=200 input bytes),
/// then corruptions as [`patched`].
fn patched_serialized(input: &mut Unstructured<'_>, mode: u8, geometry: u8) -> Patched {
    let participants = 1 + u32::from(geometry >> 2);
    let lanes = publishers(input, participants);
    let size = if mode & 0x20 != 0 {
        260 + u32::from(next::<u16>(input)) % 4096
    } else {
        4 + u32::from(next::<u8>(input))
    };
    let len = 1 + usize::from(next::<u8>(input)) % 200;
    let schema: Vec<u8> = (0..len).map(|_| next::<u8>(input)).collect();
    let entries = serialized_schema_entries(schema.len()) as u32;
    let layout = bounded(capacity_of(mode, geometry), geometry, |capacity| {
        TopicLayout::with_publishers(size, 1, capacity, participants, lanes, entries).ok()
    });
    let ty = TypeInfo {
        id: 7,
        size,
        align: 1,
        name: TypeName::new("Fuzzed"),
    };
    let mem = zeroed(layout.region_words());
    let r = TopicRegion::init_serialized(&mem[..], layout, ty, &schema, 0).expect("init");
    let mut back = vec![0u8; len];
    assert_eq!(r.serialized_schema(&mut back), Some(len));
    assert_eq!(back, schema);
    corrupted(mem, input)
}

/// How many publisher lanes (1..=participants) the next input byte picks.
fn publishers(input: &mut Unstructured<'_>, participants: u32) -> u32 {
    1 + u32::from(next::<u8>(input)) % participants
}

/// A region and whether it is intact (no corruption applied before attaching).
type Patched = (Vec<AtomicU64>, bool);

/// Up to 7 corruptions of an initialised region.
fn corrupted(mem: Vec<AtomicU64>, input: &mut Unstructured<'_>) -> Patched {
    let map = Map::of(&mem).expect("valid header");
    let patches = next::<u8>(input) % 8;
    for _ in 0..patches {
        corrupt(&mem, map, input);
    }
    (mem, patches == 0)
}

/// A value that is small, at a boundary, a stamp, or anything.
fn value(input: &mut Unstructured<'_>) -> u64 {
    common::value(
        input,
        |v| ((1 << 62) - 1 - v % 256) << 2 | v >> 62, // a huge stamp, any state
        |v| (v % 64) << 2 | v >> 62,                  // a small stamp, any state
    )
}

/// Overwrites one word (anywhere, in the header, in the lane-pool header,
/// of a participant entry, of a lane entry, a stamp), one word of every
/// participant or lane entry, or every stamp.
fn corrupt(mem: &[AtomicU64], map: Map, input: &mut Unstructured<'_>) {
    let kind = next::<u8>(input);
    let a = usize::from(next::<u8>(input));
    let b = usize::from(next::<u16>(input));
    let v = value(input);
    // Lane owners as tags: a participant (maybe out of range) and a small
    // claim, current or stale, rather than mostly-impossible values.
    let tag = ((v >> 1) % 66) | ((v >> 8) % 8) << 8;
    let v = if kind & 0x80 != 0 && matches!(kind % 9, 4 | 7) {
        tag
    } else {
        v
    };
    let set = |at: usize| {
        if let Some(w) = mem.get(at) {
            w.store(v, Ordering::Relaxed);
        }
    };
    match kind % 9 {
        0 => set(b % mem.len().max(1)),
        1 => set(a % hdr::WORDS),
        2 => set([hdr::LANES, hdr::LANE_TABLE_AT, hdr::LANES_ACTIVE][a % 3]),
        3 => set(map.entry(a % map.participants, b)),
        4 => set(map.lane(a % map.lanes, b)),
        5 => set(map.stamp(a % map.lanes, b)),
        6 => (0..map.participants).for_each(|p| set(map.entry(p, b))),
        7 => (0..map.lanes).for_each(|l| set(map.lane(l, b))),
        _ => (0..map.lanes).for_each(|l| (0..map.capacity).for_each(|s| set(map.stamp(l, s)))),
    }
}

/// Handle `i` modulo how many there are, if any.
fn pick<'h, 'r>(
    handles: &'h mut [RawHandle<&'r [AtomicU64]>],
    i: usize,
) -> Option<&'h mut RawHandle<&'r [AtomicU64]>> {
    let n = handles.len();
    handles.get_mut(i % n.max(1))
}

/// Sends `size` bytes of `fill` from `h`: sent, or refused (nothing written).
fn send(h: &mut RawHandle<&[AtomicU64]>, size: usize, fill: u8) {
    match h.send_bytes(&vec![fill; size]) {
        Ok(()) => {}
        // Its entry was reclaimed (op 12 judged it dead, or corrupt memory
        // changed the claim word): nothing was written; a rejoin may find the
        // topic full.
        Err(SendError::Refused(Refusal::Evicted)) => drop(h.rejoin(0, 0)),
        // Every lane held (by another publisher, or as corrupt lane owners
        // say) or too near the sequence limit: nothing written.
        Err(SendError::Refused(_)) => {}
        Err(e) => panic!("right size: {e}"),
    }
}

/// Drives an attached region with the rest of the input.
/// `intact`: nothing corrupted the region before attaching.
fn exercise(
    mem: &[AtomicU64],
    region: TopicRegion<&[AtomicU64]>,
    intact: bool,
    input: &mut Unstructured<'_>,
) {
    let map = Map::of(mem).expect("attached: the header is there");
    let size = region.type_info().size as usize;
    let mut out = vec![0u8; size];
    let mut handles: Vec<RawHandle<&[AtomicU64]>> = Vec::new();
    let max = region.layout().participants();
    // Whatever the memory holds, answers stay within the validated header.
    let flat = if region.is_serialized() {
        0
    } else {
        region.layout().schema_fields() as usize
    };
    // Each field is one entry, a field with a folded shape entry two.
    let entries: usize = region
        .schema()
        .map(|f| if f.shape.rank() > 1 { 2 } else { 1 })
        .sum();
    assert_eq!(entries, flat);
    if intact {
        // Shape entries are folded into their fields, never seen alone.
        assert!(region.schema().all(|f| f.kind.is_some()));
    }
    let mut schema = vec![0u8; 64];
    if let Some(len) = region.serialized_schema(&mut schema) {
        assert!(len > 0 && len <= horus_nostd::layout::MAX_SERIALIZED_SCHEMA_BYTES);
    }
    assert!(region.participants().count() <= max as usize);
    assert!(region.participants().all(|p| p.index < max));
    region.published_count(); // must not panic (it saturates)
    // Two publishers claim lanes (where there are two, and corruption left
    // them free) before the operations start.
    let lanes = region.layout().max_publishers();
    for token in [1, 2] {
        let token = OwnerToken::new(token).expect("non-zero");
        if let Ok(mut h) = RawHandle::join(region, token, 0, 0) {
            send(&mut h, size, next::<u8>(input));
            handles.push(h);
        }
    }
    assert!(region.lanes_in_use() <= lanes);
    if intact && max >= 2 {
        // Two participants and two lanes: both hold one; one lane: the
        // second was refused.
        assert_eq!(handles.len(), 2);
        assert_eq!(region.lanes_in_use(), lanes.min(2));
    }
    let mut steps = 0;
    while let Some((op, i)) = next_op(input, &mut steps) {
        match op & 15 {
            0..=1 => {
                let token = OwnerToken::new(u64::from(next::<u8>(input)) + 1).expect("non-zero");
                if let Ok(h) = RawHandle::join(region, token, 0, 0) {
                    handles.push(h);
                }
            }
            2..=5 => {
                if let Some(h) = pick(&mut handles, i) {
                    send(h, size, next::<u8>(input));
                }
            }
            6..=9 => {
                if let Some(h) = pick(&mut handles, i) {
                    let before = h.delivered_count();
                    let got = h.recv_bytes(&mut out).expect("right size");
                    assert_eq!(h.delivered_count(), before + u64::from(got));
                }
            }
            10 => {
                if let Some(h) = pick(&mut handles, i) {
                    h.rewind();
                }
            }
            11 => {
                if !handles.is_empty() {
                    let h = handles.swap_remove(i % handles.len());
                    if op & 0x80 != 0 {
                        core::mem::forget(h); // "killed"
                    }
                }
            }
            12 => {
                let me = OwnerToken::new(1000).expect("non-zero");
                let alive = next::<u8>(input);
                let freed = region.reclaim_dead(me, |t| t.get() & 1 == u64::from(alive & 1));
                assert!(freed <= max);
            }
            13 => corrupt(mem, map, input),
            14 => {
                region.published_count(); // must not panic (it saturates)
                assert!(region.participants().count() <= max as usize);
                assert!(region.lanes_in_use() <= region.layout().max_publishers());
            }
            15 if op & 0x80 != 0 => {
                // Frames: any body length up to 64 bytes past the slot's
                // (frames of every size the region has); a body that does not fit is
                // refused; a received frame is within the slot or an error.
                if let Some(h) = pick(&mut handles, i) {
                    let len = usize::from(next::<u16>(input)) % (size + 64);
                    match h.send_framed(&vec![0xa5; len]) {
                        Ok(()) => assert!(len + 4 <= size),
                        Err(SendError::FrameTooLarge { .. }) => assert!(len + 4 > size),
                        Err(SendError::Refused(Refusal::Evicted)) => drop(h.rejoin(0, 0)),
                        Err(SendError::Refused(_)) => {}
                        Err(e) => panic!("unexpected: {e}"),
                    }
                    match h.recv_framed(&mut out) {
                        Ok(Some(body)) => assert!(body.len() + 4 <= size),
                        Ok(None) | Err(FrameError::BadLength { .. }) => {}
                        Err(e) => panic!("right size: {e}"),
                    }
                }
            }
            _ => {
                // Wrong-size payloads are refused, never truncated.
                if let Some(h) = pick(&mut handles, i) {
                    assert!(h.send_bytes(&vec![0; size + 1]).is_err());
                    assert!(h.recv_bytes(&mut vec![0; size.saturating_sub(1)]).is_err());
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut intact = false;
    let (mut input, mem) = common::memory(data, |input, mode, geometry| {
        let (mem, untouched) = if mode & 4 != 0 {
            patched_serialized(input, mode, geometry)
        } else if mode & 8 != 0 {
            patched::<Grid>(input, mode, geometry)
        } else if mode & 0x20 != 0 {
            patched::<Scan>(input, mode, geometry)
        } else if mode & 2 == 0 {
            patched::<CmdVel>(input, mode, geometry)
        } else {
            patched::<Imu>(input, mode, geometry)
        };
        intact = untouched;
        mem
    });
    let input = &mut input;
    let typed_cmd = TopicRegion::attach::<CmdVel>(&mem[..]);
    let typed_imu = TopicRegion::attach::<Imu>(&mem[..]);
    let typed_grid = TopicRegion::attach::<Grid>(&mem[..]);
    let typed_scan = TopicRegion::attach::<Scan>(&mem[..]);
    let untyped = TopicRegion::attach_with(&mem[..], None);
    // A typed attach succeeds only where the untyped one does, on the same layout.
    for typed in [typed_cmd, typed_imu, typed_grid, typed_scan]
        .into_iter()
        .flatten()
    {
        let any = untyped
            .as_ref()
            .expect("typed attach implies untyped attach");
        assert_eq!(typed.layout(), any.layout());
    }
    // The header alone (what horus-std validates before it maps a file)
    // gives the same layout, and accepts exactly the regions that attach
    // where the memory holds what the header declares.
    let header = TopicLayout::from_header(&mem[..mem.len().min(hdr::WORDS)]);
    match (&header, &untyped) {
        (Ok(from_header), Ok(region)) => assert_eq!(from_header, region.layout()),
        (Ok(from_header), Err(_)) => assert!(from_header.region_words() > mem.len()),
        (Err(_), Ok(_)) => panic!("attached a region whose header does not validate"),
        (Err(_), Err(_)) => {}
    }
    if let Ok(region) = untyped {
        exercise(&mem, region, intact, input);
    }
});
