//! `horus topic echo NAME`: one block per message, like YAML documents
//! (`field: value` lines, then `---`), or one JSON object per line.
//!
//! `--wait` waits for a topic that does not exist yet; `--field` selects
//! fields (a prefix selects a nested message: `pose` is `pose.x`, `pose.y`,
//! ...); arrays longer than [`codec::ARRAY_SHOWN`] and hex dumps longer than
//! [`HEX_SHOWN`] bytes are cut unless `--full` (JSON is never cut); `-t`
//! adds the wall-clock time each message was received; `--last` starts with
//! the newest message the topic retains (by `timestamp_ns` if it has one).
//! A pooled topic (image, tensor, ...) prints a summary per message (see
//! [`super::summary`]).

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use horus::inspect::{RawTopic, TopicInfo};
use horus::serialized::{NamedField, Schema, SchemaType, Value, decode};
use horus_nostd::ring::FrameError;

use super::codec;
use crate::Ctx;
use crate::exit::{self, Failure};

/// Bytes of a hex dump shown unless `--full`.
pub const HEX_SHOWN: usize = 256;

/// How often `--wait` looks for the topic.
const WAIT_POLL: Duration = Duration::from_millis(20);

/// Arguments of `horus topic echo`.
#[derive(Debug, clap::Args)]
pub struct EchoArgs {
    /// Topic name.
    name: String,
    /// The topic's type, if given (as `ros2 topic echo /t TYPE`): it must be the topic's.
    #[arg(value_name = "TYPE")]
    msg_type: Option<String>,
    /// Print one message, then exit.
    #[arg(long, conflicts_with = "count")]
    once: bool,
    /// Print N messages, then exit.
    #[arg(short = 'n', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Exit after this long, waiting included: exit code 1 if fewer than N messages came
    /// (--once, -n N), or none (without a count).
    #[arg(long, value_parser = super::secs, value_name = "SECS")]
    timeout: Option<Duration>,
    /// Print raw bytes in hex even when the type describes its fields.
    #[arg(long)]
    hex: bool,
    /// Wait for the topic to appear instead of failing when it does not exist.
    #[arg(short, long)]
    wait: bool,
    /// Print only this field (repeatable); a prefix selects a nested message (`pose` -> `pose.x`, ...).
    #[arg(short, long = "field", value_name = "FIELD", conflicts_with = "hex")]
    fields: Vec<String>,
    /// Print arrays and hex dumps whole (by default arrays show 32 elements, hex dumps 256 bytes).
    #[arg(long)]
    full: bool,
    /// Print the wall-clock time (UTC) each message was received.
    #[arg(short = 't', long = "time")]
    time: bool,
    /// Start with the newest message the topic retains (by its `timestamp_ns` field, if it has one).
    #[arg(long)]
    last: bool,
}

