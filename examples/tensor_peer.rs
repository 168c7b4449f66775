//! The Rust side of horus-py's cross-language tensor tests
//! (`horus-py/tests/test_tensor_cross.py`), on topic `features` of
//! `HORUS_NAMESPACE`: 64x32 float32 tensors whose element `k` (row-major)
//! of tensor `seq` is `seq * 4096 + k` (exact in f32 for `seq` < 4096).
//!
//! - `tensor_peer publish N`: publishes `N` tensors (pool loans, no copy);
//!   prints `published P`, then waits for its stdin to close (its pool
//!   stays alive for the receiver) and exits.
//! - `tensor_peer receive N`: prints `ready` once subscribed, then receives
//!   until `received + dropped == N` (or 60 s pass), checking every tensor;
//!   prints `received R dropped D bad B` and exits 0 only if every tensor
//!   was right and the accounting exact.

use std::io::Read;
use std::time::{Duration, Instant};

use horus::prelude::*;
use horus::tensor::TensorData;

const TOPIC: &str = "features";
const SHAPE: [u64; 2] = [64, 32];

fn element(seq: u64, k: usize) -> f32 {
    (seq * 4096 + k as u64) as f32
}

fn publish(n: u64) -> Result<()> {
    let topic: Topic<Tensor> = Topic::new(TOPIC)?;
    for seq in 0..n {
        match topic.loan(DType::F32, &SHAPE) {
            Ok(mut t) => {
                if let Some(xs) = t.as_slice_mut::<f32>() {
                    for (k, x) in xs.iter_mut().enumerate() {
                        *x = element(seq, k);
                    }
                }
                topic.send(t);
            }
            Err(e) => eprintln!("tensor_peer: tensor {seq} not sent: {e}"),
        }
    }
    println!("published {}", topic.published_count());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}

/// Is `t` a tensor of the pattern (whatever its `seq`)?
fn intact(t: &impl TensorData) -> bool {
    let Some(xs) = t.as_slice::<f32>() else {
        return false;
    };
    let seq = (xs[0] / 4096.0) as u64;
    t.layout().shape() == SHAPE && xs.iter().enumerate().all(|(k, &x)| x == element(seq, k))
}

fn receive(n: u64) -> Result<()> {
    let topic: Topic<Tensor> = Topic::new(TOPIC)?;
    println!("ready");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut received, mut bad) = (0u64, 0u64);
    while received + topic.dropped_count() < n && Instant::now() < deadline {
        match topic.recv() {
            Some(t) => {
                received += 1;
                if !intact(&t) {
                    bad += 1;
                }
            }
            None => std::thread::sleep(Duration::from_micros(200)),
        }
    }
    let dropped = topic.dropped_count();
    println!("received {received} dropped {dropped} bad {bad}");
    if bad == 0 && received + dropped == n && received == topic.received_count() {
        Ok(())
    } else {
        std::process::exit(1)
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = |s: Option<&String>| s.and_then(|s| s.parse::<u64>().ok());
    match (args.first().map(String::as_str), count(args.get(1))) {
        (Some("publish"), Some(n)) => publish(n),
        (Some("receive"), Some(n)) => receive(n),
        _ => {
            eprintln!("usage: tensor_peer publish N | tensor_peer receive N");
            std::process::exit(2)
        }
    }
}
