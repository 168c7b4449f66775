//! Processes SIGKILLed at random moments, and restarted.
//!
//! - A publisher killed mid-stream 200 times in a row (plus, now and then, one
//!   killed at any moment of its start): the subscriber never blocks, never
//!   gets a torn message, gets fresh data after every restart, and its loss
//!   count stays exact (the message a publisher was writing when killed
//!   becomes one counted drop once its entry is reclaimed).
//! - A subscriber killed 20 times: the live publisher is not disturbed, and
//!   each dead subscriber's participant entry is reclaimed by the next handle,
//!   so a topic of 4 entries never fills up.
//!
//! Random moments come from a xorshift generator seeded from the clock; the
//! seed is printed, and `HORUS_KILL_SEED=<seed>` replays it.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Peer, TestNs, next_command, say, wait_until};
use horus::inspect::topic_info;
use horus::prelude::*;
use horus::shm::Namespace;

message! {
    /// Message `counter` (from 1) of publisher process `incarnation`;
    /// `check` is a function of both, so a torn copy is detected.
    Beat { incarnation: u64, counter: u64, check: [u64; 4] }
}

const TOPIC: &str = "beat";
/// Only catches hangs.
const TIMEOUT: Duration = Duration::from_secs(30);

fn beat(incarnation: u64, counter: u64) -> Beat {
    let base = incarnation << 40 ^ counter;
    Beat {
        incarnation,
        counter,
        check: core::array::from_fn(|i| {
            let x = (base ^ (i as u64) << 60).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            x ^ x >> 29
        }),
    }
}

/// xorshift64 (Marsaglia 2003).
struct XorShift(u64);

impl XorShift {
    fn from_clock_or_env() -> Self {
        let seed = std::env::var("HORUS_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock after 1970")
                    .as_nanos() as u64
            })
            .max(1);
        eprintln!("kill_restart seed {seed} (replay: HORUS_KILL_SEED={seed})");
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A subscriber that checks everything it receives.
struct Watcher {
    topic: Topic<Beat>,
    /// `(incarnation, counter)` of the newest message.
    newest: (u64, u64),
    /// Messages received per incarnation (index = incarnation).
    per_incarnation: Vec<u64>,
    /// The longest single `recv()` call.
    slowest_recv: Duration,
}

impl Watcher {
    fn new(topic: Topic<Beat>, incarnations: u64) -> Self {
        Self {
            topic,
            newest: (0, 0),
            per_incarnation: vec![0; incarnations as usize + 1],
            slowest_recv: Duration::ZERO,
        }
    }

    /// One `recv()`, checked. True if it delivered.
    fn poll(&mut self) -> bool {
        let t = Instant::now();
        let got = self.topic.recv();
        self.slowest_recv = self.slowest_recv.max(t.elapsed());
        let Some(m) = got else { return false };
        assert_eq!(m, beat(m.incarnation, m.counter), "torn message");
        let (inc, counter) = self.newest;
        assert!(
            (m.incarnation, m.counter) > (inc, counter)
                && (m.incarnation as usize) < self.per_incarnation.len(),
            "({}, {}) after ({inc}, {counter}): out of order or duplicated",
            m.incarnation,
            m.counter
        );
        self.newest = (m.incarnation, m.counter);
        self.per_incarnation[m.incarnation as usize] += 1;
        true
    }

    /// Polls until `incarnation` has delivered a message; fails if `peer`
    /// dies first or nothing comes within the timeout.
    fn wait_for(&mut self, incarnation: u64, peer: &mut Peer) {
        let deadline = Instant::now() + TIMEOUT;
        let mut polls = 0u32;
        while self.newest.0 < incarnation {
            if !self.poll() {
                polls = polls.wrapping_add(1);
                if polls % 1024 == 0 {
                    peer.assert_running();
                    assert!(
                        Instant::now() < deadline,
                        "no message from incarnation {incarnation}"
                    );
                }
            }
        }
    }

    /// Receives until everything published is accounted for, then checks it
    /// is exactly that.
    fn drain_and_account(&mut self) {
        let published = self.topic.published_count();
        let accounted = |w: &Self| w.topic.received_count() + w.topic.dropped_count();
        wait_until(TIMEOUT.as_secs(), "every message accounted for", || {
            while self.poll() {}
            accounted(self) >= published
        });
        assert_eq!(self.topic.recv(), None);
        assert_eq!(
            accounted(self),
            published,
            "received {} + dropped {} != published {published}",
            self.topic.received_count(),
            self.topic.dropped_count()
        );
        assert_eq!(
            self.per_incarnation.iter().sum::<u64>(),
            self.topic.received_count()
        );
    }
}

