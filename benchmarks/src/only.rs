//! `HORUS_BENCH_ONLY` selections: one section or row of the benchmark at a
//! time, its figures on stderr, no file written (for profilers and
//! `compare.sh`).

use std::fmt::Write;

use crate::horus_rows::{self, Ctx, Geom, Mode};
use crate::msgs::{self, Bench64};
use crate::{
    Block, Config, Res, SERIALIZED_KEPT_ROW, SERIALIZED_ROW, SPECS, cleanup, copy_row,
    iceoryx_files, interleave, pooled_rows, progress, python_rows, raw, remove_new_iceoryx_files,
    schedcost, stats, with_msg,
};

/// `HORUS_BENCH_ONLY=<part of a row name>`: runs only the matching HORUS
/// rows of the main table and writes nothing (for profilers); `copy` runs
/// only the copy-against-memcpy rows, `sched` only the scheduler overhead,
/// `jitter` only the scheduler's tick lateness,
/// `python` only the Python rows, `pooled` only the large-message rows
/// (with the POD rows beside them), `limits` only the raw limits (one word
/// and the 64-byte seqlock, threads and processes), for `compare.sh`. A
/// pattern matching the serialized row (`serialized`) runs the serialized
/// section instead of the cross-process 1:1 row ([`run_serialized`]); a
/// row's whole name selects that row only ([`selects`]).
pub(crate) fn only() -> Option<String> {
    std::env::var("HORUS_BENCH_ONLY").ok()
}

pub(crate) fn run_only(cfg: &Config, pattern: &str) -> Res<()> {
    if pattern == "copy" {
        for size in msgs::SIZES {
            let r = with_msg!(size, copy_row(if cfg.quick { 5 } else { 21 }, cfg.quick))?;
            eprintln!(
                "copy {size} B: HORUS {:.1} ns, memcpy {:.1} ns = {:.2}x of memcpy",
                r.horus_ns,
                r.memcpy_ns,
                r.ratio()
            );
        }
        return Ok(());
    }
    if pattern == "python" {
        let ctx = Ctx::new();
        let rows = python_rows::run(cfg, &ctx);
        python_rows::progress(&rows);
        for (what, ok, detail) in rows.targets() {
            eprintln!("{} {what}: {detail}", if ok { "MET" } else { "MISSED" });
        }
        return cleanup(&ctx);
    }
    if pattern == "sched" {
        for nodes in schedcost::COUNTS {
            let r = schedcost::row(nodes, if cfg.quick { 5 } else { 21 }, cfg.quick)?;
            eprintln!(
                "{r:?} per node: core {:.1} std {:.1}",
                r.core_per_node(),
                r.std_per_node()
            );
        }
        // The schedulers' system topics are in the run's namespace.
        return cleanup(&Ctx::new());
    }
    if let Some(which) = pattern.strip_prefix("sched-rounds") {
        let nodes = sched_rounds_nodes(pattern, which)?;
        let rounds: u64 = if cfg.quick { 1_000_000 } else { 4_000_000 };
        let ns = schedcost::round_loop(nodes, rounds);
        cleanup(&Ctx::new())?;
        eprintln!(
            "std tick_once, {nodes} empty node(s): {:.1} ns/round ({rounds} rounds)",
            ns?
        );
        return Ok(());
    }
    if pattern == "jitter" {
        let rows = crate::jitter_rows(cfg);
        let mut targets = String::new();
        crate::jitter::targets(&rows, &mut targets);
        eprint!("{targets}");
        return Ok(());
    }
    if pattern == "limits" {
        for kind in [
            raw::Kind::Word,
            raw::Kind::Seqlock64,
            raw::Kind::HeldBlock,
            raw::Kind::HeldInSlot,
        ] {
            let what = kind.label();
            let (w, n) = (cfg.warmup, cfg.samples);
            progress(
                &format!("limit: {what}, threads"),
                &raw::threads(kind, w, n).one_way(),
            );
            progress(
                &format!("limit: {what}, processes"),
                &raw::processes(kind, w, n)?.one_way(),
            );
        }
        return Ok(());
    }
    if pattern == "pooled" {
        return run_pooled_only(cfg);
    }
    if pattern == "shm" {
        let ctx = Ctx::new();
        let measured = crate::shm_rows::measure(&ctx);
        let cleaned = cleanup(&ctx);
        let shm = measured?;
        cleaned?;
        let mut o = String::new();
        shm.markdown(&mut o);
        for (what, ok, detail) in shm.targets() {
            let _ = writeln!(
                o,
                "- {} {what}: {detail}",
                if ok { "MET" } else { "MISSED" }
            );
        }
        eprint!("{o}");
        return Ok(());
    }
    if let Some(which) = pattern.strip_prefix("pooled-hop") {
        // `pooled-hop`: every kind; `pooled-hop:image` (or `:tensor`, `:pod`):
        // the kinds whose label starts so, or the one it names whole.
        let chosen = hop_kinds(pattern, which)?;
        let ctx = Ctx::new();
        let hops: u64 = if cfg.quick { 1_000_000 } else { 4_000_000 };
        for kind in chosen {
            let name = kind.label();
            let ns = pooled_rows::hop_loop(&ctx, kind, hops)?;
            eprintln!("same-thread hop loop, {name}: {ns:.1} ns/hop ({hops} hops)");
        }
        return cleanup(&ctx);
    }
    let serialized = selects_serialized(pattern);
    selects_a_row(pattern)?;
    let ctx = Ctx::new();
    for (name, _, mode, p, s) in SPECS {
        // The serialized section measures this one, interleaved with its rows.
        let in_serialized = serialized && mode == Mode::Processes && (p, s) == (1, 1);
        if selects(pattern, name) && !in_serialized {
            let g = Geom::for_topo(p, s);
            let r = horus_rows::ping_pong::<Bench64>(&ctx, mode, p, s, g, cfg.warmup, cfg.samples);
            match r {
                Ok(samples) => progress(name, &samples.one_way()),
                Err(e) => eprintln!("{name}: {e}"),
            }
        }
    }
    if serialized {
        run_serialized(cfg, &ctx)?;
    }
    cleanup(&ctx)
}

