//! Who is alive: one exclusively `flock`ed file per process and namespace.
//!
//! Each process that joins a topic creates `proc/<pid>-<nonce>.lock` in the
//! namespace and holds an exclusive `flock` on it until it dies. The kernel
//! drops the lock on any death, SIGKILL and OOM kill included, so anyone can
//! test liveness with a non-blocking lock attempt: it fails while the owner
//! lives and succeeds once it is gone. The nonce (random per process) makes
//! a reused pid a different file, so liveness never trusts a recycled pid.
//!
//! **A lock file is never visible unlocked**: it is created under a
//! temporary name (`proc/.init.<pid>-<nonce>.<n>`), locked, checked to be
//! still named, and only then renamed into place (never over an existing
//! name, see `files::publish`). A prober that finds a file unlocked removes
//! it only while holding its lock and after re-checking that the name still
//! refers to the inode it locked (`files::unlink_if_same`); temporary files
//! of processes that died before renaming are removed by the same test.
//! Anything else at those names (a FIFO, a link) is never opened in a
//! blocking way and never taken for a dead process.
//!
//! The process's [`OwnerToken`] is `pid << 32 | nonce` (31-bit nonce, so the
//! token's top bit stays clear, as the core requires).
//!
//! **`fork()`**: a child made by `fork()` without `exec` is a new process for
//! liveness. A `pthread_atfork` child handler bumps [`fork_generation`]; the
//! identity (token and lock files) belongs to one generation, so the child's
//! first use makes a fresh token and lock files of its own. The same handler
//! points the child's copies of the parent's lock descriptors at `/dev/null`
//! (`dup3`, async-signal-safe), without unlocking or unlinking anything: the
//! lock belongs to the open file, shared with the parent, so a child that
//! kept a copy (a `multiprocessing` worker, a daemon: children that never
//! use HORUS) would keep its parent alive to everyone after the parent
//! died. Topics refuse to be used across a fork (see
//! [`Topic`](crate::Topic)), and so do the large messages a process held
//! when it forked (their blocks are the parent's). The descriptors are
//! close-on-exec, so spawned programs do not inherit them.
//!
//! The child's copies of the parent's *mappings* stay mapped (pool
//! segments become private copies, see `fork_private`, so the child's
//! writes never reach its parent's blocks): a mapping keeps its open file,
//! and with it the parent's shared `flock` on a region or pool segment, for
//! as long as the child lives (or until it `exec`s). So after the parent
//! dies, its participant entries, lanes and pool holds are reclaimed at once
//! (its liveness lock is gone), but `horus clean` keeps its topic files and
//! segments "held by a live process" until such a child ends: the files are
//! mapped, so they are in use. Unmapping them in the child (`MADV_DONTFORK`) would turn every
//! touch of an inherited object there (a numpy array over an inherited
//! image, a `Debug` print of an inherited `Topic`) into a segmentation
//! fault.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Mutex, Once};

use horus_nostd::OwnerToken;
use rustix::fs::{FileType, FlockOperation, Stat};

use super::files::{self, Entry};
use super::namespace::{INIT_PREFIX, Namespace, PROC_DIR, errno_error};
use crate::error::TopicError;

/// Incremented in the child of every `fork()` (once the handler is set up,
/// which the first registration does).
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

extern "C" fn after_fork_in_child() {
    // Async-signal-safe: atomics, `dup3` and `mmap`, no allocation, no lock.
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    super::fork_private::make_private_in_child();
    let null = DEV_NULL.load(Ordering::SeqCst);
    if null < 0 {
        return;
    }
    for slot in &LOCK_FDS {
        // This child's own copy of the table (`fork` copies the memory; a
        // `vfork`, which would share it, runs no fork handlers).
        let fd = slot.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: `dup3` is a plain system call, async-signal-safe. `fd`
            // is this child's copy of one of the parent's lock descriptors
            // (a slot names an open lock descriptor from before it is
            // filled until after it is emptied, see `LockFd`); replacing
            // it drops the child's reference to the locked file, and the
            // number stays open (on `/dev/null`, close-on-exec) for the
            // `OwnedFd` that still names it, which closes it later.
            unsafe { libc::dup3(null, fd, libc::O_CLOEXEC) };
        }
    }
}

