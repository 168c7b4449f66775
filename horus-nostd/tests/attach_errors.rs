//! Attaching to memory that is not a valid topic of the expected type gives
//! the right typed error, never a panic: zeroed memory, random bytes,
//! truncated slices, another type, another layout version, and every header
//! geometry field out of range. A region whose header is valid but whose
//! body is garbage can garble data but never panic a participant.
#![cfg(not(loom))]

use horus_nostd::layout::{LAYOUT_VERSION, MAGIC, hdr};
use horus_nostd::message::TypeInfo;
use horus_nostd::msgs::CmdVel;
use horus_nostd::ring::{PayloadSizeError, Refusal, SendError};
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{AttachError, JoinError, OwnerToken, RawHandle, TopicLayout, TopicRegion};

horus_nostd::message! {
    /// The topic's type in these tests.
    Sample {
        stamp: u64,
        value: f64,
    }
}

/// Another type that is also called `Sample`, with another layout.
mod impostor {
    horus_nostd::message! {
        Sample {
            value: f64,
        }
    }
}

const CAPACITY: u32 = 4;
const PARTICIPANTS: u32 = 3;
const ROUNDS: u64 = if cfg!(miri) { 4 } else { 300 };

fn layout() -> TopicLayout {
    TopicLayout::of::<Sample>(CAPACITY, PARTICIPANTS).expect("valid geometry")
}

fn zeroed(words: usize) -> Vec<AtomicU64> {
    (0..words).map(|_| AtomicU64::new(0)).collect()
}

/// A freshly initialised `Sample` region.
fn valid() -> Vec<AtomicU64> {
    let mem = zeroed(layout().region_words());
    TopicRegion::init::<Sample>(&mem[..], CAPACITY, PARTICIPANTS, 0).expect("init");
    mem
}

fn set(mem: &[AtomicU64], i: usize, v: u64) {
    mem[i].store(v, Ordering::Relaxed);
}

/// xorshift64*: deterministic pseudo-random words.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A word that is small, at a boundary, or anything.
    fn interesting(&mut self) -> u64 {
        match self.next() % 4 {
            0 => self.next() % 256,
            1 => [0, 1, u64::MAX, 1 << 63, u32::MAX as u64, 1 << 32][(self.next() % 6) as usize],
            _ => self.next(),
        }
    }
}

/// What [`exercise`] saw of a region.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    /// Participants held before it joined.
    held: usize,
    /// Handles that could join (of two).
    joined: usize,
    /// Of the handles that joined, those whose sends were refused (no
    /// usable lane: every free one at the sequence limit).
    refused: usize,
    /// Messages its handles received, rewinds included.
    delivered: u64,
    /// Entries `reclaim_dead` freed after its handles left.
    freed: u32,
    /// `published_count` before and after.
    published: (u64, u64),
}

/// Joins, sends, receives, rewinds and inspects an attached region: none of
/// it may panic, whatever the memory holds, and every answer stays within
/// what the validated header allows. Returns what it saw, for the callers
/// that know what the memory holds.
fn exercise(region: TopicRegion<&[AtomicU64]>) -> Seen {
    let layout = *region.layout();
    let max = layout.participants();
    let held = region.participants().count();
    assert!(held <= max as usize, "{held} participants of {max}");
    assert!(region.participants().all(|p| p.index < max));
    // Each field is one entry, a field with a folded shape entry two.
    let entries: usize = region
        .schema()
        .map(|f| if f.shape.rank() > 1 { 2 } else { 1 })
        .sum();
    assert_eq!(entries, layout.schema_fields() as usize);
    assert_eq!(region.type_info().size, layout.type_size());
    let published = region.published_count();
    let size = region.type_info().size as usize;
    let mut out = vec![0u8; size];
    let msg = vec![0x5au8; size];
    let wrong = PayloadSizeError {
        expected: layout.type_size(),
        given: size + 1,
    };
    let joins = [1, 2].map(|t| RawHandle::join(region, OwnerToken::new(t).unwrap(), 0, 0));
    let (mut joined, mut refused, mut delivered) = (0, 0, 0);
    for join in joins {
        let mut h = match join {
            Ok(h) => h,
            Err(e) => {
                assert_eq!(e, JoinError::Full { max }, "{e}");
                continue;
            }
        };
        joined += 1;
        assert!(h.index() < max);
        assert_eq!(
            h.send_bytes(&vec![0u8; size + 1]),
            Err(SendError::WrongSize(wrong))
        );
        assert_eq!(h.recv_bytes(&mut vec![0u8; size + 1]), Err(wrong));
        for _ in 0..3 {
            match h.send_bytes(&msg) {
                Ok(()) => {}
                // Every lane held, or every free lane too near the sequence
                // limit (a corrupt or hostile region): refused each time.
                Err(SendError::Refused(Refusal::NoLane { .. } | Refusal::LaneExhausted { .. })) => {
                    refused += 1;
                    assert_eq!(h.lane(), None);
                }
                Err(e) => panic!("{e}"),
            }
            h.recv_bytes(&mut out).expect("right size");
        }
        h.rewind();
        while h.recv_bytes(&mut out).expect("right size") {}
        assert_eq!(h.recv_bytes(&mut out), Ok(false), "drained");
        delivered += h.delivered_count();
    }
    // Our handles left; every other holder is declared dead. What stays held
    // is what cannot be reclaimed: an entry mid-reclaim, or one whose token
    // is the reclaimer's own.
    let freed = region.reclaim_dead(OwnerToken::new(3).unwrap(), |_| false);
    assert_eq!(
        held,
        freed as usize + region.participants().count(),
        "held before = freed + still held"
    );
    Seen {
        held,
        joined,
        refused: refused / 3,
        delivered,
        freed,
        published: (published, region.published_count()),
    }
}

