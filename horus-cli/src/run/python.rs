//! The Python interpreter `horus run` gives `.py` files: one where
//! `import horus` is this repository's `horus-py`, built on first use.
//!
//! - `HORUS_PYTHON=/path/to/python` is used as is (it must `import horus`;
//!   `pip install ./horus-py` installs it there).
//! - Otherwise a virtual environment under the cache
//!   (`<cache>/python/venv`, see [`build::cache_dir`]) holds the module. When
//!   it is missing or was built from other sources (a hash of `horus-py`,
//!   `horus-std`, `horus-nostd` and `Cargo.lock`, or another profile), `horus
//!   run` builds the wheel with maturin (installed into that environment
//!   from PyPI if absent) and installs it, saying so on one line, once; two
//!   `horus run`s racing wait for each other (a lock file). The profile
//!   follows `horus run`'s: debug, or release with `--release`.
//! - numpy is installed next to the module when it is built (arrays of
//!   images need it; a failure is a warning, not an error).
//! - When the tools cannot be had (no `python3`, no `venv` module, no
//!   maturin), it stops before anything starts and names the command that
//!   installs them.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use super::build::{self, fnv1a};
use crate::exit::{self, Failure};

/// Overrides the interpreter (no build, no environment).
pub const PYTHON_ENV: &str = "HORUS_PYTHON";

/// Where `program` is: itself if it names a file (has a `/`), else the
/// first executable file of that name on PATH.
fn which(program: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 || program.is_absolute() {
        return runnable(program).then(|| program.to_owned());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| runnable(p))
}

/// The interpreter to run `.py` files with, built or rebuilt if needed.
pub fn interpreter(release: bool, quiet: bool) -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(PYTHON_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        if which(&p).is_none() {
            return Err(Failure::usage(format!(
                "{PYTHON_ENV}={}: no such program; set it to a Python interpreter (a path, \
                 or a name on PATH such as python3), or unset {PYTHON_ENV} to let horus build \
                 one under its cache",
                p.display()
            ))
            .into());
        }
        if !imports_horus(&p) {
            return Err(Failure::usage(format!(
                "{PYTHON_ENV}={}: this interpreter cannot `import horus`; install the module \
                 into it with `{} -m pip install {}` (or unset {PYTHON_ENV} to let horus build \
                 it under its cache)",
                p.display(),
                p.display(),
                build::source_dir()?.join("horus-py").display()
            ))
            .into());
        }
        return Ok(p);
    }
    let root = build::source_dir()?;
    let dir = build::cache_dir()?.join("python");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let _lock = lock(&dir.join(".lock"))?;
    let venv = dir.join("venv");
    let python = venv.join("bin").join("python");
    let profile = if release { "release" } else { "debug" };
    let stamp = format!("{:016x} {profile}\n", source_hash(&root)?);
    let stamp_file = dir.join("built-from");
    if python.is_file()
        && std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp)
        && imports_horus(&python)
    {
        return Ok(python);
    }
    if !python.is_file() {
        make_venv(&venv)?;
    }
    let maturin = ensure_maturin(&venv, &python)?;
    if !quiet {
        eprintln!(
            "horus: building the Python module `horus` from {} ({profile}, once; maturin) into {}",
            root.join("horus-py").display(),
            venv.display()
        );
    }
    build_and_install(&root, &dir, &python, &maturin, release, quiet)?;
    ensure_numpy(&python);
    std::fs::write(&stamp_file, stamp)
        .with_context(|| format!("writing {}", stamp_file.display()))?;
    Ok(python)
}

fn imports_horus(python: &Path) -> bool {
    imports(python, "horus")
}

fn imports(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// numpy in the environment (`Image.to_numpy()` makes numpy arrays),
/// installed from PyPI if absent. Not fatal: programs without images run
/// without it, and the warning names the command.
fn ensure_numpy(python: &Path) {
    if imports(python, "numpy") {
        return;
    }
    eprintln!("horus: installing numpy (for Image.to_numpy) next to the module");
    if !pip_install(python, "numpy>=1.22") {
        eprintln!(
            "horus: warning: numpy could not be installed (pip's message above); \
             Image.to_numpy() needs it: `{} -m pip install numpy`",
            python.display()
        );
    }
}

/// `python -m pip install --quiet` (pip's messages on stderr), to which
/// the caller adds what to install.
fn pip_install_command(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .stdin(Stdio::null());
    crate::supervise::ends_with_us(&mut cmd);
    cmd
}

/// Installs `spec` from PyPI into `python`'s environment: did it work?
fn pip_install(python: &Path, spec: &str) -> bool {
    pip_install_command(python)
        .arg(spec)
        .status()
        .is_ok_and(|s| s.success())
}

/// Holds an exclusive `flock` on `path` while the value lives.
fn lock(path: &Path) -> anyhow::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    rustix::fs::flock(f.as_fd(), rustix::fs::FlockOperation::LockExclusive)
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(f)
}

