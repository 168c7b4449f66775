//! Emergency stop across every process of a namespace.
//!
//! The e-stop is the topic `_horus.estop` of [`EmergencyStop`] messages. Any
//! process raises or clears it by publishing ([`raise`], [`clear`], or
//! `horus estop --raise`, `horus estop --clear`); the state is that of the newest message by
//! timestamp (the monotonic clock is shared by all processes of a machine).
//! Of two messages with the same stamp, a raise wins. [`raise`] and
//! [`clear`] stamp their message to outrank every message the topic
//! retains, also one stamped in the future by a program that wrote another
//! clock there (all but a clear after a raise stamped `u64::MAX`, which
//! `horus estop --clear` reports).
//! A scheduler holds an [`EstopMonitor`]: it replays the retained messages
//! when it starts (so a scheduler started while the e-stop is engaged starts
//! stopped) and polls once per tick. Clearing is always explicit: nothing
//! clears an e-stop by timing out or by its raiser exiting.
//!
//! A scheduler also notices, before each node it ticks, an e-stop raised by
//! this process since its last poll (a node of its own round raised it):
//! [`raise`] counts its raises in a process-wide atomic, which costs the
//! scheduler one relaxed load per node (`RaiseWatch`); it then ends the
//! round and polls at once, so the nodes after the raiser do not tick.

use std::sync::atomic::{AtomicU64, Ordering, fence};

use crate::error::Result;
use crate::msgs::EmergencyStop;
use crate::system::{SYSTEM_PREFIX, fixed_str, str_of};
use crate::topic::Topic;

/// Name of the e-stop topic.
pub const ESTOP_TOPIC: &str = "_horus.estop";
const _: () = assert!(ESTOP_TOPIC.len() > SYSTEM_PREFIX.len());

fn open(namespace: Option<&str>) -> Result<Topic<EmergencyStop>> {
    super::open(ESTOP_TOPIC, 16, namespace)
}

/// Publishes a raise or a clear, stamped to outrank every message the topic
/// retains: now, or just after the newest retained stamp if that is later.
/// Every horus process stamps with the machine's monotonic clock, so a later
/// stamp was written by something else (`horus topic pub` with a wall-clock
/// `timestamp_ns`, say); were it left to outrank this message, a clear
/// would not clear, or, worse, a raise would not stop anything.
fn publish(namespace: Option<&str>, engaged: bool, reason: &str) -> Result<()> {
    let topic = open(namespace)?;
    topic.rewind();
    let mut newest = 0;
    while let Some(m) = topic.recv() {
        newest = newest.max(m.timestamp_ns);
    }
    topic.send(EmergencyStop {
        timestamp_ns: crate::time::now_ns().max(newest.saturating_add(1)),
        engaged: u8::from(engaged),
        _pad: [0; 7],
        reason: fixed_str(reason),
    });
    Ok(())
}

/// Raises the e-stop in the current namespace (`HORUS_NAMESPACE`), or in
/// `namespace`: every scheduler there stops its nodes within one tick; a
/// scheduler of this process (a node of it raised the e-stop) before the
/// next node it would tick.
pub fn raise(namespace: Option<&str>, reason: &str) -> Result<()> {
    log::info!("raising the e-stop ({reason})");
    let published = publish(namespace, true, reason);
    // SYNC(estop-raised-here): the message published before the count.
    RAISED_HERE.fetch_add(1, Ordering::Release);
    published
}

/// E-stops raised by this process, in any namespace (see [`RaiseWatch`]).
static RAISED_HERE: AtomicU64 = AtomicU64::new(0);

/// What a scheduler last saw of this process's e-stop raises: taken when it
/// polls its [`EstopMonitor`], asked before each node it ticks. A raise in
/// another namespace also answers `true` once; the scheduler's poll then
/// finds its own e-stop clear and goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RaiseWatch {
    seen: u64,
}

impl RaiseWatch {
    /// The raises made so far; taken before a poll, so a raise after it is
    /// a raise since.
    pub(crate) fn now() -> Self {
        // SYNC(estop-raised-here): a poll after this load reads the messages
        // of the raises it counts.
        Self {
            seen: RAISED_HERE.load(Ordering::Acquire),
        }
    }

    /// Whether this process raised an e-stop since [`now`](Self::now) took
    /// this watch: one relaxed load, and a fence only when it did.
    pub(crate) fn raised_since(self) -> bool {
        let raised = RAISED_HERE.load(Ordering::Relaxed) != self.seen;
        if raised {
            // SYNC(estop-raised-here): with the Relaxed load above, acquires
            // the Release increment it read: the poll that follows sees the message.
            fence(Ordering::Acquire);
        }
        raised
    }
}

