//! Races between registering, creating and cleaning, across threads and
//! processes, `fork()` without `exec`, and programs spawned while topics are
//! created.
//!
//! The stress tests run cleaners in a loop (threads of this process and
//! child processes) while other threads register liveness or create and
//! drop topics, and check after every step that nothing live was judged dead
//! or removed. They are bounded in rounds and run under the watchdog.

mod common;

use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Peer, TestNs, next_command, say, watchdog};
use horus::image::{Encoding, Image, ImageTopic};
use horus::prelude::*;
use horus::shm::{Namespace, clean_namespace, liveness};

message! {
    Gamma { g: u64 }
    Delta { d: u32, e: u32 }
}

/// Registrations per registrant thread.
const ROUNDS: usize = 150;
/// Topic openings per creator thread (the replacement window is narrower).
const REPLACE_ROUNDS: u64 = 1000;
/// Topics created while another thread spawns children.
const INHERIT_ROUNDS: u32 = 300;

/// Panics unless a file is at `path` and someone (we) holds a lock on it
/// that excludes an exclusive one.
fn assert_held(path: &Path, what: &str) {
    let f = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("{what}: {} is gone ({e})", path.display()));
    let r = rustix::fs::flock(
        f.as_fd(),
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    );
    assert_eq!(
        r,
        Err(rustix::io::Errno::WOULDBLOCK),
        "{what}: {} is not locked by its live owner",
        path.display()
    );
}

/// One pass of a cleaner over every namespace whose name starts with
/// `prefix` and ends with `suffix` (the other tests of this binary run in
/// parallel in namespaces of their own).
fn clean_all(prefix: &str, suffix: &str) {
    for name in Namespace::list_all().unwrap_or_default() {
        if name.starts_with(prefix) && name.ends_with(suffix) {
            if let Ok(Some(ns)) = Namespace::open_existing(&name) {
                let _ = clean_namespace(&ns, false);
            }
        }
    }
}

/// Cleaners: `threads` threads here and `procs` child processes, looping
/// over the namespaces `prefix*suffix` until finished.
struct Cleaners {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<usize>>,
    peers: Vec<Peer>,
}

impl Cleaners {
    fn start(prefix: &str, suffix: &str, threads: usize, procs: usize) -> Self {
        let mut peers: Vec<Peer> = (0..procs)
            .map(|_| Peer::spawn("cleaner", "unused", &[prefix, suffix]))
            .collect();
        for p in &mut peers {
            p.expect("cleaning", 60);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let (stop, prefix, suffix) = (stop.clone(), prefix.to_owned(), suffix.to_owned());
                std::thread::spawn(move || {
                    let mut passes = 0;
                    while !stop.load(Ordering::Relaxed) {
                        clean_all(&prefix, &suffix);
                        passes += 1;
                    }
                    passes
                })
            })
            .collect();
        Self {
            stop,
            threads,
            peers,
        }
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            assert!(t.join().expect("cleaner thread") > 0);
        }
        for p in &mut self.peers {
            p.wait_success(60);
        }
    }
}

/// Issue item 1: a cleaner probing a liveness file between its creation and
/// its lock used to delete it, leaving the process "dead" for everyone.
#[test]
fn a_registering_process_is_never_judged_dead_by_racing_cleaners() {
    let _w = watchdog(Duration::from_secs(300), "the liveness race test");
    let prefix = format!("t{}_", std::process::id());
    let cleaners = Cleaners::start(&prefix, "_reg", 2, 2);
    let registrants: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..ROUNDS {
                    let tns = TestNs::new("reg");
                    let ns = Namespace::open(&tns.name).unwrap();
                    let token = liveness::ensure_registered(&ns).unwrap();
                    let lock = ns.path().join("proc").join(liveness::lock_file_name(token));
                    assert_held(&lock, "a registered process's liveness file");
                    liveness::unregister(&ns);
                    assert!(!lock.exists(), "unregister left {}", lock.display());
                }
            })
        })
        .collect();
    for r in registrants {
        r.join().expect("registrant");
    }
    cleaners.finish();
}

