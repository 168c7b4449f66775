//! `benchmarks/compare.sh --report FILE`: the report of a finished
//! comparison, from a samples file written here (nothing is built or run).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn compare_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compare.sh")
}

fn report(samples: &Path) -> Output {
    Command::new("bash")
        .arg(compare_sh())
        .arg("--report")
        .arg(samples)
        .output()
        .expect("bash runs")
}

/// The report's line of `row`, split at its `|`s (trimmed cells).
fn cells(out: &str, row: &str) -> Vec<String> {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("| {row} ")))
        .unwrap_or_else(|| panic!("no line for {row} in\n{out}"));
    line.split('|').map(|c| c.trim().to_owned()).collect()
}

#[test]
fn the_paired_column_is_the_median_of_each_round_s_ratio() {
    let dir = std::env::temp_dir().join(format!("horus-compare-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let samples = dir.join("samples.tsv");
    // Three rounds (OLD first in odd rounds). In round 2 the host turned
    // slow between the two runs of row A and stayed so: each round's NEW/OLD
    // is 1.1, 3.3 and 1.1 (paired: 1.1x), while the medians over the rounds
    // (OLD 100, NEW 330) say 3.3x. Row B has no p99 (a hop loop) and no NEW
    // side (a row the new program lacks).
    let rows = [
        ("old", "A", "100", "150"),
        ("new", "A", "110", "160"),
        ("old", "B", "12.5", "-"),
        ("new", "A", "330", "400"),
        ("old", "A", "100", "150"),
        ("old", "B", "13.5", "-"),
        ("old", "A", "300", "350"),
        ("new", "A", "330", "420"),
    ];
    let text: String = rows
        .iter()
        .map(|(side, row, p50, p99)| format!("{side}\t{row}\t{p50}\t{p99}\n"))
        .collect();
    std::fs::write(&samples, text).unwrap();

    let out = report(&samples);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // | row | old p50 | new p50 | new/old | paired | old p99 | new p99 | new/old | spreads |
    let a = cells(&stdout, "A");
    assert_eq!(&a[1..6], ["A", "100", "330", "3.30x", "1.10x"], "{stdout}");
    let b = cells(&stdout, "B");
    assert_eq!(&b[1..6], ["B", "13", "-", "-", "-"], "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_samples_file_is_an_error_that_says_what_to_give() {
    let out = report(Path::new("/nonexistent/samples.tsv"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--report /nonexistent/samples.tsv: no such file"),
        "{stderr}"
    );
}
