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
//! load otherwise), so the entry is free as soon as the last view is.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// The parked handles of this process.
static PARKED: Mutex<Vec<Parked>> = Mutex::new(Vec::new());
/// How many handles are parked (read without the lock by every view's drop).
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// A sweep was asked for while another held the list: the holder sweeps
/// again before it lets go, so no view's drop goes unseen.
static AGAIN: AtomicBool = AtomicBool::new(false);

/// Parks `handle` until no view counted by `reader` is alive.
pub(crate) fn park(handle: RawHandle<MappedWords>, reader: PoolReader) {
    let mut parked = PARKED.lock().unwrap_or_else(|e| e.into_inner());
    parked.push(Parked {
        handle,
        reader,
        generation: liveness::fork_generation(),
    });
    COUNT.fetch_add(1, Ordering::Relaxed);
    drop(parked);
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
    loop {
        AGAIN.store(false, Ordering::SeqCst);
        // `try_lock`: a holder sweeps again for us (`AGAIN`); and in a
        // child made by `fork()` while another thread of the parent held
        // the lock, it stays locked for good, which must not hang a drop.
        let mut parked = match PARKED.try_lock() {
            Ok(p) => p,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                AGAIN.store(true, Ordering::SeqCst);
                return;
            }
        };
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
        drop(parked);
        // Dropped unlocked: a handle's drop unmaps and closes files.
        drop(done);
        if !AGAIN.load(Ordering::SeqCst) {
            return;
        }
    }
}
