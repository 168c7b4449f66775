//! Images over block pools in /dev/shm (`horus::image`, `horus::pool`).
//!
//! - A 640x480 rgb8 publisher at ~30 FPS and two subscribers in other
//!   processes (one slow, holding views): every frame's pixels verified,
//!   `received + dropped == published` for each.
//! - A subscriber holding every block never blocks the publisher: it gets a
//!   typed `PoolError::Exhausted` at the limit, at once.
//! - SIGKILL of a subscriber holding views (50 times): its holds are
//!   reclaimed, no block stays busy, the publisher goes on.
//! - SIGKILL of a publisher mid-fill (50 times, half of them filling images
//!   made by `Image::new`, from the process pool): a view of its last frame
//!   stays readable, the half-filled block is never delivered, and its
//!   segment files are removed once nobody maps them; publishers killed at
//!   random points of streaming (20 times) never tear a frame.
//! - Bad input: typed errors (zero size, unknown encoding, wrong size, odd
//!   yuv422 width, a frame too large for the pool, forged and stale frames).

mod common;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use common::{
    Peer, TestNs, check_fill, fill, next_command, pool_segment_files, say,
    wait_pool_segments_removed, wait_until, watchdog,
};
use horus::image::{Encoding, Image, ImageError, ImageFrame, ImageTopic};
use horus::pooled::PoolError;
use horus::prelude::*;
use horus::shm::Namespace;

const TOPIC: &str = "camera.rgb";
const W: u32 = 640;
const H: u32 = 480;
/// Only catches hangs (the watchdogs; a subscriber child's wait for the
/// frames): every byte of every frame is written and checked, and under
/// qemu-aarch64 the camera test takes about 27 s alone, a kill test 36 s
/// beside two others (it was 60 s: a watchdog could abort the binary).
const TIMEOUT: Duration = Duration::from_secs(600);

fn publisher(ns: &TestNs, blocks: u32, segments: u32) -> ImageTopic {
    ImageTopic::builder(TOPIC)
        .namespace(&ns.name)
        .blocks_per_segment(blocks)
        .max_segments(segments)
        .build()
        .unwrap()
}

#[test]
fn images_round_trip_in_one_process_with_and_without_copy() {
    let ns = TestNs::new("img_local");
    let pub_ = publisher(&ns, 4, 2);
    let sub = ImageTopic::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    let mut img = Image::new(W, H, "rgb8");
    fill(img.data_mut(), 1);
    pub_.send(img);
    let mut loaned = pub_.loan(W, H, Encoding::Rgb8).unwrap();
    assert!(loaned.is_loaned());
    fill(loaned.data_mut(), 2);
    pub_.try_send(loaned).unwrap();
    for seq in 1..=2 {
        let view = sub.recv().expect("a frame");
        assert_eq!((view.width(), view.height(), view.step()), (W, H, W * 3));
        assert_eq!(view.encoding(), Encoding::Rgb8);
        assert_eq!(check_fill(view.data()), Some(seq));
        assert_eq!(pub_.busy_blocks(), 1, "the view holds its block");
        drop(view);
        assert_eq!(pub_.busy_blocks(), 0, "dropping the view releases it");
    }
    assert!(sub.recv().is_none());
    assert_eq!((sub.received_count(), sub.dropped_count()), (2, 0));
    // The loan's segment of the topic's pool; and, unless another test's
    // handle of this process had its size class (then `Image::new`'s block
    // was copied into the topic's pool), the process pool's segment that
    // `Image::new`'s block came from, named after the topic at the send.
    let (info, unreadable) =
        horus::pool::segments_of(&Namespace::open(&ns.name).unwrap(), TOPIC).unwrap();
    assert!(unreadable.is_empty(), "{unreadable:?}");
    assert_eq!(pub_.pool_segments(), info.len());
    assert_eq!(pool_segment_files(&ns).len(), info.len());
    assert_eq!((info[0].pid, info[0].segment), (std::process::id(), 0));
    assert!(info[0].publisher_alive);
    assert_eq!((info[0].block_size, info[0].blocks), (W * H * 3, 4));
    let published: u32 = info.iter().map(|s| s.usage.published).sum();
    assert_eq!(published, 2);
    if let [_, process] = &info[..] {
        assert!(process.segment >= horus::process_pool::PROCESS_SEGMENT_BASE);
        assert_eq!(
            process.block_size,
            1 << 20,
            "the size class of 921,600 bytes"
        );
    } else {
        assert_eq!(info.len(), 1);
    }
    drop((pub_, sub));
}

