//! One topic region as a file in the namespace, mapped into this process.
//!
//! **Creating** never shows a half-made region: the creator writes the region
//! under a temporary name (`.init.<topic>.<pid>-<nonce>.<n>`, exclusively locked),
//! reserves the memory of its header and tables with `fallocate` (so a full
//! `/dev/shm` is an `ENOSPC` error now, not a `SIGBUS` later), initialises
//! it, takes the shared lock,
//! and renames it to `<topic>.topic` without replacing (`files::publish`).
//! The rename fails if the name exists, so of two racing creators exactly one
//! wins; the other removes its temporary file and opens the winner's region.
//!
//! **Using**: every process that maps a region holds a shared `flock` on it.
//! A region nobody holds a lock on is stale (all its users died or left): a
//! non-blocking exclusive lock succeeds only then. Opening a stale region
//! whose type or geometry does not fit replaces it; a live one gives a typed
//! error. A file that is not a HORUS region (random bytes, empty, other
//! version) is never removed implicitly: it is an error naming the file and
//! `horus clean --shm`.
//!
//! **Opening** never blocks on what it finds: the file is opened with
//! `O_NONBLOCK` and refused unless it is a regular file of ours
//! ([`TopicError::NotARegularFile`], [`TopicError::PermissionDenied`]); the
//! shared lock is waited for at most [`files::LOCK_WAIT`] (then
//! [`TopicError::Locked`], naming the file and how to find the holder). After
//! taking its shared lock an opener checks that the path still names the
//! file it opened (a cleaner may have removed it in between) and starts over
//! if not. It then validates a copy of the header (`files::read_header`,
//! `TopicLayout::from_header`: every field against the geometry it implies)
//! and checks that the file holds the region it declares; a file that is
//! not a valid region is refused there, having cost nothing. Only then
//! does it reserve the pages of the header and tables (`fallocate` mode 0,
//! which keeps size and data; at most 17 KiB by the validated geometry), so
//! a sparse region on a full tmpfs is [`TopicError::NoSpace`], not a
//! `SIGBUS` when they are read, and map the validated region's bytes, no
//! more.
//!
//! **Memory follows the publishers**: a region file is sparse. Its creator
//! reserves the header and tables; each publisher lane is reserved by the
//! first handle that claims it, at its first send, before anyone touches it
//! (`MappedWords::reserve`; receivers read only claimed lanes). So a topic
//! with one publisher costs one lane however many it has room for, and a
//! full `/dev/shm` refuses that send (`Refusal::NoMemory`) instead of
//! raising `SIGBUS`.
//! Limit: a region *truncated* by another process while we map it still
//! raises `SIGBUS` on access; no file system call prevents that on tmpfs
//! (see `docs/decisions.md`).
//!
//! Every removal (a stale region being replaced, a temporary file) happens
//! under the exclusive lock of the file and only if the name still refers to
//! it (`files::unlink_if_same`).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64 as StdAtomicU64, Ordering as StdOrdering};

use horus_nostd::layout::hdr;
use horus_nostd::{AttachError, TopicLayout, TopicRegion};
use rustix::fs::FlockOperation;

use super::files::{self, Entry};
use super::mapping::{MappedWords, Mapping};
use super::namespace::{INIT_PREFIX, Namespace, check_owner, errno_error, no_space};
use crate::error::{FileKind, TopicError};
use crate::message_type::MessageType;

/// Geometry a topic is created with (and, where `explicit`, must have).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub capacity: u32,
    pub participants: u32,
    /// Publisher lanes (`max_publishers`).
    pub publishers: u32,
    pub capacity_explicit: bool,
    pub participants_explicit: bool,
    pub publishers_explicit: bool,
}

/// A topic region in a mapped file: what `open_or_create` and
/// [`open_existing`] return, validated. Handles joined to it keep the file
/// mapped (and locked) for as long as they live.
pub type MappedRegion = TopicRegion<MappedWords>;

