//! Same bytes on both sides: the region layout of the boards' firmware, pinned
//! byte for byte.
//!
//! `boards/pipeline/src/topics.rs` (included below, the very file the
//! firmware compiles) packs three topics into one buffer. This test
//! initialises that buffer on the host with `created_ns = 0` and compares all
//! of its bytes with `tests/golden/board_region.bin`. The firmware of
//! `boards/qemu-mps2-an386` and `boards/qemu-microbit` embeds the same file
//! and fails its run unless its own region, initialised on a 32-bit
//! Cortex-M, is identical. So a 64-bit process and a 32-bit microcontroller
//! provably write (and therefore read) the same offsets, sizes and values.
//!
//! The test also reads the golden bytes the way a 32-bit reader does, with
//! every header field at its fixed byte offset and every value small enough
//! for a 32-bit `usize`, and attaches to a copy of them.
//!
//! After an intended layout change (a new `LAYOUT_VERSION`), regenerate with
//! `HORUS_BLESS=1 cargo test -p horus-nostd --test golden_layout` and review
//! the diff of the expected values below.

#![cfg(not(loom))]

#[path = "../../boards/pipeline/src/topics.rs"]
mod topics;

use horus_nostd::layout::{LAYOUT_VERSION, MAGIC};
use horus_nostd::msgs::{Heartbeat, Imu};
use horus_nostd::region::RegionBuffer;
use horus_nostd::sync::Ordering;
use horus_nostd::{FieldKind, Message, TopicLayout, TopicRegion};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/board_region.bin");

/// The bytes of the firmware's region, freshly initialised with time 0.
fn host_region() -> Vec<u8> {
    let mem: Box<RegionBuffer<{ topics::REGION_WORDS }>> = Box::default();
    let t = topics::Topics::init(mem.words(), 0).expect("the firmware's layout initialises");
    assert_eq!(t.raw.layout(), &topics::RAW);
    assert_eq!(t.filtered.layout(), &topics::FILTERED);
    assert_eq!(t.heartbeat.layout(), &topics::HEARTBEAT);
    mem.words()
        .iter()
        .flat_map(|w| w.load(Ordering::Relaxed).to_ne_bytes())
        .collect()
}

/// The checked-in golden bytes (while blessing: the bytes being written).
/// Embedded at compile time, so the test also runs under Miri's isolation.
fn golden() -> Vec<u8> {
    if std::env::var_os("HORUS_BLESS").is_some() {
        return host_region();
    }
    include_bytes!("golden/board_region.bin").to_vec()
}

/// Word `i` of `bytes` as a reader on any little-endian target loads it.
fn word(bytes: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap())
}

#[test]
fn host_region_is_the_golden_bytes() {
    let host = host_region();
    if std::env::var_os("HORUS_BLESS").is_some() {
        std::fs::write(GOLDEN, &host).unwrap();
    }
    let golden = golden();
    assert_eq!(host.len(), golden.len(), "region size changed");
    if let Some(i) = host.iter().zip(&golden).position(|(a, b)| a != b) {
        let w = i / 8;
        panic!(
            "byte {i} (word {w}) differs: host {:#018x}, golden {:#018x}",
            word(&host, w),
            word(&golden, w)
        );
    }
}

/// One topic's header as fixed byte offsets, with the values the layout must have.
struct Expected {
    at_word: usize,
    layout: TopicLayout,
    type_id: u64,
    name: &'static str,
    /// `[type_size, type_align, capacity, slot_words, participants,
    ///   schema_fields, participants_at, schema_at, lanes_at, region_words]`
    geometry: [u64; 10],
    /// `[max_publishers, lane_table_at]` (header words 15 and 22).
    lanes: [u64; 2],
}

fn expected() -> [Expected; 3] {
    [
        Expected {
            at_word: 0,
            layout: topics::RAW,
            type_id: Imu::TYPE_ID,
            name: "Imu",
            geometry: [88, 8, 2, 16, 3, 4, 32, 64, 96, 128],
            lanes: [1, 56],
        },
        Expected {
            at_word: 128,
            layout: topics::FILTERED,
            type_id: Imu::TYPE_ID,
            name: "Imu",
            geometry: [88, 8, 2, 16, 2, 4, 32, 56, 96, 128],
            lanes: [1, 48],
        },
        Expected {
            at_word: 256,
            layout: topics::HEARTBEAT,
            type_id: Heartbeat::TYPE_ID,
            name: "Heartbeat",
            geometry: [24, 8, 4, 8, 3, 4, 32, 80, 112, 208],
            lanes: [3, 56],
        },
    ]
}

