//! Files at HORUS names that are larger than a region or pool segment of
//! their header: a sparse file of 64 MiB that is not a region, a live
//! region and a pool segment with a 64 MiB sparse tail. Opening them must
//! reserve (`fallocate`) and map only what the header declares: reserving
//! the whole file turned a planted sparse file into 64 MiB of real tmpfs
//! pages, at every open.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::TestNs;
use horus::error::{Corruption, TopicError};
use horus::image::{Encoding, ImageTopic};
use horus::prelude::*;
use horus::shm::Namespace;

message! {
    Gamma { g: u64 }
}

const TAIL: u64 = 64 << 20;
/// Allocated bytes a file may have after the opens (its header's worth).
const ALLOCATED_AT_MOST: u64 = 1 << 20;

fn allocated(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().blocks() * 512
}

/// Asserts that at most a header's worth of the file at `path` is
/// allocated ([`ALLOCATED_AT_MOST`]): its sparse tail costs no memory.
fn assert_header_allocated_only(path: &Path) {
    assert!(
        allocated(path) <= ALLOCATED_AT_MOST,
        "{} bytes allocated",
        allocated(path)
    );
}

/// The path of the first pool segment file (`*.pool.*`) in `ns`.
fn segment_file(ns: &TestNs) -> PathBuf {
    std::fs::read_dir(ns.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(".pool."))
        .expect("the segment file")
}

/// Makes the file at `path` `TAIL` bytes longer, without writing (a hole).
fn add_sparse_tail(path: &Path) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len + TAIL).unwrap();
}

#[test]
fn a_sparse_file_that_is_not_a_region_costs_no_memory_when_opened() {
    let ns = TestNs::new("oversized_junk");
    let path = ns.path().join("junk.topic");
    std::fs::create_dir_all(ns.path()).unwrap();
    std::fs::write(&path, b"not a region, just text").unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    add_sparse_tail(&path);
    for _ in 0..2 {
        match Topic::<Gamma>::builder("junk").namespace(&ns.name).build() {
            Err(horus::Error::Topic(TopicError::Corrupt {
                reason: Corruption::NotARegion { .. },
                ..
            })) => {}
            Err(other) => panic!("expected a file that is not a region, got {other}"),
            Ok(_) => panic!("a text file opened as a region"),
        }
    }
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(size, 23 + TAIL, "the file is left as it was");
    assert_header_allocated_only(&path);
}

#[test]
fn a_region_with_a_sparse_tail_opens_and_its_tail_costs_no_memory() {
    let ns = TestNs::new("oversized_region");
    let first: Topic<Gamma> = Topic::builder("t").namespace(&ns.name).build().unwrap();
    let path = first.path().to_owned();
    add_sparse_tail(&path);
    first.send(Gamma { g: 5 });
    // A tool opens the file afresh (handles of one process share a mapping).
    let nsd = Namespace::open(&ns.name).unwrap();
    let info = horus::inspect::topic_info(&nsd, "t")
        .expect("the region opens")
        .expect("the topic exists");
    assert_eq!((info.type_name.as_str(), info.published), ("Gamma", 1));
    assert_header_allocated_only(&path);
}

#[test]
fn a_pool_segment_with_a_sparse_tail_is_mapped_as_its_header_says() {
    let ns = TestNs::new("oversized_pool");
    let build = || {
        ImageTopic::builder("cam")
            .namespace(&ns.name)
            .blocks_per_segment(2)
            .build()
            .unwrap()
    };
    let (publisher, sub) = (build(), build());
    let mut img = publisher.loan(64, 64, Encoding::Mono8).unwrap();
    img.data_mut().fill(9);
    publisher.try_send(img).unwrap();
    let segment = segment_file(&ns);
    add_sparse_tail(&segment);
    let got = sub
        .try_recv()
        .expect("the image")
        .expect("its segment maps");
    assert!(got.data().iter().all(|&b| b == 9));
    assert_header_allocated_only(&segment);
}