/// Opens the region file of `topic` for message type `ty`, creating it if
/// absent and replacing it if stale and unfit.
pub(crate) fn open_or_create(
    ns: &Namespace,
    topic: &str,
    geometry: Geometry,
    ty: &MessageType,
) -> Result<MappedRegion, TopicError> {
    let file_name = super::namespace::topic_file_name(topic);
    let path = ns.topic_path(topic);
    // Each pass either returns or observed a change made by another process
    // (a racing creator, a cleaner); a handful of passes always suffices.
    for _ in 0..16 {
        let (fd, layout) = match open_locked(ns, &file_name, &path, files::LOCK_WAIT)? {
            Opened::Locked(fd, layout) => (fd, layout),
            Opened::Invalid(e, file_bytes) => {
                return Err(TopicError::from_attach(
                    e,
                    &path,
                    file_bytes,
                    topic,
                    ty.name(),
                ));
            }
            Opened::Missing => match create(ns, topic, &file_name, geometry, ty)? {
                Some(region) => return Ok(region),
                None => continue, // another creator won, or a cleaner raced us
            },
            Opened::Replaced => continue,
        };
        let Some(region) = map_validated(fd, layout, &path, topic, ty.name())? else {
            continue; // its header changed since we read it
        };
        let Err(problem) = check_fits(&region, topic, geometry, ty) else {
            return Ok(region);
        };
        // A valid region of the wrong type or geometry: replace it if nobody uses it.
        if !try_remove_stale(ns, &file_name, &region) {
            return Err(problem);
        }
    }
    Err(TopicError::Io {
        path,
        op: "open (kept changing under us)",
        error: std::io::ErrorKind::WouldBlock.into(),
    })
}

/// What opening an existing region file found.
enum Opened {
    /// Opened, shared-locked, still named by its path, its header valid and
    /// the file as long as the region it declares; its tables reserved.
    Locked(OwnedFd, TopicLayout),
    /// Not a valid region (the file's size with the reason): refused before
    /// anything was reserved or mapped.
    Invalid(AttachError, usize),
    /// No file at the path.
    Missing,
    /// Removed or replaced while we waited for the lock: try again.
    Replaced,
}

/// Opens `file_name` without following links or blocking (see
/// `files::open_entry`), checks it is a regular file of ours, takes the
/// shared lock every user holds (waiting at most `wait` for an exclusive
/// holder), checks it is still named, validates a copy of its
/// header (`pread`) and that the file holds the region it declares, and
/// only then reserves the pages of the header and tables the validated
/// geometry places before the lanes (at most 17 KiB: 64 participant and 64
/// lane entries, 128 schema entries). A header that asks for more than its
/// geometry implies, or a file shorter than its region, costs nothing.
fn open_locked(
    ns: &Namespace,
    file_name: &str,
    path: &Path,
    wait: std::time::Duration,
) -> Result<Opened, TopicError> {
    let (fd, st) = match files::open_entry(ns.dir(), file_name, true) {
        Ok(Entry::Open(fd, st)) if files::is_regular(&st) => (fd, st),
        Ok(Entry::Missing) => return Ok(Opened::Missing),
        Ok(Entry::Open(_, st)) => {
            return Err(TopicError::NotARegularFile {
                path: path.to_owned(),
                found: FileKind::of(rustix::fs::FileType::from_raw_mode(st.st_mode)),
            });
        }
        Ok(Entry::Other(kind)) => {
            return Err(TopicError::NotARegularFile {
                path: path.to_owned(),
                found: FileKind::of(kind),
            });
        }
        Err(e) => return Err(errno_error(e, path, "open")),
    };
    check_owner(st.st_uid, path)?;
    files::lock_bounded(&fd, false, wait).map_err(|e| match e {
        rustix::io::Errno::WOULDBLOCK => TopicError::Locked {
            path: path.to_owned(),
            waited: wait,
        },
        e => errno_error(e, path, "lock"),
    })?;
    if !files::still_named(ns.dir(), file_name, &st) {
        return Ok(Opened::Replaced);
    }
    let file_bytes = usize::try_from(st.st_size).unwrap_or(usize::MAX);
    let (header, words) = files::read_header::<{ hdr::WORDS }>(&fd);
    let layout = match TopicLayout::from_header(&header[..words]) {
        Ok(layout) if layout.region_bytes() <= file_bytes => layout,
        Ok(layout) => {
            let needed = layout.region_bytes();
            let found = file_bytes;
            return Ok(Opened::Invalid(
                AttachError::Truncated { needed, found },
                found,
            ));
        }
        Err(e) => return Ok(Opened::Invalid(e, file_bytes)),
    };
    reserve(&fd, layout.lanes_offset(), path)?;
    Ok(Opened::Locked(fd, layout))
}

