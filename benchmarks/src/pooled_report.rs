//! The large-message section of the results ([`crate::pooled_rows`]): its
//! table and its targets, in the report's format.

use std::fmt::Write;

use crate::pooled_rows::{Kind, RowArgs, Touch};
use crate::raw;
use crate::report::verdict::ratio as judge;
use crate::report::{Bound, Clock, Fig, Verdict, ns, ratio};
use crate::stats::Summary;

/// One large row: HORUS and iceoryx2, measured interleaved.
#[derive(Debug)]
pub struct LargeRow {
    pub args: RowArgs,
    pub horus: Summary,
    pub iox: Summary,
}

impl LargeRow {
    pub fn name(&self) -> String {
        let a = &self.args;
        format!(
            "{} 1:{}{}",
            a.kind.label(),
            a.subs,
            match a.touch {
                Touch::Every => ", every byte",
                Touch::New => ", Image::new",
                Touch::Stamp => "",
            }
        )
    }
}

/// The section: the 64-byte POD rows (1:S) measured beside the large rows.
#[derive(Debug)]
pub struct Section {
    /// The physical limits measured in the same blocks (processes).
    pub limits: Vec<(raw::Kind, Summary)>,
    pub pod: Vec<(usize, Summary)>,
    pub rows: Vec<LargeRow>,
    /// (what, one-way) with both sides in one thread, 1:1: the code's own
    /// cost per hop, without the cross-core transfer.
    pub same_thread: Vec<(String, Summary)>,
}

impl Section {
    fn pod(&self, subs: usize) -> Option<&Summary> {
        self.pod.iter().find(|(s, _)| *s == subs).map(|(_, s)| s)
    }

    fn limit(&self, kind: raw::Kind) -> Option<&Summary> {
        self.limits.iter().find(|(k, _)| *k == kind).map(|(_, s)| s)
    }

    /// The image 1:1 latency row, if measured.
    fn image_1to1(&self) -> Option<&Summary> {
        self.rows
            .iter()
            .find(|r| r.args == IMAGE_1TO1)
            .map(|r| &r.horus)
    }

    /// The physics-against-code table: the limits, the POD and image 1:1
    /// p50s of the same blocks, and their ratios.
    fn physics(&self, o: &mut String) {
        let (Some(word), Some(held), Some(pod), Some(image)) = (
            self.limit(raw::Kind::Word),
            self.limit(raw::Kind::HeldBlock),
            self.pod(1),
            self.image_1to1(),
        ) else {
            return;
        };
        let in_slot = self.limit(raw::Kind::HeldInSlot);
        let _ = writeln!(
            o,
            "Physics against code, 1:1, p50 one-way (ns), all in the same interleaved blocks: the \
             one-word limit; the held-block limit (each way a one-word descriptor slot, then a hold \
             on the block's control line, an RMW on a line the writer wrote just before the slot, \
             the stamp read and the hold released; nothing else: `benchmarks/src/raw_held.rs`), \
             what a zero-copy message a reader may keep costs the hardware in HORUS's layout; the \
             same with the hold and state words in the slot's own line (a layout HORUS does not \
             have); the POD and image rows.\n\n\
             | raw one word | raw held block | held / word | held, hold in the slot's line | POD 64 B | held / POD | image | image / held | image / POD |\n\
             |---|---|---|---|---|---|---|---|---|\n\
             | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            ns(word.p50),
            ns(held.p50),
            ratio(held.p50, word.p50),
            in_slot.map_or("-".into(), |s| ns(s.p50)),
            ns(pod.p50),
            ratio(held.p50, pod.p50),
            ns(image.p50),
            ratio(image.p50, held.p50),
            ratio(image.p50, pod.p50),
        );
    }

