//! The core's events (joins, scheduler start/stop) reach the `log` facade
//! through horus-nostd's trace shim (feature `log`, which horus-std enables).

mod common;

use std::sync::Mutex;

use common::TestNs;
use horus::prelude::*;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.target().starts_with("horus_nostd") {
            LINES.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

message! {
    Sample { value: u64 }
}

struct Idle;
impl Node for Idle {
    fn tick(&mut self) {}
}

#[test]
fn the_cores_events_go_through_log() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    let ns = TestNs::new("corelog");
    let t: Topic<Sample> = Topic::builder("sample")
        .namespace(&ns.name)
        .build()
        .unwrap();
    let mut sched = Scheduler::new()
        .namespace(&ns.name)
        .system_topics(false)
        .blackbox(false);
    sched.add(Idle).build().unwrap();
    sched.tick_once().unwrap();
    sched.shutdown().unwrap();
    drop(t);
    let lines = LINES.lock().unwrap().clone();
    let pid = std::process::id();
    let has = |s: &str| lines.iter().any(|l| l.contains(s));
    assert!(
        has(&format!(
            "region of type Sample: pid {pid} joined as participant 0"
        )),
        "{lines:?}"
    );
    assert!(has("scheduler: started 1 node(s) at"), "{lines:?}");
    assert!(has("scheduler: shutting down 1 node(s)"), "{lines:?}");
}
