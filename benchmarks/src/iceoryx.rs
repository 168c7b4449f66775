//! iceoryx2, measured the same way as HORUS: `ipc::Service`
//! publish-subscribe of a 64-byte plain payload (`[u64; 8]`), the same
//! ping-pong and topology rule as [`crate::horus_rows`] (P publishers used
//! round-robin, S subscribers all waited for), the same clock, the same
//! cores. Services use iceoryx2's own latency-benchmark settings: history 0,
//! subscriber buffer 1, safe overflow. Sending is the zero-copy path:
//! `loan_uninit` + `write_payload` + `send`; receiving copies the payload out.

use std::hint::spin_loop;

use iceoryx2::port::publisher::Publisher;
use iceoryx2::port::subscriber::Subscriber;
use iceoryx2::port::update_connections::UpdateConnections;
use iceoryx2::prelude::*;
use iceoryx2::service::builder::publish_subscribe::Builder as PubSubBuilder;

use crate::Res;
use crate::child::{self, arg};
use crate::stats::{self, STOP, Samples};

type Payload = [u64; 8];
type Pub = Publisher<ipc::Service, Payload, ()>;
type Sub = Subscriber<ipc::Service, Payload, ()>;

/// One side's ports. `send` picks the publisher with a counter, not
/// `i % len` (a 64-bit division per send), as HORUS's harness does
/// (`horus_rows::Side`), so both harnesses do the same work around a hop.
struct Side {
    _node: Node<ipc::Service>,
    out: Vec<Pub>,
    inp: Vec<Sub>,
    /// Index in `out` of the next send's publisher (round-robin).
    next_out: usize,
}

fn service(
    node: &Node<ipc::Service>,
    name: &str,
    pubs: usize,
    subs: usize,
) -> Res<iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, Payload, ()>>
{
    let b = node
        .service_builder(&name.try_into()?)
        .publish_subscribe::<Payload>();
    Ok(latency_settings(b, pubs, subs).open_or_create()?)
}

/// The settings of iceoryx2's own latency benchmark (history 0, subscriber
/// buffer 1, safe overflow), for `pubs` publishers and `subs` subscribers;
/// shared with [`crate::iceoryx_slice`].
pub fn latency_settings<P: std::fmt::Debug + ?Sized + ZeroCopySend>(
    b: PubSubBuilder<P, (), ipc::Service>,
    pubs: usize,
    subs: usize,
) -> PubSubBuilder<P, (), ipc::Service> {
    b.max_publishers(pubs)
        .max_subscribers(subs)
        .history_size(0)
        .subscriber_max_buffer_size(1)
        .enable_safe_overflow(true)
}

impl Side {
    /// `out_name` gets P publishers, `in_name` S subscribers.
    fn new(out_name: &str, in_name: &str, pubs: usize, subs: usize) -> Res<Self> {
        set_log_level(LogLevel::Error);
        let node = NodeBuilder::new().create::<ipc::Service>()?;
        let inp_svc = service(&node, in_name, pubs, subs)?;
        let out_svc = service(&node, out_name, pubs, subs)?;
        let inp = (0..subs)
            .map(|_| inp_svc.subscriber_builder().create())
            .collect::<Result<Vec<_>, _>>()?;
        let out = (0..pubs)
            .map(|_| out_svc.publisher_builder().create())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            _node: node,
            out,
            inp,
            next_out: 0,
        })
    }

    fn connect(&self) -> Res<()> {
        for p in &self.out {
            p.update_connections()?;
        }
        Ok(())
    }

    #[inline]
    fn send(&mut self, i: u64) -> Res<()> {
        let at = self.next_out;
        self.next_out = if at + 1 == self.out.len() { 0 } else { at + 1 };
        let p = &self.out[at];
        let mut v = Payload::default();
        v[0] = i;
        p.loan_uninit()?.write_payload(v).send()?;
        Ok(())
    }

    /// Spins until every subscriber has message `i`; false on [`STOP`].
    #[inline]
    fn wait_all(&self, i: u64) -> Res<bool> {
        for sub in &self.inp {
            loop {
                if let Some(sample) = sub.receive()? {
                    let v: Payload = *sample;
                    if v[0] == STOP {
                        return Ok(false);
                    }
                    assert_eq!(v[0], i, "ping-pong out of step");
                    break;
                }
                spin_loop();
            }
        }
        Ok(true)
    }
}

/// One cross-process row of `pubs:subs`.
pub fn ping_pong(pubs: usize, subs: usize, warmup: usize, samples: usize) -> Res<Samples> {
    let tag = format!("hbench{}", std::process::id());
    let k = {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    };
    let (ping, pong) = (format!("{tag}/r{k}/ping"), format!("{tag}/r{k}/pong"));
    let mut a = Side::new(&ping, &pong, pubs, subs)?;
    let mut peer = child::spawn(
        "iox-pong",
        &[ping, pong, pubs.to_string(), subs.to_string()],
    )?;
    peer.expect("ready")?;
    a.connect()?;
    let s = stats::record(warmup, samples, |i| -> Res<()> {
        a.send(i)?;
        a.wait_all(i)?;
        Ok(())
    })?;
    a.send(STOP)?;
    peer.finish()?;
    Ok(s)
}

/// Child role `iox-pong PING PONG PUBS SUBS`.
pub fn child_pong(args: &[String]) -> Res<()> {
    let ping: String = arg(args, 0)?;
    let pong: String = arg(args, 1)?;
    let pubs: usize = arg(args, 2)?;
    let subs: usize = arg(args, 3)?;
    let mut b = Side::new(&pong, &ping, pubs, subs)?;
    b.connect()?;
    child::say("ready");
    for i in 1.. {
        if !b.wait_all(i)? {
            break;
        }
        b.send(i)?;
    }
    drop(b);
    child::say("done");
    Ok(())
}