    pub fn markdown(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "## One-way latency, large messages through the loan APIs, cross-process (ns)\n\n\
             HORUS: `Topic<Image>::loan` / `Topic<Tensor>::loan` (a block of the publisher's pool), \
             write the 8-byte stamp, `try_send`; `try_recv`, read the stamp, drop the view. \
             iceoryx2: a `[u8]` service of the same size, `loan_slice_uninit`, write the stamp, \
             `send`; `receive`, read the stamp, drop the sample. The latency rows touch only the \
             stamp; the `every byte` rows fill every byte on the sending side and check every byte \
             on the receiving side (both systems). The `Image::new` row makes each HORUS image \
             with `Image::try_new` (a black image: its block is zeroed) and each iceoryx2 sample \
             with `loan_slice` (every byte set to 0), then writes the stamp. Both directions \
             carry the large message; the 64-byte POD rows (`Topic<Bench64>`) are measured in the same interleaved blocks. \
             Samples: recorded / planned; a block stops at the time limit per block once it has \
             1,000 samples, and the row says how many of its blocks were cut short. The tails are \
             judged against references of the same blocks: `p99.9 / POD 64 B p99.9` against the \
             POD row of the same topology, `p99.9 / one-word limit p99.9` against the raw one-word \
             ping-pong between the same two cores (its row first; bytes: the word it moves).\n"
        );
        self.table(o);
        let _ = writeln!(
            o,
            "\nThe same operations with both sides in one thread (1:1, no cross-core transfer: \
             the cost of the code itself per hop), p50 / p99 one-way (ns): {}.\n",
            self.same_thread
                .iter()
                .map(|(what, s)| format!("{what} {} / {}", ns(s.p50), ns(s.p99)))
                .collect::<Vec<_>>()
                .join("; ")
        );
        self.physics(o);
    }

    /// The table: the limits, the POD rows and the large rows, each HORUS
    /// row's p99.9 also against the one-word limit's and the POD row's of
    /// the same blocks (issue 13's tails against the host).
    fn table(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "| row | bytes | samples | p50 | p99 | p99.9 | max | POD 64 B p50 | p50 / POD p50 | \
             p99.9 / POD 64 B p99.9 | p99.9 / one-word limit p99.9 | iceoryx2 samples | \
             iceoryx2 p50 | iceoryx2 p99.9 | iceoryx2 / HORUS p50 (> 1: HORUS faster) |"
        );
        let _ = writeln!(
            o,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        let word = self.limit(raw::Kind::Word);
        let tail = |s: &Summary| word.map_or("-".into(), |w| ratio(s.p999, w.p999));
        let head = |name: &str, bytes: usize, s: &Summary| {
            format!(
                "| {name} | {bytes} | {} | {} | {} | {} | {} |",
                s.count_cell(),
                ns(s.p50),
                ns(s.p99),
                ns(s.p999),
                ns(s.max)
            )
        };
        for (kind, s) in &self.limits {
            let name = format!("{} 1:1 (processes)", kind.label());
            let _ = writeln!(
                o,
                "{} - | - | - | {} | - | - | - | - |",
                head(&name, 8, s),
                if *kind == raw::Kind::Word {
                    "-".into()
                } else {
                    tail(s)
                }
            );
        }
        for (subs, s) in &self.pod {
            let _ = writeln!(
                o,
                "{} - | - | - | {} | - | - | - | - |",
                head(&format!("POD 64 B 1:{subs}"), 64, s),
                tail(s)
            );
        }
        for r in &self.rows {
            let (h, i) = (&r.horus, &r.iox);
            let pod = self.pod(r.args.subs);
            let _ = writeln!(
                o,
                "{} {} | {} | {} | {} | {} | {} | {} | {} |",
                head(&r.name(), r.args.kind.bytes(), h),
                pod.map_or("-".into(), |p| ns(p.p50)),
                pod.map_or("-".into(), |p| ratio(h.p50, p.p50)),
                pod.map_or("-".into(), |p| ratio(h.p999, p.p999)),
                tail(h),
                i.count_cell(),
                ns(i.p50),
                ns(i.p999),
                ratio(i.p50, h.p50)
            );
        }
    }

    /// For the image 1:1 row: where the held-block limit of the same blocks
    /// stands against the POD row, and the image row against it.
    fn held_context(&self, r: &LargeRow, pod: &Summary) -> String {
        match self.limit(raw::Kind::HeldBlock) {
            Some(held) if r.args == IMAGE_1TO1 => format!(
                "; the raw held-block limit beside it is {} ns = {} the POD row, and the image \
                 row {} that limit",
                ns(held.p50),
                ratio(held.p50, pod.p50),
                ratio(r.horus.p50, held.p50)
            ),
            _ => String::new(),
        }
    }

    /// The image rows' targets (stamp only, each topology): p50 within 2x
    /// of the POD row of the same topology, and at least 3x faster than
    /// iceoryx2 at p50 ([`crate::report::verdict`]).
    pub fn targets(&self, o: &mut String, clock: &Clock) {
        let mut t = |what: String, (v, d): (Verdict, String), context: String| {
            let _ = writeln!(o, "- {v} {what}: {d}{context}");
        };
        let p50 = Fig::p50;
        let image_rows = self
            .rows
            .iter()
            .filter(|r| r.args.kind == Kind::Image && r.args.touch == Touch::Stamp);
        for r in image_rows {
            let (name, h) = (r.name(), &r.horus);
            if let Some(p) = self.pod(r.args.subs) {
                t(
                    format!(
                        "{name} p50 within 2x of the 64-byte POD 1:{} row",
                        r.args.subs
                    ),
                    judge(p50(h), p50(p), Bound::AtMost(2.0), clock),
                    self.held_context(r, p),
                );
            }
            t(
                format!("{name} at least 3x faster than iceoryx2 at p50 (iceoryx2 / HORUS)"),
                judge(p50(&r.iox), p50(h), Bound::AtLeast(3.0), clock),
                String::new(),
            );
        }
    }
}

