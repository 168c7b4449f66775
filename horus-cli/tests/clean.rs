//! `horus clean` and every command's auto-clean against live and dead
//! processes' files, and namespace contents no process of ours made: FIFOs,
//! a corrupt e-stop, names that are not UTF-8, a file where the namespace
//! should be, regions another process holds locked.

mod common;

use std::process::{Command, Stdio};

use common::{TestNs, cache_dir, publisher, temp_dir, text};
use horus::shm::{Namespace, liveness};
use horus::system::blackbox::{AnomalyKind, Blackbox};

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::child_main();
}

#[test]
fn clean_removes_the_stale_region_and_keeps_the_live_one() {
    let ns = TestNs::new("clean");
    let mut dead = publisher(&ns.name, "stale");
    let _live = publisher(&ns.name, "live");
    dead.stop("9", 10);
    let out = ns.run(&["clean", "--shm"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("removed") && said.contains("stale.topic"),
        "{said}"
    );
    assert!(
        said.contains("kept") && said.contains("live.topic"),
        "{said}"
    );
    assert!(!ns.path().join("stale.topic").exists());
    assert!(ns.path().join("live.topic").exists());
    // The live topic still works.
    let out = ns.run(&["topic", "echo", "live", "--once"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn clean_all_cleans_every_namespace_despite_a_fifo_or_another_user_s_directory() {
    // A base directory of its own: `--all` must not touch other tests'.
    let base = temp_dir("clean_all");
    let fifo = base.join("horus_a");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::RUSR).unwrap();
    let theirs = base.join("horus_b");
    std::fs::create_dir(&theirs).unwrap();
    let uid = rustix::process::geteuid().as_raw();
    if uid == 0 {
        rustix::fs::chown(&theirs, Some(rustix::fs::Uid::from_raw(65534)), None).unwrap();
    }
    // Namespace c: ours, with a corrupt topic file nobody holds.
    let ours = base.join("horus_c");
    std::fs::create_dir(&ours).unwrap();
    std::fs::write(ours.join("x.topic"), b"not a region").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_horus"))
        .args(["clean", "--shm", "--all"])
        .env("HORUS_SHM_DIR", &base)
        .env("HORUS_CACHE_DIR", cache_dir())
        .stdin(Stdio::null())
        .output()
        .expect("run horus");
    let (said, err) = (text(&out.stdout), text(&out.stderr));
    // c was cleaned (and, empty, removed) although a sorts first...
    assert!(!ours.exists(), "stdout: {said}\nstderr: {err}");
    // ...a is named with the reason, and the exit code says not all was done...
    assert!(
        err.contains("namespace a not cleaned") && err.contains(&fifo.display().to_string()),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1), "stdout: {said}\nstderr: {err}");
    // ...and another user's namespace is not ours to clean, nor an error.
    if uid == 0 {
        assert!(!err.contains("namespace b") && theirs.exists(), "{err}");
    }
    assert!(fifo.exists());
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn every_command_auto_cleans_the_namespace_of_its_flag_not_of_its_environment() {
    let ns = TestNs::new("autoclean");
    let env_ns = TestNs::new("autoclean_env");
    for n in [&ns, &env_ns] {
        publisher(&n.name, "stale").stop("9", 10);
        assert!(n.path().join("stale.topic").exists());
    }
    let out = env_ns
        .horus(&["--namespace", &ns.name, "topic", "list"])
        .output()
        .expect("run horus");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!ns.path().join("stale.topic").exists());
    assert!(env_ns.path().join("stale.topic").exists());
}

#[test]
fn looking_creates_nothing_and_clean_keeps_an_engaged_estop_and_the_blackbox() {
    let ns = TestNs::new("cleankeep");
    // Looking at a namespace nobody has used leaves no trace of it.
    let looks: [&[&str]; 6] = [
        &["bb", "--anomalies"],
        &["estop"],
        &["estop", "--status"],
        &["node", "list"],
        &["topic", "list"],
        &["ns", "list"],
    ];
    for args in looks {
        let out = ns.run(args, 30);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(!ns.path().exists(), "`horus {}` created it", args.join(" "));
    }
    // An engaged e-stop whose raiser has exited survives a clean...
    let out = ns.run(&["estop", "--reason", "clean test"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = ns.run(&["clean", "--shm"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("kept") && said.contains("_horus.estop.topic") && said.contains("engaged"),
        "{said}"
    );
    let out = ns.run(&["estop", "--status"], 30);
    assert_eq!(out.status.code(), Some(1), "still engaged after the clean");
    // A bare `horus estop` shows the state; it never raises anything.
    let out = ns.run(&["estop"], 30);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("e-stop ENGAGED in") && text(&out.stdout).contains("clean test"),
        "{}",
        text(&out.stdout)
    );
    // Looking leaves no liveness file of the looker behind.
    let proc_dir = ns.path().join("proc");
    let looks: [&[&str]; 5] = [
        &["topic", "list"],
        &["node", "list"],
        &["bb"],
        &["estop", "--status"],
        &["estop"],
    ];
    for args in looks {
        let out = ns.run(args, 30);
        assert!(
            out.status.code().is_some(),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let left: Vec<_> = std::fs::read_dir(&proc_dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "`horus {}` left {left:?}", args.join(" "));
    }
    // ...and once cleared, the clean removes it.
    let out = ns.run(&["estop", "--clear", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = ns.run(&["estop"], 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("e-stop clear in"),
        "{}",
        text(&out.stdout)
    );
    // Raising takes `--raise` (or a reason).
    let out = ns.run(&["estop", "--raise", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["engaged"], true, "{v}");
    let out = ns.run(&["estop", "--clear", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["engaged"], false, "{v}");
    let out = ns.run(&["clean", "--shm"], 30);
    assert!(
        !ns.path().join("_horus.estop.topic").exists(),
        "{}",
        text(&out.stdout)
    );
    // The blackbox of a process that has gone is kept unless asked for.
    let bb = ns.path().join("_horus.blackbox.topic");
    {
        let writer = Blackbox::open(Some(&ns.name)).expect("blackbox");
        writer.record(AnomalyKind::NodePanic, "crashy", "clean test", 0);
    }
    // This process holds nothing there any more.
    liveness::unregister(&Namespace::open_existing(&ns.name).unwrap().unwrap());
    let out = ns.run(&["clean", "--shm"], 30);
    assert!(
        text(&out.stdout).contains("--blackbox"),
        "{}",
        text(&out.stdout)
    );
    let out = ns.run(&["bb", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["records"][0]["node"], "crashy", "{v}");
    let out = ns.run(&["clean", "--shm", "--blackbox"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!bb.exists(), "{}", text(&out.stdout));
    // Nothing left: the namespace itself is gone.
    assert!(!ns.path().exists(), "{}", text(&out.stdout));
}

#[test]
fn clean_removes_a_corrupt_estop_and_says_each_error_once() {
    use std::os::unix::fs::PermissionsExt;
    let ns = TestNs::new("corruptestop");
    let dir = Namespace::open(&ns.name).unwrap();
    let path = dir.topic_path("_horus.estop");
    std::fs::write(&path, [0x5au8; 4096]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    drop(dir);
    // Reading it is a clear error, said once...
    let out = ns.run(&["estop", "--status"], 30);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err.matches("is not a valid HORUS topic").count(),
        1,
        "{err}"
    );
    // ...and the clean it recommends removes it.
    let out = ns.run(&["clean", "--shm"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!path.exists(), "{}", text(&out.stdout));
}

/// Files whose names are not UTF-8, in the namespace and in its `proc/`:
/// `topic list` and `clean --shm` name each, its bytes that are not UTF-8
/// written `\xNN` (text and JSON), never remove them, and `clean` says the
/// namespace is kept for them; removed by hand, the next clean removes the
/// namespace. They were invisible: both commands were silent, and the
/// directory stayed with nobody told why.
#[test]
fn files_whose_names_are_not_utf8_are_named_escaped_and_kept_by_list_and_clean() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let ns = TestNs::new("notutf8");
    let dir = Namespace::open(&ns.name).unwrap();
    let bad = dir.path().join(OsStr::from_bytes(b"bad\xffname"));
    let bad_proc = dir
        .path()
        .join("proc")
        .join(OsStr::from_bytes(b"p\xfe.lock"));
    let planted = common::Planted(vec![bad.clone(), bad_proc.clone()]);
    for p in &planted.0 {
        std::fs::write(p, b"x").unwrap();
    }
    let shown = [
        format!("{}/bad\\xffname", ns.path().display()),
        format!("{}/proc/p\\xfe.lock", ns.path().display()),
    ];
    let out = ns.run(&["topic", "list"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    for s in &shown {
        assert!(
            said.contains(&format!("foreign file {s} (a name that is not UTF-8")),
            "{said}"
        );
    }
    let out = ns.run(&["topic", "list", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for s in &shown {
        assert!(
            v["foreign"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["path"] == s.as_str())),
            "{v}"
        );
    }
    let out = ns.run(&["clean", "--shm"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    for s in &shown {
        assert!(
            said.contains(&format!("kept {s} (a name that is not UTF-8")),
            "{said}"
        );
    }
    assert!(
        said.contains(&format!("kept {} (not empty", ns.path().display())),
        "{said}"
    );
    let out = ns.run(&["clean", "--shm", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for s in &shown {
        assert!(
            v[0]["foreign"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["path"] == s.as_str())),
            "{v}"
        );
    }
    assert_eq!(v[0]["namespace_removed"], false, "{v}");
    assert!(
        planted.0.iter().all(|p| p.exists()),
        "a foreign file removed"
    );
    assert!(ns.path().join("proc").is_dir(), "proc/ removed");
    // Removed by hand, the namespace goes with the next clean.
    drop(planted);
    let out = ns.run(&["clean", "--shm"], 30);
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("removed {} (empty)", ns.path().display())),
        "{said}"
    );
}

/// FIFOs at a topic name and a liveness name: `horus topic list` and the
/// auto-clean every command runs return promptly (a blocking open would
/// hang them: `run` fails at its timeout), and `horus clean --shm` removes
/// them.
#[test]
fn fifos_in_the_namespace_hang_no_command_and_clean_removes_them() {
    let ns = TestNs::new("fifo");
    let dir = Namespace::open(&ns.name).unwrap();
    let fifo = dir.topic_path("x");
    let lock = dir.path().join("proc").join("1-00000001.lock");
    for p in [&fifo, &lock] {
        let made = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(made.success());
    }
    let out = ns.run(&["topic", "list"], 30);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("FIFO"), "{all}");
    let out = ns.run(&["clean", "--shm"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    for p in [&fifo, &lock] {
        assert!(said.contains(&format!("removed {}", p.display())), "{said}");
        assert!(
            std::fs::symlink_metadata(p).is_err(),
            "{} left",
            p.display()
        );
    }
}

#[test]
fn a_namespace_that_is_not_utf8_is_refused_by_every_command() {
    use std::os::unix::ffi::OsStrExt;
    let ns = TestNs::new("notutf8");
    let out = common::finish(
        ns.horus(&["topic", "list"])
            .env("HORUS_NAMESPACE", std::ffi::OsStr::from_bytes(b"lab\xff"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        30,
        "horus topic list",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not valid UTF-8"),
        "{}",
        text(&out.stderr)
    );
}

/// Was two messages ("could not record dead processes..." and
/// "auto-clean: ... is a symbolic link or not a regular file"), and `horus
/// completions` failed too: a file at the namespace's path is one error
/// naming what it is; commands about no one namespace still run.
#[test]
fn a_file_at_the_namespace_path_is_one_error_and_spares_other_commands() {
    let ns = TestNs::new("fileatns");
    std::fs::write(ns.path(), b"").unwrap();
    for args in [&["topic", "list"][..], &["node", "list"]] {
        let out = ns.run(args, 30);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("horus: namespace {}: ", ns.name))
                && err.contains("is a regular file, where HORUS keeps a directory"),
            "{err}"
        );
    }
    for args in [&["completions", "bash"][..], &["ns", "list"]] {
        let out = ns.run(args, 30);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    std::fs::remove_file(ns.path()).unwrap();
}

/// Regions someone keeps locked exclusively (a stopped or hostile process;
/// HORUS itself holds that lock for microseconds) are reported by `topic
/// list` after a short wait each: it waited the 1.5 s a joiner waits for
/// every such file, so six took nine seconds.
#[test]
fn list_reports_regions_held_exclusively_without_waiting_long_for_each() {
    let ns = TestNs::new("held_excl");
    let _publ = publisher(&ns.name, "wheel.encoders");
    let region = std::fs::read(ns.path().join("wheel.encoders.topic")).expect("the region");
    let held: Vec<std::fs::File> = (0..6)
        .map(|i| {
            let path = ns.path().join(format!("held{i}.topic"));
            std::fs::write(&path, &region).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
            file
        })
        .collect();
    let started = std::time::Instant::now();
    let out = ns.run(&["topic", "list"], 60);
    let took = started.elapsed();
    let listing = text(&out.stdout) + &text(&out.stderr);
    for i in 0..6 {
        assert!(
            listing
                .lines()
                .any(|l| l.contains(&format!("held{i}.topic")) && l.contains("exclusive lock")),
            "{listing}"
        );
    }
    assert!(listing.contains("wheel.encoders"), "{listing}");
    // Generous: 6 x 1.5 s before; 6 x 50 ms now.
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    drop(held);
}
