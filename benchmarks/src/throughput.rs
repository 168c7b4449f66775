//! Throughput, cross-process, without loss: A publishes `count` 64-byte
//! messages in bursts of half the ring's capacity, with at most two bursts
//! in flight: before sending burst k + 1 it waits until B has acknowledged
//! burst k - 1 (on a second topic), so no message is ever overwritten
//! unread. B, on the other core, reads every burst through each of its S
//! subscriber handles, then acknowledges it. Messages per second = `count`
//! over the time from the first send to the last acknowledgement; B's
//! `dropped_count` must stay 0 (checked).

use std::hint::spin_loop;
use std::time::Instant;

use crate::Res;
use crate::child::{self, arg};
use crate::horus_rows::{Ctx, Geom, open};
use crate::msgs::{Bench8, Bench64, BenchMsg};

#[derive(Debug, Clone)]
pub struct Throughput {
    pub subs: usize,
    pub count: u64,
    pub burst: u64,
    /// Messages per second delivered to every subscriber.
    pub per_s: f64,
}

fn wait_ack(ack: &horus::Topic<Bench8>, k: u64) {
    loop {
        if let Some(m) = ack.recv() {
            assert_eq!(m.seq, k, "acknowledgements out of step");
            return;
        }
        spin_loop();
    }
}

pub fn run(ctx: &Ctx, subs: usize, count: u64) -> Res<Throughput> {
    let (data, ack_name) = ctx.pair();
    let g = Geom::for_topo(1, subs);
    let burst = u64::from(g.capacity / 2);
    let bursts = count.div_ceil(burst);
    let ack = open::<Bench8>(&ctx.ns, &ack_name, Geom::for_topo(1, 1))?;
    let publisher = open::<Bench64>(&ctx.ns, &data, g)?;
    let args = [
        ctx.ns.clone(),
        data,
        ack_name,
        subs.to_string(),
        bursts.to_string(),
        burst.to_string(),
        g.capacity.to_string(),
        g.participants.to_string(),
        g.publishers.to_string(),
    ];
    let mut peer = child::spawn("horus-sink", &args)?;
    peer.expect("ready")?;
    let t = Instant::now();
    let mut seq = 0;
    for k in 0..bursts {
        if k >= 2 {
            wait_ack(&ack, k - 2);
        }
        for _ in 0..burst {
            seq += 1;
            publisher.send(Bench64::with_seq(seq));
        }
    }
    for k in bursts.saturating_sub(2)..bursts {
        wait_ack(&ack, k);
    }
    let secs = t.elapsed().as_secs_f64();
    let done = peer.finish()?;
    if done.first().map(String::as_str) != Some("0") {
        return Err(format!("throughput run lost messages: {done:?}").into());
    }
    Ok(Throughput {
        subs,
        count: bursts * burst,
        burst,
        per_s: (bursts * burst) as f64 / secs,
    })
}

/// Child role `horus-sink NS DATA ACK SUBS BURSTS BURST CAPACITY PARTICIPANTS`.
pub fn child_sink(args: &[String]) -> Res<()> {
    let ns: String = arg(args, 0)?;
    let data: String = arg(args, 1)?;
    let ack_name: String = arg(args, 2)?;
    let subs: usize = arg(args, 3)?;
    let bursts: u64 = arg(args, 4)?;
    let burst: u64 = arg(args, 5)?;
    let g = Geom {
        capacity: arg(args, 6)?,
        participants: arg(args, 7)?,
        publishers: arg(args, 8)?,
    };
    let handles = (0..subs)
        .map(|_| open::<Bench64>(&ns, &data, g))
        .collect::<Res<Vec<_>>>()?;
    let ack = open::<Bench8>(&ns, &ack_name, Geom::for_topo(1, 1))?;
    child::say("ready");
    for k in 0..bursts {
        for h in &handles {
            for j in 1..=burst {
                loop {
                    if let Some(m) = h.recv() {
                        assert_eq!(m.seq(), k * burst + j, "message lost or out of order");
                        break;
                    }
                    spin_loop();
                }
            }
        }
        ack.send(Bench8::with_seq(k));
    }
    let dropped: u64 = handles.iter().map(|h| h.dropped_count()).sum();
    drop(handles);
    child::say(&format!("done {dropped}"));
    Ok(())
}