fn tools_missing(what: &str, install: &str) -> anyhow::Error {
    Failure::new(
        exit::ERROR,
        format!(
            "cannot build the HORUS Python module: {what}; install it with `{install}`, then run \
             again (or point {PYTHON_ENV} at a Python where `import horus` works)"
        ),
    )
    .into()
}

fn make_venv(venv: &Path) -> anyhow::Result<()> {
    let version = Command::new("python3")
        .args(["-c", "import sys; print(sys.version_info >= (3, 10))"])
        .stderr(Stdio::inherit())
        .output();
    match version {
        Ok(out) if out.status.success() && out.stdout.starts_with(b"True") => {}
        Ok(out) if out.status.success() => {
            return Err(tools_missing(
                "`python3` is older than 3.10",
                "sudo apt install python3 python3-venv",
            ));
        }
        _ => {
            return Err(tools_missing(
                "there is no `python3` on PATH",
                "sudo apt install python3 python3-venv",
            ));
        }
    }
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .context("running python3 -m venv")?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(venv);
        return Err(tools_missing(
            "`python3 -m venv` failed (its module or ensurepip is missing)",
            "sudo apt install python3-venv",
        ));
    }
    Ok(())
}

/// maturin of the environment, installed there from PyPI if absent.
fn ensure_maturin(venv: &Path, python: &Path) -> anyhow::Result<PathBuf> {
    let maturin = venv.join("bin").join("maturin");
    if maturin.is_file() {
        return Ok(maturin);
    }
    eprintln!(
        "horus: installing maturin (the Python extension builder) into {}",
        venv.display()
    );
    if !pip_install(python, "maturin>=1.7,<2") || !maturin.is_file() {
        return Err(tools_missing(
            "maturin could not be installed from PyPI (pip's message above)",
            &format!("{} -m pip install maturin", python.display()),
        ));
    }
    Ok(maturin)
}

fn build_and_install(
    root: &Path,
    dir: &Path,
    python: &Path,
    maturin: &Path,
    release: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    let wheels = dir.join("wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    let mut cmd = Command::new(maturin);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(root.join("horus-py").join("Cargo.toml"))
        .arg("--interpreter")
        .arg(python)
        .arg("--out")
        .arg(&wheels)
        // The same shared target as `.rs` programs: horus-std is built once.
        .env("CARGO_TARGET_DIR", build::cache_dir()?.join("target"))
        // `RUST_LOG` is meant for the programs (`RUST_LOG=debug horus run
        // x.py`); maturin reads it too and would fill the output with its
        // own trace.
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    if release {
        cmd.arg("--release");
    }
    if quiet {
        cmd.arg("--quiet").stdout(Stdio::null());
    }
    crate::supervise::ends_with_us(&mut cmd);
    let built = cmd.status().is_ok_and(|s| s.success());
    let wheel = std::fs::read_dir(&wheels).ok().and_then(|d| {
        d.filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "whl"))
    });
    let Some(wheel) = wheel.filter(|_| built) else {
        return Err(Failure::new(
            exit::ERROR,
            format!(
                "the HORUS Python module did not build (maturin's messages above); nothing was \
                 started. To build it by hand: `{} build -m {}`",
                maturin.display(),
                root.join("horus-py").join("Cargo.toml").display()
            ),
        )
        .into());
    };
    let ok = pip_install_command(python)
        .args(["--force-reinstall", "--no-deps"])
        .arg(&wheel)
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok || !imports_horus(python) {
        anyhow::bail!(
            "installing {} into {} failed",
            wheel.display(),
            python.display()
        );
    }
    Ok(())
}

/// A hash of every source the module is built from: its own crate and
/// Python files, horus-std, horus-nostd and the workspace lock file.
fn source_hash(root: &Path) -> anyhow::Result<u64> {
    let mut files = Vec::new();
    for part in [
        "horus-py/src",
        "horus-py/python",
        "horus-std/src",
        "horus-nostd/src",
    ] {
        collect(&root.join(part), &mut files);
    }
    for f in [
        "horus-py/Cargo.toml",
        "horus-py/pyproject.toml",
        "horus-std/Cargo.toml",
        "horus-nostd/Cargo.toml",
        "Cargo.lock",
    ] {
        files.push(root.join(f));
    }
    files.sort();
    let mut all = Vec::new();
    for f in &files {
        all.extend_from_slice(
            f.strip_prefix(root)
                .unwrap_or(f)
                .as_os_str()
                .as_encoded_bytes(),
        );
        all.push(0);
        // A missing file hashes as empty (the build then says what is wrong).
        all.extend(std::fs::read(f).unwrap_or_default());
        all.push(0);
    }
    Ok(fnv1a(&all))
}

/// Source files under `dir` (not caches or built modules).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "__pycache__" {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() => collect(&p, out),
            Ok(t) if t.is_file() && !name.ends_with(".so") && !name.ends_with(".pyc") => {
                out.push(p)
            }
            _ => {}
        }
    }
}
