//! The blackbox: a bounded record of anomalies per namespace, in shared memory.
//!
//! Records go to two topics: the frequent kinds (deadline misses, budget
//! overruns, lifecycle notes) to `_horus.blackbox`, the rare ones (panics,
//! node errors, e-stops, deaths, node control) to `_horus.blackbox.rare`
//! ([`AnomalyKind::is_frequent`]). Each writing process fills its own lane
//! in each (64 records; the oldest are overwritten), so thousands of
//! deadline misses never push a panic, an e-stop or a death out of the
//! record. A record is in shared memory the moment [`Blackbox::record`]
//! returns and survives a SIGKILL of its writer. Records carry the monotonic
//! time (ordering) and the wall-clock time (for humans). [`read`] replays
//! everything retained, sorted by time, and says how many records were
//! overwritten.

use crate::error::Result;
use crate::join::TopicEvent;
use crate::message;
use crate::system::{SYSTEM_PREFIX, fixed_str, str_of};
use crate::topic::Topic;
use horus_nostd::Refusal;

/// Name of the blackbox topic.
pub const BLACKBOX_TOPIC: &str = "_horus.blackbox";
/// Name of the blackbox topic of the rare kinds (see [`AnomalyKind::is_frequent`]).
pub const RARE_TOPIC: &str = "_horus.blackbox.rare";
/// Records of the frequent kinds each writing process keeps.
pub const RECORDS_PER_WRITER: u32 = 64;
/// Records of the rare kinds each writing process keeps, apart.
pub const RARE_RECORDS_PER_WRITER: u32 = 64;

message! {
    /// One blackbox record.
    BlackboxRecord {
        /// When, ns of the monotonic clock.
        timestamp_ns: u64,
        /// When, ns since the Unix epoch (wall clock, UTC).
        wall_ns: u64,
        /// A number that goes with the kind (lateness in ns, tick count, ...).
        value: u64,
        /// The writer's process id; for `process_died`, the dead process's.
        pid: u32,
        /// [`AnomalyKind`] code.
        kind: u32,
        /// The node concerned, NUL-padded (empty if none).
        node: [u8; 32],
        /// Free text, NUL-padded.
        detail: [u8; 80],
    }
}

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum AnomalyKind {
    /// A node was released late (value: lateness, ns).
    DeadlineMiss = 1,
    /// A node's tick ran past its budget (value: tick duration, ns).
    BudgetOverrun = 2,
    /// A node panicked.
    NodePanic = 3,
    /// A node returned an error (init, tick or shutdown).
    NodeError = 4,
    /// The e-stop was raised.
    EstopRaised = 5,
    /// The e-stop was cleared.
    EstopCleared = 6,
    /// A participant was found dead and reclaimed.
    ParticipantDead = 7,
    /// Not an anomaly: a lifecycle note (scheduler start, stop).
    Note = 8,
    /// A process died while its nodes ran (pid: the dead process's; value:
    /// its liveness token). See `registry::record_deaths`.
    ProcessDied = 9,
    /// A live handle's participant entry was reclaimed by someone who judged
    /// its process dead; it rejoined (value: messages it could not publish).
    ParticipantEvicted = 10,
    /// A node was paused, resumed, restarted or its process stopped at a
    /// request on the control topic (`horus node ...`), by the process
    /// that ran it (value: the requester's pid).
    NodeControl = 11,
    /// A handle's send found every publisher lane of its topic held (the
    /// topic's `max_publishers`), or no shared memory for the lane it
    /// claimed: the message was not published (value: messages it could not
    /// publish so far). Recorded at most once a second per handle.
    SendRefused = 12,
}

