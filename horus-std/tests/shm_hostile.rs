//! Hostile and odd files in a namespace: a FIFO, a socket, a region locked by
//! a stuck process, a sparse region (or pool segment) on a full tmpfs, loose
//! directory modes, a namespace that is not UTF-8. Each must give a typed
//! error or a report, promptly: the tests that could hang run under a
//! watchdog, so a regression fails instead of blocking the suite.

mod common;

use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{TestNs, watchdog};
use horus::error::TopicError;
use horus::inspect;
use horus::prelude::*;
use horus::shm::{ForeignKind, Namespace, clean_namespace, liveness};
use horus_nostd::ring::{Refusal, SendRefused};

message! {
    Gamma { g: u64 }
    Wide { words: [u64; 1024] }
}

fn topic_error<T: Message>(ns: &str, name: &str) -> TopicError {
    match Topic::<T>::builder(name).namespace(ns).build() {
        Err(horus::Error::Topic(e)) => e,
        Err(other) => panic!("expected a topic error, got {other}"),
        Ok(_) => panic!("opening {name:?} succeeded"),
    }
}

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        0,
    )
    .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
}

fn foreign_kind(report: &horus::shm::CleanReport, path: &Path) -> Option<ForeignKind> {
    report
        .foreign
        .iter()
        .find(|f| f.path == path)
        .map(|f| f.kind)
}

#[test]
fn a_fifo_at_a_topic_path_is_refused_promptly_and_reported_by_the_cleaner() {
    let _w = watchdog(Duration::from_secs(60), "the FIFO topic test");
    let ns = TestNs::new("fifotopic");
    let dir = Namespace::open(&ns.name).unwrap();
    let fifo = dir.topic_path("x");
    mkfifo(&fifo);
    let e = topic_error::<Gamma>(&ns.name, "x");
    assert!(matches!(e, TopicError::NotARegularFile { .. }), "{e:?}");
    assert!(e.to_string().contains("FIFO"), "{e}");
    // The tools' path (`horus topic info/list`) too.
    match inspect::topic_info(&dir, "x") {
        Err(horus::Error::Topic(TopicError::NotARegularFile { .. })) => {}
        other => panic!("{other:?}"),
    }
    let listed = inspect::list_topics(&dir).unwrap();
    assert!(matches!(
        listed.as_slice(),
        [(name, Err(TopicError::NotARegularFile { .. }))] if name == "x"
    ));
    // Reported, kept unless asked, removed when asked.
    let report = clean_namespace(&dir, false).unwrap();
    assert_eq!(foreign_kind(&report, &fifo), Some(ForeignKind::Fifo));
    assert!(fifo.exists());
    let report = clean_namespace(&dir, true).unwrap();
    assert!(report.removed.contains(&fifo), "{report:?}");
    assert!(std::fs::symlink_metadata(&fifo).is_err());
    // The name is usable again.
    let t: Topic<Gamma> = Topic::builder("x").namespace(&ns.name).build().unwrap();
    t.send(Gamma { g: 1 });
    assert_eq!(t.recv(), Some(Gamma { g: 1 }));
}

#[test]
fn a_fifo_at_an_init_name_or_a_liveness_name_never_blocks_anyone() {
    let _w = watchdog(Duration::from_secs(60), "the FIFO init/proc test");
    let ns = TestNs::new("fifoinit");
    let dir = Namespace::open(&ns.name).unwrap();
    let init = dir.path().join(".init.x.1.1");
    let lock = dir.path().join("proc").join("1-00000001.lock");
    let tmp = dir.path().join("proc").join(".init.1-00000001.0");
    for p in [&init, &lock, &tmp] {
        mkfifo(p);
    }
    // A fresh process's first open of the namespace cleans it: this
    // process has not opened it for a topic yet.
    let t: Topic<Gamma> = Topic::builder("y").namespace(&ns.name).build().unwrap();
    // A FIFO is no proof of death: a token whose name is a FIFO is alive.
    let token = horus_nostd::OwnerToken::new(1 << 32 | 1).unwrap();
    assert!(liveness::is_alive(&dir, token));
    let report = clean_namespace(&dir, false).unwrap();
    for p in [&init, &lock, &tmp] {
        assert_eq!(
            foreign_kind(&report, p),
            Some(ForeignKind::Fifo),
            "{report:?}"
        );
        assert!(
            std::fs::symlink_metadata(p).is_ok(),
            "{} removed",
            p.display()
        );
    }
    assert!(Namespace::open(&ns.name).is_ok());
    let report = clean_namespace(&dir, true).unwrap();
    for p in [&init, &lock, &tmp] {
        assert!(report.removed.contains(p), "{report:?}");
    }
    drop(t);
}

