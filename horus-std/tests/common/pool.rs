//! Large messages and block pools: bytes that tell a torn or recycled
//! block, the pool segment files of a namespace, and a child that holds
//! views (of images).

use horus::image::Image;
use horus::prelude::*;
use horus::shm::Namespace;

use super::{TestNs, next_command, say, wait_until};

/// Message `seq`'s bytes, for tests of large messages: word 0 is `seq`,
/// word k a function of both (a torn or recycled block fails [`check_fill`]).
pub fn fill(buf: &mut [u8], seq: u64) {
    for (k, c) in buf.chunks_exact_mut(8).enumerate() {
        let v = if k == 0 {
            seq
        } else {
            seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k as u64
        };
        c.copy_from_slice(&v.to_le_bytes());
    }
}

/// The sequence number if the bytes are exactly message `seq`'s ([`fill`]).
pub fn check_fill(buf: &[u8]) -> Option<u64> {
    let seq = u64::from_le_bytes(buf.get(..8)?.try_into().ok()?);
    let mut want = vec![0u8; buf.len()];
    fill(&mut want, seq);
    (want == buf).then_some(seq)
}

/// The block pool segment files (`*.pool.*`) in `ns`'s directory.
pub fn pool_segment_files(ns: &TestNs) -> Vec<String> {
    std::fs::read_dir(ns.path())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".pool."))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the cleaner on `ns` (`clean_namespace`, not forced) until no pool
/// segment file is left there, that is until nobody maps one; panics after
/// 30 s with `what`.
pub fn wait_pool_segments_removed(ns: &TestNs, what: &str) {
    let handle = Namespace::open(&ns.name).unwrap();
    wait_until(30, what, || {
        horus::shm::clean_namespace(&handle, false).unwrap();
        pool_segment_files(ns).is_empty()
    });
}

/// In a child: keeps every view `recv` gives until `want` are held, says
/// `held`, then waits to be killed (exits if the parent closes stdin).
pub fn hold_views_until_killed<V>(want: usize, mut recv: impl FnMut() -> Option<V>) {
    let mut held = Vec::new();
    while held.len() < want {
        match recv() {
            Some(v) => held.push(v),
            None => std::thread::yield_now(),
        }
    }
    say("held");
    let _ = next_command();
    std::process::exit(0);
}

/// In a child, the `holder` role of the image tests: subscribes to the
/// image topic `topic`, says `ready`, then holds every view it receives,
/// says `held` after `args[0]` of them and waits to be killed
/// ([`hold_views_until_killed`]).
pub fn hold_images_until_killed(topic: &str, args: &[String]) {
    let want: usize = args[0].parse().unwrap();
    let topic: Topic<Image> = Topic::new(topic).unwrap();
    say("ready");
    hold_views_until_killed(want, || topic.recv());
}
