//! The array sizes a region records: a primitive array of two or more
//! dimensions gets a shape entry after its own, an array of messages one
//! index per dimension in its flattened names, and a reader folds the shape
//! back into the field — or, for a shape entry that does not fit, shows an
//! entry of no known kind, never a wrong shape.

#![cfg(not(loom))]

use horus_nostd::layout::{flat_field_count, hdr, schema};
use horus_nostd::region::{RegionBuffer, SchemaField};
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{FieldKind, Message, TopicLayout, TopicRegion, message};

message! {
    Leg { x: f32, y: f32 }
    Body {
        t: u64,
        v: [f64; 3],
        cube: [[[f32; 2]; 2]; 2],
        legs: [[Leg; 2]; 2],
        cells: [[u8; 2]; 3],
        _pad: [u8; 2],
    }
}

const WORDS: usize = 4096;

/// A region of `Body` in `mem`.
fn body_region(mem: &RegionBuffer<WORDS>) -> TopicRegion<&[AtomicU64]> {
    let layout = TopicLayout::of_publishers::<Body>(2, 2, 1).unwrap();
    assert!(layout.region_words() <= WORDS);
    TopicRegion::init_layout::<Body>(mem.words(), layout, 0).unwrap()
}

fn fields(region: &TopicRegion<&[AtomicU64]>) -> Vec<SchemaField> {
    region.schema().collect()
}

/// Word `w` of schema entry `i` of the region in `mem`.
fn entry_word(mem: &RegionBuffer<WORDS>, i: usize, w: usize) -> &AtomicU64 {
    let at = mem.words()[hdr::SCHEMA_AT].load(Ordering::Relaxed) as usize;
    &mem.words()[at + i * schema::WORDS + w]
}

#[test]
fn shapes_are_recorded_and_read_back() {
    let mem = Box::<RegionBuffer<WORDS>>::default();
    let region = body_region(&mem);
    // t, v, cube + shape, 8 legs entries, cells + shape, _pad.
    assert_eq!(flat_field_count(Body::FIELDS), 15);
    assert_eq!(region.layout().schema_fields(), 15);
    let got: Vec<(String, Vec<u32>, u64)> = fields(&region)
        .iter()
        .map(|f| (f.name.to_string(), f.shape.dims().to_vec(), f.count))
        .collect();
    let want: Vec<(String, Vec<u32>, u64)> = [
        ("t", vec![], 1),
        ("v", vec![3], 3),
        ("cube", vec![2, 2, 2], 8),
        ("legs[0][0].x", vec![], 1),
        ("legs[0][0].y", vec![], 1),
        ("legs[0][1].x", vec![], 1),
        ("legs[0][1].y", vec![], 1),
        ("legs[1][0].x", vec![], 1),
        ("legs[1][0].y", vec![], 1),
        ("legs[1][1].x", vec![], 1),
        ("legs[1][1].y", vec![], 1),
        ("cells", vec![3, 2], 6),
        ("_pad", vec![2], 2),
    ]
    .into_iter()
    .map(|(n, d, c)| (n.to_owned(), d, c))
    .collect();
    assert_eq!(got, want);
    let all = fields(&region);
    let leg = all
        .iter()
        .find(|f| f.name.as_str() == "legs[1][0].y")
        .unwrap();
    // Row-major: [1][0] is the third of four legs, y its second float.
    assert_eq!(leg.offset as usize, 8 + 24 + 32 + 2 * 8 + 4);
    let cells = all.iter().find(|f| f.name.as_str() == "cells").unwrap();
    assert_eq!((cells.kind, cells.size), (Some(FieldKind::U8), 6));
}

/// A change to the region's memory.
type Patch = Box<dyn Fn(&RegionBuffer<WORDS>)>;

/// Makes entry 3 (the shape entry of `cube`) say something else and returns
/// what a reader then sees of `cube` and of the entry after it.
fn with_cube_shape(patch: impl Fn(&RegionBuffer<WORDS>)) -> (SchemaField, SchemaField) {
    let mem = Box::<RegionBuffer<WORDS>>::default();
    body_region(&mem);
    patch(&mem);
    let region = TopicRegion::attach_with(mem.words(), None).unwrap();
    let all = fields(&region);
    assert_eq!(all[2].name.as_str(), "cube");
    (all[2], all[3])
}

#[test]
fn a_shape_entry_that_does_not_fit_its_field_is_an_entry_of_no_known_kind() {
    let rank = |r: u64| {
        move |m: &RegionBuffer<WORDS>| {
            entry_word(m, 3, schema::OFFSET_SIZE).store(r, Ordering::Relaxed);
        }
    };
    let dim = |d: usize, v: u64| {
        move |m: &RegionBuffer<WORDS>| {
            entry_word(m, 3, schema::NAME + d).store(v, Ordering::Relaxed);
        }
    };
    let patches: Vec<(&str, Patch)> = vec![
        ("elements other than the count", Box::new(dim(0, 3))),
        ("a size over u32::MAX", Box::new(dim(1, 1 << 32))),
        ("rank 1", Box::new(rank(1))),
        ("rank 7", Box::new(rank(7))),
        ("a zero size", Box::new(dim(2, 0))),
        (
            "a count in its kind word",
            Box::new(|m: &RegionBuffer<WORDS>| {
                let code = u64::from(schema::SHAPE_CODE) | 8 << 8;
                entry_word(m, 3, schema::KIND_COUNT).store(code, Ordering::Relaxed);
            }),
        ),
    ];
    for (what, patch) in patches {
        let (cube, next) = with_cube_shape(patch);
        assert_eq!(cube.shape.dims(), &[8], "{what}: the shape its count says");
        assert_eq!(next.kind, None, "{what}");
        assert_eq!(next.name.as_str(), "<array shape>", "{what}");
    }
    // Untouched, it folds.
    let (cube, next) = with_cube_shape(|_| {});
    assert_eq!(cube.shape.dims(), &[2, 2, 2]);
    assert_eq!(next.name.as_str(), "legs[0][0].x");
}

#[test]
fn a_shape_entry_after_a_field_of_unknown_kind_is_not_folded() {
    let (cube, next) = with_cube_shape(|m| {
        entry_word(m, 2, schema::KIND_COUNT).store(99 | 8 << 8, Ordering::Relaxed);
    });
    assert_eq!((cube.kind, cube.shape.dims()), (None, &[8][..]));
    assert_eq!(next.name.as_str(), "<array shape>");
}

#[test]
fn a_schema_cut_before_a_shape_entry_keeps_the_count() {
    // A layout with room for three entries: t, v and cube, not cube's shape.
    let layout =
        TopicLayout::with_publishers(core::mem::size_of::<Body>() as u32, 8, 2, 2, 1, 3).unwrap();
    let mem = Box::<RegionBuffer<WORDS>>::default();
    let region = TopicRegion::init_with(
        mem.words(),
        layout,
        horus_nostd::message::TypeInfo::of::<Body>(),
        Body::FIELDS,
        0,
    )
    .unwrap();
    let all = fields(&region);
    assert_eq!(all.len(), 3);
    assert_eq!(
        (all[2].name.as_str(), all[2].shape.dims()),
        ("cube", &[8][..])
    );
}
