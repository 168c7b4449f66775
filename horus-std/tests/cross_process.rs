//! Topics across real processes: every topology (1:1, 1:N, N:1, N:N) in both
//! start orders, and a type mismatch between processes.
//!
//! Each publisher is a child process; the parent is always one subscriber
//! (`Topic::builder(..).namespace(..)`), child subscribers are the others
//! (`Topic::new`, namespace from `HORUS_NAMESPACE`). Starts are coordinated
//! by protocol lines (`ready`, `go`, `sent`, `result`), never by sleeping.
//! Every subscriber checks each message (whole, in order per publisher, no
//! duplicate, nothing from before it joined) and the exact accounting
//! `received + dropped == published since it joined`.

mod common;

use common::{Peer, TestNs, next_command, say, wait_until};
use horus::error::TopicError;
use horus::prelude::*;

message! {
    /// One message of publisher `publisher`; `check` is a function of the
    /// other fields, so a copy mixing two messages is detected.
    Stamped { publisher: u64, seq: u64, phase: u64, check: [u64; 5] }
    WheelCmd { left: f64, right: f64 }
    TwistCmd { linear: f64, angular: f64 }
}

const TOPIC: &str = "xproc";
/// Messages each publisher sends after `go`.
const PER_PUBLISHER: u64 = 20_000;
/// Messages a publisher sends before anyone else joins (publisher-first order).
const PRE_JOIN: u64 = 100;
/// Phase of the messages sent before subscribers joined / after `go`.
const PHASE_PRE: u64 = 1;
const PHASE_MAIN: u64 = 2;
/// Only catches hangs.
const TIMEOUT_S: u64 = 30;

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn stamped(publisher: u64, seq: u64, phase: u64) -> Stamped {
    let base = publisher << 56 ^ phase << 48 ^ seq;
    Stamped {
        publisher,
        seq,
        phase,
        check: core::array::from_fn(|i| mix(base ^ (i as u64) << 40)),
    }
}

/// Checks every message one subscriber receives.
struct Checker {
    /// Newest sequence seen per publisher (publisher ids are 1-based).
    last: Vec<u64>,
    checked: u64,
}

impl Checker {
    fn new(publishers: usize) -> Self {
        Self {
            last: vec![0; publishers],
            checked: 0,
        }
    }

    fn check(&mut self, m: Stamped) {
        assert_eq!(m, stamped(m.publisher, m.seq, m.phase), "torn message");
        assert_eq!(
            m.phase, PHASE_MAIN,
            "received a message sent before joining: {m:?}"
        );
        let p = m.publisher as usize;
        assert!(
            (1..=self.last.len()).contains(&p),
            "unknown publisher: {m:?}"
        );
        let last = &mut self.last[p - 1];
        assert!(
            m.seq > *last && m.seq <= PER_PUBLISHER,
            "publisher {p}: seq {} after {} (reordered or duplicated)",
            m.seq,
            *last
        );
        *last = m.seq;
        self.checked += 1;
    }
}

/// Receives until every message of `publishers` publishers is delivered or
/// counted as dropped, checking each; then asserts the accounting is exact.
/// Returns `(received, dropped)`.
fn receive_all(topic: &Topic<Stamped>, publishers: usize) -> (u64, u64) {
    let total = publishers as u64 * PER_PUBLISHER;
    let mut checker = Checker::new(publishers);
    wait_until(TIMEOUT_S, "every message accounted for", || {
        while let Some(m) = topic.recv() {
            checker.check(m);
        }
        topic.received_count() + topic.dropped_count() >= total
    });
    let (received, dropped) = (topic.received_count(), topic.dropped_count());
    assert_eq!(
        received + dropped,
        total,
        "received {received} dropped {dropped}"
    );
    assert_eq!(topic.recv(), None, "a message beyond what was published");
    assert_eq!(checker.checked, received);
    // A publisher's newest message is never overwritten (each holds its own
    // lane until every subscriber is done): it always arrives.
    assert_eq!(checker.last, vec![PER_PUBLISHER; publishers]);
    (received, dropped)
}

