//! Shared by the end-to-end tests of the `horus` binary: running `horus`,
//! waiting on the output lines of live processes, and the roles this test
//! binary plays when re-run as a child (publisher, listener).
//!
//! The namespace and child-process harness itself ([`TestNs`],
//! [`child_command`], ...) is horus-std's `tests/common/mod.rs`, included
//! here by path: one copy for both crates' tests (a `[dev-dependencies]`
//! crate would be a workspace member for one file, and the harness must not
//! ship in `horus` itself).
#![allow(dead_code)]

#[path = "../../../horus-std/tests/common/mod.rs"]
mod shared;
pub use shared::*;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

horus::message! {
    WheelEncoder {
        left_ticks: i64,
        right_ticks: i64,
        timestamp_ns: u64,
    }
}

impl TestNs {
    /// `horus ARGS` in this namespace.
    pub fn horus(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_horus"));
        c.args(args)
            .env("HORUS_NAMESPACE", &self.name)
            .env("HORUS_CACHE_DIR", cache_dir());
        c
    }

    /// Runs `horus ARGS` to completion (at most `secs`).
    pub fn run(&self, args: &[&str], secs: u64) -> Output {
        let child = self
            .horus(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn horus");
        finish(child, secs, &format!("horus {}", args.join(" ")))
    }
}

/// One cache for every `horus run` of the test suite: the second build is incremental.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("horus-cache")
}

/// A fresh temporary folder for this test.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("e2e-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Waits for `child` (at most `secs`, then SIGKILL and panic) and collects its output.
pub fn finish(child: Child, secs: u64, what: &str) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{what} did not finish within {secs} s");
        }
    }
}

/// The pids whose command line has `part`.
pub fn pids_running(part: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(part))
        })
        .collect()
}

