//! Python rows: one-way latency between a Python process using the `horus`
//! module (horus-py) and this process, for a 64-byte POD message both ways
//! and a 640x480 rgb8 `Image` from Rust to Python (its numpy array in hand).
//!
//! This process runs `horus-py/bench/pong.rs`'s [`pong::serve`] in a thread
//! (on core B) and `horus-py/bench/latency.py --raw` as a child (it
//! inherits core A), in the run's namespace; the script stamps and collects
//! the samples (see its docstring) and prints them. The interpreter is
//! `HORUS_PYTHON` as given, else the environment `horus run -r x.py` builds
//! in the horus cache: this workspace's `horus run -r` is called first
//! (through `cargo run`), which builds the release module there, or finds
//! it up to date with the sources. The rows are skipped, with a line saying
//! why, when that fails or the interpreter cannot `import horus, numpy`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::horus_rows::Ctx;
use crate::stats::{Samples, Summary};
use crate::{Config, Res};

#[path = "../../horus-py/bench/pong.rs"]
mod pong;

/// The Python rows, or why there are none.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value a run, never moved in a loop: boxing buys nothing"
)]
pub enum PythonRows {
    Skipped(String),
    Measured {
        python: PathBuf,
        pod_to_rust: Summary,
        pod_to_python: Summary,
        image_to_python: Summary,
    },
}

/// Why the Python image target is judged on one reading, not the four of
/// `report::verdict` (whole rows and per-round, timer in and out): each
/// Python row is recorded in one piece by one run of the script (the POD
/// rows, then the image row), not in interleaved rounds, so there are no
/// per-round figures to pair; and its samples are differences of two
/// stamps taken on the two sides (one clock read each), not halves of a
/// timed round trip, so the timer's one-way cost the other targets take out
/// is not what is in them.
const ONE_READING: &str = "judged on the whole rows only: the Python rows are each recorded in \
     one piece (POD, then image; not interleaved in rounds), so there is no per-round ratio, and \
     their one-way figures are differences of stamps taken on both sides, not halves of a timed \
     round trip, so no timer cost is taken out";

/// `HORUS_PYTHON`, or the cache environment of `horus run` (the cache dir
/// as the CLI finds it: `HORUS_CACHE_DIR`, `$XDG_CACHE_HOME/horus`,
/// `~/.cache/horus`).
fn interpreter() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = var("HORUS_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let cache = var("HORUS_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| var("XDG_CACHE_HOME").map(|x| Path::new(&x).join("horus")))
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".cache").join("horus")))?;
    Some(cache.join("python").join("venv").join("bin").join("python"))
}

fn imports_horus(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import horus, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Has this workspace's `horus run -r` build the release module into the
/// horus cache (or find it up to date), by running a script that imports it.
fn build_module(ctx: &Ctx) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("the benchmarks crate has no parent directory")?;
    let script = std::env::temp_dir().join(format!("horus-bench-import-{}.py", std::process::id()));
    std::fs::write(&script, "import horus, numpy\n")
        .map_err(|e| format!("writing {}: {e}", script.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "horus-cli",
            "--",
            "run",
        ])
        .args(["--release", "--quiet", "--namespace", &ctx.ns])
        .arg(&script)
        .output();
    let _ = std::fs::remove_file(&script);
    let out = out.map_err(|e| format!("cargo run -p horus-cli: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last: Vec<&str> = err.lines().rev().take(3).collect();
    let said = if last.is_empty() {
        "nothing on stderr".to_owned()
    } else {
        last.into_iter().rev().collect::<Vec<_>>().join(" / ")
    };
    Err(format!(
        "`horus run -r` of a script importing it exited with {} ({said})",
        out.status
    ))
}

/// Measures the rows, or says why not.
pub fn run(cfg: &Config, ctx: &Ctx) -> PythonRows {
    if std::env::var_os("HORUS_PYTHON").is_none_or(|v| v.is_empty()) {
        eprintln!(
            "  Python rows: `horus run -r` builds the release module if it is not up to date"
        );
        if let Err(why) = build_module(ctx) {
            return PythonRows::Skipped(format!(
                "the horus Python module could not be built: {why}"
            ));
        }
    }
    let Some(python) = interpreter() else {
        return PythonRows::Skipped(
            "no interpreter: HORUS_PYTHON is not set, nor HOME, XDG_CACHE_HOME or \
             HORUS_CACHE_DIR (where `horus run` builds the module)"
                .to_owned(),
        );
    };
    if !imports_horus(&python) {
        return PythonRows::Skipped(format!(
            "{} cannot `import horus, numpy`: install both into it (`pip install ./horus-py \
             numpy`), or unset HORUS_PYTHON to let `horus run -r` build the module",
            python.display()
        ));
    }
    match measure(cfg, ctx, &python) {
        Ok(rows) => rows,
        Err(e) => PythonRows::Skipped(format!("{} failed: {e}", python.display())),
    }
}

fn measure(cfg: &Config, ctx: &Ctx, python: &Path) -> Res<PythonRows> {
    let pod_n = cfg.samples.min(200_000);
    let image_n = (pod_n / 10).max(100);
    let stop = AtomicBool::new(false);
    let ns = ctx.ns.as_str();
    let (pod, image) = std::thread::scope(|s| {
        let peer = s.spawn(|| {
            crate::sys::pin(crate::sys::CORE_B);
            crate::sys::realtime(cfg.rt);
            pong::serve(Some(ns), &stop).map_err(|e| e.to_string())
        });
        let pod = script(python, ns, &[&pod_n.to_string()]);
        let image = script(python, ns, &["--image", &image_n.to_string()]);
        // Relaxed: a plain flag, nothing is published through it.
        stop.store(true, Ordering::Relaxed);
        let served = peer.join().map_err(|_| "the Rust peer panicked".to_owned());
        served.and_then(|r| r).map(|()| (pod, image))
    })?;
    let (mut pod, mut image) = (pod?, image?);
    Ok(PythonRows::Measured {
        python: python.to_owned(),
        pod_to_rust: take(&mut pod, "python_to_rust")?,
        pod_to_python: take(&mut pod, "rust_to_python")?,
        image_to_python: take(&mut image, "image_rust_to_python")?,
    })
}

/// The summary of the samples named `name`.
fn take(rows: &mut Vec<(String, Samples)>, name: &str) -> Res<Summary> {
    let i = rows
        .iter()
        .position(|(n, s)| n == name && !s.is_empty())
        .ok_or_else(|| format!("latency.py printed no {name} samples"))?;
    Ok(rows.swap_remove(i).1.measured_one_way())
}

/// Runs `latency.py --raw ARGS` in namespace `ns`: its `name v1 v2 ...`
/// lines.
fn script(python: &Path, ns: &str, args: &[&str]) -> Res<Vec<(String, Samples)>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../horus-py/bench/latency.py");
    let out = Command::new(python)
        .arg(&path)
        .arg("--raw")
        .args(args)
        .env("HORUS_NAMESPACE", ns)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "{} {}: {}; {}",
            path.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let mut rows = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        let mut s = Samples::with_capacity(0);
        for w in words {
            s.push(
                w.parse::<u64>()
                    .map_err(|e| format!("latency.py printed {w:?}: {e}"))?,
            );
        }
        rows.push((name.to_owned(), s));
    }
    Ok(rows)
}
/// The progress lines (stderr).
pub fn progress(rows: &PythonRows) {
    match rows {
        PythonRows::Skipped(why) => eprintln!("  Python rows skipped: {why}"),
        PythonRows::Measured { .. } => {
            for (name, s) in rows.rows() {
                crate::progress(name, s);
            }
        }
    }
}