#[derive(Debug, Clone, Copy)]
enum Order {
    PublishersFirst,
    SubscribersFirst,
}

/// `publishers` child publishers; the parent and `child_subscribers`
/// children subscribe.
fn run_topology(test: &str, publishers: usize, child_subscribers: usize, order: Order) {
    let ns = TestNs::new(test);
    let spawn_subscribers = || -> Vec<Peer> {
        let n = publishers.to_string();
        let subs: Vec<Peer> = (0..child_subscribers)
            .map(|_| Peer::spawn("subscriber", &ns.name, &[&n]))
            .collect();
        subs.into_iter()
            .map(|mut s| {
                s.expect("ready", TIMEOUT_S);
                s
            })
            .collect()
    };
    let spawn_publishers = |pre: u64| -> Vec<Peer> {
        let pubs: Vec<Peer> = (1..=publishers)
            .map(|id| {
                let (id, pre) = (id.to_string(), pre.to_string());
                Peer::spawn("publisher", &ns.name, &[&id, &pre])
            })
            .collect();
        pubs.into_iter()
            .map(|mut p| {
                p.expect("ready", TIMEOUT_S);
                p
            })
            .collect()
    };
    let (topic, mut pubs, mut subs, pre): (Topic<Stamped>, _, _, _) = match order {
        Order::SubscribersFirst => {
            let topic = Topic::builder(TOPIC)
                .namespace(&ns.name)
                .capacity(4096)
                .build()
                .unwrap();
            let subs = spawn_subscribers();
            (topic, spawn_publishers(0), subs, 0)
        }
        Order::PublishersFirst => {
            // The publishers create the region (racing each other) and
            // publish before any subscriber exists.
            let pubs = spawn_publishers(PRE_JOIN);
            let topic = Topic::builder(TOPIC).namespace(&ns.name).build().unwrap();
            (topic, pubs, spawn_subscribers(), PRE_JOIN)
        }
    };
    for p in &mut pubs {
        p.tell("go");
    }
    let (received, dropped) = receive_all(&topic, publishers);
    eprintln!("{test}: parent received {received}, dropped {dropped}");
    for p in &mut pubs {
        assert_eq!(p.expect("sent", TIMEOUT_S), [PER_PUBLISHER.to_string()]);
    }
    let total = publishers as u64 * PER_PUBLISHER;
    for s in &mut subs {
        let counts: Vec<u64> = s
            .expect("result", TIMEOUT_S)
            .iter()
            .map(|c| c.parse().unwrap())
            .collect();
        assert_eq!(counts[0] + counts[1], total, "child subscriber {counts:?}");
        s.wait_success(TIMEOUT_S);
    }
    // Only now may the publishers leave (see `child_main`).
    for p in &mut pubs {
        p.wait_success(TIMEOUT_S);
    }
    assert_eq!(
        topic.published_count(),
        publishers as u64 * (pre + PER_PUBLISHER)
    );
    drop(topic);
}

#[test]
fn one_to_one_subscriber_first() {
    run_topology("1to1_subfirst", 1, 0, Order::SubscribersFirst);
}

#[test]
fn one_to_one_publisher_first() {
    run_topology("1to1_pubfirst", 1, 0, Order::PublishersFirst);
}

#[test]
fn one_to_many_subscribers_first() {
    run_topology("1toN_subfirst", 1, 2, Order::SubscribersFirst);
}

#[test]
fn one_to_many_publisher_first() {
    run_topology("1toN_pubfirst", 1, 2, Order::PublishersFirst);
}

#[test]
fn many_to_one_subscriber_first() {
    run_topology("Nto1_subfirst", 3, 0, Order::SubscribersFirst);
}

#[test]
fn many_to_one_publishers_first() {
    run_topology("Nto1_pubfirst", 3, 0, Order::PublishersFirst);
}

