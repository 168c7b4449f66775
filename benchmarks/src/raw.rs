//! The physical limits, timed exactly like every other row, between the same
//! two cores, as threads or as processes:
//!
//! - [`Kind::Word`]: one `u64` ping-ponged over two cache lines, with nothing
//!   else (no ring, no stamps, no copy). A stores `ping = i` and spins until
//!   `pong == i`; B spins until `ping == i` and stores `pong = i`.
//! - [`Kind::Seqlock64`]: a 64-byte payload each way through a one-slot
//!   seqlock (the stamp and eight payload words, 72 bytes over the fewest
//!   lines possible: two adjacent ones), copied with relaxed atomic words and
//!   validated by re-reading the stamp, and nothing else (no lanes, no mask,
//!   no cursors, no handles). Around it, per hop, no more than HORUS's
//!   harness does: one word set in a message of zeros, one word compared,
//!   and B answers with its own message, not an echo. What a 64-byte
//!   message costs the hardware; the difference to a HORUS row is what our
//!   code costs.
//! - [`Kind::HeldBlock`]: a zero-copy message a reader holds, each way: a
//!   one-word descriptor slot, then a hold on the block's control line
//!   ([`crate::raw_held`]): the limit of a large-message row in HORUS's
//!   layout. [`Kind::HeldInSlot`]: the same with the hold and state words in
//!   the slot's line.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering, fence};

use crate::Res;
use crate::child::{self, arg};
use crate::raw_held::{HeldWay, HoldIn};
use crate::stats::{self, STOP, Samples};
use crate::sys;

/// One word alone on its cache line.
#[repr(C, align(64))]
#[derive(Default)]
struct Line(AtomicU64);

/// Which limit a row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One word each way.
    Word,
    /// A 64-byte payload each way through a one-slot seqlock.
    Seqlock64,
    /// A held block each way, the hold on the block's control line
    /// ([`crate::raw_held`]).
    HeldBlock,
    /// The same, the hold in the descriptor slot's line.
    HeldInSlot,
}

impl Kind {
    /// As the report names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Word => "raw ping-pong",
            Self::Seqlock64 => "raw seqlock 64 B",
            Self::HeldBlock => "raw held block",
            Self::HeldInSlot => "raw held block, hold in the slot's line",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Self::Word => "word",
            Self::Seqlock64 => "seqlock64",
            Self::HeldBlock => "held",
            Self::HeldInSlot => "held-in-slot",
        }
    }

    fn parse(s: &str) -> Res<Self> {
        match s {
            "word" => Ok(Self::Word),
            "seqlock64" => Ok(Self::Seqlock64),
            "held" => Ok(Self::HeldBlock),
            "held-in-slot" => Ok(Self::HeldInSlot),
            _ => Err(format!("unknown raw kind {s}").into()),
        }
    }
}

/// Payload words of the seqlock row (64 bytes).
const WORDS: usize = 8;

/// A one-writer seqlock slot: `stamp` is `2 i` once message `i` is complete
/// and `2 i - 1` while it is being written (the writer owns it); the 72 bytes
/// span two adjacent lines of one 128-byte block.
#[repr(C, align(128))]
#[derive(Default)]
struct SeqSlot {
    stamp: AtomicU64,
    words: [AtomicU64; WORDS],
}

/// Everything the limits use: A writes `ping`, `sping` and `hping`, B the others.
#[repr(C)]
#[derive(Default)]
struct Lines {
    ping: Line,
    pong: Line,
    sping: SeqSlot,
    spong: SeqSlot,
    hping: HeldWay,
    hpong: HeldWay,
}

const MAP_LEN: usize = 4096;
const _: () = assert!(std::mem::size_of::<Lines>() <= MAP_LEN);

impl SeqSlot {
    /// Publishes message `i` (the only writer of this slot).
    #[inline]
    fn publish(&self, i: u64, payload: &[u64; WORDS]) {
        // SYNC(raw-seq-odd): the odd stamp is ordered before the payload
        // stores by the Release fence; a reader that sees any new word then
        // sees a changed stamp on its Acquire re-check.
        self.stamp.store(2 * i - 1, Ordering::Relaxed);
        fence(Ordering::Release);
        for (w, v) in self.words.iter().zip(payload) {
            w.store(*v, Ordering::Relaxed);
        }
        // SYNC(raw-seq-stamp): payload visible before the even stamp.
        self.stamp.store(2 * i, Ordering::Release);
    }

