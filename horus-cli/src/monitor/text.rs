//! The terminal view of `horus monitor` (`--terminal`, `--once`): one
//! snapshot ([`Snapshot`], the document of `--json` and `/api/snapshot`)
//! printed as text, every section from that one reading of the namespace,
//! so that the nodes, the topics and the flow agree.
//!
//! Names are printed with their control characters escaped
//! ([`shown`](crate::names::shown)).

use crate::Ctx;
use crate::colour;
use crate::json::{Snapshot, TopicRow};
use crate::names::shown;
use crate::table::{self, Align::Left, Align::Right, Col};

/// Prints `snap`: the header (e-stop, anomalies), the nodes (as `node
/// list`), the topics (as `topic list`, with their rates), the flow.
pub fn print(ctx: &Ctx, snap: &Snapshot) {
    let overwritten = match snap.overwritten {
        0 => String::new(),
        n => format!(" ({n} older records overwritten)"),
    };
    outln!(
        "horus monitor: namespace {}  e-stop {}  anomalies {}{overwritten} (`horus bb --anomalies`)",
        snap.namespace,
        snap.estop.as_ref().map_or_else(
            || colour::paint(colour::GOOD, "clear"),
            |r| colour::paint(colour::BAD, &format!("ENGAGED ({})", shown(r)))
        ),
        snap.anomalies,
    );
    outln!();
    crate::system::node_table(ctx, &snap.nodes);
    outln!();
    topic_table(ctx, snap);
    let flow = snap.graph.flow_lines();
    if !flow.is_empty() {
        outln!();
        outln!(
            "{}",
            colour::paint(colour::HEADER, "flow (publishers -> topic -> subscribers)")
        );
        for line in flow {
            outln!("  {line}");
        }
    }
}

/// The topics of `snap`: `topic list`'s columns and each topic's rate.
fn topic_table(ctx: &Ctx, snap: &Snapshot) {
    if snap.topics.is_empty() {
        outln!(
            "no topics in namespace {}; {}",
            ctx.namespace,
            crate::names::elsewhere(&ctx.namespace)
        );
        return;
    }
    let mut table = table::new(&[
        Col("TOPIC", 28, Left),
        Col("TYPE", 24, Left),
        Col("BYTES", 6, Right),
        Col("PUBLISHED", 10, Right),
        Col("RATE/s", 7, Right),
        Col("PUBS", 4, Right),
        Col("SUBS", 4, Right),
    ]);
    let readable = |t: &&TopicRow| t.info.is_some();
    for t in snap.topics.iter().filter(readable) {
        let Some(i) = &t.info else { continue };
        let rate = snap
            .graph
            .topics
            .iter()
            .find(|g| g.name == t.name)
            .and_then(|g| g.rate_hz)
            .map_or_else(|| "-".to_owned(), table::figure);
        table.add_row(vec![
            shown(&t.name).into_owned(),
            shown(&i.type_name).into_owned(),
            i.message_size.to_string(),
            i.published.to_string(),
            rate,
            i.publishers.len().to_string(),
            i.subscribers.len().to_string(),
        ]);
    }
    // The readable ones in the table, the unreadable ones in between, in
    // name order (as `topic list`).
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    outln!("{}", colour::paint(colour::HEADER, &header));
    for t in &snap.topics {
        match &t.error {
            None => outln!("{}", lines.next().unwrap_or_default()),
            Some(e) => outln!("{}", shown(&format!("{:<28} (unreadable: {e})", t.name))),
        }
    }
}
