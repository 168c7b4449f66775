//! Removing what dead processes left behind, and nothing else.
//!
//! A region file (or a block pool segment file) is removed only when a non-blocking exclusive `flock`
//! succeeds, which means no live process maps it (every user holds a shared
//! lock for as long as it maps the region). The same test decides for
//! half-created `.init.` files (their creator holds an exclusive lock while
//! working) and for `proc/` liveness files (and their temporary `.init.`
//! names). Every removal happens under that lock and only if the name still
//! refers to the locked file (`files::unlink_if_same`), so a live file that
//! replaced a stale one is never removed.
//!
//! Nothing is opened in a way that can block: a FIFO, socket, device or link
//! at one of those names is reported in [`CleanReport::foreign`] with what it
//! is. Foreign files are removed only when asked (`horus clean --shm`), and
//! then only unheld regular files and FIFOs (under their lock, as above);
//! links, sockets and devices are left for a human to remove.
//!
//! A file at a name HORUS never makes (`notes.txt`, a name that is not
//! UTF-8: HORUS makes only UTF-8 names) is not HORUS's at all: it is never
//! opened nor removed, even when asked, only reported
//! ([`ForeignKind::UnknownName`], [`ForeignKind::NotUtf8Name`]; also
//! [`unknown_files`]). It keeps its namespace directory, which is then not
//! empty.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use rustix::fs::{FileType, FlockOperation};

use super::files::{self, Entry};
use super::liveness::{Probe, probe};
use super::namespace::{INIT_PREFIX, Namespace, PROC_DIR, TOPIC_SUFFIX};
use super::pool_file::is_segment_file_name;
use crate::error::TopicError;

/// What a clean found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanReport {
    /// Files removed: stale regions, abandoned `.init.` files, foreign files
    /// if asked, and dead processes' liveness files.
    pub removed: Vec<PathBuf>,
    /// Regions kept because a live process holds them.
    pub live: Vec<PathBuf>,
    /// Files at HORUS names that are not what HORUS puts there, and files
    /// at names HORUS never makes, kept.
    pub foreign: Vec<ForeignFile>,
    /// Unheld regions kept because the caller asked to keep their topics.
    pub kept: Vec<PathBuf>,
}

/// A file at a HORUS name that is not what HORUS puts there, or at a name
/// HORUS never makes, left in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignFile {
    /// The file (its name may not be UTF-8: reports write it with
    /// [`escaped`](super::names::escaped)).
    pub path: PathBuf,
    /// What it is.
    pub kind: ForeignKind,
}

/// What a [`ForeignFile`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForeignKind {
    /// A regular file that is not a HORUS region (removed if asked).
    NotARegion,
    /// A symbolic link (never followed, never removed).
    Symlink,
    /// A FIFO (never opened blockingly; removed if asked).
    Fifo,
    /// A socket (never opened, never removed).
    Socket,
    /// A character or block device (never opened, never removed).
    Device,
    /// A directory (never removed).
    Directory,
    /// It could not be opened (permissions), or is of an unknown kind.
    Unreadable,
    /// Anything at a name HORUS never makes in a namespace (`notes.txt`, a
    /// directory other than `proc/`): never opened, never removed.
    UnknownName,
    /// Anything whose name is not UTF-8, which HORUS never makes: never
    /// opened, never removed.
    NotUtf8Name,
}

impl ForeignKind {
    fn of(kind: FileType) -> Self {
        match kind {
            FileType::RegularFile => Self::NotARegion,
            FileType::Symlink => Self::Symlink,
            FileType::Fifo => Self::Fifo,
            FileType::Socket => Self::Socket,
            FileType::CharacterDevice | FileType::BlockDevice => Self::Device,
            FileType::Directory => Self::Directory,
            _ => Self::Unreadable,
        }
    }
}

impl fmt::Display for ForeignKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotARegion => "not a HORUS region; `horus clean --shm` removes it",
            Self::Symlink => "a symbolic link; remove it by hand",
            Self::Fifo => "a FIFO; `horus clean --shm` removes it",
            Self::Socket => "a socket; remove it by hand",
            Self::Device => "a device file; remove it by hand",
            Self::Directory => "a directory; remove it by hand",
            Self::Unreadable => "unreadable; check its permissions and remove it by hand",
            Self::UnknownName => "a name HORUS never makes; remove it by hand",
            Self::NotUtf8Name => {
                "a name that is not UTF-8 (\\xNN: a byte), which HORUS never makes; \
                 remove it by hand"
            }
        })
    }
}

