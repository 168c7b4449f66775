//! Opening, publishing and removing the files of a namespace without
//! trusting what stands at a name.
//!
//! Anyone who can write the namespace directory (a crashed run, a confused
//! script, a hostile process of the same user) can leave anything at any
//! name: a FIFO, a socket, a device, a link, or a file that is replaced
//! between two system calls. Every file access of `shm` goes through here:
//!
//! - `open_entry` never blocks and never follows a link: it looks first
//!   (`statat`, no follow) and opens only regular files and FIFOs, with
//!   `O_NONBLOCK | O_NOCTTY | O_NOFOLLOW`, then checks the descriptor's own
//!   `fstat`. Sockets, devices, directories and links are never opened.
//! - `unlink_if_same` removes a name only if it still refers to the inode
//!   the caller holds the exclusive `flock` of. Every remover in HORUS takes
//!   that lock first, and a name is only ever bound by `publish` onto an
//!   absent name; so while we hold the lock and the name refers to our inode,
//!   nobody else can remove or rebind it, and the unlink removes exactly the
//!   file we locked, never a live file that replaced it.
//! - `publish` moves a locked temporary file to its final name in one step
//!   (`renameat2(RENAME_NOREPLACE)`), failing if the name exists: the final
//!   name is never visible before the file is ready and locked.
//! - `lock_bounded` takes a lock without ever waiting forever for a process
//!   that holds it (a cleaner stopped in a debugger, a hostile process).
//! - Every descriptor is close-on-exec, copies (`dup_cloexec`) included: a
//!   descriptor shares its open file, and so its `flock`, with every copy,
//!   and a copy that survived a child's `exec` (another thread spawning a
//!   program) would hold the lock for the child's whole life, so that a
//!   region we dropped could never be cleaned while it runs.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use horus_nostd::sync::AtomicU64;
use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, RenameFlags, Stat};
use rustix::io::Errno;

/// How long opening a region waits for another process's exclusive lock
/// (a cleaner holds it for microseconds) before giving up with
/// [`TopicError::Locked`](crate::error::TopicError::Locked).
pub const LOCK_WAIT: Duration = Duration::from_millis(1500);

/// The first `N` words of the file `fd` as a copy to validate (`pread`,
/// which allocates nothing: a hole in a tmpfs file reads as zeros without
/// being backed), and how many of them the file holds (fewer if it is
/// shorter, none if it cannot be read).
///
/// Opening a region or a pool segment validates this copy of its header
/// (`TopicLayout::from_header`, `PoolLayout::from_header`) before it
/// reserves or maps anything: then it reserves and maps what the validated
/// geometry needs, never what a header field or the file's size claims.
pub(crate) fn read_header<const N: usize>(fd: &OwnedFd) -> ([AtomicU64; N], usize) {
    let mut bytes = [[0u8; 8]; N];
    let mut read = 0;
    while read < N * 8 {
        let buf = bytes.as_flattened_mut();
        match rustix::io::pread(fd, &mut buf[read..], read as u64) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(Errno::INTR) => {}
            Err(_) => break,
        }
    }
    (
        bytes.map(|w| AtomicU64::new(u64::from_le_bytes(w))),
        read / 8,
    )
}

/// What `open_entry` found at a name.
pub(crate) enum Entry {
    /// A regular file or a FIFO, opened without blocking; its `fstat`.
    Open(OwnedFd, Stat),
    /// Nothing.
    Missing,
    /// Something never opened (link, socket, device, directory).
    Other(FileType),
}

/// Opens `name` in `dir` (read-write if `write`) without following links and
/// without blocking; opens only regular files and FIFOs (see the module docs).
pub(crate) fn open_entry(dir: BorrowedFd<'_>, name: &str, write: bool) -> Result<Entry, Errno> {
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(Entry::Missing),
        Err(e) => return Err(e),
    };
    let kind = FileType::from_raw_mode(st.st_mode);
    if !matches!(kind, FileType::RegularFile | FileType::Fifo) {
        return Ok(Entry::Other(kind));
    }
    let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
    let flags = access | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(Entry::Missing),
        // Replaced by a link, or by a socket, since the `statat`.
        Err(Errno::LOOP) => return Ok(Entry::Other(FileType::Symlink)),
        Err(Errno::NXIO) => return Ok(Entry::Other(FileType::Socket)),
        Err(e) => return Err(e),
    };
    let st = rustix::fs::fstat(&fd)?;
    Ok(Entry::Open(fd, st))
}