/// Issue item 2: a cleaner unlinked a *name* after locking a file; if the
/// name was replaced in between by a new live region, the live one went.
#[test]
fn cleaners_never_remove_a_live_region_that_replaced_a_stale_one() {
    let _w = watchdog(Duration::from_secs(300), "the region replacement race test");
    let tns = TestNs::new("replace");
    let cleaners = Cleaners::start(&tns.name, "", 2, 2);
    let creators: Vec<_> = (0..4)
        .map(|i| {
            let ns = tns.name.clone();
            std::thread::spawn(move || {
                let name = format!("c{i}");
                for round in 0..REPLACE_ROUNDS {
                    // Alternate types on one name too: opening a stale region
                    // of the other type replaces it (`try_remove_stale`).
                    let path = if i == 0 && round % 2 == 1 {
                        let t: Topic<Delta> = Topic::builder(&name).namespace(&ns).build().unwrap();
                        assert_held(t.path(), "a live region");
                        t.send(Delta { d: 1, e: 2 });
                        assert_eq!(t.recv(), Some(Delta { d: 1, e: 2 }));
                        t.path().to_owned()
                    } else {
                        let t: Topic<Gamma> = Topic::builder(&name).namespace(&ns).build().unwrap();
                        assert_held(t.path(), "a live region");
                        t.send(Gamma { g: round });
                        assert_eq!(t.recv(), Some(Gamma { g: round }));
                        t.path().to_owned()
                    };
                    assert!(path.ends_with(format!("{name}.topic")));
                }
            })
        })
        .collect();
    for c in creators {
        c.join().expect("creator");
    }
    cleaners.finish();
}

/// Stale regions of one type (their only user SIGKILLed) opened with
/// another type by four processes at the same moment: exactly one replaces
/// each, the others join the new region. A failed non-blocking upgrade of
/// the shared lock used to be final, so all but the last replacer got a
/// type mismatch against "a running process" that was only another
/// replacer.
#[test]
fn processes_replacing_one_stale_region_together_all_join_it() {
    const ROUNDS: usize = 24;
    const REPLACERS: usize = 4;
    let _w = watchdog(Duration::from_secs(300), "the stale replacement test");
    let tns = TestNs::new("stale_together");
    let mut holder = Peer::spawn("holder", &tns.name, &[&ROUNDS.to_string()]);
    holder.expect("holding", 60);
    // The replacers' first use of the namespace is before the holder dies
    // (a process's first use auto-cleans stale regions).
    let mut replacers: Vec<_> = (0..REPLACERS)
        .map(|_| Peer::spawn("replacer", &tns.name, &[]))
        .collect();
    for r in &mut replacers {
        r.expect("ready", 60);
    }
    holder.kill();
    for round in 0..ROUNDS {
        // All open `r{round}` when the monotonic clock passes `at`.
        let at = horus::now_ns() + 20_000_000;
        for r in &mut replacers {
            r.tell(&format!("open r{round} {at}"));
        }
        for r in &mut replacers {
            let said = r.expect("opened", 60).join(" ");
            assert_eq!(said, "ok", "round {round}: {said}");
        }
        for r in &mut replacers {
            r.tell("close");
        }
        for r in &mut replacers {
            r.expect("closed", 60);
        }
    }
}

/// Issue item 10: a `Topic` inherited by a child made by `fork()` refuses
/// to be used there; the child gets an identity of its own and does not
/// disturb the parent's handle or liveness. Runs in a child of the test
/// (single-threaded, so the fork is clean).
#[test]
fn a_topic_used_after_fork_is_refused_and_the_child_gets_its_own_identity() {
    let _w = watchdog(Duration::from_secs(120), "the fork test");
    let ns = TestNs::new("fork");
    let mut child = Peer::spawn("fork", &ns.name, &[]);
    child.expect("FORK_OK", 60);
    child.wait_success(60);
}

/// Forks: the child runs `child` (its panics silenced: the tests catch
/// the ones they expect) and leaves with `_exit` of the code it returns; the
/// parent waits for it and returns its pid and that code. Only for a child
/// role of this binary (`--test-threads=1`): one test thread and libtest's
/// main thread, which only waits, so no lock the child needs is held.
fn run_in_fork(child: impl FnOnce() -> i32) -> (i32, i32) {
    // SAFETY: see above: nothing holds a lock the child needs; the child
    // runs `child` and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        std::panic::set_hook(Box::new(|_| {}));
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(99);
        // SAFETY: `_exit` ends this forked process without running the
        // parent's atexit handlers or destructors twice.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "fork child died: {status:#x}");
    (pid, libc::WEXITSTATUS(status))
}