/// Cleans namespace `ns`: removes stale regions, abandoned `.init.` files and
/// dead processes' liveness files; with `remove_foreign`, also unheld regular
/// files and FIFOs at HORUS names that are not what HORUS puts there.
pub fn clean_namespace(ns: &Namespace, remove_foreign: bool) -> Result<CleanReport, TopicError> {
    clean(ns, remove_foreign, true, &[])
}

/// Removes namespace `ns` if nothing live is in it: [`clean_namespace`]
/// (foreign files included), then [`Namespace::remove_if_empty`]. True if
/// removed. A file at a name HORUS never makes (see the module docs) keeps
/// it: false, and nothing of the namespace is removed but what the clean
/// removed.
pub fn remove_if_unused(ns: &Namespace) -> Result<bool, TopicError> {
    clean_namespace(ns, true)?;
    ns.remove_if_empty()
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
        let name = match horus_name(name, false) {
            Ok(name) => name,
            Err((name, kind)) => {
                report.add_foreign(ns.path().join(name), kind);
                continue;
            }
        };
        let is_topic = name.ends_with(TOPIC_SUFFIX);
        let is_init = name.starts_with(INIT_PREFIX);
        // A block pool segment (`<topic>.pool.<pid>-<nonce>.<n>`): stale, like
        // a region, when no process holds its shared lock (see `pool_file`).
        let is_pool = !is_topic && is_segment_file_name(&name);
        if !is_topic && !is_init && !is_pool {
            continue;
        }
        if !system_too && name.starts_with(super::names::SYSTEM_PREFIX) {
            continue; // e-stop and blackbox outlive their writers (see `system`)
        }
        let path = ns.path().join(&name);
        if is_topic
            && keep
                .iter()
                .any(|k| super::namespace::topic_of_file_name(&name).as_deref() == Some(k))
        {
            report.kept.push(path);
            continue;
        }
        let (fd, st) = match files::open_entry(ns.dir(), &name, false) {
            Ok(Entry::Open(fd, st)) => (fd, st),
            Ok(Entry::Missing) => continue,
            Ok(Entry::Other(kind)) => {
                report.add_foreign(path, ForeignKind::of(kind));
                continue;
            }
            Err(_) => {
                report.add_foreign(path, ForeignKind::Unreadable);
                continue;
            }
        };
        let kind = FileType::from_raw_mode(st.st_mode);
        let foreign = if kind != FileType::RegularFile {
            Some(ForeignKind::of(kind))
        } else if (is_topic && !starts_with_magic(&fd, horus_nostd::layout::MAGIC))
            || (is_pool && !starts_with_magic(&fd, horus_nostd::pool::POOL_MAGIC))
        {
            Some(ForeignKind::NotARegion)
        } else {
            None
        };
        if let Some(kind) = foreign.filter(|_| !remove_foreign) {
            report.add_foreign(path, kind);
            continue;
        }
        if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_err() {
            if is_topic || is_pool {
                log::debug!("clean: kept {} (held by a live process)", path.display());
                report.live.push(path);
            }
            continue;
        }
        // We hold the exclusive lock: no process maps it; the name is removed
        // only if it still refers to this file.
        if files::unlink_if_same(ns.dir(), &name, &st) {
            log::info!(
                "clean: removed {} (no live process held it)",
                path.display()
            );
            report.removed.push(path);
        }
    }
    for name in ns.proc_entries()? {
        let name = match horus_name(name, true) {
            Ok(name) => name,
            Err((name, kind)) => {
                report.add_foreign(ns.path().join(PROC_DIR).join(name), kind);
                continue;
            }
        };
        let path = ns.path().join(PROC_DIR).join(&name);
        match probe(ns, &name) {
            Probe::Removed => report.removed.push(path),
            Probe::Held | Probe::Missing => {}
            Probe::Foreign(FileType::Fifo) if remove_foreign => {
                if remove_fifo(ns, &name) {
                    report.removed.push(path);
                }
            }
            Probe::Foreign(kind) => report.add_foreign(path, ForeignKind::of(kind)),
            Probe::Unknown => report.add_foreign(path, ForeignKind::Unreadable),
        }
    }
    Ok(report)
}

