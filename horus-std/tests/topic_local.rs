//! Topics within one process: one thread, several threads, handles joining
//! and leaving.

mod common;

use common::TestNs;
use horus::prelude::*;

message! {
    Sample { seq: u64, check: u64 }
}

fn sample(seq: u64) -> Sample {
    Sample { seq, check: !seq }
}

#[test]
fn same_thread_round_trip_and_own_messages() {
    let ns = TestNs::new("same_thread");
    let a: Topic<Sample> = Topic::builder("pair").namespace(&ns.name).build().unwrap();
    let b: Topic<Sample> = Topic::builder("pair").namespace(&ns.name).build().unwrap();
    assert_eq!(b.recv(), None);
    a.send(sample(1));
    assert_eq!(b.recv(), Some(sample(1)));
    assert_eq!(b.recv(), None);
    // A handle also receives what it published itself.
    assert_eq!(a.recv(), Some(sample(1)));
    assert_eq!((b.received_count(), b.dropped_count()), (1, 0));
}

#[test]
fn a_new_handle_receives_only_what_comes_after_it() {
    let ns = TestNs::new("after_join");
    let a: Topic<Sample> = Topic::builder("late").namespace(&ns.name).build().unwrap();
    a.send(sample(1));
    let b: Topic<Sample> = Topic::builder("late").namespace(&ns.name).build().unwrap();
    assert_eq!(b.recv(), None);
    a.send(sample(2));
    assert_eq!(b.recv(), Some(sample(2)));
}

#[test]
fn a_slow_reader_counts_exactly_what_it_lost() {
    let ns = TestNs::new("overwrite");
    let a: Topic<Sample> = Topic::builder("lossy")
        .namespace(&ns.name)
        .capacity(4)
        .build()
        .unwrap();
    let b: Topic<Sample> = Topic::builder("lossy").namespace(&ns.name).build().unwrap();
    for i in 1..=10 {
        a.send(sample(i));
    }
    let got: Vec<u64> = std::iter::from_fn(|| b.recv()).map(|m| m.seq).collect();
    // A lapped reader resumes at the oldest message that cannot be under
    // overwrite (head - capacity + 1), so it keeps the newest three.
    assert_eq!(got, vec![8, 9, 10]);
    assert_eq!(b.dropped_count(), 7);
    assert_eq!(b.received_count() + b.dropped_count(), 10);
}

#[test]
fn threads_n_to_n_lose_nothing_silently() {
    let ns = TestNs::new("threads_nn");
    const PUBS: u64 = 3;
    const SUBS: usize = 3;
    let per_pub: u64 = 20_000;
    let subs: Vec<Topic<Sample>> = (0..SUBS)
        .map(|_| {
            Topic::builder("nn")
                .namespace(&ns.name)
                .capacity(1024)
                .build()
                .unwrap()
        })
        .collect();
    let pubs: Vec<Topic<Sample>> = (0..PUBS)
        .map(|_| Topic::builder("nn").namespace(&ns.name).build().unwrap())
        .collect();
    let done = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for (p, topic) in pubs.into_iter().enumerate() {
            let done = &done;
            s.spawn(move || {
                for i in 1..=per_pub {
                    topic.send(Sample {
                        seq: (p as u64) << 32 | i,
                        check: !((p as u64) << 32 | i),
                    });
                }
                done.fetch_add(1, std::sync::atomic::Ordering::Release);
            });
        }
        for sub in subs {
            let done = &done;
            s.spawn(move || {
                let mut last = [0u64; PUBS as usize];
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::Acquire) == PUBS;
                    let mut got_any = false;
                    while let Some(m) = sub.recv() {
                        got_any = true;
                        assert_eq!(m.check, !m.seq, "torn message");
                        let p = (m.seq >> 32) as usize;
                        let i = m.seq & 0xffff_ffff;
                        assert!(i > last[p], "publisher {p}: {i} after {}", last[p]);
                        last[p] = i;
                    }
                    if finished && !got_any {
                        break;
                    }
                }
                assert_eq!(sub.received_count() + sub.dropped_count(), PUBS * per_pub);
            });
        }
    });
}

#[test]
fn handles_leave_and_their_slots_are_reused() {
    let ns = TestNs::new("reuse");
    for _ in 0..3 {
        let topics: Vec<Topic<Sample>> = (0..4)
            .map(|_| {
                Topic::builder("small")
                    .namespace(&ns.name)
                    .max_participants(4)
                    .build()
                    .unwrap()
            })
            .collect();
        let err = Topic::<Sample>::builder("small")
            .namespace(&ns.name)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("is full"), "{err}");
        drop(topics);
    }
}

static_assertions::assert_impl_all!(Topic<Sample>: Send);
static_assertions::assert_not_impl_any!(Topic<Sample>: Sync);