/// How many lock descriptors the fork handler knows (one per namespace the
/// process is registered in); a process in more namespaces than this leaves
/// the others' copies to the child's first use, as before the handler did
/// this.
const TRACKED_LOCKS: usize = 32;

/// The lock descriptors of this process's identity, for the fork handler
/// (-1: an empty slot).
static LOCK_FDS: [AtomicI32; TRACKED_LOCKS] = [const { AtomicI32::new(-1) }; TRACKED_LOCKS];

/// `/dev/null`, opened once (close-on-exec) and kept: what the fork handler
/// points the child's copies of the lock descriptors at. -1 until opened.
static DEV_NULL: AtomicI32 = AtomicI32::new(-1);

/// A held lock file's descriptor, known to the fork handler from when it is
/// made until it is closed.
struct LockFd(OwnedFd);

impl LockFd {
    fn new(fd: OwnedFd) -> Self {
        use std::os::fd::{AsRawFd, IntoRawFd};
        static OPEN_NULL: Once = Once::new();
        OPEN_NULL.call_once(|| {
            let flags = rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC;
            if let Ok(null) = rustix::fs::open("/dev/null", flags, rustix::fs::Mode::empty()) {
                // Kept for the process's life: the handler may need it at any fork.
                DEV_NULL.store(null.into_raw_fd(), Ordering::SeqCst);
            }
        });
        let raw = fd.as_raw_fd();
        for slot in &LOCK_FDS {
            if slot
                .compare_exchange(-1, raw, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                break;
            }
        }
        Self(fd)
    }
}

impl Drop for LockFd {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // Out of the table before the descriptor closes (the field drops
        // after this), so a slot never names a number that is reused.
        let raw = self.0.as_raw_fd();
        for slot in &LOCK_FDS {
            let _ = slot.compare_exchange(raw, -1, Ordering::SeqCst, Ordering::SeqCst);
        }
    }
}

/// Which `fork()` generation this process is: 0 in the original process,
/// different in every child made by `fork()` since the first topic or
/// registration of the process. One Relaxed load: the value changes only in
/// a fork child, where the handler runs before `fork()` returns in it.
#[inline]
pub fn fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// This process's identity and its lock files, one per namespace path,
/// for one fork generation.
struct ProcessLiveness {
    generation: u64,
    token: OwnerToken,
    locks: Mutex<HashMap<std::path::PathBuf, (LockFd, Stat)>>,
}

impl ProcessLiveness {
    fn new(generation: u64) -> Self {
        let pid = u64::from(
            rustix::process::getpid()
                .as_raw_nonzero()
                .get()
                .unsigned_abs(),
        );
        let mut h = RandomState::new().build_hasher();
        h.write_u64(pid);
        h.write_u64(generation);
        let nonce = (h.finish() & 0x7fff_ffff).max(1);
        // The nonce is non-zero and the pid is masked to 31 bits (Linux pids
        // are below 2^22), so the token is non-zero with its top bit clear.
        let token = match OwnerToken::new((pid & 0x7fff_ffff) << 32 | nonce) {
            Some(t) => t,
            None => unreachable!("non-zero nonce, top bit masked"),
        };
        Self {
            generation,
            token,
            locks: Mutex::new(HashMap::new()),
        }
    }
}

