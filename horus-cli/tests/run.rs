//! `horus run`: the seed's two programs (`examples/sensor.rs`,
//! `examples/odometry.rs`, exactly as the seed writes them) built from files,
//! not from the workspace, running as two processes in one namespace; the
//! system commands against them (`node list`, `estop`, `bb`); build errors and
//! unknown file types. All builds share one cache (`common::cache_dir`), so
//! after the first, builds are incremental.

mod common;

use common::{Running, TestNs, temp_dir, text};

const SENSOR: &str = include_str!("../../examples/sensor.rs");
const ODOMETRY: &str = include_str!("../../examples/odometry.rs");

/// Waits until more than `before` lines containing `needle` were printed.
fn wait_more(horus: &mut Running, needle: &str, before: usize, secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while horus.count(needle) <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "no new {needle:?} within {secs} s:\n{}",
            horus.seen.join("\n")
        );
        std::thread::yield_now();
    }
}

/// `horus node list --json` in the test's namespace.
fn node_states(ns: &TestNs) -> Vec<(String, String, u64)> {
    let out = ns.run(&["node", "list", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap_or_default().to_owned(),
                n["state"].as_str().unwrap_or_default().to_owned(),
                n["pid"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// Polls `node list` until `pred` holds for it (generous timeout).
fn wait_nodes(ns: &TestNs, what: &str, pred: impl Fn(&[(String, String, u64)]) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let nodes = node_states(ns);
        if pred(&nodes) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {nodes:?}");
        std::thread::yield_now();
    }
}

#[test]
fn two_programs_show_odometry_deltas_and_stop_on_sigterm() {
    let ns = TestNs::new("run");
    let dir = temp_dir("run");
    std::fs::write(dir.join("sensor.rs"), SENSOR).unwrap();
    std::fs::write(dir.join("odometry.rs"), ODOMETRY).unwrap();
    let mut cmd = ns.horus(&["run", "sensor.rs", "odometry.rs"]);
    cmd.current_dir(&dir);
    let mut horus = Running::start(cmd);
    // Generous: the first build of the suite compiles horus-std.
    horus.expect("[odometry] [Odom] delta L=10 R=10", 600);
    // `started NAME (pid N)` with the program's own pid (its executable, no shell).
    for name in ["sensor", "odometry"] {
        let line = horus.expect(&format!("horus: started {name} (pid "), 30);
        let pid = &line[line.find("(pid ").unwrap() + 5..line.len() - 1];
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("a live pid");
        assert!(
            exe.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}-")),
            "{line}: {}",
            exe.display()
        );
    }
    // Both programs are visible from outside, in the same namespace.
    let out = ns.run(&["topic", "list", "--json"], 30);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let enc = v["topics"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "wheel.encoders"))
        .unwrap_or_else(|| panic!("no wheel.encoders in {v}"));
    assert_eq!(enc["publishers"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(enc["subscribers"].as_array().map(Vec::len), Some(1), "{v}");
    // `horus node list` shows both schedulers' nodes, from two processes.
    wait_nodes(&ns, "both nodes running", |n| {
        let running = |name: &str| n.iter().any(|(m, s, _)| m == name && s == "Running");
        let pids: std::collections::HashSet<u64> = n.iter().map(|(_, _, p)| *p).collect();
        running("Encoder") && running("Odometry") && pids.len() == 2
    });
    // From a shell in another namespace: `--namespace` reaches them, and
    // without it that namespace has no nodes (and looking creates nothing).
    let elsewhere = format!("{}_elsewhere", ns.name);
    let from_elsewhere = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_horus"))
            .args(args)
            .env("HORUS_NAMESPACE", &elsewhere)
            .output()
            .expect("run horus")
    };
    let out = from_elsewhere(&["--namespace", &ns.name, "node", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    let out = from_elsewhere(&["node", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(0), "{v}");
    assert!(!horus::shm::Namespace::path_of(&elsewhere).exists());
    // `horus estop` holds every scheduler of the namespace...
    let out = ns.run(&["estop", "--reason", "test"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_nodes(&ns, "both nodes held", |n| {
        n.len() == 2 && n.iter().all(|(_, s, _)| s == "Stopped")
    });
    let out = ns.run(&["estop", "--status"], 30);
    assert_eq!(out.status.code(), Some(1), "engaged reads as exit 1");
    let (raised, bb) = common::bb_records(&ns, &["bb", "--anomalies"], "estop_raised");
    assert_eq!(raised.len(), 2, "one record per scheduler: {bb}");
    // ...and `--clear` resumes them: new deltas arrive.
    let before = horus.count("[Odom] delta");
    let out = ns.run(&["estop", "--clear"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_more(&mut horus, "[Odom] delta", before, 60);
    // SIGTERM to horus stops both; stopped-when-asked is success.
    horus.assert_stops_on_sigterm();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_build_error_shows_the_compiler_and_runs_nothing() {
    let ns = TestNs::new("builderr");
    let dir = temp_dir("builderr");
    std::fs::write(
        dir.join("broken.rs"),
        "use horus::prelude::*;\nfn main() { let x: u32 = \"no\"; }\n",
    )
    .unwrap();
    std::fs::write(dir.join("sensor.rs"), SENSOR).unwrap();
    // sensor.rs is never built nor started: broken.rs comes first and fails.
    let out = ns.run(
        &[
            "run",
            dir.join("broken.rs").to_str().unwrap(),
            dir.join("sensor.rs").to_str().unwrap(),
        ],
        600,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[E0308]") && err.contains("broken.rs"),
        "{err}"
    );
    assert!(
        err.contains("did not build") && err.contains("nothing was started"),
        "{err}"
    );
    assert!(!ns.path().join("wheel.encoders.topic").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_program_fails_the_run_and_its_last_words_come_first() {
    let ns = TestNs::new("runfail");
    let dir = temp_dir("runfail");
    std::fs::write(dir.join("fine.rs"), "fn main() { println!(\"fine\"); }\n").unwrap();
    std::fs::write(
        dir.join("bad.rs"),
        "fn main() { eprintln!(\"last words\"); std::process::exit(4); }\n",
    )
    .unwrap();
    let out = ns.run(
        &[
            "run",
            dir.join("fine.rs").to_str().unwrap(),
            dir.join("bad.rs").to_str().unwrap(),
        ],
        600,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        text(&out.stdout).contains("[fine] fine"),
        "{}",
        text(&out.stdout)
    );
    assert!(err.contains("horus: [fine] finished"), "{err}");
    let words = err.find("[bad] last words").expect("the program's stderr");
    let failed = err
        .find("horus: [bad] failed: exit code 4")
        .expect("the verdict");
    assert!(
        words < failed,
        "its output is printed before its end: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_file_types_and_python_are_explained() {
    let ns = TestNs::new("filetype");
    let dir = temp_dir("filetype");
    std::fs::write(dir.join("notes.txt"), "hello").unwrap();
    std::fs::write(dir.join("node.py"), "print('hi')").unwrap();
    let out = ns.run(&["run", dir.join("notes.txt").to_str().unwrap()], 30);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown file type"),
        "{}",
        text(&out.stderr)
    );
    // A FIFO or a directory of a source file's name is said as such (it was
    // "no such file"); the FIFO is never opened (that would block).
    rustix::fs::mkfifoat(rustix::fs::CWD, dir.join("pipe.rs"), rustix::fs::Mode::RUSR).unwrap();
    std::fs::create_dir(dir.join("pkg.py")).unwrap();
    for (file, says) in [
        (
            "pipe.rs",
            "pipe.rs: is a FIFO, not a regular file: give the program's source file",
        ),
        (
            "pkg.py",
            "pkg.py: is a directory: give a .rs or .py file in it",
        ),
        ("gone.rs", "gone.rs: no such file"),
    ] {
        let out = ns.run(&["run", dir.join(file).to_str().unwrap()], 30);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says) && err.lines().count() == 1, "{err}");
    }
    // A .rs whose path is not UTF-8: its build named another path and
    // failed with "can't find bin"; refused before any build.
    let odd = dir.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"n\xffx.rs"));
    std::fs::write(&odd, "fn main() {}\n").unwrap();
    let mut run = ns.horus(&["run"]);
    run.arg(&odd).stderr(std::process::Stdio::piped());
    let out = common::finish(run.spawn().unwrap(), 30, "horus run n\\xffx.rs");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("x.rs: its path is not UTF-8, and Cargo builds only from UTF-8 paths"),
        "{err}"
    );
    // `--json` is not silently ignored.
    let out = ns.run(
        &["run", "--json", dir.join("notes.txt").to_str().unwrap()],
        30,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--json: `horus run` has no JSON output") && err.contains("node list --json"),
        "{err}"
    );
    // An interpreter without the module is refused before anything starts,
    // with the command that installs it (the build path is ci/python.sh's).
    let fake = dir.join("fakepy");
    std::fs::write(&fake, "#!/bin/sh\nexit 1\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = ns
        .horus(&["run", dir.join("node.py").to_str().unwrap()])
        .env("HORUS_PYTHON", &fake)
        .output()
        .expect("horus run");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("fakepy: this interpreter cannot `import horus`")
            && err.contains("-m pip install")
            && err.contains("horus-py"),
        "{err}"
    );
    assert!(!text(&out.stdout).contains("hi"));
    // One that does not exist is said to be missing (it was told to
    // `pip install` into itself).
    let out = ns
        .horus(&["run", dir.join("node.py").to_str().unwrap()])
        .env("HORUS_PYTHON", "/nonexistent/python3")
        .output()
        .expect("horus run");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("HORUS_PYTHON=/nonexistent/python3: no such program") && !err.contains("pip"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_under_an_engaged_estop_says_so_and_a_closed_stdout_breaks_nothing() {
    use std::io::{BufRead, BufReader};
    let ns = TestNs::new("runpipe");
    let dir = temp_dir("runpipe");
    std::fs::write(
        dir.join("chatty.rs"),
        "fn main() { loop { println!(\"line\"); std::thread::sleep(std::time::Duration::from_millis(5)); } }\n",
    )
    .unwrap();
    let out = ns.run(&["estop", "--reason", "test hold"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // One program, stdout a pipe that its reader closes (`| head -3`).
    let mut child = ns
        .horus(&["run", dir.join("chatty.rs").to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn horus");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..3 {
        let line = lines.next().expect("output ended").expect("read");
        assert_eq!(line, "line");
    }
    drop(lines);
    let out = common::finish(child, 600, "horus run | head");
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: the e-stop of namespace") && err.contains("ENGAGED (test hold)"),
        "{err}"
    );
    // The program was stopped as on Ctrl+C, never handed the broken pipe.
    assert!(
        !err.contains("Broken pipe") && !err.contains("panicked"),
        "{err}"
    );
    assert!(!err.contains("failed"), "{err}");
    assert_eq!(out.status.code(), Some(141), "{err}");
    let out = ns.run(&["estop", "--clear"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Was an orphan: `horus` killed while it built a program left cargo
/// building under pid 1 (holding its cache's lock for the next run).
#[test]
fn a_horus_killed_while_building_takes_the_build_with_it() {
    let ns = TestNs::new("buildkill");
    let dir = temp_dir("buildkill");
    // rustc evaluates this constant for a minute or so: the build is long.
    // A seed of this run makes the source new, so nothing is cached.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::fs::write(
        dir.join("buildkill.rs"),
        format!(
            "#![allow(long_running_const_eval)]\nconst SPIN: u64 = {{ let mut i = 0u64; let mut x = {seed}u64; \
             while i < 5_000_000_000 {{ x = x.wrapping_mul(6364136223846793005).wrapping_add(i); \
             i += 1; }} x }};\nfn main() {{ println!(\"{{SPIN}}\"); }}\n"
        ),
    )
    .unwrap();
    let mut horus = Running::start(ns.horus(&["run", dir.join("buildkill.rs").to_str().unwrap()]));
    let project = "/buildkill-";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let cargo = loop {
        let found: Vec<u32> = common::pids_running(project)
            .into_iter()
            .filter(|&p| p != horus.child.id())
            .collect();
        if !found.is_empty() {
            break found;
        }
        assert!(std::time::Instant::now() < deadline, "no build started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    horus.child.kill().expect("SIGKILL horus");
    let _ = horus.child.wait();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while cargo
        .iter()
        .any(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the build outlived horus by a minute: {:?}",
            common::pids_running(project)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Was an orphan: a single program stays in horus's process group (it keeps
/// the terminal), so what it started outlived a stopped `horus run`.
#[test]
fn what_a_single_program_started_is_stopped_with_it() {
    let ns = TestNs::new("leftover");
    let dir = temp_dir("leftover");
    // A duration no other process runs `sleep` with.
    let tag = format!("3000.{}", std::process::id());
    std::fs::write(
        dir.join("leftover.rs"),
        format!(
            "use std::process::{{Command, Stdio}};\nfn main() {{\n    let helper = \
             Command::new(\"sleep\").arg(\"{tag}\").stdin(Stdio::null()).stdout(Stdio::null())\
             .stderr(Stdio::null()).spawn().unwrap();\n    println!(\"helper {{}}\", helper.id());\n    \
             loop {{ std::thread::sleep(std::time::Duration::from_secs(1)); }}\n}}\n"
        ),
    )
    .unwrap();
    let mut horus = Running::start(ns.horus(&["run", dir.join("leftover.rs").to_str().unwrap()]));
    let line = horus.expect("helper ", 600);
    let helper: u32 = line["helper ".len()..].trim().parse().expect("pid");
    // As on Ctrl+C: the program dies of SIGTERM (its default), its helper
    // is adopted by horus, which stops it before it exits.
    horus.assert_stops_on_sigterm();
    let left = common::pids_running(&tag);
    assert!(
        !common::kill_all(&left),
        "the helper outlived horus run: {left:?}"
    );
    let said = format!("horus: stopping 1 process the programs left running (pid {helper})");
    assert!(
        horus.seen.iter().any(|l| l.contains(&said)),
        "{}",
        horus.seen.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The pid of the guard `horus` (pid `horus`) started.
fn guard_of(horus: u32) -> Option<u32> {
    common::pids_running("__guard").into_iter().find(|&p| {
        std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
            s.rsplit_once(") ").and_then(|(_, r)| r.split(' ').nth(1)) == Some(&horus.to_string())
        })
    })
}

/// The pids whose pidfds process `pid` holds (`Pid:` in its fdinfo).
fn pidfds_held(pid: u32) -> Vec<u32> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_to_string(fd.path()).ok())
        .filter_map(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("Pid:"))
                .and_then(|p| p.trim().parse().ok())
        })
        .collect()
}

/// Was an orphan: a single program that ignores SIGTERM (the parent-death
/// signal) outlived a SIGKILLed `horus run`, and so did what it started;
/// the guard now holds both by pidfd and kills them after the grace period.
#[test]
fn a_program_ignoring_sigterm_and_its_helper_go_with_a_killed_horus() {
    let ns = TestNs::new("stubborn");
    let dir = temp_dir("stubborn");
    // A duration no other process runs `sleep` with.
    let tag = format!("3001.{}", std::process::id());
    std::fs::write(
        dir.join("stubborn.rs"),
        format!(
            "unsafe extern \"C\" {{\n    fn signal(sig: i32, handler: usize) -> usize;\n}}\n\
             fn main() {{\n    // SAFETY: SIG_IGN (1) for SIGTERM (15), before any thread exists.\n    \
             unsafe {{ signal(15, 1) }};\n    let helper = std::process::Command::new(\"sleep\")\
             .arg(\"{tag}\").stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null())\
             .stderr(std::process::Stdio::null()).spawn().unwrap();\n    \
             println!(\"ready {{}}\", helper.id());\n    \
             loop {{ std::thread::sleep(std::time::Duration::from_secs(1)); }}\n}}\n"
        ),
    )
    .unwrap();
    let mut horus = Running::start(ns.horus(&[
        "run",
        "--grace",
        "1",
        dir.join("stubborn.rs").to_str().unwrap(),
    ]));
    let started = horus.expect("horus: started stubborn (pid ", 600);
    let pid: u32 = started
        .rsplit_once("(pid ")
        .and_then(|(_, p)| p.trim_end_matches(')').parse().ok())
        .expect("pid");
    let ready = horus.expect("ready ", 60);
    let helper: u32 = ready["ready ".len()..].trim().parse().expect("helper pid");
    // Until the guard holds both (horus tells it within a second).
    let guard = guard_of(horus.child.id()).expect("the guard of horus run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ![pid, helper].iter().all(|p| pidfds_held(guard).contains(p)) {
        if std::time::Instant::now() > deadline {
            let held = pidfds_held(guard);
            common::kill_all(&[pid, helper]);
            panic!(
                "the guard holds pidfds of {held:?}, not of the program {pid} and its helper {helper}"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    horus.child.kill().expect("SIGKILL horus");
    let _ = horus.child.wait();
    // Gone, or a zombie its new parent has yet to reap.
    let alive = |p: u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, r)| !r.starts_with('Z'))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while (alive(pid) || alive(helper)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let left: Vec<u32> = [pid, helper].into_iter().filter(|&p| alive(p)).collect();
    assert!(
        !common::kill_all(&left),
        "outlived horus by 30 s: {left:?} (program {pid}, helper {helper})"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Orphans that end while the program runs are reaped by `horus run`
/// (their new parent), never left as zombies that use up pids.
#[test]
fn orphans_that_end_while_the_program_runs_leave_no_zombie() {
    let ns = TestNs::new("zombies");
    let dir = temp_dir("zombies");
    std::fs::write(
        dir.join("zombies.rs"),
        "fn main() {\n    for _ in 0..20 {\n        std::process::Command::new(\"sh\").args([\"-c\", \
         \"sleep 0.05 &\"]).status().unwrap();\n    }\n    println!(\"spawned\");\n    \
         loop { std::thread::sleep(std::time::Duration::from_secs(1)); }\n}\n",
    )
    .unwrap();
    let mut horus = Running::start(ns.horus(&["run", dir.join("zombies.rs").to_str().unwrap()]));
    horus.expect("spawned", 600);
    let me = horus.child.id();
    // The children of horus: (pid, state) from /proc/*/stat.
    let children = || -> Vec<(u32, char)> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let mut f = stat.rsplit_once(") ")?.1.split(' ');
                let state = f.next()?.chars().next()?;
                (f.next()?.parse::<u32>().ok()? == me).then_some((pid, state))
            })
            .collect()
    };
    // Until the 20 orphans have ended and been reaped, horus has more
    // children than the program and its guard (both sleeping).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while children().iter().filter(|&&(_, s)| s != 'Z').count() != 2
        || children().iter().any(|&(_, s)| s == 'Z')
    {
        assert!(
            std::time::Instant::now() < deadline,
            "children of horus after 30 s (Z: a zombie): {:?}",
            children()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    horus.assert_stops_on_sigterm();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Was Python's "partially initialized module 'horus' has no attribute ...
/// (most likely due to a circular import)" from inside the program: a
/// `horus.py` beside a Python program is what its `import horus` imports.
#[test]
fn a_horus_py_beside_a_python_program_is_refused_before_it_starts() {
    let ns = TestNs::new("shadow");
    let dir = temp_dir("shadow");
    std::fs::write(dir.join("horus.py"), "import horus\n").unwrap();
    std::fs::write(dir.join("node.py"), "import horus\n").unwrap();
    for file in ["node.py", "horus.py"] {
        let path = dir.join(file);
        let out = ns.run(&["run", path.to_str().unwrap()], 30);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let err = text(&out.stderr);
        assert!(
            err.contains("`import horus` in it would import") && err.contains("rename that file"),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
