//! Tensor, DepthImage and PointCloud over block pools (`horus::pooled`).
//!
//! - Each crosses processes: a publisher sends messages whose layout and
//!   bytes are a function of their sequence number (some loaned, some
//!   copied), a subscriber in another process verifies every one (layout,
//!   typed accessors, every byte) and `received + dropped == published`.
//! - Bad input to every constructor is a typed error (and `new` panics with
//!   its sentence).
//! - Hostile descriptors written into the rings by plain topic handles
//!   (block index out of range, stale generation, bad dtype/rank/strides,
//!   non-depth encoding, bad point fields) are refused with a typed error or
//!   counted as dropped, never read.

mod common;

use std::time::{Duration, Instant};

use common::{Peer, TestNs, check_fill, fill, say, watchdog};
use horus::depth::DepthLayout;
use horus::image::{Encoding, ImageError, ImageFrame};
use horus::pointcloud::{PointCloudError, PointCloudFrame, PointCloudLayout};
use horus::pooled::{PoolError, PoolView, Pooled, PooledLayout};
use horus::prelude::*;
use horus::tensor::{DType, TensorError, TensorFrame, TensorLayout};

/// Only catches hangs (the watchdogs; the subscriber child's wait for the
/// messages, and ours for its word): every byte of every message is written
/// and checked, and under qemu-aarch64 the depth images' round trip takes
/// about 10 s alone (it was 60 s, and 30 s for the word).
const TIMEOUT: Duration = Duration::from_secs(600);
const MESSAGES: u64 = 60;

/// The three kinds, with a layout per sequence number (sizes vary).
trait Kind: PooledLayout + PartialEq {
    const TOPIC: &'static str;
    /// Block size that fits every layout.
    const MAX_BYTES: u32;
    fn layout(seq: u64) -> Self;
    /// The typed accessors agree with the layout of `seq`.
    fn typed_ok(view: &PoolView<Self>, seq: u64) -> bool;
}

impl Kind for TensorLayout {
    const TOPIC: &'static str = "model.features";
    const MAX_BYTES: u32 = 3 * 16 * 16 * 4;
    fn layout(seq: u64) -> Self {
        TensorLayout::contiguous(DType::F32, &[1 + seq % 3, 16, 16]).unwrap()
    }
    fn typed_ok(v: &PoolView<Self>, seq: u64) -> bool {
        v.shape() == [1 + seq % 3, 16, 16]
            && v.strides() == [1024, 64, 4]
            && v.as_slice::<f32>().map(<[f32]>::len) == Some(v.numel() as usize)
            && v.get::<f32>(&[0, 0, 2]).map(f32::to_bits)
                == Some((seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 1) as u32)
    }
}

impl Kind for DepthLayout {
    const TOPIC: &'static str = "camera.depth";
    const MAX_BYTES: u32 = 640 * 480 * 4;
    fn layout(seq: u64) -> Self {
        let enc = [Encoding::Depth16, Encoding::F32C1][seq as usize % 2];
        DepthLayout::try_new(640, 480, enc).unwrap()
    }
    fn typed_ok(v: &PoolView<Self>, seq: u64) -> bool {
        match seq % 2 {
            0 => v.as_u16().map(<[u16]>::len) == Some(640 * 480) && v.as_f32().is_none(),
            _ => v.as_f32().map(<[f32]>::len) == Some(640 * 480) && v.as_u16().is_none(),
        }
    }
}

impl Kind for PointCloudLayout {
    const TOPIC: &'static str = "lidar.points";
    const MAX_BYTES: u32 = (1000 + 7) * 16;
    fn layout(seq: u64) -> Self {
        PointCloudLayout::xyzi(1000 + (seq % 8) as u32).unwrap()
    }
    fn typed_ok(v: &PoolView<Self>, seq: u64) -> bool {
        let n = 1000 + (seq % 8) as u32;
        v.points() == n
            && v.point(n - 1).is_some()
            && v.point(n).is_none()
            && v.get::<f32>("intensity", 0).is_some()
            && v.iter_xyz().count() == n as usize
    }
}