/// Maps the region `layout` (validated from a copy of the file's header by
/// [`open_locked`]) and attaches to it; `None` if the header in the mapping
/// declares another layout (another process rewrote it since): the caller
/// opens the file again.
fn map_validated(
    fd: OwnedFd,
    layout: TopicLayout,
    path: &Path,
    topic: &str,
    expected: &str,
) -> Result<Option<MappedRegion>, TopicError> {
    let words = Mapping::new(fd, layout.region_bytes(), path, "map")?.into_words();
    let region = TopicRegion::attach_with(words.clone(), None)
        .map_err(|e| TopicError::from_attach(e, path, words.file_bytes(), topic, expected))?;
    Ok((*region.layout() == layout).then_some(region))
}

/// Reserves the pages of the file's first `len` bytes (`fallocate` mode 0,
/// which never changes the size or the data), so that touching them later
/// cannot `SIGBUS` for want of memory: a sparse region on a full tmpfs is
/// [`TopicError::NoSpace`] here instead. A region's lanes are reserved by
/// their publishers (`MappedWords::reserve`).
fn reserve(fd: &OwnedFd, len: usize, path: &Path) -> Result<(), TopicError> {
    if len == 0 {
        return Ok(());
    }
    match rustix::fs::fallocate(fd, rustix::fs::FallocateFlags::empty(), 0, len as u64) {
        // A file system that cannot reserve (not tmpfs) backs pages otherwise.
        Ok(()) | Err(rustix::io::Errno::OPNOTSUPP) => Ok(()),
        Err(e) => Err(match errno_error(e, path, "reserve") {
            TopicError::NoSpace { path, .. } => no_space(fd.as_fd(), &path, len),
            other => other,
        }),
    }
}

/// How long a tool looking at a region ([`open_existing`] from
/// `horus topic list`, `info`, the monitor) waits for a process holding it
/// exclusively. Only a cleaner removing it (for microseconds) or a
/// process replacing it (the same) does so legitimately: longer is a
/// stopped or hostile process, which a tool reports ([`TopicError::Locked`])
/// rather than waiting [`files::LOCK_WAIT`] for each such file.
pub const INSPECT_LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// Opens the existing region of `topic`, whatever its type, waiting at
/// most `wait` for an exclusive holder ([`files::LOCK_WAIT`] to join it,
/// [`INSPECT_LOCK_WAIT`] to look at it); `None` if there is no such topic.
/// Never creates or replaces anything.
pub fn open_existing(
    ns: &Namespace,
    topic: &str,
    wait: std::time::Duration,
) -> Result<Option<MappedRegion>, TopicError> {
    let file_name = super::namespace::topic_file_name(topic);
    let path = ns.topic_path(topic);
    for _ in 0..16 {
        match open_locked(ns, &file_name, &path, wait)? {
            Opened::Missing => return Ok(None),
            Opened::Replaced => continue,
            Opened::Invalid(e, file_bytes) => {
                return Err(TopicError::from_attach(e, &path, file_bytes, topic, ""));
            }
            Opened::Locked(fd, layout) => {
                if let Some(region) = map_validated(fd, layout, &path, topic, "")? {
                    return Ok(Some(region));
                }
            }
        }
    }
    Ok(None)
}

