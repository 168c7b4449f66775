//! `horus topic pub NAME FIELD=VALUE...`: publish test messages to an
//! existing topic (its type comes from the region: a topic is created by the
//! program that defines its type, never by this command).
//!
//! ROS 2's spelling works too: `horus topic pub /cmd_vel CmdVel "{linear:
//! 0.5, angular: 0.1}" --once` (the type, if given, must be the topic's; a
//! YAML or JSON mapping stands for one `FIELD=VALUE` per field, nested
//! mappings as `pose.x`; `-1`/`--once`, `-t`/`--times N`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use horus::inspect::TopicInfo;

use super::codec;
use crate::Ctx;
use crate::exit::Failure;

/// Arguments of `horus topic pub`.
#[derive(Debug, clap::Args)]
pub struct PubArgs {
    /// Topic name.
    name: String,
    /// Field values: `x=1.5`, `ticks=-3`, `accel=[0,0,9.8]`, `frame=base_link` (u8 arrays take
    /// text), or a YAML/JSON mapping `"{x: 1.5, pose: {y: 2}}"`; may start with the topic's type
    /// (`CmdVel`, as ROS 2 writes it).
    #[arg(value_name = "FIELD=VALUE")]
    fields: Vec<String>,
    /// Publish at this rate (messages per second) until Ctrl+C or --count.
    #[arg(short, long, value_name = "HZ", allow_negative_numbers = true)]
    rate: Option<f64>,
    /// Number of messages (default: 1, or unlimited with --rate).
    #[arg(short = 'n', long, visible_short_alias = 't', visible_alias = "times", value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Publish one message, then exit (as -n 1).
    #[arg(short = '1', long, conflicts_with = "count")]
    once: bool,
    /// The whole message as hex bytes instead of fields (for types without a self-description).
    #[arg(long, value_name = "HEX", conflicts_with = "fields")]
    hex: Option<String>,
}

