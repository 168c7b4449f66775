//! The physical limit: one `u64` ping-ponged over two cache lines between
//! the same two cores, with nothing else (no ring, no stamps, no copy). A
//! stores `ping = i` and spins until `pong == i`; B spins until `ping == i`
//! and stores `pong = i`. Timed exactly like every other row.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Res;
use crate::child::{self, arg};
use crate::stats::{self, STOP, Samples};
use crate::sys;

/// One word alone on its cache line.
#[repr(C, align(64))]
#[derive(Default)]
struct Line(AtomicU64);

/// The two lines: A writes `ping`, B writes `pong`.
#[repr(C)]
#[derive(Default)]
struct Lines {
    ping: Line,
    pong: Line,
}

const MAP_LEN: usize = 4096;
const _: () = assert!(std::mem::size_of::<Lines>() == 128 && MAP_LEN >= 128);

fn pinger(l: &Lines, warmup: usize, samples: usize) -> Samples {
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

fn ponger(l: &Lines) {
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
pub fn threads(warmup: usize, samples: usize) -> Samples {
    let lines = Lines::default();
    // B must be on its core before A spins: under SCHED_FIFO a new thread
    // that starts on A's core would never run.
    let pinned = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            sys::pin(sys::CORE_B);
            pinned.wait();
            ponger(&lines);
        });
        pinned.wait();
        pinger(&lines, warmup, samples)
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
        // 128 bytes long (checked in `open`); `Lines` is two `AtomicU64`s on
        // their own lines, for which any bit pattern (zero from the new file)
        // is valid; it is only accessed atomically, by both processes, and it
        // lives as long as `self`.
        unsafe { &*self.map.as_ptr().cast::<Lines>() }
    }
}

/// Two processes sharing one `/dev/shm` file, pinned to cores A and B.
pub fn processes(warmup: usize, samples: usize) -> Res<Samples> {
    let path = std::path::PathBuf::from(format!("/dev/shm/hbench_raw_{}", std::process::id()));
    let mapped = Mapped::open(&path, true)?;
    let result = (|| {
        let mut peer = child::spawn("raw-pong", &[path.display().to_string()])?;
        peer.expect("ready")?;
        let s = pinger(mapped.lines(), warmup, samples);
        peer.finish()?;
        Ok(s)
    })();
    let _ = std::fs::remove_file(&path);
    result
}

/// Child role `raw-pong PATH`.
pub fn child_pong(args: &[String]) -> Res<()> {
    let path: String = arg(args, 0)?;
    let mapped = Mapped::open(std::path::Path::new(&path), false)?;
    child::say("ready");
    ponger(mapped.lines());
    child::say("done");
    Ok(())
}
