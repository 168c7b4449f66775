//! Removing what dead processes left behind, and nothing else.
//!
//! A region file is removed only when a non-blocking exclusive `flock`
//! succeeds, which means no live process maps it (every user holds a shared
//! lock for as long as it maps the region). The same test decides for
//! half-created `.init.` files (their creator holds an exclusive lock while
//! working) and for `proc/` liveness files. Files at topic paths that are not
//! HORUS regions are reported as foreign and removed only when asked
//! (`horus clean --shm`), never implicitly.

use std::path::PathBuf;

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};

use super::liveness::probe_lock_file;
use super::namespace::{INIT_PREFIX, Namespace, TOPIC_SUFFIX};
use crate::error::TopicError;

/// What a clean found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanReport {
    /// Files removed: stale regions, abandoned `.init.` files, foreign files
    /// if asked, and dead processes' liveness files.
    pub removed: Vec<PathBuf>,
    /// Regions kept because a live process holds them.
    pub live: Vec<PathBuf>,
    /// Files at topic paths that are not HORUS regions, kept (not asked to remove).
    pub foreign: Vec<PathBuf>,
    /// Unheld regions kept because the caller asked to keep their topics.
    pub kept: Vec<PathBuf>,
}

/// Cleans namespace `ns`: removes stale regions, abandoned `.init.` files and
/// dead processes' liveness files; with `remove_foreign`, also unheld files
/// at topic paths that are not HORUS regions.
pub fn clean_namespace(ns: &Namespace, remove_foreign: bool) -> Result<CleanReport, TopicError> {
    clean(ns, remove_foreign, true, &[])
}

/// [`clean_namespace`], but the regions of the topics named in `keep` are
/// kept even when nobody holds them (reported in [`CleanReport::kept`]):
/// `horus clean --shm` keeps an engaged e-stop and the blackbox this way.
pub fn clean_namespace_keeping(
    ns: &Namespace,
    remove_foreign: bool,
    keep: &[&str],
) -> Result<CleanReport, TopicError> {
    clean(ns, remove_foreign, true, keep)
}

fn clean(
    ns: &Namespace,
    remove_foreign: bool,
    system_too: bool,
    keep: &[&str],
) -> Result<CleanReport, TopicError> {
    let mut report = CleanReport::default();
    for name in ns.entries()? {
        let is_topic = name.ends_with(TOPIC_SUFFIX);
        let is_init = name.starts_with(INIT_PREFIX);
        if !is_topic && !is_init {
            continue;
        }
        if !system_too && name.starts_with(crate::system::SYSTEM_PREFIX) {
            continue; // e-stop and blackbox outlive their writers (see `system`)
        }
        let path = ns.path().join(&name);
        if is_topic
            && keep
                .iter()
                .any(|k| name.strip_suffix(TOPIC_SUFFIX) == Some(k))
        {
            report.kept.push(path);
            continue;
        }
        let Ok(fd) = rustix::fs::openat(
            ns.dir(),
            name.as_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            // A link or an unreadable file: foreign, never followed.
            report.foreign.push(path);
            continue;
        };
        let regular = rustix::fs::fstat(&fd)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile);
        if !regular {
            report.foreign.push(path);
            continue;
        }
        if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_err() {
            if is_topic {
                report.live.push(path);
            }
            continue;
        }
        if is_topic && !is_horus_region(&fd) && !remove_foreign {
            report.foreign.push(path);
            continue;
        }
        // We hold the exclusive lock: no process maps it, and an opener that
        // raced us re-checks the name after its lock and starts over.
        if rustix::fs::unlinkat(ns.dir(), name.as_str(), AtFlags::empty()).is_ok() {
            report.removed.push(path);
        }
    }
    for name in ns.proc_entries()? {
        if name.ends_with(".lock") && !probe_lock_file(ns, &name) {
            report
                .removed
                .push(ns.path().join(super::namespace::PROC_DIR).join(name));
        }
    }
    Ok(report)
}

/// Cleans the current namespace (`HORUS_NAMESPACE`) if it exists; returns
/// how many files were removed. What `Scheduler::new()` and every `horus`
/// command run first. Unlike [`clean_namespace`], it keeps the system topics
/// (e-stop, blackbox, registry) even when no process holds them.
pub fn clean_stale_current_namespace() -> Result<usize, TopicError> {
    match Namespace::open_existing(&Namespace::current_name())? {
        Some(ns) => clean_stale(&ns),
        None => Ok(0),
    }
}

/// The auto-clean of namespace `ns`: what [`clean_stale_current_namespace`]
/// does, for a namespace already open. A process runs it the first time it
/// opens a namespace for a topic, so a program that only uses topics cleans
/// up after the dead as well as one with a scheduler.
pub(crate) fn clean_stale(ns: &Namespace) -> Result<usize, TopicError> {
    Ok(clean(ns, false, false, &[])?.removed.len())
}

/// Does the file start with the HORUS topic magic?
fn is_horus_region(fd: &std::os::fd::OwnedFd) -> bool {
    let mut head = [0u8; 8];
    matches!(rustix::io::pread(fd, &mut head, 0), Ok(8))
        && u64::from_le_bytes(head) == horus_nostd::layout::MAGIC
}