fn topic<L: Kind>(ns: &str) -> Topic<Pooled<L>> {
    Topic::<Pooled<L>>::builder(L::TOPIC)
        .namespace(ns)
        .block_size(L::MAX_BYTES)
        .blocks_per_segment(4)
        .max_segments(2)
        .build()
        .unwrap()
}

/// Publishes MESSAGES messages of `L` (odd ones loaned, even ones copied)
/// to a subscriber in another process, which checks each.
fn round_trip<L: Kind>(role: &str, test: &str) {
    let _w = watchdog(TIMEOUT, "round trip");
    let ns = TestNs::new(test);
    let pub_ = topic::<L>(&ns.name);
    let mut sub = Peer::spawn(role, &ns.name, &[]);
    sub.expect("ready", 30);
    let start = Instant::now();
    for seq in 1..=MESSAGES {
        let mut msg = if seq % 2 == 1 {
            pub_.loan_layout(L::layout(seq)).unwrap()
        } else {
            Pooled::zeroed(L::layout(seq))
        };
        fill(msg.data_mut(), seq);
        pub_.try_send(msg).unwrap();
        // Paced at 200 Hz (the rate, not a wait for a condition).
        let next = start + Duration::from_millis(5) * seq as u32;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let r = sub.expect("done", TIMEOUT.as_secs());
    let [received, dropped, bad]: [u64; 3] = core::array::from_fn(|i| r[i].parse().unwrap());
    eprintln!("{role}: received {received}, dropped {dropped}, bad {bad}");
    assert_eq!(bad, 0, "messages with wrong bytes or layout");
    assert_eq!(received + dropped, MESSAGES);
    assert!(received > 0);
    sub.wait_success(30);
    assert_eq!(pub_.unsent_count(), 0);
}

/// The subscriber of [`round_trip`]: says `done received dropped bad`.
fn subscribe<L: Kind>() {
    let topic: Topic<Pooled<L>> = Topic::new(L::TOPIC).unwrap();
    say("ready");
    let (mut bad, mut last) = (0u64, 0u64);
    let deadline = Instant::now() + TIMEOUT;
    while topic.received_count() + topic.dropped_count() < MESSAGES && Instant::now() < deadline {
        let Some(v) = topic.recv() else {
            std::thread::yield_now();
            continue;
        };
        match check_fill(v.data()) {
            Some(seq) if seq > last && *v.layout() == L::layout(seq) && L::typed_ok(&v, seq) => {
                last = seq
            }
            _ => bad += 1,
        }
    }
    say(&format!(
        "done {} {} {bad}",
        topic.received_count(),
        topic.dropped_count()
    ));
}

#[test]
fn tensors_cross_processes_intact() {
    round_trip::<TensorLayout>("tensor_sub", "tensor_xproc");
}

#[test]
fn depth_images_cross_processes_intact() {
    round_trip::<DepthLayout>("depth_sub", "depth_xproc");
}

#[test]
fn point_clouds_cross_processes_intact() {
    round_trip::<PointCloudLayout>("cloud_sub", "cloud_xproc");
}

fn panic_text(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    *std::panic::catch_unwind(f)
        .unwrap_err()
        .downcast::<String>()
        .unwrap()
}

#[test]
fn bad_tensors_give_typed_errors() {
    use TensorError as E;
    assert!(matches!(
        Tensor::try_new(&[2, 2], "float8"),
        Err(E::UnknownDType { .. })
    ));
    assert!(matches!(
        Tensor::try_new(&[2, 0], "u8"),
        Err(E::EmptyShape { .. })
    ));
    assert!(matches!(
        Tensor::try_new(&[], "u8"),
        Err(E::EmptyShape { .. })
    ));
    assert!(matches!(
        Tensor::try_new(&[1; 9], "u8"),
        Err(E::RankTooLarge { rank: 9 })
    ));
    assert!(matches!(
        Tensor::try_new(&[1 << 31, 4], "u8"),
        Err(E::TooLarge { .. })
    ));
    assert!(matches!(
        Tensor::from_data(&[3], DType::U16, vec![0; 5]),
        Err(E::WrongDataSize {
            expected: 6,
            found: 5,
            ..
        })
    ));
    assert!(matches!(
        Tensor::from_slice(&[2, 2], &[1.0f64; 3]),
        Err(E::WrongDataSize {
            expected: 32,
            found: 24,
            ..
        })
    ));
    let e = Tensor::try_new(&[2], "float8").unwrap_err().to_string();
    assert!(e.contains("uint8, int8"), "{e}");
    let p = panic_text(|| drop(Tensor::new(&[4, 0], "f32")));
    assert!(p.contains("has no elements"), "{p}");
}

#[test]
fn bad_depth_images_give_typed_errors() {
    use ImageError as E;
    assert!(matches!(
        DepthImage::try_new(4, 4, "rgb8"),
        Err(E::NotDepth { .. })
    ));
    assert!(matches!(
        DepthImage::try_new(4, 4, "depth17"),
        Err(E::UnknownEncoding { .. })
    ));
    assert!(matches!(
        DepthImage::try_new(0, 4, "depth16"),
        Err(E::ZeroSize { .. })
    ));
    assert!(matches!(
        DepthImage::from_mm(4, 4, &[0; 15]),
        Err(E::WrongDataSize {
            expected: 32,
            found: 30,
            ..
        })
    ));
    assert!(matches!(
        DepthImage::from_data(2, 2, Encoding::Mono8, vec![0; 4]),
        Err(E::NotDepth { .. })
    ));
    let p = panic_text(|| drop(DepthImage::new(4, 4, "bgr8")));
    assert!(p.contains("bgr8 is not a depth encoding"), "{p}");
}

#[test]
fn bad_point_clouds_give_typed_errors() {
    use PointCloudError as E;
    let f = |n: &str, o: u32| PointField::new(n, o, DType::F32);
    let xyz = [f("x", 0), f("y", 4), f("z", 8)];
    assert!(matches!(PointCloud::try_new(0, 12, &xyz), Err(E::NoPoints)));
    assert!(matches!(
        PointCloud::try_new(5, 12, &xyz[..2]),
        Err(E::MissingXyz)
    ));
    assert!(matches!(
        PointCloud::try_new(5, 10, &xyz),
        Err(E::FieldOutsidePoint {
            offset: 8,
            point_step: 10,
            ..
        })
    ));
    assert!(matches!(
        PointCloud::try_new(5, 16, &[xyz[0], xyz[1], xyz[2], f("x", 12)]),
        Err(E::DuplicateField { .. })
    ));
    let many: Vec<_> = (0..9).map(|i| f(&format!("f{i}"), i * 4)).collect();
    assert!(matches!(
        PointCloud::try_new(5, 64, &many),
        Err(E::TooManyFields { count: 9 })
    ));
    assert!(matches!(
        PointField::try_new("sixteen_chars_xx", 0, DType::U8),
        Err(E::BadFieldName { .. })
    ));
    assert!(matches!(
        PointField::try_new("", 0, DType::U8),
        Err(E::BadFieldName { .. })
    ));
    assert!(matches!(
        PointCloud::try_new(u32::MAX, 12, &xyz),
        Err(E::TooLarge { .. })
    ));
    let layout = PointCloudLayout::xyz(4).unwrap();
    assert!(matches!(
        PointCloud::from_data(layout, vec![0; 47]),
        Err(E::WrongDataSize {
            expected: 48,
            found: 47
        })
    ));
    assert!(matches!(PointCloud::from_xyz(&[]), Err(E::NoPoints)));
    // Fields sharing bytes: were accepted, and setting one changed the
    // other (x, y, z all at byte 0 read back [3, 3, 3] after [1, 2, 3]).
    let on_x = [f("x", 0), f("y", 0), f("z", 8)];
    assert!(matches!(
        PointCloud::try_new(5, 12, &on_x),
        Err(E::OverlappingFields {
            first_start: 0,
            first_end: 4,
            second_start: 0,
            second_end: 4,
            ..
        })
    ));
    let straddling = [
        xyz[0],
        xyz[1],
        xyz[2],
        PointField::new("rgb", 10, DType::U32),
    ];
    let e = PointCloud::try_new(5, 16, &straddling).unwrap_err();
    assert!(
        e.to_string()
            .contains("\"z\" (bytes 8..12) and \"rgb\" (bytes 10..14) overlap"),
        "{e}"
    );
    // Adjacent fields share no byte.
    let adjacent = [
        xyz[0],
        xyz[1],
        xyz[2],
        PointField::new("rgb", 12, DType::U32),
    ];
    assert!(PointCloud::try_new(5, 16, &adjacent).is_ok());
    let p = panic_text(|| drop(PointCloud::xyz(0)));
    assert!(p.contains("0 points"), "{p}");
}

#[test]
fn pool_options_out_of_range_fail_the_build_and_create_nothing() {
    use horus::error::{Error, TopicError};
    type Builder = horus::topic::TopicBuilder<Pooled<TensorLayout>>;
    type Case = (fn(Builder) -> Builder, &'static str, &'static str);
    let ns = TestNs::new("pool_opts");
    let build = |f: fn(Builder) -> Builder| f(Topic::builder("opts").namespace(&ns.name)).build();
    let cases: [Case; 7] = [
        (|b| b.max_segments(0), "max_segments(0)", "use 1 to"),
        (
            |b| b.blocks_per_segment(0),
            "blocks_per_segment(0)",
            "use 1 to",
        ),
        (
            |b| b.blocks_per_segment(u32::MAX),
            "blocks_per_segment(4294967295)",
            "use 1 to",
        ),
        (
            |b| b.block_size(1 << 31),
            "block_size(2147483648)",
            "leave it unset",
        ),
        (
            |b| b.block_size(u32::MAX),
            "block_size(4294967295)",
            "leave it unset",
        ),
        // Was taken as not given (blocks sized by the first message).
        (|b| b.block_size(0), "block_size(0)", "use 1 to"),
        // Was named as rounded up (and saturated): block_size(4294967295).
        (
            |b| b.block_size(u32::MAX - 10),
            "block_size(4294967285)",
            "leave it unset",
        ),
    ];
    for (set, option, fix) in cases {
        let e = build(set).expect_err(option);
        assert!(
            matches!(e, Error::Topic(TopicError::PoolOption { .. })),
            "{option}: {e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains(option) && text.contains(fix) && text.contains("\"opts\""),
            "{text}"
        );
    }
    // Nothing was created for any of them.
    let files: Vec<_> = std::fs::read_dir(ns.path())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !files
            .iter()
            .any(|f| f.to_string_lossy().starts_with("opts")),
        "{files:?}"
    );
    // The limits themselves are accepted.
    let t = build(|b| b.max_segments(1).blocks_per_segment(1).block_size(1)).unwrap();
    t.try_send(t.loan(DType::U8, &[64]).unwrap()).unwrap();
    assert!(matches!(
        t.loan(DType::U8, &[65]),
        Err(TensorError::Pool(PoolError::TooLarge {
            bytes: 65,
            block_size: 64,
            ..
        }))
    ));
}