/// A `RawTopic` (the tools' handle) inherited by a child made by `fork()`
/// refuses to be used there, and dropping it there leaves the parent's
/// participant entry alone, as a `Topic` does. Was a hole: the child's drop
/// freed the parent's entry (its index, the holder bit of the parent's
/// block views, free for another handle to join at) and the child's
/// receives used the parent's entry, cursors and holder bit.
#[test]
fn a_raw_topic_inherited_through_fork_is_refused_and_its_drop_leaves_the_parent_entry() {
    let _w = watchdog(Duration::from_secs(120), "the raw topic fork test");
    let ns = TestNs::new("forkraw");
    let mut child = Peer::spawn("fork_raw", &ns.name, &[]);
    child.expect("FORK_RAW_OK", 60);
    child.wait_success(60);
}

fn fork_raw_child() {
    let t: Topic<Gamma> = Topic::new("r").unwrap();
    let ns_name = Namespace::current_name().unwrap();
    let raw = horus::inspect::RawTopic::open(&ns_name, "r")
        .unwrap()
        .expect("the topic just made");
    let dir = Namespace::open(&ns_name).unwrap();
    let mine = || {
        horus::inspect::topic_info(&dir, "r")
            .unwrap()
            .unwrap()
            .participants
            .iter()
            .filter(|p| p.pid == std::process::id() && p.alive)
            .count()
    };
    assert_eq!(mine(), 2, "the Topic and the RawTopic");
    let (_, code) = run_in_fork(|| {
        let mut buf = vec![0u8; raw.message_size()];
        let used =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| raw.recv_bytes(&mut buf)));
        let code = match used {
            Ok(_) => 1,
            Err(p) => {
                let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
                if msg.contains("before fork()") { 0 } else { 2 }
            }
        };
        // SAFETY: in the child, `raw` is this process's own copy of the
        // parent's handle, used never again after this read (the child
        // leaves with `_exit`, which runs no destructor): a move.
        drop(unsafe { std::ptr::read(&raw) });
        code
    });
    assert_eq!(
        code, 0,
        "fork child: 1 = inherited RawTopic receive accepted, 2 = wrong panic message"
    );
    assert_eq!(
        mine(),
        2,
        "the child's drop freed the parent's RawTopic entry"
    );
    t.send(Gamma { g: 7 });
    let mut buf = vec![0u8; raw.message_size()];
    assert_eq!(raw.recv_bytes(&mut buf), Ok(true));
    drop(raw);
    drop(t);
    say("FORK_RAW_OK");
}

fn fork_child() {
    let t: Topic<Gamma> = Topic::new("f").unwrap();
    let parent_token = liveness::own_token();
    let dir = Namespace::open(&Namespace::current_name().unwrap()).unwrap();
    let (pid, code) = run_in_fork(|| {
        let sent =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.send(Gamma { g: 1 })));
        let mut code = match sent {
            Ok(()) => 1,
            Err(p) => {
                let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
                if msg.contains("Topic `f`") && msg.contains("before fork()") {
                    0
                } else {
                    2
                }
            }
        };
        match Topic::<Gamma>::new("f") {
            Ok(own) => {
                own.send(Gamma { g: 2 });
                if own.recv() != Some(Gamma { g: 2 }) {
                    code |= 4;
                }
                if liveness::own_token() == parent_token {
                    code |= 8;
                }
            }
            Err(_) => code |= 16,
        }
        // Dropping the inherited handle must leave the parent's entry.
        // SAFETY: in the child, `t` is this process's own copy of the
        // parent's handle, used never again after this read (the child
        // leaves with `_exit`, which runs no destructor): a move.
        drop(unsafe { std::ptr::read(&t) });
        code
    });
    assert_eq!(
        code, 0,
        "fork child: 1 = inherited send accepted, 2 = wrong panic message, 4 = own topic \
         broken, 8 = same token as parent, 16 = own topic refused"
    );
    // The parent's handle, participant entry and liveness are intact.
    t.send(Gamma { g: 3 });
    let mut got = Vec::new();
    while let Some(m) = t.recv() {
        got.push(m.g);
    }
    assert!(got.contains(&3), "{got:?}");
    let info = horus::inspect::topic_info(&dir, "f").unwrap().unwrap();
    let mine = info
        .participants
        .iter()
        .filter(|p| p.pid == std::process::id() && p.alive)
        .count();
    assert_eq!(mine, 1, "{:?}", info.participants);
    let proc_dir = dir.path().join("proc");
    assert_held(
        &proc_dir.join(liveness::lock_file_name(parent_token)),
        "the parent's liveness file after the child exited",
    );
    let child_files = std::fs::read_dir(&proc_dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&format!("{pid}-")))
        .count();
    assert_eq!(child_files, 1, "the child made no liveness file of its own");
    drop(t);
    say("FORK_OK");
}

