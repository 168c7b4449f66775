//! Which process of *our* pid namespace is behind a liveness token.
//!
//! A token's pid ([`OwnerToken`] `>> 32`) is the pid its process had in
//! its own pid namespace. A process started with `unshare --pid`, or in a
//! container that shares `/dev/shm` (`--ipc=host`), registers as pid 1 or
//! some other small number, which here names another process (the host's
//! init). So a pid from shared memory is never signalled, nor labelled with
//! a program name, until this module has proved that the process with that
//! pid *here* is the one that holds the token's liveness lock.
//!
//! The proof comes from `/proc/locks`: the kernel lists every `flock` with
//! the holder's pid as the reader's `/proc` numbers it (locks of processes
//! it cannot see are left out) and the locked file's device and inode. A
//! token's pid is proved when a `FLOCK ... WRITE` line (a held lock, not a
//! waiter's `->` line) names that pid and the device and inode of the
//! token's lock file (`proc/<pid>-<nonce>.lock`, looked at with `statat`,
//! no follow). A process of another pid namespace fails the proof (another
//! pid holds its lock here, or none we can see), and so does a pid that a
//! registry entry or a participant entry merely claims.

use std::collections::HashMap;

use horus_nostd::OwnerToken;
use rustix::fs::AtFlags;

use super::files;
use super::liveness::{lock_file_name, token_of_lock_file};
use super::namespace::Namespace;

/// A snapshot of who holds the liveness locks of a namespace, as this
/// process's pid namespace numbers them.
#[derive(Debug, Default, Clone)]
pub struct LockHolders {
    /// The pid here holding each token's lock file, for the tokens whose
    /// holder this process can see.
    by_token: HashMap<u64, u32>,
}

impl LockHolders {
    /// Reads `/proc/locks` and the liveness files of `ns` once. Nothing is
    /// proved (every check false) where `/proc` cannot be read.
    pub fn read(ns: &Namespace) -> Self {
        let names = ns.proc_entries().unwrap_or_default();
        // A name that is not UTF-8 is no liveness file's (those are ASCII).
        Self::of(
            ns,
            names.iter().filter_map(|n| token_of_lock_file(n.to_str()?)),
        )
    }

    /// Like [`read`](Self::read), for the one token `token` (the `owner`
    /// of a registry entry, a participant's token).
    pub fn of_token(ns: &Namespace, token: u64) -> Self {
        Self::of(ns, OwnerToken::new(token).into_iter())
    }

    fn of(ns: &Namespace, tokens: impl Iterator<Item = OwnerToken>) -> Self {
        let Ok(locks) = std::fs::read_to_string("/proc/locks") else {
            return Self::default();
        };
        let holders = flock_holders(&locks);
        let by_token = tokens
            .filter_map(|token| {
                let name = lock_file_name(token);
                let st =
                    rustix::fs::statat(ns.proc_dir(), &name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
                if !files::is_regular(&st) {
                    return None;
                }
                let key = (
                    rustix::fs::major(st.st_dev),
                    rustix::fs::minor(st.st_dev),
                    st.st_ino,
                );
                Some((token.get(), *holders.get(&key)?))
            })
            .collect();
        Self { by_token }
    }

    /// Whether process `pid`, as this process numbers it, is the one behind
    /// `token`: it holds the token's lock file and the token names it.
    pub fn proves(&self, token: u64, pid: u32) -> bool {
        (token >> 32) as u32 == pid && self.by_token.get(&token) == Some(&pid)
    }

    /// Whether some process of the namespace registered as `pid` is the
    /// process `pid` here (for a label that knows the pid only).
    pub fn proves_pid(&self, pid: u32) -> bool {
        self.by_token
            .iter()
            .any(|(&t, &holder)| holder == pid && (t >> 32) as u32 == pid)
    }
}

/// The holder of each held `flock` in the text of `/proc/locks`, by
/// (major, minor, inode) of the locked file: lines such as
/// `3: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF`. Waiters (`->`),
/// POSIX and OFD locks, shared locks and lines that do not parse are
/// skipped.
fn flock_holders(text: &str) -> HashMap<(u32, u32, u64), u32> {
    text.lines()
        .filter_map(|line| {
            let mut w = line.split_whitespace().skip(1);
            if (w.next()?, w.next()?, w.next()?) != ("FLOCK", "ADVISORY", "WRITE") {
                return None;
            }
            let pid: u32 = w.next()?.parse().ok()?;
            let mut id = w.next()?.splitn(3, ':');
            let major = u32::from_str_radix(id.next()?, 16).ok()?;
            let minor = u32::from_str_radix(id.next()?, 16).ok()?;
            let ino: u64 = id.next()?.parse().ok()?;
            (pid != 0).then_some(((major, minor, ino), pid))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_locks_lines_give_the_holders_of_exclusive_flocks() {
        let text = "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 999 00:1a:5678 0 EOF\n\
                    2: POSIX  ADVISORY  WRITE 77 00:1a:9 0 EOF\n\
                    3: FLOCK  ADVISORY  READ 55 fd:01:42 0 EOF\n\
                    4: FLOCK  ADVISORY  WRITE 66 fd:01:43 0 EOF\n\
                    garbage\n";
        let h = flock_holders(text);
        assert_eq!(h.get(&(0, 0x1a, 5678)), Some(&1234));
        assert_eq!(h.get(&(0xfd, 1, 43)), Some(&66));
        assert_eq!(h.len(), 2, "{h:?}");
    }

    #[test]
    fn a_token_is_proved_only_for_its_own_pid() {
        let token = 7 << 32 | 5;
        let mut by_token = HashMap::new();
        by_token.insert(token, 4242); // pid 7 in its namespace, 4242 here
        let h = LockHolders { by_token };
        assert!(!h.proves(token, 7) && !h.proves(token, 4242));
        assert!(!h.proves_pid(7) && !h.proves_pid(4242));
        by_token = HashMap::from([(token, 7)]);
        let h = LockHolders { by_token };
        assert!(h.proves(token, 7) && h.proves_pid(7));
        assert!(!h.proves(8 << 32 | 5, 7), "another token of no lock here");
    }
}