#[test]
fn golden_header_fields_sit_at_fixed_byte_offsets() {
    let g = golden();
    assert_eq!(g.len(), 464 * 8);
    assert_eq!(topics::REGION_BYTES, g.len());
    for e in expected() {
        let at = |field: usize| word(&g, e.at_word + field);
        // Byte offsets within the header: magic 0, version 8, region_words 16,
        // type_id 24, type_size 32, type_align 40, capacity 48, slot_words 56,
        // participants 64, schema_fields 72, participants_at 80, schema_at 88,
        // lanes_at 96, created_ns 104, max_publishers 120, type name 128..176,
        // lane_table_at 176, lanes_active 192.
        assert_eq!(at(0), MAGIC, "{}: magic", e.name);
        assert_eq!(&g[e.at_word * 8..e.at_word * 8 + 8], b"HORUS\0tp");
        assert_eq!(at(1), LAYOUT_VERSION);
        assert_eq!(at(1), 3, "the golden file pins layout version 3");
        assert_eq!(at(2), e.geometry[9], "{}: region_words", e.name);
        assert_eq!(at(3), e.type_id, "{}: type id", e.name);
        let fields = [4, 5, 6, 7, 8, 9, 10, 11, 12];
        for (f, want) in fields.iter().zip(&e.geometry) {
            assert_eq!(at(*f), *want, "{}: header word {f}", e.name);
        }
        assert_eq!(at(13), 0, "created_ns is 0 in the golden region");
        assert_eq!(
            [at(15), at(22)],
            e.lanes,
            "{}: max_publishers, lane_table_at",
            e.name
        );
        let name = &g[(e.at_word + 16) * 8..(e.at_word + 22) * 8];
        assert_eq!(&name[..e.name.len()], e.name.as_bytes());
        assert!(name[e.name.len()..].iter().all(|&b| b == 0));
        assert_eq!(at(24), 0, "no lane has published");
        // Every position a 32-bit reader turns into a usize fits one.
        for f in [2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 22] {
            assert!(at(f) <= u64::from(u32::MAX));
        }
        // The layout functions agree with the bytes.
        assert_eq!(e.layout.region_words() as u64, e.geometry[9]);
        assert_eq!(e.layout.capacity() as u64, e.geometry[2]);
        assert_eq!(u64::from(e.layout.max_publishers()), e.lanes[0]);
    }
    // Type identities are part of the golden bytes: pin them too, so a change
    // of a standard message shows up here by name.
    assert_eq!(word(&g, 3), Imu::TYPE_ID);
    assert_eq!(word(&g, 256 + 3), Heartbeat::TYPE_ID);
}

#[test]
fn golden_schema_matches_the_message_layout() {
    let g = golden();
    // Schema entries (8 words each): name (48 bytes), offset | size << 32, kind | count << 8.
    let imu = [
        ("orientation", 0, 32, FieldKind::F64, 4),
        ("angular_velocity", 32, 24, FieldKind::F64, 3),
        ("linear_acceleration", 56, 24, FieldKind::F64, 3),
        ("timestamp_ns", 80, 8, FieldKind::U64, 1),
    ];
    let heartbeat = [
        ("timestamp_ns", 0, 8, FieldKind::U64, 1),
        ("sequence", 8, 8, FieldKind::U64, 1),
        ("pid", 16, 4, FieldKind::U32, 1),
        ("status", 20, 4, FieldKind::U32, 1),
    ];
    for (e, fields) in expected().iter().zip([&imu, &imu, &heartbeat]) {
        let schema_at = e.at_word + e.geometry[7] as usize;
        for (i, &(name, offset, size, kind, count)) in fields.iter().enumerate() {
            let entry = schema_at + i * 8;
            let stored = &g[entry * 8..entry * 8 + 48];
            assert_eq!(&stored[..name.len()], name.as_bytes());
            assert!(stored[name.len()..].iter().all(|&b| b == 0));
            assert_eq!(word(&g, entry + 6), offset | size << 32, "{name}");
            assert_eq!(word(&g, entry + 7), kind as u64 | count << 8, "{name}");
        }
    }
}

#[test]
fn golden_bytes_attach_as_the_firmwares_topics() {
    let g = golden();
    let mem: Box<RegionBuffer<{ topics::REGION_WORDS }>> = Box::default();
    for (w, chunk) in mem.words().iter().zip(g.chunks_exact(8)) {
        w.store(
            u64::from_ne_bytes(chunk.try_into().unwrap()),
            Ordering::Relaxed,
        );
    }
    let words = mem.words();
    let [raw, filtered, heartbeat] = expected();
    let slice = |e: &Expected| &words[e.at_word..e.at_word + e.geometry[9] as usize];
    let r = TopicRegion::attach::<Imu>(slice(&raw)).expect("raw attaches");
    assert_eq!(r.layout(), &topics::RAW);
    let f = TopicRegion::attach::<Imu>(slice(&filtered)).expect("filtered attaches");
    assert_eq!(f.layout(), &topics::FILTERED);
    let h = TopicRegion::attach::<Heartbeat>(slice(&heartbeat)).expect("heartbeat attaches");
    assert_eq!(h.layout(), &topics::HEARTBEAT);
    assert_eq!(h.type_info().name.as_str(), "Heartbeat");
    assert_eq!(h.created_ns(), 0);

    // Participant entry word 7 (`part::HOLDER`) was zero before it had a use:
    // a handle of a golden region reads "no holder" until it says one, and
    // saying one writes exactly that word.
    assert_eq!(horus_nostd::layout::part::HOLDER, 7);
    let me = horus_nostd::OwnerToken::new(1).unwrap();
    let mut handle = horus_nostd::RawHandle::join(h, me, 0, 0).expect("joins");
    assert_eq!(h.participants().map(|p| p.holder).collect::<Vec<_>>(), [0]);
    handle.set_holder(0x5eed);
    let entry = heartbeat.at_word + heartbeat.geometry[6] as usize + handle.index() as usize * 8;
    assert_eq!(words[entry + 7].load(Ordering::Relaxed), 0x5eed);
}