impl PythonRows {
    fn rows(&self) -> Vec<(&'static str, &Summary)> {
        match self {
            PythonRows::Skipped(_) => Vec::new(),
            PythonRows::Measured {
                pod_to_rust,
                pod_to_python,
                image_to_python,
                ..
            } => vec![
                ("Python -> Rust, 64 B POD", pod_to_rust),
                ("Rust -> Python, 64 B POD", pod_to_python),
                ("Rust -> Python, 640x480 rgb8 Image", image_to_python),
            ],
        }
    }

    /// The section of RESULTS.md.
    pub fn markdown(&self, o: &mut String) {
        use crate::report::ns;
        use std::fmt::Write;
        let _ = writeln!(
            o,
            "\n## Python (horus-py) <-> Rust, across processes, one-way (ns)\n"
        );
        let python = match self {
            PythonRows::Skipped(why) => {
                let _ = writeln!(o, "Skipped: {why}.");
                return;
            }
            PythonRows::Measured { python, .. } => python,
        };
        let _ = writeln!(
            o,
            "`horus-py/bench/latency.py` under `{}` against `horus-py/bench/pong.rs`'s `serve` in a \
             thread of this program (cores A and B). One-way = receiver's stamp - sender's stamp \
             (both `horus::now_ns`, CLOCK_MONOTONIC), one sample in flight at a time, every sample \
             kept. The image row ends when Python holds the received image's `to_numpy()` array \
             (over the publisher's pool block, no copy) and has read the stamp's bytes from it \
             (`arr[0, :6].tobytes()`, 18 bytes).\n",
            python.display()
        );
        let _ = writeln!(o, "| row | samples | p50 | p99 | p99.9 | max |");
        let _ = writeln!(o, "|---|---|---|---|---|---|");
        for (name, s) in self.rows() {
            let _ = writeln!(
                o,
                "| {name} | {} | {} | {} | {} | {} |",
                s.count,
                ns(s.p50),
                ns(s.p99),
                ns(s.p999),
                ns(s.max)
            );
        }
    }

    /// `(target, met, detail)` of the Python rows (none when skipped).
    /// The Python targets: MET or MISSED, each on one reading (see
    /// [`ONE_READING`]).
    pub fn targets(&self) -> Vec<(&'static str, bool, String)> {
        let PythonRows::Measured {
            pod_to_rust,
            pod_to_python,
            image_to_python,
            ..
        } = self
        else {
            return Vec::new();
        };
        let worst = pod_to_rust.p50.max(pod_to_python.p50);
        vec![
            (
                "Python <-> Rust 64 B POD p50 under 2 us (both directions)",
                worst < 2000.0,
                format!(
                    "Python -> Rust {} ns, Rust -> Python {} ns",
                    crate::report::ns(pod_to_rust.p50),
                    crate::report::ns(pod_to_python.p50)
                ),
            ),
            (
                "640x480 rgb8 Image Rust -> Python p50 within 2x of the Rust -> Python POD row",
                image_to_python.p50 <= 2.0 * pod_to_python.p50,
                format!(
                    "{} ns vs {} ns = {:.2}x; {ONE_READING}",
                    crate::report::ns(image_to_python.p50),
                    crate::report::ns(pod_to_python.p50),
                    image_to_python.p50 / pod_to_python.p50
                ),
            ),
        ]
    }
}
