//! `horus topic hz|bw NAME`: the rate (or bandwidth) of a topic over a
//! rolling window of the last `--window` messages, reported every
//! `--interval`; `--duration` or `-n` end it (for scripts and tests).
//!
//! Arrival times are taken when this subscriber receives (it polls every
//! 200 µs); messages it lost because it lagged (`dropped_count`) are counted
//! in the reported drops, not in the window. On a pooled topic, a
//! descriptor that subscribers refuse (corrupt or forged) is a message of
//! its own bytes only, counted in the reported refusals.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use horus::inspect::RawTopic;
use horus::pooled::PooledKind;

use crate::Ctx;

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Messages per second.
    Hz,
    /// Bytes per second.
    Bw,
}

/// Arguments of `horus topic hz` and `horus topic bw`.
#[derive(Debug, clap::Args)]
pub struct RateArgs {
    /// Topic name.
    name: String,
    /// Messages in the rolling window.
    #[arg(short, long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(2..))]
    window: u32,
    /// Time between reports.
    #[arg(long, default_value = "1s", value_parser = super::period_secs, value_name = "SECS")]
    interval: Duration,
    /// Stop after this long.
    #[arg(long, value_parser = super::period_secs, value_name = "SECS")]
    duration: Option<Duration>,
    /// Stop after N messages.
    #[arg(short = 'n', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
}

/// Arrival times and sizes of the last messages.
struct Window {
    times: VecDeque<(Instant, usize)>,
    cap: usize,
}

/// One report.
struct Stats {
    rate_hz: f64,
    min: f64,
    max: f64,
    std_dev: f64,
    samples: usize,
    /// Mean bytes per message.
    bytes: f64,
}

impl Window {
    /// A message of `bytes` bytes arrived at `t`.
    fn push(&mut self, t: Instant, bytes: usize) {
        if self.times.len() == self.cap {
            self.times.pop_front();
        }
        self.times.push_back((t, bytes));
    }

    fn stats(&self) -> Option<Stats> {
        let (first, last) = (&self.times.front()?.0, &self.times.back()?.0);
        let span = last.duration_since(*first).as_secs_f64();
        if self.times.len() < 2 || span <= 0.0 {
            return None;
        }
        let gaps: Vec<f64> = self
            .times
            .iter()
            .zip(self.times.iter().skip(1))
            .map(|(a, b)| b.0.duration_since(a.0).as_secs_f64())
            .collect();
        let mean = span / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        Some(Stats {
            rate_hz: gaps.len() as f64 / span,
            min: gaps.iter().copied().fold(f64::INFINITY, f64::min),
            max: gaps.iter().copied().fold(0.0, f64::max),
            std_dev: var.sqrt(),
            samples: self.times.len(),
            bytes: self.times.iter().map(|t| t.1 as f64).sum::<f64>() / self.times.len() as f64,
        })
    }
}

pub fn main(ctx: &Ctx, args: &RateArgs, what: Measure) -> anyhow::Result<ExitCode> {
    // Ctrl+C (SIGINT) or SIGTERM ends the loop instead of killing the
    // process, so that its topic handle and liveness file are given up:
    // watched before the topic is opened, or a Ctrl+C right after the open
    // killed it with both left behind.
    let stop = crate::supervise::StopRequests::watch()?;
    let topic = super::open(ctx, &args.name)?;
    let size = topic.message_size();
    let mut buf = vec![0u8; size];
    // A pooled topic's messages are their descriptor and their block's bytes.
    let kind = topic.pooled_kind();
    let (mut refused, mut recycled) = (0u64, 0u64);
    let mut window = Window {
        times: VecDeque::new(),
        cap: args.window as usize,
    };
    let start = Instant::now();
    let mut next_report = crate::supervise::after(start, args.interval);
    let mut received = 0u64;
    let mut since_report = 0u64;
    loop {
        if stop.count() > 0 {
            return Ok(ExitCode::SUCCESS);
        }
        let now = Instant::now();
        let done = args
            .duration
            .is_some_and(|d| now >= crate::supervise::after(start, d))
            || args.count.is_some_and(|n| received >= n);
        if done || now >= next_report {
            let lost = Lost {
                dropped: topic.dropped_count() + recycled,
                refused,
            };
            report(ctx, &args.name, what, &window, since_report, lost);
            since_report = 0;
            next_report = crate::supervise::after(now, args.interval);
            if done {
                return Ok(ExitCode::SUCCESS);
            }
        }
        if topic.recv_bytes(&mut buf).unwrap_or(false) {
            let block = match kind.map(|k| block_bytes(&topic, k, &buf)) {
                None => 0,
                Some(Block::Held(n)) => n,
                // Lost to this subscriber, as a lagging one's messages are.
                Some(Block::Recycled) => {
                    recycled += 1;
                    continue;
                }
                Some(Block::Refused) => {
                    refused += 1;
                    0
                }
            };
            received += 1;
            since_report += 1;
            window.push(Instant::now(), size + block);
        } else {
            std::thread::sleep(super::IDLE);
        }
    }
}

