//! `ImuNode` over a mock bus and a private namespace: what one tick puts on
//! the bus and on the topic, and how bus errors become recorded node errors
//! (blackbox) instead of panics.

use std::panic::{AssertUnwindSafe, catch_unwind};

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
use embedded_hal_mock::eh1::i2c::{Mock, Transaction};
use horus::msgs::Imu;
use horus::shm::{Namespace, liveness};
use horus::system::blackbox::{self, AnomalyKind, Blackbox, BlackboxEntry};
use horus::{Node, Topic};
use horus_drivers::mpu6050::{AccelRange, Address, Config, Error, GyroRange, Mpu6050};
use horus_drivers::node::{ImuNode, ImuNodeStats};

const ADDR: u8 = 0x68;
const NACK: ErrorKind = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
const CONFIG: Config = Config {
    accel: AccelRange::G4,
    gyro: GyroRange::Dps500,
};
const NODE: &str = "imu_front";

/// A namespace of its own, removed on drop.
struct TestNs(String);

impl TestNs {
    fn new(tag: &str) -> Self {
        Self(format!("drv{}_{tag}", std::process::id()))
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        if let Ok(Some(ns)) = Namespace::open_existing(&self.0) {
            liveness::unregister(&ns);
            let removed = horus::shm::remove_if_unused(&ns).ok();
            if !std::thread::panicking() {
                assert_eq!(removed, Some(true), "namespace {} left behind", self.0);
            }
        }
    }
}

fn init_ok() -> Vec<Transaction> {
    vec![
        Transaction::write_read(ADDR, vec![0x75], vec![0x68]),
        Transaction::write(ADDR, vec![0x6B, 0x01]),
        Transaction::write(ADDR, vec![0x1B, 0x08]),
        Transaction::write(ADDR, vec![0x1C, 0x08]),
    ]
}

fn read_ok(words: [i16; 7]) -> Transaction {
    let bytes = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    Transaction::write_read(ADDR, vec![0x3B], bytes)
}

/// The node (publishing on "imu" of `ns`), a subscriber, and the bus mock.
fn setup(ns: &TestNs, expected: &[Transaction]) -> (ImuNode<Mock>, Topic<Imu>, Mock) {
    let bus = Mock::new(expected);
    let topic = Topic::builder("imu").namespace(&ns.0).build().unwrap();
    let sub = Topic::builder("imu").namespace(&ns.0).build().unwrap();
    let bb = Blackbox::open(Some(&ns.0)).unwrap();
    let node = ImuNode::with_handles(Mpu6050::new(bus.clone(), Address::Ad0Low), topic, Some(bb))
        .named(NODE)
        .with_config(CONFIG);
    (node, sub, bus)
}

/// Ticks once; fails the test if the tick panicked.
fn tick(node: &mut ImuNode<Mock>) {
    assert!(
        catch_unwind(AssertUnwindSafe(|| node.tick())).is_ok(),
        "tick panicked"
    );
}

fn records(ns: &TestNs) -> Vec<BlackboxEntry> {
    blackbox::read(Some(&ns.0)).unwrap().entries
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-5 * b.abs().max(1.0)
}

#[test]
fn the_node_can_move_to_a_scheduler_thread() {
    fn is_send<T: Send + 'static>() {}
    is_send::<ImuNode<Mock>>();
}

#[test]
fn a_tick_configures_once_then_publishes_one_imu_per_read() {
    let ns = TestNs::new("publish");
    let mut expected = init_ok();
    expected.push(read_ok([8192, 0, -8192, 0, 655, 0, -655]));
    // Second tick: the read only.
    expected.push(read_ok([0, 4096, 0, 0, 0, 6550, 0]));
    let (mut node, sub, mut bus) = setup(&ns, &expected);
    assert_eq!(node.name(), NODE);

    let before = horus::now_ns();
    tick(&mut node);
    let after = horus::now_ns();
    let m = sub.recv().expect("one Imu after the first tick");
    let g = 9.80665;
    let w = 10f64.to_radians();
    assert!(close(m.linear_acceleration[0], g), "{m:?}");
    assert_eq!(m.linear_acceleration[1], 0.0);
    assert!(close(m.linear_acceleration[2], -g), "{m:?}");
    assert!(close(m.angular_velocity[0], w), "{m:?}");
    assert!(close(m.angular_velocity[2], -w), "{m:?}");
    assert_eq!(m.orientation, [0.0; 4], "not estimated: all zero");
    assert!(
        (before..=after).contains(&m.timestamp_ns),
        "stamped when read: {m:?}"
    );

    tick(&mut node);
    let m = sub.recv().expect("one Imu after the second tick");
    assert!(close(m.linear_acceleration[1], g / 2.0), "{m:?}");
    assert!(close(m.angular_velocity[1], 10.0 * w), "{m:?}");
    assert_eq!(sub.recv(), None);
    bus.done();

    assert_eq!(
        node.stats(),
        ImuNodeStats {
            ticks: 2,
            published: 2,
            errors: 0,
            consecutive_errors: 0
        }
    );
    assert!(node.last_error().is_none());
    assert!(records(&ns).is_empty(), "{:?}", records(&ns));
}

