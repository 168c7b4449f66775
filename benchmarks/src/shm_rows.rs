//! Shared memory per topic: the table of region sizes, what a subscribing
//! handle adds, and whether 1,000 small topics fit a 64 MiB `/dev/shm`.
//!
//! Resident bytes are the blocks tmpfs has allocated to a topic's file
//! (`st_blocks * 512`): on tmpfs an allocated block is memory. Everything is
//! created in the run's private namespace and removed with it; no tmpfs is
//! mounted (that needs root: `horus-std/tests/shm_memory.rs` checks the
//! 1,000 topics on a real 64 MiB tmpfs in CI).

use std::fmt::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::Res;
use crate::horus_rows::{self, Ctx, Geom};
use crate::msgs::{Bench8, Bench64, Bench64K};
use crate::report::bytes;

/// Targets of issue 13 (bytes).
pub const TOPIC_TARGET: u64 = 32 * 1024;
pub const PER_SUBSCRIBER_TARGET: u64 = 1024;
pub const SHM_64_MIB: u64 = 64 << 20;
/// Topics of the fit check, each with one publisher and two subscribers.
pub const TOPICS: usize = 1000;

/// The section's figures.
#[derive(Debug, Clone, Default)]
pub struct Shm {
    /// (what, apparent bytes, resident bytes) of one topic with one
    /// publisher and one subscriber, after one message.
    pub table: Vec<(String, u64, u64)>,
    /// What subscribing handles add to a default 64-byte topic.
    pub per_sub: Option<PerSub>,
    /// Resident bytes of [`TOPICS`] default 64-byte topics, one publisher
    /// and two subscribers each, every one having passed a message.
    pub thousand: Option<u64>,
}

/// A default 64-byte topic with 1 subscriber and with `many`, resident
/// after every subscriber received a message; and the file growth of one
/// more handle entry (`max_participants` + 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerSub {
    pub many: u64,
    pub resident_one: u64,
    pub resident_many: u64,
    /// Bytes the region's file grows by per handle it has room for.
    pub entry_bytes: u64,
}

impl PerSub {
    /// Resident growth per subscribing handle beyond the first (page
    /// granular: a resolution of 4096 / (`many` - 1) bytes).
    pub fn resident_per_sub(&self) -> f64 {
        self.resident_many.saturating_sub(self.resident_one) as f64 / (self.many - 1) as f64
    }

    /// Met when neither what attaching subscribers made resident nor the
    /// file's entry per handle passes the target.
    pub fn met(&self) -> bool {
        self.resident_per_sub() <= PER_SUBSCRIBER_TARGET as f64
            && self.entry_bytes <= PER_SUBSCRIBER_TARGET
    }
}

/// Measures the section in `ctx`'s namespace.
pub fn measure(ctx: &Ctx) -> Res<Shm> {
    let default = Geom::for_topo(1, 1);
    let small = Geom {
        capacity: 8,
        participants: 2,
        publishers: 1,
    };
    let mut table = Vec::new();
    let mut add = |what: String, r: (u64, u64)| table.push((what, r.0, r.1));
    let r = horus_rows::region_bytes::<Bench64>(ctx, default, 1)?;
    add(
        format!("64 B message, defaults ({})", default.describe()),
        r,
    );
    let r = horus_rows::region_bytes::<Bench8>(ctx, default, 1)?;
    add("8 B message, defaults".into(), r);
    let r = horus_rows::region_bytes::<Bench64>(ctx, small, 1)?;
    add(format!("64 B message, {}", small.describe()), r);
    let r = horus_rows::region_bytes::<Bench64K>(ctx, default, 1)?;
    add("64 KiB message, defaults".into(), r);
    let r = horus_rows::region_bytes::<Bench64K>(ctx, small, 1)?;
    add(format!("64 KiB message, {}", small.describe()), r);
    Ok(Shm {
        table,
        per_sub: Some(per_sub(ctx, default)?),
        thousand: Some(thousand(ctx)?),
    })
}

fn per_sub(ctx: &Ctx, default: Geom) -> Res<PerSub> {
    // Every handle the default topic has room for, but the publisher.
    let many = default.participants as usize - 1;
    let (_, resident_one) = horus_rows::region_bytes::<Bench64>(ctx, default, 1)?;
    let (_, resident_many) = horus_rows::region_bytes::<Bench64>(ctx, default, many)?;
    let wider = Geom {
        participants: default.participants + 1,
        ..default
    };
    let (len, _) = horus_rows::region_bytes::<Bench64>(ctx, default, 1)?;
    let (len_wider, _) = horus_rows::region_bytes::<Bench64>(ctx, wider, 1)?;
    Ok(PerSub {
        many: many as u64,
        resident_one,
        resident_many,
        entry_bytes: len_wider.saturating_sub(len),
    })
}

/// Resident bytes of [`TOPICS`] default 64-byte topics with one publisher
/// and two subscribers each, all open at once: the namespace directory's
/// allocated blocks after, less before.
fn thousand(ctx: &Ctx) -> Res<u64> {
    let dir = horus::shm::Namespace::path_of(&ctx.ns);
    let before = dir_resident(&dir)?;
    let g = Geom::for_topo(1, 2);
    let mut handles = Vec::with_capacity(TOPICS);
    for _ in 0..TOPICS {
        let (name, _) = ctx.pair();
        let [p, a, b] = [(); 3].map(|()| horus_rows::open::<Bench64>(&ctx.ns, &name, g));
        let (p, a, b) = (p?, a?, b?);
        p.send(<Bench64 as crate::msgs::BenchMsg>::with_seq(1));
        if a.recv().is_none() || b.recv().is_none() {
            return Err(format!("topic {name}: a subscriber missed the message").into());
        }
        handles.push([p, a, b]);
    }
    let after = dir_resident(&dir)?;
    drop(handles);
    Ok(after.saturating_sub(before))
}

