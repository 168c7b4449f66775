//! A node's figures as the registry holds them, which any process of the
//! namespace can write: a forged record's huge ones (a rate of 1e308 Hz,
//! counts of 2^64 - 1) are printed compactly, without panicking, in every
//! text view, and kept exact in JSON.

mod common;

use common::{TestNs, forge_record, start_role, text};
use serde_json::Value;

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    common::child_main();
}

#[test]
fn huge_forged_figures_are_printed_compactly_and_kept_in_json() {
    let ns = TestNs::new("figures");
    let _talker = start_role("talker", &ns.name, "wheel.encoders");
    let max = u64::MAX.to_string();
    let [misses, overruns, cpu, rss] =
        ["deadline_misses", "overruns", "cpu_ns", "rss_bytes"].map(|f| format!("{f}={max}"));
    forge_record(
        &ns,
        "Forged",
        &[
            "owner=18219009630215",
            "pid=4242",
            "state=2",
            "rate_hz=1e308",
            "measured_hz=-1e308",
            &misses,
            &overruns,
            &cpu,
            &rss,
        ],
    );
    for args in [
        &["node", "list"][..],
        &["monitor", "--once"],
        &["node", "info", "Forged"],
    ] {
        let out = ns.run(args, 30);
        let (said, err) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{args:?}: {err}");
        // Its row of a table, or the rate line of `node info`.
        let mut lines = said.lines();
        let forged = (lines.clone().find(|l| l.starts_with("rate:")))
            .or_else(|| lines.find(|l| l.contains("Forged")))
            .unwrap_or_else(|| panic!("{args:?}: no node Forged: {said}"));
        assert!(forged.contains("1.0e308"), "{args:?}: {forged}");
        // 309 digits made the row; a line stays a line.
        for line in said.lines() {
            assert!(line.len() < 160, "{args:?}: {} chars: {line}", line.len());
        }
    }
    // The table's MISSES is their sum, saturated (it overflowed: a panic).
    let out = ns.run(&["node", "list"], 30);
    assert!(text(&out.stdout).contains(&max), "{}", text(&out.stdout));
    let out = ns.run(&["node", "list", "--json"], 30);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let forged = v
        .as_array()
        .and_then(|ns| ns.iter().find(|n| n["name"] == "Forged"))
        .unwrap_or_else(|| panic!("no node Forged: {v}"));
    assert_eq!(forged["rate_hz"].as_f64(), Some(1e308), "{v}");
    assert_eq!(forged["overruns"].as_u64(), Some(u64::MAX), "{v}");
}