#[test]
fn a_socket_at_a_topic_path_is_not_a_regular_file() {
    let ns = TestNs::new("socket");
    let dir = Namespace::open(&ns.name).unwrap();
    let path = dir.topic_path("s");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let e = topic_error::<Gamma>(&ns.name, "s");
    assert!(matches!(e, TopicError::NotARegularFile { .. }), "{e:?}");
    let report = clean_namespace(&dir, true).unwrap();
    assert_eq!(foreign_kind(&report, &path), Some(ForeignKind::Socket));
    drop(listener);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_region_held_exclusively_by_a_stuck_process_is_a_typed_error_not_a_hang() {
    let _w = watchdog(Duration::from_secs(60), "the locked region test");
    let ns = TestNs::new("locked");
    let t: Topic<Gamma> = Topic::builder("l").namespace(&ns.name).build().unwrap();
    let path = t.path().to_owned();
    drop(t);
    // A cleaner stopped in a debugger: an exclusive lock that stays.
    let stuck = std::fs::File::open(&path).unwrap();
    rustix::fs::flock(stuck.as_fd(), rustix::fs::FlockOperation::LockExclusive).unwrap();
    let started = Instant::now();
    let e = topic_error::<Gamma>(&ns.name, "l");
    let waited = started.elapsed();
    match &e {
        TopicError::Locked { path: p, .. } => assert_eq!(p, &path),
        other => panic!("{other:?}"),
    }
    assert!(
        waited >= horus::shm::files::LOCK_WAIT,
        "gave up after {waited:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("fuser") && text.contains("horus clean --shm"),
        "{text}"
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
    // The tools' path gives the same error.
    let dir = Namespace::open(&ns.name).unwrap();
    assert!(matches!(
        inspect::topic_info(&dir, "l"),
        Err(horus::Error::Topic(TopicError::Locked { .. }))
    ));
    drop(stuck);
    let t: Topic<Gamma> = Topic::builder("l").namespace(&ns.name).build().unwrap();
    t.send(Gamma { g: 2 });
    assert_eq!(t.recv(), Some(Gamma { g: 2 }));
}

#[test]
fn loose_modes_of_our_namespace_directories_are_tightened_to_0700() {
    let ns = TestNs::new("modes");
    let dir = Namespace::open(&ns.name).unwrap();
    let proc_dir = dir.path().join("proc");
    for p in [dir.path(), proc_dir.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    drop(dir);
    let _dir = Namespace::open(&ns.name).unwrap();
    for p in [ns.path(), proc_dir] {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700, "{} left {mode:o}", p.display());
    }
}

#[test]
fn a_proc_directory_of_another_user_is_refused() {
    let ns = TestNs::new("procowner");
    let dir = Namespace::open(&ns.name).unwrap();
    let proc_dir = dir.path().join("proc");
    drop(dir);
    let me = rustix::process::geteuid().as_raw();
    let other = if me == 65534 { 65533 } else { 65534 };
    let chowned = rustix::fs::chown(&proc_dir, Some(rustix::process::Uid::from_raw(other)), None);
    assert!(
        chowned.is_ok(),
        "this test needs to chown a directory (run as root, as CI does)"
    );
    let e = match Namespace::open(&ns.name) {
        Err(e) => e,
        Ok(_) => panic!("a proc/ of uid {other} was accepted"),
    };
    rustix::fs::chown(&proc_dir, Some(rustix::process::Uid::from_raw(me)), None).unwrap();
    assert!(
        matches!(&e, TopicError::PermissionDenied { owner: Some(o), .. } if *o == other),
        "{e:?}"
    );
}

#[test]
fn a_namespace_that_is_not_utf8_is_an_error_not_default() {
    use std::os::unix::ffi::OsStrExt;
    let out = common::self_command()
        .args(["--exact", "child_main", "--nocapture", "--include-ignored"])
        .env("HORUS_TEST_ROLE", "not_utf8")
        .env("HORUS_NAMESPACE", std::ffi::OsStr::from_bytes(b"lab\xff"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    assert!(stdout.contains("NOT_UTF8_OK"), "{stdout}");
}

/// Files whose names are not UTF-8 (HORUS never makes one): one shaped
/// like a topic's, one like nothing, and a FIFO in `proc/` shaped like a
/// liveness file. Every clean reports each (never opening the FIFO), none
/// removes them, asked or not (a file at a name HORUS never makes is the
/// user's: `notes.txt` too), and they keep their namespace whole, `proc/`
/// included. The listings skipped them: no clean said a word, and
/// `remove_if_unused` took the namespace for empty, removed its `proc/`,
/// then failed on the directory, telling no one.
#[test]
fn files_whose_names_are_not_utf8_are_reported_kept_and_keep_their_namespace() {
    use horus::shm::names::escaped;
    use horus::shm::{auto_clean, remove_if_unused, unknown_files};
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let _w = watchdog(Duration::from_secs(60), "the non-UTF-8 names test");
    let ns = TestNs::new("notutf8names");
    let dir = Namespace::open(&ns.name).unwrap();
    let name = |bytes: &[u8]| OsStr::from_bytes(bytes).to_owned();
    let plain = dir.path().join(name(b"bad\xffname"));
    let topic = dir.path().join(name(b"bad\xff.topic"));
    let fifo = dir.path().join("proc").join(name(b"\xfe.lock"));
    let notes = dir.path().join("notes.txt");
    let planted = common::Planted(vec![
        plain.clone(),
        topic.clone(),
        fifo.clone(),
        notes.clone(),
    ]);
    std::fs::write(&plain, b"x").unwrap();
    std::fs::write(&topic, b"not a region").unwrap();
    mkfifo(&fifo);
    std::fs::write(&notes, b"x").unwrap();
    let kind = |p: &Path| {
        if *p == notes {
            ForeignKind::UnknownName
        } else {
            ForeignKind::NotUtf8Name
        }
    };
    assert!(dir.topic_names().unwrap().is_empty());
    let exists = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    for remove_foreign in [false, true] {
        let report = clean_namespace(&dir, remove_foreign).unwrap();
        for p in &planted.0 {
            assert_eq!(foreign_kind(&report, p), Some(kind(p)), "{report:?}");
            assert!(exists(p), "{} removed", escaped(p.as_os_str()));
        }
    }
    assert_eq!(auto_clean(&ns.name).unwrap(), 0);
    assert!(
        !remove_if_unused(&dir).unwrap(),
        "a namespace not empty removed"
    );
    assert!(dir.path().join("proc").is_dir(), "proc/ removed");
    assert!(planted.0.iter().all(|p| exists(p)));
    let unknown: Vec<_> = unknown_files(&dir).unwrap();
    let mut want = planted.0.clone();
    want.sort();
    assert_eq!(
        unknown.iter().map(|f| f.path.clone()).collect::<Vec<_>>(),
        want
    );
    assert!(unknown.iter().all(|f| f.kind == kind(&f.path)));
    // Reports write the name so it can be found and removed: `\xNN` per byte.
    assert!(escaped(plain.as_os_str()).ends_with("/bad\\xffname"));
    assert!(
        ForeignKind::NotUtf8Name
            .to_string()
            .contains("remove it by hand")
    );
    // Removed by hand, the namespace goes with the next clean.
    drop(planted);
    assert!(remove_if_unused(&dir).unwrap());
}

/// A small tmpfs of our own for the sparse-region test; `None` (with the
/// reason printed) where mounting is not allowed.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(size: &str, tag: &str) -> Option<Self> {
        let mnt = std::env::temp_dir().join(format!("horus_{tag}_{}", std::process::id()));
        std::fs::create_dir_all(&mnt).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            let _ = std::fs::remove_dir(&mnt);
            eprintln!("skipped: cannot mount a tmpfs here (needs root, as CI has)");
            return None;
        }
        Some(Self(mnt))
    }
}

/// Runs this binary's `child_main` as `role` with a 1 MiB tmpfs of its own
/// as `HORUS_SHM_DIR`, and checks it printed `ok`: a SIGBUS kills the child
/// and fails the test. Skipped (returns) where mounting is not allowed.
fn run_on_small_tmpfs(role: &str, ok: &str) {
    let Some(tmpfs) = Tmpfs::mount("1m", role) else {
        return;
    };
    let out = common::self_command()
        .args(["--exact", "child_main", "--nocapture", "--include-ignored"])
        .env("HORUS_TEST_ROLE", role)
        .env("HORUS_SHM_DIR", &tmpfs.0)
        .output()
        .unwrap();
    drop(tmpfs);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(ok), "{stdout}");
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A valid region whose pages are not reserved, on a full tmpfs: opening it
/// is `NoSpace` while its tables are not backed, and once open a first send
/// that finds no memory for its lane is refused (`Refusal::NoMemory`),
/// never a SIGBUS (run in a child, whose `HORUS_SHM_DIR` is the small
/// tmpfs; a SIGBUS would kill the child and fail the test).
#[test]
fn a_sparse_region_on_a_full_tmpfs_is_no_space_not_sigbus() {
    run_on_small_tmpfs("sparse", "SPARSE_OK");
}

/// Fills the file system holding `dir` with the file `filler`.
fn fill(filler: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(filler).unwrap();
    let chunk = vec![1u8; 4096];
    while f.write_all(&chunk).is_ok() {}
}

/// In the child: makes a real region (64 participants and 64 lanes: its
/// tables span three pages, the second all zeros), copies it sparsely (only its non-zero
/// pages written), fills the tmpfs, and opens the copy; then publishes
/// into it on a full tmpfs.
fn sparse_child() {
    let ns = "sparse";
    let real: Topic<Wide> = Topic::builder("real")
        .namespace(ns)
        .capacity(8)
        .max_participants(64)
        .max_publishers(64)
        .build()
        .unwrap();
    let bytes = std::fs::read(real.path()).unwrap();
    let dir = real.path().parent().unwrap().to_owned();
    drop(real);
    std::fs::remove_file(dir.join("real.topic")).unwrap();
    // The copy: a hole wherever a page is all zeros.
    let copy = dir.join("copy.topic");
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::create(&copy).unwrap();
        f.set_len(bytes.len() as u64).unwrap();
        for (i, page) in bytes.chunks(4096).enumerate() {
            if page.iter().any(|&b| b != 0) {
                f.write_all_at(page, (i * 4096) as u64).unwrap();
            }
        }
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let holes = bytes
        .chunks(4096)
        .filter(|p| p.iter().all(|&b| b == 0))
        .count();
    assert!(holes > 4, "the region has too few zero pages to be sparse");
    let filler = dir.join("filler");
    fill(&filler);
    // This process opened the namespace already (so its auto-clean does not
    // remove the unheld copy first).
    match Topic::<Wide>::builder("copy").namespace(ns).build() {
        Err(horus::Error::Topic(TopicError::NoSpace { path, .. })) => assert_eq!(path, copy),
        Err(other) => panic!("expected NoSpace, got {other}"),
        Ok(_) => panic!("a region with sparse tables on a full tmpfs opened"),
    }
    let nsd = Namespace::open(ns).unwrap();
    match inspect::topic_info(&nsd, "copy") {
        Err(horus::Error::Topic(TopicError::NoSpace { .. })) => {}
        other => panic!("expected NoSpace from topic_info, got {other:?}"),
    }
    // With room again, the same region opens: its tables are reserved, its
    // lanes are not (a publisher reserves its own at its first send).
    std::fs::remove_file(&filler).unwrap();
    let t: Topic<Wide> = Topic::builder("copy").namespace(ns).build().unwrap();
    let sub: Topic<Wide> = Topic::builder("copy").namespace(ns).build().unwrap();
    fill(&filler);
    let wide = Wide { words: [7; 1024] };
    match t.try_publish(wide) {
        Err(SendRefused {
            reason: Refusal::NoMemory { lane: 0, bytes },
            ..
        }) => assert!(bytes >= 8 * 8192, "{bytes} bytes"),
        other => panic!("expected NoMemory, got {other:?}"),
    }
    t.send(wide);
    assert_eq!(t.unsent_count(), 1, "the refused send was not counted");
    assert!(sub.recv().is_none());
    assert!(inspect::topic_info(&nsd, "copy").is_ok());
    // With room again, the next send publishes.
    std::fs::remove_file(&filler).unwrap();
    t.send(wide);
    assert_eq!(sub.recv().map(|w| w.words[1023]), Some(7));
    assert_eq!(
        sub.received_count() + sub.dropped_count(),
        sub.published_count()
    );
    println!("SPARSE_OK");
}

/// A pool segment whose pages are not reserved, on a full tmpfs, mapped by
/// a receiver: `NoSpace` naming the file and its size, never a SIGBUS (in a
/// child, as above).
#[test]
fn a_sparse_pool_segment_on_a_full_tmpfs_is_no_space_not_sigbus() {
    run_on_small_tmpfs("sparse_pool", "SPARSE_POOL_OK");
}

/// In the child: a publisher sends one image; its segment file is replaced
/// by a sparse copy before the receiver maps it, and the tmpfs is filled.
fn sparse_pool_child() {
    use horus::image::{Encoding, ImageTopic};
    use horus::pooled::PoolError;
    let ns = "sparse_pool";
    let build = || {
        ImageTopic::builder("cam")
            .namespace(ns)
            .blocks_per_segment(8)
            .build()
            .unwrap()
    };
    let (sub, publisher) = (build(), build());
    let mut img = publisher.loan(64, 64, Encoding::Mono8).unwrap();
    img.data_mut().fill(7);
    publisher.try_send(img).unwrap();
    let dir = Namespace::path_of(ns);
    let seg = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(".pool."))
        .expect("the segment file");
    let bytes = std::fs::read(&seg).unwrap();
    std::fs::remove_file(&seg).unwrap(); // (the publisher keeps its mapping)
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::create(&seg).unwrap();
        f.set_len(bytes.len() as u64).unwrap();
        for (i, page) in bytes.chunks(4096).enumerate() {
            if page.iter().any(|&b| b != 0) {
                f.write_all_at(page, (i * 4096) as u64).unwrap();
            }
        }
        std::fs::set_permissions(&seg, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert!(
        bytes
            .chunks(4096)
            .filter(|p| p.iter().all(|&b| b == 0))
            .count()
            > 4
    );
    let filler = dir.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![1u8; 4096];
        while f.write_all(&chunk).is_ok() {}
    }
    match sub.try_recv() {
        Some(Err(PoolError::Segment { error, .. })) => match *error {
            TopicError::NoSpace { path, bytes: n } => {
                assert_eq!(path, seg);
                assert_eq!(n, bytes.len(), "the size the segment needs");
            }
            other => panic!("expected NoSpace, got {other}"),
        },
        Some(Err(other)) => panic!("expected NoSpace, got {other}"),
        Some(Ok(_)) => panic!("a sparse segment on a full tmpfs was mapped"),
        None => panic!("the message was not received"),
    }
    std::fs::remove_file(&filler).unwrap();
    drop((sub, publisher));
    println!("SPARSE_POOL_OK");
}

