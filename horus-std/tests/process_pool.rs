//! `Image::new` & co. over the process pool (`horus::process_pool`): the
//! bytes of a constructed message are a block of this process's pool, and
//! `send` moves only its descriptor.
//!
//! - Across processes: a publisher of `Image::new` + `data_mut` + `send`,
//!   a subscriber in another process: every frame's pixels verified, every
//!   frame's block in the publisher's process pool (a copy would put it in
//!   the topic's pool, segment ids below `PROCESS_SEGMENT_BASE`), the
//!   publisher's copy counter 0, `received + dropped == published`.
//! - SIGKILL of subscribers holding views (10 times) of a publisher whose
//!   process pool is at its limit: `try_new` is a typed, counted error while
//!   they hold, and the dead holders' blocks come back. (SIGKILL of a
//!   publisher mid-fill of an `Image::new` image: `image_pool.rs`.)
//! - `horus clean` removes a dead publisher's process-pool segment, never a
//!   live one's; forged descriptors naming it get typed errors, counted.
//! - Constructors of every kind give zeroed blocks, recycled ones too.
//! - Threads sending on their own topics copy nothing; one thread sending
//!   on two topics (a stereo pair, in either order) copies only the first
//!   round's second image, and so does an RGB-D camera (an image and a
//!   depth image of one size class); images made by one thread and sent by
//!   another are not copied.

mod common;

use std::time::Duration;

use common::{
    Peer, TestNs, check_fill, fill, next_command, pool_segment_files, say, wait_until, watchdog,
};
use horus::depth::DepthImage;
use horus::image::{Image, ImageFrame, ImageTopic};
use horus::pooled::PoolError;
use horus::prelude::*;
use horus::process_pool::PROCESS_SEGMENT_BASE;
use horus::shm::Namespace;

const TOPIC: &str = "camera.rgb";
const W: u32 = 640;
const H: u32 = 480;
/// Only catches hangs (the watchdogs; the wait for every frame of the
/// cross-process test): every byte of every frame is written and checked,
/// and under qemu-aarch64 that test takes about 24 s alone (it waited 60 s,
/// under a watchdog of 120 s).
const TIMEOUT: Duration = Duration::from_secs(600);

