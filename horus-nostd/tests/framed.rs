//! Serialized-type regions: length-prefixed frames in the ring (every length,
//! across laps), a hostile frame length, and the `SCHEMA_FORMAT` word and
//! encoded schema checked at init and attach.
#![cfg(not(loom))]

use horus_nostd::layout::{MAX_SERIALIZED_SCHEMA_BYTES, hdr, serialized_schema_entries};
use horus_nostd::message::{TypeInfo, TypeName};
use horus_nostd::ring::{FrameError, SendError};
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{AttachError, InitError, OwnerToken, RawHandle, TopicLayout, TopicRegion};

const SIZE: u32 = 4 + 100;
const SCHEMA: &[u8] = b"an encoded schema: its format is the business of horus-std";

fn ty() -> TypeInfo {
    TypeInfo {
        id: 0xfeed,
        size: SIZE,
        align: 1,
        name: TypeName::new("Framed"),
    }
}

fn layout(schema: &[u8]) -> TopicLayout {
    let entries = serialized_schema_entries(schema.len()) as u32;
    TopicLayout::new(SIZE, 1, 4, 2, entries).expect("valid geometry")
}

fn region_mem() -> Vec<AtomicU64> {
    (0..layout(SCHEMA).region_words())
        .map(|_| AtomicU64::new(0))
        .collect()
}

#[test]
fn frames_of_every_length_arrive_whole_across_laps() {
    let mem = region_mem();
    let region = TopicRegion::init_serialized(&mem[..], layout(SCHEMA), ty(), SCHEMA, 0).unwrap();
    assert!(region.is_serialized());
    let me = OwnerToken::new(1).unwrap();
    let mut a = RawHandle::join(region, me, 0, 0).unwrap();
    let mut b = RawHandle::join(region, me, 0, 0).unwrap();
    let mut out = vec![0u8; SIZE as usize];
    for len in 0..=100usize {
        // Long then short: a short frame never shows the longer one's tail.
        let body: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        a.send_framed(&[0xee; 100]).unwrap();
        a.send_framed(&body).unwrap();
        assert_eq!(b.recv_framed(&mut out), Ok(Some(&[0xee; 100][..])));
        assert_eq!(b.recv_framed(&mut out), Ok(Some(&body[..])));
    }
    assert_eq!(b.recv_framed(&mut out), Ok(None));
    assert!(matches!(
        a.send_framed(&[0; 101]),
        Err(SendError::FrameTooLarge {
            max: 100,
            given: 101
        })
    ));
    // Lapped (capacity 4, six sent): the newest arrive in order, the others
    // are counted dropped.
    for i in 0..6u8 {
        a.send_framed(&[i]).unwrap();
    }
    let got: Vec<u8> =
        std::iter::from_fn(|| b.recv_framed(&mut out).unwrap().map(|f| f[0])).collect();
    assert!(
        got.ends_with(&[4, 5]) && got.windows(2).all(|w| w[0] + 1 == w[1]),
        "{got:?}"
    );
    assert_eq!(got.len() as u64 + b.dropped_count(), 6);
}

#[test]
fn a_frame_claiming_more_than_its_slot_is_an_error_not_a_read_past_it() {
    let mem = region_mem();
    let l = layout(SCHEMA);
    let region = TopicRegion::init_serialized(&mem[..], l, ty(), SCHEMA, 0).unwrap();
    let me = OwnerToken::new(1).unwrap();
    let mut a = RawHandle::join(region, me, 0, 0).unwrap();
    let mut b = RawHandle::join(region, me, 0, 0).unwrap();
    a.send_framed(b"ok").unwrap();
    // Every slot of lane 0: the stamp, then the frame's first word (length | body).
    let lanes_at = mem[hdr::LANES_AT].load(Ordering::Relaxed) as usize;
    let slot_words = mem[hdr::SLOT_WORDS].load(Ordering::Relaxed) as usize;
    for slot in 0..4 {
        let first = &mem[lanes_at + slot * slot_words + 1];
        let w = first.load(Ordering::Relaxed);
        first.store((w & !0xffff_ffff) | 0xffff_fff0, Ordering::Relaxed);
    }
    let mut out = vec![0u8; SIZE as usize];
    assert_eq!(
        b.recv_framed(&mut out),
        Err(FrameError::BadLength {
            claimed: 0xffff_fff0,
            max: 100
        })
    );
    assert_eq!(b.delivered_count(), 1, "it was delivered, and is lost");
    assert!(matches!(
        b.recv_framed(&mut [0u8; 3]),
        Err(FrameError::WrongSize(_))
    ));
}

