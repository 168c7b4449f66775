//! Looking at topics without knowing their types: for the `horus` command,
//! language bindings and tests.
//!
//! [`topic_info`] and [`list_topics`] only read: they map each region,
//! holding the same shared lock as any user (so a cleaner cannot remove it
//! mid-read), and change nothing. [`RawTopic`] is a participant speaking
//! bytes, checked against the message size stored in the region; its
//! messages decode with the stored self-description ([`TopicInfo::fields`]).

use std::cell::{Cell, RefCell, UnsafeCell};
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::sync::Arc;

use horus_nostd::region::{SchemaField, Words};
use horus_nostd::ring::{FrameError, PayloadSizeError, Refusal, SendError};
use horus_nostd::{RawHandle, TopicRegion};

use crate::error::{Corruption, Result, TopicError};
use crate::join::{
    InUse, SharedTopic, TopicOptions, Want, join_handle, open_joinable, used_after_fork,
};
use crate::pool::PoolReader;
use crate::pooled::{BlockAt, BlockRef, PoolError, PooledKind, RawBlock};
use crate::serialized::schema::{Schema, SchemaError};
use crate::shm::mapping::MappedWords;
use crate::shm::names::check_topic_name;
use crate::shm::region_file;
use crate::shm::{Namespace, liveness};

/// A handle of a topic, as seen from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantInfo {
    /// Participant slot.
    pub index: u32,
    /// Process id.
    pub pid: u32,
    /// Has published.
    pub publisher: bool,
    /// Has received.
    pub subscriber: bool,
    /// Its process is alive (dead ones are reclaimed when a handle joins).
    pub alive: bool,
    /// When it joined (ns of the monotonic clock).
    pub joined_ns: u64,
    /// The node that holds it, as
    /// [`node_tag`](crate::system::registry::node_tag) of its name; 0 for a
    /// handle created outside any node (or by a version without the tag).
    pub node_tag: u64,
}

/// A topic, as seen from outside.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Region file.
    pub path: PathBuf,
    /// Message type name.
    pub type_name: String,
    /// Message type identity.
    pub type_id: u64,
    /// Message size, bytes.
    pub message_size: u32,
    /// Slots per publisher lane.
    pub capacity: u32,
    /// Most handles at once.
    pub max_participants: u32,
    /// Publisher lanes: most handles publishing at once.
    pub max_publishers: u32,
    /// Publisher lanes held now.
    pub lanes_in_use: u32,
    /// Region size, bytes.
    pub region_bytes: usize,
    /// Bytes of the region file in memory (the file is sparse: its tables,
    /// and the lanes that ever had a publisher).
    pub resident_bytes: u64,
    /// Messages published since creation.
    pub published: u64,
    /// Self-description (empty if the type had too many fields, or is serialized).
    pub fields: Vec<SchemaField>,
    /// The schema of a serialized type (see [`serialized`](mod@crate::serialized)); its
    /// messages are frames ([`RawTopic::recv_frame`]) to
    /// [`decode`](crate::serialized::decode). `None` for plain data.
    pub serialized: Option<Schema>,
    /// Current handles.
    pub participants: Vec<ParticipantInfo>,
    /// The block pool segments of every publisher, for a pooled topic (an
    /// image, tensor, ... topic: see [`PooledKind`]); empty otherwise.
    pub pool: Vec<crate::pool::SegmentInfo>,
    /// Files named as segments of this topic's pools that could not be read
    /// as one (locked by another process, of another owner, corrupt), each
    /// with its sentence: shown, never silently left out.
    pub pool_unreadable: Vec<crate::pool::UnreadableSegment>,
}