fn subscriber(ns: &TestNs) -> ImageTopic {
    ImageTopic::builder(TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap()
}

#[test]
fn image_new_frames_reach_another_process_without_a_copy() {
    const FRAMES: u64 = 120;
    let _w = watchdog(TIMEOUT, "cross-process test");
    let ns = TestNs::new("pp_cross");
    let sub = subscriber(&ns);
    let mut publisher = Peer::spawn("pub", &ns.name, &[&FRAMES.to_string()]);
    publisher.expect("ready", 30);
    publisher.tell("go");
    let mut last = 0;
    wait_until(TIMEOUT.as_secs(), "every frame received or dropped", || {
        while let Some(view) = sub.recv() {
            let seq = check_fill(view.data()).expect("a torn or wrong frame");
            assert!(seq > last, "frames out of order");
            last = seq;
            let d = view.descriptor();
            assert!(
                d.segment >= PROCESS_SEGMENT_BASE,
                "frame {seq} came from the topic's pool: it was copied"
            );
        }
        sub.received_count() + sub.dropped_count() >= FRAMES
    });
    let r = publisher.expect("sent", 30);
    let [zero_copy, copied, refused, heap, unsent]: [u64; 5] =
        core::array::from_fn(|i| r[i].parse().unwrap());
    assert_eq!((copied, refused, heap, unsent), (0, 0, 0, 0));
    assert_eq!(zero_copy, FRAMES);
    assert_eq!(sub.received_count() + sub.dropped_count(), FRAMES);
    assert!(sub.received_count() > 0);
    assert_eq!(sub.rejected_count(), 0);
    publisher.tell("exit");
    publisher.wait_success(30);
    drop(sub);
}

#[test]
fn killed_holders_leak_no_block_of_a_full_process_pool() {
    const KILLS: usize = 10;
    let _w = watchdog(TIMEOUT, "killed holders test");
    let ns = TestNs::new("pp_killsub");
    let mut publisher = Peer::spawn("limited", &ns.name, &[]);
    publisher.expect("ready", 30);
    for round in 0..KILLS {
        let mut holder = Peer::spawn("holder", &ns.name, &["8"]);
        holder.expect("ready", 30);
        for _ in 0..8 {
            publisher.tell("send");
            publisher.expect("sent", 30);
        }
        holder.expect("held", 30);
        publisher.tell("busy");
        assert_eq!(publisher.expect("busy", 30), ["8"], "round {round}");
        // Every block of the one segment the limit allows is held.
        publisher.tell("try");
        assert_eq!(publisher.expect("try", 30), ["full"], "round {round}");
        holder.kill();
        // At the limit, the pool reclaims what dead receivers hold.
        publisher.tell("try");
        assert_eq!(publisher.expect("try", 30), ["ok"], "round {round}");
        publisher.tell("busy");
        assert_eq!(
            publisher.expect("busy", 30),
            ["0"],
            "round {round}: a block leaked"
        );
    }
    publisher.tell("refused");
    assert_eq!(publisher.expect("refused", 30), [KILLS.to_string()]);
    publisher.tell("exit");
    publisher.wait_success(30);
}

#[test]
fn clean_removes_a_dead_publishers_process_pool_and_never_a_live_one() {
    let _w = watchdog(TIMEOUT, "clean test");
    let ns = TestNs::new("pp_clean");
    let ns_handle = Namespace::open(&ns.name).unwrap();
    let mut publisher = Peer::spawn("pub", &ns.name, &["1"]);
    publisher.expect("ready", 30);
    publisher.tell("go");
    publisher.expect("sent", 30);
    let files = pool_segment_files(&ns);
    assert_eq!(files.len(), 1, "{files:?}");
    let pid = publisher.child.id();
    assert!(
        files[0].starts_with(&format!("{TOPIC}.pool.{pid}-")),
        "{files:?}"
    );
    let id: u32 = files[0].rsplit('.').next().unwrap().parse().unwrap();
    assert!(id >= PROCESS_SEGMENT_BASE);
    for _ in 0..3 {
        let report = horus::shm::clean_namespace(&ns_handle, true).unwrap();
        assert!(
            report.live.iter().any(|p| p.ends_with(&files[0])),
            "{report:?}"
        );
        assert_eq!(
            pool_segment_files(&ns),
            files,
            "a live publisher's pool removed"
        );
    }
    publisher.kill();
    let report = horus::shm::clean_namespace(&ns_handle, false).unwrap();
    assert!(
        report.removed.iter().any(|p| p.ends_with(&files[0])),
        "{report:?}"
    );
    assert!(pool_segment_files(&ns).is_empty());
}

#[test]
fn forged_descriptors_naming_the_process_pool_get_typed_errors() {
    let _w = watchdog(TIMEOUT, "forged descriptor test");
    let ns = TestNs::new("pp_forged");
    let sub = subscriber(&ns);
    let mut publisher = Peer::spawn("pub", &ns.name, &["1"]);
    publisher.expect("ready", 30);
    publisher.tell("go");
    publisher.expect("sent", 30);
    let view = sub.recv().expect("the frame");
    let f = view.descriptor();
    assert!(f.segment >= PROCESS_SEGMENT_BASE);
    drop(view);
    let raw: Topic<ImageFrame> = Topic::builder(TOPIC).namespace(&ns.name).build().unwrap();
    for frame in [
        ImageFrame { block: 1000, ..f },
        ImageFrame {
            block: u32::MAX,
            ..f
        },
        ImageFrame {
            len: f.len + 1,
            ..f
        },
        ImageFrame { owner: 0, ..f },
    ] {
        raw.send(frame);
        match sub.try_recv() {
            Some(Err(PoolError::ForeignDescriptor { reason, .. })) => assert!(!reason.is_empty()),
            other => panic!("forged {frame:?} gave {other:?}"),
        }
    }
    assert_eq!(sub.rejected_count(), 4);
    // Stale: a generation never published, a segment that does not exist.
    let dropped = sub.dropped_count();
    for frame in [
        ImageFrame {
            generation: f.generation + 7,
            ..f
        },
        ImageFrame { generation: 0, ..f },
        ImageFrame {
            segment: f.segment + 1000,
            ..f
        },
        ImageFrame {
            segment: PROCESS_SEGMENT_BASE - 1,
            ..f
        },
    ] {
        raw.send(frame);
    }
    assert!(sub.try_recv().is_none());
    assert_eq!(sub.dropped_count(), dropped + 4);
    // The real frame is still readable.
    raw.send(f);
    let again = sub.recv().expect("the real frame");
    assert_eq!(check_fill(again.data()), Some(1));
    drop(again);
    publisher.tell("exit");
    publisher.wait_success(30);
    drop((sub, raw));
}

#[test]
fn constructors_of_every_kind_give_zeroed_blocks_of_the_process_pool() {
    let ns = TestNs::new("pp_zero");
    let topic = ImageTopic::builder("zero.img")
        .namespace(&ns.name)
        .build()
        .unwrap();
    // No subscriber: each sent block is recycled by a later loan.
    for round in 0..300 {
        let mut img = Image::new(64, 64, "mono8");
        assert!(img.is_loaned());
        assert!(
            img.data().iter().all(|&b| b == 0),
            "round {round}: not zeroed"
        );
        img.data_mut().fill(0xff);
        topic.send(img);
    }
    let t = Tensor::new(&[16, 16], "float32");
    assert!(t.is_loaned() && t.data().iter().all(|&b| b == 0));
    let d = DepthImage::new(8, 8, "depth16");
    assert!(d.is_loaned() && d.data().iter().all(|&b| b == 0));
    let c = PointCloud::xyz(100);
    assert!(c.is_loaned() && c.data().iter().all(|&b| b == 0));
    let s = horus::process_pool::stats();
    assert!(s.segments >= 1 && s.bytes > 0, "{s:?}");
    drop((t, d, c, topic));
}

#[test]
fn each_thread_sending_on_its_own_topic_copies_nothing() {
    let _w = watchdog(TIMEOUT, "two topics test");
    let ns = TestNs::new("pp_threads");
    let mut child = Peer::spawn("two-topics", &ns.name, &[]);
    // Two threads, one topic each, same-sized images: no copy.
    let r = child.expect("threads", 60);
    assert_eq!(
        r,
        ["40", "0", "40", "0", "0"],
        "zero-copy sends, copies, frames received intact, dropped, segments left \
         (the threads' handles are gone, and with them their segments)"
    );
    // One thread sending on both topics, as a stereo camera does: both
    // images made, then both sent; or made and sent one after the other.
    // The pool predicts each image's topic from the order of the thread's
    // earlier sends, so only the first round's second image, made before
    // any send, comes from the first topic's segment and is copied; every
    // frame is received intact (or counted as dropped).
    for phase in ["both-made-then-sent", "made-and-sent-in-turn"] {
        let r = child.expect(phase, 60);
        let [zero_copy, copied, intact, dropped, segments]: [u64; 5] =
            core::array::from_fn(|i| r[i].parse().unwrap());
        assert_eq!((zero_copy, copied), (39, 1), "{phase}: {r:?}");
        assert_eq!(intact + dropped, 40, "{phase}: {r:?}");
        // One segment per topic, bound to handles dropped by now.
        assert_eq!(segments, 0, "{phase}: {r:?}");
    }
    // An RGB-D camera (an image and a depth image of one size class, both
    // made, then both sent): as the stereo pair.
    let r = child.expect("rgb-d", 60);
    let [zero_copy, copied, intact, dropped, segments]: [u64; 5] =
        core::array::from_fn(|i| r[i].parse().unwrap());
    assert_eq!((zero_copy, copied, segments), (39, 1, 0), "{r:?}");
    assert_eq!(intact + dropped, 40, "{r:?}");
    // Images made by one thread and sent by another: none copied, and all
    // from the one segment the first send bound (the maker learns where its
    // images go; it does not grow a segment per image).
    let r = child.expect("made-here-sent-there", 60);
    let [zero_copy, copied, intact, dropped, bound]: [u64; 5] =
        core::array::from_fn(|i| r[i].parse().unwrap());
    assert_eq!((zero_copy, copied, bound), (20, 0, 1), "{r:?}");
    assert_eq!(intact + dropped, 20, "{r:?}");
    child.wait_success(30);
}

/// The limit holds for every segment, the first included: a segment of a
/// large class takes as many blocks as the room left allows (not the eight
/// a 16.8 MB image's 32 MiB class would make: 256 MiB of /dev/shm), and a
/// message larger than the whole limit goes on the heap (copied when sent),
/// never past the limit and never a panic.
#[test]
fn the_process_pools_limit_holds_for_its_first_segment_and_the_largest_messages() {
    let _w = watchdog(TIMEOUT, "limit test");
    let ns = TestNs::new("pp_sizes");
    let mut child = Peer::spawn("sizes", &ns.name, &[]);
    let within = child.expect("within", 60);
    assert_eq!(within[0], "1", "segments: {within:?}");
    let bytes: u64 = within[1].parse().unwrap();
    assert!(bytes <= 64 << 20, "{bytes} bytes over a limit of 64 MiB");
    assert!(bytes >= 4097 * 4096, "{bytes} bytes cannot hold the image");
    let beyond = child.expect("beyond", 60);
    assert_eq!(
        beyond,
        [within[0].clone(), within[1].clone(), "1".to_owned()]
    );
    child.wait_success(60);
}

/// A segment that could not be made for a reason that passes (here the
/// descriptor limit) leaves the pool on: the message goes on the heap, and
/// once descriptors are free the next one is zero-copy again (it used to
/// turn the pool off for the rest of the process). And a topic whose
/// creation fails there leaves no temporary file behind (it used to, when
/// the descriptor that keeps the lock could not be made).
#[test]
fn a_process_out_of_descriptors_recovers_and_leaves_no_temporary_file() {
    let _w = watchdog(TIMEOUT, "descriptor limit test");
    let ns = TestNs::new("pp_fds");
    let mut child = Peer::spawn("fds", &ns.name, &[]);
    assert_eq!(child.expect("fds", 60), ["1", "1", "1"]);
    let init = child.expect("init", 60);
    assert_eq!(init[0], "true", "the topic was made with one descriptor");
    assert_eq!(init.get(1), None, "temporary files left: {init:?}");
    child.wait_success(60);
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::run_child(|role, args| match role {
        // On `go`, sends args[0] frames made with Image::new as fast as it
        // can; says `sent zero_copy copied refused heap unsent`; exits on
        // `exit`.
        "pub" => {
            let frames: u64 = args[0].parse().unwrap();
            let topic: Topic<Image> = Topic::new(TOPIC).unwrap();
            say("ready");
            assert_eq!(next_command().as_deref(), Some("go"));
            for seq in 1..=frames {
                let mut img = Image::new(W, H, "rgb8");
                fill(img.data_mut(), seq);
                topic.send(img);
            }
            let s = horus::process_pool::stats();
            say(&format!(
                "sent {} {} {} {} {}",
                s.zero_copy_sends,
                s.copied_sends,
                s.refused,
                s.heap_fallbacks,
                topic.unsent_count()
            ));
            while next_command().is_some_and(|c| c != "exit") {}
        }
        // A publisher whose process pool may hold one segment (8 blocks of
        // 1 MiB: 9 MiB has room for one such segment, not for a block more):
        // `send` one frame, `try` a new image (`try ok`/`try full`), `busy`
        // blocks, `refused` loans; `exit`.
        "limited" => {
            horus::process_pool::set_limit(9 << 20);
            let topic: Topic<Image> = Topic::new(TOPIC).unwrap();
            say("ready");
            let mut seq = 0;
            while let Some(cmd) = next_command() {
                match cmd.as_str() {
                    "send" => {
                        seq += 1;
                        let mut img = Image::new(W, H, "rgb8");
                        fill(img.data_mut(), seq);
                        topic.try_send(img).unwrap();
                        say(&format!("sent {seq}"));
                    }
                    "try" => match Image::try_new(W, H, "rgb8") {
                        Ok(_) => say("try ok"),
                        Err(horus::image::ImageError::Pool(PoolError::ProcessPoolFull {
                            ..
                        })) => say("try full"),
                        Err(e) => panic!("{e}"),
                    },
                    "busy" => say(&format!(
                        "busy {}",
                        horus::process_pool::stats().busy_blocks
                    )),
                    "refused" => say(&format!("refused {}", horus::process_pool::stats().refused)),
                    _ => break,
                }
            }
        }
        // Makes large images under small limits; says `sizes segments bytes
        // heap_fallbacks` after each.
        "sizes" => {
            let report = |what: &str| {
                let s = horus::process_pool::stats();
                say(&format!(
                    "{what} {} {} {}",
                    s.segments, s.bytes, s.heap_fallbacks
                ));
            };
            // 16.8 MB (a 32 MiB class): one block, not the 8 of 256 MiB.
            horus::process_pool::set_limit(64 << 20);
            let mut img = Image::try_new(4097, 4096, "mono8").unwrap();
            img.data_mut()[0] = 1;
            report("within");
            // Larger than the whole limit: on the heap, zeroed and writable.
            horus::process_pool::set_limit(8 << 20);
            let mut big = Image::try_new(4000, 4000, "mono8").unwrap();
            assert!(big.data().iter().all(|&b| b == 0));
            big.data_mut()[0] = 1;
            report("beyond");
            drop((img, big));
        }
        // Takes every descriptor its limit allows, makes an image (on the
        // heap: no segment can be made), frees them, then makes and sends
        // another; says `fds heap_fallbacks segments zero_copy_sends`.
        "fds" => {
            let topic: Topic<Image> = Topic::new(TOPIC).unwrap();
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            // SAFETY: sets this child's own descriptor limit from a valid struct.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
            let mut held = Vec::new();
            while let Ok(f) = std::fs::File::open("/dev/null") {
                held.push(f);
            }
            drop(Image::new(64, 64, "mono8"));
            drop(held);
            topic.try_send(Image::new(64, 64, "mono8")).unwrap();
            let s = horus::process_pool::stats();
            say(&format!(
                "fds {} {} {}",
                s.heap_fallbacks, s.segments, s.zero_copy_sends
            ));
            // One descriptor left: a new topic's file is made (under a
            // temporary name), but not the second descriptor its creation
            // needs. The temporary file must not stay behind.
            let dir = Namespace::open(&Namespace::current_name().unwrap()).unwrap();
            let mut held = Vec::new();
            while let Ok(f) = std::fs::File::open("/dev/null") {
                held.push(f);
            }
            held.pop();
            let made = Topic::<Image>::new("one.fd.left");
            drop(held);
            let left: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(".init."))
                .collect();
            say(&format!("init {} {}", made.is_err(), left.join(",")));
        }
        "holder" => common::hold_images_until_killed(TOPIC, args),
        // Sends 20 Image::new frames on each of two topics from two
        // threads (says `threads zero_copy copied intact dropped segments`),
        // then 20 on each from one thread: both made then both sent
        // (`both-made-then-sent ...`), then each sent once made
        // (`made-and-sent-in-turn ...`), then 20 RGB-D pairs (`rgb-d ...`),
        // then 20 made by one thread and
        // sent on one topic by another (`made-here-sent-there ...`); the
        // counts are those of the phase, then frames received intact and
        // dropped, then segments left (for the last phase: segments bound,
        // its topic handle still open).
        "two-topics" => {
            let run = |phase: &str, alternate: bool, in_turn: bool| {
                let before = horus::process_pool::stats();
                let names = ["cam.left", "cam.right"];
                let subs: Vec<Topic<Image>> =
                    names.iter().map(|n| Topic::new(n).unwrap()).collect();
                // `loaned` runs once the first round's images are made,
                // before they are sent.
                let make = |seq: u64| {
                    let mut img = Image::new(64, 64, "mono8");
                    fill(img.data_mut(), seq);
                    img
                };
                let send = |topics: &[&Topic<Image>], base: u64, loaned: &dyn Fn()| {
                    for i in 1..=20u64 {
                        if in_turn {
                            for t in topics {
                                t.try_send(make(base + i)).unwrap();
                            }
                            continue;
                        }
                        let imgs: Vec<Image> = topics.iter().map(|_| make(base + i)).collect();
                        if i == 1 {
                            loaned();
                        }
                        for (t, img) in topics.iter().zip(imgs) {
                            t.try_send(img).unwrap();
                        }
                    }
                };
                if alternate {
                    let pubs: Vec<Topic<Image>> =
                        names.iter().map(|n| Topic::new(n).unwrap()).collect();
                    send(&[&pubs[0], &pubs[1]], 0, &|| {});
                } else {
                    // Both threads loan their first image before either
                    // sends: the first loan makes a segment, and the second
                    // must not take a block of it (the first thread's send
                    // binds it to the first topic, and the second's would be
                    // copied).
                    let both_loaned = std::sync::Barrier::new(names.len());
                    std::thread::scope(|s| {
                        for n in names {
                            let (send, both_loaned) = (&send, &both_loaned);
                            s.spawn(move || {
                                let topic = Topic::new(n).unwrap();
                                send(&[&topic], 0, &|| {
                                    both_loaned.wait();
                                })
                            });
                        }
                    });
                }
                let (mut intact, mut dropped) = (0, 0);
                for sub in &subs {
                    while let Some(v) = sub.recv() {
                        intact += u64::from(check_fill(v.data()).is_some());
                    }
                    dropped += sub.dropped_count();
                }
                let after = horus::process_pool::stats();
                say(&format!(
                    "{phase} {} {} {intact} {dropped} {}",
                    after.zero_copy_sends - before.zero_copy_sends,
                    after.copied_sends - before.copied_sends,
                    after.segments
                ));
            };
            run("threads", false, false);
            run("both-made-then-sent", true, false);
            run("made-and-sent-in-turn", true, true);
            // An RGB-D camera: a colour and a depth image of one size class
            // (160x120 rgb8 and depth16: 57,600 and 38,400 bytes, 64 KiB),
            // both made, then both sent, on topics of two types.
            let before = horus::process_pool::stats();
            let rgb: Topic<Image> = Topic::new("cam.rgb").unwrap();
            let depth: Topic<DepthImage> = Topic::new("cam.depth").unwrap();
            let (rgb_in, depth_in): (Topic<Image>, Topic<DepthImage>) = (
                Topic::new("cam.rgb").unwrap(),
                Topic::new("cam.depth").unwrap(),
            );
            for seq in 1..=20 {
                let mut colour = Image::new(160, 120, "rgb8");
                let mut range = DepthImage::new(160, 120, "depth16");
                fill(colour.data_mut(), seq);
                fill(range.data_mut(), seq);
                rgb.try_send(colour).unwrap();
                depth.try_send(range).unwrap();
            }
            let mut intact = 0;
            while let Some(v) = rgb_in.recv() {
                intact += u64::from(check_fill(v.data()).is_some());
            }
            while let Some(v) = depth_in.recv() {
                intact += u64::from(check_fill(v.data()).is_some());
            }
            let dropped = rgb_in.dropped_count() + depth_in.dropped_count();
            drop((rgb, depth));
            let after = horus::process_pool::stats();
            say(&format!(
                "rgb-d {} {} {intact} {dropped} {}",
                after.zero_copy_sends - before.zero_copy_sends,
                after.copied_sends - before.copied_sends,
                after.segments
            ));
            // Made by one thread, sent by another (a camera thread handing
            // frames to a publishing thread): the maker's prediction learns
            // the sender's topic.
            let before = horus::process_pool::stats();
            let topic: Topic<Image> = Topic::new("cam.left").unwrap();
            let sub: Topic<Image> = Topic::new("cam.left").unwrap();
            let (tx, rx) = std::sync::mpsc::sync_channel::<Image>(2);
            std::thread::scope(|s| {
                s.spawn(move || {
                    for seq in 1..=20 {
                        let mut img = Image::new(64, 64, "mono8");
                        fill(img.data_mut(), seq);
                        tx.send(img).unwrap();
                    }
                });
                for img in rx {
                    topic.try_send(img).unwrap();
                }
            });
            let mut intact = 0;
            while let Some(v) = sub.recv() {
                intact += u64::from(check_fill(v.data()).is_some());
            }
            let dropped = sub.dropped_count();
            let after = horus::process_pool::stats();
            say(&format!(
                "made-here-sent-there {} {} {intact} {dropped} {}",
                after.zero_copy_sends - before.zero_copy_sends,
                after.copied_sends - before.copied_sends,
                after.bound
            ));
        }
        other => panic!("unknown role {other}"),
    });
}