#[test]
fn valid_region_attaches_and_works() {
    let mem = valid();
    let region = TopicRegion::attach::<Sample>(&mem[..]).expect("attach");
    assert_eq!(region.layout(), &layout());
    let any = TopicRegion::attach_with(&mem[..], None).expect("attach any type");
    assert_eq!(any.type_info(), TypeInfo::of::<Sample>());
    // Two handles, one after the other, each sending 3 and receiving every
    // lane, its own included: `a` gets its 3, then replays them; `b`, which
    // joined before `a` left, takes the lane `a` freed and continues its
    // sequence (4..6): it gets `a`'s 3 while sending, then replays the 4
    // that capacity 4 retains.
    assert_eq!(
        exercise(region),
        Seen {
            held: 0,
            joined: 2,
            refused: 0,
            delivered: 3 + 3 + 3 + 4,
            freed: 0,
            published: (0, 6),
        }
    );
}

#[test]
fn zeroed_memory_is_bad_magic() {
    let mem = zeroed(layout().region_words());
    assert_eq!(
        TopicRegion::attach::<Sample>(&mem[..]).err(),
        Some(AttachError::BadMagic { found: 0 })
    );
    assert_eq!(
        TopicRegion::attach_with(&mem[..], None).err(),
        Some(AttachError::BadMagic { found: 0 })
    );
}

#[test]
fn unfinished_init_is_bad_magic() {
    let mem = valid();
    set(&mem, hdr::MAGIC, 0); // the creator has not stored MAGIC yet
    assert!(matches!(
        TopicRegion::attach::<Sample>(&mem[..]),
        Err(AttachError::BadMagic { found: 0 })
    ));
}

#[test]
fn truncated_slices() {
    for len in [0, 1, hdr::WORDS - 1] {
        let mem = zeroed(len);
        assert_eq!(
            TopicRegion::attach_with(&mem[..], None).err(),
            Some(AttachError::Truncated {
                needed: hdr::WORDS * 8,
                found: len * 8
            })
        );
    }
    let mem = valid();
    for len in [hdr::WORDS, hdr::WORDS + 1, mem.len() / 2, mem.len() - 1] {
        assert_eq!(
            TopicRegion::attach::<Sample>(&mem[..len]).err(),
            Some(AttachError::Truncated {
                needed: layout().region_bytes(),
                found: len * 8
            }),
            "{len} words"
        );
    }
    // Longer memory is fine: the region uses its own prefix.
    let mut longer = valid();
    longer.extend((0..100).map(|_| AtomicU64::new(u64::MAX)));
    assert!(TopicRegion::attach::<Sample>(&longer[..]).is_ok());
}

