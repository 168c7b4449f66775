//! Block pool segments as files next to their topic.
//!
//! A publishing process's pool for topic `t` is a set of *segments*, each a
//! [`PoolRegion`] in its own file `<stem>.pool.<pid>-<nonce>.<segment>`
//! (`<stem>` is [`topic_file_stem`], `<pid>-<nonce>` the publisher's
//! liveness identity, as in its `proc/<pid>-<nonce>.lock` file). The name is
//! computed from numbers only, so a receiver maps the segment a descriptor
//! names from the descriptor alone (the publisher's token and the segment
//! id travel in the ring message, see [`crate::image::ImageFrame`]), and a
//! forged descriptor can name at most another segment file of the topic.
//! Segment ids are unique among all the topic's handles of the process and
//! never reused (see [`crate::pool`]), so a name that is taken when a
//! segment is made was planted ([`SegmentError::NameTaken`]).
//!
//! Segments are made like topic regions (see [`super::region_file`]): under a
//! temporary `.init.` name, exclusively locked, `fallocate`-reserved,
//! initialised, shared-locked, then published with `files::publish`. Every
//! process that maps a segment holds a shared `flock` on it for as long as
//! it maps it, so the cleaner (`cleanup.rs`) removes a segment exactly when
//! no process maps it any more: a dead publisher's segment stays readable
//! while a receiver maps it (and so while it holds views of it).
//!
//! The process pool's segments ([`crate::process_pool`]) are made instead
//! without a name ([`create_unnamed`], `O_TMPFILE`), shared-locked from the
//! start, and given their final name, that of a segment of the topic they
//! are first sent on, by [`link`]; segment ids from
//! [`PROCESS_SEGMENT_BASE`](crate::process_pool::PROCESS_SEGMENT_BASE) up.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64 as StdAtomicU64, Ordering as StdOrdering};

use horus_nostd::OwnerToken;
use horus_nostd::pool::{PoolAttachError, PoolLayout, PoolRegion};
use rustix::fs::FlockOperation;

use super::files::{self, Entry};
use super::fork_private;
use super::liveness;
use super::mapping::{MappedWords, Mapping};
use super::names::topic_file_stem;
use super::namespace::{INIT_PREFIX, Namespace, TOPIC_SUFFIX, check_owner, errno_error, no_space};
use crate::error::{FileKind, TopicError};

/// What separates a topic's file stem from a pool segment's identity.
pub const POOL_INFIX: &str = ".pool.";

/// The file name of segment `segment` of `owner`'s pool for `topic`
/// (`%cam%rgb.pool.42-00000abc.3`: see the test below).
pub fn segment_file_name(topic: &str, owner: OwnerToken, segment: u32) -> String {
    let lock = liveness::lock_file_name(owner);
    let id = lock.strip_suffix(".lock").unwrap_or(&lock);
    format!("{}{POOL_INFIX}{id}.{segment}", topic_file_stem(topic))
}

/// The publisher and segment a file name of `topic`'s pool stands for; only
/// the canonical spelling [`segment_file_name`] makes is accepted.
pub fn parse_segment_file_name(topic: &str, name: &str) -> Option<(OwnerToken, u32)> {
    let rest = name
        .strip_prefix(&topic_file_stem(topic))?
        .strip_prefix(POOL_INFIX)?;
    let (id, segment) = rest.rsplit_once('.')?;
    let owner = liveness::token_of_lock_file(&format!("{id}.lock"))?;
    let segment: u32 = segment.parse().ok()?;
    (segment_file_name(topic, owner, segment) == name).then_some((owner, segment))
}

/// Is `name` (an entry of a namespace directory) a pool segment's name?
pub fn is_segment_file_name(name: &str) -> bool {
    name.contains(POOL_INFIX) && !name.ends_with(TOPIC_SUFFIX) && !name.starts_with(INIT_PREFIX)
}

/// The names of the segment files of `topic` in `ns`, with their owners
/// (a name that is not UTF-8 is no segment's: segment names are ASCII).
pub(crate) fn list_segments(
    ns: &Namespace,
    topic: &str,
) -> Result<Vec<(String, OwnerToken, u32)>, TopicError> {
    Ok(ns
        .entries()?
        .into_iter()
        .filter_map(|name| {
            let name = name.into_string().ok()?;
            let (owner, segment) = parse_segment_file_name(topic, &name)?;
            Some((name, owner, segment))
        })
        .collect())
}

