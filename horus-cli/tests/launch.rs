//! `horus launch`: a three-node file (a publisher, a dependent listener and a
//! node that crashes once and is restarted), `--dry-run`, critical nodes,
//! and invalid files that start nothing.

mod common;

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
    assert_eq!(horus.stop("TERM", 30), Some(0), "{}", horus.seen.join("\n"));
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

#[test]
fn a_node_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let ns = TestNs::new("grace");
    let dir = temp_dir("grace");
    std::fs::write(
        dir.join("launch.yaml"),
        "nodes:\n  - name: stubborn\n    cmd: trap '' TERM; echo stubborn up; while true; do sleep 0.05; done\n",
    )
    .unwrap();
    let mut horus = Running::start(ns.horus(&[
        "launch",
        "--grace",
        "0.5",
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
            ":4:14: unknown variant `sometimes`",
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
    ];
    for (file, yaml, expected) in cases {
        let path = dir.join(file);
        std::fs::write(&path, yaml).unwrap();
        let out = ns.run(&["launch", path.to_str().unwrap()], 30);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(
            err.contains(&format!("{file}:")) && err.contains(expected),
            "{file}: {err}"
        );
        assert!(!dir.join("started").exists(), "{file} started a node");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
