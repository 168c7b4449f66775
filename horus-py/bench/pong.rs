//! The Rust side of `latency.py`: answers every `Ping64` on `bench.ping`
//! with the same message on `bench.pong`, its receive time stamped in
//! `t_rx_ns`, busy-polling (no scheduler: the lowest latency). Runs until
//! killed (Ctrl+C, SIGTERM).
//!
//!     horus run --release horus-py/bench/pong.rs   # then, elsewhere:
//!     python horus-py/bench/latency.py

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

fn main() -> Result<()> {
    let ping: Topic<Ping64> = Topic::new("bench.ping")?;
    let pong: Topic<Ping64> = Topic::new("bench.pong")?;
    eprintln!("pong: ready (stop it with Ctrl+C)");
    loop {
        match ping.recv() {
            Some(mut m) => {
                m.t_rx_ns = horus::now_ns();
                pong.send(m);
            }
            None => std::hint::spin_loop(),
        }
    }
}