/// Clears the e-stop: schedulers resume ticking.
pub fn clear(namespace: Option<&str>) -> Result<()> {
    log::info!("clearing the e-stop");
    publish(namespace, false, "cleared")
}

/// A change of the e-stop state seen by a monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EstopEvent {
    /// The e-stop was raised.
    Raised {
        /// The raiser's reason.
        reason: String,
    },
    /// The e-stop was cleared.
    Cleared,
    /// The e-stop was raised and cleared again since the last poll: it is
    /// clear now, but a follower must still act on the raise (a scheduler
    /// runs its nodes' `safe_state`, then resumes them).
    RaisedAndCleared {
        /// The raiser's reason.
        reason: String,
    },
}

/// Follows the e-stop state of a namespace.
#[derive(Debug)]
pub struct EstopMonitor {
    topic: Topic<EmergencyStop>,
    /// What a poll receives into, kept: a poll that finds nothing (a
    /// scheduler's every round) neither zeroes nor copies a message.
    scratch: EmergencyStop,
    engaged: bool,
    reason: String,
    newest_ns: u64,
}

impl EstopMonitor {
    /// Starts following the e-stop of the current namespace (or `namespace`),
    /// with the state its retained messages say.
    pub fn open(namespace: Option<&str>) -> Result<Self> {
        let topic = open(namespace)?;
        topic.rewind();
        let mut monitor = Self {
            topic,
            scratch: EmergencyStop::default(),
            engaged: false,
            reason: String::new(),
            newest_ns: 0,
        };
        monitor.poll();
        Ok(monitor)
    }

    /// Reads what was published since the last poll; returns the transition
    /// if the state changed, or [`EstopEvent::RaisedAndCleared`] if it was
    /// raised after the last poll and is clear again (a raise between two
    /// polls is never lost).
    #[inline]
    pub fn poll(&mut self) -> Option<EstopEvent> {
        // Nothing published since the last poll: no transition (a scheduler
        // polls every round; this is that round's whole cost).
        if !self.topic.recv_wire_into(&mut self.scratch) {
            return None;
        }
        self.poll_from(self.scratch)
    }

    /// [`poll`](Self::poll), whose first message since the last one is `first`.
    #[inline(never)]
    fn poll_from(&mut self, first: EmergencyStop) -> Option<EstopEvent> {
        let (was, seen_ns) = (self.engaged, self.newest_ns);
        // The newest raise newer than what the last poll saw: (time, reason).
        let mut raise: Option<(u64, String)> = None;
        let mut next = Some(first);
        while let Some(m) = next {
            if m.engaged != 0
                && m.timestamp_ns > seen_ns
                && raise.as_ref().is_none_or(|(t, _)| m.timestamp_ns >= *t)
            {
                raise = Some((m.timestamp_ns, str_of(&m.reason)));
            }
            // Lanes interleave: the newest timestamp wins, whatever the order
            // read; of two with the same stamp, a raise (when in doubt, stop).
            if m.timestamp_ns > self.newest_ns
                || (m.timestamp_ns == self.newest_ns && m.engaged != 0)
            {
                self.newest_ns = m.timestamp_ns;
                self.engaged = m.engaged != 0;
                self.reason = str_of(&m.reason);
            }
            next = self.topic.recv();
        }
        match (was, self.engaged) {
            (false, true) => Some(EstopEvent::Raised {
                reason: self.reason.clone(),
            }),
            (true, false) => Some(EstopEvent::Cleared),
            (false, false) => raise.map(|(_, reason)| EstopEvent::RaisedAndCleared { reason }),
            (true, true) => None,
        }
    }

    /// Whether the e-stop is engaged (as of the last poll).
    pub fn engaged(&self) -> bool {
        self.engaged
    }

    /// The reason given when it was last raised.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The e-stop state of a namespace right now: `Some(reason)` if engaged.
/// Where no e-stop topic exists the e-stop is clear, and none is created.
pub fn state(namespace: Option<&str>) -> Result<Option<String>> {
    if !super::exists(namespace, ESTOP_TOPIC)? {
        return Ok(None);
    }
    let m = EstopMonitor::open(namespace)?;
    Ok(m.engaged().then(|| m.reason().to_owned()))
}
