//! Scheduler tick jitter: one node under `Scheduler::new().tick_rate(f)`,
//! `run_for(d)`, records `now_ns()` in `init` and at every tick. Lateness of
//! a tick = its start minus the release it answered, the release grid
//! starting at the `init` time (the scheduler takes its grid's origin just
//! before `init`, so this understates lateness by that gap, a few µs at
//! most), with skipped releases accounted the way the scheduler does
//! ([`scheduler_releases`]); never folded modulo the period. Beside
//! it, the scheduler's own `wake_jitter()` figures, and the floor any
//! scheduler on this machine can reach: a bare `clock_nanosleep`
//! (TIMER_ABSTIME) loop on the same grid. The rows ([`Row`]) take turns in
//! blocks of one second ([`rows`]).

use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use horus::prelude::*;

use crate::Res;
use crate::stats::rank;

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

/// Lateness of ticks at `times` against their `releases`, and of the ticks
/// more than 100 µs late (every tick, the first included, as in the
/// percentiles) how many were preempted (involuntarily descheduled) since
/// the tick before; `preempt[i]` = involuntary context switches seen by
/// tick i (taken right after its time). The first tick has no tick before
/// it: it is counted late, never as preempted.
fn lateness(times: &[u64], releases: &[u64], preempt: &[u64]) -> (Vec<u64>, (u64, u64)) {
    let late: Vec<u64> = times
        .iter()
        .zip(releases)
        .map(|(&t, &r)| t.saturating_sub(r))
        .collect();
    let mut over = (0, 0);
    for (i, &l) in late.iter().enumerate() {
        if l > 100_000 {
            over.0 += 1;
            if i > 0 && preempt.get(i) > preempt.get(i - 1) {
                over.1 += 1;
            }
        }
    }
    (late, over)
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

/// How a jitter row's `Scheduler` is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// As `Scheduler::new()` comes (its thread's timer slack 1 ns).
    Default,
    /// `.timer_slack(50 µs)`: the kernel's default slack of a normal
    /// thread, as the scheduler slept before it set its own.
    KernelSlack,
    /// `.realtime(50)`: SCHED_FIFO 50.
    Realtime,
}

/// A row of the jitter table: what ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A `Scheduler` with one node.
    Scheduler(Setup),
    /// A bare absolute `clock_nanosleep` loop, under the kernel's default
    /// timer slack (50 µs) or, with `min_slack`, at 1 ns (the least Linux
    /// allows, what the scheduler sets by default).
    Floor { min_slack: bool },
}

impl Row {
    pub const ALL: [Row; 5] = [
        Self::Scheduler(Setup::Default),
        Self::Scheduler(Setup::KernelSlack),
        Self::Scheduler(Setup::Realtime),
        Self::Floor { min_slack: false },
        Self::Floor { min_slack: true },
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduler(Setup::Default) => "horus Scheduler",
            Self::Scheduler(Setup::KernelSlack) => "horus Scheduler, .timer_slack(50 µs)",
            Self::Scheduler(Setup::Realtime) => "horus Scheduler, .realtime(50)",
            Self::Floor { min_slack: false } => "clock_nanosleep floor",
            Self::Floor { min_slack: true } => "clock_nanosleep floor, 1 ns slack",
        }
    }

    /// One block of this row: `ticks` releases at `hz`, on a thread of its
    /// own (on the caller's core: a new thread inherits its CPU mask), so
    /// that what a row sets on its thread is never the next one's. Until
    /// 2026-12-04 every row ran on the main thread and the scheduler's `run`
    /// left `.realtime(50)` set when it returned: every later row of the run
    /// (the sleep floors among them) ran under SCHED_FIFO. (`run` now puts
    /// its thread's policy back; the rows stay apart regardless.)
    fn block(self, hz: u64, ticks: u64) -> Res<Block> {
        let r = std::thread::scope(|s| {
            s.spawn(|| {
                match self {
                    Self::Scheduler(setup) => scheduler_block(hz, ticks, setup),
                    Self::Floor { min_slack } => floor_block(hz, ticks, min_slack),
                }
                .map_err(|e| e.to_string())
            })
            .join()
            .unwrap_or_else(|_| Err("the row's thread panicked".into()))
        });
        Ok(r?)
    }
}