#[test]
fn a_publisher_killed_200_times_never_disturbs_its_subscriber() {
    const INCARNATIONS: u64 = 200;
    // A recv() that blocked would hang here forever: fail instead.
    let _watchdog = common::watchdog(Duration::from_secs(900), "the 200-kill test");
    let ns = TestNs::new("killpub");
    let started = Instant::now();
    let mut rng = XorShift::from_clock_or_env();
    let topic = Topic::builder(TOPIC)
        .namespace(&ns.name)
        .capacity(64)
        .max_participants(4)
        .build()
        .unwrap();
    // Incarnation 2k is the k-th publisher; 2k - 1 a doomed one (see below).
    let mut watcher = Watcher::new(topic, 2 * INCARNATIONS);
    let mut doomed = 0;
    for k in (2..=2 * INCARNATIONS).step_by(2) {
        // One time in four, first a publisher killed 0..4 ms after its
        // spawn, without waiting for it: during exec, while opening or
        // joining the topic (maybe mid-reclaim of its predecessor), or
        // mid-send. Whatever it leaves, the next one must cope.
        if rng.next() % 4 == 0 {
            doomed += 1;
            let mut publisher = Peer::spawn("beat", &ns.name, &[&(k - 1).to_string()]);
            let run_for = Duration::from_micros(rng.next() % 4000);
            let t = Instant::now();
            while t.elapsed() < run_for {
                watcher.poll();
            }
            publisher.kill();
        }
        let mut publisher = Peer::spawn("beat", &ns.name, &[&k.to_string()]);
        // Fresh data after every restart (the restarted publisher reclaimed
        // its dead predecessor's entry: `max_participants(4)` would be
        // exhausted after three kills otherwise).
        watcher.wait_for(k, &mut publisher);
        // Let it run a random 0..2 ms, receiving all the while.
        let run_for = Duration::from_micros(rng.next() % 2000);
        let t = Instant::now();
        while t.elapsed() < run_for {
            watcher.poll();
        }
        publisher.kill();
        watcher.poll();
    }
    // The last incarnation's entry (and the message it may have been writing)
    // is reclaimed when the next handle joins.
    let late: Topic<Beat> = Topic::builder(TOPIC).namespace(&ns.name).build().unwrap();
    watcher.drain_and_account();
    let dropped = watcher.topic.dropped_count();
    eprintln!(
        "{INCARNATIONS} + {doomed} kills in {:?}: received {}, dropped {dropped}, \
         slowest recv {:?}",
        started.elapsed(),
        watcher.topic.received_count(),
        watcher.slowest_recv
    );
    assert!(
        watcher.per_incarnation[2..]
            .iter()
            .step_by(2)
            .all(|&n| n > 0)
    );
    // Not a timing assertion: a blocked recv() would take the whole timeout.
    assert!(watcher.slowest_recv < TIMEOUT, "recv() blocked");
    drop((late, watcher));
}

/// The pids and liveness of the topic's participant entries.
fn entries(ns: &TestNs) -> Vec<(u32, bool)> {
    let dir = Namespace::open_existing(&ns.name).unwrap().unwrap();
    let info = topic_info(&dir, TOPIC).unwrap().unwrap();
    info.participants.iter().map(|p| (p.pid, p.alive)).collect()
}

