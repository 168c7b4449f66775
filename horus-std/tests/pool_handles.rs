//! Several publisher handles of one pooled topic in one process
//! (`horus::pool`): each makes its own segments, under ids no other handle
//! of the process used, so all of them can send.
//!
//! - Two handles in one thread, loaning and sending and sending
//!   `Image::new`: every message received, pixels verified, segments listed
//!   with distinct ids, and the cleaner removes them all at the end.
//! - One handle per thread, streaming: `received + dropped == published`.
//! - A receiver killed while holding blocks of both handles' segments:
//!   the reclaim clears its holds in all of them.
//! - A handle made again while a receiver still maps the segments of the
//!   one it replaces.
//! - A file planted under the name of a publisher's next segment: a typed
//!   error naming the file and the fix; the next send goes through, and the
//!   fix removes the file.
//! - A short file in place of a segment a receiver has yet to map: a typed
//!   error with the file's length; the publisher leaves the file alone.
//! - Handles dropped before the views they received: each keeps its entry
//!   (and lane) until its last view goes, then gives them back.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Peer, TestNs, check_fill, fill, pool_segment_files, wait_until, watchdog};
use horus::image::{Encoding, Image, ImageTopic};
use horus::pooled::PoolError;
use horus::process_pool::PROCESS_SEGMENT_BASE;
use horus::shm::Namespace;

const TOPIC: &str = "cam";
const W: u32 = 320;
const H: u32 = 240;
/// Only catches hangs (the watchdogs; the wait for every message of the
/// threads test): every byte of every message is written and checked, and
/// under qemu-aarch64 the threads test takes about 17 s alone (it waited
/// 30 s, under a watchdog of 60 s).
const TIMEOUT: Duration = Duration::from_secs(600);

fn handle(ns: &str) -> ImageTopic {
    ImageTopic::builder(TOPIC).namespace(ns).build().unwrap()
}

/// Sends message `seq` on `topic`: loaned from the topic's pool if `loan`,
/// made by `Image::new` (the process pool) otherwise.
fn send(topic: &ImageTopic, seq: u64, loan: bool) {
    let mut img = if loan {
        topic.loan(W, H, Encoding::Rgb8).unwrap()
    } else {
        Image::new(W, H, "rgb8")
    };
    fill(img.data_mut(), seq);
    if let Err(e) = topic.try_send(img) {
        panic!("message {seq} not sent: {e}");
    }
}

/// Removes every segment file once nobody maps it.
fn assert_cleaned(ns: &TestNs) {
    common::wait_pool_segments_removed(ns, "every pool segment removed");
}