/// A mapped pool segment file, shared-locked for as long as it (or a loan
/// or block view of its pool, which share its mapping) lives.
#[derive(Debug)]
pub struct Segment {
    /// Checked when opened to be the segment its name says.
    pool: PoolRegion<MappedWords>,
    owner: OwnerToken,
    /// The fork generation that mapped it ([`liveness::fork_generation`]):
    /// its loans and views, made through handles of that generation, act
    /// on the pool only there (see [`Segment::check_not_inherited`]).
    generation: u64,
    /// The process that mapped it, for the sentence of a misuse after fork.
    pid: u32,
    /// Its slot in the table of segments a fork child maps private
    /// ([`fork_private`]), if it got one.
    fork_slot: Option<usize>,
}

impl Drop for Segment {
    fn drop(&mut self) {
        // Out of the table before the mapping goes (the fields drop after).
        if let Some(slot) = self.fork_slot {
            fork_private::unregister(slot);
        }
    }
}

impl Segment {
    /// The validated pool (loans and views made from it keep the mapping).
    pub fn pool(&self) -> &PoolRegion<MappedWords> {
        &self.pool
    }

    /// The segment file.
    pub fn path(&self) -> &Path {
        self.pool.words().path()
    }

    /// The publisher whose pool this is.
    pub fn owner(&self) -> OwnerToken {
        self.owner
    }

    fn new(pool: PoolRegion<MappedWords>, owner: OwnerToken) -> Self {
        use std::os::fd::AsRawFd;
        let mapping = pool.words().mapping();
        let (addr, len) = mapping.span();
        let fork_slot = fork_private::register(addr, len, mapping.file().as_raw_fd());
        Self {
            pool,
            owner,
            generation: liveness::fork_generation(),
            pid: std::process::id(),
            fork_slot,
        }
    }

    /// Is this the process (fork generation) that mapped the segment? In a
    /// child made by `fork()`, the loans and views it inherited are its
    /// parent's: their holder bits and claims are the parent's, so they must
    /// not be released there, and their bytes may be rewritten as soon as the
    /// parent lets them go, so they must not be read there either.
    #[inline]
    pub(crate) fn mapped_here(&self) -> bool {
        self.generation == liveness::fork_generation()
    }

    /// Panics, with the sentence, unless [`mapped_here`](Self::mapped_here):
    /// the check of every access to a loan's or a view's bytes.
    #[inline]
    pub(crate) fn check_not_inherited(&self, what: &str) {
        if !self.mapped_here() {
            self.inherited(what)
        }
    }

    #[cold]
    #[inline(never)]
    fn inherited(&self, what: &str) -> ! {
        panic!(
            "{what} in pool segment {} was made in process {} before fork(); this process \
             ({}) is a child made by fork(), and the block is still its parent's, which may \
             reuse it at any time: copy the data before forking, or receive and make large \
             messages in the child through its own Topic",
            self.path().display(),
            self.pid,
            std::process::id()
        )
    }

    /// Does nobody but this mapping hold the segment's lock: neither its
    /// publisher (which maps its segments for as long as it may use them,
    /// and never uses one again once it let it go) nor another receiver?
    /// If so, the lock is left exclusive (dropping this segment releases
    /// it); if not, it is shared again, as every mapper's.
    pub(crate) fn held_by_us_alone(&self) -> bool {
        let file = self.pool.words().mapping().file();
        if rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive).is_ok() {
            return true;
        }
        // flock(2) converts by unlocking first, so the failed conversion may
        // have left us without a lock: take the shared one back. A conflict
        // can then only be an exclusive holder (a cleaner, once the others
        // let go): then the segment is no longer in use either.
        files::lock_bounded(file, false, files::LOCK_WAIT).is_err()
    }
}

/// Why a segment could not be opened or made.
#[derive(Debug)]
pub(crate) enum SegmentError {
    /// A file system problem (named file, errno, fix).
    File(TopicError),
    /// The file is not a valid pool segment.
    Corrupt {
        path: PathBuf,
        reason: PoolAttachError,
    },
    /// The header's segment id is not the one its name says.
    WrongId { path: PathBuf, found: u32 },
    /// A new segment's name is taken by a file this process did not make.
    NameTaken { path: PathBuf },
}

impl From<TopicError> for SegmentError {
    fn from(e: TopicError) -> Self {
        Self::File(e)
    }
}

