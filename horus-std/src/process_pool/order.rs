//! Which topic handle a message of the process pool will be sent on,
//! predicted from where its maker's earlier messages went (see "Which
//! segment a constructor loans from" in the [module docs](super)).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Sends a thread remembers per size class.
const HISTORY: usize = 16;
/// The longest cycle of handles [`SendOrder`] recognises.
const MAX_CYCLE: usize = 8;

thread_local! {
    /// Per size class: where this thread's messages of that class went.
    static ORDERS: std::cell::RefCell<HashMap<u32, Arc<Mutex<SendOrder>>>> =
        std::cell::RefCell::new(HashMap::new());
}

/// Where one thread's messages of one size class are sent: the handles of
/// its last sends and how many of its messages are made and not yet sent
/// or dropped. A thread's messages may be sent from other threads, hence
/// the mutex (uncontended: one thread makes, usually the same one sends).
#[derive(Debug, Default)]
struct SendOrder {
    /// [`TopicLink`](super::TopicLink) ids of the last [`HISTORY`] sends,
    /// the oldest first.
    sent_to: std::collections::VecDeque<u64>,
    /// Messages made and neither sent nor dropped yet.
    pending: usize,
}

impl SendOrder {
    /// The handle the `nth` next send will most likely be on (0: the next): the
    /// latest sends repeat a cycle of handles (one handle for a node publishing
    /// on one topic; left, right for a stereo camera), and the next ones go on
    /// repeating it. Of the cycles of up to [`MAX_CYCLE`] handles, the one that
    /// explains the most of the latest sends is taken (the shortest of equals),
    /// provided it has repeated at least once or is the whole history of a
    /// thread's first sends (each on another handle): after its order changes,
    /// until the new order repeats, the latest handle is predicted. No history:
    /// nothing.
    fn predicted(&self, nth: usize) -> Option<u64> {
        let sent = &self.sent_to;
        let n = sent.len();
        let latest = *sent.back()?;
        // How many of the latest sends repeat the one `c` before them.
        let repeats = |c: usize| (c..n).rev().take_while(|&i| sent[i] == sent[i - c]).count();
        // A thread's first sends, each on another handle, are its cycle.
        let first_sends = (1..n).all(|i| !sent.range(..i).any(|&l| l == sent[i]));
        let cycle = (1..=MAX_CYCLE.min(n))
            .map(|c| (c, repeats(c) + c))
            .filter(|&(c, explained)| explained > c || (c == n && first_sends))
            .max_by_key(|&(c, explained)| (explained, std::cmp::Reverse(c)));
        Some(cycle.map_or(latest, |(c, _)| sent[n - c + nth % c]))
    }

    fn sent(&mut self, link: u64) {
        if self.sent_to.len() == HISTORY {
            self.sent_to.pop_front();
        }
        self.sent_to.push_back(link);
    }
}

/// A message's share of its maker's [`SendOrder`]: counted pending while
/// it lives; [`bind`](super::bind) records where it is sent.
pub(super) struct Made(Arc<Mutex<SendOrder>>);

impl Made {
    /// A new message of class `class` made by this thread, and the handle
    /// it will most likely be sent on.
    pub(super) fn new(class: u32) -> (Self, Option<u64>) {
        let order = ORDERS.with(|o| o.borrow_mut().entry(class).or_default().clone());
        let predicted = {
            let mut o = lock_order(&order);
            o.pending += 1;
            o.predicted(o.pending - 1)
        };
        (Self(order), predicted)
    }

    pub(super) fn sent_on(&self, link: u64) {
        lock_order(&self.0).sent(link);
    }
}

impl Drop for Made {
    /// Sent or dropped: no longer pending.
    fn drop(&mut self) {
        let mut o = lock_order(&self.0);
        o.pending = o.pending.saturating_sub(1);
    }
}

fn lock_order(order: &Mutex<SendOrder>) -> std::sync::MutexGuard<'_, SendOrder> {
    // A panic while it was held leaves a history at worst: go on.
    order.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(sent: &[u64]) -> SendOrder {
        let mut o = SendOrder::default();
        sent.iter().for_each(|&l| o.sent(l));
        o
    }

    fn next(o: &SendOrder, n: usize) -> Vec<Option<u64>> {
        (0..n).map(|k| o.predicted(k)).collect()
    }

    #[test]
    fn the_next_sends_repeat_the_shortest_cycle_of_the_history() {
        assert_eq!(next(&order(&[]), 2), [None, None]);
        // One topic: always it.
        assert_eq!(next(&order(&[7, 7, 7]), 3), [Some(7); 3]);
        // Stereo: left, right, left, right, ...
        assert_eq!(next(&order(&[1, 2]), 3), [Some(1), Some(2), Some(1)]);
        assert_eq!(next(&order(&[1, 2, 1]), 2), [Some(2), Some(1)]);
        // Three cameras, a full history (the oldest sends forgotten).
        let three: Vec<u64> = (0..40).map(|i| 10 + i % 3).collect();
        let o = order(&three);
        assert_eq!(o.sent_to.len(), HISTORY);
        assert_eq!(next(&o, 4), [Some(11), Some(12), Some(10), Some(11)]);
        // The longest cycle recognised, and one longer: its latest handle.
        let longest: Vec<u64> = (0..16).map(|i| i % MAX_CYCLE as u64).collect();
        assert_eq!(order(&longest).predicted(1), Some(1));
        let longer: Vec<u64> = (0..16).map(|i| i % (MAX_CYCLE as u64 + 1)).collect();
        assert_eq!(order(&longer).predicted(1), Some(6));
        // A thread's first sends, no cycle repeated yet: they are the cycle.
        assert_eq!(next(&order(&[1, 2, 3]), 2), [Some(1), Some(2)]);
        // The order changed (new handles 3, 4): the latest handle until
        // the new cycle repeats, then the new cycle.
        let mut o = order(&[1, 2, 1, 2, 1, 2, 3]);
        assert_eq!(o.predicted(0), Some(3));
        o.sent(4);
        assert_eq!(o.predicted(0), Some(4));
        o.sent(3);
        assert_eq!(next(&o, 2), [Some(4), Some(3)]);
    }
}
