//! The one way into a topic: from a name to a validated, mapped region and
//! this process's owner token, for every handle kind ([`Topic`](crate::Topic),
//! [`DynTopic`](crate::dynamic::DynTopic), [`RawTopic`](crate::inspect::RawTopic)).
//!
//! [`open_joinable`] checks the name, opens the namespace (cleaning what dead
//! processes left, on this process's first use of it), finds the region
//! (mapped once per process and shared by its handles, or opened or created
//! and validated once: header, type and geometry, by
//! [`region_file::check_fits`] on the cached and the uncached path alike),
//! registers this process's liveness, reclaims the entries of dead
//! participants and reports that ([`TopicEvent`]). The caller joins a clone
//! of the region with its own handle kind; the handle holds its share of the
//! mapping.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use horus_nostd::{JoinError, OwnerToken, RawHandle};

use crate::error::{Result, TopicError};
use crate::message_type::MessageType;
use crate::shm::mapping::MappedWords;
use crate::shm::names::check_topic_name;
use crate::shm::region_file::{self, Geometry, MappedRegion};
use crate::shm::{Namespace, liveness};

/// Slots per publisher lane when not configured.
pub const DEFAULT_CAPACITY: u32 = 64;
/// Handles per topic when not configured.
pub const DEFAULT_MAX_PARTICIPANTS: u32 = 16;

/// Publisher lanes of a topic created without
/// [`max_publishers`](crate::topic::TopicBuilder::max_publishers) (at most
/// its participants): handles that publish at once. As many as the default
/// participants, so any handle of a default topic can publish (N:1 needs no
/// configuration). A lane's `capacity` slots are reserved only when a
/// handle first publishes in it; until then it costs address space only.
pub const DEFAULT_MAX_PUBLISHERS: u32 = DEFAULT_MAX_PARTICIPANTS;

/// One mapped region, shared by every handle of the topic in this process.
#[derive(Debug)]
pub(crate) struct SharedTopic {
    /// Validated once, when opened; every handle joins a clone of it (which
    /// shares the mapping).
    pub(crate) region: MappedRegion,
    pub(crate) namespace: Arc<Namespace>,
}

/// Where and how big a topic is opened (`None`: the defaults).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TopicOptions<'a> {
    pub namespace: Option<&'a str>,
    pub capacity: Option<u32>,
    pub participants: Option<u32>,
    pub publishers: Option<u32>,
}

/// What the caller wants of the region.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Want<'a> {
    /// A region of this type, created (with the options' geometry) if absent.
    Typed(&'a MessageType),
    /// The existing region, whatever its type (tools); never created, and
    /// the namespace is neither created nor cleaned.
    Existing,
}

/// [`open_joinable`] for a typed handle, which creates what is missing.
pub(crate) fn open_typed(
    name: &str,
    options: TopicOptions<'_>,
    ty: &MessageType,
) -> Result<(Arc<SharedTopic>, OwnerToken)> {
    match open_joinable(name, options, Want::Typed(ty))? {
        Some(joinable) => Ok(joinable),
        // A typed join creates the namespace and the region, so this is not
        // reached; were it, the region is missing.
        None => Err(TopicError::Io {
            path: PathBuf::from(name),
            op: "open (region missing)",
            error: std::io::ErrorKind::NotFound.into(),
        }
        .into()),
    }
}