/// The node count `sched-rounds<which>` asks for: 1 for an empty `which`,
/// N for `:N` (N > 0); anything else is an error that says what to give.
fn sched_rounds_nodes(pattern: &str, which: &str) -> Result<usize, String> {
    match which.strip_prefix(':') {
        None if which.is_empty() => Some(1),
        Some(n) => n.parse::<usize>().ok().filter(|&n| n > 0),
        None => None,
    }
    .ok_or_else(|| {
        format!("HORUS_BENCH_ONLY={pattern}: give sched-rounds or sched-rounds:N, N a node count above 0")
    })
}

/// The hop kinds `pooled-hop<which>` selects: every kind for an empty
/// `which`; for `:<label>`, the kind named whole, else the kinds whose label
/// starts so (case-insensitive). None is an error that lists the kinds.
fn hop_kinds(pattern: &str, which: &str) -> Result<Vec<pooled_rows::HopKind>, String> {
    let which = which.trim_start_matches(':').to_lowercase();
    let label = |k: &pooled_rows::HopKind| k.label().to_lowercase();
    let exact = pooled_rows::HopKind::ALL.iter().any(|k| label(k) == which);
    let chosen: Vec<_> = pooled_rows::HopKind::ALL
        .into_iter()
        .filter(|k| label(k) == which || (!exact && label(k).starts_with(&which)))
        .collect();
    if chosen.is_empty() {
        let kinds: Vec<_> = pooled_rows::HopKind::ALL
            .iter()
            .map(|k| k.label())
            .collect();
        return Err(format!(
            "HORUS_BENCH_ONLY={pattern}: no hop kind is named or starts so; the kinds: {}",
            kinds.join(", ")
        ));
    }
    Ok(chosen)
}

