//! What a send does when the ring refuses it: an evicted handle rejoins,
//! a handle without a lane reclaims dead processes' lanes, and what is
//! still refused is counted (the cold paths of [`Topic::send`]).

use std::cell::Cell;

use horus_nostd::JoinError;
use horus_nostd::RawHandle;
use horus_nostd::ring::{Refusal, SendError};

use super::Topic;
use crate::join::{TopicEvent, report, report_evicted};
use crate::payload::Payload;
use crate::shm::liveness;
use crate::shm::mapping::MappedWords;

impl<T: Payload> Topic<T> {
    /// After a refusal: an evicted handle rejoins and sends once more (the
    /// blackbox is told); a handle without a lane reclaims the entries (and
    /// lanes) of dead processes, at most once a second, and sends once more
    /// if any was freed. `h` is this topic's handle (the caller's only
    /// reference). What is still refused is the caller's to count.
    #[cold]
    #[inline(never)]
    pub(super) fn resend(
        &self,
        h: &mut RawHandle<MappedWords>,
        mut reason: Refusal,
        send: &dyn Fn(&mut RawHandle<MappedWords>) -> std::result::Result<(), SendError>,
    ) -> std::result::Result<(), Refusal> {
        if reason == Refusal::Evicted {
            reason = match self.rejoin_and_send(h, send) {
                Ok(()) => return Ok(()),
                Err(r) => r,
            };
        }
        if reason != Refusal::Evicted && once_a_second(&self.lane_reclaimed_ns) {
            let ns = &self.shared.namespace;
            let freed = liveness::ensure_registered(ns)
                .map(|me| crate::pool::reclaim_topic(ns, &self.name, &self.shared.region, me))
                .unwrap_or(0);
            if freed > 0 {
                report(&TopicEvent::Reclaimed {
                    namespace: ns.name(),
                    topic: &self.name,
                    freed,
                });
                return send(h).map_err(refusal);
            }
        }
        Err(reason)
    }

    /// After an eviction: a fresh entry, the message published there by
    /// `send`, the blackbox told.
    fn rejoin_and_send(
        &self,
        h: &mut RawHandle<MappedWords>,
        send: &dyn Fn(&mut RawHandle<MappedWords>) -> std::result::Result<(), SendError>,
    ) -> std::result::Result<(), Refusal> {
        let pid = u64::from(std::process::id());
        let rejoined = h.rejoin(pid, crate::time::now_ns());
        let sent = match rejoined {
            Ok(()) => send(h).map_err(refusal),
            Err(_) => Err(Refusal::Evicted),
        };
        let (namespace, topic) = (self.shared.namespace.name(), &*self.name);
        if sent.is_ok() || matches!(sent, Err(Refusal::NoLane { .. })) {
            // Rejoined; a refusal for want of a lane is the caller's to record.
            self.rejoin_failing.set(false);
            let outcome = format!("rejoined as participant {}", h.index());
            report_evicted(namespace, topic, &outcome, self.unsent.get());
            return sent;
        }
        if !self.rejoin_failing.replace(true) {
            // The value is the unsent count, this message included; later
            // ones are in `unsent_count`.
            let why = match rejoined {
                Err(JoinError::Full { .. }) => "topic full".to_owned(),
                Err(e) => e.to_string(),
                Ok(()) => "evicted again".to_owned(),
            };
            let outcome = format!("cannot rejoin ({why}), sends unsent");
            report_evicted(namespace, topic, &outcome, self.unsent.get() + 1);
        }
        sent
    }

    /// Counts a message `send` could not publish; a refusal for want of a
    /// lane (all held, or no memory for one) goes to the blackbox, at most
    /// once a second per handle, and the first of a handle to the log
    /// (stderr by default), so a program never loses messages unseen.
    #[cold]
    #[inline(never)]
    pub(crate) fn count_unsent(&self, reason: Refusal) {
        self.unsent.set(self.unsent.get() + 1);
        let for_want_of_a_lane =
            matches!(reason, Refusal::NoLane { .. } | Refusal::NoMemory { .. });
        if for_want_of_a_lane && self.refusal_recorded_ns.get() == 0 {
            log::warn!(
                "topic {}: {reason} (logged once for this handle; later ones are counted in \
                 unsent_count and recorded in the blackbox)",
                self.name
            );
        }
        if for_want_of_a_lane && once_a_second(&self.refusal_recorded_ns) {
            report(&TopicEvent::SendRefused {
                namespace: self.shared.namespace.name(),
                topic: &self.name,
                reason,
                unsent: self.unsent.get(),
            });
        }
    }
}

/// The refusal in a send error of a handle whose lengths are right.
pub(super) fn refusal(e: SendError) -> Refusal {
    match e {
        SendError::Refused(r) => r,
        // The callers pass checked lengths: nothing else can fail. Were it
        // to, nothing was published: an eviction is the safe reading (the
        // next send rejoins).
        _ => Refusal::Evicted,
    }
}

/// Whether a second has passed since `last` (then set to now).
fn once_a_second(last: &Cell<u64>) -> bool {
    let now = crate::time::now_ns();
    if last.get() != 0 && now.saturating_sub(last.get()) < 1_000_000_000 {
        return false;
    }
    last.set(now.max(1));
    true
}