/// What one block of a row measured.
#[derive(Debug, Default)]
struct Block {
    late: Vec<u64>,
    skipped: u64,
    over: (u64, u64),
    /// The scheduler's own wake-up lateness: its samples, max and count.
    own: Option<(Vec<u64>, u64, u64)>,
}

impl Block {
    /// Adds `b`'s figures to this row's.
    fn absorb(&mut self, b: Block) {
        self.late.extend(b.late);
        self.skipped += b.skipped;
        self.over = (self.over.0 + b.over.0, self.over.1 + b.over.1);
        if let Some((samples, max, count)) = b.own {
            let own = self.own.get_or_insert_with(Default::default);
            own.0.extend(samples);
            own.1 = own.1.max(max);
            own.2 += count;
        }
    }
}

/// The rows of the jitter table at `hz`, each ticking `blocks` blocks of
/// one second, taken in turn (row 1's block 1, row 2's block 1, ..., row
/// 1's block 2, ...): a noisy second of the host falls on one block of one
/// row, not on a whole row. A row whose block failed is left out (said on
/// stderr).
pub fn rows(hz: u64, blocks: u64) -> Vec<Jitter> {
    let mut acc: Vec<Option<Block>> = Row::ALL.iter().map(|_| Some(Block::default())).collect();
    for _ in 0..blocks.max(1) {
        for (row, acc) in Row::ALL.iter().zip(&mut acc) {
            let Some(sum) = acc else { continue };
            match row.block(hz, hz) {
                Ok(b) => sum.absorb(b),
                Err(e) => {
                    eprintln!("  {} at {hz} Hz not measured: {e}", row.label());
                    *acc = None;
                }
            }
        }
    }
    Row::ALL
        .iter()
        .zip(acc)
        .filter_map(|(row, b)| Some(summary(row.label(), hz, b?)))
        .collect()
}

fn summary(what: &'static str, hz: u64, mut b: Block) -> Jitter {
    b.late.sort_unstable();
    let own = b.own.map(|(mut samples, max, count)| {
        samples.sort_unstable();
        let at = |q| {
            if samples.is_empty() {
                0
            } else {
                rank(&samples, q)
            }
        };
        (at(0.5), at(0.99), max, count)
    });
    let at = |q| {
        if b.late.is_empty() {
            0
        } else {
            rank(&b.late, q)
        }
    };
    Jitter {
        what,
        hz,
        ticks: b.late.len(),
        skipped: b.skipped,
        p50: at(0.5),
        p99: at(0.99),
        max: b.late.last().copied().unwrap_or(0),
        over_100us: b.over,
        own,
    }
}

/// One block of the std `Scheduler` at `hz`, set up as `setup` says, for
/// `ticks` periods.
fn scheduler_block(hz: u64, ticks: u64, setup: Setup) -> Res<Block> {
    let times: Stamps = Arc::new(Mutex::new(Vec::with_capacity(ticks as usize + 16)));
    // Out of shared memory: a benchmark leaves nothing in /dev/shm.
    let mut sched = Scheduler::new()
        .tick_rate(hz.hz())
        .system_topics(false)
        .blackbox(false);
    match setup {
        Setup::Default => {}
        Setup::KernelSlack => sched = sched.timer_slack(Duration::from_micros(50)),
        Setup::Realtime => sched = sched.realtime(50),
    }
    let init_ns = Arc::new(Mutex::new(0));
    sched
        .add(Stamp(times.clone(), init_ns.clone()))
        .order(0)
        .build()?;
    sched.run_for(Duration::from_nanos(ticks * 1_000_000_000 / hz))?;
    let own = sched.wake_jitter();
    let own = (own.samples().to_vec(), own.max_ns(), own.count());
    drop(sched);
    let stamps = times.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if stamps.len() < 2 {
        return Err(format!("ticked {} times", stamps.len()).into());
    }
    let (times, preempt): (Vec<u64>, Vec<u64>) = stamps.into_iter().unzip();
    let t0 = *init_ns.lock().unwrap_or_else(|e| e.into_inner());
    let (releases, skipped) = scheduler_releases(t0, 1_000_000_000 / hz, &times);
    let (late, over) = lateness(&times, &releases, &preempt);
    Ok(Block {
        late,
        skipped,
        over,
        own: Some(own),
    })
}

