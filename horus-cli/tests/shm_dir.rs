//! The directory of the namespaces (`HORUS_SHM_DIR`): an OS error under it
//! is said once.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{TestNs, cache_dir, temp_dir, text};

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
