//! Shared by the integration tests: a private namespace per test, removed at
//! the end, and re-running this test binary as a child process.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use horus::shm::{Namespace, liveness};

/// A namespace of its own for one test; cleaned and removed on drop.
pub struct TestNs {
    pub name: String,
}

impl TestNs {
    pub fn new(test: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            test.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(24)
                .collect::<String>()
        );
        Self { name }
    }

    pub fn path(&self) -> std::path::PathBuf {
        Namespace::path_of(&self.name)
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        if let Ok(Some(ns)) = Namespace::open_existing(&self.name) {
            liveness::unregister(&ns);
            let removed = ns.remove_if_unused();
            if !std::thread::panicking() {
                assert_eq!(
                    removed.ok(),
                    Some(true),
                    "namespace {} left behind",
                    self.name
                );
            }
        }
    }
}

/// Runs this test binary again as a child executing `role` (see `child_main`).
pub fn spawn_child(role: &str, ns: &str, args: &[&str]) -> Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "child_main",
            "--nocapture",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env("HORUS_TEST_ROLE", role)
        .env("HORUS_TEST_ARGS", args.join(" "))
        .env("HORUS_NAMESPACE", ns)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// The role and arguments this process runs as, if it is a child.
pub fn child_role() -> Option<(String, Vec<String>)> {
    let role = std::env::var("HORUS_TEST_ROLE").ok()?;
    let args = std::env::var("HORUS_TEST_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Some((role, args))
}

/// Spins (yielding) until `cond` holds; panics after `secs` seconds with `what`.
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::yield_now();
    }
}