/// Whether `pattern` selects the main-table row `name`: a pattern that is a
/// row's whole name selects that row only (so `compare.sh --only
/// "cross-process 1:1"` measures the same row in old and new programs);
/// any other pattern, every row whose name contains it.
fn selects(pattern: &str, name: &str) -> bool {
    if SPECS.iter().any(|spec| spec.0 == pattern) {
        name == pattern
    } else {
        name.contains(pattern)
    }
}

/// Whether `pattern` selects the serialized section: its row's whole name,
/// or a part of it that is no main-table row's whole name.
fn selects_serialized(pattern: &str) -> bool {
    pattern == SERIALIZED_ROW
        || (SERIALIZED_ROW.contains(pattern) && !SPECS.iter().any(|spec| spec.0 == pattern))
}

/// `Ok` if `pattern` is part of a main-table row's name (or of the
/// serialized row's); else the error that lists them.
fn selects_a_row(pattern: &str) -> Result<(), String> {
    if SERIALIZED_ROW.contains(pattern) || SPECS.iter().any(|spec| spec.0.contains(pattern)) {
        return Ok(());
    }
    let rows: Vec<_> = SPECS.iter().map(|spec| spec.0).collect();
    Err(format!(
        "HORUS_BENCH_ONLY={pattern} selects nothing: give copy, python, sched, sched-rounds[:N], jitter, shm, limits, \
         pooled, pooled-hop[:<kind>], or part of a row's name ({}, {SERIALIZED_ROW})",
        rows.join(", ")
    ))
}

/// The serialized rows (a pattern matching [`SERIALIZED_ROW`]), interleaved
/// with the cross-process 1:1 POD row they are judged against; then, both
/// sides in one thread, the same three: the software cost of a hop without
/// the cross-core transfer. Prints the ratios to the POD row of the same run.
fn run_serialized(cfg: &Config, ctx: &Ctx) -> Res<()> {
    use horus_rows::ping_pong;
    use msgs::{BenchSerialized as Ser, BenchSerializedKept as Kept};
    let g = Geom::for_topo(1, 1);
    let rows: [(&str, Block); 6] = [
        (
            "cross-process 1:1",
            Box::new(|w, n| ping_pong::<Bench64>(ctx, Mode::Processes, 1, 1, g, w, n)),
        ),
        (
            SERIALIZED_ROW,
            Box::new(|w, n| ping_pong::<Ser>(ctx, Mode::Processes, 1, 1, g, w, n)),
        ),
        (
            SERIALIZED_KEPT_ROW,
            Box::new(|w, n| ping_pong::<Kept>(ctx, Mode::Processes, 1, 1, g, w, n)),
        ),
        (
            "  same thread, POD 64 B",
            Box::new(|w, n| ping_pong::<Bench64>(ctx, Mode::SameThread, 1, 1, g, w, n)),
        ),
        (
            "  same thread, serialized",
            Box::new(|w, n| ping_pong::<Ser>(ctx, Mode::SameThread, 1, 1, g, w, n)),
        ),
        (
            "  same thread, serialized kept",
            Box::new(|w, n| ping_pong::<Kept>(ctx, Mode::SameThread, 1, 1, g, w, n)),
        ),
    ];
    let (names, mut blocks): (Vec<&str>, Vec<Block>) = rows.into_iter().unzip();
    let sums = interleave(cfg, cfg.warmup, cfg.samples, &mut blocks)?;
    for (name, sum) in names.iter().zip(&sums) {
        progress(name, sum);
    }
    for (row, pod) in [(1, 0), (2, 0), (4, 3), (5, 3)] {
        eprintln!(
            "{} p50 / {} p50 = {:.2}x",
            names[row].trim(),
            names[pod].trim(),
            sums[row].p50 / sums[pod].p50
        );
    }
    let c = crate::serde_cost::measure(if cfg.quick { 5 } else { 21 }, cfg.quick)?;
    eprintln!(
        "postcard alone (one thread, no ring), a hop's encode + decode: {:.1} ns as the \
         serialized row makes them, {:.1} ns as the kept row",
        c.fresh_ns, c.kept_ns
    );
    Ok(())
}

