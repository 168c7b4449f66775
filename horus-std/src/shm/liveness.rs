//! Who is alive: one exclusively `flock`ed file per process and namespace.
//!
//! Each process that joins a topic creates `proc/<pid>-<nonce>.lock` in the
//! namespace and holds an exclusive `flock` on it until it dies. The kernel
//! drops the lock on any death, SIGKILL and OOM kill included, so anyone can
//! test liveness with a non-blocking lock attempt: it fails while the owner
//! lives and succeeds once it is gone. The nonce (random per process) makes
//! a reused pid a different file, so liveness never trusts a recycled pid.
//!
//! The process's [`OwnerToken`] is `pid << 32 | nonce` (31-bit nonce, so the
//! token's top bit stays clear, as the core requires).
//!
//! Limit: `fork()` without `exec` shares the open lock with the child, so the
//! parent counts as alive while the child lives. The descriptors are
//! close-on-exec, so spawned programs do not inherit them.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use horus_nostd::OwnerToken;
use rustix::fs::{FlockOperation, Mode, OFlags};

use super::namespace::{Namespace, PROC_DIR, errno_error};
use crate::error::TopicError;

/// This process's identity and its lock files, one per namespace path.
struct ProcessLiveness {
    token: OwnerToken,
    locks: Mutex<HashMap<std::path::PathBuf, OwnedFd>>,
}

fn process() -> &'static ProcessLiveness {
    static PROCESS: OnceLock<ProcessLiveness> = OnceLock::new();
    PROCESS.get_or_init(|| {
        let pid = u64::from(
            rustix::process::getpid()
                .as_raw_nonzero()
                .get()
                .unsigned_abs(),
        );
        let mut h = RandomState::new().build_hasher();
        h.write_u64(pid);
        let nonce = (h.finish() & 0x7fff_ffff).max(1);
        // The nonce is non-zero and the pid is masked to 31 bits (Linux pids
        // are below 2^22), so the token is non-zero with its top bit clear.
        let token = match OwnerToken::new((pid & 0x7fff_ffff) << 32 | nonce) {
            Some(t) => t,
            None => unreachable!("non-zero nonce, top bit masked"),
        };
        ProcessLiveness {
            token,
            locks: Mutex::new(HashMap::new()),
        }
    })
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
    if locks.contains_key(ns.path()) {
        return Ok(p.token);
    }
    let name = lock_file_name(p.token);
    let path = ns.path().join(PROC_DIR).join(&name);
    let fd = rustix::fs::openat(
        ns.proc_dir(),
        name.as_str(),
        OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::RUSR | Mode::WUSR,
    )
    .map_err(|e| errno_error(e, &path, "create liveness file"))?;
    rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive)
        .map_err(|e| errno_error(e, &path, "lock liveness file"))?;
    locks.insert(ns.path().to_owned(), fd);
    Ok(p.token)
}

/// Gives up this process's liveness file in `ns` (removing it).
///
/// Only for a process that holds no handle in `ns` any more (tests, tools
/// about to remove the namespace): afterwards its entries there look dead.
pub fn unregister(ns: &Namespace) {
    let p = process();
    let mut locks = p.locks.lock().unwrap_or_else(|e| e.into_inner());
    if locks.remove(ns.path()).is_some() {
        let name = lock_file_name(p.token);
        let _ = rustix::fs::unlinkat(ns.proc_dir(), name.as_str(), rustix::fs::AtFlags::empty());
    }
}

/// Is the process behind `token` alive (in namespace `ns`)?
///
/// Never wrong about a live process: it is alive exactly while its lock is
/// held. A dead process's lock file is removed on the way.
pub fn is_alive(ns: &Namespace, token: OwnerToken) -> bool {
    if token == own_token() {
        return true;
    }
    let name = lock_file_name(token);
    probe_lock_file(ns, &name)
}

/// Tries the lock of `proc/<name>`: alive if it is held; removes it if not.
pub(crate) fn probe_lock_file(ns: &Namespace, name: &str) -> bool {
    let fd = match rustix::fs::openat(
        ns.proc_dir(),
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return false,
        // Cannot tell (permissions, odd file): never declare a process dead on doubt.
        Err(_) => return true,
    };
    match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {
            // Dead: nobody holds it. Remove it while we hold the lock; a new
            // process never reuses the name (fresh nonce).
            let _ =
                rustix::fs::unlinkat(ns.proc_dir(), Path::new(name), rustix::fs::AtFlags::empty());
            false
        }
        Err(_) => true,
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
