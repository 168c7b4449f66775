//! Scheduler tick jitter: one node under `Scheduler::new().tick_rate(f)`,
//! `run_for(d)`, records `now_ns()` in `init` and at every tick. Lateness of
//! a tick = its start minus the release it answered, the release grid
//! starting at the `init` time (the scheduler takes its grid's origin just
//! before `init`, so this understates lateness by that gap, a few µs at
//! most), with skipped releases accounted the way the scheduler does
//! ([`scheduler_releases`]); never folded modulo the period. Beside
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
    /// Lateness, ns: start minus the release the tick answered.
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

/// The release each tick of a `Scheduler` node answered, and the releases
/// it skipped: the scheduler's own accounting (`horus_nostd::sched::Timing`)
/// replayed on the tick times, from the grid's first release `t0`. A tick
/// answers the earliest release not yet answered; if it starts a whole
/// period or more after it, the releases passed meanwhile are skipped and
/// the next one is the first grid point after the tick. Lateness is never
/// folded modulo the period.
fn scheduler_releases(t0: u64, period: u64, times: &[u64]) -> (Vec<u64>, u64) {
    let mut next = t0;
    let mut skipped = 0;
    let releases = times
        .iter()
        .map(|&t| {
            let release = next;
            let behind = t.saturating_sub(release) / period;
            skipped += behind;
            next = release + (behind + 1) * period;
            release
        })
        .collect();
    (releases, skipped)
}

/// Lateness of ticks at `times` against their `releases`; `preempt[i]` =
/// involuntary context switches seen by tick i (taken right after its time).
fn lateness(
    what: &'static str,
    hz: u64,
    (times, releases): (&[u64], &[u64]),
    skipped: u64,
    preempt: &[u64],
) -> Res<Jitter> {
    if times.len() < 2 || times.len() != releases.len() {
        return Err(format!("{what} at {hz} Hz ticked {} times", times.len()).into());
    }
    let mut late: Vec<u64> = times
        .iter()
        .zip(releases)
        .map(|(&t, &r)| t.saturating_sub(r))
        .collect();
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

/// Records `(now, preemptions)` at every tick, and the `init` time.
struct Stamp(Stamps, Arc<Mutex<u64>>);

impl Node for Stamp {
    fn name(&self) -> &str {
        "jitter"
    }
    fn init(&mut self) -> horus::Result<()> {
        *self.1.lock().unwrap_or_else(|e| e.into_inner()) = now_ns();
        Ok(())
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
    let init_ns = Arc::new(Mutex::new(0));
    sched
        .add(Stamp(times.clone(), init_ns.clone()))
        .order(0)
        .build()?;
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
    let t0 = *init_ns.lock().unwrap_or_else(|e| e.into_inner());
    let (releases, skipped) = scheduler_releases(t0, 1_000_000_000 / hz, &times);
    let mut j = lateness(what, hz, (&times, &releases), skipped, &preempt)?;
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
    let mut releases = Vec::with_capacity(n as usize);
    for k in 0..n {
        let due = start + k * period;
        releases.push(due);
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
    // The loop answers every deadline, however late: nothing is skipped.
    lateness(
        "clock_nanosleep floor",
        hz,
        (&times, &releases),
        0,
        &preempt,
    )
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
        "Lateness of each tick: its start minus the release it answered (µs; the scheduler's \
         grid from its `init`, skipped releases as the scheduler counts them; the sleep loop's \
         own deadlines), on core {}; SCHED_OTHER unless the row says `.realtime(50)` (SCHED_FIFO \
         50, the Scheduler's opt-in).\n",
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
    fn lateness_is_against_the_release_answered_and_skips_are_counted() {
        let p = 1_000_000; // 1 kHz
        let t0 = 5_000_000_123;
        // On time, 20 us late, 1.7 periods late (release 2 answered late,
        // release 3 skipped), then 10 us after release 4.
        let times = [
            t0,
            t0 + p + 20_000,
            t0 + 3 * p + 700_000,
            t0 + 4 * p + 10_000,
        ];
        let (releases, skipped) = scheduler_releases(t0, p, &times);
        assert_eq!(releases, [t0, t0 + p, t0 + 2 * p, t0 + 4 * p]);
        assert_eq!(skipped, 1);
        let j = lateness("t", 1000, (&times, &releases), skipped, &[0; 4]).unwrap();
        assert_eq!(j.max, p + 700_000, "not folded modulo the period");
        assert_eq!(j.p50, 10_000);
        assert_eq!((j.skipped, j.over_100us), (1, (1, 0)));
    }
}
