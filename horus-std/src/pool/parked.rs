//! Handles dropped while views of blocks held under their participant
//! index are alive: *parked* until the last of those views is dropped.
//!
//! A view's hold is bit `p` of a block's `HOLDERS` word, `p` the index of
//! the receiving handle's participant entry. Freeing the entry while a view
//! is alive would let another handle join at `p`, whose own holds would
//! then share the bit with that view (and a release of either would clear
//! the other's). So a pooled `Topic` dropped with views alive hands its
//! participant handle and its reader (which counts the views through their
//! shares of its segments, see [`PoolReader::views_alive`]) to this list
//! instead of dropping them; the handle, and with it the entry and any
//! publisher lane, is dropped by the first [`sweep`] that finds the views
//! gone. Every view's drop sweeps while anything is parked (one Relaxed
//! load otherwise), so the entry is free when the last view's drop returns.
//!
//! The list's lock is a word holding the fork generation of the process
//! whose thread holds it: a sweep waits for a holder of its own process (a
//! few instructions: a push, a scan), and gives up on one of the parent's,
//! which held it at a `fork()` and never lets go in the child. Until
//! 2026-12-06 a sweep that found the list held (`Mutex::try_lock`) left
//! the sweep to the holder and returned: the entry was freed later, by
//! another thread, and not before the last view's drop returned.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use horus_nostd::RawHandle;

use super::PoolReader;
use crate::shm::liveness;
use crate::shm::mapping::MappedWords;

/// A dropped handle waiting for its views.
struct Parked {
    #[allow(
        dead_code,
        reason = "held only to be dropped once the views are gone: that frees the entry"
    )]
    handle: RawHandle<MappedWords>,
    reader: PoolReader,
    /// The fork generation that parked it: a child made by `fork()` must
    /// never drop its parent's handles (its copy of this list keeps them).
    generation: u64,
}

/// The parked handles of this process, behind [`LOCK`].
struct List(UnsafeCell<Vec<Parked>>);

// SAFETY: the vector is only reached through a `Locked`, which exists only
// while its thread holds `LOCK` (see `Locked::take`): one thread at a time.
unsafe impl Sync for List {}

static PARKED: List = List(UnsafeCell::new(Vec::new()));
/// 0 while [`PARKED`] is free; else 1 + the fork generation of the process
/// whose thread holds it.
static LOCK: AtomicU64 = AtomicU64::new(0);
/// How many handles are parked (read without the lock by every view's drop).
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// [`PARKED`], held by this thread until dropped.
struct Locked(());

impl Locked {
    /// Takes the list, waiting while another thread of this process holds
    /// it. `None` in a child made by `fork()` while a thread of the parent
    /// held it: it stays held there, and waiting would hang.
    fn take() -> Option<Self> {
        let me = liveness::fork_generation() + 1;
        loop {
            // SYNC(parked-lock): Acquire pairs with the Release store of
            // the last holder's `drop`: its changes to the list are seen.
            match LOCK.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(Self(())),
                Err(0) => {} // spurious failure: again
                Err(holder) if holder == me => std::thread::yield_now(),
                Err(_) => return None,
            }
        }
    }

    fn list(&mut self) -> &mut Vec<Parked> {
        // SAFETY: this thread holds `LOCK` while `self` lives (`take`), so
        // no other reference to the vector exists; `&mut self` makes this
        // one unique within the thread.
        unsafe { &mut *PARKED.0.get() }
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SYNC(parked-lock): Release pairs with the Acquire exchange of the
        // next `take`: this holder's changes to the list happen-before it.
        LOCK.store(0, Ordering::Release);
    }
}

/// Parks `handle` until no view counted by `reader` is alive.
pub(crate) fn park(handle: RawHandle<MappedWords>, reader: PoolReader) {
    let Some(mut locked) = Locked::take() else {
        // A fork child whose parent held the list at the fork: the entry
        // must not be freed under the views, and this process cannot sweep.
        // Kept, never freed (its process's death frees it).
        std::mem::forget((handle, reader));
        return;
    };
    locked.list().push(Parked {
        handle,
        reader,
        generation: liveness::fork_generation(),
    });
    COUNT.fetch_add(1, Ordering::Relaxed);
    drop(locked);
    // A view may have gone between the caller's count and the push.
    sweep();
}

