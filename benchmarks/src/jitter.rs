//! Scheduler tick jitter: one node under `Scheduler::new().tick_rate(f)`,
//! `run_for(d)`, records `now_ns()` at every tick. Lateness of a tick = its
//! distance past the latest release of an ideal grid of the period, with
//! the grid's phase at the tick phase that makes the total lateness least
//! (no tick early), so the numbers are a lower bound if the whole grid was
//! late.
//! Releases with no tick are counted as skipped. Beside
//! it, the scheduler's own `wake_jitter()` figures, and the floor any
//! scheduler on this machine can reach: a bare `clock_nanosleep`
//! (TIMER_ABSTIME) loop on the same grid.

use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use horus::prelude::*;

use crate::Res;

#[derive(Debug, Clone)]
pub struct Jitter {
    pub what: &'static str,
    pub hz: u64,
    pub ticks: usize,
    /// Releases with no tick (the scheduler skips a release it is a whole
    /// period late for).
    pub skipped: u64,
    /// Lateness, ns (modulo the period: a skipped release is not counted
    /// as a period of lateness).
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
    /// Ticks more than 100 µs late, and how many of them followed an
    /// involuntary context switch (the thread was preempted while waiting).
    pub over_100us: (u64, u64),
    /// The scheduler's own wake-up lateness (p50, p99, max, count), ns.
    pub own: Option<(u64, u64, u64, u64)>,
}

/// Involuntary context switches of the calling thread so far.
fn preemptions() -> u64 {
    // SAFETY: `ru` is a valid rusage on our stack that getrusage fills.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut ru);
        ru.ru_nivcsw as u64
    }
}

/// Lateness of ticks at `times`; `preempt[i]` = involuntary context
/// switches seen by tick i (taken right after its time).
fn lateness(what: &'static str, hz: u64, times: &[u64], preempt: &[u64]) -> Res<Jitter> {
    if times.len() < 2 {
        return Err(format!("{what} at {hz} Hz ticked {} times", times.len()).into());
    }
    let period = 1_000_000_000 / hz;
    // Phase of each tick on the period circle. The grid's phase is the
    // tick phase that makes the total lateness least (no tick early):
    // with phases sorted, putting the grid at phase i costs
    // sum(p) - n * p_i + i * period.
    let t0 = times[0];
    let mut phases: Vec<u64> = times.iter().map(|&t| (t - t0) % period).collect();
    phases.sort_unstable();
    let n = phases.len() as u128;
    let sum: u128 = phases.iter().map(|&p| u128::from(p)).sum();
    let grid = phases
        .iter()
        .enumerate()
        .min_by_key(|&(i, &p)| sum + i as u128 * u128::from(period) - n * u128::from(p))
        .map_or(0, |(_, &p)| p);
    let late_of = |t: u64| ((t - t0) % period + period - grid) % period;
    let mut late: Vec<u64> = times.iter().map(|&t| late_of(t)).collect();
    // Release index of each tick; a gap of more than one is skipped releases.
    let release = |t: u64| (t - t0 + period - late_of(t0) - late_of(t)) / period;
    let skipped = times
        .windows(2)
        .map(|w| (release(w[1]) - release(w[0])).saturating_sub(1))
        .sum::<u64>();
    // Evidence for the tail: of the ticks more than 100 µs late, how many
    // were preempted (involuntarily descheduled) since the tick before.
    let mut over = 0;
    let mut over_preempted = 0;
    for (i, &l) in late.iter().enumerate().skip(1) {
        if l > 100_000 {
            over += 1;
            if preempt.get(i) > preempt.get(i - 1) {
                over_preempted += 1;
            }
        }
    }
    late.sort_unstable();
    let at = |q: f64| late[((q * late.len() as f64).ceil() as usize).clamp(1, late.len()) - 1];
    Ok(Jitter {
        what,
        hz,
        ticks: late.len(),
        skipped,
        p50: at(0.5),
        p99: at(0.99),
        max: late[late.len() - 1],
        over_100us: (over, over_preempted),
        own: None,
    })
}

type Stamps = Arc<Mutex<Vec<(u64, u64)>>>;

struct Stamp(Stamps);

impl Node for Stamp {
    fn name(&self) -> &str {
        "jitter"
    }
    fn tick(&mut self) {
        let now = now_ns();
        let p = preemptions();
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((now, p));
    }
}

