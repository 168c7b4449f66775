//! What a user sees when `fn main() -> Result<()>` returns a common error:
//! Rust prints `Error: {err:?}` on stderr, and that must be our sentence with
//! its fix, not a dump like `Topic(TypeMismatch { topic: .. })`.
//!
//! Each test runs this binary again as a child whose role is a small program
//! written as the seed writes one (`fn program() -> Result<()>`). The child
//! hands the program's result to `Termination::report`, the very call Rust's
//! runtime makes on `main`'s return value, and exits with its code; the test
//! reads the child's stderr.

mod common;

use std::process::{ExitCode, Termination};

use common::TestNs;
use horus::prelude::*;

message! {
    WheelEncoder {
        left_ticks: i64,
        right_ticks: i64,
        timestamp_ns: u64,
    }
    MotorCommand {
        left: f32,
        right: f32,
    }
}

/// Runs the program `role` as a child in namespace `ns`: asserts it failed
/// with exit code 1 (an `Err` from main, not a panic) and returns its stderr.
fn stderr_of(role: &str, ns: &str) -> String {
    let _watchdog = common::watchdog(std::time::Duration::from_secs(120), "a main_errors child");
    let out = common::child_output(role, ns, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "child {role}: expected main to return an error\nstderr:\n{stderr}"
    );
    stderr
}

/// Asserts `stderr` shows `Error: ` and then every part of `sentence`, and no
/// `Debug` structure.
fn assert_sentence(stderr: &str, sentence: &[&str]) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_else(|| panic!("no `Error: ` line on stderr:\n{stderr}"));
    for part in sentence {
        assert!(line.contains(part), "missing {part:?} in:\n{line}");
    }
    for dump in [
        "Topic(",
        "Scheduler(",
        " { ",
        "TypeMismatch",
        "InvalidName",
        "PermissionDenied",
        "Full",
        "DuplicateName",
        "InitFailed",
    ] {
        assert!(!line.contains(dump), "Debug syntax {dump:?} in:\n{line}");
    }
}

#[test]
fn type_mismatch_prints_both_types_and_the_fix() {
    let ns = TestNs::new("mainmismatch");
    let stderr = stderr_of("type_mismatch", &ns.name);
    assert_sentence(
        &stderr,
        &[
            "type mismatch on topic \"wheel.encoders\"",
            "this program uses `MotorCommand` but the topic carries `WheelEncoder`",
            "every program on a topic must use the same message type",
        ],
    );
}

#[test]
fn invalid_topic_name_prints_the_rule() {
    let ns = TestNs::new("mainname");
    let stderr = stderr_of("invalid_name", &ns.name);
    assert_sentence(
        &stderr,
        &[
            "invalid topic name \"wheel encoders\"",
            "use 1 to 200 characters from A-Z a-z 0-9 . _ -",
        ],
    );
}

#[test]
fn foreign_namespace_prints_its_owner_and_the_fix() {
    let ns = TestNs::new("mainforeign");
    let path = ns.path();
    let (other, me) = ns.create_dir_owned_by_another_user();
    let stderr = stderr_of("foreign_namespace", &ns.name);
    std::fs::remove_dir(&path).unwrap();
    assert_sentence(
        &stderr,
        &[
            &format!("permission denied on {}", path.display()),
            &format!("it belongs to uid {other} and we are uid {me}"),
            "run both programs as the same user, or use another namespace (HORUS_NAMESPACE)",
        ],
    );
}

#[test]
fn full_topic_prints_the_limit_and_the_fix() {
    let ns = TestNs::new("mainfull");
    let stderr = stderr_of("full", &ns.name);
    assert_sentence(
        &stderr,
        &[
            "topic \"wheel.encoders\" is full: all 1 participant slots are held",
            "drop unused handles, or create the topic with \
             Topic::builder(name).max_participants(n)",
        ],
    );
}

#[test]
fn duplicate_node_name_prints_the_name_and_the_fix() {
    let ns = TestNs::new("mainduplicate");
    let stderr = stderr_of("duplicate_node", &ns.name);
    assert_sentence(
        &stderr,
        &[
            "two nodes are named \"Encoder\"",
            "give each node of a scheduler its own name",
        ],
    );
}

#[test]
fn failed_init_prints_the_node_and_its_cause_once() {
    let ns = TestNs::new("maininit");
    let stderr = stderr_of("init_failed", &ns.name);
    assert_sentence(
        &stderr,
        &[
            "node \"Odometry\" failed to initialise: invalid topic name \"odom raw\"",
            "use 1 to 200 characters",
        ],
    );
    assert_eq!(stderr.matches("invalid topic name").count(), 1, "{stderr}");
}

// ---------------------------------------------------------------- programs --
// Each is a `main` as a user writes it (the seed's `fn main() -> Result<()>`).

/// Two programs' worth of handles on one topic name, with two types.
fn type_mismatch() -> Result<()> {
    let _encoders: Topic<WheelEncoder> = Topic::new("wheel.encoders")?;
    let _motors: Topic<MotorCommand> = Topic::new("wheel.encoders")?;
    Ok(())
}

fn invalid_name() -> Result<()> {
    let _t: Topic<WheelEncoder> = Topic::new("wheel encoders")?;
    Ok(())
}

/// The namespace directory (from `HORUS_NAMESPACE`) belongs to another user.
fn foreign_namespace() -> Result<()> {
    let _t: Topic<WheelEncoder> = Topic::new("wheel.encoders")?;
    Ok(())
}

fn full() -> Result<()> {
    let _first: Topic<WheelEncoder> = Topic::builder("wheel.encoders")
        .max_participants(1)
        .build()?;
    let _second: Topic<WheelEncoder> = Topic::new("wheel.encoders")?;
    Ok(())
}

struct Named(&'static str);

impl Node for Named {
    fn name(&self) -> &str {
        self.0
    }
    fn tick(&mut self) {}
}

fn duplicate_node() -> Result<()> {
    let mut sched = Scheduler::new().tick_rate(100_u64.hz());
    sched.add(Named("Encoder")).order(0).build()?;
    sched.add(Named("Encoder")).order(1).build()?;
    sched.run()?;
    Ok(())
}

/// A node whose `init` opens a topic with a bad name.
struct Odometry {
    input: Option<Topic<WheelEncoder>>,
}

impl Node for Odometry {
    fn name(&self) -> &str {
        "Odometry"
    }
    fn init(&mut self) -> Result<()> {
        self.input = Some(Topic::new("odom raw")?);
        Ok(())
    }
    fn tick(&mut self) {
        if let Some(t) = &self.input {
            while t.recv().is_some() {}
        }
    }
}

fn init_failed() -> Result<()> {
    let mut sched = Scheduler::new().tick_rate(100_u64.hz());
    sched.add(Odometry { input: None }).order(0).build()?;
    sched.run()?;
    Ok(())
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::run_child(|role, _| {
        let result = match role {
            "type_mismatch" => type_mismatch(),
            "invalid_name" => invalid_name(),
            "foreign_namespace" => foreign_namespace(),
            "full" => full(),
            "duplicate_node" => duplicate_node(),
            "init_failed" => init_failed(),
            other => panic!("unknown role {other}"),
        };
        // What Rust's runtime does with `main`'s return value: prints
        // `Error: {err:?}` for an `Err` and exits with status 1.
        let code = result.report();
        std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 });
    });
}
