//! Bounded waits: a condition polled until a deadline, and a watchdog that
//! turns a hang into a failure.

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

/// Aborts the whole test process (a failure, with `what` on stderr) unless
/// the returned guard is dropped within `limit`: turns a hang (a `recv` that
/// blocks, a child that never answers) into a failing test instead of a CI
/// run that never ends.
pub fn watchdog(limit: std::time::Duration, what: &'static str) -> Watchdog {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("watchdog: {what} still running after {limit:?}: aborting");
            std::process::abort();
        }
    });
    Watchdog(tx)
}

/// See [`watchdog`]; dropping it disarms the watchdog.
pub struct Watchdog(#[allow(dead_code)] std::sync::mpsc::Sender<()>);
