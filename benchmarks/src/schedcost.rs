//! Scheduler overhead: the cost of one round of 1, 10 and 100 empty nodes,
//! beside a bare loop that calls the same nodes' `tick` through the same
//! `dyn` pointers, so the scheduler's cost per node is known.
//!
//! - core: `horus_nostd::sched::CoreScheduler` (the engine over inline
//!   slots) with `step_all_with` (every node once, its grid re-phased, the
//!   clock read once per tick), over a `ManualClock` (the engine alone);
//! - std: `horus::Scheduler::tick_once` (the same engine over boxed nodes,
//!   with the monotonic clock, the panic guard, the statistics recorder and
//!   the system check a user's program pays).
//!
//! Each figure is the median over batches of many rounds, ns per round; the
//! four loops run one batch each per round, in an order rotated each round.

use std::hint::black_box;
use std::time::Instant;

use horus_nostd::sched::{CoreNode, CoreScheduler, Event, NodeConfig, NodeFault, Tick};
use horus_nostd::time::{Frequency, ManualClock};

use crate::Res;
use crate::stats::{self, median};

/// Node counts measured.
pub const COUNTS: [usize; 3] = [1, 10, 100];

/// Target of the issue: at most this much per empty node tick, ns.
pub const TARGET_NS_PER_NODE: f64 = 100.0;

/// One node count measured every way, ns per round.
#[derive(Debug, Clone)]
pub struct SchedRow {
    pub nodes: usize,
    /// Calling every node's `tick` through `&mut dyn CoreNode`.
    pub bare_core: f64,
    pub core: f64,
    /// Calling every node's `tick` through `Box<dyn horus::Node>`.
    pub bare_std: f64,
    pub std: f64,
}

impl SchedRow {
    /// Scheduler cost per node tick above the bare loop, ns.
    pub fn core_per_node(&self) -> f64 {
        (self.core - self.bare_core) / self.nodes as f64
    }

    pub fn std_per_node(&self) -> f64 {
        (self.std - self.bare_std) / self.nodes as f64
    }
}

/// An empty core node.
struct Empty;

impl CoreNode for Empty {
    fn tick(&mut self, t: &Tick) -> Result<(), NodeFault> {
        black_box(t);
        Ok(())
    }
}

/// An empty std node with a unique name.
struct Named(String);

impl horus::Node for Named {
    fn name(&self) -> &str {
        &self.0
    }

    fn tick(&mut self) {
        black_box(&self.0);
    }
}

/// One batch: `rounds` calls of `f`, ns per call.
fn batch(rounds: usize, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..rounds {
        f();
    }
    t.elapsed().as_nanos() as f64 / rounds as f64
}

/// Measures `nodes` empty nodes every way: the four loops (bare core, core
/// scheduler, bare std, std scheduler) run one batch each per round, in an
/// order rotated each round (`stats::batches_in_turn`), so a drift of the
/// machine or the position in the round hits a scheduler and its bare loop
/// alike. Each figure is the median of its `batches` batches.
pub fn row(nodes: usize, batches: usize, quick: bool) -> Res<SchedRow> {
    let rounds = (if quick { 20_000 } else { 200_000 }) / nodes;
    let tick = Tick {
        seq: 0,
        release_ns: 0,
        start_ns: 0,
        period_ns: 1_000_000,
    };
    // The bare loop's nodes and the scheduler's are distinct (the scheduler
    // holds its nodes for as long as it lives); both are the same empty type.
    let mut bare_nodes: Vec<Empty> = (0..nodes).map(|_| Empty).collect();
    let mut core_nodes: Vec<Empty> = (0..nodes).map(|_| Empty).collect();
    let mut core_sched =
        CoreScheduler::<'_, 100>::new(Frequency::from_hz(1_000)).map_err(|e| format!("{e}"))?;
    for (i, n) in core_nodes.iter_mut().enumerate() {
        core_sched
            .add(n, NodeConfig::new(i as u32))
            .map_err(|e| format!("{e}"))?;
    }
    let clock = ManualClock::new(0);
    core_sched.start(0).map_err(|e| format!("{e}"))?;
    let mut std_nodes: Vec<Box<dyn horus::Node>> = (0..nodes)
        .map(|i| Box::new(Named(format!("n{i}"))) as Box<dyn horus::Node>)
        .collect();
    // The run's private namespace (its system topics: e-stop, registry),
    // never the user's `default`.
    let mut std_sched = horus::Scheduler::new().namespace(&format!("bench{}", std::process::id()));
    for i in 0..nodes {
        std_sched
            .add(Named(format!("n{i}")))
            .order(i as u32)
            .build()?;
    }
    let mut failed = None;
    let mut bare_core = || -> Res<f64> {
        Ok(batch(rounds, || {
            for n in bare_nodes.iter_mut() {
                let n: &mut dyn CoreNode = black_box(n);
                let _ = n.tick(&tick);
            }
        }))
    };
    let mut core = || -> Res<f64> {
        Ok(batch(rounds, || {
            black_box(core_sched.step_all_with(&clock, &mut |_: Event| {}));
        }))
    };
    let mut bare_std = || -> Res<f64> {
        Ok(batch(rounds, || {
            for n in std_nodes.iter_mut() {
                black_box(&mut *n).tick();
            }
        }))
    };
    let mut std = || -> Res<f64> {
        Ok(batch(rounds, || {
            if let Err(e) = std_sched.tick_once() {
                failed.get_or_insert(e);
            }
        }))
    };
    let figures = stats::batches_in_turn(
        batches,
        &mut [&mut bare_core, &mut core, &mut bare_std, &mut std],
    )?;
    core_sched.shutdown();
    std_sched.shutdown()?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let mut m = figures.into_iter().map(median);
    let mut next = || m.next().ok_or("scheduler row: a loop has no figure");
    Ok(SchedRow {
        nodes,
        bare_core: next()?,
        core: next()?,
        bare_std: next()?,
        std: next()?,
    })
}

/// `rounds` calls of the std `tick_once` with `nodes` empty nodes, after
/// one call that starts them: ns per round, set-up excluded. The loop
/// `benchmarks/instructions.sh --kind sched-rounds:N` counts the
/// instructions of (`HORUS_BENCH_ONLY=sched-rounds:N`).
pub fn round_loop(nodes: usize, rounds: u64) -> Res<f64> {
    let mut sched = horus::Scheduler::new().namespace(&format!("bench{}", std::process::id()));
    for i in 0..nodes {
        sched.add(Named(format!("n{i}"))).order(i as u32).build()?;
    }
    sched.tick_once()?;
    let t = Instant::now();
    for _ in 0..rounds {
        sched.tick_once()?;
    }
    let ns = t.elapsed().as_nanos() as f64 / rounds as f64;
    sched.shutdown()?;
    Ok(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_measure() {
        let r = row(10, 1, true).unwrap();
        assert!(r.core > 0.0 && r.std > 0.0 && r.bare_core >= 0.0);
        // The scheduler's system topics went to the run's namespace: remove it.
        let name = format!("bench{}", std::process::id());
        let ns = horus::shm::Namespace::open_existing(&name)
            .unwrap()
            .expect("the run's namespace");
        horus::shm::liveness::unregister(&ns);
        assert_eq!(
            horus::shm::remove_if_unused(&ns).ok(),
            Some(true),
            "{name} left behind"
        );
    }
}