/// Drops the parked handles whose views are all gone, if any is parked.
#[inline]
pub(crate) fn sweep() {
    if COUNT.load(Ordering::Relaxed) != 0 {
        sweep_now();
    }
}

#[cold]
fn sweep_now() {
    let generation = liveness::fork_generation();
    let Some(mut locked) = Locked::take() else {
        return; // a fork child whose parent held the list: nothing to do
    };
    let parked = locked.list();
    let mut done = Vec::new();
    let mut k = 0;
    while k < parked.len() {
        let p = &parked[k];
        // `views_alive` is false only after an Acquire fence that pairs
        // with each view's Release share drop: the views' releases of
        // their blocks happen-before the entry is freed below.
        if p.generation == generation && !p.reader.views_alive() {
            done.push(parked.swap_remove(k));
        } else {
            k += 1;
        }
    }
    COUNT.fetch_sub(done.len(), Ordering::Relaxed);
    drop(locked);
    // Dropped unlocked: a handle's drop unmaps and closes files.
    drop(done);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Encoding, ImageTopic};
    use crate::shm::Namespace;

    /// A namespace of its own, removed at the end.
    struct Scratch(String);

    impl Drop for Scratch {
        fn drop(&mut self) {
            if let Ok(Some(ns)) = Namespace::open_existing(&self.0) {
                liveness::unregister(&ns);
                let removed = crate::shm::remove_if_unused(&ns);
                if !std::thread::panicking() {
                    assert_eq!(removed.ok(), Some(true), "namespace {} left", self.0);
                }
            }
        }
    }

    fn live_entries(ns: &str) -> usize {
        let dir = Namespace::open(ns).unwrap();
        let info = crate::inspect::topic_info(&dir, "cam").unwrap().unwrap();
        info.participants.iter().filter(|p| p.alive).count()
    }

    /// Was a bug (seen under qemu-aarch64, tests in parallel): the drop of
    /// the last view, finding the list held by another thread (another
    /// handle parking, another view sweeping), left the sweep to that
    /// thread and returned; the entry was freed later, or, when the holder
    /// was not sweeping, not until some later view's drop.
    #[test]
    fn the_last_view_frees_the_entry_before_its_drop_returns_even_while_the_list_is_held() {
        let ns = Scratch(format!("t{}_parked_held", std::process::id()));
        let publ = ImageTopic::builder("cam").namespace(&ns.0).build().unwrap();
        let sub = ImageTopic::builder("cam").namespace(&ns.0).build().unwrap();
        publ.send(publ.loan(4, 4, Encoding::Rgb8).unwrap());
        let view = sub.recv().expect("the message just sent");
        let base = live_entries(&ns.0);
        drop(sub); // parked: its view is alive
        assert_eq!(live_entries(&ns.0), base, "the entry went before the view");
        let held = Locked::take().unwrap();
        let dropper = std::thread::spawn(move || drop(view));
        // Long enough for the dropper to find the list held (a test of the
        // bug only if it does; the fix passes either way).
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
        dropper.join().unwrap();
        assert_eq!(
            live_entries(&ns.0),
            base - 1,
            "the entry outlived the last view"
        );
        drop(publ);
    }

    /// A child made by `fork()` while a thread of the parent held the list
    /// (here: this test's thread) gives up on it instead of waiting for a
    /// holder that does not exist there.
    #[test]
    fn a_fork_child_gives_up_on_the_list_its_parent_held_at_the_fork() {
        liveness::watch_forks();
        let held = Locked::take().unwrap();
        // SAFETY: the child only loads and compares atomics, then `_exit`s:
        // async-signal-safe, as a child of a multi-threaded process must be.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let gave_up = Locked::take().is_none();
            // SAFETY: `_exit` ends the child at once, running nothing of the
            // parent's (no destructors, no atexit handlers).
            unsafe { libc::_exit(i32::from(!gave_up)) };
        }
        drop(held);
        assert!(pid > 0, "fork failed");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut status = 0;
        loop {
            // SAFETY: waits for our own child; `status` is a valid out pointer.
            match unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } {
                0 if std::time::Instant::now() > deadline => {
                    // SAFETY: our own child, not yet reaped.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    panic!("the fork child waited for its parent's lock");
                }
                0 => std::thread::yield_now(),
                reaped => {
                    assert_eq!(reaped, pid, "waitpid failed");
                    break;
                }
            }
        }
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "status {status}: the child did not give up on the list"
        );
    }
}