/// The one join path (see the module docs): the process's shared region of
/// topic `name` and this process's owner token; `None` if the namespace or
/// the topic does not exist and `want` is [`Want::Existing`].
pub(crate) fn open_joinable(
    name: &str,
    options: TopicOptions<'_>,
    want: Want<'_>,
) -> Result<Option<(Arc<SharedTopic>, OwnerToken)>> {
    check_topic_name(name).map_err(|reason| TopicError::InvalidName {
        name: name.to_owned(),
        reason,
    })?;
    if let Want::Typed(ty) = want {
        crate::system::check_reserved(name, ty)?;
    }
    let ns_name = match options.namespace {
        Some(ns) => ns.to_owned(),
        None => Namespace::current_name()?,
    };
    let create = matches!(want, Want::Typed(_));
    let participants = options.participants.unwrap_or(DEFAULT_MAX_PARTICIPANTS);
    let geometry = Geometry {
        capacity: options.capacity.unwrap_or(DEFAULT_CAPACITY),
        participants,
        // The default never exceeds the participants; an explicit value
        // that does is the layout's typed error.
        publishers: options
            .publishers
            .unwrap_or(DEFAULT_MAX_PUBLISHERS.min(participants)),
        capacity_explicit: options.capacity.is_some(),
        participants_explicit: options.participants.is_some(),
        publishers_explicit: options.publishers.is_some(),
    };
    // `horus clean --shm` removes a namespace directory it finds empty: one
    // we are opening, or have just opened, before our region or liveness
    // file is in it (after that it is never empty). Making a directory or a
    // file in it then fails (ENOENT): open the namespace again, which makes
    // the directory anew. (Bounded: only a cleaner removing the directory
    // again and again, between every two of our steps, gets that far.)
    let mut attempts = 0;
    let (namespace, shared, me) = loop {
        attempts += 1;
        let retry = create && attempts < 16;
        let namespace = match open_namespace(&ns_name, create) {
            Ok(Some(namespace)) => namespace,
            Ok(None) => return Ok(None),
            Err(TopicError::Io { error, .. })
                if retry && error.kind() == std::io::ErrorKind::NotFound =>
            {
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let joined = shared_region(name, &namespace, geometry, want).and_then(|shared| {
            shared
                .map(|s| Ok((s, liveness::ensure_registered(&namespace)?)))
                .transpose()
        });
        match joined {
            Err(_) if retry && !namespace.is_current() => {}
            Err(e) => return Err(e.into()),
            Ok(None) => return Ok(None),
            Ok(Some((shared, me))) => break (namespace, shared, me),
        }
    };
    // Dead participants' pool holds are cleared before their entries are freed.
    let freed = crate::pool::reclaim_topic(&namespace, name, &shared.region, me);
    // A tool's join (nothing created) reports nothing: it leaves no record.
    if freed > 0 && create {
        report(&TopicEvent::Reclaimed {
            namespace: namespace.name(),
            topic: name,
            freed,
        });
    }
    Ok(Some((shared, me)))
}

/// What happened to a topic that a layer above may record. The topic layer
/// only reports; which events reach the blackbox (never, for instance, the
/// system topics' own, so the blackbox opening its topic cannot recurse) is
/// the system layer's decision ([`crate::system::blackbox::record_topic_event`],
/// wired in the crate root as `TOPIC_EVENTS`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum TopicEvent<'a> {
    /// `freed` participants of dead processes were reclaimed from `topic`
    /// by a typed join.
    Reclaimed {
        namespace: &'a str,
        topic: &'a str,
        freed: u32,
    },
    /// A handle of `topic` was evicted (another process judged this one
    /// dead and reclaimed its entry); `outcome` says what followed and
    /// `unsent` counts the messages not published meanwhile.
    Evicted {
        namespace: &'a str,
        topic: &'a str,
        outcome: &'a str,
        unsent: u64,
    },
    /// A send on `topic` published nothing for want of a lane: all lanes
    /// held ([`Refusal::NoLane`]) or no memory for one
    /// ([`Refusal::NoMemory`]); `unsent` counts the handle's messages not
    /// published so far.
    ///
    /// [`Refusal::NoLane`]: horus_nostd::Refusal::NoLane
    /// [`Refusal::NoMemory`]: horus_nostd::Refusal::NoMemory
    SendRefused {
        namespace: &'a str,
        topic: &'a str,
        reason: horus_nostd::Refusal,
        unsent: u64,
    },
}

/// Where topic events go: a function of the layer above.
pub(crate) type EventSink = fn(&TopicEvent<'_>);

/// Reports `event` to the sink the crate root wires in.
pub(crate) fn report(event: &TopicEvent<'_>) {
    (crate::TOPIC_EVENTS)(event);
}

/// Reports that a handle of `topic` was evicted (see [`TopicEvent::Evicted`]).
pub(crate) fn report_evicted(namespace: &str, topic: &str, outcome: &str, unsent: u64) {
    report(&TopicEvent::Evicted {
        namespace,
        topic,
        outcome,
        unsent,
    });
}

/// Joins the region of `shared`, topic `name`, as this process's
/// participant `me`: a handle of type `expected` (empty for a type-erased
/// one). Logged at debug with the topic's name and namespace (the core's
/// own line knows the region's type only).
pub(crate) fn join_handle(
    shared: &SharedTopic,
    me: OwnerToken,
    name: &str,
    expected: &str,
) -> Result<RawHandle<MappedWords>> {
    let pid = u64::from(std::process::id());
    let handle = RawHandle::join(shared.region.clone(), me, pid, crate::time::now_ns())
        .map_err(|e| join_error(e, name, expected, shared.region.words().path()))?;
    log::debug!(
        "topic {name} ({}) in namespace {}: joined as participant {}",
        shared.region.type_info().name,
        shared.namespace.name(),
        handle.index()
    );
    Ok(handle)
}

/// The error of a failed join of topic `name` (region file `path`) by a
/// handle of type `expected` (empty for a type-erased handle).
pub(crate) fn join_error(
    e: JoinError,
    name: &str,
    expected: &str,
    path: &std::path::Path,
) -> crate::Error {
    match e {
        JoinError::Full { max } => TopicError::Full {
            topic: name.to_owned(),
            max,
        },
        JoinError::WrongType { found, .. } => TopicError::TypeMismatch {
            topic: name.to_owned(),
            expected: expected.to_owned(),
            same_name: found.as_str() == expected,
            found: found.to_string(),
            path: path.to_owned(),
        },
        other => TopicError::Io {
            path: path.to_owned(),
            op: "join",
            error: std::io::Error::other(other.to_string()),
        },
    }
    .into()
}

/// The process's open namespace directories, by path (the base directory
/// can differ between calls: `HORUS_SHM_DIR`). With `create`, a missing
/// directory is created; without, it is `None`.
fn open_namespace(name: &str, create: bool) -> Result<Option<Arc<Namespace>>, TopicError> {
    static NAMESPACES: OnceLock<Mutex<HashMap<PathBuf, Arc<Namespace>>>> = OnceLock::new();
    let mut map = NAMESPACES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let path = Namespace::path_of(name);
    if let Some(ns) = map.get(&path) {
        // Still the directory we opened? (A test may have removed it.)
        if ns.is_current() {
            return Ok(Some(ns.clone()));
        }
    }
    if !create {
        // A tool looking: nothing is created or cleaned, nothing cached.
        return Ok(Namespace::open_existing(name)?.map(Arc::new));
    }
    let ns = Arc::new(Namespace::open(name)?);
    // First use of this namespace by this process: remove what dead
    // processes left in it (never what a live one holds). Best effort: a
    // failure to clean is no reason to refuse the topic.
    let _ = crate::shm::cleanup::clean_stale(&ns);
    map.insert(path, ns.clone());
    Ok(Some(ns))
}

type RegionKey = (PathBuf, String);

/// The process's mapping of the region, opened once and shared by handles;
/// for [`Want::Typed`], checked to fit (type, and geometry where explicit)
/// whether it was mapped already or is opened now.
fn shared_region(
    name: &str,
    namespace: &Arc<Namespace>,
    geometry: Geometry,
    want: Want<'_>,
) -> Result<Option<Arc<SharedTopic>>, TopicError> {
    static REGIONS: OnceLock<Mutex<HashMap<RegionKey, Weak<SharedTopic>>>> = OnceLock::new();
    let key = (namespace.path().to_owned(), name.to_owned());
    let mut regions = REGIONS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(shared) = regions.get(&key).and_then(Weak::upgrade) {
        if let Want::Typed(ty) = want {
            region_file::check_fits(&shared.region, name, geometry, ty)?;
        }
        return Ok(Some(shared));
    }
    let region = match want {
        Want::Typed(ty) => region_file::open_or_create(namespace, name, geometry, ty)?,
        Want::Existing => {
            match region_file::open_existing(namespace, name, crate::shm::files::LOCK_WAIT)? {
                Some(region) => region,
                None => return Ok(None),
            }
        }
    };
    let shared = Arc::new(SharedTopic {
        region,
        namespace: namespace.clone(),
    });
    regions.retain(|_, w| w.strong_count() > 0);
    regions.insert(key, Arc::downgrade(&shared));
    Ok(Some(shared))
}

/// A handle's exclusive use, as a `RefCell`'s borrow: [`take`](Self::take)
/// panics if the handle is in use already on this thread (a handle is not
/// `Sync`). A handle's `with_handle` holds one while its `&mut RawHandle`
/// lives, and that can run the program's code: the logger (a rejoin after
/// an eviction, a reclaim of dead processes' entries, the blackbox's own
/// handle are logged with the handle borrowed). A logger that used the same
/// handle (one it forwards records to) made a second `&mut` of it.
pub(crate) struct InUse<'a>(&'a std::cell::Cell<bool>);

impl<'a> InUse<'a> {
    /// Marks the handle in use until the guard drops (also on unwind);
    /// `name` (the topic's) is asked for only to say a nested use.
    #[inline(always)]
    pub(crate) fn take(flag: &'a std::cell::Cell<bool>, name: impl FnOnce() -> &'a str) -> Self {
        if flag.replace(true) {
            used_reentrantly(name());
        }
        Self(flag)
    }
}

impl Drop for InUse<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.set(false);
    }
}

#[cold]
#[inline(never)]
fn used_reentrantly(name: &str) -> ! {
    panic!(
        "topic {name}: this handle was used again while one of its own calls was running on \
         it (from the logger, which that call logged to?): a handle cannot be used from \
         code it runs; give the logger a handle of its own"
    )
}

/// The panic of a handle used in a child made by `fork()` (see `topic`'s module docs).
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn used_after_fork(name: &str, creator_pid: u32) -> ! {
    panic!("{}", fork_error(name, creator_pid))
}

/// Whether a handle made by process `creator_pid` in fork generation
/// `generation` may be used here: the error of one inherited through
/// `fork()` (what [`used_after_fork`] panics with), for callers that report
/// instead (the Python bindings).
pub(crate) fn check_process(
    name: &str,
    creator_pid: u32,
    generation: u64,
) -> Result<(), TopicError> {
    if liveness::fork_generation() == generation {
        Ok(())
    } else {
        Err(fork_error(name, creator_pid))
    }
}

fn fork_error(name: &str, creator_pid: u32) -> TopicError {
    TopicError::UsedAfterFork {
        topic: name.to_owned(),
        creator_pid,
        pid: std::process::id(),
    }
}