/// Creates, initialises and publishes the region; `None` if another process
/// published one first.
fn create(
    ns: &Namespace,
    topic: &str,
    file_name: &str,
    geometry: Geometry,
    ty: &MessageType,
) -> Result<Option<MappedRegion>, TopicError> {
    static SERIAL: StdAtomicU64 = StdAtomicU64::new(0);
    let layout = ty
        .layout(
            geometry.capacity,
            geometry.participants,
            geometry.publishers,
        )
        .map_err(TopicError::Layout)?;
    // The process's pid and nonce (as in its liveness file) and a serial:
    // unique to this process, and not its pid alone, which a dead
    // process's leftover may have had.
    let owner = super::liveness::own_token().get();
    let serial = SERIAL.fetch_add(1, StdOrdering::Relaxed);
    let tmp_name = format!(
        "{INIT_PREFIX}{}.{}-{:08x}.{serial}",
        super::names::topic_file_stem(topic),
        owner >> 32,
        owner & 0xffff_ffff
    );
    let tmp_path = ns.path().join(&tmp_name);
    // Exclusive while initialising: cleaners skip locked `.init.` files. A
    // cleaner that locked it first removes it, and anything already at the
    // name (a leftover, something planted) is left alone: either way the
    // caller looks again, and the next try has another serial.
    let (fd, st) = match files::create_locked_temp(ns.dir(), &tmp_name) {
        Ok(Some(made)) => made,
        Ok(None) | Err(rustix::io::Errno::EXIST) => return Ok(None),
        Err(e) => return Err(errno_error(e, &tmp_path, "create")),
    };
    // A second descriptor of the same open file keeps our lock held until
    // the temporary name is dealt with, even if mapping fails and closes `fd`;
    // close-on-exec, or a program spawned meanwhile would keep the lock.
    let keep = match files::dup_cloexec(&fd) {
        Ok(keep) => keep,
        Err(e) => {
            // (Under our exclusive lock, which `fd` still holds.)
            files::unlink_if_same(ns.dir(), &tmp_name, &st);
            return Err(errno_error(e, &tmp_path, "dup"));
        }
    };
    let bytes = layout.region_bytes();
    let result = (|| {
        // Sparse: the header and tables are reserved now, each lane by the
        // first handle that publishes in it (`MappedWords::reserve`).
        rustix::fs::ftruncate(&fd, bytes as u64).map_err(|e| errno_error(e, &tmp_path, "size"))?;
        reserve(&fd, layout.lanes_offset(), &tmp_path)?;
        let words = Mapping::new(fd, bytes, &ns.topic_path(topic), "map")?.into_words();
        let now = crate::time::now_ns();
        match ty.serialized_schema() {
            Some(schema) => TopicRegion::init_serialized(words, layout, ty.info(), schema, now),
            None => TopicRegion::init_with(words, layout, ty.info(), ty.fields(), now),
        }
        .map_err(|e| TopicError::Io {
            path: tmp_path.clone(),
            op: "initialise",
            error: std::io::Error::other(e.to_string()),
        })
    })();
    let region = match result {
        Ok(m) => m,
        Err(e) => {
            files::unlink_if_same(ns.dir(), &tmp_name, &st);
            return Err(e);
        }
    };
    drop(keep);
    log::debug!(
        "topic {topic} ({}): creating {}",
        ty.name(),
        ns.topic_path(topic).display()
    );
    publish_created(ns, &tmp_name, file_name, &st, region)
}

/// Publishes the initialised region, exclusively locked under
/// `tmp_name` (inode `st`), as `file_name`, holding the shared lock of a
/// user; `None` if another creator published first or a cleaner removed it.
fn publish_created(
    ns: &Namespace,
    tmp_name: &str,
    file_name: &str,
    st: &rustix::fs::Stat,
    region: MappedRegion,
) -> Result<Option<MappedRegion>, TopicError> {
    let tmp_path = ns.path().join(tmp_name);
    let file = region.words().mapping().file();
    // flock converts by unlocking first: a cleaner may take the exclusive
    // lock in between and remove the temporary name (then `publish` fails
    // with NOENT and the caller looks again).
    files::lock_bounded(file, false, files::LOCK_WAIT).map_err(|e| match e {
        rustix::io::Errno::WOULDBLOCK => TopicError::Locked {
            path: tmp_path,
            waited: files::LOCK_WAIT,
        },
        e => errno_error(e, &tmp_path, "lock"),
    })?;
    match files::publish(ns.dir(), tmp_name, file_name, st) {
        Ok(()) => Ok(Some(region)),
        // NOENT: a cleaner removed our `.init.` file. The caller looks again.
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => {
            // EXIST: another creator published first; the caller opens its
            // region. Our file was never visible under the topic's name.
            if rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive).is_ok() {
                files::unlink_if_same(ns.dir(), tmp_name, st);
            }
            match e {
                rustix::io::Errno::EXIST => Ok(None),
                e => Err(errno_error(e, &ns.path().join(file_name), "publish region")),
            }
        }
    }
}