/// A message the topic takes no descriptor of (every publisher lane held)
/// is an error of `try_send`, naming the reason, and counted by `send`;
/// its block is not lost (it used to be reported sent and only counted).
#[test]
fn a_send_refused_for_want_of_a_lane_says_so() {
    let ns = TestNs::new("nolane");
    let one_lane = || {
        ImageTopic::builder(TOPIC)
            .namespace(&ns.name)
            .max_publishers(1)
            .build()
            .unwrap()
    };
    let (a, b) = (one_lane(), one_lane());
    send(&a, 1, true);
    match b.try_send(b.loan(W, H, Encoding::Rgb8).unwrap()) {
        Err(PoolError::Refused { reason, .. }) => assert!(
            matches!(
                reason,
                horus_nostd::ring::Refusal::NoLane { max_publishers: 1 }
            ),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.unsent_count(), 0, "try_send counts nothing");
    b.send(b.loan(W, H, Encoding::Rgb8).unwrap());
    assert_eq!(b.unsent_count(), 1);
    assert_eq!(b.busy_blocks(), 0, "a refused message's block stayed busy");
    let got = a.recv().expect("a's own message");
    assert_eq!(check_fill(got.data()), Some(1));
    assert!(a.recv().is_none(), "a refused message arrived");
    drop((got, a, b));
    assert_cleaned(&ns);
}

/// A handle dropped while views it received are alive keeps its
/// participant entry (nobody may join at its index while the views' holder
/// bits are set) only until the last of those views is dropped, on any
/// thread: handles made, used and dropped before their views, again and
/// again, never fill the topic's 16 entries nor its 16 publisher lanes.
#[test]
fn handles_dropped_before_their_views_give_their_entries_back_with_the_last_view() {
    let ns = TestNs::new("outlive");
    let publ = handle(&ns.name);
    let dir = Namespace::open(&ns.name).unwrap();
    let entries = || {
        let info = horus::inspect::topic_info(&dir, TOPIC).unwrap().unwrap();
        info.participants.iter().filter(|p| p.alive).count()
    };
    let base = entries();
    for seq in 0..40u64 {
        let sub = handle(&ns.name);
        send(&publ, seq, true);
        let view = sub.recv().expect("the message just sent");
        assert_eq!(check_fill(view.data()), Some(seq));
        // This handle publishes too: it holds one of the topic's lanes.
        send(&sub, seq, seq % 2 == 0);
        assert_eq!(sub.unsent_count(), 0, "no lane left at handle {seq}");
        drop(sub);
        assert_eq!(entries(), base + 1, "the entry went before the view");
        assert_eq!(check_fill(view.data()), Some(seq), "the view changed");
        if seq % 2 == 0 {
            drop(view);
        } else {
            std::thread::spawn(move || drop(view)).join().unwrap();
        }
        assert_eq!(entries(), base, "the entry outlived the last view");
    }
    drop(publ);
    assert_cleaned(&ns);
}

#[test]
fn two_handles_in_one_thread_both_send() {
    let _w = watchdog(TIMEOUT, "two handles test");
    let ns = TestNs::new("two_handles");
    let sub = handle(&ns.name);
    let (a, b) = (handle(&ns.name), handle(&ns.name));
    let mut got = BTreeSet::new();
    let mut seq = 0;
    for _round in 0..10 {
        for h in [&a, &b] {
            for loan in [true, false] {
                seq += 1;
                send(h, seq, loan);
            }
        }
        while let Some(v) = sub.recv() {
            assert!(got.insert(check_fill(v.data()).expect("a torn frame")));
        }
    }
    assert_eq!(got, (1..=seq).collect::<BTreeSet<_>>());
    assert_eq!((sub.received_count(), sub.dropped_count()), (seq, 0));
    assert_eq!(sub.published_count(), seq);
    assert_eq!((a.unsent_count(), b.unsent_count()), (0, 0));
    // Each handle's topic pool segments, under distinct ids; and those of
    // the process pool named after the topic; all listed, all alive.
    let (info, unreadable) =
        horus::pool::segments_of(&Namespace::open(&ns.name).unwrap(), TOPIC).unwrap();
    assert!(unreadable.is_empty(), "{unreadable:?}");
    let own = info.iter().filter(|s| s.segment < PROCESS_SEGMENT_BASE);
    assert!(own.count() >= 2, "each handle made a segment: {info:?}");
    assert_eq!(info.len(), a.pool_segments() + b.pool_segments());
    let ids: BTreeSet<_> = info.iter().map(|s| s.segment).collect();
    assert_eq!(ids.len(), info.len(), "segment ids are distinct: {info:?}");
    assert!(
        info.iter()
            .all(|s| s.publisher_alive && s.pid == std::process::id())
    );
    assert_eq!(pool_segment_files(&ns).len(), info.len());
    drop((a, b, sub));
    assert_cleaned(&ns);
}

#[test]
fn one_handle_per_thread_exact_accounting() {
    const PER_THREAD: u64 = 300;
    let _w = watchdog(TIMEOUT, "threads test");
    let ns = TestNs::new("handle_threads");
    let sub = handle(&ns.name);
    let senders: Vec<_> = (0..2u64)
        .map(|t| {
            let name = ns.name.clone();
            std::thread::spawn(move || {
                let topic = handle(&name);
                for i in 0..PER_THREAD {
                    send(&topic, t << 32 | (i + 1), i % 2 == 0);
                }
                assert_eq!(topic.unsent_count(), 0);
                topic // kept until the receiver is done (its segments too)
            })
        })
        .collect();
    let mut last = [0u64; 2];
    wait_until(
        TIMEOUT.as_secs(),
        "every message received or counted dropped",
        || {
            while let Some(v) = sub.recv() {
                let seq = check_fill(v.data()).expect("a torn frame");
                let t = (seq >> 32) as usize;
                assert!(seq > last[t], "thread {t}: {seq} after {}", last[t]);
                last[t] = seq;
            }
            sub.received_count() + sub.dropped_count() == 2 * PER_THREAD
        },
    );
    let handles: Vec<_> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    assert_eq!(sub.published_count(), 2 * PER_THREAD);
    assert!(sub.recv().is_none());
    assert_eq!(sub.received_count() + sub.dropped_count(), 2 * PER_THREAD);
    assert!(sub.received_count() > 0);
    drop((handles, sub));
    assert_cleaned(&ns);
}

#[test]
fn a_killed_receiver_s_holds_are_reclaimed_in_every_handle_s_segments() {
    let _w = watchdog(TIMEOUT, "killed receiver test");
    let ns = TestNs::new("handle_killsub");
    let small = |name: &str| {
        ImageTopic::builder(TOPIC)
            .namespace(name)
            .blocks_per_segment(2)
            .max_segments(1)
            .build()
            .unwrap()
    };
    let (a, b) = (small(&ns.name), small(&ns.name));
    let mut peer = Peer::spawn("holder", &ns.name, &["4"]);
    peer.expect("ready", 30);
    for seq in 1..=4u64 {
        let h = if seq % 2 == 1 { &a } else { &b };
        send(h, seq, true);
        // Unheld published blocks are recycled first: let it take each.
        wait_until(30, "the holder to hold the message", || {
            a.busy_blocks() + b.busy_blocks() == seq as u32
        });
    }
    peer.expect("held", 30);
    assert_eq!((a.busy_blocks(), b.busy_blocks()), (2, 2));
    peer.kill();
    a.reclaim_dead();
    assert_eq!((a.busy_blocks(), b.busy_blocks()), (0, 0));
    send(&a, 5, true);
    send(&b, 6, true);
    drop((a, b));
    assert_cleaned(&ns);
}

#[test]
fn a_handle_made_again_while_its_segments_are_mapped_sends() {
    let _w = watchdog(TIMEOUT, "remade handle test");
    let ns = TestNs::new("handle_again");
    let sub = handle(&ns.name);
    let first = handle(&ns.name);
    send(&first, 1, true);
    let view = sub.recv().expect("the first message");
    drop(first); // its segment stays: the view (and `sub`) map it
    let again = handle(&ns.name);
    send(&again, 2, true);
    let next = sub.recv().expect("the second message");
    assert_eq!(check_fill(view.data()), Some(1));
    assert_eq!(check_fill(next.data()), Some(2));
    assert_ne!(view.descriptor().segment, next.descriptor().segment);
    drop((view, next, again, sub));
    assert_cleaned(&ns);
}

#[test]
fn a_receiver_unmaps_the_segments_of_a_dropped_publisher_handle() {
    // A live process that drops a publisher handle never uses its segments
    // again (ids are never reused); a receiver that keeps receiving must not
    // keep them mapped, and so in /dev/shm, for its whole life: one pool
    // more each time a publisher remakes its handle. Round 1 sends a loan
    // (the topic's pool), round 2 an `Image::new` image (a process-pool
    // segment bound to the handle).
    let _w = watchdog(TIMEOUT, "dropped handle unmapped test");
    let ns = TestNs::new("handle_dropped");
    let sub = handle(&ns.name);
    let ns_handle = Namespace::open(&ns.name).unwrap();
    for (round, loan) in [(1, true), (2, false)] {
        let publisher = handle(&ns.name);
        send(&publisher, round, loan);
        let view = sub.recv().expect("the message");
        assert_eq!(check_fill(view.data()), Some(round));
        assert_eq!(sub.mapped_segments(), 1);
        drop(publisher);
        // A view keeps its segment...
        for _ in 0..1000 {
            assert!(sub.recv().is_none());
        }
        horus::shm::clean_namespace(&ns_handle, false).unwrap();
        assert_eq!(check_fill(view.data()), Some(round));
        assert_eq!(pool_segment_files(&ns).len(), 1, "round {round}");
        drop(view);
        // ...then the receiver unmaps it and the cleaner removes it.
        wait_until(20, "the dropped handle's segment removed", || {
            assert!(sub.recv().is_none());
            horus::shm::clean_namespace(&ns_handle, false).unwrap();
            pool_segment_files(&ns).is_empty()
        });
        assert_eq!(sub.mapped_segments(), 0);
    }
    drop(sub);
    assert_cleaned(&ns);
}

#[test]
fn a_planted_segment_name_is_a_typed_error_with_its_fix() {
    let _w = watchdog(TIMEOUT, "planted name test");
    let ns = TestNs::new("planted_name");
    let first = handle(&ns.name);
    send(&first, 1, true);
    let files = pool_segment_files(&ns);
    let name = files
        .iter()
        .find(|n| n.ends_with(".0"))
        .expect("segment 0 of the first handle");
    // The next handle's segment is segment 1: plant a file there.
    let planted = ns
        .path()
        .join(format!("{}1", name.strip_suffix('0').unwrap()));
    std::fs::write(&planted, b"not a segment").unwrap();
    let second = handle(&ns.name);
    let e = second.loan(W, H, Encoding::Rgb8).unwrap_err();
    let sentence = e.to_string();
    assert!(
        matches!(&e, horus::image::ImageError::Pool(PoolError::SegmentNameTaken { path, .. }) if *path == planted),
        "{sentence}"
    );
    assert!(
        sentence.contains(&planted.display().to_string()),
        "{sentence}"
    );
    assert!(sentence.contains("horus clean --shm"), "{sentence}");
    // The next send makes the segment under another id...
    send(&second, 2, true);
    assert_eq!(second.pool_segments(), 1);
    // ...and `horus clean --shm` (foreign files too) removes the planted
    // file (nobody maps it), not the live segments.
    let ns_handle = Namespace::open(&ns.name).unwrap();
    let report = horus::shm::clean_namespace(&ns_handle, true).unwrap();
    assert_eq!(report.removed, vec![planted.clone()]);
    assert!(!planted.exists());
    assert_eq!(pool_segment_files(&ns).len(), 2);
    drop((first, second));
    assert_cleaned(&ns);
}

#[test]
fn a_short_file_in_place_of_a_segment_is_a_typed_error_with_its_length() {
    let _w = watchdog(TIMEOUT, "short segment test");
    let ns = TestNs::new("short_segment");
    let sub = handle(&ns.name);
    let publisher = handle(&ns.name);
    send(&publisher, 1, true);
    let files = pool_segment_files(&ns);
    let [name] = files.as_slice() else {
        panic!("one segment expected: {files:?}");
    };
    // Another program replaces the segment before the receiver maps it
    // (the publisher keeps its mapping of the unlinked file).
    let path = ns.path().join(name);
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"thirteen byte").unwrap();
    let e = match sub.try_recv() {
        Some(Err(e)) => e,
        Some(Ok(_)) => panic!("a view of a 13-byte segment"),
        None => panic!("the message was not received"),
    };
    let sentence = e.to_string();
    assert!(
        matches!(&e, PoolError::CorruptSegment { path: p, .. } if *p == path),
        "{sentence}"
    );
    assert!(sentence.contains("truncated: 13 bytes"), "{sentence}");
    assert!(sentence.contains("horus clean --shm"), "{sentence}");
    // The publisher's drop leaves the planted file alone (not its inode);
    // `horus clean --shm` (foreign files too) removes it, nobody mapping it
    // (and the topic's region, every handle gone).
    drop((sub, publisher));
    assert!(path.exists());
    let ns_handle = Namespace::open(&ns.name).unwrap();
    let report = horus::shm::clean_namespace(&ns_handle, true).unwrap();
    assert!(report.removed.contains(&path), "{:?}", report.removed);
    assert_cleaned(&ns);
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::run_child(|role, args| match role {
        "holder" => common::hold_images_until_killed(TOPIC, args),
        other => panic!("unknown role {other}"),
    });
}
