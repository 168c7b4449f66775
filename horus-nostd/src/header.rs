//! The header protocol topic regions and pool segments share.
//!
//! Word 0 is the magic, word 1 the layout version. Initialising hides the
//! old contents first (magic zeroed before anything else), writes the header
//! and the rest, and stores the magic last with Release; attaching loads it
//! first with Acquire, then checks the version, every geometry field against
//! the layout they imply, and the length. Each kind of region keeps its own
//! field list and error type; the steps are here once.

use crate::sync::{AtomicU64, Ordering};

/// Index of the magic word.
pub(crate) const MAGIC_AT: usize = 0;
/// Index of the layout version word.
pub(crate) const VERSION_AT: usize = 1;

/// What a header check found, for the region kind to turn into its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderFault {
    /// Shorter than `needed` bytes; `found` bytes.
    Truncated { needed: usize, found: usize },
    /// The magic word is `found`, not the kind's.
    BadMagic { found: u64 },
    /// Another layout version.
    VersionMismatch { found: u64, expected: u64 },
    /// A stored geometry field disagrees with the layout it implies.
    BadField { field: &'static str },
}

/// The function from a [`HeaderFault`] to the attach error of a region kind,
/// `$error`, whose `Truncated`, `BadMagic`, `VersionMismatch` and
/// `BadGeometry` variants carry the same fields (a non-capturing closure, so
/// it can be passed to several `map_err`s).
macro_rules! fault_into {
    ($error:ident) => {
        |fault: $crate::header::HeaderFault| match fault {
            $crate::header::HeaderFault::Truncated { needed, found } => {
                $error::Truncated { needed, found }
            }
            $crate::header::HeaderFault::BadMagic { found } => $error::BadMagic { found },
            $crate::header::HeaderFault::VersionMismatch { found, expected } => {
                $error::VersionMismatch { found, expected }
            }
            $crate::header::HeaderFault::BadField { field } => $error::BadGeometry { field },
        }
    };
}
pub(crate) use fault_into;

/// Zeroes `words`, the magic first: an attacher that loads the old magic
/// before this is not misled by what follows (it sees garbled data at
/// worst), and one that loads it after sees no region until [`publish`].
pub(crate) fn clear(words: &[AtomicU64]) {
    words[MAGIC_AT].store(0, Ordering::Relaxed);
    for w in &words[1..] {
        w.store(0, Ordering::Relaxed);
    }
}

/// Stores `magic` last, making every store before it visible to an
/// attacher that sees it.
pub(crate) fn publish(words: &[AtomicU64], magic: u64) {
    // SYNC(header-magic): every header, body and zero store before this is
    // visible to whoever loads the magic with Acquire in `check_start`.
    words[MAGIC_AT].store(magic, Ordering::Release);
}

/// Checks that `words` hold at least `header_words`, then the magic
/// (Acquire, before anything else is read) and the version.
pub(crate) fn check_start(
    words: &[AtomicU64],
    header_words: usize,
    magic: u64,
    version: u64,
) -> Result<(), HeaderFault> {
    check_len(words, header_words)?;
    // SYNC(header-magic): pairs with the Release store in `publish`.
    let found = words[MAGIC_AT].load(Ordering::Acquire);
    if found != magic {
        return Err(HeaderFault::BadMagic { found });
    }
    let found = words[VERSION_AT].load(Ordering::Relaxed);
    if found != version {
        return Err(HeaderFault::VersionMismatch {
            found,
            expected: version,
        });
    }
    Ok(())
}

/// Checks each stored field `(index, value the layout implies, name)`.
pub(crate) fn check_fields(
    words: &[AtomicU64],
    fields: &[(usize, u64, &'static str)],
) -> Result<(), HeaderFault> {
    match fields
        .iter()
        .find(|(i, want, _)| words[*i].load(Ordering::Relaxed) != *want)
    {
        Some(&(_, _, field)) => Err(HeaderFault::BadField { field }),
        None => Ok(()),
    }
}

/// Checks that `words` hold at least `needed` words.
pub(crate) fn check_len(words: &[AtomicU64], needed: usize) -> Result<(), HeaderFault> {
    if words.len() < needed {
        return Err(HeaderFault::Truncated {
            needed: needed * 8,
            found: words.len() * 8,
        });
    }
    Ok(())
}

// Both kinds of region put the magic and the version where this module reads them.
const _: () = assert!(
    crate::layout::hdr::MAGIC == MAGIC_AT
        && crate::layout::hdr::VERSION == VERSION_AT
        && crate::pool::hdr::MAGIC == MAGIC_AT
        && crate::pool::hdr::VERSION == VERSION_AT
);