/// A subscribing handle dropped after its views leaves the topic (the
/// shares of segments its reader keeps, cached and last used, are not
/// taken for views). One dropped while a view lives keeps its entry, whose
/// index the view's hold uses, until the process exits.
#[test]
fn a_subscriber_dropped_after_its_views_leaves_the_topic() {
    let ns = TestNs::new("img_leave");
    let pub_ = publisher(&ns, 4, 1);
    let subscribers = || {
        let dir = Namespace::open(&ns.name).unwrap();
        let info = horus::inspect::topic_info(&dir, TOPIC).unwrap().unwrap();
        info.subscribers().count()
    };
    let join = || {
        ImageTopic::builder(TOPIC)
            .namespace(&ns.name)
            .build()
            .unwrap()
    };
    let sub = join();
    pub_.send(Image::new(W, H, "rgb8"));
    drop(sub.recv().expect("a frame"));
    // Idle receives, fewer than the 16 after which the reader may look for
    // dead publishers and drop its shares of their segments.
    for _ in 0..4 {
        assert!(sub.recv().is_none());
    }
    assert_eq!(subscribers(), 1);
    drop(sub);
    assert_eq!(subscribers(), 0, "the subscriber had no view left");
}

#[test]
fn a_rewind_over_a_view_still_held_says_to_drop_it() {
    let ns = TestNs::new("img_rewind");
    let pub_ = publisher(&ns, 4, 1);
    let sub = ImageTopic::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    for seq in 1..=2 {
        let mut img = pub_.loan(W, H, Encoding::Rgb8).unwrap();
        fill(img.data_mut(), seq);
        pub_.try_send(img).unwrap();
    }
    let first = sub.recv().expect("frame 1");
    drop(sub.recv().expect("frame 2"));
    // Replayed while `first` still holds its block: skipped, with the
    // sentence that names the fix; frame 2 replays.
    sub.rewind();
    match sub.try_recv() {
        Some(Err(e @ PoolError::HeldByThisHandle { .. })) => {
            let text = e.to_string();
            assert!(
                text.contains("camera.rgb") && text.contains("drop that view"),
                "{text}"
            );
        }
        other => panic!("frame 1 replayed over its view gave {other:?}"),
    }
    assert_eq!(
        check_fill(sub.recv().expect("frame 2 again").data()),
        Some(2)
    );
    assert_eq!(sub.rejected_count(), 1);
    // Once the view is dropped, a rewind replays both.
    assert_eq!(check_fill(first.data()), Some(1), "the held view is intact");
    drop(first);
    sub.rewind();
    for seq in 1..=2 {
        assert_eq!(check_fill(sub.recv().expect("a replay").data()), Some(seq));
    }
    assert!(sub.recv().is_none());
    drop((pub_, sub));
}

