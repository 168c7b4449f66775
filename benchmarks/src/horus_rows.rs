//! HORUS rows: the same ping-pong as [`crate::raw`], through `Topic<M>`.
//!
//! Topology `P:S` is applied to both directions: A publishes on `ping`
//! through P handles (round-robin, one per round trip) and B receives
//! through S handles; B answers on `pong` through P handles and A receives
//! through S handles. A round trip ends when **every** subscriber handle of
//! A has the answer, and B answers only once every one of its subscriber
//! handles has the ping, so one-way = round trip / 2 is the latency to the
//! **last** of the S subscribers of one hop. On a 2-core machine the handles
//! of one side live in one thread (one spinning thread per core); each is
//! its own participant (own lane, own cursors) as in separate processes.

use std::hint::spin_loop;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU32, Ordering};

use horus::{Payload, Topic};

use crate::child::{self, arg};
use crate::msgs::{BenchMsg, BenchSerialized, BenchSerializedKept};
use crate::stats::{self, STOP, Samples};
use crate::{Res, sys, with_msg};

/// Where the two sides run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Both sides in the calling thread.
    SameThread,
    /// A in the calling thread (core A), B in a thread on core B.
    Threads,
    /// A in this process (core A), B in a child process on core B.
    Processes,
}

/// Topic geometry, set explicitly on every handle.
#[derive(Debug, Clone, Copy)]
pub struct Geom {
    pub capacity: u32,
    pub participants: u32,
    /// Publisher lanes (`max_publishers`).
    pub publishers: u32,
}

impl Geom {
    /// The defaults of `Topic::new` (64 slots, 16 handles, 16 publisher
    /// lanes), or more handles and lanes when the row needs them.
    pub fn for_topo(pubs: usize, subs: usize) -> Self {
        let participants =
            (pubs + subs).max(horus::topic::DEFAULT_MAX_PARTICIPANTS as usize) as u32;
        Self {
            capacity: horus::topic::DEFAULT_CAPACITY,
            participants,
            publishers: (pubs as u32)
                .max(horus::topic::DEFAULT_MAX_PUBLISHERS)
                .min(participants),
        }
    }

    /// The geometry in words, for labels: "64 slots x 16 publisher lanes,
    /// 16 handles" (from the values, so a label never outlives a default).
    pub fn describe(&self) -> String {
        let lanes = if self.publishers == 1 {
            "lane"
        } else {
            "lanes"
        };
        format!(
            "{} slots x {} publisher {lanes}, {} handles",
            self.capacity, self.publishers, self.participants
        )
    }
}

/// The run's private namespace and a fresh topic name per row.
#[derive(Debug)]
pub struct Ctx {
    pub ns: String,
    next: AtomicU32,
}

impl Ctx {
    pub fn new() -> Self {
        Self {
            ns: format!("bench{}", std::process::id()),
            next: AtomicU32::new(0),
        }
    }

    /// Names of a fresh topic pair for one row.
    pub fn pair(&self) -> (String, String) {
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        (format!("r{k}.ping"), format!("r{k}.pong"))
    }
}

/// What a row's topics carry: a plain-data [`BenchMsg`] or a serialized
/// message, stamped with the round-trip number, and how a side sends and
/// receives it (the whole operation a user writes).
pub trait RowMsg: Payload<Received = Self> + Send {
    /// The child's key for the type: the POD size, 0 and 1 for the serialized ones.
    const KEY: usize;
    /// What a side keeps from hop to hop (the reused messages of
    /// [`BenchSerializedKept`]; nothing otherwise).
    type Kept: Send;
    fn kept() -> Self::Kept;
    /// Publishes round trip `seq`'s message on `topic`.
    fn send_on(topic: &Topic<Self>, seq: u64, kept: &mut Self::Kept);
    /// Receives the next message from `topic`; its stamp.
    fn recv_on(topic: &Topic<Self>, kept: &mut Self::Kept) -> Option<u64>;
}

impl<M: BenchMsg> RowMsg for M {
    const KEY: usize = size_of::<M>();
    type Kept = ();
    fn kept() {}
    #[inline]
    fn send_on(topic: &Topic<Self>, seq: u64, _: &mut ()) {
        topic.send(M::with_seq(seq));
    }
    #[inline]
    fn recv_on(topic: &Topic<Self>, _: &mut ()) -> Option<u64> {
        topic.recv().map(|m| m.seq())
    }
}

/// Built for every hop and sent by value (`send(msg)`), received as a new
/// message (`recv() -> Option<T>`) and dropped: what a user normally writes.
impl RowMsg for BenchSerialized {
    const KEY: usize = 0;
    type Kept = ();
    fn kept() {}
    #[inline]
    fn send_on(topic: &Topic<Self>, seq: u64, _: &mut ()) {
        topic.send(Self::with_seq(seq));
    }
    #[inline]
    fn recv_on(topic: &Topic<Self>, _: &mut ()) -> Option<u64> {
        topic.recv().map(|m| m.seq)
    }
}

