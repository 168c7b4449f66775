//! Memory backed on demand (`Words::RESERVE_ON_CLAIM`): `init` leaves the
//! lanes alone, a handle claiming a lane backs it (`Words::reserve`) before
//! anything touches it, receivers and tools touch only claimed lanes, and a
//! lane whose memory cannot be had refuses the send, touched by no one.
//!
//! The storage here models a sparse file: words not yet backed hold a
//! poison pattern (a finished stamp of sequence 1 in every word, so that a
//! read of an unbacked lane would deliver a message nobody sent, and a
//! write would show as a changed word), and backing them zeroes them, as
//! the kernel hands out zeroed pages.

#![cfg(not(loom))]

use std::ops::{Deref, Range};
use std::sync::Mutex;

use horus_nostd::message::{Message, TypeInfo};
use horus_nostd::msgs::Heartbeat;
use horus_nostd::region::{OutOfMemory, Words};
use horus_nostd::ring::{Refusal, SendRefused};
use horus_nostd::sync::{AtomicU64, Ordering};
use horus_nostd::{OwnerToken, TopicHandle, TopicLayout, TopicRegion};

/// What an unbacked word holds: `DONE` (state 2) of sequence 1.
const POISON: u64 = 1 << 2 | 2;

/// A region's words, backed on demand within a budget of words.
struct Sparse {
    words: Vec<AtomicU64>,
    backed: Mutex<Vec<bool>>,
    /// Words that may still be backed.
    budget: Mutex<usize>,
    /// Every `reserve` call, in order.
    calls: Mutex<Vec<Range<usize>>>,
}

impl Sparse {
    fn new(words: usize, budget: usize) -> Self {
        Self {
            words: (0..words).map(|_| AtomicU64::new(POISON)).collect(),
            backed: Mutex::new(vec![false; words]),
            budget: Mutex::new(budget),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> Vec<Range<usize>> {
        self.calls.lock().unwrap().clone()
    }

    /// Words from `from` on that are not backed and no longer hold the poison.
    fn unbacked_touched(&self, from: usize) -> Vec<usize> {
        let backed = self.backed.lock().unwrap();
        (from..self.words.len())
            .filter(|&i| !backed[i] && self.words[i].load(Ordering::Relaxed) != POISON)
            .collect()
    }
}

#[derive(Clone, Copy)]
struct OnDemand<'m>(&'m Sparse);

impl Deref for OnDemand<'_> {
    type Target = [AtomicU64];
    fn deref(&self) -> &[AtomicU64] {
        &self.0.words
    }
}