#[test]
fn wrong_type() {
    let mem = valid();
    match TopicRegion::attach::<CmdVel>(&mem[..]) {
        Err(AttachError::TypeMismatch {
            expected,
            found,
            same_name,
        }) => {
            assert_eq!(expected.as_str(), "CmdVel");
            assert_eq!(found.as_str(), "Sample");
            assert!(!same_name);
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    match TopicRegion::attach::<impostor::Sample>(&mem[..]) {
        Err(AttachError::TypeMismatch { same_name, .. }) => assert!(same_name),
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    // A tool attaches without a type, then a typed handle checks it.
    let any = TopicRegion::attach_with(&mem[..], None).expect("attach any");
    match horus_nostd::TopicHandle::<CmdVel, _>::join(any, OwnerToken::new(1).unwrap(), 0, 0) {
        Err(JoinError::WrongType { expected, found }) => {
            assert_eq!((expected.as_str(), found.as_str()), ("CmdVel", "Sample"));
        }
        other => panic!("expected WrongType, got {other:?}"),
    }
    // A wrong type id with the right size is still caught.
    set(&mem, hdr::TYPE_ID, TypeInfo::of::<Sample>().id ^ 1);
    assert!(matches!(
        TopicRegion::attach::<Sample>(&mem[..]),
        Err(AttachError::TypeMismatch {
            same_name: true,
            ..
        })
    ));
}

#[test]
fn wrong_version() {
    for version in [0, LAYOUT_VERSION + 1, u64::MAX] {
        let mem = valid();
        set(&mem, hdr::VERSION, version);
        assert_eq!(
            TopicRegion::attach::<Sample>(&mem[..]).err(),
            Some(AttachError::VersionMismatch {
                found: version,
                expected: LAYOUT_VERSION
            })
        );
    }
}

#[test]
fn geometry_out_of_range() {
    let l = layout();
    let cases: &[(usize, u64, &str)] = &[
        (hdr::CAPACITY, 0, "capacity"),
        (hdr::CAPACITY, 3, "capacity"),
        (hdr::CAPACITY, 1 << 21, "capacity"),
        (hdr::CAPACITY, u64::MAX, "capacity"),
        (hdr::CAPACITY, 8, "region_words"), // valid alone, inconsistent with the rest
        (hdr::PARTICIPANTS, 0, "participants"),
        (hdr::PARTICIPANTS, 65, "participants"),
        (hdr::PARTICIPANTS, 1 << 40, "participants"),
        // Fewer participants than the region's lanes.
        (hdr::PARTICIPANTS, 2, "max_publishers"),
        (hdr::LANES, 0, "max_publishers"),
        (hdr::LANES, 65, "max_publishers"),
        (hdr::LANES, 1 << 40, "max_publishers"),
        (hdr::LANES, 2, "schema_at"),
        (hdr::LANE_TABLE_AT, 0, "lane_table_at"),
        (hdr::TYPE_SIZE, 0, "type_size"),
        (hdr::TYPE_SIZE, (16 << 20) + 1, "type_size"),
        (hdr::TYPE_SIZE, u64::MAX, "type_size"),
        (hdr::TYPE_SIZE, 1 << 20, "slot_words"),
        (hdr::TYPE_ALIGN, 0, "type_align"),
        (hdr::TYPE_ALIGN, 3, "type_align"),
        (hdr::TYPE_ALIGN, 16, "type_align"),
        (hdr::TYPE_ALIGN, u64::MAX, "type_align"),
        (hdr::SCHEMA_FIELDS, 129, "schema_fields"),
        (hdr::SCHEMA_FIELDS, u64::MAX, "schema_fields"),
        (hdr::SCHEMA_FIELDS, 100, "lanes_at"),
        (hdr::SLOT_WORDS, u64::from(l.capacity()) + 1, "slot_words"),
        (hdr::SLOT_WORDS, 0, "slot_words"),
        (hdr::PARTICIPANTS_AT, 0, "participants_at"),
        (hdr::SCHEMA_AT, u64::MAX, "schema_at"),
        (hdr::LANES_AT, 1, "lanes_at"),
        (
            hdr::REGION_WORDS,
            l.region_words() as u64 - 1,
            "region_words",
        ),
        (hdr::REGION_WORDS, u64::MAX, "region_words"),
    ];
    for &(word, value, field) in cases {
        let mem = valid();
        set(&mem, word, value);
        assert_eq!(
            TopicRegion::attach::<Sample>(&mem[..]).err(),
            Some(AttachError::BadGeometry { field }),
            "header word {word} = {value:#x}"
        );
        assert_eq!(
            TopicRegion::attach_with(&mem[..], None).err(),
            Some(AttachError::BadGeometry { field }),
            "header word {word} = {value:#x}, untyped"
        );
    }
}

#[test]
fn random_bytes_never_attach() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..ROUNDS {
        let len = (rng.next() % 600) as usize;
        let mem: Vec<AtomicU64> = (0..len).map(|_| AtomicU64::new(rng.next())).collect();
        let err = TopicRegion::attach_with(&mem[..], None).expect_err("random bytes are no topic");
        assert!(
            matches!(
                err,
                AttachError::Truncated { .. } | AttachError::BadMagic { .. }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn random_header_behind_valid_magic_is_rejected() {
    let mut rng = Rng(0x0bad_cafe_f00d_d00d);
    for _ in 0..ROUNDS {
        let mem: Vec<AtomicU64> = (0..layout().region_words())
            .map(|_| AtomicU64::new(rng.interesting()))
            .collect();
        set(&mem, hdr::MAGIC, MAGIC);
        set(&mem, hdr::VERSION, LAYOUT_VERSION);
        let err = TopicRegion::attach_with(&mem[..], None).expect_err("random geometry");
        assert!(
            matches!(
                err,
                AttachError::BadGeometry { .. } | AttachError::Truncated { .. }
            ),
            "{err:?}"
        );
    }
}

/// One header word of a valid region replaced: attach either fails with a
/// typed error or (for words it does not validate: time, name, lane mask)
/// succeeds, and then the region can be used without a panic.
#[test]
fn one_corrupt_header_word() {
    let mut rng = Rng(0x5eed_0000_0000_0001);
    for word in 0..hdr::WORDS {
        for _ in 0..ROUNDS.min(20) {
            let mem = valid();
            set(&mem, word, rng.interesting());
            match TopicRegion::attach_with(&mem[..], None) {
                Ok(region) => {
                    // The participant table is intact: nobody holds an entry.
                    let seen = exercise(region);
                    assert_eq!(
                        (seen.held, seen.joined, seen.freed),
                        (0, 2, 0),
                        "word {word}"
                    );
                }
                Err(e) => {
                    assert!(
                        ![hdr::CREATED_NS, hdr::LANES_ACTIVE].contains(&word),
                        "word {word} is not validated, yet attach failed: {e}"
                    );
                    assert!(
                        matches!(
                            e,
                            AttachError::BadMagic { .. }
                                | AttachError::VersionMismatch { .. }
                                | AttachError::BadGeometry { .. }
                                | AttachError::Truncated { .. }
                        ),
                        "word {word}: {e}"
                    );
                }
            }
        }
    }
}

/// A valid header over a garbage body (participant table, schema, lanes and
/// stamps, lane mask): participants may read garbage, never panic.
#[test]
fn garbage_body_never_panics() {
    let mut rng = Rng(0xfeed_face_dead_beef);
    for _ in 0..ROUNDS {
        let mem = valid();
        for w in &mem[hdr::LANES_ACTIVE..] {
            w.store(rng.interesting(), Ordering::Relaxed);
        }
        let region = TopicRegion::attach::<Sample>(&mem[..]).expect("header is valid");
        // Garbage holders, lanes and stamps: nothing exact to expect, but
        // `exercise` asserts the bounds that hold for any memory.
        exercise(region);
    }
}

/// The largest sequence numbers a corrupt region can hold, in every lane of
/// a 64-participant topic, and head hints at `u64::MAX`: the counters must
/// not overflow (a panic in debug builds), whatever the memory says.
#[test]
fn huge_sequence_numbers_never_overflow() {
    const P: u32 = 64;
    let l = TopicLayout::of::<Sample>(CAPACITY, P).expect("valid geometry");
    let mem = zeroed(l.region_words());
    let region = TopicRegion::init::<Sample>(&mem[..], CAPACITY, P, 0).expect("init");
    // Joined on a fresh region: its cursors start at sequence 1 in every lane.
    let mut reader = RawHandle::join(region, OwnerToken::new(1).unwrap(), 0, 0).expect("join");
    let get = |i: usize| mem[i].load(Ordering::Relaxed) as usize;
    let (lanes_at, slot_words, lane_table_at) = (
        get(hdr::LANES_AT),
        get(hdr::SLOT_WORDS),
        get(hdr::LANE_TABLE_AT),
    );
    let max_seq = (1u64 << 62) - 1;
    // The last lane: its first message abandoned, counted after the others
    // have already saturated the drop count.
    let last = P as usize - 1;
    set(
        &mem,
        lanes_at + (last * CAPACITY as usize + 1) * slot_words,
        1 << 2 | 2,
    );
    for lane in 0..last {
        for slot in 0..CAPACITY as usize {
            let at = lanes_at + (lane * CAPACITY as usize + slot) * slot_words;
            set(&mem, at, max_seq << 2); // DONE(max_seq)
        }
        // The lane head hint (word 1 of a lane entry).
        set(&mem, lane_table_at + lane * 8 + 1, u64::MAX);
    }
    set(&mem, hdr::LANES_ACTIVE, u64::MAX);
    assert_eq!(region.published_count(), u64::MAX); // saturates (63 lanes of 2^62 - 1)
    let mut out = [0u8; 16];
    let mut got = 0;
    for _ in 0..4 {
        got += u64::from(reader.recv_bytes(&mut out).expect("right size"));
    }
    assert_eq!(reader.delivered_count(), got);
    assert_eq!(reader.dropped_count(), u64::MAX); // saturates
    let seen = exercise(region);
    // The reader held an entry; declared dead, it was reclaimed. Only the
    // last lane is far from the sequence limit: each of the two handles
    // (one after the other) publishes there.
    assert_eq!(
        (seen.held, seen.joined, seen.refused, seen.freed),
        (1, 2, 0, 1)
    );
    assert_eq!(seen.published.0, u64::MAX);
}

/// A hostile region: one lane's stamp at the largest sequence a stamp holds.
/// A publisher taking that lane would continue at 2^62, which does not fit
/// the stamp (it wraps to 0): every message it sent would be invisible to
/// readers and counted nowhere. The lane claim skips such a lane, and where
/// no other lane is free the send says why.
#[test]
fn a_lane_near_the_sequence_limit_is_never_claimed() {
    let hostile = |participants: u32| {
        let l = TopicLayout::of::<Sample>(CAPACITY, participants).expect("valid geometry");
        let mem = zeroed(l.region_words());
        TopicRegion::init::<Sample>(&mem[..], CAPACITY, participants, 0).expect("init");
        let get = |i: usize| mem[i].load(Ordering::Relaxed) as usize;
        let (lanes_at, slot_words) = (get(hdr::LANES_AT), get(hdr::SLOT_WORDS));
        let max_seq = (1u64 << 62) - 1;
        // Lane 0, the slot of `max_seq`: DONE(max_seq).
        let slot = (max_seq & (u64::from(CAPACITY) - 1)) as usize;
        set(&mem, lanes_at + slot * slot_words, max_seq << 2);
        mem
    };
    let exhausted = Refusal::LaneExhausted {
        lane: 0,
        seq: (1 << 62) - 1,
    };

    // Room elsewhere: the publisher skips lane 0, and is heard.
    let mem = hostile(3);
    let region = TopicRegion::attach::<Sample>(&mem[..]).expect("valid header");
    let mut publisher = RawHandle::join(region, OwnerToken::new(1).unwrap(), 0, 0).expect("join");
    let mut reader = RawHandle::join(region, OwnerToken::new(2).unwrap(), 0, 0).expect("join");
    let msg = [0x42u8; 16];
    publisher.send_bytes(&msg).expect("sent");
    assert_ne!(publisher.lane(), Some(0), "claimed the exhausted lane");
    let mut out = [0u8; 16];
    assert_eq!(
        reader.recv_bytes(&mut out),
        Ok(true),
        "the message was lost"
    );
    assert_eq!(out, msg);
    assert_eq!(reader.dropped_count(), 0);
    // The lane given back is free: a third publisher finds it exhausted once
    // the last good lane is held.
    let mut second = RawHandle::join(region, OwnerToken::new(3).unwrap(), 0, 0).expect("join");
    second.send_bytes(&msg).expect("the last good lane");
    let mut third = RawHandle::join(region, OwnerToken::new(3).unwrap(), 0, 0);
    assert!(third.is_err(), "3 participants: full");
    drop(reader);
    third = RawHandle::join(region, OwnerToken::new(3).unwrap(), 0, 0);
    let mut third = third.expect("an entry is free");
    assert_eq!(third.send_bytes(&msg), Err(SendError::Refused(exhausted)));
    assert_eq!(third.lane(), None);

    // No other lane: a typed error that names the problem.
    let mem = hostile(1);
    let region = TopicRegion::attach::<Sample>(&mem[..]).expect("valid header");
    let mut h = RawHandle::join(region, OwnerToken::new(1).unwrap(), 0, 0).expect("join");
    let err = h
        .send_bytes(&msg)
        .expect_err("an exhausted lane was claimed");
    assert_eq!(err, SendError::Refused(exhausted));
    assert!(err.to_string().contains("sequence limit"), "{err}");
    assert_eq!(region.lanes_in_use(), 0);
}
