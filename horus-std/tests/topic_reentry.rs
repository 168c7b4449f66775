//! A handle's call that runs the program's logger (an eviction's rejoin, a
//! reclaim of dead processes' entries: both logged, with the handle borrowed
//! mutably) must not let that logger use the same handle: a logger that
//! forwards records to a topic (one held in a thread-local) used the handle
//! through a second `&mut` while the first was live, undefined behaviour.
//! Now such a use panics, as a `RefCell` borrowed twice does.
//!
//! A file of its own: it installs the process's one logger.

mod common;

use std::cell::{Cell, RefCell};

use common::TestNs;
use horus::prelude::*;
use horus_nostd::{OwnerToken, TopicRegion};

message! {
    Note { seq: u64 }
}

thread_local! {
    /// The topic the logger forwards to (and the test publishes on).
    static TOPIC: RefCell<Option<Topic<Note>>> = const { RefCell::new(None) };
    /// Sends the logger made while a send was running.
    static FORWARDED: Cell<u32> = const { Cell::new(0) };
}

/// Forwards every record of this thread to [`TOPIC`].
struct Forward;

impl log::Log for Forward {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, _: &log::Record<'_>) {
        let _ = TOPIC.try_with(|t| {
            if let Ok(t) = t.try_borrow() {
                if let Some(t) = t.as_ref() {
                    t.send(Note { seq: 99 });
                    FORWARDED.set(FORWARDED.get() + 1);
                }
            }
        });
    }
    fn flush(&self) {}
}

#[test]
fn a_logger_that_sends_on_the_handle_that_is_logging_is_refused() {
    log::set_logger(&Forward).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    let ns = TestNs::new("reentry");
    let topic = Topic::<Note>::builder("log")
        .namespace(&ns.name)
        .build()
        .unwrap();
    topic.send(Note { seq: 1 });
    // Another process wrongly judges ours dead and reclaims our entry (as
    // `topic_eviction.rs` does, over our own mapping of the file): the next
    // send rejoins, which the core logs.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(topic.path())
        .unwrap();
    // SAFETY: a shared mapping of the region file, used only through
    // `words`, by whole-word atomics as every user of the file; it stays
    // mapped until the end of the test.
    let mut map = unsafe { memmap2::MmapMut::map_mut(&file) }.unwrap();
    let len = map.len();
    // SAFETY: valid for `len` bytes while `map` lives, page-aligned, and
    // accessed by atomic words only.
    let words = unsafe { horus_nostd::region::words_from_raw(map.as_mut_ptr(), len) }.unwrap();
    let region = TopicRegion::attach::<Note>(words).unwrap();
    let liar = OwnerToken::new(0x7777_0000_0001).unwrap();
    assert_eq!(region.reclaim_dead(liar, |_| false), 1);

    TOPIC.with(|t| *t.borrow_mut() = Some(topic));
    let sent = std::panic::catch_unwind(|| {
        TOPIC.with(|t| t.borrow().as_ref().unwrap().send(Note { seq: 2 }));
    });
    let forwarded = FORWARDED.get();
    let topic = TOPIC.with(|t| t.borrow_mut().take()).unwrap();
    let msg = match &sent {
        Ok(()) => String::new(),
        Err(p) => p.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(
        sent.is_err() && msg.contains("used again while"),
        "the logger's send on the handle that was logging ran ({forwarded} forwarded; \
         panic: {msg:?})"
    );
    assert_eq!(forwarded, 0);
    // The handle is usable again afterwards.
    log::set_max_level(log::LevelFilter::Off);
    topic.send(Note { seq: 3 });
    drop(topic);
}
