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
//! - `serialized_peer grid`: on topic `grid` ([`Grid`], maps keyed by a
//!   tuple and by a struct), prints `created`, waits for a line on its
//!   stdin, publishes [`grids`], prints `published P`, then waits for its
//!   stdin to close and exits.
//!
//! Plan `seq` is [`plan`]`(seq)`; the test computes the same dicts.

mod peer;

use std::collections::BTreeMap;
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

#[derive(Serialize, Deserialize, SchemaDerive, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[postcard(crate = horus::serialized::postcard_schema)]
struct Cell {
    x: u32,
    y: u32,
}

/// Maps whose keys are not a Python dict key as they stand: a tuple (a
/// Python tuple) and a struct (a dict, which Python cannot hash).
#[derive(Serialize, Deserialize, SchemaDerive, Debug, Clone, PartialEq)]
#[postcard(crate = horus::serialized::postcard_schema)]
struct Grid {
    by_pair: BTreeMap<(u32, u32), f32>,
    by_cell: BTreeMap<Cell, f32>,
}
horus::serialized!(Grid);

/// What `grid` publishes: tuple keys, then a struct key, then tuple keys.
fn grids() -> Vec<Grid> {
    let pairs = |n: u32| (0..n).map(|i| ((i, i + 1), i as f32 + 0.5)).collect();
    vec![
        Grid {
            by_pair: pairs(2),
            by_cell: BTreeMap::new(),
        },
        Grid {
            by_pair: pairs(1),
            by_cell: BTreeMap::from([(Cell { x: 1, y: 2 }, 3.0)]),
        },
        Grid {
            by_pair: pairs(3),
            by_cell: BTreeMap::new(),
        },
    ]
}

fn grid() -> Result<()> {
    let topic: Topic<Grid> = Topic::new("grid")?;
    println!("created");
    let mut stdin = std::io::stdin().lock();
    let _ = stdin.read_line(&mut String::new());
    for g in grids() {
        topic.send(g);
    }
    println!("published {}", topic.published_count());
    drop(stdin);
    peer::wait_for_stdin_to_close();
    Ok(())
}

fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("grid") {
        return grid();
    }
    peer::run_role("serialized_peer", publish, receive)
}