/// The row the held-block limit is set beside.
const IMAGE_1TO1: RowArgs = RowArgs {
    kind: Kind::Image,
    subs: 1,
    touch: Touch::Stamp,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Samples;

    /// A summary whose one-way p50 is `p50` ns.
    fn at(p50: u64) -> Summary {
        let mut s = Samples::with_capacity(10);
        for _ in 0..10 {
            s.push(p50 * 2);
        }
        s.one_way()
    }

    fn row(kind: Kind, subs: usize, touch: Touch, horus: u64, iox: u64) -> LargeRow {
        LargeRow {
            args: RowArgs { kind, subs, touch },
            horus: at(horus),
            iox: at(iox),
        }
    }

    #[test]
    fn image_targets_judge_against_pod_and_iceoryx2_of_the_same_topology() {
        let s = Section {
            same_thread: Vec::new(),
            limits: vec![(raw::Kind::Word, at(100)), (raw::Kind::HeldBlock, at(250))],
            pod: vec![(1, at(200)), (4, at(300))],
            rows: vec![
                // 1:1: 1.5x the POD row (met), iceoryx2 4x slower (met).
                row(Kind::Image, 1, Touch::Stamp, 300, 1200),
                // 1:4: 2.5x the POD 1:4 row (missed), iceoryx2 2x slower (missed).
                row(Kind::Image, 4, Touch::Stamp, 750, 1500),
                // Neither the tensor nor the every-byte row has a target.
                row(Kind::Tensor, 1, Touch::Stamp, 10_000, 1),
                row(Kind::Image, 1, Touch::Every, 10_000, 1),
            ],
        };
        let mut o = String::new();
        let clock = Clock {
            timer_one_way: 10.0,
            step_one_way: 5.0,
        };
        s.targets(&mut o, &clock);
        let lines: Vec<&str> = o.lines().collect();
        assert_eq!(
            lines,
            [
                "- MET image 640x480 rgb8 1:1 p50 within 2x of the 64-byte POD 1:1 row: 300 ns vs \
                 200 ns = 1.50x (timer removed: 1.53x); margin 100 ns, clock step 5.0 ns and \
                 timer 10.0 ns one-way; the raw held-block limit beside it is 250 ns = 1.25x the \
                 POD row, and the image row 1.20x that limit",
                "- MET image 640x480 rgb8 1:1 at least 3x faster than iceoryx2 at p50 (iceoryx2 / \
                 HORUS): 1200 ns vs 300 ns = 4.00x (timer removed: 4.10x); margin 300 ns, clock \
                 step 5.0 ns and timer 10.0 ns one-way",
                "- MISSED image 640x480 rgb8 1:4 p50 within 2x of the 64-byte POD 1:4 row: 750 ns \
                 vs 300 ns = 2.50x (timer removed: 2.55x); margin 150 ns, clock step 5.0 ns and \
                 timer 10.0 ns one-way",
                "- MISSED image 640x480 rgb8 1:4 at least 3x faster than iceoryx2 at p50 (iceoryx2 \
                 / HORUS): 1500 ns vs 750 ns = 2.00x (timer removed: 2.01x); margin 750 ns, clock \
                 step 5.0 ns and timer 10.0 ns one-way",
            ]
        );
    }

    #[test]
    fn table_has_a_line_per_row_with_its_ratios() {
        let s = Section {
            same_thread: vec![("image".into(), at(300)), ("POD 64 B".into(), at(30))],
            limits: Vec::new(),
            pod: vec![(1, at(200))],
            rows: vec![
                row(Kind::Tensor, 1, Touch::Stamp, 400, 2000),
                row(Kind::Image, 1, Touch::Every, 90_000, 99_000),
            ],
        };
        let mut o = String::new();
        s.markdown(&mut o);
        let rows: Vec<&str> = o.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(rows.len(), 4, "{o}");
        assert!(
            rows[1].starts_with("| POD 64 B 1:1 | 64 | 10 | 200 |"),
            "{}",
            rows[1]
        );
        assert!(
            rows[2].starts_with("| tensor 1024x1024 f32 1:1 | 4194304 | 10 | 400 |")
                && rows[2].ends_with("| 200 | 2.00x | 2.00x | - | 10 | 2000 | 2000 | 5.00x |"),
            "{}",
            rows[2]
        );
        assert!(rows[3].starts_with("| image 640x480 rgb8 1:1, every byte | 921600 |"));
        assert!(
            o.contains("(ns): image 300 / 300; POD 64 B 30.0 / 30.0."),
            "{o}"
        );
        assert!(
            !o.contains("Physics against code"),
            "no limits, no table: {o}"
        );
    }

    #[test]
    fn tails_are_judged_against_the_limit_and_pod_row_of_the_same_blocks() {
        let s = Section {
            same_thread: Vec::new(),
            limits: vec![(raw::Kind::Word, at(50)), (raw::Kind::HeldBlock, at(150))],
            pod: vec![(1, at(100))],
            rows: vec![row(Kind::Image, 1, Touch::Stamp, 300, 900)],
        };
        let mut o = String::new();
        s.markdown(&mut o);
        let rows: Vec<&str> = o
            .lines()
            .take_while(|l| !l.starts_with("Physics against code"))
            .filter(|l| l.starts_with("| "))
            .collect();
        assert_eq!(
            rows[1..],
            [
                "| raw ping-pong 1:1 (processes) | 8 | 10 | 50.0 | 50.0 | 50.0 | 50.0 | - | - | - | \
                 - | - | - | - | - |",
                "| raw held block 1:1 (processes) | 8 | 10 | 150 | 150 | 150 | 150 | - | - | - | \
                 3.00x | - | - | - | - |",
                "| POD 64 B 1:1 | 64 | 10 | 100 | 100 | 100 | 100 | - | - | - | 2.00x | - | - | - | \
                 - |",
                "| image 640x480 rgb8 1:1 | 921600 | 10 | 300 | 300 | 300 | 300 | 100 | 3.00x | \
                 3.00x | 6.00x | 10 | 900 | 900 | 3.00x |",
            ],
            "{o}"
        );
        let header = rows[0].split(" | ").count();
        assert!(rows.iter().all(|r| r.split(" | ").count() == header), "{o}");
    }

    #[test]
    fn physics_table_sets_the_image_row_beside_the_held_block_limit() {
        let s = Section {
            same_thread: Vec::new(),
            limits: vec![
                (raw::Kind::Word, at(60)),
                (raw::Kind::HeldBlock, at(150)),
                (raw::Kind::HeldInSlot, at(90)),
            ],
            pod: vec![(1, at(75))],
            rows: vec![row(Kind::Image, 1, Touch::Stamp, 165, 500)],
        };
        let mut o = String::new();
        s.markdown(&mut o);
        let table: Vec<&str> = o
            .lines()
            .skip_while(|l| !l.starts_with("Physics against code"))
            .filter(|l| l.starts_with("| "))
            .collect();
        assert_eq!(
            table,
            [
                "| raw one word | raw held block | held / word | held, hold in the slot's line | POD 64 B | held / POD | image | image / held | image / POD |",
                "| 60.0 | 150 | 2.50x | 90.0 | 75.0 | 2.00x | 165 | 1.10x | 2.20x |",
            ],
            "{o}"
        );
    }
}