pub fn main(ctx: &Ctx, args: &EchoArgs) -> anyhow::Result<ExitCode> {
    // Ctrl+C (SIGINT) or SIGTERM ends the loops below instead of killing
    // the process, so that its topic handle and liveness file are given up.
    let stop = crate::supervise::StopRequests::watch()?;
    let deadline = args
        .timeout
        .map(|t| crate::supervise::after(Instant::now(), t));
    let limit = if args.once { Some(1) } else { args.count };
    let Some(topic) = open(ctx, args, deadline, &stop)? else {
        if stop.count() > 0 {
            return Ok(interrupted(args, 0, limit));
        }
        note!(
            "horus: no topic {} appeared in namespace {} within the timeout",
            args.name,
            ctx.namespace
        );
        return Ok(ExitCode::from(exit::ERROR));
    };
    let info = topic.info().clone();
    if let Some(given) = &args.msg_type {
        super::check_type(&info, given)?;
    }
    if let (Some(schema), false) = (&info.serialized, args.hex) {
        return echo_serialized(ctx, args, &topic, schema, limit, deadline, &stop);
    }
    let decode = !args.hex && codec::describable(&info);
    if !decode && !args.fields.is_empty() {
        return Err(Failure::usage(format!(
            "--field: {} ({}) has no self-description to select fields from",
            info.name, info.type_name
        ))
        .into());
    }
    check_fields(&info, &args.fields)?;
    // A pooled topic (image, tensor, ...) is summarized, unless the
    // descriptor itself is asked for (--hex, --field).
    let pooled = topic
        .pooled_kind()
        .filter(|_| !args.hex && args.fields.is_empty());
    if let Some(why) = codec::undescribable(&info) {
        let fix = if info.fields.is_empty() {
            String::new()
        } else {
            format!("; {}", codec::CORRUPT_SCHEMA)
        };
        let (name, ty) = (&info.name, &info.type_name);
        if pooled.is_some() {
            // Summaries still, without the descriptor's fields (only a
            // corrupt or hostile region leaves a pooled type undescribable).
            note!("horus: {name} ({ty}) {why}: the descriptors' fields are not shown{fix}");
        } else if !args.hex && !ctx.json {
            note!("horus: {name} ({ty}) {why}: showing hex{fix}");
        }
    }
    let mut buf = vec![0u8; topic.message_size()];
    let mut seen = 0u64;
    let mut pending = args.last && newest(&topic, &mut buf);
    while limit.is_none_or(|n| seen < n) {
        if !pending {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(timed_out(args, seen, limit));
            }
            if stop.count() > 0 {
                return Ok(interrupted(args, seen, limit));
            }
            if !topic.recv_bytes(&mut buf).unwrap_or(false) {
                std::thread::sleep(super::IDLE);
                continue;
            }
        }
        pending = false;
        let text = match pooled {
            Some(kind) => match super::summary::format(ctx, args.time, &topic, kind, &buf) {
                Some(text) => text,
                None => continue, // its block was recycled: a drop, not a message
            },
            None => format_message(ctx, args, &info, decode, &buf),
        };
        seen += 1;
        if !crate::out::write(&text) {
            break; // `main` ends with the failure (see `crate::out`)
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The loop of `main` for a serialized topic: each message decoded with the
/// schema stored in its region (`--field` selects fields by their path,
/// checked against the schema first: `goal` or `goal.x`; a message that
/// does not decode is shown as its error, then hex, and a slot whose length
/// word is beyond it as its error: each counts as a message, whatever
/// `--field` selects).
fn echo_serialized(
    ctx: &Ctx,
    args: &EchoArgs,
    topic: &RawTopic,
    schema: &Schema,
    limit: Option<u64>,
    deadline: Option<Instant>,
    stop: &crate::supervise::StopRequests,
) -> anyhow::Result<ExitCode> {
    check_schema_fields(schema, &args.fields)?;
    let mut buf = vec![0u8; topic.message_size()];
    // With --last, the newest slot, whatever it holds: the last one read.
    let mut pending = None;
    if args.last {
        topic.rewind();
        while let Some(frame) = next_frame(topic, &mut buf)? {
            pending = Some(frame);
        }
    }
    let mut seen = 0u64;
    while limit.is_none_or(|n| seen < n) {
        let frame = match pending.take() {
            Some(frame) => frame,
            None => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(timed_out(args, seen, limit));
                }
                if stop.count() > 0 {
                    return Ok(interrupted(args, seen, limit));
                }
                match next_frame(topic, &mut buf)? {
                    Some(frame) => frame,
                    None => {
                        std::thread::sleep(super::IDLE);
                        continue;
                    }
                }
            }
        };
        seen += 1;
        let received = args
            .time
            .then(|| humantime::format_rfc3339_micros(SystemTime::now()).to_string());
        // A frame that does not decode, or a slot that holds none, is shown
        // as its error, whatever --field selects.
        let (fields, error) = match frame.map(|body| (decode(schema, &body), body)) {
            Ok((Ok(Value::Struct(fields)), _)) => (fields, vec![]),
            Ok((Ok(other), _)) => (vec![("value".to_owned(), other)], vec![]),
            Ok((Err(e), body)) => (
                vec![],
                vec![
                    ("error".to_owned(), Value::String(e.to_string())),
                    ("hex".to_owned(), Value::String(codec::hex(&body))),
                ],
            ),
            Err(why) => (vec![], vec![("error".to_owned(), Value::String(why))]),
        };
        let fields = select_values(fields, &args.fields).into_iter().chain(error);
        let text = if ctx.json {
            let mut value = serde_json::Map::new();
            if let Some(t) = received {
                value.insert("@received".to_owned(), t.into());
            }
            for (k, v) in fields {
                value.insert(k, serde_json::to_value(&v).unwrap_or_default());
            }
            format!("{}\n", serde_json::Value::Object(value))
        } else {
            let mut s = received.map_or_else(String::new, |t| format!("# received {t}\n"));
            for (k, v) in fields {
                s.push_str(&format!("{k}: {v}\n"));
            }
            s + "---\n"
        };
        if !crate::out::write(&text) {
            break; // `main` ends with the failure (see `crate::out`)
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The next frame of a serialized topic: `Ok(body)`, or `Err(why)` for a
/// slot that holds no frame (its length word claims more than the slot:
/// a corrupt or hostile region), which is shown, not skipped; `None` if
/// there is none.
fn next_frame(topic: &RawTopic, buf: &mut [u8]) -> anyhow::Result<Option<Result<Vec<u8>, String>>> {
    match topic.recv_frame(buf) {
        Ok(body) => Ok(body.map(|b| Ok(b.to_vec()))),
        Err(e @ FrameError::BadLength { .. }) => Ok(Some(Err(e.to_string()))),
        // `buf` is not the message size: nothing was received.
        Err(e) => Err(e.into()),
    }
}

/// How `echo` ends on Ctrl+C (or SIGTERM): a stream without a count ends
/// so normally (exit 0); with `--once` / `-n N` not yet reached it was
/// interrupted: says how many came and exits 130 (it exited 0, which a
/// script took for the message having come).
fn interrupted(args: &EchoArgs, seen: u64, limit: Option<u64>) -> ExitCode {
    match limit {
        Some(n) if seen < n => {
            note!(
                "horus: interrupted: {seen} of {n} message(s) came on {}",
                args.name
            );
            ExitCode::from(exit::INTERRUPTED)
        }
        _ => ExitCode::SUCCESS,
    }
}

/// How `echo` ends at `--timeout`. With `--once` / `-n N` not yet reached:
/// says how many of the messages asked for came, exit 1. Without a count,
/// the stream simply ends there (exit 0, as `hz --duration` does), unless
/// no message came at all: that is said, exit 1 (it exited 1 after any
/// number of messages, saying "stopped after 15 message(s)").
fn timed_out(args: &EchoArgs, seen: u64, limit: Option<u64>) -> ExitCode {
    let after = args
        .timeout
        .map_or_else(String::new, |t| humantime::format_duration(t).to_string());
    match limit {
        Some(n) => note!(
            "horus: --timeout {after}: {seen} of {n} message(s) came on {}",
            args.name
        ),
        None if seen > 0 => return ExitCode::SUCCESS,
        None => note!("horus: --timeout {after}: no message came on {}", args.name),
    }
    ExitCode::from(exit::ERROR)
}

/// Joins the topic; with `--wait`, looks for it until it exists or the
/// deadline passes (`None`).
fn open(
    ctx: &Ctx,
    args: &EchoArgs,
    deadline: Option<Instant>,
    stop: &crate::supervise::StopRequests,
) -> anyhow::Result<Option<RawTopic>> {
    super::check_name(&args.name)?;
    if !args.wait {
        return super::open(ctx, &args.name).map(Some);
    }
    let mut said = false;
    loop {
        if let Some(t) = RawTopic::open(&ctx.namespace, &args.name)? {
            return Ok(Some(t));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) || stop.count() > 0 {
            return Ok(None);
        }
        if !said && !ctx.json {
            note!(
                "horus: waiting for topic {} in namespace {} ...",
                args.name,
                ctx.namespace
            );
            said = true;
        }
        std::thread::sleep(WAIT_POLL);
    }
}

/// Reads everything retained, leaving the newest in `buf`; whether there
/// was any. The newest is the one with the greatest `timestamp_ns` when the
/// type has that field (so it is right with several publishers, whose
/// lanes are read one after the other), else the last one read.
fn newest(topic: &RawTopic, buf: &mut [u8]) -> bool {
    let stamp_at = topic
        .info()
        .fields
        .iter()
        .find(|f| f.name.as_str() == "timestamp_ns" && f.count == 1 && f.size == 8)
        .map(|f| f.offset as usize);
    let stamp = |b: &[u8]| {
        stamp_at
            .and_then(|o| b.get(o..o.checked_add(8)?))
            .and_then(|s| s.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    };
    topic.rewind();
    let mut any = false;
    let mut next = vec![0u8; buf.len()];
    while topic.recv_bytes(&mut next).unwrap_or(false) {
        if !any || stamp(&next) >= stamp(buf) {
            buf.copy_from_slice(&next);
        }
        any = true;
    }
    any
}

/// Does `name` (a flattened field name) belong to selection `sel`?
fn selected(name: &str, sel: &[String]) -> bool {
    sel.is_empty()
        || sel.iter().any(|s| {
            name == s
                || name
                    .strip_prefix(s.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        })
}

/// Every `--field` must select at least one field of the type.
fn check_fields(info: &TopicInfo, sel: &[String]) -> Result<(), Failure> {
    for s in sel {
        if !info
            .fields
            .iter()
            .any(|f| selected(f.name.as_str(), std::slice::from_ref(s)))
        {
            let names: Vec<&str> = info.fields.iter().map(|f| f.name.as_str()).collect();
            return Err(Failure::usage(format!(
                "--field {s}: {} has no such field (fields: {})",
                info.type_name,
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// The fields of a serialized message's schema at one level: those of a
/// struct (seen through a newtype or an option); `None` for a type without
/// fields.
fn schema_fields(ty: &SchemaType) -> Option<&[NamedField]> {
    match ty {
        SchemaType::Struct(_, fields) => Some(fields),
        SchemaType::Newtype(_, t) | SchemaType::Option(t) => schema_fields(t),
        _ => None,
    }
}

/// Every `--field` of a serialized topic must be the path of a field of its
/// schema (`goal`, `goal.x`); a message that is no struct has one field,
/// `value`.
fn check_schema_fields(schema: &Schema, sel: &[String]) -> Result<(), Failure> {
    let whole = [NamedField {
        name: "value".to_owned(),
        ty: schema.ty.clone(),
    }];
    let top = schema_fields(&schema.ty).unwrap_or(&whole);
    for s in sel {
        // The fields under the path walked so far (`at`, empty at the top).
        let (mut fields, mut at) = (Some(top), String::new());
        for seg in s.split('.') {
            let Some(field) = fields.and_then(|fs| fs.iter().find(|f| f.name == seg)) else {
                let names: Vec<&str> = fields
                    .unwrap_or_default()
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect();
                let listed = match (at.as_str(), names.is_empty()) {
                    ("", _) => format!("fields: {}", names.join(", ")),
                    (p, true) => format!("{p} has no fields"),
                    (p, false) => format!("fields of {p}: {}", names.join(", ")),
                };
                return Err(Failure::usage(format!(
                    "--field {s}: {} has no such field ({listed})",
                    schema.name
                )));
            };
            fields = schema_fields(&field.ty);
            if !at.is_empty() {
                at.push('.');
            }
            at.push_str(seg);
        }
    }
    Ok(())
}

/// The fields `sel` selects of a decoded serialized message (every
/// top-level one if `sel` is empty), each under its path; a path through
/// an absent option selects it (`null`).
fn select_values(fields: Vec<(String, Value)>, sel: &[String]) -> Vec<(String, Value)> {
    fn member<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
        match v {
            Value::Struct(fs) => fs.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            Value::Option(Some(inner)) => member(inner, name),
            _ => None,
        }
    }
    if sel.is_empty() {
        return fields;
    }
    let top = Value::Struct(fields);
    sel.iter()
        .filter_map(|path| {
            let mut v = &top;
            for seg in path.split('.') {
                if matches!(v, Value::Option(None)) {
                    break;
                }
                v = member(v, seg)?;
            }
            Some((path.clone(), v.clone()))
        })
        .collect()
}

/// One message as the text or JSON line(s) to print.
fn format_message(
    ctx: &Ctx,
    args: &EchoArgs,
    info: &TopicInfo,
    decode: bool,
    buf: &[u8],
) -> String {
    let received = args
        .time
        .then(|| humantime::format_rfc3339_micros(SystemTime::now()).to_string());
    let fields = || {
        codec::decode(info, buf)
            .into_iter()
            .filter(|(k, _)| selected(k, &args.fields))
    };
    if ctx.json {
        let mut value = serde_json::Map::new();
        if let Some(t) = received {
            value.insert("@received".to_owned(), t.into());
        }
        if decode {
            value.extend(fields().map(|(k, v)| (k, codec::to_json(&v))));
        } else {
            value.insert("hex".to_owned(), codec::hex(buf).into());
        }
        return format!("{}\n", serde_json::Value::Object(value));
    }
    let mut s = received.map_or_else(String::new, |t| format!("# received {t}\n"));
    if decode {
        for (k, v) in fields() {
            s.push_str(&format!("{k}: {}\n", v.show(args.full)));
        }
    } else if args.full || buf.len() <= HEX_SHOWN {
        s.push_str(&codec::hex_dump(buf));
    } else {
        s.push_str(&codec::hex_dump(&buf[..HEX_SHOWN]));
        s.push_str(&format!(
            "... ({} more bytes; --full shows all)\n",
            buf.len() - HEX_SHOWN
        ));
    }
    s.push_str("---\n");
    s
}