#[test]
fn killed_subscribers_never_disturb_a_live_publisher_and_are_reclaimed() {
    const KILLS: u32 = 20;
    let ns = TestNs::new("killsub");
    let mut rng = XorShift::from_clock_or_env();
    let topic = Topic::builder(TOPIC)
        .namespace(&ns.name)
        .capacity(1024)
        .max_participants(4)
        .build()
        .unwrap();
    let mut watcher = Watcher::new(topic, 1);
    let mut publisher = Peer::spawn("beat_until_stop", &ns.name, &["1"]);
    watcher.wait_for(1, &mut publisher);
    let me = std::process::id();
    for _ in 0..KILLS {
        let mut victim = Peer::spawn("watch", &ns.name, &[]);
        // It joined (reclaiming its predecessor's entry) and gets data.
        victim.expect("receiving", TIMEOUT.as_secs());
        let run_for = Duration::from_micros(rng.next() % 2000);
        let t = Instant::now();
        while t.elapsed() < run_for {
            watcher.poll();
        }
        let victim_pid = victim.child.id();
        victim.kill();
        // The publisher lives on and its stream continues, in order.
        publisher.assert_running();
        let before = watcher.newest.1;
        wait_until(TIMEOUT.as_secs(), "the publisher's next message", || {
            watcher.poll();
            watcher.newest.1 > before
        });
        // Until someone joins, the dead subscriber's entry stays, shown dead.
        let now = entries(&ns);
        assert!(now.contains(&(victim_pid, false)), "{now:?}");
        assert_eq!(now.len(), 3, "{now:?}");
    }
    // A new handle reclaims the last victim's entry: only live ones remain.
    let late: Topic<Beat> = Topic::builder(TOPIC).namespace(&ns.name).build().unwrap();
    let mut now = entries(&ns);
    now.sort();
    let mut want = vec![(me, true), (me, true), (publisher.child.id(), true)];
    want.sort();
    assert_eq!(now, want);
    publisher.tell("stop");
    let sent: u64 = publisher.expect("sent", TIMEOUT.as_secs())[0]
        .parse()
        .unwrap();
    publisher.wait_success(TIMEOUT.as_secs());
    // The watcher joined before the publisher: it accounts for every message.
    watcher.drain_and_account();
    assert_eq!(watcher.topic.published_count(), sent);
    drop((late, watcher));
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::run_child(|role, args| match role {
        // Publishes as fast as it can until killed. args: incarnation.
        "beat" => {
            let incarnation: u64 = args[0].parse().unwrap();
            let topic: Topic<Beat> = Topic::new(TOPIC).unwrap();
            for counter in 1.. {
                topic.send(beat(incarnation, counter));
            }
        }
        // Publishes until told "stop", then reports the count. args: incarnation.
        "beat_until_stop" => {
            let incarnation: u64 = args[0].parse().unwrap();
            let topic: Topic<Beat> = Topic::new(TOPIC).unwrap();
            static STOP: AtomicBool = AtomicBool::new(false);
            std::thread::spawn(|| {
                assert_eq!(next_command().as_deref(), Some("stop"));
                STOP.store(true, Ordering::Relaxed);
            });
            let mut sent = 0;
            while !STOP.load(Ordering::Relaxed) {
                sent += 1;
                topic.send(beat(incarnation, sent));
                std::thread::yield_now();
            }
            say(&format!("sent {sent}"));
        }
        // Receives (checking) until killed.
        "watch" => {
            let topic: Topic<Beat> = Topic::new(TOPIC).unwrap();
            let mut watcher = Watcher::new(topic, 1);
            let mut said = false;
            loop {
                if watcher.poll() && !said {
                    say("receiving");
                    said = true;
                }
            }
        }
        // Creates topic args[0], says so, and holds it until killed.
        "hold" => {
            let _topic: Topic<Beat> = Topic::new(&args[0]).unwrap();
            say("holding");
            loop {
                std::thread::park();
            }
        }
        other => panic!("unknown role {other}"),
    });
}

#[test]
fn the_first_topic_a_process_opens_cleans_what_the_dead_left() {
    let ns = TestNs::new("firstclean");
    let mut dead = Peer::spawn("hold", &ns.name, &["gone"]);
    dead.expect("holding", 30);
    let mut live = Peer::spawn("hold", &ns.name, &["kept"]);
    live.expect("holding", 30);
    dead.kill();
    let dir = ns.path();
    // What a creator killed while initialising leaves: an unlocked `.init.` file.
    let half = dir.join(".init.half.999999.0");
    std::fs::write(&half, b"").unwrap();
    let locks = || std::fs::read_dir(dir.join("proc")).unwrap().count();
    assert_eq!(locks(), 2, "one liveness file per child");
    // This process has not used the namespace yet: its first topic cleans it.
    let _fresh: Topic<Beat> = Topic::builder("fresh").namespace(&ns.name).build().unwrap();
    assert!(!dir.join("gone.topic").exists(), "the dead child's region");
    assert!(!half.exists(), "the abandoned .init. file");
    assert!(dir.join("kept.topic").exists(), "the live child's region");
    assert_eq!(
        locks(),
        2,
        "the live child's and ours; the dead one's is gone"
    );
    live.kill();
}