#[test]
fn many_to_many_subscribers_first() {
    run_topology("NtoN_subfirst", 3, 2, Order::SubscribersFirst);
}

#[test]
fn many_to_many_publishers_first() {
    run_topology("NtoN_pubfirst", 3, 2, Order::PublishersFirst);
}

#[test]
fn a_type_mismatch_across_processes_fails_until_the_holder_dies() {
    let ns = TestNs::new("xmismatch");
    let mut holder = Peer::spawn("hold_wheel", &ns.name, &[]);
    holder.expect("ready", TIMEOUT_S);
    let err = match Topic::<TwistCmd>::builder("cmd")
        .namespace(&ns.name)
        .build()
    {
        Err(horus::Error::Topic(e)) => e,
        other => panic!("expected a type mismatch, got {other:?}"),
    };
    match &err {
        TopicError::TypeMismatch {
            expected, found, ..
        } => assert_eq!(
            (expected.as_str(), found.as_str()),
            ("TwistCmd", "WheelCmd")
        ),
        other => panic!("expected a type mismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("TwistCmd") && text.contains("WheelCmd"),
        "{text}"
    );
    // The failed attempt did not disturb the holder's topic.
    holder.tell("check");
    holder.expect("still-ok", TIMEOUT_S);
    holder.kill();
    // The holder is gone: its stale region is replaced by one of our type.
    let a: Topic<TwistCmd> = Topic::builder("cmd").namespace(&ns.name).build().unwrap();
    let b: Topic<TwistCmd> = Topic::builder("cmd").namespace(&ns.name).build().unwrap();
    let msg = TwistCmd {
        linear: 0.5,
        angular: -0.25,
    };
    a.send(msg);
    assert_eq!(b.recv(), Some(msg));
    // Now it is ours that is live: the old type is refused.
    assert!(matches!(
        Topic::<WheelCmd>::builder("cmd")
            .namespace(&ns.name)
            .build(),
        Err(horus::Error::Topic(TopicError::TypeMismatch { .. }))
    ));
    drop((a, b));
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    let (role, args) = common::child_role();
    let arg = |i: usize| -> u64 { args[i].parse().expect("numeric argument") };
    match role.as_str() {
        // args: publisher id, messages to send before `ready`.
        "publisher" => {
            let (id, pre) = (arg(0), arg(1));
            let topic: Topic<Stamped> = Topic::new(TOPIC).unwrap();
            for seq in 1..=pre {
                topic.send(stamped(id, seq, PHASE_PRE));
            }
            say("ready");
            assert_eq!(next_command().as_deref(), Some("go"));
            for seq in 1..=PER_PUBLISHER {
                topic.send(stamped(id, seq, PHASE_MAIN));
            }
            say(&format!("sent {PER_PUBLISHER}"));
            // Keep the handle, and with it the lane, until every subscriber
            // is done (the parent closes stdin): a publisher that left would
            // free its lane, the next publisher's first send could continue
            // it (`ring/lanes.rs`), and a subscriber lapped on that lane
            // would lose this one's newest messages, which `receive_all`
            // requires to arrive.
            assert_eq!(next_command(), None);
            drop(topic);
        }
        // args: number of publishers.
        "subscriber" => {
            let topic: Topic<Stamped> = Topic::new(TOPIC).unwrap();
            say("ready");
            let (received, dropped) = receive_all(&topic, arg(0) as usize);
            say(&format!("result {received} {dropped}"));
        }
        "hold_wheel" => {
            let a: Topic<WheelCmd> = Topic::new("cmd").unwrap();
            let b: Topic<WheelCmd> = Topic::new("cmd").unwrap();
            say("ready");
            while let Some(cmd) = next_command() {
                assert_eq!(cmd, "check");
                let msg = WheelCmd {
                    left: 1.0,
                    right: 2.0,
                };
                a.send(msg);
                assert_eq!(b.recv(), Some(msg));
                say("still-ok");
            }
        }
        other => panic!("unknown role {other}"),
    }
}