impl TopicInfo {
    /// The region's description; a serialized schema that does not decode
    /// is [`Corruption::BadSchema`].
    fn read(
        ns: &Namespace,
        name: &str,
        region: &TopicRegion<MappedWords>,
        path: PathBuf,
    ) -> Result<Self, TopicError> {
        let serialized = match read_schema(region) {
            None => None,
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                return Err(TopicError::Corrupt {
                    path,
                    reason: Corruption::BadSchema(e),
                });
            }
        };
        let type_info = region.type_info();
        let layout = region.layout();
        let participants = region
            .participants()
            .map(|p| ParticipantInfo {
                index: p.index,
                pid: u32::try_from(p.pid).unwrap_or(0),
                publisher: p.publisher,
                subscriber: p.subscriber,
                alive: p.owner.is_some_and(|t| liveness::is_alive(ns, t)),
                joined_ns: p.joined_ns,
                node_tag: p.holder,
            })
            .collect();
        let (pool, pool_unreadable) = match PooledKind::of_type(type_info.id) {
            None => Default::default(),
            Some(_) => crate::pool::segments_of(ns, name).unwrap_or_else(|e| {
                let path = ns.path().to_owned();
                let why = e.to_string();
                (
                    Vec::new(),
                    vec![crate::pool::UnreadableSegment { path, why }],
                )
            }),
        };
        Ok(Self {
            name: name.to_owned(),
            path,
            type_name: type_info.name.to_string(),
            type_id: type_info.id,
            message_size: type_info.size,
            capacity: layout.capacity(),
            max_participants: layout.participants(),
            max_publishers: layout.max_publishers(),
            lanes_in_use: region.lanes_in_use(),
            region_bytes: layout.region_bytes(),
            resident_bytes: rustix::fs::fstat(region.words().mapping().file())
                .map_or(0, |st| u64::try_from(st.st_blocks).unwrap_or(0) * 512),
            published: region.published_count(),
            fields: region.schema().collect(),
            serialized,
            participants,
            pool,
            pool_unreadable,
        })
    }

    /// Live handles that published.
    pub fn publishers(&self) -> impl Iterator<Item = &ParticipantInfo> {
        self.participants.iter().filter(|p| p.alive && p.publisher)
    }

    /// Live handles that received.
    pub fn subscribers(&self) -> impl Iterator<Item = &ParticipantInfo> {
        self.participants.iter().filter(|p| p.alive && p.subscriber)
    }
}

/// Describes topic `name` of namespace `ns`; `None` if it does not exist.
pub fn topic_info(ns: &Namespace, name: &str) -> Result<Option<TopicInfo>> {
    check_name(name)?;
    let Some(region) = region_file::open_existing(ns, name, region_file::INSPECT_LOCK_WAIT)? else {
        return Ok(None);
    };
    let path = region.words().path().to_owned();
    Ok(Some(TopicInfo::read(ns, name, &region, path)?))
}

/// Describes every topic of `ns`, sorted by name; a region that cannot be
/// read is reported with its error rather than hiding the others.
pub fn list_topics(
    ns: &Namespace,
) -> Result<Vec<(String, std::result::Result<TopicInfo, TopicError>)>> {
    let mut out = Vec::new();
    for name in ns.topic_names()? {
        let info = match topic_info(ns, &name) {
            Ok(Some(info)) => Ok(info),
            Ok(None) => continue, // removed meanwhile
            Err(crate::Error::Topic(e)) => Err(e),
            Err(other) => Err(TopicError::Io {
                path: ns.topic_path(&name),
                op: "inspect",
                error: std::io::Error::other(other.to_string()),
            }),
        };
        out.push((name, info));
    }
    Ok(out)
}

/// The schema of a serialized region, decoded from its untrusted bytes.
fn read_schema<W: Words>(region: &TopicRegion<W>) -> Option<Result<Schema, SchemaError>> {
    let mut bytes = vec![0u8; horus_nostd::layout::MAX_SERIALIZED_SCHEMA_BYTES];
    let len = region.serialized_schema(&mut bytes)?;
    Some(Schema::decode(&bytes[..len.min(bytes.len())]))
}