/// The std `Scheduler` at `hz` for `secs`; with `.realtime(rt)` if given.
pub fn scheduler(hz: u64, secs: u64, rt: Option<u8>) -> Res<Jitter> {
    let times: Stamps = Arc::new(Mutex::new(Vec::with_capacity((hz * secs + 16) as usize)));
    // Out of shared memory: a benchmark leaves nothing in /dev/shm.
    let mut sched = Scheduler::new()
        .tick_rate(hz.hz())
        .system_topics(false)
        .blackbox(false);
    if let Some(p) = rt {
        sched = sched.realtime(p);
    }
    sched.add(Stamp(times.clone())).order(0).build()?;
    sched.run_for(Duration::from_secs(secs))?;
    let own = sched.wake_jitter();
    let own = (
        own.percentile_ns(50.0).unwrap_or(0),
        own.percentile_ns(99.0).unwrap_or(0),
        own.max_ns(),
        own.count(),
    );
    drop(sched);
    let stamps = times.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (times, preempt): (Vec<u64>, Vec<u64>) = stamps.into_iter().unzip();
    let what = if rt.is_some() {
        "horus Scheduler, .realtime(50)"
    } else {
        "horus Scheduler"
    };
    let mut j = lateness(what, hz, &times, &preempt)?;
    j.own = Some(own);
    Ok(j)
}

/// A bare absolute-deadline `clock_nanosleep` loop at `hz` for `secs`.
pub fn sleep_floor(hz: u64, secs: u64) -> Res<Jitter> {
    let period = 1_000_000_000 / hz;
    let n = hz * secs;
    let start = now_ns() + period;
    let mut times = Vec::with_capacity(n as usize);
    let mut preempt = Vec::with_capacity(n as usize);
    for k in 0..n {
        let due = start + k * period;
        let ts = libc::timespec {
            tv_sec: (due / 1_000_000_000) as libc::time_t,
            tv_nsec: (due % 1_000_000_000) as libc::c_long,
        };
        // SAFETY: `ts` is a valid timespec on our stack; the remainder
        // pointer may be null with TIMER_ABSTIME.
        unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            );
        }
        times.push(now_ns());
        preempt.push(preemptions());
    }
    lateness("clock_nanosleep floor", hz, &times, &preempt)
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

pub fn markdown(rows: &[Jitter], o: &mut String) {
    if rows.is_empty() {
        let _ = writeln!(o, "Not measured in this run.");
        return;
    }
    let _ = writeln!(
        o,
        "Lateness of each tick against the ideal release grid (µs), on core {}; SCHED_OTHER unless \
         the row says `.realtime(50)` (SCHED_FIFO 50, the Scheduler's opt-in).\n",
        crate::sys::CORE_A
    );
    let _ = writeln!(
        o,
        "| what | rate | ticks | skipped releases | p50 | p99 | max | ticks > 100 µs late (of them preempted) | scheduler's own wake_jitter p50 / p99 / max (count) |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
    for j in rows {
        let own = j.own.map_or("-".into(), |(a, b, c, n)| {
            format!("{} / {} / {} ({n})", us(a), us(b), us(c))
        });
        let _ = writeln!(
            o,
            "| {} | {} Hz | {} | {} | {} | {} | {} | {} ({}) | {own} |",
            j.what,
            j.hz,
            j.ticks,
            j.skipped,
            us(j.p50),
            us(j.p99),
            us(j.max),
            j.over_100us.0,
            j.over_100us.1
        );
    }
}

pub fn targets(rows: &[Jitter], o: &mut String) {
    match rows
        .iter()
        .find(|j| j.what == "horus Scheduler" && j.hz == 100)
    {
        Some(j) => {
            let own = j.own.map_or(String::new(), |(_, p99, _, _)| {
                format!(" (its own wake_jitter p99: {} µs)", us(p99))
            });
            let rt = rows
                .iter()
                .find(|r| r.what != j.what && r.what.starts_with("horus Scheduler") && r.hz == 100)
                .map_or(String::new(), |r| {
                    format!("; with `.realtime(50)`: {} µs", us(r.p99))
                });
            let _ = writeln!(
                o,
                "- {} 100 Hz scheduler p99 lateness under 100 µs: {} µs measured per tick{own}{rt}",
                if j.p99 < 100_000 { "MET" } else { "MISSED" },
                us(j.p99)
            );
        }
        None => {
            let _ = writeln!(o, "- NOT MEASURED 100 Hz scheduler p99 lateness");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_against_the_grid_with_a_skip_and_a_late_tick() {
        let p = 1_000_000; // 1 kHz
        let base = 5_000_000_123;
        // On time, 20 us late, 700 us late, (release 3 skipped), 10 us late.
        let times = [
            base,
            base + p + 20_000,
            base + 2 * p + 700_000,
            base + 4 * p + 10_000,
        ];
        let j = lateness("t", 1000, &times, &[0; 4]).unwrap();
        assert_eq!(j.max, 700_000);
        assert_eq!(j.p50, 10_000);
        assert_eq!(j.skipped, 1);
        assert_eq!(j.over_100us, (1, 0));
    }
}