impl AnomalyKind {
    /// The kind of a record's code, if known.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => Self::DeadlineMiss,
            2 => Self::BudgetOverrun,
            3 => Self::NodePanic,
            4 => Self::NodeError,
            5 => Self::EstopRaised,
            6 => Self::EstopCleared,
            7 => Self::ParticipantDead,
            8 => Self::Note,
            9 => Self::ProcessDied,
            10 => Self::ParticipantEvicted,
            11 => Self::NodeControl,
            12 => Self::SendRefused,
            _ => return None,
        })
    }

    /// Short name, as `horus bb` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::DeadlineMiss => "deadline_miss",
            Self::BudgetOverrun => "budget_overrun",
            Self::NodePanic => "node_panic",
            Self::NodeError => "node_error",
            Self::EstopRaised => "estop_raised",
            Self::EstopCleared => "estop_cleared",
            Self::ParticipantDead => "participant_dead",
            Self::Note => "note",
            Self::ProcessDied => "process_died",
            Self::ParticipantEvicted => "participant_evicted",
            Self::NodeControl => "node_control",
            Self::SendRefused => "send_refused",
        }
    }

    /// The kinds that can come by the thousand (deadline misses, overruns,
    /// lifecycle notes); the others are kept apart so that these never
    /// push them out.
    pub fn is_frequent(self) -> bool {
        matches!(self, Self::DeadlineMiss | Self::BudgetOverrun | Self::Note)
    }

    /// Everything but [`AnomalyKind::Note`] and an operator's
    /// [`AnomalyKind::NodeControl`] is an anomaly.
    pub fn is_anomaly(self) -> bool {
        !matches!(self, Self::Note | Self::NodeControl)
    }
}

/// A process's writer to the blackbox.
#[derive(Debug)]
pub struct Blackbox {
    frequent: Topic<BlackboxRecord>,
    rare: Topic<BlackboxRecord>,
}

fn open_topic(namespace: Option<&str>, rare: bool) -> Result<Topic<BlackboxRecord>> {
    let (name, capacity) = if rare {
        (RARE_TOPIC, RARE_RECORDS_PER_WRITER)
    } else {
        (BLACKBOX_TOPIC, RECORDS_PER_WRITER)
    };
    super::open(name, capacity, namespace)
}

impl Blackbox {
    /// Opens the blackbox of the current namespace (or `namespace`).
    pub fn open(namespace: Option<&str>) -> Result<Self> {
        Ok(Self {
            frequent: open_topic(namespace, false)?,
            rare: open_topic(namespace, true)?,
        })
    }

    /// Writes a record; it is in shared memory when this returns.
    pub fn record(&self, kind: AnomalyKind, node: &str, detail: &str, value: u64) {
        self.record_for(std::process::id(), kind, node, detail, value);
    }

    /// Writes a record about process `pid` (not this one: a death it
    /// observed); it is in shared memory when this returns.
    pub fn record_for(&self, pid: u32, kind: AnomalyKind, node: &str, detail: &str, value: u64) {
        let topic = if kind.is_frequent() {
            &self.frequent
        } else {
            &self.rare
        };
        let wall_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        topic.send(BlackboxRecord {
            timestamp_ns: crate::time::now_ns(),
            wall_ns,
            value,
            pid,
            kind: kind as u32,
            node: fixed_str(node),
            detail: fixed_str(detail),
        });
    }
}

/// A record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlackboxEntry {
    /// When, ns of the monotonic clock.
    pub timestamp_ns: u64,
    /// When, ns since the Unix epoch (wall clock, UTC; 0 if the clock was before 1970).
    pub wall_ns: u64,
    /// Writer's process id.
    pub pid: u32,
    /// What; `None` for a code this build does not know.
    pub kind: Option<AnomalyKind>,
    /// The node, if any.
    pub node: String,
    /// Free text.
    pub detail: String,
    /// The kind's number.
    pub value: u64,
}

/// What the blackbox holds.
#[derive(Debug, Clone, Default)]
pub struct BlackboxDump {
    /// Retained records, oldest first.
    pub entries: Vec<BlackboxEntry>,
    /// Records written but overwritten since the blackbox was created.
    pub overwritten: u64,
}