#[test]
fn a_bus_error_is_a_recorded_node_error_not_a_panic() {
    let ns = TestNs::new("buserror");
    let mut expected = init_ok();
    // Tick 1: the read is not acknowledged.
    expected.push(read_ok([0; 7]).with_error(NACK));
    // Tick 2: the part is configured again first; still gone.
    expected.push(Transaction::write_read(ADDR, vec![0x75], vec![0]).with_error(NACK));
    // Tick 3: back.
    expected.extend(init_ok());
    expected.push(read_ok([8192, 0, 0, 0, 0, 0, 0]));
    let (mut node, sub, mut bus) = setup(&ns, &expected);

    tick(&mut node);
    assert_eq!(sub.recv(), None, "nothing published from a failed read");
    assert_eq!(node.last_error(), Some(&Error::Bus(NACK)));
    // Handed to the scheduler (see `under_a_scheduler_...`), not panicked.
    let reported = horus::node::take_reported_errors();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert!(
        reported[0].starts_with("read: I2C bus error: "),
        "{}",
        reported[0]
    );

    tick(&mut node);
    assert_eq!(node.stats().consecutive_errors, 2);
    assert_eq!(horus::node::take_reported_errors().len(), 1);
    assert!(records(&ns).is_empty(), "the node itself records no error");

    tick(&mut node);
    assert!(
        sub.recv().is_some(),
        "published again once the part answers"
    );
    bus.done();
    assert_eq!(
        node.stats(),
        ImuNodeStats {
            ticks: 3,
            published: 1,
            errors: 2,
            consecutive_errors: 0
        }
    );
    let all = records(&ns);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].kind, Some(AnomalyKind::Note));
    assert_eq!(all[0].value, 2);
    assert!(
        all[0].detail.contains("after 2 failed ticks"),
        "{}",
        all[0].detail
    );
}

#[test]
fn a_wrong_device_is_a_recorded_node_error_and_nothing_is_written() {
    let ns = TestNs::new("wrongdev");
    let who = |v: u8| Transaction::write_read(ADDR, vec![0x75], vec![v]);
    // An MPU-6500 (0x70): refused on every tick, never written to.
    let (mut node, sub, mut bus) = setup(&ns, &[who(0x70), who(0x70)]);
    tick(&mut node);
    tick(&mut node);
    bus.done();
    assert_eq!(sub.recv(), None);
    assert_eq!(node.last_error(), Some(&Error::WrongDevice { found: 0x70 }));
    assert_eq!(node.stats().errors, 2);
    let r = horus::node::take_reported_errors();
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(r[0].starts_with("init: not an MPU-6050"), "{}", r[0]);
}

#[test]
fn under_a_scheduler_a_bus_error_is_a_recorded_node_error() {
    let ns = TestNs::new("schedbus");
    let mut expected = init_ok();
    expected.push(read_ok([0; 7]).with_error(NACK));
    let (node, _sub, mut bus) = setup(&ns, &expected);
    let mut sched = horus::Scheduler::new().system_topics(false).blackbox(false);
    sched.add(node).build().unwrap();
    sched.tick_once().unwrap();
    let info = sched.node(NODE).expect("the node");
    assert_eq!(
        (info.errors, info.last_tick_failed, info.panics),
        (1, true, 0)
    );
    // Only the error: a slow (emulated) machine may add a late release.
    let a: Vec<_> = sched
        .anomalies()
        .iter()
        .filter(|a| a.kind == AnomalyKind::NodeError)
        .collect();
    assert_eq!(a.len(), 1, "{:?}", sched.anomalies());
    assert_eq!(a[0].node, NODE);
    assert!(
        a[0].detail.contains("read: I2C bus error"),
        "{}",
        a[0].detail
    );
    sched.shutdown().unwrap();
    drop(sched);
    bus.done();
}
