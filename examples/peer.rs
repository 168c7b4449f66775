//! What the Rust peers of horus-py's cross-language tests share (included
//! by `image_peer.rs`, `tensor_peer.rs` and `serialized_peer.rs` as
//! `mod peer;`): the `publish N` / `receive N` command line and the counted
//! receive loop.

use std::io::Read;
use std::time::{Duration, Instant};

use horus::prelude::*;

/// Runs the role the command line names: `publish N` or `receive N`.
pub fn run_role(
    program: &str,
    publish: fn(u64) -> Result<()>,
    receive: fn(u64) -> Result<()>,
) -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = |s: Option<&String>| s.and_then(|s| s.parse::<u64>().ok());
    match (args.first().map(String::as_str), count(args.get(1))) {
        (Some("publish"), Some(n)) => publish(n),
        (Some("receive"), Some(n)) => receive(n),
        _ => {
            eprintln!("usage: {program} publish N | {program} receive N");
            std::process::exit(2)
        }
    }
}

/// Waits until stdin closes (the test says "go away"), keeping what the
/// caller holds (its pool, its topic) alive until then.
pub fn wait_for_stdin_to_close() {
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Prints `ready`, then receives on `topic` until `received + dropped ==
/// n` (or 60 s pass), judging each message with `right`; prints `received
/// R dropped D bad B` and exits 1 unless every message was right and the
/// accounting exact.
pub fn receive_counted<T: horus::Payload>(
    topic: &Topic<T>,
    n: u64,
    mut right: impl FnMut(T::Received) -> bool,
) -> Result<()> {
    println!("ready");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut received, mut bad) = (0u64, 0u64);
    while received + topic.dropped_count() < n && Instant::now() < deadline {
        match topic.recv() {
            Some(msg) => {
                received += 1;
                if !right(msg) {
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