    /// Spins until message `i` is complete, then copies it into `out`;
    /// retries a copy a writer overlapped.
    #[inline]
    fn receive(&self, i: u64, out: &mut [u64; WORDS]) {
        loop {
            // SYNC(raw-seq-stamp)
            if self.stamp.load(Ordering::Acquire) != 2 * i {
                spin_loop();
                continue;
            }
            for (o, w) in out.iter_mut().zip(&self.words) {
                *o = w.load(Ordering::Relaxed);
            }
            // SYNC(raw-seq-odd): the copy is ordered before the re-check.
            fence(Ordering::Acquire);
            if self.stamp.load(Ordering::Relaxed) == 2 * i {
                return;
            }
        }
    }
}

fn pinger(kind: Kind, l: &Lines, warmup: usize, samples: usize) -> Samples {
    match kind {
        Kind::Word => word_pinger(l, warmup, samples),
        Kind::Seqlock64 => seq_pinger(l, warmup, samples),
        Kind::HeldBlock => held_pinger(l, HoldIn::Block, warmup, samples),
        Kind::HeldInSlot => held_pinger(l, HoldIn::Slot, warmup, samples),
    }
}

fn ponger(kind: Kind, l: &Lines) {
    match kind {
        Kind::Word => word_ponger(l),
        Kind::Seqlock64 => seq_ponger(l),
        Kind::HeldBlock => held_ponger(l, HoldIn::Block),
        Kind::HeldInSlot => held_ponger(l, HoldIn::Slot),
    }
}

fn held_pinger(l: &Lines, at: HoldIn, warmup: usize, samples: usize) -> Samples {
    let s = stats::record(warmup, samples, |i| {
        l.hping.publish(i, at);
        if l.hpong.receive(i, at) == Some(i) {
            Ok(())
        } else {
            Err(())
        }
    });
    l.hping.stop();
    s.unwrap_or_else(|()| panic!("raw held block: the echo differs from the message"))
}

fn held_ponger(l: &Lines, at: HoldIn) {
    for i in 1.. {
        match l.hping.receive(i, at) {
            Some(stamp) => l.hpong.publish(stamp, at),
            None => return,
        }
    }
}

/// Message `seq` of the seqlock row: the stamp word, then zeros, as the
/// HORUS rows' `Bench64::with_seq` builds it (a constant but for one word).
#[inline]
fn seq_message(seq: u64) -> [u64; WORDS] {
    let mut m = [0; WORDS];
    m[0] = seq;
    m
}

/// Side A of the seqlock row: per hop exactly what HORUS's harness does
/// around its `send` and `recv` (`horus_rows::Side`): build the message
/// (one word set), publish it, receive the answer (all eight words, the
/// stamp re-checked) and compare its first word with the round trip.
fn seq_pinger(l: &Lines, warmup: usize, samples: usize) -> Samples {
    let mut last = 0;
    let mut back = [0u64; WORDS];
    let s = stats::record(warmup, samples, |i| {
        l.sping.publish(i, &seq_message(i));
        l.spong.receive(i, &mut back);
        last = i;
        if back[0] == i { Ok(()) } else { Err(()) }
    });
    l.sping.publish(last + 1, &seq_message(STOP));
    s.unwrap_or_else(|()| panic!("raw seqlock: the answer is not the round trip's"))
}

/// Side B: receives message `i` (all eight words, re-checked) and answers
/// with a message of its own built the same way, not an echo of the copy
/// (HORUS's ponger sends `with_seq(i)`; an echo would make each store wait
/// for the loads before it).
fn seq_ponger(l: &Lines) {
    let mut msg = [0u64; WORDS];
    for i in 1.. {
        l.sping.receive(i, &mut msg);
        if msg[0] == STOP {
            return;
        }
        l.spong.publish(i, &seq_message(i));
    }
}

