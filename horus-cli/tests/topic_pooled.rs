//! `horus topic list -v|echo|bw` on pooled topics (image, tensor, point
//! cloud) of a live 30 FPS publisher: the pool is listed, echo prints a
//! summary with a checksum of the block, bw counts the block's bytes.

mod common;

use common::{TestNs, forge_schema_entry, last_json, start_role, text};

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::child_main();
}

const FRAME: usize = 640 * 480 * 3;

#[test]
fn pooled_topics_list_their_pool_echo_a_summary_and_count_block_bytes() {
    let ns = TestNs::new("pooled_cli");
    let mut cam = start_role("camera", &ns.name, "camera.rgb");

    // list -v: the pool of each, text and JSON.
    let out = ns.run(&["topic", "list", "--verbose"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.contains(&format!("pool (image): pid {}", cam.child.id()))
            && listing.contains(&format!("blocks of {FRAME} B")),
        "{listing}"
    );
    assert!(listing.contains("pool (tensor): pid"), "{listing}");
    let out = ns.run(&["topic", "list", "--verbose", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let topics = v["topics"].as_array().expect("topics");
    let camera = topics
        .iter()
        .find(|t| t["name"] == "camera.rgb")
        .expect("camera.rgb listed");
    assert_eq!(camera["pool"][0]["block_size"], FRAME, "{camera}");
    assert_eq!(camera["pool"][0]["pid"], cam.child.id(), "{camera}");
    assert!(camera["pool"][0]["in_use"].as_u64().is_some(), "{camera}");
    assert_eq!(topics.len(), 3, "{v}");

    // info: the pool too, text and JSON.
    let out = ns.run(&["topic", "info", "camera.rgb", "--no-rate"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = text(&out.stdout);
    assert!(
        info.contains("pool:      the messages are descriptors of image blocks")
            && info.contains(&format!("  pid {} segment 0: ", cam.child.id()))
            && info.contains(&format!("blocks of {FRAME} B")),
        "{info}"
    );
    let out = ns.run(&["topic", "info", "camera.rgb", "--no-rate", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["pooled"], "image", "{v}");
    assert_eq!(v["pool"][0]["block_size"], FRAME, "{v}");

    // echo: a summary whose checksum is that of a whole frame.
    let out = ns.run(&["topic", "echo", "camera.rgb", "--once"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let echo = text(&out.stdout);
    let line = echo.lines().next().unwrap_or_default();
    let prefix = format!("image 640x480 rgb8 step 1920 bytes {FRAME} crc32 0x");
    let crc = line
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{echo}"));
    let crc = u32::from_str_radix(crc, 16).expect("hex crc");
    assert!(
        (0..251u8).any(|b| crc32fast::hash(&vec![b; FRAME]) == crc),
        "crc {crc:#x} is no whole frame's"
    );
    assert_eq!(echo.lines().nth(1), Some("---"), "{echo}");

    // echo --json: one document per message, layout and decoded descriptor.
    let out = ns.run(&["topic", "echo", "model.out", "--once", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(t["kind"], "tensor", "{t}");
    assert_eq!(t["layout"], "float32 [2, 3] strides [12, 4]", "{t}");
    assert_eq!(t["bytes"], 24, "{t}");
    assert_eq!(t["descriptor"]["rank"], 2, "{t}");
    assert!(t["error"].is_null() && t["crc32"].is_string(), "{t}");
    let out = ns.run(&["topic", "echo", "lidar.points", "--once"], 30);
    let echo = text(&out.stdout);
    assert!(
        echo.starts_with(
            "point cloud 100 points step 16 fields x:float32@0 y:float32@4 z:float32@8 \
             intensity:float32@12 bytes 1600 crc32 0x"
        ),
        "{echo}"
    );
    // --field still shows the descriptor itself.
    let out = ns.run(
        &["topic", "echo", "camera.rgb", "--once", "-f", "width"],
        30,
    );
    assert_eq!(text(&out.stdout), "width: 640\n---\n");

    // bw: the block's bytes and the descriptor's (48) per message, ~27.6 MB/s
    // at 30 FPS; generous bounds on a loaded machine.
    let out = ns.run(
        &["topic", "bw", "camera.rgb", "--duration", "2", "--json"],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = last_json(&out);
    assert_eq!(r["message_size"], FRAME + 48, "{r}");
    let (hz, bps) = (
        r["rate_hz"].as_f64().unwrap(),
        r["bytes_per_s"].as_f64().unwrap(),
    );
    assert!((3.0..=45.0).contains(&hz), "rate {hz}");
    assert!((bps - hz * (FRAME + 48) as f64).abs() < 1.0, "{r}");
    let out = ns.run(&["topic", "bw", "camera.rgb", "--duration", "1.5"], 30);
    let bw = text(&out.stdout);
    assert!(bw.contains(&format!("message: {} B", FRAME + 48)), "{bw}");
    assert!(cam.child.try_wait().unwrap().is_none(), "the camera died");

    // `topic pub` cannot fill a pool block: a usage error, not a made-up
    // descriptor that every subscriber refuses ("unknown encoding code 0").
    let out = ns.run(&["topic", "pub", "camera.rgb", "width=10"], 30);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("camera.rgb (ImageFrame) is a pooled image topic"),
        "{}",
        text(&out.stderr)
    );
}

/// A pooled topic whose stored self-description is hostile (a field of
/// the wrong size for its kind, one larger than 8 bytes for one element,
/// one whose offset overflows 32 bits): echo panicked decoding the
/// descriptor's fields; it says the fields cannot be shown and prints the
/// summary, exiting 0 as for a plain topic without a usable description.
#[test]
fn echo_of_a_pooled_topic_with_a_hostile_schema_says_so_and_does_not_panic() {
    use horus::image::Image;
    const I16: u8 = 4;
    const U64: u8 = 7;
    let cases = [
        (0, 1, I16, 1),           // index out of bounds
        (0, 16, U64, 1),          // range end out of range
        (0xFFFF_FFFC, 8, U64, 1), // offset + size overflows u32
    ];
    for (n, (offset, size, kind, count)) in cases.into_iter().enumerate() {
        let ns = TestNs::new(&format!("pooled_hostile{n}"));
        let cam: horus::Topic<Image> = horus::Topic::builder("cam")
            .namespace(&ns.name)
            .build()
            .unwrap();
        cam.send(Image::new(4, 4, "rgb8"));
        forge_schema_entry(&ns.path().join("cam.topic"), 0, offset, size, kind, count);
        let case = format!("offset {offset:#x} size {size} kind {kind} count {count}");

        let out = ns.run(&["topic", "echo", "cam", "--once", "--last"], 30);
        let (said, err) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{case}: {said}\n{err}");
        assert!(!err.contains("panicked"), "{case}: {err}");
        assert!(
            said.starts_with("image 4x4 rgb8 step 12 bytes 48 crc32 0x"),
            "{case}: {said}"
        );
        assert!(
            err.starts_with(
                "horus: cam (ImageFrame) has a self-description that does not fit its \
                 messages (its entry for field \"owner\" says "
            ) && err.contains("the descriptors' fields are not shown")
                && err.contains("run `horus clean --shm` to remove it"),
            "{case}: {err}"
        );

        let out = ns.run(&["topic", "echo", "cam", "--once", "--last", "--json"], 30);
        let (said, err) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{case}: {said}\n{err}");
        assert!(!err.contains("panicked"), "{case}: {err}");
        assert!(
            err.contains("cam (ImageFrame) has a self-description that does not fit its messages"),
            "{case}: {err}"
        );
        let v: serde_json::Value = serde_json::from_str(&said).expect("json");
        assert_eq!(v["layout"], "4x4 rgb8 step 12", "{case}: {v}");
        assert_eq!(v["descriptor"], serde_json::json!({}), "{case}: {v}");
        drop(cam);
    }
}

/// `bw` of a pooled topic whose descriptors are forged (an unknown
/// encoding and a 4 GB length; or a valid 4 GB layout in a block the pool
/// does not have): it counted the length each claims, ~1e11 B/s at 25 Hz;
/// a refused descriptor is its own 48 bytes only, and the reports say how
/// many were refused.
#[test]
fn bw_counts_no_block_bytes_of_refused_descriptors() {
    use horus::image::{Image, ImageFrame};
    use std::sync::atomic::{AtomicBool, Ordering};
    let ns = TestNs::new("pooled_bw_forged");
    let cam: horus::Topic<Image> = horus::Topic::builder("cam")
        .namespace(&ns.name)
        .build()
        .unwrap();
    let sub: horus::Topic<Image> = horus::Topic::builder("cam")
        .namespace(&ns.name)
        .build()
        .unwrap();
    cam.send(Image::new(4, 4, "rgb8"));
    let f = sub.recv().expect("the image").descriptor();
    let forged = [
        ImageFrame {
            encoding: 999,
            len: 4_000_000_000,
            ..f
        },
        ImageFrame {
            block: 1000,
            len: 4_000_000_000,
            width: 50_000,
            height: 80_000,
            step: 50_000,
            encoding: horus::image::Encoding::Mono8.code(),
            ..f
        },
    ];
    assert!(
        horus::pooled::PooledKind::Image
            .decode(horus::__private::bytemuck::bytes_of(&forged[1]))
            .is_some_and(|(_, layout)| layout.is_ok()),
        "the second forgery's layout is valid"
    );
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let raw: horus::Topic<ImageFrame> = horus::Topic::builder("cam")
                .namespace(&ns.name)
                .build()
                .unwrap();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                raw.send(forged[n % 2]);
                std::thread::sleep(std::time::Duration::from_millis(40));
            }
        });
        let json = ns.run(&["topic", "bw", "cam", "--duration", "1.5", "--json"], 30);
        let plain = ns.run(&["topic", "bw", "cam", "--duration", "1.5"], 30);
        stop.store(true, Ordering::Relaxed);

        assert!(json.status.success(), "{}", text(&json.stderr));
        let r = last_json(&json);
        let (hz, bps) = (
            r["rate_hz"].as_f64().unwrap(),
            r["bytes_per_s"].as_f64().unwrap(),
        );
        assert_eq!(r["message_size"], 48, "{r}");
        assert!((bps - hz * 48.0).abs() < 1.0, "{r}");
        assert!(r["refused"].as_u64().is_some_and(|n| n >= 2), "{r}");

        assert!(plain.status.success(), "{}", text(&plain.stderr));
        let bw = text(&plain.stdout);
        let last = bw.lines().last().unwrap_or_default();
        assert!(
            last.contains("message: 48 B") && last.contains("  refused: "),
            "{bw}"
        );
    });
    drop((cam, sub));
}

/// `topic bw` reading descriptors whose blocks were recycled before it
/// could hold them (it lagged behind bursts on a two-block pool) reports
/// them as dropped, as a subscriber counts them, and keeps them out of the
/// rate and the message size (they were counted as 48-byte messages).
#[test]
fn bw_counts_descriptors_of_recycled_blocks_as_dropped() {
    use horus::image::{Encoding, ImageTopic};
    use std::sync::atomic::{AtomicBool, Ordering};
    let ns = TestNs::new("pooled_bw_recycled");
    let cam: ImageTopic = horus::Topic::builder("burst")
        .namespace(&ns.name)
        .blocks_per_segment(2)
        .max_segments(1)
        .build()
        .unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let stop = &stop;
        s.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..10 {
                    if let Ok(img) = cam.loan(4, 4, Encoding::Rgb8) {
                        let _ = cam.try_send(img);
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        let json = ns.run(&["topic", "bw", "burst", "--duration", "1.5", "--json"], 30);
        stop.store(true, Ordering::Relaxed);
        assert!(json.status.success(), "{}", text(&json.stderr));
        let r = last_json(&json);
        assert_eq!(r["message_size"], 48 + 48, "descriptor and pixels: {r}");
        assert!(r["dropped"].as_u64().is_some_and(|n| n > 0), "{r}");
        assert_eq!(r["refused"], 0, "{r}");
    });
}

/// `topic echo --json` of a descriptor whose block cannot be held shows
/// the error with a null `layout`, as documented (it kept the layout the
/// descriptor claimed).
#[test]
fn echo_json_of_a_refused_descriptor_has_no_layout() {
    use horus::image::{Image, ImageFrame};
    let ns = TestNs::new("pooled_echo_refused");
    let cam: horus::Topic<Image> = horus::Topic::builder("cam")
        .namespace(&ns.name)
        .build()
        .unwrap();
    cam.send(Image::new(4, 4, "rgb8"));
    let f = cam.recv().expect("the image").descriptor();
    let raw: horus::Topic<ImageFrame> = horus::Topic::builder("cam")
        .namespace(&ns.name)
        .build()
        .unwrap();
    raw.send(ImageFrame { block: 1000, ..f });
    let out = ns.run(&["topic", "echo", "cam", "--once", "--last", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v = last_json(&out);
    assert!(v["layout"].is_null(), "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("1000")),
        "{v}"
    );
    drop((cam, raw));
}

/// A file named as a segment of a topic's pool that cannot be read (here:
/// planted and kept locked by a hostile process) is shown with its sentence
/// by `topic list -v` and `topic info`, text and JSON: it used to be left
/// out silently.
#[test]
fn list_and_info_show_a_pool_segment_they_cannot_read() {
    let ns = TestNs::new("pool_unreadable");
    let mut cam = start_role("camera", &ns.name, "camera.rgb");
    let real = std::fs::read_dir(ns.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("camera.rgb.pool.") && n.ends_with(".0"))
        .expect("the camera's first segment");
    let planted_name = format!("{}.77", real.strip_suffix(".0").unwrap());
    let planted = std::fs::File::create(ns.path().join(&planted_name)).unwrap();
    planted.set_len(4096).unwrap();
    rustix::fs::flock(
        &planted,
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    )
    .unwrap();

    let out = ns.run(&["topic", "list", "--verbose"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let line = listing
        .lines()
        .find(|l| l.contains("pool (image): unreadable:"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(
        line.contains(&planted_name) && line.contains("exclusive lock"),
        "{line}"
    );
    assert!(
        listing.contains(&format!("pool (image): pid {}", cam.child.id())),
        "the readable segment is still listed: {listing}"
    );
    let out = ns.run(&["topic", "list", "--verbose", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let camera = v["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .find(|t| t["name"] == "camera.rgb")
        .expect("camera.rgb listed")
        .clone();
    let unreadable = camera["pool_unreadable"].as_array().expect("a list");
    assert_eq!(unreadable.len(), 1, "{camera}");
    assert!(
        unreadable[0]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(&planted_name)),
        "{camera}"
    );
    let model = v["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "model.out")
        .expect("model.out listed");
    assert_eq!(model["pool_unreadable"], serde_json::json!([]), "{model}");

    let out = ns.run(&["topic", "info", "camera.rgb", "--no-rate"], 30);
    let info = text(&out.stdout);
    assert!(
        info.lines()
            .any(|l| l.starts_with("  unreadable: ") && l.contains(&planted_name)),
        "{info}"
    );
    let out = ns.run(&["topic", "info", "camera.rgb", "--no-rate", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["pool_unreadable"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
    drop(planted);
    std::fs::remove_file(ns.path().join(&planted_name)).unwrap();
    assert!(cam.child.try_wait().unwrap().is_none(), "the camera died");
}
