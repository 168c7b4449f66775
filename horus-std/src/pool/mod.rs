//! Block pools of a topic: one per publishing process, growing by segments
//! (files, see `shm/pool_file.rs`) up to a limit; receivers map the
//! segments descriptors name, on demand; and the liveness glue (holder bits
//! of dead participants cleared before their topic entries are freed).
//!
//! The algorithm over one segment (loan, publish, hold, release, reclaim) is
//! the core's, [`horus_nostd::pool`]; this module maps it onto files:
//!
//! - **Writer** (`PoolWriter`): the publisher's own segments, created
//!   lazily at its first large message with the block size that message
//!   needs (rounded up to 64 bytes, or the builder's size if larger). A loan
//!   tries each segment; when all are busy it adds a segment, up to
//!   `max_segments`; past that it reclaims what dead participants hold and
//!   tries once more, then answers a typed, counted error. It never waits.
//!   A loan is the core's `Claim` and a share (`Arc`) of its segment, taken
//!   from the writer's spare shares and given back to them after the
//!   publish (`recycle`): a stream of loans costs no reference-count RMW.
//!   After each publish the writer prefetches, for writing, the control line
//!   and first data line of the block its next loan will most likely take
//!   (`prepare_next`): readers' holds and releases last wrote that control
//!   line, so its transfer to this core then overlaps the message's trip
//!   instead of delaying the next loan.
//!   Segment ids are handed out per (namespace, topic) by this process
//!   (`next_segment_id`), not per writer: every handle of the topic in the
//!   process (two `Topic::<Image>::new("cam")`, one per thread, or a handle
//!   made again after one was dropped while receivers still map its
//!   segments) names its segments `<topic>.pool.<pid>-<nonce>.<id>` with
//!   ids no other handle of the process used, so any number of them can
//!   publish (see `docs/decisions.md`).
//! - **Reader** (`PoolReader`): a cache of mapped segments by (publisher
//!   token, segment id), with the last one used kept beside it so a stream
//!   from one segment is served without hashing. A segment file that is
//!   gone means every message in it is gone: the descriptor is stale (a
//!   counted drop). A hold is the core's `Hold` and a share of the segment
//!   (so the cache drops dead publishers' segments even while views are
//!   alive); those shares are also how the topic knows views are alive
//!   (`views_alive`: a segment's share count above the reader's own). A
//!   receive that finds the ring empty unmaps dead publishers' segments,
//!   and segments their live publisher let go that no view holds (`idle`,
//!   at most every 100 ms), so a receiver that never reclaims does not
//!   keep them in /dev/shm for its whole life. Before
//!   the hold's RMW on the control line, the reader prefetches the message's
//!   first data line, so the two line transfers from the publisher's core
//!   overlap.
//! - **Liveness** (`reclaim_topic`): every topic handle creation reclaims
//!   the topic's dead participants through it; for each dead participant
//!   `p`, while its entry is still marked as being reclaimed (nobody can
//!   join at `p`), it clears bit `p` in every segment of the topic and takes
//!   back the blocks dead loaners left half-written. Only then is the entry
//!   freed (`TopicRegion::reclaim_dead_then`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use horus_nostd::region::Words;
use horus_nostd::{OwnerToken, TopicRegion};

use crate::shm::pool_file;
use crate::shm::{Namespace, liveness};

mod parked;
mod reader;
mod writer;

pub(crate) use parked::park;
pub(crate) use reader::{HeldBlock, PoolReader, ReaderError};

/// The reader of a pooled handle being dropped while views of blocks held
/// under its participant index are alive: the handle is parked with it
/// until they are gone (see `parked`).
#[doc(hidden)]
#[derive(Debug)]
pub struct LiveViews(pub(crate) PoolReader);
pub use writer::MAX_SEGMENTS;
pub(crate) use writer::{LoanedBlock, PoolWriter, WriterError, block_bytes, check_options};

/// Blocks per segment when not configured.
pub const DEFAULT_BLOCKS_PER_SEGMENT: u32 = 8;
/// Segments per publisher when not configured.
pub const DEFAULT_MAX_SEGMENTS: u32 = 4;

/// The pool segments of `topic`, opened for a reclaim: the first dead
/// participant's opens them, the others' reuse them, so a reclaim of many
/// dead participants opens (and, behind a stuck process's exclusive lock,
/// waits for) each segment once.
struct ReclaimSegments<'a> {
    ns: &'a Namespace,
    topic: &'a str,
    me: OwnerToken,
    /// `None` until the first dead participant; then (file name, segment).
    open: Option<Vec<(String, pool_file::Segment)>>,
}

