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

mod peer;

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
    peer::wait_for_stdin_to_close();
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
    peer::receive_counted(&topic, n, |t| intact(&t))
}

fn main() -> Result<()> {
    peer::run_role("tensor_peer", publish, receive)
}
