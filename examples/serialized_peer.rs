//! The Rust side of horus-py's cross-language serialized tests
//! (`horus-py/tests/test_serialized_cross.py`), on topic `plan` of
//! `HORUS_NAMESPACE` (created here, bound 256 bytes):
//!
//! - `serialized_peer publish N`: prints `created`, waits for a line on its
//!   stdin, publishes plans 0 to N-1, prints `published P unsent U`, then
//!   waits for its stdin to close and exits.
//! - `serialized_peer receive N`: prints `ready` once subscribed, then
//!   receives until `received + dropped == N` (or 60 s pass), checking each
//!   plan against [`plan`]; prints `received R dropped D bad B` and exits 0
//!   only if every plan was right and the accounting exact.
//!
//! Plan `seq` is [`plan`]`(seq)`; the test computes the same dicts.

mod peer;

use std::io::BufRead;

use horus::prelude::*;
use horus::serialized::SchemaDerive;
use serde::{Deserialize, Serialize};

const TOPIC: &str = "plan";

#[derive(Serialize, Deserialize, SchemaDerive, Debug, Clone, PartialEq)]
#[postcard(crate = horus::serialized::postcard_schema)]
struct Waypoint {
    x: f64,
    y: f64,
}

#[derive(Serialize, Deserialize, SchemaDerive, Debug, Clone, PartialEq)]
#[postcard(crate = horus::serialized::postcard_schema)]
enum Mode {
    Idle,
    Drive(f32),
    Turn { left: bool, deg: i16 },
}

#[derive(Serialize, Deserialize, SchemaDerive, Debug, Clone, PartialEq)]
#[postcard(crate = horus::serialized::postcard_schema)]
struct Plan {
    seq: u64,
    name: String,
    weights: Vec<f32>,
    goal: Option<Waypoint>,
    mode: Mode,
    tags: Vec<String>,
}
horus::serialized!(Plan);

/// Plan number `seq`.
fn plan(seq: u64) -> Plan {
    let s = seq as f64;
    Plan {
        seq,
        name: format!("plan-{seq}"),
        weights: vec![seq as f32 * 0.5; (seq % 4) as usize],
        goal: (seq % 2 == 0).then_some(Waypoint { x: s, y: -s }),
        mode: match seq % 3 {
            0 => Mode::Idle,
            1 => Mode::Drive(seq as f32 + 0.25),
            _ => Mode::Turn {
                left: seq % 2 == 0,
                deg: -((seq % 1000) as i16),
            },
        },
        tags: (0..seq % 3).map(|i| format!("t{i}")).collect(),
    }
}

fn open() -> Result<Topic<Plan>> {
    Topic::builder(TOPIC).max_message_bytes(256).build()
}

fn publish(n: u64) -> Result<()> {
    let topic = open()?;
    println!("created");
    let mut stdin = std::io::stdin().lock();
    let _ = stdin.read_line(&mut String::new());
    for seq in 0..n {
        topic.send(plan(seq));
    }
    println!(
        "published {} unsent {}",
        topic.published_count(),
        topic.unsent_count()
    );
    // Keep the topic alive until told to go.
    drop(stdin);
    peer::wait_for_stdin_to_close();
    Ok(())
}

fn receive(n: u64) -> Result<()> {
    let topic = open()?;
    peer::receive_counted(&topic, n, |p| {
        let right = p == plan(p.seq);
        if !right {
            eprintln!("serialized_peer: wrong plan {p:?}");
        }
        right
    })
}

fn main() -> Result<()> {
    peer::run_role("serialized_peer", publish, receive)
}