fn attach(words: MappedWords, owner: OwnerToken, id: u32) -> Result<Segment, SegmentError> {
    let path = words.path().to_owned();
    let file_bytes = words.file_bytes();
    let pool = PoolRegion::attach(words).map_err(|reason| SegmentError::Corrupt {
        path: path.clone(),
        // The core saw the file's whole words; its length is what to report.
        reason: match reason {
            PoolAttachError::Truncated { needed, .. } => PoolAttachError::Truncated {
                needed,
                found: file_bytes,
            },
            other => other,
        },
    })?;
    if pool.segment() != id {
        return Err(SegmentError::WrongId {
            path,
            found: pool.segment(),
        });
    }
    Ok(Segment::new(pool, owner))
}

/// How long a receiver, or a tool, waits for a segment's shared lock
/// ([`open`]). A segment its live publisher maps is never locked
/// exclusively: every mapper, its publisher first, holds the shared lock
/// from before the file is named. Only a cleaner's probe of a segment
/// nobody maps (about to be removed: its messages are gone) or a hostile
/// process holds it, so a receive waits a moment, not [`files::LOCK_WAIT`]:
/// a forged descriptor naming a file planted and kept locked must not stall
/// a receive for seconds.
pub(crate) const RECEIVE_LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// What an opener of a segment reads of it, and so has reserved first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The blocks' data too: a receiver.
    Blocks,
    /// The header and the control lines only (64 bytes a block): a reclaim
    /// of dead participants' holds, a tool counting blocks by state.
    Control,
}

/// Opens and maps segment `id` of `owner`'s pool for `topic`, holding its
/// shared lock (waiting for it at most `wait`); `None` if there is no such
/// file (its publisher and every reader are gone and it was cleaned, or it
/// never existed).
///
/// A copy of the header (`pread`) is validated, and the file checked to hold
/// the segment it declares, before anything is reserved or mapped; then the
/// pages `reading` needs are reserved, of the validated geometry: a header
/// that asks for more than its geometry implies, or a file shorter than its
/// segment, costs nothing.
pub(crate) fn open(
    ns: &Namespace,
    topic: &str,
    owner: OwnerToken,
    id: u32,
    wait: std::time::Duration,
    reading: Reading,
) -> Result<Option<Segment>, SegmentError> {
    let name = segment_file_name(topic, owner, id);
    let path = ns.path().join(&name);
    let (fd, st) = match files::open_entry(ns.dir(), &name, true) {
        Ok(Entry::Open(fd, st)) if files::is_regular(&st) => (fd, st),
        Ok(Entry::Missing) => return Ok(None),
        Ok(Entry::Open(_, st)) => {
            let found = FileKind::of(rustix::fs::FileType::from_raw_mode(st.st_mode));
            return Err(TopicError::NotARegularFile { path, found }.into());
        }
        Ok(Entry::Other(kind)) => {
            let found = FileKind::of(kind);
            return Err(TopicError::NotARegularFile { path, found }.into());
        }
        Err(e) => return Err(errno_error(e, &path, "open").into()),
    };
    check_owner(st.st_uid, &path)?;
    files::lock_bounded(&fd, false, wait).map_err(|e| match e {
        rustix::io::Errno::WOULDBLOCK => TopicError::Locked {
            path: path.clone(),
            waited: wait,
        },
        e => errno_error(e, &path, "lock"),
    })?;
    if !files::still_named(ns.dir(), &name, &st) {
        return Ok(None); // removed by a cleaner while we waited
    }
    let file_bytes = usize::try_from(st.st_size).unwrap_or(usize::MAX);
    let (header, words) = files::read_header::<{ horus_nostd::pool::hdr::WORDS }>(&fd);
    let corrupt = |reason| SegmentError::Corrupt {
        path: path.clone(),
        reason,
    };
    let layout = match PoolLayout::from_header(&header[..words]) {
        Ok(layout) if layout.region_bytes() <= file_bytes => layout,
        Ok(layout) => {
            let (needed, found) = (layout.region_bytes(), file_bytes);
            return Err(corrupt(PoolAttachError::Truncated { needed, found }));
        }
        Err(PoolAttachError::Truncated { needed, .. }) => {
            let found = file_bytes;
            return Err(corrupt(PoolAttachError::Truncated { needed, found }));
        }
        Err(reason) => return Err(corrupt(reason)),
    };
    // Reserve the pages (keeps size and data) so a sparse file on a full
    // tmpfs is an error now, not a SIGBUS when they are read.
    let len = match reading {
        Reading::Blocks => layout.region_bytes(),
        Reading::Control => layout.data_offset(),
    };
    match rustix::fs::fallocate(&fd, rustix::fs::FallocateFlags::empty(), 0, len as u64) {
        Ok(()) | Err(rustix::io::Errno::OPNOTSUPP) => {}
        Err(e) => {
            return Err(match errno_error(e, &path, "reserve") {
                TopicError::NoSpace { path, .. } => no_space(fd.as_fd(), &path, len),
                other => other,
            }
            .into());
        }
    }
    let words = Mapping::new(fd, layout.region_bytes(), &path, "map pool segment")?.into_words();
    let segment = attach(words, owner, id)?;
    if *segment.pool().layout() != layout {
        // Rewritten since we read its header (by a process of ours): refuse.
        let field = "region_words";
        return Err(corrupt(PoolAttachError::BadGeometry { field }));
    }
    Ok(Some(segment))
}

