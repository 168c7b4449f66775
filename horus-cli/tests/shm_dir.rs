//! The directory of the namespaces (`HORUS_SHM_DIR`): each way it can be
//! wrong is one sentence naming the variable, its value and the fix, said
//! the same by every command (looking ones included), and an OS error
//! under it is said once.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{TestNs, cache_dir, temp_dir, text};

/// Commands that create (`estop --raise`), clean, look into one namespace
/// or list them all.
const COMMANDS: &[&[&str]] = &[
    &["estop", "--raise"],
    &["clean", "--shm", "--all"],
    &["clean", "--shm"],
    &["topic", "list"],
    &["ns", "list"],
];

/// `horus ARGS` with `HORUS_SHM_DIR=base`, run in `cwd`, in a namespace
/// of its own.
fn horus_in(base: &Path, cwd: &Path, args: &[&str]) -> Output {
    horus_ns(&TestNs::new("shmdir"), base, cwd, args)
}

/// `horus ARGS` in namespace `ns`, with `HORUS_SHM_DIR=base`, run in `cwd`.
fn horus_ns(ns: &TestNs, base: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_horus"))
        .args(args)
        .env("HORUS_SHM_DIR", base)
        .env("HORUS_NAMESPACE", &ns.name)
        .env("HORUS_CACHE_DIR", cache_dir())
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run horus")
}

/// Runs each of [`COMMANDS`] with `HORUS_SHM_DIR=base`; checks it fails
/// (status 1) with one line that has every part of `says`.
fn each_fails_saying(base: &Path, cwd: &Path, says: &[&str]) {
    for args in COMMANDS {
        let out = horus_in(base, cwd, args);
        let err = text(&out.stderr);
        let what = format!("horus {}: {err}", args.join(" "));
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert_eq!(err.lines().count(), 1, "{what}");
        for part in says {
            assert!(err.contains(part), "{part:?} not said by {what}");
        }
        // Neither a namespace's path nor a fix for one.
        assert!(
            !err.contains("horus_t") && !err.contains("remove it"),
            "{what}"
        );
    }
}

#[test]
fn an_os_error_under_the_shm_dir_is_said_once() {
    // A name longer than a file name can be: ENAMETOOLONG, an OS error the
    // sentence quotes (`list ... failed: File name too long (os error 36)`).
    let dir = temp_dir("os_error_once");
    let base = dir.join("n".repeat(300));
    let os_error = std::io::Error::from_raw_os_error(36).to_string();
    for args in [&["clean", "--shm", "--all"][..], &["ns", "list"]] {
        let out = horus_in(&base, &dir, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.matches(&os_error).count(), 1, "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_shm_dir_that_is_a_file_is_named_with_its_fix() {
    let dir = temp_dir("shm_dir_file");
    let file = dir.join("passwd");
    std::fs::write(&file, "root:x:0:0").unwrap();
    let value = format!("HORUS_SHM_DIR={}", file.display());
    each_fails_saying(&file, &dir, &[&value, "is a regular file, not a directory"]);
    // A path through the file: not a directory either.
    let under = file.join("x");
    let value = format!("HORUS_SHM_DIR={} is not a directory", under.display());
    each_fails_saying(&under, &dir, &[&value, "unset it to use /dev/shm"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "root:x:0:0");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_shm_dir_that_does_not_exist_is_an_error_for_every_command() {
    // `ns list` included: "no namespaces" would hide a mistyped
    // HORUS_SHM_DIR or a tmpfs not mounted yet.
    let dir = temp_dir("shm_dir_missing");
    let missing = dir.join("not_mounted");
    let value = format!("HORUS_SHM_DIR={} does not exist", missing.display());
    each_fails_saying(&missing, &dir, &[&value, "create it"]);
    assert!(!missing.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_relative_shm_dir_is_refused_and_nothing_is_made() {
    // Two programs started in different directories would not meet.
    let dir = temp_dir("shm_dir_relative");
    std::fs::create_dir(dir.join("shm")).unwrap();
    each_fails_saying(
        Path::new("shm"),
        &dir,
        &["HORUS_SHM_DIR=shm is a relative path", "absolute path"],
    );
    assert_eq!(std::fs::read_dir(dir.join("shm")).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_absolute_shm_dir_of_its_own_works() {
    let dir = temp_dir("shm_dir_ok");
    let ns = TestNs::new("shmdir_ok");
    let out = horus_ns(&ns, &dir, &dir, &["estop", "--raise"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join(format!("horus_{}", ns.name)).is_dir());
    let out = horus_ns(&ns, &dir, &dir, &["ns", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&ns.name),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
