//! `horus clean --shm`: remove what dead processes left in shared memory.
//!
//! A region is removed only when no live process holds it (an exclusive
//! `flock` succeeds; see `horus::shm::cleanup`), so this is safe while
//! programs run. Unlike the auto-clean every other command does first, it
//! also removes the namespace's system topics (e-stop, blackbox, registry)
//! when nobody holds them, and unheld files at topic paths that are not HORUS
//! regions (a corrupt topic). A namespace directory left empty is removed.
//! A file at a name HORUS never makes (`notes.txt`, a name that is not
//! UTF-8) is never removed: it is named (a byte that is not UTF-8 written
//! `\xNN`), and so is its namespace directory, kept for it.
//!
//! Two system topics are kept even when nobody holds them, because they are
//! evidence and safety state rather than stale data: an *engaged* e-stop
//! (cleaning must never release a stop; `horus estop --clear` does), and the
//! blackbox (the records of what went wrong; `--blackbox` removes it too).
//!
//! `--all` cleans every namespace of this user under the base directory;
//! one that cannot be opened (a FIFO or a link planted at its name, say) is
//! named on stderr and makes the exit code 1, but the others are cleaned;
//! another user's namespace is left alone.

use std::process::ExitCode;

use anyhow::Context;
use horus::error::TopicError;
use horus::shm::{CleanReport, Namespace, clean_namespace_keeping};
use horus::system::blackbox::{BLACKBOX_TOPIC, RARE_TOPIC};
use horus::system::estop;

use crate::Ctx;
use crate::exit::Failure;

/// Arguments of `horus clean`.
#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    /// Clean shared memory (the only kind of cleaning there is; kept for the documented spelling).
    #[arg(long)]
    shm: bool,
    /// Every namespace of this user, not only the current one.
    #[arg(long)]
    all: bool,
    /// Also remove the blackbox (kept by default: it records what went wrong).
    #[arg(long)]
    blackbox: bool,
}

pub fn main(ctx: &Ctx, args: &CleanArgs) -> anyhow::Result<ExitCode> {
    if !args.shm {
        return Err(
            Failure::usage("say what to clean: `horus clean --shm` (stale shared memory)").into(),
        );
    }
    let names = if args.all {
        match Namespace::list_all() {
            // Its sentence names HORUS_SHM_DIR (or /dev/shm) and the fix.
            Err(e @ TopicError::ShmDir { .. }) => return Err(e.into()),
            other => other.context("listing the namespaces")?,
        }
    } else {
        vec![ctx.namespace.clone()]
    };
    let mut reports = Vec::new();
    // With --all, a namespace that cannot be opened (a FIFO or a link at its
    // name, a directory we may not read) must not stop the others from
    // being cleaned: it is named at the end, and the exit code says so.
    let mut not_cleaned = Vec::new();
    for name in names {
        let ns = match Namespace::open_existing(&name) {
            Ok(Some(ns)) => ns,
            Ok(None) => {
                reports.push((name, CleanReport::default(), false));
                continue;
            }
            // Another user's namespace (or anything of theirs at such a
            // name, in the shared /dev/shm) is not one of ours: --all cleans
            // "every namespace of this user".
            Err(_) if args.all && !ours(&Namespace::path_of(&name)) => continue,
            Err(e) if args.all => {
                not_cleaned.push((name, e));
                continue;
            }
            Err(e @ TopicError::ShmDir { .. }) => return Err(e.into()),
            Err(e) => {
                return Err(e).with_context(|| format!("opening namespace {name}"));
            }
        };
        let mut keep = Vec::new();
        // An e-stop region that cannot be read (corrupt) holds no scheduler
        // (none can follow it either): it is cleaned like any corrupt file.
        if matches!(estop::state(Some(&name)), Ok(Some(_))) {
            keep.push(estop::ESTOP_TOPIC);
        }
        if !args.blackbox {
            keep.extend([BLACKBOX_TOPIC, RARE_TOPIC]);
        }
        // Reading the e-stop joined its topic (and so registered this process
        // in the namespace); we hold nothing there now, so give that up
        // before judging what is left.
        horus::shm::liveness::unregister(&ns);
        let report = clean_namespace_keeping(&ns, true, &keep)
            .with_context(|| format!("cleaning namespace {name}"))?;
        // Also removes the directory if nothing is left in it.
        let dir_removed = report.live.is_empty()
            && report.kept.is_empty()
            && horus::shm::remove_if_unused(&ns).unwrap_or(false);
        reports.push((name, report, dir_removed));
    }
    for (name, e) in &not_cleaned {
        note!("horus: namespace {name} not cleaned: {e}");
    }
    if ctx.json {
        let out: Vec<_> = reports
            .iter()
            .map(|(name, r, dir)| crate::json::CleanedNamespace {
                namespace: name.clone(),
                removed: r.removed.clone(),
                live: r.live.clone(),
                foreign: r.foreign.iter().map(Into::into).collect(),
                kept: r.kept.clone(),
                namespace_removed: *dir,
            })
            .collect();
        crate::json::print(&out)?;
    } else {
        for (name, r, dir) in &reports {
            print_report(name, r, *dir);
        }
    }
    if !not_cleaned.is_empty() {
        return Ok(ExitCode::from(crate::exit::ERROR));
    }
    Ok(ExitCode::SUCCESS)
}

/// Is what stands at `path` (not following a link) ours?
fn ours(path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == rustix::process::geteuid().as_raw())
}

fn print_report(name: &str, r: &CleanReport, dir_removed: bool) {
    let show = crate::names::shown_path;
    if r.removed.is_empty() {
        outln!("namespace {name}: nothing stale");
    }
    for p in &r.removed {
        outln!("removed {}", show(p));
    }
    for p in &r.live {
        outln!("kept {} (held by a live process)", show(p));
    }
    for f in &r.foreign {
        outln!("kept {} ({})", show(&f.path), f.kind);
    }
    for p in &r.kept {
        let why = if p.to_string_lossy().contains(BLACKBOX_TOPIC) {
            "the blackbox; `horus clean --shm --blackbox` removes it"
        } else {
            "the e-stop is engaged; `horus estop --clear` releases it"
        };
        outln!("kept {} ({why})", show(p));
    }
    let dir = Namespace::path_of(name);
    if dir_removed {
        outln!("removed {} (empty)", show(&dir));
    } else if !r.foreign.is_empty() && r.live.is_empty() && r.kept.is_empty() && dir.exists() {
        // Only the foreign files keep it: say so, or the directory stays
        // with nobody told why.
        outln!(
            "kept {} (not empty: it holds the foreign files above, which HORUS does not remove)",
            show(&dir)
        );
    }
}