#[test]
fn the_schema_is_stored_bounded_and_its_format_word_checked() {
    let mem = region_mem();
    TopicRegion::init_serialized(&mem[..], layout(SCHEMA), ty(), SCHEMA, 0).unwrap();
    let r = TopicRegion::attach_with(&mem[..], Some(&ty())).unwrap();
    let mut out = [0u8; 200];
    assert_eq!(r.serialized_schema(&mut out), Some(SCHEMA.len()));
    assert_eq!(&out[..SCHEMA.len()], SCHEMA);
    assert_eq!(r.schema().count(), 0);
    let mut short = [0u8; 4];
    assert_eq!(r.serialized_schema(&mut short), Some(SCHEMA.len()));
    assert_eq!(&short, b"an e");

    let format = mem[hdr::SCHEMA_FORMAT].load(Ordering::Relaxed);
    let hostile = [
        2,                          // unknown format
        1 | 500 << 8,               // more bytes than the entries hold
        1,                          // serialized, zero bytes
        (SCHEMA.len() as u64) << 8, // flat fields with a length
        1 | (u64::MAX >> 8) << 8,   // absurd
    ];
    for bad in hostile {
        mem[hdr::SCHEMA_FORMAT].store(bad, Ordering::Relaxed);
        assert_eq!(
            TopicRegion::attach_with(&mem[..], None).unwrap_err(),
            AttachError::BadGeometry {
                field: "schema_format"
            },
            "{bad:#x}"
        );
    }
    mem[hdr::SCHEMA_FORMAT].store(format, Ordering::Relaxed);
    assert!(TopicRegion::attach_with(&mem[..], None).is_ok());
}

#[test]
fn init_refuses_a_schema_that_does_not_fit() {
    let mem = region_mem();
    let bad = |schema: &[u8], l: TopicLayout| {
        matches!(
            TopicRegion::init_serialized(&mem[..], l, ty(), schema, 0),
            Err(InitError::BadSchema { .. })
        )
    };
    assert!(bad(b"", layout(b"x")));
    assert!(bad(&[1; 65], layout(b"x")), "entries must match");
    let huge = vec![0u8; MAX_SERIALIZED_SCHEMA_BYTES + 1];
    assert!(bad(&huge, layout(SCHEMA)));
}

/// A slot smaller than the length word holds no frame: receiving one is the
/// typed `BadLength`, never an out-of-bounds panic (found by the `attach`
/// fuzz target on a region whose header claimed frames in 2-byte slots).
#[test]
fn a_slot_smaller_than_the_length_word_is_bad_length_not_a_panic() {
    let tiny = TypeInfo {
        id: 0xbeef,
        size: 2,
        align: 1,
        name: TypeName::new("Tiny"),
    };
    let l = TopicLayout::new(2, 1, 2, 2, 0).expect("valid geometry");
    let mem: Vec<AtomicU64> = (0..l.region_words()).map(|_| AtomicU64::new(0)).collect();
    let region = TopicRegion::init_with(&mem[..], l, tiny, &[], 0).unwrap();
    let me = OwnerToken::new(1).unwrap();
    let mut a = RawHandle::join(region, me, 0, 0).unwrap();
    let mut b = RawHandle::join(region, me, 0, 0).unwrap();
    assert!(matches!(
        a.send_framed(b""),
        Err(SendError::FrameTooLarge { max: 0, given: 0 })
    ));
    a.send_bytes(&[7, 7]).unwrap();
    let mut out = [0u8; 2];
    assert_eq!(
        b.recv_framed(&mut out),
        Err(FrameError::BadLength { claimed: 0, max: 0 })
    );
}
