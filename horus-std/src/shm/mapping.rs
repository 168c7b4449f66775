//! A file mapped into this process, and its words as the storage of the
//! core's regions and pools.
//!
//! [`MappedWords`] is the [`Words`](horus_nostd::region::Words) a
//! `TopicRegion`, a `RawHandle`/`TopicHandle` or a pool's `PoolRegion`,
//! `Loan` and `BlockView` hold on Linux: a reference-counted share of one
//! [`Mapping`]. The file stays mapped (and shared-locked) until the last
//! region, handle, loan or view of it is dropped, so a view can never outlive
//! the memory it reads, by its type.

use std::fs::File;
use std::ops::{Deref, Range};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use horus_nostd::region::{OutOfMemory, Words};
use horus_nostd::sync::AtomicU64;
use memmap2::{MmapOptions, MmapRaw};
use rustix::fs::FallocateFlags;
use rustix::io::Errno;

use crate::error::TopicError;

/// A region or pool segment file, mapped shared and read-write, with the
/// descriptor that holds its `flock` (released when the mapping goes).
#[derive(Debug)]
pub struct Mapping {
    map: MmapRaw,
    /// Holds our `flock` (released when closed).
    file: File,
    path: PathBuf,
}

impl Mapping {
    /// Maps the first `len` bytes of `fd` (the file at `path`); `op` names
    /// the operation in the error.
    pub(crate) fn new(
        fd: OwnedFd,
        len: usize,
        path: &Path,
        op: &'static str,
    ) -> Result<Self, TopicError> {
        let file = File::from(fd);
        let map = MmapOptions::new()
            .len(len)
            .map_raw(&file)
            .map_err(|error| match error.raw_os_error() {
                // ENOMEM and the like: the sentence that names the fix.
                Some(n) => super::namespace::errno_error(Errno::from_raw_os_error(n), path, op),
                None => TopicError::Io {
                    path: path.to_owned(),
                    op,
                    error,
                },
            })?;
        Ok(Self {
            map,
            file,
            path: path.to_owned(),
        })
    }

    /// The mapped file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mapping's address and length.
    pub(crate) fn span(&self) -> (usize, usize) {
        (self.map.as_ptr() as usize, self.map.len())
    }

    /// The open file (its lock is ours).
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The mapping as shared words.
    pub(crate) fn into_words(self) -> MappedWords {
        // SAFETY: `map` is a shared, read-write mapping of `map.len()` bytes;
        // mmap returns page-aligned memory (checked again by
        // `words_from_raw`). It stays mapped at this address until the
        // `Mapping` drops, which the `Arc` below delays until the last
        // `MappedWords` of it is gone, so the returned words (whose lifetime
        // only this function sees: their pointer and length are kept, not
        // the reference) are valid for as long as any `MappedWords` can
        // hand them out. Every process maps region and segment files only
        // through this crate, which accesses their words solely with aligned
        // 64-bit atomics (block data only as the pool protocol allows, see
        // `horus_nostd::pool`), and no `&mut` to them exists.
        let words =
            unsafe { horus_nostd::region::words_from_raw(self.map.as_mut_ptr(), self.map.len()) }
                .unwrap_or(&[]);
        MappedWords {
            ptr: NonNull::from(words).cast(),
            len: words.len(),
            mapping: Arc::new(self),
        }
    }
}

/// The words of a [`Mapping`], shared: cloning adds a reference, and the
/// file is unmapped when the last clone drops. Dereferences to the words
/// as cheaply as a slice (the pointer and length are kept inline).
#[derive(Clone)]
pub struct MappedWords {
    /// First word of the mapping (dangling if `len` is 0).
    ptr: NonNull<AtomicU64>,
    len: usize,
    mapping: Arc<Mapping>,
}

// SAFETY: a `MappedWords` is a `&[AtomicU64]` into memory kept alive by its
// `Arc<Mapping>`; both are `Send` and `Sync` (atomics may be used from any
// thread, and `Mapping` is an `MmapRaw`, a `File` and a path, all `Send` and
// `Sync`), and `MappedWords` adds no state of its own.
unsafe impl Send for MappedWords {}
// SAFETY: see `Send` above.
unsafe impl Sync for MappedWords {}

impl MappedWords {
    /// The mapping these words are.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// The mapped file's path.
    pub fn path(&self) -> &Path {
        self.mapping.path()
    }

    /// Bytes mapped: the file's length when it was mapped. The words cover
    /// all of them but a tail of fewer than 8, so an error about a short
    /// file names this, not the words' bytes.
    pub(crate) fn file_bytes(&self) -> usize {
        self.mapping.map.len()
    }
}

/// A region file is made sparse: its header and tables are reserved when it
/// is created, each lane when a publisher first claims it (see
/// `region_file.rs`), so a topic costs the lanes of the handles that
/// publish, not those of every handle that could. Pool segments are reserved
/// whole when made and never ask.
impl Words for MappedWords {
    const RESERVE_ON_CLAIM: bool = true;

    fn reserve(&self, words: Range<usize>) -> Result<(), OutOfMemory> {
        let (offset, len) = (words.start as u64 * 8, words.len() as u64 * 8);
        if len == 0 {
            return Ok(());
        }
        loop {
            // Mode 0 backs the pages and never changes the size or the data;
            // pages already there are kept as they are.
            return match rustix::fs::fallocate(
                self.mapping.file(),
                FallocateFlags::empty(),
                offset,
                len,
            ) {
                // A file system that cannot reserve backs pages when written.
                Ok(()) | Err(Errno::OPNOTSUPP) => Ok(()),
                Err(Errno::INTR) => continue,
                Err(_) => Err(OutOfMemory),
            };
        }
    }
}

impl Deref for MappedWords {
    type Target = [AtomicU64];

    #[inline]
    fn deref(&self) -> &[AtomicU64] {
        // SAFETY: `ptr` and `len` are those of the words `into_words` made
        // from the mapping in `self.mapping` (or a dangling, aligned pointer
        // with length 0); that mapping stays at its address while the `Arc`
        // lives, which is at least as long as this borrow of `self`, and the
        // words are only accessed atomically (the contract established in
        // `into_words`).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::fmt::Debug for MappedWords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedWords")
            .field("path", &self.mapping.path)
            .field("words", &self.len)
            .finish()
    }
}