pub fn main(ctx: &Ctx, args: &PubArgs) -> anyhow::Result<ExitCode> {
    // Ctrl+C or SIGTERM ends the sending instead of killing the process, so
    // that its topic handle and liveness file are given up: watched before
    // the topic is opened (see `rate.rs`).
    let stop = crate::supervise::StopRequests::watch()?;
    let topic = super::open(ctx, &args.name)?;
    let info = topic.info().clone();
    // Neither a pooled descriptor (it must name a block of the publisher's
    // pool: one made up here is refused by every subscriber) nor a
    // serialized frame can be built from FIELD=VALUE or raw bytes.
    if let Some(kind) = topic.pooled_kind() {
        return Err(Failure::usage(format!(
            "{} ({}) is a pooled {} topic: each message names a block of the publisher's \
             shared-memory pool, which `topic pub` cannot fill; publish from a program \
             (`horus topic echo {}` shows what arrives)",
            info.name,
            info.type_name,
            kind.name(),
            info.name
        ))
        .into());
    }
    if info.serialized.is_some() {
        return Err(Failure::usage(format!(
            "{} ({}) is a serialized topic (postcard): `topic pub` publishes plain-data \
             messages only; publish from a program (`horus topic echo {}` decodes what arrives)",
            info.name, info.type_name, info.name
        ))
        .into());
    }
    let msg = match &args.hex {
        Some(hex) => parse_hex(hex, info.message_size as usize)?,
        None if !codec::describable(&info) => {
            let why = codec::undescribable(&info).unwrap_or_default();
            // A corrupt one is the region's fault, as `topic echo` says.
            let fix = if info.fields.is_empty() {
                String::new()
            } else {
                format!("{}; or ", codec::CORRUPT_SCHEMA)
            };
            return Err(Failure::usage(format!(
                "{} ({}) {why}: {fix}give the message as --hex BYTES ({} bytes)",
                info.name, info.type_name, info.message_size
            ))
            .into());
        }
        None => codec::encode(&info, &assignments(&info, &args.fields)?).map_err(Failure::usage)?,
    };
    let period = args
        .rate
        .map(period_of)
        .transpose()
        .map_err(Failure::usage)?;
    let count = match (args.once, args.count, period) {
        (true, _, _) => Some(1),
        (false, Some(n), _) => Some(n),
        (false, None, Some(_)) => None,
        (false, None, None) => Some(1),
    };
    let start = Instant::now();
    let mut sent = 0u64;
    while count.is_none_or(|n| sent < n) && stop.count() == 0 {
        if let Some(p) = period {
            let offset =
                Duration::try_from_secs_f64(p.as_secs_f64() * sent as f64).unwrap_or(Duration::MAX);
            let due = crate::supervise::after(start, offset);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        topic
            .send_bytes(&msg)
            .map_err(|e| anyhow::anyhow!("publishing on {}: {e}", info.name))?;
        sent += 1;
    }
    if !ctx.json {
        eprintln!(
            "horus: published {sent} message{} on {}",
            if sent == 1 { "" } else { "s" },
            info.name
        );
    } else {
        crate::json::print(&crate::json::Published {
            topic: info.name.clone(),
            published: sent,
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The `FIELD=VALUE` assignments that `fields` stand for: a first word
/// that is a type name (`CmdVel`, `geometry_msgs/msg/Twist`, as `ros2 topic
/// pub` takes it) is checked against the topic's type and dropped; a YAML or
/// JSON mapping becomes one assignment per field.
fn assignments(info: &TopicInfo, fields: &[String]) -> Result<Vec<String>, Failure> {
    let fields = match fields.split_first() {
        // A field's name alone is a forgotten `=VALUE`, said by `encode`.
        Some((first, rest))
            if is_type_word(first) && !info.fields.iter().any(|f| f.name.as_str() == first) =>
        {
            super::check_type(info, first)?;
            rest
        }
        _ => fields,
    };
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        if f.trim_start().starts_with('{') {
            super::mapping::from_mapping(f, &mut out)?;
        } else {
            out.push(f.clone());
        }
    }
    Ok(out)
}

/// Does `word` read as a type name rather than an assignment or a mapping?
fn is_type_word(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_alphabetic())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | ':'))
}

/// The slowest `--rate` (messages per second), rounded up: its period
/// must fit a duration (under 2^64 s, so above 2^-64 Hz).
const SLOWEST_RATE: f64 = 5.43e-20;

/// The time between messages at `hz` messages per second: a usage error
/// unless `hz` is a number above 0 whose period is at least a nanosecond
/// and fits a duration.
fn period_of(hz: f64) -> Result<Duration, String> {
    if hz.is_nan() || hz <= 0.0 {
        return Err(format!("--rate {hz:?}: expected messages per second > 0"));
    }
    match Duration::try_from_secs_f64(1.0 / hz) {
        // (2e9 Hz would round to 1 ns.)
        Ok(p) if !p.is_zero() && hz <= 1e9 => Ok(p),
        // More than one message a nanosecond.
        Ok(_) => Err(format!(
            "--rate {hz:?}: too fast: at most 1000000000 messages per second (one a nanosecond)"
        )),
        // A period longer than a duration holds.
        Err(_) => Err(format!(
            "--rate {hz:?}: too slow: at least {SLOWEST_RATE:e} messages per second (one \
             every 2^64 s, 585 billion years)"
        )),
    }
}

fn parse_hex(hex: &str, size: usize) -> Result<Vec<u8>, Failure> {
    let digits: String = hex
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    let bytes: Option<Vec<u8>> = (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
        })
        .collect();
    match bytes {
        Some(b) if b.len() == size => Ok(b),
        Some(b) => Err(Failure::usage(format!(
            "--hex gives {} byte{}, the message has {size}",
            b.len(),
            if b.len() == 1 { "" } else { "s" }
        ))),
        None => Err(Failure::usage("--hex: expected pairs of hex digits")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_become_periods_or_say_what_is_wrong() {
        assert_eq!(period_of(50.0), Ok(Duration::from_millis(20)));
        assert_eq!(period_of(1e9), Ok(Duration::from_nanos(1)));
        for bad in [0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
            assert!(
                period_of(bad)
                    .unwrap_err()
                    .contains("expected messages per second > 0")
            );
        }
        for too_fast in [2e9, 1e12, f64::INFINITY] {
            assert!(
                period_of(too_fast)
                    .unwrap_err()
                    .contains("too fast: at most 1000000000")
            );
        }
        // A period that overflows a duration: too slow, not too fast.
        for too_slow in [1e-300, f64::MIN_POSITIVE, 5e-324, SLOWEST_RATE / 1.01] {
            let e = period_of(too_slow).unwrap_err();
            assert!(
                e.contains("too slow: at least 5.43e-20 messages per second"),
                "{e}"
            );
            assert!(e.len() < 120, "{e}");
        }
        assert!(period_of(SLOWEST_RATE).is_ok());
    }
}