/// Reserves `layout`'s bytes in the new, empty file `fd` (at `path` now,
/// mapped as `final_path`), maps it and initialises it as segment `id`.
fn init_file(
    fd: rustix::fd::OwnedFd,
    layout: PoolLayout,
    id: u32,
    path: &Path,
    final_path: &Path,
) -> Result<PoolRegion<MappedWords>, TopicError> {
    let bytes = layout.region_bytes();
    rustix::fs::fallocate(&fd, rustix::fs::FallocateFlags::empty(), 0, bytes as u64).map_err(
        |e| match errno_error(e, path, "reserve") {
            TopicError::NoSpace { path, .. } => no_space(fd.as_fd(), &path, bytes),
            other => other,
        },
    )?;
    let words = Mapping::new(fd, bytes, final_path, "map pool segment")?.into_words();
    // A new file (`O_EXCL` or `O_TMPFILE`, just reserved): its pages read
    // as zeros, so only the header and control lines are written. The data
    // pages are touched (faulted in, mapped) only when a block is used,
    // not all at creation (a 4 MiB-tensor segment is 32 MiB), and a
    // block's first loan is still zeros, as `Image::new` relies on.
    PoolRegion::init_zeroed(
        words,
        layout.block_size(),
        layout.blocks(),
        id,
        crate::time::now_ns(),
    )
    .map_err(|e| TopicError::Io {
        path: path.to_owned(),
        op: "initialise pool segment",
        error: std::io::Error::other(e.to_string()),
    })
}

/// Creates segment `id` of this process's (`owner`'s) pool for `topic`:
/// `blocks` blocks of `block_size` bytes, published under its final name
/// only once initialised and locked.
pub(crate) fn create(
    ns: &Namespace,
    topic: &str,
    owner: OwnerToken,
    id: u32,
    layout: PoolLayout,
) -> Result<Segment, SegmentError> {
    static SERIAL: StdAtomicU64 = StdAtomicU64::new(0);
    let name = segment_file_name(topic, owner, id);
    let path = ns.path().join(&name);
    // A pass fails only when a cleaner removed our temporary file, or
    // something stood at its name.
    for _ in 0..8 {
        let serial = SERIAL.fetch_add(1, StdOrdering::Relaxed);
        let tmp = format!("{INIT_PREFIX}{name}.{serial}");
        let tmp_path = ns.path().join(&tmp);
        // Exclusive while initialising: cleaners skip locked `.init.` files.
        // Something already at the name (a leftover of a dead process of our
        // pid, something planted) is left alone: the next pass has another.
        let (fd, st) = match files::create_locked_temp(ns.dir(), &tmp) {
            Ok(Some(made)) => made,
            Ok(None) | Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(errno_error(e, &tmp_path, "create").into()),
        };
        // Keeps our lock held if mapping fails and closes `fd` (close-on-exec:
        // a program spawned meanwhile must not keep the lock).
        let keep = match files::dup_cloexec(&fd) {
            Ok(keep) => keep,
            Err(e) => {
                // (Under our exclusive lock, which `fd` still holds.)
                files::unlink_if_same(ns.dir(), &tmp, &st);
                return Err(errno_error(e, &tmp_path, "dup").into());
            }
        };
        let made = init_file(fd, layout, id, &tmp_path, &path);
        let pool = match made {
            Ok(m) => m,
            Err(e) => {
                files::unlink_if_same(ns.dir(), &tmp, &st);
                return Err(e.into());
            }
        };
        drop(keep);
        // Converting to shared unlocks first: a cleaner may remove the
        // temporary name meanwhile (then `publish` says NOENT: start over).
        let file = pool.words().mapping().file();
        files::lock_bounded(file, false, files::LOCK_WAIT).map_err(|e| match e {
            rustix::io::Errno::WOULDBLOCK => TopicError::Locked {
                path: tmp_path.clone(),
                waited: files::LOCK_WAIT,
            },
            e => errno_error(e, &tmp_path, "lock"),
        })?;
        match files::publish(ns.dir(), &tmp, &name, &st) {
            Ok(()) => {
                log::debug!("pool of {topic}: created {}", path.display());
                return Ok(Segment::new(pool, owner));
            }
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => {
                if rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive).is_ok() {
                    files::unlink_if_same(ns.dir(), &tmp, &st);
                }
                // EXIST: no handle of this process made that name (ids are
                // never reused, see `crate::pool`): a file planted there.
                if e == rustix::io::Errno::EXIST {
                    return Err(SegmentError::NameTaken { path });
                }
                return Err(errno_error(e, &path, "publish pool segment").into());
            }
        }
    }
    Err(TopicError::Io {
        path,
        op: "create pool segment (kept being removed under us)",
        error: std::io::ErrorKind::WouldBlock.into(),
    }
    .into())
}