/// Allocated bytes of the files directly in `dir`.
fn dir_resident(dir: &Path) -> Res<u64> {
    let mut sum = 0;
    for e in std::fs::read_dir(dir)? {
        let md = e?.metadata()?;
        if md.is_file() {
            sum += md.blocks() * 512;
        }
    }
    Ok(sum)
}

impl Shm {
    /// The section's table and the method of its figures.
    pub fn markdown(&self, o: &mut String) {
        let _ = writeln!(o, "\n## Shared memory per topic\n");
        let _ = writeln!(
            o,
            "| topic | file size (sparse) | resident with one publisher and one subscriber |"
        );
        let _ = writeln!(o, "|---|---|---|");
        for (what, len, res) in &self.table {
            let _ = writeln!(o, "| {what} | {} | {} |", bytes(*len), bytes(*res));
        }
        if let Some(p) = &self.per_sub {
            let _ = writeln!(
                o,
                "\nSubscribing handles (default 64-byte topic, one publisher, after a message \
                 every subscriber received): 1 subscriber {}, {} subscribers {} resident = {:.0} \
                 bytes per subscriber beyond the first (tmpfs pages: a resolution of {:.0} \
                 bytes); the file grows by {} bytes per handle it has room for \
                 (`max_participants` {} against {}).",
                bytes(p.resident_one),
                p.many,
                bytes(p.resident_many),
                p.resident_per_sub(),
                4096.0 / (p.many - 1) as f64,
                p.entry_bytes,
                horus::topic::DEFAULT_MAX_PARTICIPANTS + 1,
                horus::topic::DEFAULT_MAX_PARTICIPANTS
            );
        }
        if let Some(t) = self.thousand {
            let _ = writeln!(
                o,
                "\n{TOPICS} default 64-byte topics, one publisher and two subscribers each, all \
                 open, each having passed a message: {} resident in the run's namespace (its \
                 files' allocated blocks after, less before) of a 64 MiB `/dev/shm`. Measured in \
                 this run's namespace, not on a 64 MiB mount (the test \
                 `a_thousand_topics_fit_a_64_mib_shm` mounts one).",
                bytes(t)
            );
        }
    }

    /// The memory targets: (what, met, detail).
    pub fn targets(&self) -> Vec<(String, bool, String)> {
        let mut v = Vec::new();
        if let Some((what, _, res)) = self
            .table
            .iter()
            .find(|(w, _, _)| w.starts_with("64 B message, defaults"))
        {
            v.push((
                "a 64-byte topic with defaults <= 32 KiB resident".into(),
                *res <= TOPIC_TARGET,
                format!("{what}: {}", bytes(*res)),
            ));
        }
        if let Some(p) = &self.per_sub {
            v.push((
                "each subscribing handle <= 1 KiB more".into(),
                p.met(),
                format!(
                    "{:.0} bytes resident per subscriber ({} with 1, {} with {}); {} bytes of \
                     file per handle entry",
                    p.resident_per_sub(),
                    bytes(p.resident_one),
                    bytes(p.resident_many),
                    p.many,
                    p.entry_bytes
                ),
            ));
        }
        if let Some(t) = self.thousand {
            v.push((
                format!(
                    "{TOPICS} topics with one publisher and two subscribers each fit in a 64 MiB \
                     /dev/shm"
                ),
                t <= SHM_64_MIB,
                format!(
                    "{} resident in the run's namespace = {:.1} % of 64 MiB (allocated blocks of \
                     the files, not a 64 MiB mount)",
                    bytes(t),
                    100.0 * t as f64 / SHM_64_MIB as f64
                ),
            ));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_subscriber_cost_is_judged_on_pages_and_entries() {
        let p = PerSub {
            many: 15,
            resident_one: 12288,
            resident_many: 12288,
            entry_bytes: 256,
        };
        assert_eq!(p.resident_per_sub(), 0.0);
        assert!(p.met());
        // One page more over 14 extra subscribers: 293 bytes each, met.
        let p = PerSub {
            resident_many: 12288 + 4096,
            ..p
        };
        assert!((p.resident_per_sub() - 4096.0 / 14.0).abs() < 1e-9);
        assert!(p.met());
        // Four pages more: 1170 bytes each, missed; so is a large entry.
        assert!(
            !PerSub {
                resident_many: 12288 + 4 * 4096,
                ..p
            }
            .met()
        );
        assert!(
            !PerSub {
                entry_bytes: 1025,
                resident_many: 12288,
                ..p
            }
            .met()
        );
    }

    #[test]
    fn every_memory_target_is_printed_with_its_numbers() {
        let shm = Shm {
            table: vec![("64 B message, defaults (x)".into(), 30_000, 12_288)],
            per_sub: Some(PerSub {
                many: 15,
                resident_one: 12288,
                resident_many: 12288,
                entry_bytes: 128,
            }),
            thousand: Some(70 << 20),
        };
        let t = shm.targets();
        assert_eq!(t.len(), 3);
        assert!(t[0].1 && t[1].1, "{t:?}");
        assert!(!t[2].1, "70 MiB does not fit 64 MiB: {t:?}");
        assert!(t[2].2.starts_with("70.0 MiB resident"), "{t:?}");
    }
}