/// A child made by `fork()` that never uses HORUS (a `multiprocessing`
/// worker, a daemon) must not keep its parent alive to everyone: it held a
/// copy of the parent's liveness lock descriptor, so after the parent was
/// SIGKILLed its lock stayed held, and its participant entries, lanes and
/// pool holds were never reclaimed, for as long as the child lived.
#[test]
fn a_fork_child_that_never_uses_horus_does_not_keep_its_dead_parent_alive() {
    let _w = watchdog(Duration::from_secs(120), "the fork keeper test");
    let ns = TestNs::new("forkkeep");
    let mut parent = Peer::spawn("fork_keeper", &ns.name, &[]);
    let words = parent.expect("FORKED", 60);
    let (Some(child), Some(token)) = (
        words.first().and_then(|w| w.parse::<i32>().ok()),
        words.get(1).and_then(|w| w.parse::<u64>().ok()),
    ) else {
        panic!("bad line from the forking process: {words:?}");
    };
    let child = Sleeper(child);
    let token = horus_nostd::OwnerToken::new(token).expect("a token");
    let dir = Namespace::open(&ns.name).unwrap();
    assert!(
        liveness::is_alive(&dir, token),
        "the parent looks dead while alive"
    );
    parent.kill();
    assert!(child.running(), "the forked child ended with its parent");
    common::wait_until(10, "the killed parent to be judged dead", || {
        !liveness::is_alive(&dir, token)
    });
    assert!(
        child.running(),
        "the child ended before the verdict: nothing was shown"
    );
}

/// The forked sleeper: killed when dropped (a failed assertion included),
/// and waited for until it has exited, so that its copies of the region's
/// descriptors are closed before the namespace is cleaned up.
struct Sleeper(i32);

