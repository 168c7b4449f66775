//! `horus launch`: a three-node file (a publisher, a dependent listener and a
//! node that crashes once and is restarted), `--dry-run`, critical nodes,
//! and invalid files that start nothing.

mod common;

use std::path::Path;

use common::{Running, TestNs, temp_dir, text};

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::child_main();
}

/// This test binary, as a YAML double-quoted string.
fn this_exe() -> String {
    format!(
        "{:?}",
        std::env::current_exe().unwrap().display().to_string()
    )
}

#[test]
fn three_nodes_with_a_crash_and_a_restart() {
    let ns = TestNs::new("launch");
    let dir = temp_dir("launch");
    let yaml = format!(
        r#"nodes:
  - name: sensor
    cmd: {exe}
    args: [--exact, child_main, --nocapture, --include-ignored, --test-threads=1]
    env: {{ HORUS_TEST_ROLE: publish }}
  - name: listener
    cmd: horus topic echo wheel.encoders -n 2
    depends_on: [sensor]
    restart: on-failure      # until the sensor has created the topic
    restart_delay: 100ms
  - name: crasher
    cmd: if [ -f crashed ]; then echo second life; exec sleep 1000; else touch crashed; echo first life; kill -9 $$; fi
    restart: on-failure
    restart_delay: 0.1
"#,
        exe = this_exe()
    );
    std::fs::write(dir.join("launch.yaml"), yaml).unwrap();
    let mut horus =
        Running::start(ns.horus(&["launch", dir.join("launch.yaml").to_str().unwrap()]));
    horus.expect("[crasher] first life", 30);
    horus.expect(
        "horus: [crasher] failed: signal 9 (SIGKILL); restarting in 0.1s (restart 1)",
        30,
    );
    horus.expect("[crasher] second life", 30);
    horus.expect("[listener] left_ticks: ", 30);
    horus.expect("horus: [listener] finished", 30);
    // The launch's nodes live in the test's namespace.
    let out = ns.run(&["topic", "list"], 30);
    assert!(
        text(&out.stdout).contains("wheel.encoders"),
        "{}",
        text(&out.stdout)
    );
    horus.assert_stops_on_sigterm();
    assert_eq!(horus.count("[crasher] first life"), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_critical_failure_stops_the_launch() {
    let ns = TestNs::new("critical");
    let dir = temp_dir("critical");
    std::fs::write(
        dir.join("launch.yaml"),
        "nodes:\n  - name: idle\n    cmd: exec sleep 1000\n  - name: brakes\n    cmd: echo up; sleep 0.2; exit 4\n    critical: true\n    restart: on-failure\n",
    )
    .unwrap();
    let out = ns.run(&["launch", dir.join("launch.yaml").to_str().unwrap()], 60);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("[brakes] critical node failed: exit code 4"),
        "{err}"
    );
    assert!(err.contains("stopping the whole launch"), "{err}");
    // The e-stop it raised outlives the launch, until cleared explicitly.
    let out = ns.run(&["estop", "--status", "--json"], 30);
    assert_eq!(out.status.code(), Some(1), "engaged: {}", text(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v["reason"].as_str().is_some_and(|r| r.contains("brakes")),
        "{v}"
    );
    let out = ns.run(&["estop", "--clear"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A critical node whose program cannot be executed is its failure (e-stop,
/// exit 3), and a node depending on a node that never started is not
/// started (it was: the failed start counted as a start).
#[test]
fn a_critical_node_that_cannot_start_stops_the_launch_and_its_dependents() {
    use std::os::unix::fs::PermissionsExt;
    let ns = TestNs::new("critical_nostart");
    let dir = temp_dir("critical_nostart");
    let script = dir.join("notexec.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(
        dir.join("launch.yaml"),
        "nodes:\n  - name: idle\n    cmd: exec sleep 1000\n  - name: brakes\n    cmd: ./notexec.sh\n    critical: true\n  - name: after\n    cmd: echo started after\n    depends_on: [brakes]\n",
    )
    .unwrap();
    let out = ns.run(&["launch", dir.join("launch.yaml").to_str().unwrap()], 60);
    let (err, said) = (text(&out.stderr), text(&out.stdout));
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("[brakes] could not start"), "{err}");
    assert!(
        err.contains("critical node brakes of launch failed"),
        "{err}"
    );
    assert!(
        !said.contains("started after") && !err.contains("started after"),
        "{said}{err}"
    );
    let out = ns.run(&["estop", "--clear"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Not critical: the launch goes on without it and its dependent, and
    // ends (failed) when the rest does, instead of waiting forever.
    std::fs::write(
        dir.join("launch.yaml"),
        "nodes:\n  - name: short\n    cmd: sleep 0.2\n  - name: brakes\n    cmd: ./notexec.sh\n  - name: after\n    cmd: echo started after\n    depends_on: [brakes]\n",
    )
    .unwrap();
    let out = ns.run(&["launch", dir.join("launch.yaml").to_str().unwrap()], 60);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("[after] not started: it depends on brakes, which could not start"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A node writing without newlines has its output forwarded in prefixed
/// pieces of at most 64 KiB, every byte of it (it was held in memory whole:
/// 300 MB of output without a newline, 300 MB of `horus`).
#[test]
fn output_without_newlines_is_forwarded_in_bounded_pieces() {
    let ns = TestNs::new("longline");
    let dir = temp_dir("longline");
    std::fs::write(
        dir.join("launch.yaml"),
        "nodes:\n  - name: w\n    cmd: head -c 1000000 /dev/zero | tr '\\0' x\n",
    )
    .unwrap();
    let out = ns.run(&["launch", dir.join("launch.yaml").to_str().unwrap()], 60);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let pieces: Vec<&str> = said
        .lines()
        .filter_map(|l| l.strip_prefix("[w] "))
        .collect();
    assert!(
        pieces.iter().all(|p| p.len() <= 64 * 1024),
        "a piece over 64 KiB"
    );
    assert_eq!(
        pieces.iter().map(|p| p.matches('x').count()).sum::<usize>(),
        1_000_000
    );
    assert!(pieces.len() >= 16, "{} pieces", pieces.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Was garbled: a piece cut at 64 KiB could end inside a multi-byte
/// character, printed as U+FFFD at the end of one piece and the start of
/// the next.
#[test]
fn long_lines_are_never_cut_inside_a_character() {
    let ns = TestNs::new("longutf8");
    let dir = temp_dir("longutf8");
    // 70000 three-byte characters: 65536 is no multiple of 3.
    std::fs::write(
        dir.join("launch.yaml"),
        "nodes:\n  - name: w\n    cmd: yes € | head -n 70000 | tr -d '\\n'; echo\n",
    )
    .unwrap();
    let out = ns.run(&["launch", dir.join("launch.yaml").to_str().unwrap()], 60);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(!said.contains('\u{FFFD}'), "a character was cut");
    let pieces: Vec<&str> = said
        .lines()
        .filter_map(|l| l.strip_prefix("[w] "))
        .collect();
    assert!(
        pieces.iter().all(|p| p.len() <= 64 * 1024),
        "a piece over 64 KiB"
    );
    assert!(pieces.len() >= 4, "{} pieces", pieces.len());
    assert_eq!(
        pieces.iter().map(|p| p.matches('€').count()).sum::<usize>(),
        70_000
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_node_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let ns = TestNs::new("grace");
    let dir = temp_dir("grace");
    std::fs::write(
        dir.join("launch.yaml"),
        "nodes:\n  - name: stubborn\n    cmd: trap '' TERM; echo stubborn up; while true; do sleep 0.05; done\n",
    )
    .unwrap();
    // With a unit, as every time option of the command takes it.
    let mut horus = Running::start(ns.horus(&[
        "launch",
        "--grace",
        "500ms",
        dir.join("launch.yaml").to_str().unwrap(),
    ]));
    horus.expect("[stubborn] stubborn up", 30);
    // A node that had to be killed did not stop cleanly: exit 1, and said.
    let code = horus.stop("TERM", 30);
    let seen = horus.seen.join("\n");
    assert!(seen.contains("[stubborn] signal 9 (SIGKILL)"), "{seen}");
    assert_eq!(code, Some(1), "{seen}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two stop signals that arrive within one poll of the supervisor (`kill
/// -INT; kill -TERM`, a fast double Ctrl+C) hurry the stop as a second
/// Ctrl+C does: the stubborn node was given the whole grace period.
#[test]
fn two_quick_stop_signals_skip_the_grace_period() {
    let ns = TestNs::new("twosig");
    let dir = temp_dir("twosig");
    std::fs::write(
        dir.join("launch.yaml"),
        "nodes:\n  - name: stubborn\n    cmd: trap '' TERM; echo stubborn up; while true; do sleep 0.05; done\n",
    )
    .unwrap();
    let mut horus = Running::start(ns.horus(&[
        "launch",
        "--grace",
        "40s",
        dir.join("launch.yaml").to_str().unwrap(),
    ]));
    horus.expect("[stubborn] stubborn up", 30);
    let pid = horus.child.id().to_string();
    // Two different signals: the kernel never merges them into one.
    let sent = std::process::Command::new("sh")
        .args(["-c", "kill -INT $0; kill -TERM $0", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    // Well before the grace period would end.
    horus.expect("[stubborn] signal 9 (SIGKILL)", 20);
    let code = horus.stop("TERM", 30);
    assert_eq!(code, Some(1), "{}", horus.seen.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Was a success (exit 0) when stopped while the node waited to restart,
/// although it never ran without failing.
#[test]
fn a_launch_stopped_while_a_failed_node_waits_to_restart_failed() {
    let ns = TestNs::new("backoffstop");
    let dir = temp_dir("backoffstop");
    std::fs::write(
        dir.join("launch.yaml"),
        "nodes:\n  - name: flaky\n    cmd: echo flaky up; exit 3\n    restart: always\n    restart_delay: 1h\n",
    )
    .unwrap();
    let mut horus =
        Running::start(ns.horus(&["launch", dir.join("launch.yaml").to_str().unwrap()]));
    horus.expect("[flaky] failed: exit code 3; restarting in", 30);
    let code = horus.stop("TERM", 30);
    assert_eq!(code, Some(1), "{}", horus.seen.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dry_run_prints_the_plan_in_dependency_order() {
    let ns = TestNs::new("dryrun");
    let dir = temp_dir("dryrun");
    std::fs::write(
        dir.join("l.yaml"),
        "namespace: fromfile\nnodes:\n  - name: b\n    cmd: touch started-b\n    depends_on: [a]\n  - name: a\n    cmd: touch started-a\n",
    )
    .unwrap();
    let out = ns.run(
        &[
            "launch",
            "--dry-run",
            "--json",
            dir.join("l.yaml").to_str().unwrap(),
        ],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["namespace"], "fromfile");
    assert_eq!(v["nodes"][0]["name"], "a");
    assert_eq!(v["nodes"][1]["depends_on"][0], "a");
    assert!(!dir.join("started-a").exists() && !dir.join("started-b").exists());
    // Without --dry-run there is no JSON to give: refused, nothing started.
    let out = ns.run(
        &["launch", "--json", dir.join("l.yaml").to_str().unwrap()],
        30,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--dry-run"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.join("started-a").exists() && !dir.join("started-b").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_grace_that_is_not_a_time_is_refused_before_anything_starts() {
    let ns = TestNs::new("badgrace");
    let dir = temp_dir("badgrace");
    std::fs::write(
        dir.join("l.yaml"),
        "nodes:\n  - name: a\n    cmd: touch started-a\n",
    )
    .unwrap();
    let file = dir.join("l.yaml");
    for (grace, why) in [
        ("-1", "0 or more"),
        ("soon", "expected seconds"),
        ("2 fortnights", "unit"),
    ] {
        for command in ["launch", "run"] {
            let flag = format!("--grace={grace}");
            let out = ns.run(&[command, &flag, file.to_str().unwrap()], 30);
            let err = text(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{command} --grace {grace}: {err}"
            );
            assert!(
                err.contains("--grace") && err.contains(why),
                "{command} --grace {grace}: {err}"
            );
        }
    }
    assert!(!dir.join("started-a").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_example_launch_file_is_valid() {
    let ns = TestNs::new("example");
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/launch.yaml");
    let out = ns.run(&["launch", "--dry-run", "--json", file], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(names, ["sensor", "odometry"], "{v}");
}

#[test]
fn invalid_files_name_line_and_column_and_start_nothing() {
    let ns = TestNs::new("badyaml");
    let dir = temp_dir("badyaml");
    let cases = [
        (
            "syntax.yaml",
            "nodes:\n  - name: a\n    cmd: touch started\n  - [unclosed\n",
            ":4:",
        ),
        (
            "policy.yaml",
            "nodes:\n  - name: a\n    cmd: touch started\n    restart: sometimes\n",
            ":4:14: `sometimes` is not a choice here: use one of never, on-failure, always",
        ),
        (
            "dep.yaml",
            "nodes:\n  - name: a\n    cmd: touch started\n    depends_on: [ghost]\n",
            ":4:18: node \"a\" depends on \"ghost\"",
        ),
        (
            "cycle.yaml",
            "nodes:\n  - name: a\n    cmd: touch started\n    depends_on: [b]\n  - name: b\n    cmd: touch started\n    depends_on: [a]\n",
            "cycle: a -> b -> a",
        ),
        (
            "nsenv.yaml",
            "nodes:\n  - name: a\n    cmd: touch started\n    env: { HORUS_NAMESPACE: other }\n",
            ":2:11: node \"a\": `env` sets HORUS_NAMESPACE",
        ),
        // The YAML crate's own words ("invalid u32", "use Option<String>",
        // "set DuplicateKeyPolicy in Options", "unknown variant") said as
        // what is wrong.
        (
            "count.yaml",
            "nodes:\n  - name: a\n    cmd: touch started\n    max_restarts: -1\n",
            ":4:19: expected a whole number from 0 to 4294967295",
        ),
        (
            "twice.yaml",
            "nodes:\n  - name: a\n    name: b\n    cmd: touch started\n",
            "`name` is given twice in the same mapping",
        ),
        (
            "missing.yaml",
            "nodes:\n  - name: a\n    cmd:\n",
            ":3:8: a value is missing here",
        ),
        (
            "forever.yaml",
            "nodes:\n  - name: a\n    cmd: touch started\n    start_delay: 1e300\n",
            "1e300 seconds is too long a duration",
        ),
    ];
    refused_before_any_start(&ns, &dir, &cases);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The YAML crate's errors in plain sentences, at `file:line:col`, without
/// its internals: an alias bomb said `budget breached: Nodes { nodes: 250001 }
/// at line 1, column 6926`, a `.nan` repeated by an alias `rejected by
/// reject_non_finite_typeless_float`, a second document `use from_multiple`.
#[test]
fn yaml_errors_say_what_is_wrong_without_the_parsers_internals() {
    let ns = TestNs::new("yamlwords");
    let dir = temp_dir("yamlwords");
    let keys: Vec<String> = (0..2000).map(|i| format!("k{i}: v")).collect();
    let mut laughs = format!(
        "nodes:\n  - name: n0\n    cmd: touch started\n    env: &e {{{}}}\n",
        keys.join(", ")
    );
    for i in 1..200 {
        laughs.push_str(&format!("  - name: n{i}\n    cmd: echo\n    env: *e\n"));
    }
    let node = "nodes:\n  - name: a\n    cmd: touch started\n";
    let cases = [
        (
            "laughs.yaml",
            laughs,
            "laughs.yaml:190:10: the YAML holds more than 250000 nodes (values, lists and \
             mappings, counting again what each alias (`*name`) repeats): repeat less through \
             aliases, or split the file (in the value this alias repeats, from line 4, column 13)"
                .to_owned(),
        ),
        (
            "nan.yaml",
            format!(
                "{node}    args: [&x .nan]\n  - name: b\n    cmd: echo\n    restart_delay: *x\n"
            ),
            "nan.yaml:7:20: `.nan` is not a finite number: give a finite one (in the value this \
             alias repeats, from line 4, column 15)"
                .to_owned(),
        ),
        (
            "twodocs.yaml",
            format!("{node}---\n{node}"),
            "twodocs.yaml:5:1: a second YAML document starts here (after a `---` line): give one \
             document only"
                .to_owned(),
        ),
        (
            "dupenv.yaml",
            format!("{node}    env: {{big: 1, big: 2}}\n"),
            "dupenv.yaml:4:19: `big` is given twice in the same mapping: keep one".to_owned(),
        ),
    ];
    for (file, yaml, expected) in cases {
        let path = dir.join(file);
        std::fs::write(&path, yaml).unwrap();
        let out = ns.run(&["launch", "--dry-run", path.to_str().unwrap()], 60);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(&expected), "{file}: {err}\nnot:\n{expected}");
        for internal in [
            "budget",
            "{ ",
            "Options",
            "reject_",
            "from_multiple",
            " at line ",
        ] {
            assert!(!err.contains(internal), "{file}: {err}");
        }
        assert!(!dir.join("started").exists(), "{file} started a node");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dry_run_checks_that_the_files_a_node_needs_exist() {
    let ns = TestNs::new("needfiles");
    let dir = temp_dir("needfiles");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/there.rs"), "fn main() {}\n").unwrap();
    // Commands run from the file's folder: `sub/there.rs` is found there.
    std::fs::write(
        dir.join("ok.yaml"),
        "nodes:\n  - name: a\n    cmd: horus run sub/there.rs\n",
    )
    .unwrap();
    let out = ns.run(
        &["launch", "--dry-run", dir.join("ok.yaml").to_str().unwrap()],
        30,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The shipped example's bug: a path relative to somewhere else.
    let cases = [
        (
            "missing.yaml",
            "nodes:\n  - name: sensor\n    cmd: horus run sub/gone.rs\n",
            "missing.yaml:2:11: node sensor: `sub/gone.rs` not found",
        ),
        (
            "noprog.yaml",
            "nodes:\n  - name: p\n    cmd: no-such-program-xyz --flag\n",
            "node p: program `no-such-program-xyz` not found on PATH",
        ),
        (
            "nopath.yaml",
            "nodes:\n  - name: q\n    cmd: ./bin/none\n",
            "node q: `./bin/none` not found",
        ),
        // A shell line is read for its syntax, before any node starts.
        (
            "badshell.yaml",
            "nodes:\n  - name: ok\n    cmd: touch started\n  - name: s\n    cmd: echo \"oops | cat\n",
            "badshell.yaml:4:11: node s: its command is not valid shell",
        ),
    ];
    refused_before_any_start(&ns, &dir, &cases);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An environment name with `=` or empty, and a NUL byte in `cmd`, `args`
/// or `env`, are refused where they are written, with and without
/// `--dry-run`, before any node starts. (They passed: the node got `A=B=c`
/// and a stray `=d`, or, with a NUL, `[second] could not start: nul byte
/// found in provided data` after the first node had started.)
#[test]
fn what_no_process_can_be_given_is_refused_before_anything_starts() {
    let ns = TestNs::new("nulenv");
    let dir = temp_dir("nulenv");
    let first = "nodes:\n  - name: first\n    cmd: touch started\n  - name: second\n";
    let cases = [
        (
            "nularg.yaml",
            format!("{first}    cmd: echo\n    args: [\"a\\0b\"]\n"),
            "nularg.yaml:6:12: node \"second\": `args[0]` (\"a\\0b\") holds a NUL byte, which \
             no argument can carry: remove it",
        ),
        (
            "nulcmd.yaml",
            format!("{first}    cmd: \"echo \\0\"\n"),
            "nulcmd.yaml:5:10: node \"second\": `cmd` (\"echo \\0\") holds a NUL byte",
        ),
        (
            "nulenv.yaml",
            format!("{first}    cmd: echo\n    env: {{X: \"\\0\"}}\n"),
            "nulenv.yaml:6:14: node \"second\": `env`: the value of X (\"\\0\") holds a NUL byte",
        ),
        (
            "eqenv.yaml",
            format!("{first}    cmd: echo\n    env: {{\"A=B\": c, \"\": d}}\n"),
            "eqenv.yaml:6:11: node \"second\": `env`: variable name \"A=B\" holds `=`, which \
             ends a name in the environment (the node would get A set to \"B=c\"): rename it \
             (a variable name is non-empty, without `=` or a NUL byte)",
        ),
        (
            "emptyenv.yaml",
            format!("env: {{\"\": d}}\n{first}    cmd: echo\n"),
            "emptyenv.yaml:1:7: `env` has an empty variable name (its value is \"d\"): give it a \
             name",
        ),
    ];
    for (file, yaml, expected) in cases {
        let path = dir.join(file);
        std::fs::write(&path, yaml).unwrap();
        for dry in [true, false] {
            let mut args = vec!["launch", path.to_str().unwrap()];
            if dry {
                args.insert(1, "--dry-run");
            }
            let out = ns.run(&args, 30);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{file}: {err}");
            assert!(err.contains(expected), "{file}: {err}\nnot:\n{expected}");
            assert!(out.stdout.is_empty(), "{file}: {}", text(&out.stdout));
            assert!(!dir.join("started").exists(), "{file} started a node");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each of `cases` (file name, its text, what the error must say), written
/// in `dir` and launched with and without `--dry-run`, is refused (exit 2)
/// saying it, printing no plan, before any node starts (a node `touch
/// started` would leave `dir/started`).
fn refused_before_any_start<Y: AsRef<str>>(ns: &TestNs, dir: &Path, cases: &[(&str, Y, &str)]) {
    for (file, yaml, expected) in cases {
        let path = dir.join(file);
        std::fs::write(&path, yaml.as_ref()).unwrap();
        for dry in [true, false] {
            let mut args = vec!["launch", path.to_str().unwrap()];
            if dry {
                args.insert(1, "--dry-run");
            }
            let out = ns.run(&args, 30);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{file}: {err}");
            assert!(err.contains(expected), "{file}: {err}\nnot:\n{expected}");
            assert!(out.stdout.is_empty(), "{file}: {}", text(&out.stdout));
            assert!(!dir.join("started").exists(), "{file} started a node");
        }
    }
}

#[test]
fn a_launch_under_an_engaged_estop_says_so() {
    let ns = TestNs::new("estopwarn");
    let dir = temp_dir("estopwarn");
    std::fs::write(dir.join("l.yaml"), "nodes:\n  - name: t\n    cmd: true\n").unwrap();
    let file = dir.join("l.yaml");
    let out = ns.run(&["launch", file.to_str().unwrap()], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("ENGAGED"),
        "{}",
        text(&out.stderr)
    );
    let out = ns.run(&["estop", "--reason", "left by a crash"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = ns.run(&["launch", file.to_str().unwrap()], 30);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: the e-stop of namespace")
            && err.contains("ENGAGED (left by a crash)")
            && err.contains("horus estop --clear"),
        "{err}"
    );
    let out = ns.run(&["estop", "--clear"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether process `pid` is gone (or a zombie waiting for init).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits (at most 30 s) until every one of `pids` is gone.
fn wait_gone(pids: &[u32], what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !pids.iter().all(|&p| gone(p)) {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still running: {:?}",
            pids.iter().filter(|&&p| !gone(p)).collect::<Vec<_>>()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The pid in a `horus: started NAME (pid N): ...` line.
fn started_pid(line: &str) -> u32 {
    let rest = &line[line.find("(pid ").expect("pid") + 5..];
    rest[..rest.find(')').expect(")")]
        .parse()
        .expect("pid number")
}

#[test]
fn a_closed_stdout_stops_the_launch_and_every_descendant() {
    use std::io::{BufRead, BufReader};
    let ns = TestNs::new("headpipe");
    let dir = temp_dir("headpipe");
    std::fs::write(
        dir.join("l.yaml"),
        "nodes:\n  - name: talker\n    cmd: yes tick\n  - name: shell\n    cmd: sleep 1000 & echo \"@@grandchild $!\"; wait\n",
    )
    .unwrap();
    let mut child = ns
        .horus(&["launch", dir.join("l.yaml").to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn horus");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Like `| head`: read until we know the grandchild, then stop reading.
    let mut grandchild = None;
    let mut ticks = 0;
    while grandchild.is_none() || ticks < 4 {
        let line = lines.next().expect("horus output ended").expect("read");
        if let Some(pid) = line.strip_prefix("[shell] @@grandchild ") {
            grandchild = Some(pid.trim().parse::<u32>().expect("pid"));
        } else if line == "[talker] tick" {
            ticks += 1;
        }
    }
    drop(lines);
    let out = common::finish(child, 60, "horus launch | head");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let pids: Vec<u32> = err
        .lines()
        .filter(|l| l.starts_with("horus: started "))
        .map(started_pid)
        .chain(grandchild)
        .collect();
    assert_eq!(pids.len(), 3, "{err}");
    wait_gone(&pids, "after horus exited on a closed stdout");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Was a hang: with nodes that print nothing more, `horus launch x | head
/// -1` ran until Ctrl+C, as only a failed write told that stdout was closed.
#[test]
fn a_closed_stdout_stops_the_launch_even_when_nothing_more_is_printed() {
    use std::io::{BufRead, BufReader};
    let ns = TestNs::new("head1");
    let dir = temp_dir("head1");
    std::fs::write(
        dir.join("l.yaml"),
        "nodes:\n  - name: quiet\n    cmd: echo up; exec sleep 1000\n",
    )
    .unwrap();
    let mut child = ns
        .horus(&["launch", dir.join("l.yaml").to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn horus");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Like `| head -1`: one line, then the reader is gone.
    let line = lines.next().expect("horus output ended").expect("read");
    assert_eq!(line, "[quiet] up");
    drop(lines);
    let out = common::finish(child, 30, "horus launch | head -1");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{err}");
    let pids: Vec<u32> = err
        .lines()
        .filter(|l| l.starts_with("horus: started "))
        .map(started_pid)
        .collect();
    assert_eq!(pids.len(), 1, "{err}");
    wait_gone(&pids, "after horus exited on a closed stdout");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nodes_die_with_a_sigkilled_horus() {
    let ns = TestNs::new("killhorus");
    let dir = temp_dir("killhorus");
    // No shell syntax: run without `sh -c`, so the node is the program.
    // With shell syntax: what the shell starts must go too (the guard).
    std::fs::write(
        dir.join("l.yaml"),
        "nodes:\n  - name: idle\n    cmd: sleep 1000\n  - name: shell\n    cmd: sleep 1001 & echo \"@@grandchild $!\"; wait\n",
    )
    .unwrap();
    let mut horus = Running::start(ns.horus(&[
        "launch",
        "--grace",
        "1",
        dir.join("l.yaml").to_str().unwrap(),
    ]));
    let pid = started_pid(&horus.expect("started idle (pid ", 30));
    let shell = started_pid(&horus.expect("started shell (pid ", 30));
    let grandchild: u32 = horus
        .expect("[shell] @@grandchild ", 30)
        .rsplit(' ')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .expect("grandchild pid");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(comm.trim(), "sleep", "exec'd directly, no shell in between");
    assert_eq!(horus.stop("KILL", 30), None);
    wait_gone(&[pid, shell, grandchild], "after SIGKILL of horus");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Was an orphan: a node's daemon in a session of its own (`setsid`) escaped
/// the node's process group and outlived the launch.
#[test]
fn what_escapes_a_nodes_process_group_is_stopped_with_the_launch() {
    let ns = TestNs::new("setsid");
    let dir = temp_dir("setsid");
    // A duration no other process runs `sleep` with.
    let tag = format!("3000.{}", std::process::id());
    std::fs::write(
        dir.join("launch.yaml"),
        format!("nodes:\n  - name: daemon\n    cmd: setsid -f sleep {tag} < /dev/null > /dev/null 2>&1; echo detached\n"),
    )
    .unwrap();
    let out = ns.run(&["launch", dir.join("launch.yaml").to_str().unwrap()], 60);
    let err = text(&out.stderr);
    let left = common::pids_running(&tag);
    common::kill_all(&left);
    assert!(
        left.is_empty(),
        "the daemon outlived the launch: {left:?}\n{err}"
    );
    assert!(
        err.contains("horus: stopping 1 process the nodes left running"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