#[test]
fn bad_input_gives_typed_errors() {
    assert!(matches!(
        Image::try_new(0, 480, "rgb8"),
        Err(ImageError::ZeroSize { width: 0, .. })
    ));
    assert!(matches!(
        Image::try_new(640, 480, "rgb9"),
        Err(ImageError::UnknownEncoding { .. })
    ));
    assert!(matches!(
        Image::try_new(641, 480, "yuv422"),
        Err(ImageError::OddWidth { width: 641 })
    ));
    assert!(matches!(
        Image::from_data(4, 4, Encoding::Mono16, vec![0; 16]),
        Err(ImageError::WrongDataSize {
            expected: 32,
            found: 16,
            ..
        })
    ));
    let e = Image::try_new(640, 480, "RGB8").unwrap_err().to_string();
    assert!(e.contains("rgb8, bgr8"), "{e}");
    let panic = std::panic::catch_unwind(|| Image::new(640, 480, "rgb9"))
        .unwrap_err()
        .downcast::<String>()
        .unwrap();
    assert!(panic.contains("unknown image encoding \"rgb9\""), "{panic}");

    let ns = TestNs::new("img_bad");
    let pub_ = publisher(&ns, 2, 1);
    let sub = ImageTopic::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    pub_.send(pub_.loan(64, 64, Encoding::Mono8).unwrap());
    // Larger than the blocks sized by the first loan: typed, counted.
    assert!(matches!(
        pub_.loan(128, 128, Encoding::Mono8),
        Err(ImageError::Pool(PoolError::TooLarge { bytes: 16384, .. }))
    ));
    // A block of another topic's pool is copied into this one's: too large.
    let other = ImageTopic::builder("other.rgb")
        .namespace(&ns.name)
        .build()
        .unwrap();
    let big = other.loan(128, 128, Encoding::Mono8).unwrap();
    assert!(matches!(
        pub_.try_send(big),
        Err(PoolError::TooLarge { bytes: 16384, .. })
    ));
    pub_.send(other.loan(128, 128, Encoding::Mono8).unwrap());
    assert_eq!(pub_.unsent_count(), 1);
    drop(other);
    let good = sub.recv().expect("the first image");
    let f = good.descriptor();
    drop(good);

    // Forged frames, written into the ring by a plain topic handle.
    let raw: Topic<ImageFrame> = Topic::builder(TOPIC).namespace(&ns.name).build().unwrap();
    let forged = [
        (ImageFrame { encoding: 99, ..f }, "unknown encoding code 99"),
        (
            ImageFrame {
                len: f.len + 1,
                ..f
            },
            "its image needs 4096 bytes, the descriptor says 4097",
        ),
        (ImageFrame { width: 0, ..f }, "0x64"),
        (
            ImageFrame { step: 65, ..f },
            "rows of 64 bytes, the frame says 65",
        ),
        (ImageFrame { block: 1000, ..f }, "1000"),
        (
            ImageFrame { owner: 0, ..f },
            "publisher token 0x0 is invalid",
        ),
    ];
    for (frame, why) in forged {
        raw.send(frame);
        match sub.try_recv() {
            Some(Err(PoolError::ForeignDescriptor { reason, .. })) => {
                assert!(reason.contains(why), "forged {frame:?}: {reason:?}")
            }
            other => panic!("forged {frame:?} gave {other:?}"),
        }
    }
    assert_eq!(sub.rejected_count(), 6);
    // Stale: an old generation, and a publisher whose pool does not exist.
    let dropped = sub.dropped_count();
    raw.send(ImageFrame {
        generation: f.generation + 7,
        ..f
    });
    raw.send(ImageFrame {
        owner: 12345 << 32 | 1,
        ..f
    });
    assert!(sub.try_recv().is_none());
    assert_eq!(sub.dropped_count(), dropped + 2);

    // Files planted at the names of ten more segments of the publisher and
    // kept exclusively locked (by a hostile process: no HORUS process ever
    // holds a named segment so): each descriptor naming one is refused,
    // after a short wait the first time and none for a while after, never
    // after the seconds a file being created may take.
    let real = pool_segment_files(&ns)
        .into_iter()
        .find(|n| {
            n.starts_with(&format!("{TOPIC}.pool.")) && n.ends_with(&format!(".{}", f.segment))
        })
        .expect("the publisher's segment");
    let stem = real.strip_suffix(&format!(".{}", f.segment)).unwrap();
    let planted: Vec<std::fs::File> = (100..110)
        .map(|id| {
            let path = ns.path().join(format!("{stem}.{id}"));
            let file = std::fs::File::create(&path).unwrap();
            file.set_len(4096).unwrap();
            rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
            file
        })
        .collect();
    let t = Instant::now();
    for round in 0..3 {
        for id in 100..110 {
            raw.send(ImageFrame { segment: id, ..f });
            match sub.try_recv() {
                Some(Err(PoolError::Segment { error, .. })) => {
                    assert!(error.to_string().contains("exclusive lock"), "{error}")
                }
                other => panic!("round {round}, segment {id}: {other:?}"),
            }
        }
    }
    let took = t.elapsed();
    // Before: 1.5 s a descriptor (45 s); now about 10 ms per file.
    assert!(took < Duration::from_secs(10), "30 refusals took {took:?}");
    drop(planted);
    drop((pub_, sub, raw));
}

#[test]
fn a_subscriber_holding_every_block_never_blocks_the_publisher() {
    let _w = watchdog(TIMEOUT, "holding test");
    let ns = TestNs::new("img_hold");
    let pub_ = publisher(&ns, 2, 2);
    let sub = ImageTopic::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    let mut held = Vec::new();
    for seq in 1..=4 {
        let mut img = pub_.loan(W, H, Encoding::Rgb8).unwrap();
        fill(img.data_mut(), seq);
        pub_.try_send(img).unwrap();
        held.push(sub.recv().unwrap());
    }
    assert_eq!(pub_.pool_segments(), 2);
    let t = Instant::now();
    for _ in 0..100 {
        assert!(matches!(
            pub_.loan(W, H, Encoding::Rgb8),
            Err(ImageError::Pool(PoolError::Exhausted {
                segments: 2,
                blocks: 2,
                ..
            }))
        ));
    }
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the publisher waited"
    );
    for (i, v) in held.iter().enumerate() {
        assert_eq!(
            check_fill(v.data()),
            Some(i as u64 + 1),
            "a held frame was rewritten"
        );
    }
    held.truncate(1);
    pub_.try_send(pub_.loan(W, H, Encoding::Rgb8).unwrap())
        .unwrap();
    drop(held);
    drop((pub_, sub));
}