/// Creates segment `id` of this process's *process pool* (see
/// [`crate::process_pool`]): an unnamed file (`O_TMPFILE`) in the base
/// directory of the namespaces, shared-locked by us, of `layout`. Nobody
/// else can see it until [`link`] names it after a topic; if this process
/// dies first, the kernel frees it with the process's descriptors, so it
/// can never be left behind.
pub(crate) fn create_unnamed(
    owner: OwnerToken,
    id: u32,
    layout: PoolLayout,
) -> Result<Segment, SegmentError> {
    let base = Namespace::usable_base_dir()?;
    let path = base.join(format!("(unnamed process pool segment {id})"));
    let flags =
        rustix::fs::OFlags::TMPFILE | rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC;
    let mode = rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR;
    let fd = rustix::fs::openat(rustix::fs::CWD, &base, flags, mode)
        .map_err(|e| super::namespace::base_error(&base, errno_error(e, &path, "create")))?;
    // Shared from the start, as every mapper's: a cleaner that finds the
    // file once it is named sees it held. (A fresh inode: nobody else can
    // hold an exclusive lock on it.)
    rustix::fs::flock(&fd, FlockOperation::NonBlockingLockShared)
        .map_err(|e| errno_error(e, &path, "lock"))?;
    let pool = init_file(fd, layout, id, &path, &path)?;
    Ok(Segment::new(pool, owner))
}

/// Gives an unnamed segment of [`create_unnamed`] its name as segment of
/// its owner's pool for `topic` in `ns` (a hard link from
/// `/proc/self/fd`, which never replaces an existing name). From then on
/// it is, for every other process, one of `topic`'s pool segments: mapped
/// by receivers from descriptors, reclaimed with the topic's dead
/// participants, removed by cleaners once nobody holds its lock (we hold
/// ours while we map it, so it is never visible unlocked). Fails with
/// `XDEV` if the namespace is on another file system, `EXIST` if the
/// name is taken.
pub(crate) fn link(
    segment: &Segment,
    ns: &Namespace,
    topic: &str,
) -> Result<(), rustix::io::Errno> {
    use std::os::fd::AsRawFd;
    let name = segment_file_name(topic, segment.owner, segment.pool.segment());
    let file = segment.pool.words().mapping().file();
    let from = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(
        rustix::fs::CWD,
        from.as_str(),
        ns.dir(),
        name.as_str(),
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_belong_to_one_topic() {
        let t = OwnerToken::new(42 << 32 | 0xabc).unwrap();
        assert_eq!(
            segment_file_name("/cam/rgb", t, 3),
            "%cam%rgb.pool.42-00000abc.3"
        );
        let name = "%cam%rgb.pool.42-00000abc.3";
        assert_eq!(parse_segment_file_name("/cam/rgb", name), Some((t, 3)));
        assert_eq!(parse_segment_file_name("/cam", name), None);
        assert!(is_segment_file_name(name));
    }
}
