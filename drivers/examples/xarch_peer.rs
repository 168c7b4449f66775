//! One end of a topic shared by processes of different architectures
//! (`ci/aarch64.sh`: an aarch64 build under qemu-user and a native x86_64
//! build, in both directions, through the same `/dev/shm` region).
//!
//! ```text
//! xarch_peer sub [COUNT]   # joins, says hello, checks every message, reports
//! xarch_peer pub [COUNT]   # waits for a hello, publishes COUNT messages, waits for the report
//! ```
//!
//! Each data message is a function of its sequence number, with fields of
//! every width (a nested standard `Imu` included), so the subscriber checks
//! every byte of every message it receives, and the exact accounting
//! `received + dropped == COUNT`. The handshake runs on a second topic
//! (hello from the subscriber, its report, bye from the publisher), so the
//! two can be started in any order and neither exits while the other still
//! reads. Namespace: `HORUS_NAMESPACE`. Exit status 0 iff everything arrived
//! intact; the last line says `PASS` or `FAIL`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use horus::prelude::*;

message! {
    /// A data message: every field a function of `seq`.
    XarchProbe {
        seq: u64,
        neg: i64,
        real: f64,
        check: u64,
        imu: Imu,
        small: f32,
        word: u32,
        half: u16,
        half_signed: i16,
        bytes: [u8; 4],
    }

    /// Handshake: `kind` is one of the `CTL_*` codes.
    XarchCtl { kind: u64, received: u64, dropped: u64, bad: u64 }
}

const DATA_TOPIC: &str = "xarch.data";
const CTL_TOPIC: &str = "xarch.ctl";
/// Slots of the data lane.
const CAPACITY: u32 = 1024;
const CTL_HELLO: u64 = 1;
const CTL_REPORT: u64 = 2;
const CTL_BYE: u64 = 3;
/// Only catches hangs.
const TIMEOUT: Duration = Duration::from_secs(60);

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The message with sequence number `seq`, as both ends compute it.
fn probe(seq: u64) -> XarchProbe {
    let s = seq as f64;
    XarchProbe {
        seq,
        neg: -(seq as i64) * 3 - 1,
        real: s * 0.25 - 1.0e9,
        check: mix(seq),
        imu: Imu {
            orientation: [s + 0.125, -s, 1.0 / 3.0, f64::MIN_POSITIVE],
            angular_velocity: [s * 1e-3, -s * 1e-3, f64::MAX],
            linear_acceleration: [9.80665, -s, s * s],
            timestamp_ns: seq.wrapping_mul(1_000_003),
        },
        small: seq as f32 * 0.5,
        word: (seq as u32).wrapping_mul(2_654_435_761),
        half: (seq as u16) ^ 0xA5A5,
        half_signed: (seq as i16).wrapping_neg(),
        bytes: [seq as u8, (seq >> 8) as u8, 0xFF, 0x00],
    }
}

fn data_topic() -> Result<Topic<XarchProbe>> {
    Topic::builder(DATA_TOPIC).capacity(CAPACITY).build()
}

fn ctl_topic() -> Result<Topic<XarchCtl>> {
    Topic::builder(CTL_TOPIC).build()
}

/// Waits for a control message of `kind`, doing `idle` between polls.
fn wait_ctl(ctl: &Topic<XarchCtl>, kind: u64, mut idle: impl FnMut()) -> Option<XarchCtl> {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        while let Some(m) = ctl.recv() {
            if m.kind == kind {
                return Some(m);
            }
        }
        idle();
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

fn subscribe(count: u64) -> Result<bool> {
    let data = data_topic()?;
    let ctl = ctl_topic()?;
    let (mut bad, mut next_min, mut last) = (0u64, 0u64, None);
    let mut last_hello = None::<Instant>;
    let deadline = Instant::now() + TIMEOUT;
    while last != Some(count - 1) && Instant::now() < deadline {
        // Hello until the first message: the data handle exists by now.
        if data.received_count() == 0 && last_hello.is_none_or(|t| t.elapsed().as_millis() >= 20) {
            ctl.send(XarchCtl {
                kind: CTL_HELLO,
                ..Default::default()
            });
            last_hello = Some(Instant::now());
        }
        while let Some(m) = data.recv() {
            if m != probe(m.seq) || m.seq < next_min || m.seq >= count {
                bad += 1;
                if bad <= 3 {
                    eprintln!("sub: bad message {m:?}");
                }
            }
            next_min = m.seq + 1;
            last = Some(m.seq);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let (received, dropped) = (data.received_count(), data.dropped_count());
    ctl.send(XarchCtl {
        kind: CTL_REPORT,
        received,
        dropped,
        bad,
    });
    let bye = wait_ctl(&ctl, CTL_BYE, || {}).is_some();
    let ok = bad == 0 && last == Some(count - 1) && received + dropped == count && bye;
    println!(
        "sub ({arch}): received {received} + dropped {dropped} of {count}, {bad} bad, last seq {last:?}, bye {bye}",
        arch = std::env::consts::ARCH
    );
    Ok(ok)
}

fn publish(count: u64) -> Result<bool> {
    let ctl = ctl_topic()?;
    let data = data_topic()?;
    if wait_ctl(&ctl, CTL_HELLO, || {}).is_none() {
        println!("pub ({}): no subscriber said hello", std::env::consts::ARCH);
        return Ok(false);
    }
    for seq in 0..count {
        data.send(probe(seq));
    }
    let report = wait_ctl(&ctl, CTL_REPORT, || {});
    ctl.send(XarchCtl {
        kind: CTL_BYE,
        ..Default::default()
    });
    let Some(r) = report else {
        println!(
            "pub ({}): no report from the subscriber",
            std::env::consts::ARCH
        );
        return Ok(false);
    };
    println!(
        "pub ({arch}): sent {count}; subscriber received {} + dropped {}, {} bad",
        r.received,
        r.dropped,
        r.bad,
        arch = std::env::consts::ARCH
    );
    Ok(r.bad == 0 && r.received + r.dropped == count && r.received > 0)
}

fn main() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = match args.get(1).map(|s| s.parse::<u64>()) {
        None => 5000,
        Some(Ok(n)) if n > 0 => n,
        _ => {
            eprintln!("usage: xarch_peer pub|sub [COUNT > 0]");
            return Ok(ExitCode::from(2));
        }
    };
    let role = args.first().map(String::as_str).unwrap_or_default();
    println!(
        "{role} ({}): namespace {:?}, XarchProbe {} bytes, type id {:#018x}, Imu type id {:#018x}",
        std::env::consts::ARCH,
        std::env::var("HORUS_NAMESPACE").unwrap_or_default(),
        size_of::<XarchProbe>(),
        XarchProbe::TYPE_ID,
        Imu::TYPE_ID,
    );
    let ok = match role {
        "pub" => publish(count)?,
        "sub" => subscribe(count)?,
        _ => {
            eprintln!("usage: xarch_peer pub|sub [COUNT > 0]");
            return Ok(ExitCode::from(2));
        }
    };
    println!(
        "{role} ({}): {}",
        std::env::consts::ARCH,
        if ok { "PASS" } else { "FAIL" }
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
