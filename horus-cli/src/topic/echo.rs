//! `horus topic echo NAME`: one block per message, like YAML documents
//! (`field: value` lines, then `---`), or one JSON object per line.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::codec;
use crate::Ctx;

/// Arguments of `horus topic echo`.
#[derive(Debug, clap::Args)]
pub struct EchoArgs {
    /// Topic name.
    name: String,
    /// Print one message, then exit.
    #[arg(long, conflicts_with = "count")]
    once: bool,
    /// Print N messages, then exit.
    #[arg(short = 'n', long = "count", value_name = "N")]
    count: Option<u64>,
    /// Exit after this long (exit code 1 if fewer than N messages came).
    #[arg(long, value_parser = super::secs, value_name = "SECS")]
    timeout: Option<Duration>,
    /// Print raw bytes in hex even when the type describes its fields.
    #[arg(long)]
    hex: bool,
}

pub fn main(ctx: &Ctx, args: &EchoArgs) -> anyhow::Result<ExitCode> {
    let topic = super::open(ctx, &args.name)?;
    let info = topic.info().clone();
    let limit = if args.once { Some(1) } else { args.count };
    let decode = !args.hex && codec::describable(&info);
    if !decode && !args.hex && !ctx.json {
        eprintln!(
            "horus: {} ({}) has no self-description: showing hex",
            info.name, info.type_name
        );
    }
    let deadline = args
        .timeout
        .map(|t| crate::supervise::after(Instant::now(), t));
    let mut buf = vec![0u8; topic.message_size()];
    let mut seen = 0u64;
    let mut out = std::io::stdout().lock();
    while limit.is_none_or(|n| seen < n) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(ExitCode::from(crate::exit::ERROR));
        }
        if !topic.recv_bytes(&mut buf).unwrap_or(false) {
            std::thread::sleep(super::IDLE);
            continue;
        }
        seen += 1;
        let text = if ctx.json {
            let value = if decode {
                codec::decode(&info, &buf)
                    .iter()
                    .map(|(k, v)| (k.clone(), codec::to_json(v)))
                    .collect()
            } else {
                serde_json::json!({ "hex": buf.iter().map(|b| format!("{b:02x}")).collect::<String>() })
            };
            format!("{value}\n")
        } else if decode {
            let mut s: String = codec::decode(&info, &buf)
                .iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect();
            s.push_str("---\n");
            s
        } else {
            format!("{}---\n", codec::hex_dump(&buf))
        };
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            break; // stdout closed (e.g. `| head`)
        }
    }
    Ok(ExitCode::SUCCESS)
}