/// Creates the temporary file `name` in `dir` (`O_EXCL`, mode 0600, never
/// following a link, never blocking) and takes its exclusive `flock`; the
/// descriptor and its `fstat`. `Ok(None)` if a cleaner got to it between the
/// create and the lock (it is gone or locked by someone else): the caller
/// tries again under a new name. The file is never given its final name
/// here: see [`publish`].
pub(crate) fn create_locked_temp(
    dir: BorrowedFd<'_>,
    name: &str,
) -> Result<Option<(OwnedFd, Stat)>, Errno> {
    let flags = OFlags::RDWR
        | OFlags::CREATE
        | OFlags::EXCL
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | OFlags::NOCTTY
        | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::RUSR | Mode::WUSR)?;
    let st = rustix::fs::fstat(&fd)?;
    if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_err()
        || !still_named(dir, name, &st)
    {
        return Ok(None);
    }
    Ok(Some((fd, st)))
}

/// A second descriptor of `fd`'s open file (sharing its `flock`), with
/// close-on-exec set. A plain `dup` clears it: a child that another thread
/// spawns meanwhile would keep the copy, and the lock, after its `exec`.
pub(crate) fn dup_cloexec(fd: &OwnedFd) -> Result<OwnedFd, Errno> {
    rustix::io::fcntl_dupfd_cloexec(fd, 0)
}

/// Is `st` a regular file?
pub(crate) fn is_regular(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
}

