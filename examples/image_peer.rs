//! The Rust side of horus-py's cross-language image tests
//! (`horus-py/tests/test_image_cross.py`), on topic `camera.rgb` of
//! `HORUS_NAMESPACE`:
//!
//! - `image_peer publish N`: publishes `N` 640x480 rgb8 frames (pool loans,
//!   no copy) as fast as it can, frame `seq`'s pixels a checkable pattern;
//!   prints `published P unsent U`, then waits for its stdin to close (its
//!   pool stays alive for the receiver) and exits.
//! - `image_peer receive N`: prints `ready` once subscribed, then receives
//!   until `received + dropped == N` (or 60 s pass), checking every frame's
//!   pixels; prints `received R dropped D bad B` and exits 0 only if every
//!   frame was intact and the accounting exact.
//!
//! The pattern: 64-bit little-endian words, word 0 is `seq`, word `k` is
//! `seq * 0x9e3779b97f4a7c15 ^ k` (wrapping).

mod peer;

use horus::prelude::*;

const TOPIC: &str = "camera.rgb";
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

fn pattern(buf: &mut [u8], seq: u64) {
    for (k, c) in buf.chunks_exact_mut(8).enumerate() {
        let v = if k == 0 {
            seq
        } else {
            seq.wrapping_mul(GOLDEN) ^ k as u64
        };
        c.copy_from_slice(&v.to_le_bytes());
    }
}

/// Is `buf` exactly frame `seq`'s pattern for the `seq` in its first word?
fn intact(buf: &[u8]) -> bool {
    let Some(seq) = buf
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    else {
        return false;
    };
    buf.len() % 8 == 0
        && buf.chunks_exact(8).enumerate().all(|(k, c)| {
            let want = if k == 0 {
                seq
            } else {
                seq.wrapping_mul(GOLDEN) ^ k as u64
            };
            c == want.to_le_bytes()
        })
}

fn publish(n: u64) -> Result<()> {
    let topic: Topic<Image> = Topic::new(TOPIC)?;
    for seq in 0..n {
        match topic.loan(640, 480, Encoding::Rgb8) {
            Ok(mut img) => {
                pattern(img.data_mut(), seq);
                topic.send(img);
            }
            Err(e) => {
                eprintln!("image_peer: frame {seq} not sent: {e}");
            }
        }
    }
    println!(
        "published {} unsent {}",
        topic.published_count(),
        n - topic.published_count()
    );
    // Keep the pool (and so the frames in flight) alive until told to go.
    peer::wait_for_stdin_to_close();
    Ok(())
}

fn receive(n: u64) -> Result<()> {
    let topic: Topic<Image> = Topic::new(TOPIC)?;
    peer::receive_counted(&topic, n, |view| {
        intact(view.data()) && view.width() == 640 && view.height() == 480
    })
}

fn main() -> Result<()> {
    peer::run_role("image_peer", publish, receive)
}