/// The same message built again for every hop in one the side keeps
/// (`fill`: the same contents, no allocation) and sent by reference
/// (`send_ref`), received into another kept one (`recv_into`, reusing its
/// `String` and `Vec`).
impl RowMsg for BenchSerializedKept {
    const KEY: usize = 1;
    /// (outgoing, incoming).
    type Kept = (Self, Self);
    fn kept() -> (Self, Self) {
        (Self::default(), Self::default())
    }
    #[inline]
    fn send_on(topic: &Topic<Self>, seq: u64, (out, _): &mut (Self, Self)) {
        out.fill(seq);
        topic.send_ref(out);
    }
    #[inline]
    fn recv_on(topic: &Topic<Self>, (_, inp): &mut (Self, Self)) -> Option<u64> {
        topic.recv_into(inp).then_some(inp.seq)
    }
}

pub fn open<M: RowMsg>(ns: &str, name: &str, g: Geom) -> Res<Topic<M>> {
    Ok(Topic::<M>::builder(name)
        .namespace(ns)
        .capacity(g.capacity)
        .max_participants(g.participants)
        .max_publishers(g.publishers)
        .build()?)
}

fn open_n<M: RowMsg>(ns: &str, name: &str, g: Geom, n: usize) -> Res<Vec<Topic<M>>> {
    (0..n).map(|_| open(ns, name, g)).collect()
}

/// One side's handles: it publishes through `out` and receives through
/// `inp`; what it keeps between hops. Its methods take `&mut self` and pick
/// the publishing handle with a counter, not `i % len` (a 64-bit division),
/// and nothing here is a `RefCell`: the harness around a 1:1 hop is a call,
/// a loop and a compare, like the raw rows' (see `benchmarks/README.md`).
struct Side<M: RowMsg> {
    out: Vec<Topic<M>>,
    inp: Vec<Topic<M>>,
    /// Index in `out` of the next send's handle (round-robin).
    next_out: usize,
    kept: M::Kept,
}

impl<M: RowMsg> Side<M> {
    fn new(out: Vec<Topic<M>>, inp: Vec<Topic<M>>) -> Self {
        Self {
            out,
            inp,
            next_out: 0,
            kept: M::kept(),
        }
    }

    /// Side A: publishes pings, receives pongs. Subscribers first, so they
    /// exist before anything is published.
    fn a(ns: &str, (ping, pong): (&str, &str), pubs: usize, subs: usize, g: Geom) -> Res<Self> {
        let inp = open_n(ns, pong, g, subs)?;
        Ok(Self::new(open_n(ns, ping, g, pubs)?, inp))
    }

    /// Side B: receives pings, publishes pongs.
    fn b(ns: &str, (ping, pong): (&str, &str), pubs: usize, subs: usize, g: Geom) -> Res<Self> {
        let inp = open_n(ns, ping, g, subs)?;
        Ok(Self::new(open_n(ns, pong, g, pubs)?, inp))
    }

    #[inline]
    fn send(&mut self, i: u64) {
        let at = self.next_out;
        self.next_out = if at + 1 == self.out.len() { 0 } else { at + 1 };
        M::send_on(&self.out[at], i, &mut self.kept);
    }

    /// Spins until every subscriber handle has message `i`; false if the
    /// first one got [`STOP`] instead.
    #[inline]
    fn wait_all(&mut self, i: u64) -> bool {
        for sub in &self.inp {
            loop {
                if let Some(stamp) = M::recv_on(sub, &mut self.kept) {
                    if stamp == STOP {
                        return false;
                    }
                    assert_eq!(stamp, i, "ping-pong out of step");
                    break;
                }
                spin_loop();
            }
        }
        true
    }

    fn pinger(&mut self, warmup: usize, samples: usize) -> Samples {
        let s = stats::record(warmup, samples, |i| {
            self.send(i);
            self.wait_all(i);
            Ok::<(), ()>(())
        });
        M::send_on(&self.out[0], STOP, &mut self.kept);
        s.unwrap_or_else(|()| unreachable!())
    }

    /// Answers every ping until [`STOP`].
    fn ponger(&mut self) {
        for i in 1.. {
            if !self.wait_all(i) {
                return;
            }
            self.send(i);
        }
    }
}