impl Sleeper {
    /// Running: there, and not a zombie (its new parent may never reap it).
    fn running(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.0))
            .is_ok_and(|stat| !stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z')))
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        // SAFETY: `kill` with a pid and a signal; the sleeper is ours to end
        // (it also ends by itself within a minute).
        unsafe { libc::kill(self.0, libc::SIGKILL) };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.running() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Large messages a process holds when it forks (a received view, a loan,
/// an `Image::new`) are its parent's in the child: reading them there
/// panics with the fork sentence, dropping them there changes nothing in
/// the parent, whose holds and loans stay exactly as they were (no block
/// recycled under its view, none handed out twice), and writes through
/// pointers taken before the fork (a numpy array's) stay the child's.
#[test]
fn large_messages_inherited_through_fork_stay_the_parents() {
    let _w = watchdog(Duration::from_secs(120), "the fork views test");
    let ns = TestNs::new("forkviews");
    let mut child = Peer::spawn("fork_views", &ns.name, &[]);
    child.expect("FORK_VIEWS_OK", 60);
    child.wait_success(60);
}

fn fork_views_child() {
    let (w, h) = (640, 480);
    let publ = ImageTopic::builder("fv")
        .blocks_per_segment(2)
        .max_segments(1)
        .build()
        .unwrap();
    let sub: Topic<Image> = Topic::new("fv").unwrap();
    let mut first = publ.loan(w, h, Encoding::Rgb8).unwrap();
    first.data_mut().fill(1);
    publ.try_send(first).unwrap();
    let view = sub.recv().expect("the first image");
    let mut loan = publ.loan(w, h, Encoding::Rgb8).unwrap();
    loan.data_mut().fill(2);
    let mut made = Image::new(w, h, "rgb8");
    made.data_mut().fill(3);
    let busy = publ.busy_blocks();
    assert_eq!(busy, 2, "the view's block and the loan's");
    // Where a numpy array over them would point, kept across the fork.
    let (at_loan, at_made) = (loan.data_mut().as_mut_ptr(), made.data_mut().as_mut_ptr());
    let (_, code) = run_in_fork(|| {
        // SAFETY: both point into blocks mapped (and kept mapped) by the
        // messages this child inherited; no reference to those bytes is
        // alive here. The writes must stay the child's (`fork_private`).
        unsafe {
            at_loan.write_bytes(77, 64);
            at_made.write_bytes(77, 64);
        }
        let refused = |read: &dyn Fn() -> u8| match std::panic::catch_unwind(
            std::panic::AssertUnwindSafe(read),
        ) {
            Ok(_) => false,
            Err(p) => p
                .downcast_ref::<String>()
                .is_some_and(|m| m.contains("before fork()") && m.contains("copy the data")),
        };
        let mut code = 0;
        if !refused(&|| view.data()[0]) {
            code |= 1;
        }
        if !refused(&|| loan.data()[0]) {
            code |= 2;
        }
        if !refused(&|| made.data()[0]) {
            code |= 4;
        }
        // SAFETY: in the child, these are this process's own copies of the
        // parent's messages, used never again after this read (the child
        // leaves with `_exit`, which runs no destructor): moves.
        drop(unsafe {
            (
                std::ptr::read(&view),
                std::ptr::read(&loan),
                std::ptr::read(&made),
            )
        });
        code
    });
    assert_eq!(
        code, 0,
        "fork child: 1 = inherited view read, 2 = inherited loan read, 4 = inherited \
         Image::new read (or not with the fork sentence)"
    );
    assert_eq!(
        publ.busy_blocks(),
        busy,
        "the child's drops changed the pool"
    );
    // Both blocks of the publisher's pool are still ours: no third loan.
    assert!(
        publ.loan(w, h, Encoding::Rgb8).is_err(),
        "a block handed out twice"
    );
    let others: Vec<Image> = (0..8u8)
        .map(|k| {
            let mut o = Image::new(w, h, "rgb8");
            o.data_mut().fill(100 + k);
            o
        })
        .collect();
    assert!(
        view.data().iter().all(|&b| b == 1),
        "the held view was rewritten"
    );
    assert!(
        loan.data().iter().all(|&b| b == 2),
        "the loan was rewritten"
    );
    assert!(
        made.data().iter().all(|&b| b == 3),
        "the Image::new was handed out again"
    );
    drop((view, loan, made, others));
    assert_eq!(publ.busy_blocks(), 0);
    say("FORK_VIEWS_OK");
}

/// In the child: joins a topic (registering its liveness), forks a child
/// that only sleeps (up to a minute), says both, and waits to be killed.
fn fork_keeper_child() {
    let t: Topic<Gamma> = Topic::new("k").unwrap();
    let token = liveness::own_token();
    // SAFETY: this process runs one test thread (`--test-threads=1`) and
    // libtest's main thread, which only waits; the child only sleeps and
    // leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        for _ in 0..60 {
            // SAFETY: `sleep` has no preconditions.
            unsafe { libc::sleep(1) };
        }
        // SAFETY: ends this forked process without the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    say(&format!("FORKED {pid} {}", token.get()));
    loop {
        t.send(Gamma { g: 1 });
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "run as a child by the tests above"]
fn child_main() {
    common::run_child(|role, args| match role {
        "cleaner" => {
            let stop = Arc::new(AtomicBool::new(false));
            let prefix = args[0].clone();
            let suffix = args.get(1).cloned().unwrap_or_default();
            let worker = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        clean_all(&prefix, &suffix);
                    }
                })
            };
            say("cleaning");
            while next_command().is_some() {}
            stop.store(true, Ordering::Relaxed);
            worker.join().expect("cleaner");
        }
        "holder" => {
            // Holds Gamma topics r0..rN until SIGKILLed.
            let n: usize = args[0].parse().unwrap();
            let held: Vec<Topic<Gamma>> = (0..n)
                .map(|i| Topic::new(&format!("r{i}")).unwrap())
                .collect();
            say("holding");
            while next_command().is_some() {}
            drop(held);
        }
        "replacer" => {
            // `open NAME AT`: opens Delta topic NAME once the monotonic clock
            // passes AT and says `opened ok` or `opened <error>`; `close`.
            let _warm: Topic<Gamma> = Topic::new("warm").unwrap();
            say("ready");
            let mut open = None;
            while let Some(cmd) = next_command() {
                let words: Vec<&str> = cmd.split_whitespace().collect();
                match words[..] {
                    ["open", name, at] => {
                        let at: u64 = at.parse().unwrap();
                        while horus::now_ns() < at {
                            std::hint::spin_loop();
                        }
                        match Topic::<Delta>::new(name) {
                            Ok(t) => {
                                open = Some(t);
                                say("opened ok");
                            }
                            Err(e) => say(&format!("opened {e}")),
                        }
                    }
                    ["close"] => {
                        open = None;
                        say("closed");
                    }
                    _ => panic!("unknown command {cmd}"),
                }
            }
            drop(open);
        }
        "fork" => fork_child(),
        "fork_raw" => fork_raw_child(),
        "fork_keeper" => fork_keeper_child(),
        "fork_views" => fork_views_child(),
        #[cfg(target_os = "linux")]
        "inherit" => inherit_child(),
        other => panic!("unknown role {other}"),
    });
}