impl Words for OnDemand<'_> {
    const RESERVE_ON_CLAIM: bool = true;

    fn reserve(&self, words: Range<usize>) -> Result<(), OutOfMemory> {
        self.0.calls.lock().unwrap().push(words.clone());
        let mut backed = self.0.backed.lock().unwrap();
        let mut budget = self.0.budget.lock().unwrap();
        let new = backed[words.clone()].iter().filter(|b| !**b).count();
        if new > *budget {
            return Err(OutOfMemory);
        }
        *budget -= new;
        for i in words {
            if !backed[i] {
                backed[i] = true;
                self.0.words[i].store(0, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

type Handle<'m> = TopicHandle<Heartbeat, OnDemand<'m>>;

const LANES: u32 = 3;

fn layout() -> TopicLayout {
    TopicLayout::of_publishers::<Heartbeat>(4, 6, LANES).expect("geometry")
}

/// A region over `mem`, whose words before `control` (the header and
/// tables, which `init` writes) are backed as a new file's would be.
fn region(mem: &Sparse) -> TopicRegion<OnDemand<'_>> {
    TopicRegion::init_with(
        OnDemand(mem),
        layout(),
        TypeInfo::of::<Heartbeat>(),
        Heartbeat::FIELDS,
        0,
    )
    .expect("init")
}

fn join<'m>(region: &TopicRegion<OnDemand<'m>>, t: u64) -> Handle<'m> {
    TopicHandle::join(*region, OwnerToken::new(t).unwrap(), 0, 0).expect("join")
}

fn beat(sequence: u64) -> Heartbeat {
    Heartbeat {
        sequence,
        ..Default::default()
    }
}

fn drain(h: &mut Handle<'_>) -> Vec<u64> {
    let mut got: Vec<u64> = core::iter::from_fn(|| h.recv())
        .map(|m| m.sequence)
        .collect();
    got.sort_unstable();
    got
}

/// The first word of the lanes and the words of one lane, from the first
/// reservation (lane 0's).
fn lane_geometry(mem: &Sparse) -> (usize, usize) {
    let first = mem.calls().first().cloned().expect("a lane was reserved");
    (first.start, first.end - first.start)
}

/// The region's words, the first word of its lanes and the words of one
/// lane, from a first send in a region of its own.
fn probe_geometry() -> (usize, usize, usize) {
    let words = layout().region_words();
    let probe = Sparse::new(words, words);
    let mut h = join(&region(&probe), 1);
    h.send(beat(0)).unwrap();
    let (lanes_at, lane_words) = lane_geometry(&probe);
    (words, lanes_at, lane_words)
}

#[test]
fn lanes_are_backed_by_their_first_publisher_and_read_by_no_one_before() {
    let words = layout().region_words();
    let mem = Sparse::new(words, words);
    let region = region(&mem);
    let mut sub = join(&region, 1);
    let mut quiet = join(&region, 2);
    // Joining, receiving and the tools' counts touch no lane.
    assert_eq!(sub.recv(), None);
    assert_eq!(quiet.recv(), None);
    assert_eq!(region.published_count(), 0);
    assert!(mem.calls().is_empty(), "{:?}", mem.calls());

    let mut first = join(&region, 3);
    first.send(beat(10)).unwrap();
    let (lanes_at, lane_words) = lane_geometry(&mem);
    assert_eq!(mem.calls(), vec![lanes_at..lanes_at + lane_words]);
    assert_eq!(lanes_at + LANES as usize * lane_words, words);
    // The other lanes were never read or written.
    assert_eq!(mem.unbacked_touched(lanes_at), Vec::<usize>::new());
    for i in lanes_at + lane_words..words {
        assert_eq!(mem.words[i].load(Ordering::Relaxed), POISON, "word {i}");
    }

    let mut second = join(&region, 4);
    second.send(beat(20)).unwrap();
    second.send(beat(21)).unwrap();
    first.send(beat(11)).unwrap();
    assert_eq!(mem.calls().len(), 2, "one reservation per claim");
    assert_eq!(drain(&mut sub), [10, 11, 20, 21]);
    assert_eq!(region.published_count(), 4);
    sub.rewind();
    assert_eq!(drain(&mut sub), [10, 11, 20, 21]);
    assert_eq!(mem.unbacked_touched(lanes_at), Vec::<usize>::new());
    // Lane 2 was never claimed: untouched.
    let lane2 = lanes_at + 2 * lane_words..words;
    assert!(
        lane2
            .clone()
            .all(|i| mem.words[i].load(Ordering::Relaxed) == POISON),
        "lane 2 touched"
    );

    // A lane claimed again is reserved again (its words keep their messages).
    drop(first);
    let mut third = join(&region, 5);
    third.send(beat(30)).unwrap();
    assert_eq!(mem.calls()[2], lanes_at..lanes_at + lane_words);
    assert_eq!(drain(&mut quiet), [10, 11, 20, 21, 30]);
    assert_eq!(
        quiet.delivered_count() + quiet.dropped_count(),
        region.published_count()
    );
}

#[test]
fn a_lane_without_memory_refuses_the_send_and_stays_untouched() {
    let (words, lanes_at, lane_words) = probe_geometry();

    // Memory for one lane, no more.
    let mem = Sparse::new(words, lane_words);
    let region = region(&mem);
    let mut sub = join(&region, 1);
    let mut first = join(&region, 2);
    let mut second = join(&region, 3);
    first.send(beat(1)).unwrap();
    let refused = second.send(beat(2));
    let bytes = (lane_words * 8) as u64;
    assert_eq!(
        refused,
        Err(SendRefused {
            msg: beat(2),
            reason: Refusal::NoMemory { lane: 1, bytes }
        })
    );
    let sentence = Refusal::NoMemory { lane: 1, bytes }.to_string();
    assert!(
        sentence.contains(&format!("{bytes} bytes"))
            && sentence.contains("lane 1")
            && sentence.contains("horus clean --shm")
            && sentence.contains("--shm-size"),
        "{sentence}"
    );
    assert_eq!(region.lanes_in_use(), 1, "the refused lane was given back");
    assert_eq!(mem.unbacked_touched(lanes_at), Vec::<usize>::new());
    // Refused again, without touching it, as long as there is no memory.
    assert!(matches!(
        second.send(beat(3)),
        Err(SendRefused {
            reason: Refusal::NoMemory { lane: 1, .. },
            ..
        })
    ));
    // The first publisher leaves: its lane, backed already, is the second's.
    drop(first);
    second.send(beat(4)).unwrap();
    assert_eq!(drain(&mut sub), [1, 4]);
    assert_eq!(
        sub.delivered_count() + sub.dropped_count(),
        region.published_count()
    );
    assert_eq!(mem.unbacked_touched(lanes_at), Vec::<usize>::new());
}

#[test]
fn a_dead_holders_lane_is_reclaimed_and_reused_within_the_memory_it_had() {
    let (words, lanes_at, lane_words) = probe_geometry();

    let mem = Sparse::new(words, lane_words);
    let region = region(&mem);
    let mut dead = join(&region, 7);
    dead.send(beat(1)).unwrap();
    let mut sub = join(&region, 1);
    // Process 7 dies holding lane 0; the reclaim reserves it (backed
    // already: no new memory), abandons and frees it, and the next
    // publisher takes it within the memory there is.
    core::mem::forget(dead);
    let freed = region.reclaim_dead(OwnerToken::new(1).unwrap(), |t| t.get() != 7);
    assert_eq!(freed, 1);
    assert_eq!(region.lanes_in_use(), 0);
    let mut next = join(&region, 2);
    next.send(beat(2)).unwrap();
    assert_eq!(drain(&mut sub), [2]);
    assert_eq!(mem.unbacked_touched(lanes_at), Vec::<usize>::new());
}