fn word_pinger(l: &Lines, warmup: usize, samples: usize) -> Samples {
    let s = stats::record(warmup, samples, |i| {
        // SYNC(raw-ping): pairs with B's Acquire load of `ping`.
        l.ping.0.store(i, Ordering::Release);
        // SYNC(raw-pong): pairs with B's Release store of `pong`.
        while l.pong.0.load(Ordering::Acquire) != i {
            spin_loop();
        }
        Ok::<(), ()>(())
    });
    l.ping.0.store(STOP, Ordering::Release);
    s.unwrap_or_else(|()| unreachable!())
}

fn word_ponger(l: &Lines) {
    for i in 1.. {
        loop {
            // SYNC(raw-ping)
            match l.ping.0.load(Ordering::Acquire) {
                STOP => return,
                v if v == i => break,
                _ => spin_loop(),
            }
        }
        // SYNC(raw-pong)
        l.pong.0.store(i, Ordering::Release);
    }
}

/// Two threads of this process, pinned to cores A and B.
pub fn threads(kind: Kind, warmup: usize, samples: usize) -> Samples {
    let lines = Lines::default();
    // B must be on its core before A spins: under SCHED_FIFO a new thread
    // that starts on A's core would never run.
    let pinned = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            sys::pin(sys::CORE_B);
            pinned.wait();
            ponger(kind, &lines);
        });
        pinned.wait();
        pinger(kind, &lines, warmup, samples)
    })
}

/// The lines in a mapped `/dev/shm` file, as `MAP_LEN` bytes of atomics.
struct Mapped {
    map: memmap2::MmapMut,
}

impl Mapped {
    fn open(path: &std::path::Path, create: bool) -> Res<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        if create {
            file.set_len(MAP_LEN as u64)?;
        }
        // SAFETY: the file is ours (created by the parent for this row, 4 KiB,
        // never truncated while mapped); both processes only ever access it
        // through the atomics of `lines()`.
        let map = unsafe { memmap2::MmapMut::map_mut(&file)? };
        if map.len() < MAP_LEN {
            return Err("raw ping-pong file too short".into());
        }
        Ok(Self { map })
    }

    fn lines(&self) -> &Lines {
        // SAFETY: the mapping is page-aligned (so 64-byte aligned) and at least
        // `size_of::<Lines>()` bytes long (checked in `open`), and `Lines` is
        // only `AtomicU64`s (and padding), for which any bit pattern (zero from the new file)
        // is valid; it is only accessed atomically, by both processes, and it
        // lives as long as `self`.
        unsafe { &*self.map.as_ptr().cast::<Lines>() }
    }
}

/// Two processes sharing one `/dev/shm` file, pinned to cores A and B.
pub fn processes(kind: Kind, warmup: usize, samples: usize) -> Res<Samples> {
    let path = std::path::PathBuf::from(format!("/dev/shm/hbench_raw_{}", std::process::id()));
    let mapped = Mapped::open(&path, true)?;
    let result = (|| {
        let args = [path.display().to_string(), kind.arg().to_owned()];
        let mut peer = child::spawn("raw-pong", &args)?;
        peer.expect("ready")?;
        let s = pinger(kind, mapped.lines(), warmup, samples);
        peer.finish()?;
        Ok(s)
    })();
    let _ = std::fs::remove_file(&path);
    result
}

/// Child role `raw-pong PATH KIND`.
pub fn child_pong(args: &[String]) -> Res<()> {
    let path: String = arg(args, 0)?;
    let kind = Kind::parse(&arg::<String>(args, 1)?)?;
    let mapped = Mapped::open(std::path::Path::new(&path), false)?;
    child::say("ready");
    ponger(kind, mapped.lines());
    child::say("done");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_limits_run_as_threads() {
        for kind in [
            Kind::Word,
            Kind::Seqlock64,
            Kind::HeldBlock,
            Kind::HeldInSlot,
        ] {
            let s = threads(kind, 10, 200);
            assert_eq!(s.one_way().count, 200);
        }
    }

    #[test]
    fn seqlock_slots_take_two_lines() {
        assert_eq!(std::mem::offset_of!(Lines, sping) % 128, 0);
        assert!(std::mem::size_of::<AtomicU64>() * (1 + WORDS) <= 128);
    }
}
