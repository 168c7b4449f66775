//! The machine: pinning threads to cores, what the machine is, and what the
//! clock costs.

use std::process::Command;
use std::time::Instant;

/// Core of the measuring side (the parent, thread or process "A").
pub const CORE_A: usize = 0;
/// Core of the answering side ("B": a thread or the child process).
pub const CORE_B: usize = 1;

/// Online cores of the machine (not of this thread's affinity mask, which
/// pinning narrows).
pub fn cores() -> usize {
    // SAFETY: sysconf reads a system constant; no memory is passed.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// Pins the calling thread to `core` (modulo the cores present). Returns
/// whether the kernel accepted it.
pub fn pin(core: usize) -> bool {
    let core = core % cores();
    let ok = pin_exact(core);
    if !ok {
        eprintln!("warning: could not pin a thread to core {core}");
    }
    ok
}

fn pin_exact(core: usize) -> bool {
    // SAFETY: `cpu_set_t` is plain data for which all-zero is the empty set;
    // CPU_SET writes inside it for `core < CPU_SETSIZE` (cores() is far below
    // 1024); sched_setaffinity(0, ..) only reads the set we pass, by size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Makes the kernel SIGKILL this (child) process when its parent dies, so a
/// spinning responder never outlives an aborted run.
pub fn die_with_parent() {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and nothing else; no
    // memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}

fn run(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// What the results were measured on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub model: String,
    pub cores: usize,
    pub kernel: String,
    pub commit: String,
    pub date: String,
    pub load_before: String,
    pub clocksource: String,
}

impl Machine {
    pub fn probe() -> Self {
        let model = run("lscpu", &[])
            .lines()
            .find_map(|l| l.strip_prefix("Model name:").map(|m| m.trim().to_owned()))
            .unwrap_or_else(|| "unknown".into());
        let mut commit = run("git", &["rev-parse", "--short", "HEAD"]);
        if !run("git", &["status", "--porcelain"]).is_empty() {
            commit.push_str(" (work tree has uncommitted changes)");
        }
        Self {
            model,
            cores: cores(),
            kernel: run("uname", &["-r"]),
            commit,
            date: run("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            load_before: load(),
            clocksource: std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        }
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// What the clock costs and how finely it counts, ns: the median of one
/// `Instant::now()` pair with nothing between (inside every round-trip
/// sample, so half of it is in every one-way number), and the clock's step
/// (the smallest difference between two distinct readings of those pairs:
/// every figure is a multiple of it).
pub fn timer_overhead_ns() -> (f64, f64) {
    let mut v: Vec<u64> = (0..100_000)
        .map(|_| {
            let t = Instant::now();
            t.elapsed().as_nanos() as u64
        })
        .collect();
    v.sort_unstable();
    (v[v.len() / 2] as f64, clock_step(&v) as f64)
}

/// The smallest positive gap between values of `sorted` (1 if all equal).
fn clock_step(sorted: &[u64]) -> u64 {
    sorted
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&d| d > 0)
        .min()
        .unwrap_or(1)
}

/// Puts the calling thread in `SCHED_FIFO` at `priority` (threads and
/// processes it starts inherit it), or back in `SCHED_OTHER` for `None`.
pub fn realtime(priority: Option<i32>) -> bool {
    let (policy, prio) = match priority {
        Some(p) => (libc::SCHED_FIFO, p),
        None => (libc::SCHED_OTHER, 0),
    };
    let param = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: `param` is a valid sched_param on our stack, only read.
    unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_clock_step_is_the_smallest_gap_between_readings() {
        assert_eq!(super::clock_step(&[20, 20, 30, 40, 60]), 10);
        assert_eq!(super::clock_step(&[7, 7]), 1);
    }
}