/// One row: `pubs:subs` of `M` between the two sides placed by `mode`.
pub fn ping_pong<M: RowMsg>(
    ctx: &Ctx,
    mode: Mode,
    pubs: usize,
    subs: usize,
    g: Geom,
    warmup: usize,
    samples: usize,
) -> Res<Samples> {
    let (ping, pong) = ctx.pair();
    let names = (ping.as_str(), pong.as_str());
    let mut a = Side::<M>::a(&ctx.ns, names, pubs, subs, g)?;
    let samples = match mode {
        Mode::SameThread => {
            let mut b = Side::<M>::b(&ctx.ns, names, pubs, subs, g)?;
            stats::record(warmup, samples, |i| {
                a.send(i);
                b.wait_all(i);
                b.send(i);
                a.wait_all(i);
                Ok::<(), ()>(())
            })
            .unwrap_or_else(|()| unreachable!())
        }
        Mode::Threads => {
            let ready = Barrier::new(2);
            std::thread::scope(|scope| -> Res<Samples> {
                let b = scope.spawn(|| -> Result<(), String> {
                    sys::pin(sys::CORE_B);
                    let b = Side::<M>::b(&ctx.ns, names, pubs, subs, g);
                    ready.wait();
                    let mut b = b.map_err(|e| e.to_string())?;
                    b.ponger();
                    Ok(())
                });
                ready.wait();
                if b.is_finished() {
                    return Err(b
                        .join()
                        .map_err(|_| "B panicked")?
                        .err()
                        .unwrap_or_default()
                        .into());
                }
                let s = a.pinger(warmup, samples);
                b.join().map_err(|_| "B panicked")??;
                Ok(s)
            })?
        }
        Mode::Processes => {
            let args = [
                ctx.ns.clone(),
                ping.clone(),
                pong.clone(),
                M::KEY.to_string(),
                pubs.to_string(),
                subs.to_string(),
                g.capacity.to_string(),
                g.participants.to_string(),
                g.publishers.to_string(),
            ];
            let mut peer = child::spawn("horus-pong", &args)?;
            peer.expect("ready")?;
            let s = a.pinger(warmup, samples);
            peer.finish()?;
            s
        }
    };
    Ok(samples)
}

fn child_pong_typed<M: RowMsg>(args: &[String]) -> Res<()> {
    let ns: String = arg(args, 0)?;
    let ping: String = arg(args, 1)?;
    let pong: String = arg(args, 2)?;
    let pubs: usize = arg(args, 4)?;
    let subs: usize = arg(args, 5)?;
    let g = Geom {
        capacity: arg(args, 6)?,
        participants: arg(args, 7)?,
        publishers: arg(args, 8)?,
    };
    let mut b = Side::<M>::b(&ns, (&ping, &pong), pubs, subs, g)?;
    child::say("ready");
    b.ponger();
    drop(b);
    child::say("done");
    Ok(())
}

/// Child role `horus-pong NS PING PONG SIZE PUBS SUBS CAPACITY PARTICIPANTS`
/// (`SIZE` 0: the serialized message, 1: the same sent by reference and
/// received into a kept message).
pub fn child_pong(args: &[String]) -> Res<()> {
    let size: usize = arg(args, 3)?;
    if size == BenchSerialized::KEY {
        return child_pong_typed::<BenchSerialized>(args);
    }
    if size == BenchSerializedKept::KEY {
        return child_pong_typed::<BenchSerializedKept>(args);
    }
    with_msg!(size, child_pong_typed(args))
}

/// The file's apparent and resident bytes of a fresh topic of `M` with
/// geometry `g`, one publisher and `subs` subscribers, once every
/// subscriber has received one message.
pub fn region_bytes<M: RowMsg>(ctx: &Ctx, g: Geom, subs: usize) -> Res<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let (name, _) = ctx.pair();
    let publisher = open::<M>(&ctx.ns, &name, g)?;
    let subscribers = open_n::<M>(&ctx.ns, &name, g, subs)?;
    M::send_on(&publisher, 1, &mut M::kept());
    for s in &subscribers {
        if M::recv_on(s, &mut M::kept()).is_none() {
            return Err(format!("topic {name}: the message sent was not received").into());
        }
    }
    let md = std::fs::metadata(publisher.path())?;
    Ok((md.len(), md.blocks() * 512))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_topic_is_described_by_its_actual_geometry() {
        let g = Geom::for_topo(1, 1);
        assert_eq!(g.publishers, horus::topic::DEFAULT_MAX_PUBLISHERS);
        assert_eq!(
            g.describe(),
            format!(
                "{} slots x {} publisher lanes, {} handles",
                horus::topic::DEFAULT_CAPACITY,
                horus::topic::DEFAULT_MAX_PUBLISHERS,
                horus::topic::DEFAULT_MAX_PARTICIPANTS
            )
        );
        let one = Geom {
            capacity: 8,
            participants: 2,
            publishers: 1,
        };
        assert_eq!(one.describe(), "8 slots x 1 publisher lane, 2 handles");
    }
}
