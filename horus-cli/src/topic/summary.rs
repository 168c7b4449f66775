//! `horus topic echo` of a pooled topic (image, depth image, tensor, point
//! cloud): one summary per message instead of its megabytes, from the
//! descriptor's layout and the block it names, held only while its
//! checksum (CRC-32, IEEE) is computed:
//!
//! ```text
//! image 640x480 rgb8 step 1920 bytes 921600 crc32 0x1a2b3c4d
//! ---
//! ```
//!
//! `--json` prints one [`PooledEcho`](crate::json::PooledEcho) per message.
//! A descriptor whose block was recycled before echo held it is a drop
//! (nothing printed); a refused (corrupt or forged) one is printed with
//! the reason. A topic whose stored self-description does not fit its
//! messages has its descriptors' fields left out (`echo` says why).

use std::time::SystemTime;

use horus::inspect::{RawTopic, TopicInfo};
use horus::pooled::PooledKind;

use super::codec;
use crate::Ctx;
use crate::json::PooledEcho;

/// The text or JSON line(s) for the descriptor in `buf`; `None` if its block
/// was recycled (a dropped message).
pub fn format(
    ctx: &Ctx,
    time: bool,
    topic: &RawTopic,
    kind: PooledKind,
    buf: &[u8],
) -> Option<String> {
    let mut doc = PooledEcho {
        received: time.then(|| humantime::format_rfc3339_micros(SystemTime::now()).to_string()),
        kind: kind.name(),
        layout: None,
        bytes: None,
        crc32: None,
        error: None,
        descriptor: if ctx.json {
            descriptor_fields(topic.info(), buf)
        } else {
            serde_json::Map::new() // the text shows none
        },
    };
    match kind.decode(buf) {
        None => doc.error = Some("the descriptor is not the size of its type".to_owned()),
        Some((_, Err(reason))) => doc.error = Some(reason),
        Some((block, Ok(layout))) => {
            doc.layout = Some(layout.to_string());
            match topic.hold_block(block) {
                Ok(None) => return None,
                Ok(Some(held)) => {
                    doc.bytes = Some(held.data().len());
                    doc.crc32 = Some(format!("{:#010x}", crc32fast::hash(held.data())));
                }
                Err(e) => {
                    // Refused: its layout is the descriptor's word, not a message's.
                    doc.layout = None;
                    doc.error = Some(e.to_string());
                }
            }
        }
    }
    if ctx.json {
        return Some(format!("{}\n", serde_json::to_string(&doc).ok()?));
    }
    let mut s = doc
        .received
        .map_or_else(String::new, |t| format!("# received {t}\n"));
    match (doc.layout, doc.bytes, doc.crc32, doc.error) {
        (Some(l), Some(n), Some(c), _) => {
            s.push_str(&format!("{} {l} bytes {n} crc32 {c}\n", doc.kind))
        }
        (_, _, _, e) => s.push_str(&format!(
            "{} refused: {}\n",
            doc.kind,
            e.unwrap_or_default()
        )),
    }
    s.push_str("---\n");
    Some(s)
}

/// The descriptor's fields by name; none if the topic's stored
/// self-description does not fit its messages (a corrupt or hostile
/// region: `echo` says so once, see [`super::echo`]).
fn descriptor_fields(info: &TopicInfo, buf: &[u8]) -> serde_json::Map<String, serde_json::Value> {
    if !codec::describable(info) {
        return serde_json::Map::new();
    }
    codec::decode(info, buf)
        .into_iter()
        .map(|(k, v)| (k, codec::to_json(&v)))
        .collect()
}