/// SIGKILLs `pids` (what a failed test leaves); says whether there were any.
pub fn kill_all(pids: &[u32]) -> bool {
    for p in pids {
        let _ = Command::new("kill")
            .args(["-KILL", &p.to_string()])
            .status();
    }
    !pids.is_empty()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The last line of `out`'s stdout, as JSON (the last report of `hz`/`bw`).
pub fn last_json(out: &Output) -> serde_json::Value {
    let last = text(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {last:?}"))
}

/// A running `horus` (or other) process whose output lines we wait on.
/// Dropping it SIGKILLs the process (its children get SIGTERM through
/// their parent-death signal).
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    pub seen: Vec<String>,
}

impl Running {
    /// Starts `cmd` with stdout and stderr merged into one line stream.
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (tx, lines) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `secs`) for a line containing `needle`; returns it.
    pub fn expect(&mut self, needle: &str, secs: u64) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line with {needle:?} within {secs} s; output so far:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "exited before printing {needle:?}; output:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// Lines seen so far containing `needle`.
    pub fn count(&mut self, needle: &str) -> usize {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
        self.seen.iter().filter(|l| l.contains(needle)).count()
    }

    /// Sends `sig` (e.g. "TERM") and waits (at most `secs`) for the exit code.
    pub fn stop(&mut self, sig: &str, secs: u64) -> Option<i32> {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(l);
                }
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "did not exit within {secs} s of SIG{sig}:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then asserts it exited 0 (stopped when asked is success)
    /// within 30 s; its output in the failure.
    pub fn assert_stops_on_sigterm(&mut self) {
        let code = self.stop("TERM", 30);
        assert_eq!(code, Some(0), "{}", self.seen.join("\n"));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// This test binary re-run as a child (see [`child_command`]) running `role`
/// (`publish`: `WheelEncoder` on `topic` every 10 ms; `listen`: prints what
/// arrives on `topic`; `schedule`: a scheduler with one node named `topic`;
/// `talker`, `subscriber_node`: the schedulers below) in namespace `ns` (see
/// `child_main` below); returns once it is ready: a scheduler role once its
/// node ticked (so the namespace's system topics, `_horus.nodes` among them,
/// exist), another role once its topic is open (and `publish` has
/// published).
pub fn start_role(role: &str, ns: &str, topic: &str) -> Running {
    let mut cmd = child_command(role, ns, &[]);
    cmd.env("HORUS_TEST_TOPIC", topic);
    let mut r = Running::start(cmd);
    r.expect("@@ready", 30);
    r
}

/// Publishes to the registry of `ns` (made by a scheduler already: see
/// [`start_role`]) a record of node `name` with `fields` (FIELD=VALUE):
/// what any process of the namespace can write there, such as `horus
/// topic pub`.
pub fn forge_record(ns: &TestNs, name: &str, fields: &[&str]) {
    let now = format!("timestamp_ns={}", horus::time::now_ns());
    let name = format!("name={name}");
    let mut args = vec!["topic", "pub", "_horus.nodes", &now, &name];
    args.extend_from_slice(fields);
    let out = ns.run(&args, 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// [`start_role`] `publish`.
pub fn publisher(ns: &str, topic: &str) -> Running {
    start_role("publish", ns, topic)
}

/// Said by a scheduler role's node on every tick: the first says "ready",
/// since by then its scheduler has started and opened the system topics.
/// Saying it before `run` raced with that start: a
/// test writing to `_horus.nodes` right away found no such topic.
fn ticked() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| println!("\n@@ready {}", std::process::id()));
}

/// The child side: runs the role named by `HORUS_TEST_ROLE`. Panics when
/// there is none: `child_main` is only an entry point for the parent tests,
/// and run alone it must fail, not pass having done nothing.
pub fn child_main() {
    let role = std::env::var("HORUS_TEST_ROLE").expect(
        "child_main is a child process entry point: HORUS_TEST_ROLE is not set; \
         run the parent tests instead",
    );
    let topic = std::env::var("HORUS_TEST_TOPIC").unwrap_or_else(|_| "wheel.encoders".into());
    // Die with the test that started us.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .expect("prctl");
    match role.as_str() {
        "publish" => {
            let t: horus::Topic<WheelEncoder> = horus::Topic::new(&topic).expect("topic");
            let mut ticks = 0;
            loop {
                ticks += 10;
                t.send(WheelEncoder {
                    left_ticks: ticks,
                    right_ticks: ticks + 2,
                    timestamp_ns: horus::now_ns(),
                });
                // Ready once it has published: tools list it as a publisher
                // (a handle that has not sent yet is only "opened by").
                if ticks == 10 {
                    println!("\n@@ready {}", std::process::id());
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        "listen" => {
            let t: horus::Topic<WheelEncoder> = horus::Topic::new(&topic).expect("topic");
            println!("\n@@ready {}", std::process::id());
            loop {
                while let Some(m) = t.recv() {
                    println!("\n@@got {} {}", m.left_ticks, m.right_ticks);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        "schedule" => {
            // A scheduler with one node named `topic`, ticking at 100 Hz.
            use horus::prelude::*;
            struct Ticker(String);
            impl Node for Ticker {
                fn name(&self) -> &str {
                    &self.0
                }
                fn tick(&mut self) {
                    ticked();
                }
            }
            let mut sched = Scheduler::new().tick_rate(100_u64.hz());
            sched.add(Ticker(topic)).order(0).build().expect("add node");
            sched.run().expect("scheduler run");
        }
        "talker" => talker(),
        "camera" => camera(),
        "init_nodes" => init_nodes(),
        "subscriber_node" => subscriber_node(),
        other => panic!("unknown role {other}"),
    }
}

/// A scheduler at 100 Hz with the node `Talker`, publishing on
/// `HORUS_TEST_TOPIC` every tick; it also opens `idle.topic` and never uses it.
pub fn talker() {
    use horus::prelude::*;
    struct Talker {
        out: Topic<WheelEncoder>,
        _idle: Topic<WheelEncoder>,
        n: i64,
    }
    impl Node for Talker {
        fn name(&self) -> &str {
            "Talker"
        }
        fn tick(&mut self) {
            self.n += 1;
            self.out.send(WheelEncoder {
                left_ticks: self.n,
                right_ticks: self.n,
                timestamp_ns: horus::now_ns(),
            });
            ticked();
        }
    }
    let topic = std::env::var("HORUS_TEST_TOPIC").expect("topic");
    let node = Talker {
        out: Topic::new(&topic).expect("topic"),
        _idle: Topic::new("idle.topic").expect("topic"),
        n: 0,
    };
    let mut sched = Scheduler::new().tick_rate(100_u64.hz());
    sched.add(node).order(0).build().expect("add node");
    sched.run().expect("scheduler run");
}

/// A scheduler at 100 Hz with two nodes: `Encoder`, which opens
/// `HORUS_TEST_TOPIC` and `idle.topic` in its `init` and publishes on the
/// first every tick, and `Idle`, which opens nothing (so the process has two
/// nodes and only the handles' tags can name `Encoder`).
pub fn init_nodes() {
    use horus::prelude::*;
    struct Encoder {
        topic: String,
        out: Option<Topic<WheelEncoder>>,
        idle: Option<Topic<WheelEncoder>>,
    }
    impl Node for Encoder {
        fn name(&self) -> &str {
            "Encoder"
        }
        fn init(&mut self) -> horus::Result<()> {
            self.out = Some(Topic::new(&self.topic)?);
            self.idle = Some(Topic::new("idle.topic")?);
            Ok(())
        }
        fn tick(&mut self) {
            if let Some(out) = &self.out {
                out.send(WheelEncoder::default());
            }
            ticked();
        }
    }
    struct Idle;
    impl Node for Idle {
        fn tick(&mut self) {}
    }
    let topic = std::env::var("HORUS_TEST_TOPIC").expect("topic");
    let mut sched = Scheduler::new().tick_rate(100_u64.hz());
    let node = Encoder {
        topic,
        out: None,
        idle: None,
    };
    sched.add(node).order(0).build().expect("add node");
    sched.add(Idle).order(1).build().expect("add node");
    sched.run().expect("scheduler run");
}

/// A scheduler with the node `Listener`, receiving `HORUS_TEST_TOPIC`.
pub fn subscriber_node() {
    use horus::prelude::*;
    struct Listener(Topic<WheelEncoder>);
    impl Node for Listener {
        fn name(&self) -> &str {
            "Listener"
        }
        fn tick(&mut self) {
            while self.0.recv().is_some() {}
            ticked();
        }
    }
    let topic = std::env::var("HORUS_TEST_TOPIC").expect("topic");
    let mut sched = Scheduler::new().tick_rate(100_u64.hz());
    sched
        .add(Listener(Topic::new(&topic).expect("topic")))
        .order(0)
        .build()
        .expect("add node");
    sched.run().expect("scheduler run");
}

/// A 30 FPS camera and friends: `camera.rgb` (640x480 rgb8, frame n's
/// pixels all `n % 251`, loaned), `model.out` (float32 tensor of shape
/// [2, 3]) and `lidar.points` (100 xyzi points), one message of each per
/// frame; ready once each has published.
pub fn camera() {
    use horus::prelude::*;
    let camera: Topic<Image> = Topic::new("camera.rgb").expect("topic");
    let model: Topic<Tensor> = Topic::new("model.out").expect("topic");
    let lidar: Topic<PointCloud> = Topic::new("lidar.points").expect("topic");
    let start = std::time::Instant::now();
    for n in 0u32.. {
        let mut img = camera.loan(640, 480, Encoding::Rgb8).expect("loan");
        img.data_mut().fill((n % 251) as u8);
        camera.send(img);
        model.send(Tensor::from_slice(&[2, 3], &[n as f32; 6]).expect("tensor"));
        lidar.send(PointCloud::xyzi(100));
        if n == 0 {
            println!("\n@@ready {}", std::process::id());
        }
        // Paced at 30 FPS (the rate, not a wait for a condition).
        let next = start + Duration::from_millis(100) * (n + 1) / 3;
        std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
    }
}

/// Overwrites schema entry `i` of the region in `file` (see horus-nostd's
/// `layout::schema`): word 6 is `offset | size << 32`, word 7 `kind |
/// count << 8`; the entries start at the header's word 11 (`schema_at`).
pub fn forge_schema_entry(
    file: &std::path::Path,
    i: u64,
    offset: u32,
    size: u32,
    kind: u8,
    count: u64,
) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .expect("open the topic file");
    let mut word = [0u8; 8];
    f.read_exact_at(&mut word, 11 * 8).expect("schema_at");
    let entry = u64::from_le_bytes(word) + i * 8;
    let off_size = u64::from(offset) | u64::from(size) << 32;
    let kind_count = u64::from(kind) | count << 8;
    f.write_all_at(&off_size.to_le_bytes(), (entry + 6) * 8)
        .expect("write the entry");
    f.write_all_at(&kind_count.to_le_bytes(), (entry + 7) * 8)
        .expect("write the entry");
}

/// The blackbox records of `kind` that `horus ARGS --json` (`bb`, `bb
/// --anomalies`) prints in namespace `ns`, with the whole document (for
/// assertion messages).
pub fn bb_records(
    ns: &TestNs,
    args: &[&str],
    kind: &str,
) -> (Vec<serde_json::Value>, serde_json::Value) {
    let out = ns.run(&[args, &["--json"]].concat(), 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let of_kind = v["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["kind"] == kind)
        .cloned()
        .collect();
    (of_kind, v)
}