impl CleanReport {
    fn add_foreign(&mut self, path: PathBuf, kind: ForeignKind) {
        log::debug!(
            "clean: kept {} ({kind})",
            super::names::escaped(path.as_os_str())
        );
        self.foreign.push(ForeignFile { path, kind });
    }
}

/// `name` if HORUS makes files so named in a namespace directory (`proc`
/// included) or, with `in_proc`, in its `proc/`; else the name and why it
/// is foreign. Decided on the name alone: what stands at a name HORUS
/// never makes is never opened.
fn horus_name(name: OsString, in_proc: bool) -> Result<String, (OsString, ForeignKind)> {
    let name = name
        .into_string()
        .map_err(|name| (name, ForeignKind::NotUtf8Name))?;
    let ours = if in_proc {
        name.ends_with(".lock") || name.starts_with(INIT_PREFIX)
    } else {
        name == PROC_DIR
            || name.ends_with(TOPIC_SUFFIX)
            || name.starts_with(INIT_PREFIX)
            || is_segment_file_name(&name)
    };
    if ours {
        Ok(name)
    } else {
        Err((name.into(), ForeignKind::UnknownName))
    }
}

/// The files of namespace `ns` (in its directory and its `proc/`) at names
/// HORUS never makes ([`ForeignKind::UnknownName`],
/// [`ForeignKind::NotUtf8Name`]), sorted: no clean removes them, so they
/// are the user's to remove. Nothing is opened. `horus topic list` names
/// them.
pub fn unknown_files(ns: &Namespace) -> Result<Vec<ForeignFile>, TopicError> {
    let mut files = Vec::new();
    for (dir, names, in_proc) in [
        (ns.path().to_owned(), ns.entries()?, false),
        (ns.path().join(PROC_DIR), ns.proc_entries()?, true),
    ] {
        for name in names {
            if let Err((name, kind)) = horus_name(name, in_proc) {
                files.push(ForeignFile {
                    path: dir.join(name),
                    kind,
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Removes the FIFO `proc/<name>` under its lock (asked by `remove_foreign`).
fn remove_fifo(ns: &Namespace, name: &str) -> bool {
    match files::open_entry(ns.proc_dir(), name, false) {
        Ok(Entry::Open(fd, st)) => {
            rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok()
                && files::unlink_if_same(ns.proc_dir(), name, &st)
        }
        _ => false,
    }
}

/// The auto-clean of namespace `namespace`, if it exists: removes what dead
/// processes left, never what a live one holds, and keeps the system topics
/// (e-stop, blackbox, registry) even when no process holds them (unlike
/// [`clean_namespace`]); returns how many files were removed. Every `horus`
/// command runs it on its namespace first, and a
/// [`Scheduler`](crate::Scheduler) on its own when it starts.
pub fn auto_clean(namespace: &str) -> Result<usize, TopicError> {
    match Namespace::open_existing(namespace)? {
        Some(ns) => clean_stale(&ns),
        None => Ok(0),
    }
}

/// [`auto_clean`] of the current namespace (`HORUS_NAMESPACE`).
pub fn clean_stale_current_namespace() -> Result<usize, TopicError> {
    auto_clean(&Namespace::current_name()?)
}

/// The auto-clean of namespace `ns` ([`auto_clean`]), for a namespace
/// already open. A process runs it the first time it
/// opens a namespace for a topic, so a program that only uses topics cleans
/// up after the dead as well as one with a scheduler.
pub(crate) fn clean_stale(ns: &Namespace) -> Result<usize, TopicError> {
    Ok(clean(ns, false, false, &[])?.removed.len())
}

/// Does the file start with `magic` (the HORUS topic or pool magic)?
fn starts_with_magic(fd: &std::os::fd::OwnedFd, magic: u64) -> bool {
    let mut head = [0u8; 8];
    matches!(rustix::io::pread(fd, &mut head, 0), Ok(8)) && u64::from_le_bytes(head) == magic
}