/// A liveness file's temporary name left by a process that died before
/// renaming it is removed by the cleaner's lock test; one whose creator
/// still holds it (registering right now) is kept.
#[test]
fn temporary_liveness_files_are_removed_only_when_unheld() {
    let tns = TestNs::new("tmplive");
    let ns = Namespace::open(&tns.name).unwrap();
    let proc_dir = ns.path().join("proc");
    let dead = proc_dir.join(".init.99999-00000001.0");
    let busy = proc_dir.join(".init.99999-00000002.0");
    std::fs::write(&dead, b"").unwrap();
    std::fs::write(&busy, b"").unwrap();
    let holder = std::fs::File::open(&busy).unwrap();
    rustix::fs::flock(holder.as_fd(), rustix::fs::FlockOperation::LockExclusive).unwrap();
    let report = clean_namespace(&ns, false).unwrap();
    assert!(report.removed.contains(&dead), "{report:?}");
    assert!(!dead.exists());
    assert!(busy.exists(), "a held temporary liveness file was removed");
    drop(holder);
    let report = clean_namespace(&ns, false).unwrap();
    assert!(report.removed.contains(&busy), "{report:?}");
}

/// A liveness file removed behind the process's back (by hand, by a foreign
/// tool) is made again at the next registration, instead of leaving the
/// process "dead" for everyone.
#[test]
fn a_liveness_file_removed_by_hand_is_made_again() {
    let tns = TestNs::new("rereg");
    let ns = Namespace::open(&tns.name).unwrap();
    let token = liveness::ensure_registered(&ns).unwrap();
    let lock = ns.path().join("proc").join(liveness::lock_file_name(token));
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(liveness::ensure_registered(&ns).unwrap(), token);
    assert_held(&lock, "the liveness file made again");
}

/// No descriptor of a topic's files reaches a child that another thread
/// spawns while the topic is being created. A copy of the creator's
/// descriptor without close-on-exec used to survive the child's `exec`
/// and hold the region's `flock` for the child's whole life, so `clean`
/// kept the region of a dropped topic "held by a live process" (a flake
/// of `horus clean --shm --blackbox` run right after a test dropped its
/// blackbox while other tests spawned processes). Each child lists its own
/// open files; none may be one of ours. Runs in a child of the test: its
/// hundreds of spawns would otherwise briefly share (until their `exec`)
/// the files of the other tests of this binary, which drop and replace
/// regions.
#[cfg(target_os = "linux")]
#[test]
fn a_child_spawned_while_topics_are_created_inherits_none_of_their_files() {
    let _w = watchdog(Duration::from_secs(300), "the inherited descriptor test");
    let ns = TestNs::new("inherit");
    let mut child = Peer::spawn("inherit", &ns.name, &[]);
    child.expect("INHERIT_OK", 240);
    child.wait_success(60);
}