/// FIFOs at the temporary names this process would create a region and a
/// pool segment under next (its pid and nonce are in the names; a leftover
/// of a dead process of the same pid would do the same): the region and the
/// segment are made under the names after them. Both were `create failed:
/// File exists` (in a child, whose serials start at 0).
#[test]
fn something_at_the_next_temporary_name_is_passed_over_not_an_error() {
    let _w = watchdog(Duration::from_secs(60), "the planted temporary names test");
    let ns = TestNs::new("planted_init");
    let out = common::child_output("planted_init", &ns.name, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("PLANTED_OK"),
        "child failed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In the child: plants the FIFOs, then makes the topic and the segment.
fn planted_init_child() {
    use horus::image::{Encoding, ImageTopic};
    let name = Namespace::current_name().unwrap();
    let ns = Namespace::open(&name).unwrap();
    let lock = liveness::lock_file_name(liveness::own_token());
    let me = lock.strip_suffix(".lock").unwrap();
    let mut planted = Vec::new();
    for serial in 0..4 {
        for tmp in [
            format!(".init.t.{me}.{serial}"),
            format!(".init.cam.pool.{me}.0.{serial}"),
        ] {
            mkfifo(&ns.path().join(&tmp));
            planted.push(ns.path().join(tmp));
        }
    }
    let t: Topic<Gamma> = Topic::new("t").expect("the topic is made past the FIFOs");
    t.send(Gamma { g: 3 });
    assert_eq!(t.recv(), Some(Gamma { g: 3 }));
    let cam = ImageTopic::builder("cam").build().unwrap();
    let img = cam
        .loan(8, 8, Encoding::Mono8)
        .expect("the segment is made past the FIFOs");
    cam.try_send(img).unwrap();
    assert!(cam.try_recv().is_some());
    // The FIFOs are left alone (`horus clean` reports them).
    assert!(planted.iter().all(|p| p.exists()));
    for p in planted {
        std::fs::remove_file(p).unwrap();
    }
    println!("PLANTED_OK");
}

#[test]
#[ignore = "run as a child by the tests above"]
fn child_main() {
    let (role, _) = common::child_role();
    match role.as_str() {
        "not_utf8" => {
            match Namespace::current_name() {
                Err(TopicError::InvalidNamespace { reason, .. }) => {
                    assert!(reason.contains("UTF-8"), "{reason}");
                }
                other => panic!("expected InvalidNamespace, got {other:?}"),
            }
            match Topic::<Gamma>::new("x") {
                Err(horus::Error::Topic(e @ TopicError::InvalidNamespace { .. })) => {
                    assert!(e.to_string().contains("HORUS_NAMESPACE"), "{e}");
                }
                other => panic!("expected InvalidNamespace, got {other:?}"),
            }
            println!("NOT_UTF8_OK");
        }
        "sparse" => sparse_child(),
        "sparse_pool" => sparse_pool_child(),
        "planted_init" => planted_init_child(),
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_file_at_a_namespaces_proc_is_named_by_its_full_path_and_its_kind() {
    use horus::error::FileKind;
    let ns = TestNs::new("proc_file");
    std::fs::create_dir(ns.path()).unwrap();
    std::fs::set_permissions(ns.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let proc_path = ns.path().join("proc");
    std::fs::write(&proc_path, b"").unwrap();
    // Looked at in the namespace, not as `proc` of the current directory
    // (which, run from `/`, is `/proc`, a directory).
    for e in [
        Namespace::open_existing(&ns.name).map(drop).unwrap_err(),
        topic_error::<Gamma>(&ns.name, "t"),
    ] {
        match &e {
            TopicError::NotADirectory {
                path,
                found: FileKind::RegularFile,
            } if *path == proc_path => {}
            other => panic!(
                "expected {} named as a regular file, got {other:?}",
                proc_path.display()
            ),
        }
        assert!(
            e.to_string()
                .contains(&format!("{} is a regular file", proc_path.display())),
            "{e}"
        );
    }
    std::fs::remove_file(&proc_path).unwrap();
    std::fs::remove_dir(ns.path()).unwrap();
}

#[test]
fn a_fifo_at_a_namespace_path_is_to_be_removed_with_rm_alone() {
    use horus::error::FileKind;
    let ns = TestNs::new("ns_fifo");
    mkfifo(&ns.path());
    let e = Namespace::open_existing(&ns.name).map(drop).unwrap_err();
    assert!(
        matches!(
            e,
            TopicError::NotADirectory {
                found: FileKind::Fifo,
                ..
            }
        ),
        "{e:?}"
    );
    // `horus clean --shm` cannot open the namespace: it is no advice here.
    let said = e.to_string();
    assert!(
        said.contains("remove it (rm)") && !said.contains("horus clean"),
        "{said}"
    );
    std::fs::remove_file(ns.path()).unwrap();
}
