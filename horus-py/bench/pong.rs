//! The Rust side of `latency.py`: answers every `Ping64` on `bench.ping`
//! with the same message on `bench.pong`, its receive time stamped in
//! `t_rx_ns`; or, for a request whose `pad[0]` is 1, publishes a 640x480
//! rgb8 image on `bench.image` (a pool loan, stamped with its send time in
//! its first 8 bytes and the request's `seq` in the next 8). Busy-polls (no
//! scheduler: the lowest latency). Runs until killed (Ctrl+C, SIGTERM).
//!
//!     horus run --release horus-py/bench/pong.rs   # then, elsewhere:
//!     python horus-py/bench/latency.py [--image]
//!
//! The benchmark program (`benchmarks/`) includes this file and runs
//! [`serve`] in a thread for its Python rows.

use std::sync::atomic::{AtomicBool, Ordering};

use horus::prelude::*;

message! {
    /// 64 bytes: the size the benchmark suite's POD latency uses.
    Ping64 {
        t_send_ns: u64,
        t_rx_ns: u64,
        seq: u64,
        pad: [u64; 5],
    }
}

/// Answers pings (and image requests) in `namespace` (default:
/// `HORUS_NAMESPACE`) until `stop` is set.
pub fn serve(namespace: Option<&str>, stop: &AtomicBool) -> Result<()> {
    let ping = open::<Ping64>("bench.ping", namespace)?;
    let pong = open::<Ping64>("bench.pong", namespace)?;
    let images = open::<Image>("bench.image", namespace)?;
    eprintln!("pong: ready");
    // Relaxed: a plain flag, nothing is published through it.
    while !stop.load(Ordering::Relaxed) {
        match ping.recv() {
            Some(m) if m.pad[0] == 1 => {
                // Every block held (the asker still holds old frames): wait.
                let mut img = loop {
                    if let Ok(img) = images.loan(640, 480, Encoding::Rgb8) {
                        break img;
                    }
                    if stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    std::hint::spin_loop();
                };
                let px = img.data_mut();
                px[8..16].copy_from_slice(&m.seq.to_le_bytes());
                px[..8].copy_from_slice(&horus::now_ns().to_le_bytes());
                images.send(img);
            }
            Some(mut m) => {
                m.t_rx_ns = horus::now_ns();
                pong.send(m);
            }
            None => std::hint::spin_loop(),
        }
    }
    Ok(())
}

fn open<T: horus::Payload>(name: &str, namespace: Option<&str>) -> Result<Topic<T>> {
    match namespace {
        Some(ns) => Topic::builder(name).namespace(ns).build(),
        None => Topic::new(name),
    }
}

#[allow(dead_code)] // included as a module by the benchmark program
fn main() -> Result<()> {
    serve(None, &AtomicBool::new(false))
}