impl ReclaimSegments<'_> {
    /// Clears, in every pool segment of the topic, what dead participant
    /// `p` held and what dead loaners left; best effort (a segment that
    /// cannot be opened is skipped: it is gone, or not ours to repair).
    fn clear_index(&mut self, p: u32) {
        let (ns, topic) = (self.ns, self.topic);
        let segments = self.open.get_or_insert_with(|| {
            let Ok(names) = pool_file::list_segments(ns, topic) else {
                return Vec::new();
            };
            names
                .into_iter()
                .filter_map(|(name, owner, id)| {
                    match pool_file::open(
                        ns,
                        topic,
                        owner,
                        id,
                        crate::shm::files::LOCK_WAIT,
                        pool_file::Reading::Control,
                    ) {
                        Ok(Some(seg)) => Some((name, seg)),
                        Ok(None) => None,
                        Err(e) => {
                            log::debug!("topic {topic}: pool segment {name} skipped: {e:?}");
                            None
                        }
                    }
                })
                .collect()
        });
        for (name, seg) in segments.iter() {
            let r = seg
                .pool()
                .reclaim_dead(self.me, |t| liveness::is_alive(ns, t), 1u64 << p);
            if r.holds_cleared + r.loans_freed > 0 {
                log::info!(
                    "topic {topic}: pool segment {name}: cleared {} hold(s) of dead \
                     participant {p}, took back {} block(s) of dead writers",
                    r.holds_cleared,
                    r.loans_freed
                );
            }
        }
    }
}

/// The topic's reclaim of dead participants, with their pool holds cleared
/// first (see the module docs). Returns how many entries were freed.
pub(crate) fn reclaim_topic<W: Words>(
    ns: &Namespace,
    topic: &str,
    region: &TopicRegion<W>,
    me: OwnerToken,
) -> u32 {
    let mut segments = ReclaimSegments {
        ns,
        topic,
        me,
        open: None,
    };
    region.reclaim_dead_then(
        me,
        |t| liveness::is_alive(ns, t),
        |p| segments.clear_index(p),
    )
}

/// The next topic pool segment id of (namespace directory, topic) in this
/// process, shared by all the topic's handles here (see the module docs).
static SEGMENT_IDS: Mutex<Option<HashMap<(PathBuf, String), u32>>> = Mutex::new(None);

/// A segment id for a new segment of `topic`'s pool in `ns` that no handle
/// of this process has used; `None` once the ids below the process pool's
/// ([`PROCESS_SEGMENT_BASE`](crate::process_pool::PROCESS_SEGMENT_BASE))
/// are all used.
fn next_segment_id(ns: &Namespace, topic: &str) -> Option<u32> {
    // A panic while it was held left a map of counters: go on.
    let mut ids = SEGMENT_IDS.lock().unwrap_or_else(PoisonError::into_inner);
    let next = ids
        .get_or_insert_with(HashMap::new)
        .entry((ns.path().to_owned(), topic.to_owned()))
        .or_insert(0);
    let id = *next;
    (id < crate::process_pool::PROCESS_SEGMENT_BASE).then(|| {
        *next += 1;
        id
    })
}

/// One pool segment file of a topic, for tools (`horus topic list -v`).
#[derive(Debug, Clone)]
pub struct SegmentInfo {
    /// The file.
    pub path: std::path::PathBuf,
    /// The publishing process's pid (from its token).
    pub pid: u32,
    /// Is that process alive?
    pub publisher_alive: bool,
    /// Segment id in its pool.
    pub segment: u32,
    /// Bytes per block.
    pub block_size: u32,
    /// Blocks in the segment.
    pub blocks: u32,
    /// Blocks by state (a snapshot).
    pub usage: horus_nostd::pool::PoolUsage,
    /// Loans refused since it was made (every block busy).
    pub loans_failed: u64,
}

/// A file named as a pool segment of a topic that could not be read as one
/// (see [`segments_of`]): locked by another process, of another owner, not
/// a regular file, corrupt.
#[derive(Debug, Clone)]
pub struct UnreadableSegment {
    /// The file.
    pub path: std::path::PathBuf,
    /// Why, naming the file and the fix.
    pub why: String,
}

/// The pool segments of `topic` in namespace `ns` (mapped briefly, under
/// the shared lock every mapper holds; never created nor removed), and the
/// files named as its segments that could not be read as one.
pub fn segments_of(
    ns: &Namespace,
    topic: &str,
) -> Result<(Vec<SegmentInfo>, Vec<UnreadableSegment>), crate::error::TopicError> {
    let (mut out, mut unreadable) = (Vec::new(), Vec::new());
    for (name, owner, id) in pool_file::list_segments(ns, topic)? {
        let seg = match pool_file::open(
            ns,
            topic,
            owner,
            id,
            pool_file::RECEIVE_LOCK_WAIT,
            pool_file::Reading::Control,
        ) {
            Ok(Some(seg)) => seg,
            Ok(None) => continue, // removed meanwhile
            Err(e) => {
                unreadable.push(UnreadableSegment {
                    path: ns.path().join(name),
                    why: crate::pooled::from_segment(topic, e).to_string(),
                });
                continue;
            }
        };
        let pool = seg.pool();
        out.push(SegmentInfo {
            path: seg.path().to_owned(),
            pid: (owner.get() >> 32) as u32,
            publisher_alive: liveness::is_alive(ns, owner),
            segment: id,
            block_size: pool.layout().block_size(),
            blocks: pool.layout().blocks(),
            usage: pool.usage(),
            loans_failed: pool.loans_failed(),
        });
    }
    out.sort_by_key(|s| (s.pid, s.segment));
    unreadable.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((out, unreadable))
}