/// Removes `region` (named `file_name`, mapped and shared-locked by us) if
/// no other process uses it; true if nobody does (the name is then removed
/// if it still names this file), false if a live process has a handle on it.
///
/// Other processes may hold the region's lock without using it: a process
/// replacing the same stale region at the same moment (it opened it too),
/// a tool inspecting it. They let go at once, so while the region has no
/// live participant the exclusive lock is retried (for at most
/// [`files::LOCK_WAIT`]) rather than tried once: tried once, of several
/// processes replacing one stale region together all but the last failed
/// with a type mismatch against "a running process" that did not exist. (On
/// Linux a failed upgrade of our shared lock releases it, so replacers
/// cannot wait for each other.) A participant is taken to be alive when it
/// is seen alive at two looks at least [`ALIVE_APART`] apart: a liveness
/// probe by another process holds a dead process's lock file for a moment,
/// which one look takes for its owner, and so can two looks in a row when
/// several replacers probe it together (under qemu, 2026-12-06: a replacer
/// failed with a type mismatch in the first round, before the dead
/// holder's lock file was removed).
fn try_remove_stale(ns: &Namespace, file_name: &str, region: &MappedRegion) -> bool {
    let fd = region.words().mapping().file().as_fd();
    let Ok(st) = rustix::fs::fstat(fd) else {
        return false;
    };
    let in_use = || {
        region
            .participants()
            .any(|p| p.owner.is_some_and(|t| super::liveness::is_alive(ns, t)))
    };
    let deadline = std::time::Instant::now() + files::LOCK_WAIT;
    let mut pause = std::time::Duration::from_micros(50);
    let mut first_seen_in_use: Option<std::time::Instant> = None;
    loop {
        match rustix::fs::flock(fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break,
            Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
        if in_use() {
            let first = *first_seen_in_use.get_or_insert_with(std::time::Instant::now);
            if first.elapsed() >= ALIVE_APART {
                return false;
            }
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(20));
    }
    files::unlink_if_same(ns.dir(), file_name, &st);
    true
}

/// How far apart two looks must both see a participant alive for
/// [`try_remove_stale`] to take it as alive: far longer than another
/// process's liveness probe holds a lock file.
const ALIVE_APART: std::time::Duration = std::time::Duration::from_millis(5);

/// Does the validated `region` of `topic` fit a handle of `ty` that asks
/// for geometry `g`: the same type (identity, size, alignment) and, where
/// the geometry was set explicitly, the same capacity, participants and
/// publisher lanes? The
/// one check of both, whether the region was just opened or already mapped.
pub(crate) fn check_fits(
    region: &MappedRegion,
    topic: &str,
    g: Geometry,
    ty: &MessageType,
) -> Result<(), TopicError> {
    let (found, want) = (region.type_info(), ty.info());
    if found.id != want.id || found.size != want.size || found.align != want.align {
        return Err(TopicError::TypeMismatch {
            topic: topic.to_owned(),
            expected: ty.name().to_owned(),
            same_name: found.name.as_str() == ty.name(),
            found: found.name.to_string(),
            path: region.words().path().to_owned(),
        });
    }
    let l = region.layout();
    let mismatch = |what, requested, existing| TopicError::GeometryMismatch {
        topic: topic.to_owned(),
        what,
        requested,
        existing,
    };
    if g.capacity_explicit && l.capacity() != g.capacity {
        return Err(mismatch("capacity", g.capacity, l.capacity()));
    }
    if g.participants_explicit && l.participants() != g.participants {
        return Err(mismatch(
            "max_participants",
            g.participants,
            l.participants(),
        ));
    }
    if g.publishers_explicit && l.max_publishers() != g.publishers {
        return Err(mismatch("max_publishers", g.publishers, l.max_publishers()));
    }
    Ok(())
}