/// One block of a bare absolute-deadline `clock_nanosleep` loop at `hz`,
/// `ticks` deadlines, with the thread's timer slack at 1 ns if `min_slack`.
fn floor_block(hz: u64, ticks: u64, min_slack: bool) -> Res<Block> {
    if min_slack {
        rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1))?;
    }
    let period = 1_000_000_000 / hz;
    let start = now_ns() + period;
    let mut times = Vec::with_capacity(ticks as usize);
    let mut preempt = Vec::with_capacity(ticks as usize);
    let mut releases = Vec::with_capacity(ticks as usize);
    for k in 0..ticks {
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
    let (late, over) = lateness(&times, &releases, &preempt);
    Ok(Block {
        late,
        over,
        ..Block::default()
    })
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
         50, the Scheduler's opt-in). Timer slack (how late Linux may end a normal thread's \
         sleep): the Scheduler sets its thread's to 1 ns while it runs unless the row says \
         `.timer_slack(50 µs)` (the kernel's default, as the Scheduler slept before it set \
         its own); the sleep loop runs under the kernel's default unless the row says 1 ns. \
         Each row ticks in blocks of one second, the rows taking turns block by block (every \
         block a fresh scheduler or loop on a thread of its own), so a noisy second of the host \
         falls on one block of one row.\n",
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
            let other = |setup: Setup| {
                let label = Row::Scheduler(setup).label();
                rows.iter()
                    .find(|r| r.what == label && r.hz == 100)
                    .map_or(String::new(), |r| {
                        let how = label.trim_start_matches("horus Scheduler, ");
                        format!("; with `{how}`: {} µs", us(r.p99))
                    })
            };
            let rt = other(Setup::KernelSlack) + &other(Setup::Realtime);
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
        let (late, over) = lateness(&times, &releases, &[0; 4]);
        let j = summary(
            "t",
            1000,
            Block {
                late,
                skipped,
                over,
                own: None,
            },
        );
        assert_eq!(j.max, p + 700_000, "not folded modulo the period");
        assert_eq!(j.p50, 10_000);
        assert_eq!((j.skipped, j.over_100us), (1, (1, 0)));
        // A first tick 200 us late is in the count as in the percentiles,
        // and not called preempted (no tick before it).
        let (_, over) = lateness(&[t0 + 200_000, t0 + p], &[t0, t0 + p], &[5, 5]);
        assert_eq!(over, (1, 0));
    }

    #[test]
    fn a_row_is_summarised_over_all_its_blocks() {
        let b = |late: Vec<u64>, own: Vec<u64>| Block {
            late,
            skipped: 1,
            over: (1, 1),
            own: Some((own, 9, 3)),
        };
        let mut sum = Block::default();
        for x in [b(vec![5, 1, 3], vec![2, 4, 6]), b(vec![2, 4], vec![1])] {
            sum.absorb(x);
        }
        let j = summary("t", 100, sum);
        assert_eq!(
            (j.ticks, j.p50, j.max, j.skipped, j.over_100us),
            (5, 3, 5, 2, (2, 2))
        );
        assert_eq!(j.own, Some((2, 6, 9, 6)));
    }
}