#[cfg(target_os = "linux")]
fn inherit_child() {
    let ns_name = Namespace::current_name().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spawner = {
        let (stop, ns) = (stop.clone(), ns_name.clone());
        std::thread::spawn(move || {
            let (mut spawned, mut leaked) = (0u32, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let out = std::process::Command::new("ls")
                    .args(["-l", "/proc/self/fd"])
                    .output()
                    .expect("run ls");
                spawned += 1;
                let listing = String::from_utf8_lossy(&out.stdout).into_owned();
                leaked.extend(
                    listing
                        .lines()
                        .filter(|l| l.contains(&ns))
                        .map(str::to_owned),
                );
            }
            (spawned, leaked)
        })
    };
    let mut paths = Vec::new();
    for round in 0..INHERIT_ROUNDS {
        // Big enough that initialising it takes a while: the window.
        let t: Topic<Gamma> = Topic::builder(&format!("c{round}"))
            .capacity(1024)
            .max_participants(64)
            .build()
            .unwrap();
        paths.push(t.path().to_owned());
        if round % 10 == 0 {
            // And a block pool segment, made by the first image sent.
            let images = ImageTopic::builder(&format!("i{round}"))
                .blocks_per_segment(2)
                .build()
                .unwrap();
            images.send(Image::new(320, 240, "rgb8"));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (spawned, leaked) = spawner.join().expect("spawner");
    assert!(spawned > 0, "no child was spawned meanwhile");
    assert!(
        leaked.is_empty(),
        "children of {spawned} inherited {leaked:#?}"
    );
    let ns = Namespace::open_existing(&ns_name).unwrap().unwrap();
    liveness::unregister(&ns);
    let report = clean_namespace(&ns, false).unwrap();
    assert!(report.live.is_empty(), "{report:?}");
    for p in &paths {
        assert!(
            report.removed.contains(p),
            "{} kept: {report:?}",
            p.display()
        );
    }
    let segments = report
        .removed
        .iter()
        .filter(|p| p.to_string_lossy().contains(".pool."))
        .count();
    assert_eq!(segments, INHERIT_ROUNDS.div_ceil(10) as usize, "{report:?}");
    say("INHERIT_OK");
}

/// `horus clean --shm` removes a namespace directory it finds empty; a
/// process opening that namespace for its first topic finds it empty until
/// its region or liveness file is in it. A topic created meanwhile must
/// still be made (in the directory made anew), never fail with ENOENT.
/// Each round gives up this process's liveness file, so that every
/// creation is, like a new process's first, exposed to a cleaner; the
/// cleaner is one `horus clean` run a round (one `remove_if_unused`),
/// started with the creation (a barrier). (A cleaner that tried again and
/// again within a round, removing `proc/` each time the namespace looked
/// empty, could keep any process from starting, and made this test fail
/// about once in eight runs.)
#[test]
fn a_topic_created_while_a_cleaner_removes_its_empty_namespace_is_made() {
    use std::sync::Barrier;
    const ROUNDS: u32 = 3000;
    let _w = watchdog(Duration::from_secs(120), "namespace removal race");
    let ns = TestNs::new("nsremoval");
    let start = Arc::new(Barrier::new(2));
    let cleaner = {
        let (start, name) = (start.clone(), ns.name.clone());
        std::thread::spawn(move || {
            let mut removed = 0u32;
            for _ in 0..ROUNDS {
                start.wait();
                if let Ok(Some(n)) = Namespace::open_existing(&name) {
                    if horus::shm::remove_if_unused(&n).unwrap_or(false) {
                        removed += 1;
                    }
                }
            }
            removed
        })
    };
    let mut failures = Vec::new();
    for r in 0..ROUNDS {
        start.wait();
        match Topic::<Gamma>::builder("t").namespace(&ns.name).build() {
            Ok(topic) => drop(topic),
            Err(e) => failures.push(format!("round {r}: {e}")),
        }
        if let Ok(Some(n)) = Namespace::open_existing(&ns.name) {
            liveness::unregister(&n);
        }
    }
    let removed = cleaner.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    assert!(removed > 0, "the cleaner never removed the namespace");
}
