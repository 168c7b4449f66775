//! `horus topic pub NAME FIELD=VALUE...`: publish test messages to an
//! existing topic (its type comes from the region: a topic is created by the
//! program that defines its type, never by this command).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::codec;
use crate::Ctx;
use crate::exit::Failure;

/// Arguments of `horus topic pub`.
#[derive(Debug, clap::Args)]
pub struct PubArgs {
    /// Topic name.
    name: String,
    /// Field values: `x=1.5`, `ticks=-3`, `accel=[0,0,9.8]`, `frame=base_link` (u8 arrays take text).
    #[arg(value_name = "FIELD=VALUE")]
    fields: Vec<String>,
    /// Publish at this rate (messages per second) until Ctrl+C or --count.
    #[arg(short, long, value_name = "HZ")]
    rate: Option<f64>,
    /// Number of messages (default: 1, or unlimited with --rate).
    #[arg(short = 'n', long, value_name = "N")]
    count: Option<u64>,
    /// The whole message as hex bytes instead of fields (for types without a self-description).
    #[arg(long, value_name = "HEX", conflicts_with = "fields")]
    hex: Option<String>,
}

pub fn main(ctx: &Ctx, args: &PubArgs) -> anyhow::Result<ExitCode> {
    let topic = super::open(ctx, &args.name)?;
    let info = topic.info().clone();
    let msg = match &args.hex {
        Some(hex) => parse_hex(hex, info.message_size as usize)?,
        None if !codec::describable(&info) => {
            return Err(Failure::usage(format!(
                "{} ({}) has no self-description: give the message as --hex BYTES ({} bytes)",
                info.name, info.type_name, info.message_size
            ))
            .into());
        }
        None => codec::encode(&info, &args.fields).map_err(Failure::usage)?,
    };
    let period = match args
        .rate
        .map(|hz| (hz, Duration::try_from_secs_f64(1.0 / hz)))
    {
        // try_from_secs_f64 refuses what is negative, NaN or too large.
        Some((hz, Ok(p))) if hz > 0.0 && !p.is_zero() => Some(p),
        Some((hz, _)) => {
            return Err(
                Failure::usage(format!("--rate {hz}: expected messages per second > 0")).into(),
            );
        }
        None => None,
    };
    let count = args.count.or(if period.is_some() { None } else { Some(1) });
    let stop = crate::supervise::StopRequests::watch()?;
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
            "--hex gives {} bytes, the message has {size}",
            b.len()
        ))),
        None => Err(Failure::usage("--hex: expected pairs of hex digits")),
    }
}