fn check_name(name: &str) -> Result<(), TopicError> {
    check_topic_name(name).map_err(|reason| TopicError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

/// A participant that sends and receives raw message bytes.
///
/// ```no_run
/// use horus::inspect::RawTopic;
/// let t = RawTopic::open("default", "wheel.encoders")?.expect("no such topic");
/// let mut buf = vec![0u8; t.message_size()];
/// if t.recv_bytes(&mut buf) == Ok(true) {
///     println!("{buf:?}");
/// }
/// # Ok::<(), horus::Error>(())
/// ```
pub struct RawTopic {
    /// The participant, holding its share of the mapping; dropped in `Drop`
    /// only in the fork generation that made it (as `Topic`'s).
    handle: UnsafeCell<ManuallyDrop<RawHandle<MappedWords>>>,
    shared: Arc<SharedTopic>,
    info: TopicInfo,
    /// Pool segments mapped to hold blocks (pooled topics).
    pool: RefCell<PoolReader>,
    /// The fork generation and process that made it: in a child made by
    /// `fork()` the participant entry (its cursors, its holder bit in the
    /// pools) is still the parent's.
    generation: u64,
    pid: u32,
    /// `handle` is borrowed (`with_handle`, see [`InUse`]).
    in_use: Cell<bool>,
}

impl RawTopic {
    /// Joins the existing topic `name` of namespace `ns`, whatever its
    /// type; `None` if absent. Nothing is created: it takes the join path of
    /// every handle ([`Topic`](crate::Topic)'s) in its mode for tools.
    pub fn open(ns: &str, name: &str) -> Result<Option<Self>> {
        let options = TopicOptions {
            namespace: Some(ns),
            ..TopicOptions::default()
        };
        let Some((shared, me)) = open_joinable(name, options, Want::Existing)? else {
            return Ok(None);
        };
        let path = shared.region.words().path();
        let info = TopicInfo::read(&shared.namespace, name, &shared.region, path.to_owned())?;
        let handle = join_handle(&shared, me, name, "")?;
        Ok(Some(Self {
            handle: UnsafeCell::new(ManuallyDrop::new(handle)),
            shared,
            info,
            pool: RefCell::new(PoolReader::default()),
            generation: liveness::fork_generation(),
            pid: std::process::id(),
            in_use: Cell::new(false),
        }))
    }

    /// The topic as it was when opened (type, fields, geometry).
    pub fn info(&self) -> &TopicInfo {
        &self.info
    }

    /// Bytes per message.
    pub fn message_size(&self) -> usize {
        self.info.message_size as usize
    }

    /// Publishes one message of exactly [`message_size`](Self::message_size) bytes.
    /// A handle evicted by a process that wrongly judged this one dead
    /// rejoins the topic and publishes there; the error says if it cannot.
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<(), SendError> {
        self.send_rejoining(|h| h.send_bytes(bytes))
    }

    /// `send` on the handle; after an eviction, once more on a fresh entry.
    fn send_rejoining(
        &self,
        send: impl Fn(&mut RawHandle<MappedWords>) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        self.with_handle(|h| match send(h) {
            Err(SendError::Refused(Refusal::Evicted)) => {
                h.rejoin(u64::from(std::process::id()), crate::now_ns())
                    .map_err(|_| SendError::Refused(Refusal::Evicted))?;
                send(h)
            }
            other => other,
        })
    }

    /// Receives the next message into `out` (exactly the message size);
    /// `Ok(false)` if none (then, on a pooled topic, the segments of dead
    /// publishers are unmapped now and then, so the cleaner can remove them;
    /// views of their blocks keep their own mapping).
    pub fn recv_bytes(&self, out: &mut [u8]) -> Result<bool, PayloadSizeError> {
        let got = self.with_handle(|h| h.recv_bytes(out));
        if matches!(got, Ok(false)) {
            if let Ok(mut pool) = self.pool.try_borrow_mut() {
                pool.idle(&self.shared.namespace);
            }
        }
        got
    }

    /// Receives the next message of a serialized topic into `buf` (exactly
    /// the message size) and returns its encoded bytes, for
    /// [`decode`](crate::serialized::decode) with [`TopicInfo::serialized`];
    /// `Ok(None)` if none.
    pub fn recv_frame<'b>(&self, buf: &'b mut [u8]) -> Result<Option<&'b [u8]>, FrameError> {
        self.with_handle(|h| h.recv_framed(buf))
    }

    /// Publishes the encoded bytes of one message of a serialized topic
    /// (from [`encode`](crate::serialized::encode)); rejoins after an
    /// eviction like [`send_bytes`](Self::send_bytes).
    pub fn send_frame(&self, body: &[u8]) -> Result<(), SendError> {
        self.send_rejoining(|h| h.send_framed(body))
    }

    /// Messages this handle lost since it joined.
    pub fn dropped_count(&self) -> u64 {
        self.with_handle(|h| h.dropped_count())
    }

    /// Replays what the topic retains (as [`Topic::rewind`](crate::Topic::rewind)):
    /// the next receives start at the oldest message each lane still holds.
    pub fn rewind(&self) {
        self.with_handle(|h| h.rewind())
    }

    /// Messages published on the topic since its creation (scans the region).
    pub fn published_count(&self) -> u64 {
        self.shared.region.published_count()
    }

    /// The kind of large message the topic carries, if it is a pooled
    /// topic (from its type identity).
    pub fn pooled_kind(&self) -> Option<PooledKind> {
        PooledKind::of_type(self.info.type_id)
    }

    /// Holds the block a pooled descriptor names (see
    /// [`PooledKind::decode`]): `Ok(None)` if it was recycled or its pool is
    /// gone (the message is lost: a drop), a typed error if the descriptor
    /// is refused.
    pub fn hold_block(
        &self,
        block: BlockRef,
    ) -> std::result::Result<Option<RawBlock<'_>>, PoolError> {
        let at = BlockAt {
            ns: &self.shared.namespace,
            topic: &self.info.name,
            participant: self.with_handle(|h| h.index()),
            kind: self.pooled_kind().map_or("pooled", PooledKind::name),
        };
        match at.hold(&mut self.pool.borrow_mut(), block) {
            Ok(held) => Ok(Some(RawBlock {
                held,
                _topic: std::marker::PhantomData,
            })),
            Err(None) => Ok(None),
            Err(Some(e)) => Err(e),
        }
    }

    /// `f` over the handle; panics in a child made by `fork()` (the entry
    /// is the parent's), as every handle does. Every method that touches
    /// the entry or holds a block comes through here.
    fn with_handle<R>(&self, f: impl FnOnce(&mut RawHandle<MappedWords>) -> R) -> R {
        if liveness::fork_generation() != self.generation {
            used_after_fork(&self.info.name, self.pid);
        }
        let _in_use = InUse::take(&self.in_use, || &self.info.name);
        // SAFETY: `RawTopic` is not `Sync` (UnsafeCell), so one thread at a
        // time; the closures above call the core's byte API, whose rejoin
        // may run the program's logger, which may use this handle again:
        // `_in_use` makes that a panic before a second reference is made, so
        // this is the only reference while it lives. The handle is dropped
        // only in `Drop`.
        f(unsafe { &mut *self.handle.get() })
    }
}

impl Drop for RawTopic {
    fn drop(&mut self) {
        if liveness::fork_generation() == self.generation {
            // SAFETY: dropped exactly once, here; `self.handle` is never
            // used again. (In a fork child the entry is the parent's: the
            // handle is left, as `Topic` leaves it.)
            unsafe { ManuallyDrop::drop(self.handle.get_mut()) };
        }
    }
}

impl std::fmt::Debug for RawTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawTopic")
            .field("name", &self.info.name)
            .field("type", &self.info.type_name)
            .finish_non_exhaustive()
    }
}