/// `HORUS_BENCH_ONLY=pooled`: the large-message section alone (with its
/// POD rows), its table and targets on stdout; writes no file.
fn run_pooled_only(cfg: &Config) -> Res<()> {
    stats::set_row_budget(cfg.row_budget / cfg.rounds as u32);
    let ctx = Ctx::new();
    let iox_before = iceoryx_files();
    let measured = pooled_rows::section(cfg, &ctx);
    let cleaned = cleanup(&ctx);
    remove_new_iceoryx_files(&iox_before);
    let section = measured?;
    cleaned?;
    let mut o = String::new();
    section.markdown(&mut o);
    o.push_str("Targets:\n\n");
    let (pair, step) = crate::sys::timer_overhead_ns();
    section.targets(&mut o, &crate::report::Clock::from_pair(pair, step));
    println!("{o}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pooled_rows::HopKind;

    #[test]
    fn a_hop_kind_is_chosen_by_its_whole_label_or_a_prefix() {
        let all = hop_kinds("pooled-hop", "").unwrap();
        assert_eq!(all, HopKind::ALL.to_vec());
        // A whole label chooses that kind only, though others start so.
        let one = hop_kinds("pooled-hop:image 640x480 rgb8", ":Image 640x480 RGB8").unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].label(), "image 640x480 rgb8");
        let images = hop_kinds("pooled-hop:image", ":image").unwrap();
        assert!(images.len() >= 3, "{images:?}");
        assert!(images.iter().all(|k| k.label().starts_with("image")));
    }

    #[test]
    fn sched_rounds_takes_a_node_count_above_zero() {
        assert_eq!(sched_rounds_nodes("sched-rounds", ""), Ok(1));
        assert_eq!(sched_rounds_nodes("sched-rounds:10", ":10"), Ok(10));
        for (pattern, which) in [
            ("sched-rounds:0", ":0"),
            ("sched-rounds:x", ":x"),
            ("sched-roundsx", "x"),
        ] {
            let e = sched_rounds_nodes(pattern, which).unwrap_err();
            assert!(e.contains(pattern) && e.contains("sched-rounds:N"), "{e}");
        }
    }

    #[test]
    fn a_selection_that_matches_nothing_names_the_choices() {
        let e = hop_kinds(
            "pooled-hop:image 640x480 rgb8 1:1",
            ":image 640x480 rgb8 1:1",
        )
        .unwrap_err();
        assert!(e.contains("no hop kind"), "{e}");
        assert!(e.contains("image 640x480 rgb8 1:4"), "{e}");
        let e = selects_a_row("nosuchrow").unwrap_err();
        assert!(
            e.contains("HORUS_BENCH_ONLY=nosuchrow selects nothing"),
            "{e}"
        );
        assert!(e.contains("cross-process N:N"), "{e}");
        assert!(selects_a_row("cross-process 1:1").is_ok());
        assert!(selects_a_row("serialized").is_ok());
    }

    #[test]
    fn a_rows_whole_name_selects_that_row_only() {
        // The serialized row's name starts with "cross-process 1:1".
        assert!(!selects_serialized("cross-process 1:1"));
        assert!(selects("cross-process 1:1", "cross-process 1:1"));
        assert!(!selects("cross-process 1:1", "cross-process 1:N"));
        assert!(selects_serialized("serialized"));
        assert!(selects_serialized(SERIALIZED_ROW));
        // A part of names selects every row containing it.
        assert!(selects("1:N", "same process 1:N") && selects("1:N", "cross-process 1:N"));
        assert!(!selects_serialized("1:N"));
    }
}