#[test]
fn a_region_header_declaring_no_words_is_a_bad_field_not_an_empty_file() {
    let ns = TestNs::new("oversized_zero");
    let first: Topic<Gamma> = Topic::builder("t").namespace(&ns.name).build().unwrap();
    let path = first.path().to_owned();
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        // Word 2 of the header: the region's words.
        f.write_all_at(&0u64.to_le_bytes(), 16).unwrap();
    }
    let nsd = Namespace::open(&ns.name).unwrap();
    match horus::inspect::topic_info(&nsd, "t") {
        Err(horus::Error::Topic(TopicError::Corrupt {
            reason: Corruption::BadField { .. },
            ..
        })) => {}
        other => panic!("expected a bad header field, got {other:?}"),
    }
    drop(first);
}

/// Writes at `to` a copy of the first page of the file `from` in which each
/// header word of `words` declares `TAIL` bytes (in words), makes it `TAIL`
/// bytes long (a hole after the page) and holds a shared `flock` on it, as
/// a user of it would (so no cleaner takes it for a stale file).
fn forge_oversized(from: &Path, to: &Path, words: &[usize]) -> std::fs::File {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let mut page = std::fs::read(from).unwrap();
    page.truncate(4096);
    for &w in words {
        page[w * 8..w * 8 + 8].copy_from_slice(&(TAIL / 8).to_le_bytes());
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .unwrap();
    f.write_all_at(&page, 0).unwrap();
    f.set_len(TAIL).unwrap();
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockShared).unwrap();
    f
}

#[test]
fn a_region_header_declaring_a_larger_region_is_refused_before_anything_is_reserved() {
    use horus_nostd::layout::hdr;
    let ns = TestNs::new("oversized_header");
    let first: Topic<Gamma> = Topic::builder("t").namespace(&ns.name).build().unwrap();
    let path = ns.path().join("evil.topic");
    let held = forge_oversized(first.path(), &path, &[hdr::REGION_WORDS, hdr::LANES_AT]);
    let nsd = Namespace::open(&ns.name).unwrap();
    let bad_field = |r: Result<(), horus::Error>, what: &str| match r {
        Err(horus::Error::Topic(TopicError::Corrupt {
            reason: Corruption::BadField { field: "lanes_at" },
            path: p,
        })) => assert_eq!(p, path),
        other => panic!("{what}: expected lanes_at out of range, got {other:?}"),
    };
    // A tool (`horus topic list`), then a handle, then the tool again.
    bad_field(
        horus::inspect::topic_info(&nsd, "evil").map(drop),
        "inspect",
    );
    let build = Topic::<Gamma>::builder("evil").namespace(&ns.name).build();
    bad_field(build.map(drop), "Topic::new");
    bad_field(
        horus::inspect::topic_info(&nsd, "evil").map(drop),
        "inspect",
    );
    assert_header_allocated_only(&path);
    drop(held);
    std::fs::remove_file(&path).unwrap();
    drop(first);
}

#[test]
fn a_pool_segment_header_declaring_a_larger_segment_is_refused_before_anything_is_reserved() {
    let ns = TestNs::new("oversized_pool_header");
    let publisher = ImageTopic::builder("cam")
        .namespace(&ns.name)
        .blocks_per_segment(2)
        .build()
        .unwrap();
    let img = publisher.loan(64, 64, Encoding::Mono8).unwrap();
    publisher.try_send(img).unwrap();
    let segment = segment_file(&ns);
    // Another segment of the same publisher, as `topic list -v` finds it.
    let name = segment.file_name().unwrap().to_str().unwrap();
    let forged = ns
        .path()
        .join(format!("{}.77", &name[..name.rfind('.').unwrap()]));
    let held = forge_oversized(&segment, &forged, &[horus_nostd::pool::hdr::REGION_WORDS]);
    let nsd = Namespace::open(&ns.name).unwrap();
    for _ in 0..2 {
        let info = horus::inspect::topic_info(&nsd, "cam").unwrap().unwrap();
        assert_eq!(info.pool.len(), 1, "the real segment is read");
        let [bad] = &info.pool_unreadable[..] else {
            panic!(
                "expected the forged segment, got {:?}",
                info.pool_unreadable
            );
        };
        assert_eq!(bad.path, forged);
        assert!(bad.why.contains("region_words"), "{}", bad.why);
    }
    assert_header_allocated_only(&forged);
    drop(held);
    std::fs::remove_file(&forged).unwrap();
}