/// What the system layer records of the topic layer's reports (wired in the
/// crate root): reclaimed participants and evicted handles go to the
/// namespace's blackbox, except for the system topics themselves, whose
/// evictions go to stderr and whose reclaims are not recorded (the blackbox
/// opening its own topic must not recurse). A blackbox that cannot be
/// opened is said on stderr.
pub(crate) fn record_topic_event(event: &TopicEvent<'_>) {
    match *event {
        TopicEvent::Reclaimed {
            namespace,
            topic,
            freed,
        } => {
            if topic.starts_with(SYSTEM_PREFIX) {
                return;
            }
            match Blackbox::open(Some(namespace)) {
                Ok(bb) => bb.record(
                    AnomalyKind::ParticipantDead,
                    "",
                    &format!("topic {topic}: reclaimed {freed} handle(s) of dead processes"),
                    u64::from(freed),
                ),
                Err(e) => eprintln!("horus: could not record reclaimed handles of {topic}: {e}"),
            }
        }
        TopicEvent::Evicted {
            namespace,
            topic,
            outcome,
            unsent,
        } => {
            // Short: the record holds 80 bytes of text.
            let text = format!("handle evicted (judged dead), {outcome}: topic {topic}");
            record_handle_event(
                namespace,
                topic,
                AnomalyKind::ParticipantEvicted,
                &text,
                unsent,
            );
        }
        TopicEvent::SendRefused {
            namespace,
            topic,
            reason,
            unsent,
        } => {
            let text = match reason {
                Refusal::NoLane { max_publishers } => {
                    format!("send refused, all {max_publishers} lanes held: topic {topic}")
                }
                Refusal::NoMemory { bytes, .. } => {
                    format!("send refused, no memory for a lane ({bytes} B): topic {topic}")
                }
                other => format!("send refused ({other}): topic {topic}"),
            };
            record_handle_event(namespace, topic, AnomalyKind::SendRefused, &text, unsent);
        }
    }
}

/// Records what happened to a handle of `topic` (`text`, `value`) in the
/// blackbox of `namespace`; a system topic's, and one the blackbox cannot
/// take, is said on stderr instead.
fn record_handle_event(namespace: &str, topic: &str, kind: AnomalyKind, text: &str, value: u64) {
    if topic.starts_with(SYSTEM_PREFIX) {
        eprintln!("horus: {text}");
        return;
    }
    match Blackbox::open(Some(namespace)) {
        Ok(bb) => bb.record(kind, "", text, value),
        Err(e) => eprintln!("horus: {text} (not recorded in the blackbox: {e})"),
    }
}

/// Reads every record the blackbox of the current namespace (or `namespace`)
/// retains. Reading joins the topic as a reader; it writes nothing, and
/// where no blackbox exists it creates none (the dump is empty).
pub fn read(namespace: Option<&str>) -> Result<BlackboxDump> {
    let mut dump = BlackboxDump::default();
    for (name, rare) in [(BLACKBOX_TOPIC, false), (RARE_TOPIC, true)] {
        if !super::exists(namespace, name)? {
            continue;
        }
        let topic = open_topic(namespace, rare)?;
        topic.rewind();
        let before = dump.entries.len();
        dump.entries
            .extend(std::iter::from_fn(|| topic.recv()).map(|r| BlackboxEntry {
                timestamp_ns: r.timestamp_ns,
                wall_ns: r.wall_ns,
                pid: r.pid,
                kind: AnomalyKind::from_code(r.kind),
                node: str_of(&r.node),
                detail: str_of(&r.detail),
                value: r.value,
            }));
        let read = (dump.entries.len() - before) as u64;
        // Sequences a reclaim reserved (one per writer found dead between two
        // records) are gaps, not lost records.
        let written = topic
            .published_count()
            .saturating_sub(topic.reserved_count());
        dump.overwritten += written.saturating_sub(read);
    }
    dump.entries.sort_by_key(|e| e.timestamp_ns);
    Ok(dump)
}