/// Installs the fork child handler, once: before the first identity, and
/// before the first pool segment the handler makes private.
pub(crate) fn watch_forks() {
    static AT_FORK: Once = Once::new();
    AT_FORK.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn()` with no captured state;
        // the handler only does atomics, `dup3` and `mmap`, which are
        // async-signal-safe as a child handler of a multi-threaded process
        // must be.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        // ENOMEM only; then forks go undetected, as before this existed.
        debug_assert_eq!(rc, 0, "pthread_atfork failed");
    });
}

/// The identity of this process in the current fork generation.
fn process() -> &'static ProcessLiveness {
    static CURRENT: AtomicPtr<ProcessLiveness> = AtomicPtr::new(std::ptr::null_mut());
    watch_forks();
    let generation = fork_generation();
    loop {
        let current = CURRENT.load(Ordering::Acquire);
        // SAFETY: CURRENT holds null or a pointer from `Box::into_raw` that
        // was published by the compare-exchange below and is never freed, so
        // it is valid for 'static; SYNC(liveness-current): the Acquire load
        // pairs with the AcqRel exchange, so the pointee is initialised.
        if let Some(p) = unsafe { current.as_ref() } {
            if p.generation == generation {
                return p;
            }
        }
        let fresh = Box::into_raw(Box::new(ProcessLiveness::new(generation)));
        // SYNC(liveness-current): publishes the initialised value.
        match CURRENT.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                // SAFETY: as above, `current` is null or valid forever.
                if let Some(inherited) = unsafe { current.as_ref() } {
                    forget_inherited(inherited);
                }
                // SAFETY: just published; never freed.
                return unsafe { &*fresh };
            }
            // SAFETY: `fresh` comes from `Box::into_raw` above and was not
            // published (the exchange failed), so we still own it.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

/// In a fork child: closes the descriptors of the parent's lock files
/// (the fork handler pointed them at `/dev/null` already). Never unlocks
/// (`LOCK_UN` would release the parent's lock: the open file is shared) and
/// never unlinks (the files are the parent's). If another thread of the
/// parent held the map's mutex at the fork, they stay open (on `/dev/null`).
fn forget_inherited(parent: &ProcessLiveness) {
    let mut locks = match parent.locks.try_lock() {
        Ok(l) => l,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    locks.clear();
}

/// This process's owner token.
pub fn own_token() -> OwnerToken {
    process().token
}

/// The lock file name of `token`.
pub fn lock_file_name(token: OwnerToken) -> String {
    let t = token.get();
    format!("{}-{:08x}.lock", t >> 32, t & 0xffff_ffff)
}

/// The token a lock file name stands for, if it is one.
pub fn token_of_lock_file(name: &str) -> Option<OwnerToken> {
    let stem = name.strip_suffix(".lock")?;
    let (pid, nonce) = stem.split_once('-')?;
    let pid: u64 = pid.parse().ok()?;
    let nonce = u64::from_str_radix(nonce, 16).ok()?;
    OwnerToken::new(pid << 32 | nonce)
}

/// Makes sure this process holds its lock file in `ns`; returns its token.
pub fn ensure_registered(ns: &Namespace) -> Result<OwnerToken, TopicError> {
    let p = process();
    let mut locks = p.locks.lock().unwrap_or_else(|e| e.into_inner());
    let name = lock_file_name(p.token);
    // Registered, and the file is still there under its name? (Someone may
    // have removed the namespace by hand: then register again, or everyone
    // would take this process for dead.)
    if let Some((_, st)) = locks.get(ns.path()) {
        if files::still_named(ns.proc_dir(), &name, st) {
            return Ok(p.token);
        }
        locks.remove(ns.path());
    }
    let (fd, st) = create_locked(ns, &name)?;
    locks.insert(ns.path().to_owned(), (LockFd::new(fd), st));
    Ok(p.token)
}

/// Creates `proc/<name>` already locked: under a temporary name, locked,
/// then renamed into place (see the module docs).
fn create_locked(ns: &Namespace, name: &str) -> Result<(OwnedFd, Stat), TopicError> {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let path = ns.path().join(PROC_DIR).join(name);
    let stem = name.strip_suffix(".lock").unwrap_or(name);
    // Each pass fails only because a cleaner or a stale file interfered.
    for _ in 0..16 {
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        let tmp = format!("{INIT_PREFIX}{stem}.{serial}");
        // A cleaner that locked our temporary file first removes it.
        let (fd, st) = match files::create_locked_temp(ns.proc_dir(), &tmp) {
            Ok(Some(made)) => made,
            Ok(None) | Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(errno_error(e, &path, "create liveness file")),
        };
        match files::publish(ns.proc_dir(), &tmp, name, &st) {
            Ok(()) => return Ok((fd, st)),
            Err(rustix::io::Errno::EXIST) => {
                // A file of a dead process with our pid and nonce (or
                // something planted): remove it if unheld, then retry.
                files::unlink_if_same(ns.proc_dir(), &tmp, &st);
                if probe(ns, name) != Probe::Removed {
                    return Err(TopicError::Io {
                        path,
                        op: "create liveness file (name held by another file)",
                        error: std::io::ErrorKind::AlreadyExists.into(),
                    });
                }
            }
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => {
                files::unlink_if_same(ns.proc_dir(), &tmp, &st);
                return Err(errno_error(e, &path, "publish liveness file"));
            }
        }
    }
    Err(TopicError::Io {
        path,
        op: "create liveness file (kept changing under us)",
        error: std::io::ErrorKind::WouldBlock.into(),
    })
}

/// Gives up this process's liveness file in `ns` (removing it).
///
/// Only for a process that holds no handle in `ns` any more (tests, tools
/// about to remove the namespace): afterwards its entries there look dead.
pub fn unregister(ns: &Namespace) {
    let p = process();
    let mut locks = p.locks.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((fd, st)) = locks.remove(ns.path()) {
        // Still holding our exclusive lock (`fd` closes after this).
        files::unlink_if_same(ns.proc_dir(), &lock_file_name(p.token), &st);
        drop(fd);
    }
}

/// Is the process behind `token` alive (in namespace `ns`)?
///
/// Never wrong about a live process: it is alive exactly while its lock is
/// held. A dead process's lock file is removed on the way. Something that is
/// not a regular file at its name is taken as alive (never declare a
/// process dead on doubt).
pub fn is_alive(ns: &Namespace, token: OwnerToken) -> bool {
    if token == own_token() {
        return true;
    }
    !matches!(
        probe(ns, &lock_file_name(token)),
        Probe::Removed | Probe::Missing
    )
}

/// What [`probe`] found at a `proc/` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// A regular file whose lock is held: its process lives (or is still
    /// creating it, for a temporary name).
    Held,
    /// An unheld regular file, removed (its process is dead).
    Removed,
    /// Nothing at the name.
    Missing,
    /// Something else, never opened blockingly nor removed.
    Foreign(FileType),
    /// It could not be opened or locked (permissions): left alone.
    Unknown,
}

/// Tries the lock of `proc/<name>`; removes it if nobody holds it.
pub(crate) fn probe(ns: &Namespace, name: &str) -> Probe {
    let (fd, st) = match files::open_entry(ns.proc_dir(), name, false) {
        Ok(Entry::Open(fd, st)) if files::is_regular(&st) => (fd, st),
        Ok(Entry::Open(_, st)) => return Probe::Foreign(FileType::from_raw_mode(st.st_mode)),
        Ok(Entry::Other(kind)) => return Probe::Foreign(kind),
        Ok(Entry::Missing) => return Probe::Missing,
        Err(_) => return Probe::Unknown,
    };
    match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
        // Dead: nobody holds it. Remove it if the name still refers to the
        // file we locked (a new process never reuses the name: fresh nonce).
        Ok(()) => {
            files::unlink_if_same(ns.proc_dir(), name, &st);
            Probe::Removed
        }
        Err(rustix::io::Errno::WOULDBLOCK) => Probe::Held,
        Err(_) => Probe::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_names_round_trip() {
        let t = OwnerToken::new(1234 << 32 | 0x7abc_def0).unwrap();
        assert_eq!(token_of_lock_file(&lock_file_name(t)), Some(t));
        assert_eq!(token_of_lock_file("junk"), None);
        assert_eq!(token_of_lock_file("12-zz.lock"), None);
    }
}