/// What a pooled descriptor brought, as a subscriber would receive it.
enum Block {
    /// The bytes of the block it names (never the length it merely claims).
    Held(usize),
    /// Its block was recycled before it could be held: a drop.
    Recycled,
    /// Refused: its layout is invalid, or its block is not one of a live
    /// pool's (corrupt or forged).
    Refused,
}

/// What the pooled descriptor in `buf` brought.
fn block_bytes(topic: &RawTopic, kind: PooledKind, buf: &[u8]) -> Block {
    match kind.decode(buf) {
        Some((block, Ok(_))) => match topic.hold_block(block) {
            Ok(Some(held)) => Block::Held(held.data().len()),
            Ok(None) => Block::Recycled,
            Err(_) => Block::Refused,
        },
        _ => Block::Refused,
    }
}

/// Messages a report says were lost.
#[derive(Debug, Clone, Copy)]
struct Lost {
    /// Lost by this subscriber since it joined (it lagged).
    dropped: u64,
    /// Pooled descriptors refused since it started (not counted as their
    /// blocks' bytes).
    refused: u64,
}

fn report(ctx: &Ctx, name: &str, what: Measure, w: &Window, new: u64, lost: Lost) {
    let Lost { dropped, refused } = lost;
    let stats = if new == 0 { None } else { w.stats() };
    if ctx.json {
        let bw = what == Measure::Bw;
        let doc = crate::json::RateReport {
            topic: name.to_owned(),
            window: w.times.len(),
            new,
            dropped,
            refused,
            rate_hz: stats.as_ref().map(|s| s.rate_hz),
            min_interval_s: stats.as_ref().map(|s| s.min),
            max_interval_s: stats.as_ref().map(|s| s.max),
            std_dev_s: stats.as_ref().map(|s| s.std_dev),
            bytes_per_s: stats.as_ref().filter(|_| bw).map(|s| s.rate_hz * s.bytes),
            message_size: stats
                .as_ref()
                .filter(|_| bw)
                .map(|s| s.bytes.round() as usize),
        };
        // A closed stdout ends this command by SIGPIPE (`prints_only`).
        let _ = crate::json::print(&doc);
        return;
    }
    let Some(s) = stats else {
        // A rate needs two messages apart in time; say what did come.
        match new {
            0 => outln!("no new messages"),
            1 => outln!("1 new message: a rate needs two"),
            n => outln!("{n} new messages, all read at one instant: no rate yet"),
        }
        return;
    };
    let mut drops = if dropped > 0 {
        format!("  dropped: {dropped}")
    } else {
        String::new()
    };
    if refused > 0 {
        drops.push_str(&format!("  refused: {refused}"));
    }
    match what {
        Measure::Hz => outln!(
            "average rate: {:.2} Hz  min: {:.2}ms max: {:.2}ms std dev: {:.2}ms  window: {}{drops}",
            s.rate_hz,
            s.min * 1e3,
            s.max * 1e3,
            s.std_dev * 1e3,
            s.samples
        ),
        Measure::Bw => outln!(
            "average: {}/s  message: {:.0} B  rate: {:.2} Hz  window: {}{drops}",
            human_bytes(s.rate_hz * s.bytes),
            s.bytes,
            s.rate_hz,
            s.samples
        ),
    }
}

fn human_bytes(b: f64) -> String {
    match b {
        b if b >= 1e9 => format!("{:.2} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.2} MB", b / 1e6),
        b if b >= 1e3 => format!("{:.2} KB", b / 1e3),
        b => format!("{b:.0} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rate() {
        let t0 = Instant::now();
        let mut w = Window {
            times: VecDeque::new(),
            cap: 3,
        };
        for i in 0..5 {
            w.push(t0 + Duration::from_millis(10 * i), 100 + i as usize);
        }
        let s = w.stats().unwrap();
        assert_eq!(s.samples, 3);
        assert!((s.rate_hz - 100.0).abs() < 1e-6);
        assert!(s.std_dev < 1e-9);
        assert!((s.bytes - 103.0).abs() < 1e-9, "mean of 102, 103, 104");
        assert_eq!(human_bytes(2400.0), "2.40 KB");
    }
}