#[test]
fn typed_accessors_read_what_was_written() {
    let mut t = Tensor::new(&[2, 3], "i16");
    t.as_slice_mut::<i16>()
        .unwrap()
        .copy_from_slice(&[0, 1, 2, 3, 4, -5]);
    assert_eq!(t.get::<i16>(&[1, 2]), Some(-5));
    assert_eq!(t.get::<i16>(&[2, 0]), None, "out of range");
    assert_eq!(t.get::<u16>(&[0, 0]), None, "wrong dtype");
    assert!(t.as_slice_mut::<f32>().is_none());

    let mut d = DepthImage::new(3, 2, "32FC1");
    d.as_f32_mut()
        .unwrap()
        .copy_from_slice(&[1.25, f32::NAN, 0.0, -1.0, 70.0, 0.5]);
    let mm: Vec<_> = (0..3).map(|x| d.depth_mm(x, 0)).collect();
    assert_eq!(mm, [Some(1250), None, None]);
    assert_eq!(
        (d.depth_m(0, 1), d.depth_mm(1, 1)),
        (None, None),
        "negative, > 65 m"
    );
    assert_eq!((d.depth_m(1, 1), d.depth_m(2, 1)), (Some(70.0), Some(0.5)));
    assert_eq!(d.depth_m(3, 0), None, "outside");
    assert!(d.as_u16().is_none());

    let mut c = PointCloud::xyzrgb(3);
    assert!(c.set_point(2, [1.0, 2.0, 3.0]));
    assert!(c.set("rgb", 2, 0x00ff_8000u32));
    assert!(!c.set("rgb", 2, 1.0f32), "wrong dtype");
    assert!(!c.set_point(3, [0.0; 3]), "not a point");
    assert_eq!(c.point(2), Some([1.0, 2.0, 3.0]));
    assert_eq!(c.get::<u32>("rgb", 2), Some(0x00ff_8000));
    assert_eq!(c.get::<u32>("intensity", 2), None);
}

