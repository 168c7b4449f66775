//! Pool segments become private copies in a child made by `fork()`.
//!
//! A child inherits the parent's shared mappings, so a write there (through
//! a numpy array over a message the parent made, which Python keeps in the
//! child) would land in the parent's pool block: a message the parent then
//! publishes, or has published, would change under its receivers. HORUS's
//! own accessors refuse inherited messages in the child (see
//! `Segment::check_not_inherited`), but memory the user already holds a
//! pointer to cannot be refused. So the `pthread_atfork` child handler
//! ([`make_private_in_child`]) maps every pool segment of the process again
//! at the same address, *private* (`MAP_PRIVATE | MAP_FIXED`, the same file
//! and length): the child still reads what the file holds (pages it has
//! not written stay those of the file), and what it writes stays its own.
//!
//! The table is fixed (no allocation in the handler): [`CAPACITY`]
//! segments, far more than a process maps; past that a segment keeps its
//! shared mapping in fork children (logged once), as before this existed.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

/// Segments the table can hold.
const CAPACITY: usize = 1024;

/// One mapped segment: its address and length, valid while `fd` is not -1
/// (`fd` is written last and cleared first).
struct Slot {
    addr: AtomicUsize,
    len: AtomicUsize,
    fd: AtomicI32,
}

static SLOTS: [Slot; CAPACITY] = [const {
    Slot {
        addr: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        fd: AtomicI32::new(-1),
    }
}; CAPACITY];

/// In a child made by `fork()`, just after it: remaps every registered
/// segment private. Async-signal-safe: atomics and `mmap`, no allocation,
/// no lock (it runs in the child of a possibly multi-threaded parent).
pub(crate) fn make_private_in_child() {
    for slot in &SLOTS {
        // SYNC(fork-private-slot): Acquire pairs with `register`'s Release
        // store of `fd`, so `addr` and `len` are those of this segment.
        let fd = slot.fd.load(Ordering::Acquire);
        if fd < 0 {
            continue;
        }
        let (addr, len) = (
            slot.addr.load(Ordering::Relaxed),
            slot.len.load(Ordering::Relaxed),
        );
        // SAFETY: `mmap` is a plain system call. `addr..addr + len` is a
        // shared mapping of the file `fd` refers to, made by the parent and
        // inherited by this child (a slot is filled after its mapping is
        // made and emptied before it is unmapped); `MAP_FIXED` replaces it
        // in place with a private mapping of the same file and length, so
        // every pointer into it stays valid and reads the same bytes. On
        // failure (ENOMEM) the shared mapping stays, as before.
        unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                fd,
                0,
            )
        };
    }
}

/// Registers the segment mapped at `addr` for `len` bytes from `fd`;
/// returns its slot for [`unregister`], or `None` if the table is full.
pub(crate) fn register(addr: usize, len: usize, fd: i32) -> Option<usize> {
    super::liveness::watch_forks();
    for (i, slot) in SLOTS.iter().enumerate() {
        if slot.fd.load(Ordering::Relaxed) != -1 {
            continue;
        }
        // Claimed with a placeholder (-2: taken, not valid) so that no other
        // thread fills the same slot meanwhile.
        if slot
            .fd
            .compare_exchange(-1, -2, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            slot.addr.store(addr, Ordering::Relaxed);
            slot.len.store(len, Ordering::Relaxed);
            // SYNC(fork-private-slot)
            slot.fd.store(fd, Ordering::Release);
            return Some(i);
        }
    }
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        log::debug!(
            "more than {CAPACITY} pool segments mapped: in a child made by fork() the others \
             stay shared"
        );
    }
    None
}

/// Empties slot `i` (before its segment is unmapped).
pub(crate) fn unregister(i: usize) {
    SLOTS[i].fd.store(-1, Ordering::Release);
}