/// Do `a` and `b` describe the same inode?
pub(crate) fn same_inode(a: &Stat, b: &Stat) -> bool {
    a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

/// Does `name` in `dir` refer (without following links) to the inode `st`?
pub(crate) fn still_named(dir: BorrowedFd<'_>, name: &str, st: &Stat) -> bool {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|now| same_inode(&now, st))
}

/// Removes `name` from `dir` if it still refers to the inode `locked`; true
/// if removed.
///
/// The caller must hold the exclusive `flock` of that inode (see the module
/// docs for why the check and the unlink then cannot be separated by a
/// replacement).
pub(crate) fn unlink_if_same(dir: BorrowedFd<'_>, name: &str, locked: &Stat) -> bool {
    still_named(dir, name, locked) && rustix::fs::unlinkat(dir, name, AtFlags::empty()).is_ok()
}

/// Moves the temporary file `tmp` (whose inode is `locked`, held locked by
/// the caller) to `name` in `dir`, atomically, failing with `EXIST` if
/// `name` exists and with `NOENT` if `tmp` was removed.
///
/// On a file system without `RENAME_NOREPLACE` it links then removes the
/// temporary name: `link` also refuses an existing name, and the temporary
/// name is unique to the caller, so removing it while holding the file's
/// lock (shared or exclusive: either excludes every other remover) cannot
/// remove anything else.
pub(crate) fn publish(
    dir: BorrowedFd<'_>,
    tmp: &str,
    name: &str,
    locked: &Stat,
) -> Result<(), Errno> {
    match rustix::fs::renameat_with(dir, tmp, dir, name, RenameFlags::NOREPLACE) {
        Err(Errno::INVAL | Errno::NOSYS) => {
            rustix::fs::linkat(dir, tmp, dir, name, AtFlags::empty())?;
            if still_named(dir, tmp, locked) {
                let _ = rustix::fs::unlinkat(dir, tmp, AtFlags::empty());
            }
            Ok(())
        }
        other => other,
    }
}

/// Takes the `flock` `exclusive` or shared on `fd`, retrying with backoff
/// while another process holds a conflicting one, for at most `limit`;
/// `Err(WOULDBLOCK)` if it is still held then.
pub(crate) fn lock_bounded<Fd: AsFd>(
    fd: Fd,
    exclusive: bool,
    limit: Duration,
) -> Result<(), Errno> {
    let op = if exclusive {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::NonBlockingLockShared
    };
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_micros(50);
    loop {
        match rustix::fs::flock(&fd, op) {
            Err(Errno::WOULDBLOCK) if Instant::now() < deadline => {
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(Errno::INTR) => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> (std::path::PathBuf, OwnedFd) {
        let dir = std::env::temp_dir().join(format!("horus_files_{tag}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let fd = rustix::fs::open(&dir, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        (dir, fd)
    }

    #[test]
    fn unlink_if_same_spares_a_name_rebound_to_another_file() {
        let (path, dir) = scratch("rebound");
        std::fs::write(path.join("x"), b"old").unwrap();
        let Entry::Open(old, old_st) = open_entry(dir.as_fd(), "x", false).unwrap() else {
            panic!("not opened")
        };
        rustix::fs::flock(&old, FlockOperation::NonBlockingLockExclusive).unwrap();
        // Another remover and a creator act between our lock and our unlink.
        std::fs::remove_file(path.join("x")).unwrap();
        std::fs::write(path.join("x"), b"new").unwrap();
        assert!(!unlink_if_same(dir.as_fd(), "x", &old_st));
        assert_eq!(std::fs::read(path.join("x")).unwrap(), b"new");
        let Entry::Open(_, new_st) = open_entry(dir.as_fd(), "x", false).unwrap() else {
            panic!("not opened")
        };
        assert!(unlink_if_same(dir.as_fd(), "x", &new_st));
        assert!(!path.join("x").exists());
        std::fs::remove_dir_all(&path).unwrap();
    }

    #[test]
    fn publish_never_replaces_an_existing_name() {
        let (path, dir) = scratch("publish");
        std::fs::write(path.join("tmp"), b"mine").unwrap();
        std::fs::write(path.join("final"), b"theirs").unwrap();
        let st = rustix::fs::statat(dir.as_fd(), "tmp", AtFlags::empty()).unwrap();
        assert_eq!(publish(dir.as_fd(), "tmp", "final", &st), Err(Errno::EXIST));
        assert_eq!(std::fs::read(path.join("final")).unwrap(), b"theirs");
        std::fs::remove_file(path.join("final")).unwrap();
        publish(dir.as_fd(), "tmp", "final", &st).unwrap();
        assert_eq!(std::fs::read(path.join("final")).unwrap(), b"mine");
        assert!(!path.join("tmp").exists());
        std::fs::remove_dir_all(&path).unwrap();
    }

    #[test]
    fn lock_bounded_gives_up_on_a_lock_held_elsewhere() {
        let (path, dir) = scratch("bounded");
        std::fs::write(path.join("f"), b"").unwrap();
        let open = || rustix::fs::openat(dir.as_fd(), "f", OFlags::RDONLY, Mode::empty()).unwrap();
        let (holder, waiter) = (open(), open());
        rustix::fs::flock(&holder, FlockOperation::LockExclusive).unwrap();
        let t = Instant::now();
        let r = lock_bounded(&waiter, false, Duration::from_millis(100));
        assert_eq!(r, Err(Errno::WOULDBLOCK));
        assert!(t.elapsed() >= Duration::from_millis(100));
        drop(holder);
        lock_bounded(&waiter, false, Duration::from_millis(100)).unwrap();
        std::fs::remove_dir_all(&path).unwrap();
    }

    #[test]
    fn a_copy_of_a_locked_temp_is_close_on_exec_and_shares_the_lock() {
        let (path, dir) = scratch("dup");
        let (fd, _) = create_locked_temp(dir.as_fd(), "t").unwrap().unwrap();
        let copy = dup_cloexec(&fd).unwrap();
        for d in [&fd, &copy] {
            let flags = rustix::io::fcntl_getfd(d).unwrap();
            assert!(flags.contains(rustix::io::FdFlags::CLOEXEC), "{flags:?}");
        }
        // The copy alone still holds the exclusive lock of the open file.
        drop(fd);
        let other = rustix::fs::openat(dir.as_fd(), "t", OFlags::RDONLY, Mode::empty()).unwrap();
        let r = rustix::fs::flock(&other, FlockOperation::NonBlockingLockShared);
        assert_eq!(r, Err(Errno::WOULDBLOCK));
        drop(copy);
        rustix::fs::flock(&other, FlockOperation::NonBlockingLockShared).unwrap();
        std::fs::remove_dir_all(&path).unwrap();
    }
}