/// A hostile ring: forged descriptors on a tensor topic.
#[test]
fn forged_tensor_descriptors_are_refused_or_dropped() {
    let ns = TestNs::new("tensor_forged");
    let pub_ = topic::<TensorLayout>(&ns.name);
    let sub = topic::<TensorLayout>(&ns.name);
    pub_.send(Tensor::from_slice(&[2, 2], &[1.0f32, 2.0, 3.0, 4.0]).unwrap());
    let good = sub.recv().expect("the tensor");
    assert_eq!(good.get::<f32>(&[1, 1]), Some(4.0));
    let f = good.descriptor();
    drop(good);

    let raw: Topic<TensorFrame> = Topic::builder(TensorLayout::TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    let mut strides_past_end = f;
    strides_past_end.strides[0] = 12;
    let mut huge = f; // a multiple of 4, far past the data
    huge.strides[0] = u32::MAX - 3;
    // Every dimension and stride at its largest: an extent past 2^64
    // (counted in 128 bits, refused, no overflow).
    let widest = TensorFrame {
        rank: 8,
        shape: [u32::MAX; 8],
        strides: [u32::MAX - 3; 8],
        ..f
    };
    let mut unaligned = f;
    unaligned.strides[1] = 2;
    let mut junk_past_rank = f;
    junk_past_rank.shape[5] = 7;
    let forged = [
        TensorFrame { block: 1000, ..f },
        TensorFrame {
            segment: 77,
            owner: 0,
            ..f
        },
        TensorFrame { dtype: 99, ..f },
        TensorFrame { rank: 9, ..f },
        TensorFrame { rank: 0, ..f },
        TensorFrame {
            len: f.len - 4,
            ..f
        },
        strides_past_end,
        huge,
        widest,
        unaligned,
        junk_past_rank,
    ];
    for frame in forged {
        raw.send(frame);
        match sub.try_recv() {
            Some(Err(PoolError::ForeignDescriptor { reason, kind, .. })) => {
                assert_eq!(kind, "tensor");
                assert!(!reason.is_empty());
            }
            other => panic!("forged {frame:?} gave {other:?}"),
        }
    }
    assert_eq!(sub.rejected_count(), forged.len() as u64);
    // Other strides are valid while every element lies in the block: the
    // transpose of the published [[1, 2], [3, 4]] (rows 4 bytes apart).
    pub_.send(Tensor::from_slice(&[2, 2], &[1.0f32, 2.0, 3.0, 4.0]).unwrap());
    let mut transposed = sub.recv().expect("the second tensor").descriptor();
    transposed.strides[..2].copy_from_slice(&[4, 8]);
    raw.send(transposed);
    let t = sub.recv().expect("a transposed view is valid");
    assert!(!t.is_contiguous() && t.as_slice::<f32>().is_none());
    assert_eq!(t.get::<f32>(&[0, 1]), Some(3.0));
    assert_eq!(t.get::<f32>(&[1, 0]), Some(2.0));
    drop(t);
    // Stale: an old generation, a segment the publisher never made.
    let dropped = sub.dropped_count();
    raw.send(TensorFrame {
        generation: f.generation + 1000,
        ..f
    });
    raw.send(TensorFrame { segment: 1, ..f });
    assert!(sub.try_recv().is_none());
    assert_eq!(sub.dropped_count(), dropped + 2);
    drop((pub_, sub, raw));
}

/// Was accepted, and `numel()` overflowed (a panic in debug, a wrapped
/// count in release): stride 0 passes the extent check whatever the shape.
/// A broadcast view (stride 0, as numpy's) is valid while its element count
/// and logical bytes fit; beyond, the descriptor is refused.
#[test]
fn a_tensor_descriptor_whose_element_count_overflows_is_refused() {
    let ns = TestNs::new("tensor_numel");
    let pub_ = topic::<TensorLayout>(&ns.name);
    let sub = topic::<TensorLayout>(&ns.name);
    pub_.send(Tensor::from_slice(&[2, 2], &[1.0f32, 2.0, 3.0, 4.0]).unwrap());
    let f = sub.recv().expect("the tensor").descriptor();
    let raw: Topic<TensorFrame> = Topic::builder(TensorLayout::TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    // 2^256 elements over 16 bytes.
    let endless = TensorFrame {
        rank: 8,
        shape: [u32::MAX; 8],
        strides: [0; 8],
        ..f
    };
    // 2^62 elements of 4 bytes: the count fits u64, the bytes do not.
    let mut bytes_overflow = endless;
    bytes_overflow.shape = [1 << 31, 1 << 31, 1, 1, 1, 1, 1, 1];
    for frame in [endless, bytes_overflow] {
        pub_.send(Tensor::from_slice(&[2, 2], &[1.0f32, 2.0, 3.0, 4.0]).unwrap());
        let live = sub.recv().expect("a live block").descriptor();
        raw.send(TensorFrame {
            generation: live.generation,
            block: live.block,
            segment: live.segment,
            ..frame
        });
        match sub.try_recv() {
            Some(Err(PoolError::ForeignDescriptor { reason, kind, .. })) => {
                assert_eq!(kind, "tensor");
                assert!(reason.contains("elements"), "{reason}");
            }
            other => panic!("forged {frame:?} gave {other:?}"),
        }
    }
    assert_eq!(sub.rejected_count(), 2);
    // A broadcast row: [[1, 2], [1, 2]] over the first row's 8 bytes.
    pub_.send(Tensor::from_slice(&[2, 2], &[1.0f32, 2.0, 3.0, 4.0]).unwrap());
    let mut broadcast = sub.recv().expect("the tensor").descriptor();
    broadcast.strides[..2].copy_from_slice(&[0, 4]);
    raw.send(broadcast);
    let t = sub.recv().expect("a broadcast view is valid");
    assert_eq!(t.numel(), 4);
    assert!(!t.is_contiguous());
    assert_eq!(t.get::<f32>(&[1, 1]), Some(2.0));
    drop(t);
    // Two elements whose descriptor says the data is 16 bytes long: the
    // slice is the two elements (it was all four floats of the block).
    pub_.send(Tensor::from_slice(&[2, 2], &[1.0f32, 2.0, 3.0, 4.0]).unwrap());
    let mut short = sub.recv().expect("the tensor").descriptor();
    short.rank = 1;
    short.shape = [2, 0, 0, 0, 0, 0, 0, 0];
    short.strides = [4, 0, 0, 0, 0, 0, 0, 0];
    raw.send(short);
    let t = sub.recv().expect("a valid view of the first two elements");
    assert!(t.is_contiguous());
    assert_eq!(t.as_slice::<f32>(), Some(&[1.0f32, 2.0][..]));
    drop(t);
    drop((pub_, sub, raw));
}

/// A message larger than any pool block can be (1 GiB) is a typed error
/// that says to split it, not a pool geometry error advising a smaller
/// block size (and nothing is allocated for it).
#[test]
fn a_message_beyond_the_largest_block_says_to_split_it() {
    let ns = TestNs::new("tensor_huge");
    let pub_ = topic::<TensorLayout>(&ns.name);
    let bytes = (1usize << 30) + 64;
    match pub_.loan(DType::U8, &[bytes as u64]) {
        Err(TensorError::Pool(PoolError::BeyondBlockLimit { bytes: b, max, .. })) => {
            assert_eq!((b, max), (bytes, 1 << 30));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(pub_.pool_segments(), 0);
}

/// Forged descriptors on depth and point cloud topics.
#[test]
fn forged_depth_and_cloud_descriptors_are_refused() {
    let ns = TestNs::new("depthcloud_forged");
    let depth = topic::<DepthLayout>(&ns.name);
    depth.send(DepthImage::from_mm(2, 2, &[1, 2, 3, 4]).unwrap());
    let f = depth.recv().expect("the depth image").descriptor();
    let raw: Topic<ImageFrame> = Topic::builder(DepthLayout::TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    raw.send(ImageFrame {
        encoding: Encoding::Mono16.code(),
        ..f
    });
    let Some(Err(e)) = depth.try_recv() else {
        panic!("a mono16 frame was taken as depth");
    };
    assert!(e.to_string().contains("not a depth encoding"), "{e}");

    let cloud = topic::<PointCloudLayout>(&ns.name);
    cloud.send(PointCloud::xyzi(4));
    let f = cloud.recv().expect("the cloud").descriptor();
    let raw: Topic<PointCloudFrame> = Topic::builder(PointCloudLayout::TOPIC)
        .namespace(&ns.name)
        .build()
        .unwrap();
    let mut bad_name = f;
    bad_name.field_names[3] = *b"int/nsity\0\0\0\0\0\0\0";
    let mut unpadded = f;
    unpadded.field_names[0][5] = b'q';
    let mut no_z = f;
    no_z.field_types[2] = DType::F64.code();
    let mut overlapping = f; // intensity on y's bytes
    overlapping.field_offsets[3] = 4;
    for frame in [
        PointCloudFrame {
            field_count: 9,
            ..f
        },
        PointCloudFrame { point_step: 8, ..f },
        PointCloudFrame { points: 5, ..f },
        bad_name,
        unpadded,
        no_z,
        overlapping,
    ] {
        raw.send(frame);
        assert!(
            matches!(
                cloud.try_recv(),
                Some(Err(PoolError::ForeignDescriptor { .. }))
            ),
            "forged {frame:?} accepted"
        );
    }
    assert_eq!(cloud.rejected_count(), 7);
    drop((depth, cloud, raw));
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::run_child(|role, _| match role {
        "tensor_sub" => subscribe::<TensorLayout>(),
        "depth_sub" => subscribe::<DepthLayout>(),
        "cloud_sub" => subscribe::<PointCloudLayout>(),
        other => panic!("unknown role {other}"),
    });
}

/// A pool geometry no file system could hold (1 GiB blocks, as many as a
/// segment may have) was "the file system at /dev/shm is full (of bytes or
/// of files); remove stale topics..." at the first loan, for a segment of a
/// petabyte: no cleaning helps. It says the file system is too small.
#[test]
fn a_segment_larger_than_the_whole_shm_file_system_is_said_so_not_full() {
    let ns = TestNs::new("pool_huge");
    let topic: Topic<Tensor> = Topic::builder("huge")
        .namespace(&ns.name)
        .block_size(1 << 30)
        .blocks_per_segment(horus_nostd::pool::MAX_BLOCKS)
        .build()
        .expect("options in range");
    let e = topic
        .loan(DType::U8, &[64])
        .expect_err("a segment of a petabyte")
        .to_string();
    assert!(
        e.contains("more than the whole file system at") && e.contains("blocks_per_segment"),
        "{e}"
    );
    assert!(!e.contains("is full"), "{e}");
}
