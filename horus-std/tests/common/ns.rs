//! A private namespace per test, removed at the end.

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

    /// Creates this namespace's directory owned by another user (uid 65534,
    /// or 65533 if we are 65534); returns `(that uid, ours)`. Needs root to
    /// `chown` (CI runs as root): panics otherwise, the directory removed.
    /// The test removes the directory when done (`std::fs::remove_dir`).
    pub fn create_dir_owned_by_another_user(&self) -> (u32, u32) {
        let path = self.path();
        std::fs::create_dir(&path).unwrap();
        let me = rustix::process::geteuid().as_raw();
        let other = if me == 65534 { 65533 } else { 65534 };
        if rustix::fs::chown(&path, Some(rustix::process::Uid::from_raw(other)), None).is_err() {
            std::fs::remove_dir(&path).unwrap();
            panic!("this test needs to chown a directory (run as root, as CI does)");
        }
        (other, me)
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        if let Ok(Some(ns)) = Namespace::open_existing(&self.name) {
            liveness::unregister(&ns);
            // A child that another test of this binary is spawning shares our
            // open files, their `flock`s included, until its exec has closed
            // them, which completes a little after `Command::spawn` returns
            // (the parent resumes once the child's memory is replaced): a
            // region we have just closed can look live for that instant.
            // Retry until removed; a handle really left open fails at the
            // deadline.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let mut removed = horus::shm::remove_if_unused(&ns);
            while !matches!(removed, Ok(true)) && std::time::Instant::now() < deadline {
                std::thread::yield_now();
                removed = horus::shm::remove_if_unused(&ns);
            }
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

/// Files a test planted in its namespace (a file HORUS never removes, say),
/// removed on drop, failure included. Declared after the [`TestNs`], it
/// drops first, so the namespace can then be removed.
pub struct Planted(pub Vec<std::path::PathBuf>);

impl Drop for Planted {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}