#[test]
fn a_30fps_camera_reaches_two_subscribers_in_other_processes_intact() {
    const FRAMES: u64 = 90;
    let _w = watchdog(TIMEOUT, "camera test");
    let ns = TestNs::new("img_camera");
    let pub_ = publisher(&ns, 8, 4);
    let mut fast = Peer::spawn("sub", &ns.name, &[&FRAMES.to_string(), "0"]);
    let mut slow = Peer::spawn("sub", &ns.name, &[&FRAMES.to_string(), "6"]);
    fast.expect("ready", 30);
    slow.expect("ready", 30);
    let period = Duration::from_millis(33);
    let start = Instant::now();
    for seq in 1..=FRAMES {
        if seq % 2 == 0 {
            let mut img = Image::new(W, H, "rgb8");
            fill(img.data_mut(), seq);
            pub_.try_send(img).unwrap();
        } else {
            let mut img = pub_.loan(W, H, Encoding::Rgb8).unwrap();
            fill(img.data_mut(), seq);
            pub_.try_send(img).unwrap();
        }
        // Paced like a 30 FPS camera (the rate, not a wait for a condition).
        let next = start + period * seq as u32;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    for peer in [&mut fast, &mut slow] {
        let r = peer.expect("done", TIMEOUT.as_secs());
        let [received, dropped, torn]: [u64; 3] = core::array::from_fn(|i| r[i].parse().unwrap());
        eprintln!("subscriber: received {received}, dropped {dropped}, torn {torn}");
        assert_eq!(torn, 0, "torn or out-of-order frames");
        assert_eq!(
            received + dropped,
            FRAMES,
            "received {received} dropped {dropped}"
        );
        assert!(received > 0);
        peer.wait_success(30);
    }
    assert_eq!(pub_.unsent_count(), 0);
    drop(pub_);
}

#[test]
fn a_killed_subscriber_holding_views_leaks_no_block() {
    const KILLS: u64 = 50;
    let _w = watchdog(TIMEOUT, "killed subscriber test");
    let ns = TestNs::new("img_killsub");
    let pub_ = publisher(&ns, 2, 2);
    for round in 0..KILLS {
        let mut peer = Peer::spawn("holder", &ns.name, &["4"]);
        peer.expect("ready", 30);
        for seq in 1..=4 {
            let mut img = pub_.loan(64, 64, Encoding::Mono8).unwrap();
            fill(img.data_mut(), round * 10 + seq);
            pub_.try_send(img).unwrap();
            // Unheld published blocks are recycled first: let it take each.
            wait_until(30, "the holder to hold the frame", || {
                pub_.busy_blocks() == seq as u32
            });
        }
        peer.expect("held", 30);
        assert_eq!(pub_.busy_blocks(), 4);
        assert!(matches!(
            pub_.loan(64, 64, Encoding::Mono8),
            Err(ImageError::Pool(PoolError::Exhausted { .. }))
        ));
        peer.kill();
        // The next loan finds the pool exhausted, reclaims the dead
        // holder's bits (before freeing its entry), and succeeds.
        pub_.try_send(pub_.loan(64, 64, Encoding::Mono8).unwrap())
            .unwrap();
        assert_eq!(pub_.busy_blocks(), 0, "round {round}: a block stayed held");
    }
    drop(pub_);
}

/// Two subscribers in other processes hold the same four frames, in both of
/// the publisher's segments, and are killed together: one reclaim (the next
/// loan, which finds the pool exhausted) clears both dead holders' bits in
/// both segments.
#[test]
fn two_killed_subscribers_holding_views_in_two_segments_leak_no_block() {
    let _w = watchdog(TIMEOUT, "two killed subscribers test");
    let ns = TestNs::new("img_kill2");
    let pub_ = publisher(&ns, 2, 2);
    let mut peers: Vec<Peer> = (0..2)
        .map(|_| Peer::spawn("holder", &ns.name, &["4"]))
        .collect();
    for peer in &mut peers {
        peer.expect("ready", 30);
    }
    for seq in 1..=4 {
        let mut img = pub_.loan(64, 64, Encoding::Mono8).unwrap();
        fill(img.data_mut(), seq);
        pub_.try_send(img).unwrap();
        wait_until(30, "a holder to hold the frame", || {
            pub_.busy_blocks() == seq as u32
        });
    }
    for peer in &mut peers {
        peer.expect("held", 30);
    }
    // Four blocks held: both segments of two blocks.
    assert!(matches!(
        pub_.loan(64, 64, Encoding::Mono8),
        Err(ImageError::Pool(PoolError::Exhausted { .. }))
    ));
    for peer in &mut peers {
        peer.kill();
    }
    pub_.try_send(pub_.loan(64, 64, Encoding::Mono8).unwrap())
        .unwrap();
    assert_eq!(pub_.busy_blocks(), 0, "a block stayed held");
}

#[test]
fn a_publisher_killed_mid_fill_leaves_no_torn_frame_and_no_file() {
    const KILLS: u64 = 50;
    let _w = watchdog(TIMEOUT, "killed publisher test");
    let ns = TestNs::new("img_killpub");
    let sub = ImageTopic::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    for round in 1..=KILLS {
        // Odd rounds loan from the topic's pool, even ones make their images
        // with Image::new (the process pool, `horus::process_pool`).
        let made_by = if round % 2 == 0 { "new" } else { "loan" };
        let mut peer = Peer::spawn("filler", &ns.name, &[&round.to_string(), made_by]);
        peer.expect("filling", 30);
        let view = sub.recv().expect("the published frame");
        let segment = view.descriptor().segment;
        assert_eq!(
            segment >= horus::process_pool::PROCESS_SEGMENT_BASE,
            made_by == "new",
            "round {round}: segment {segment}"
        );
        peer.kill();
        // The dead publisher's segment stays mapped and readable while held.
        assert_eq!(check_fill(view.data()), Some(round));
        assert!(
            sub.recv().is_none(),
            "the half-filled block was never published"
        );
        // Its entry and loan are reclaimed; we unmap its segment even while
        // the view holds a block of it (the view keeps its own mapping)...
        sub.reclaim_dead();
        assert_eq!(sub.mapped_segments(), 0);
        assert_eq!(check_fill(view.data()), Some(round));
        drop(view);
        // ...and the cleaner removes it: nobody maps it any more.
        wait_pool_segments_removed(&ns, "the dead publisher's segment removed");
    }
    assert_eq!(sub.received_count(), KILLS);
    drop(sub);
}

#[test]
fn receivers_that_only_receive_unmap_a_dead_publisher_s_segments() {
    // A subscriber (and a tool, `horus topic echo`'s `RawTopic`) that never
    // calls `reclaim_dead`, as a program's receiving node does not: once the
    // ring is empty, it unmaps the segments of a publisher that died, so the
    // cleaner can remove them; kept mapped, they would pin the dead
    // publisher's pool in /dev/shm for the receiver's whole life, one pool
    // more at every restart of the publisher.
    let _w = watchdog(TIMEOUT, "dead publisher unmapped test");
    let ns = TestNs::new("img_unmapdead");
    let sub = ImageTopic::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    let raw = horus::inspect::RawTopic::open(&ns.name, TOPIC)
        .unwrap()
        .expect("the topic exists");
    let kind = raw.pooled_kind().expect("an image topic is pooled");
    let mut buf = vec![0u8; raw.message_size()];
    for round in 1..=3u64 {
        let mut peer = Peer::spawn("filler", &ns.name, &[&round.to_string(), "loan"]);
        peer.expect("filling", 30);
        let view = sub.recv().expect("the published frame");
        assert_eq!(check_fill(view.data()), Some(round));
        assert!(
            raw.recv_bytes(&mut buf).unwrap(),
            "round {round}: the tool's frame"
        );
        let (block, _) = kind.decode(&buf).expect("an image descriptor");
        let held = raw.hold_block(block).unwrap().expect("the block is held");
        assert_eq!(check_fill(held.data()), Some(round));
        drop((view, held));
        peer.kill();
        let ns_handle = Namespace::open(&ns.name).unwrap();
        wait_until(20, "the dead publisher's segment removed", || {
            assert!(sub.recv().is_none());
            assert!(!raw.recv_bytes(&mut buf).unwrap());
            horus::shm::clean_namespace(&ns_handle, false).unwrap();
            pool_segment_files(&ns).is_empty()
        });
        assert_eq!(sub.mapped_segments(), 0);
    }
    assert_eq!(sub.received_count(), 3);
    drop((sub, raw));
}

#[test]
fn publishers_killed_while_streaming_never_tear_a_frame() {
    const KILLS: u64 = 20;
    let _w = watchdog(TIMEOUT, "streaming kill test");
    let ns = TestNs::new("img_killstream");
    let sub = ImageTopic::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    let mut views = VecDeque::new();
    for run in 1..=KILLS {
        let mut peer = Peer::spawn("stream", &ns.name, &[&run.to_string()]);
        let (mut got, mut last) = (0, 0);
        wait_until(30, "three frames of this publisher", || {
            while let Some(v) = sub.recv() {
                let seq = check_fill(v.data()).expect("a torn frame");
                assert!(seq > last, "frames out of order");
                last = seq;
                got += u64::from(seq >> 32 == run);
                views.push_back(v); // hold a few across the kill
                if views.len() > 3 {
                    views.pop_front();
                }
            }
            got >= 3
        });
        peer.kill(); // at whatever point of its fill/send loop it is
        while let Some(v) = sub.recv() {
            assert!(
                check_fill(v.data()).is_some(),
                "a torn frame after the kill"
            );
        }
        for v in &views {
            assert!(check_fill(v.data()).is_some(), "a held frame changed");
        }
    }
    views.clear();
    sub.reclaim_dead();
    assert_eq!(sub.mapped_segments(), 0);
    wait_pool_segments_removed(&ns, "dead publishers' segments removed");
    drop(sub);
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::run_child(|role, args| match role {
        // Receives until received + dropped reaches args[0], keeping the last
        // args[1] views (a slow subscriber); says `done received dropped torn`.
        "sub" => {
            let frames: u64 = args[0].parse().unwrap();
            let keep: usize = args[1].parse().unwrap();
            let topic: Topic<Image> = Topic::new(TOPIC).unwrap();
            say("ready");
            let (mut torn, mut last) = (0u64, 0u64);
            let mut kept = VecDeque::new();
            let deadline = Instant::now() + TIMEOUT;
            while topic.received_count() + topic.dropped_count() < frames
                && Instant::now() < deadline
            {
                let Some(view) = topic.recv() else {
                    std::thread::yield_now();
                    continue;
                };
                match check_fill(view.data()) {
                    Some(seq) if seq > last && view.width() == W => last = seq,
                    _ => torn += 1,
                }
                if keep > 0 {
                    kept.push_back(view);
                    if kept.len() > keep {
                        kept.pop_front();
                    }
                }
            }
            drop(kept);
            say(&format!(
                "done {} {} {torn}",
                topic.received_count(),
                topic.dropped_count()
            ));
        }
        "holder" => common::hold_images_until_killed(TOPIC, args),
        // Publishes frame args[0], then takes a block, fills half of it and
        // says `filling`; waits to be killed. Blocks are loaned from the
        // topic's pool, or with args[1] `new` made by Image::new.
        "filler" => {
            let seq: u64 = args[0].parse().unwrap();
            let topic = ImageTopic::builder(TOPIC)
                .blocks_per_segment(2)
                .max_segments(1)
                .build()
                .unwrap();
            let make = || match args[1].as_str() {
                "new" => Image::new(64, 64, "mono8"),
                _ => topic.loan(64, 64, Encoding::Mono8).unwrap(),
            };
            let mut img = make();
            fill(img.data_mut(), seq);
            topic.try_send(img).unwrap();
            let mut next = make();
            let half = next.data().len() / 2;
            next.data_mut()[..half].fill(0xee);
            say("filling");
            let _ = next_command();
            std::process::exit(0);
        }
        // Streams 160x120 rgb8 frames `run << 32 | n` as fast as it can, in
        // place, until killed.
        "stream" => {
            let run: u64 = args[0].parse().unwrap();
            let topic: Topic<Image> = Topic::new(TOPIC).unwrap();
            for n in 1.. {
                // Small frames: the kill moments matter here, not the size.
                match topic.loan(W / 4, H / 4, Encoding::Rgb8) {
                    Ok(mut img) => {
                        fill(img.data_mut(), run << 32 | n);
                        topic.send(img);
                    }
                    Err(_) => std::thread::yield_now(),
                }
            }
        }
        other => panic!("unknown role {other}"),
    });
}
