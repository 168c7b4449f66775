//! Issue 13's "nothing slower than today in any row (old commit and new
//! commit measured in one run)": the benchmark program measures one commit,
//! so it cannot judge this itself. `compare.sh OLD NEW` measures both,
//! interleaved, and keeps every run's figures in
//! `target/compare/samples-<date>.tsv`; this reads the newest such file and
//! judges it, naming its commits and date, or says the target was not
//! measured (never a verdict without a measurement).
//!
//! A row is slower when NEW/OLD exceeds 1 both on the medians over the
//! rounds and paired round by round, by more than one clock step (one-way,
//! as measured in the run) on the medians. Rows that are the same code on both sides (the
//! raw limits, memcpy) are shown, not judged.

use std::path::{Path, PathBuf};

use super::Clock;

/// One compare.sh session read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub file: PathBuf,
    /// (ref as given, short sha) of each side.
    pub old: (String, String),
    pub new: (String, String),
    pub date: String,
    pub rounds: String,
    /// (row, median old p50, median new p50, paired median NEW/OLD).
    pub rows: Vec<(String, f64, f64, f64)>,
}

/// The newest `samples-*.tsv` of `dir` with a header, if any.
pub fn newest(dir: &Path) -> Option<Session> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("samples-") && n.ends_with(".tsv")
            })
        })
        .collect();
    // Named by date and time: the last in order is the newest.
    files.sort();
    let file = files.pop()?;
    let text = std::fs::read_to_string(&file).ok()?;
    parse(file, &text)
}

/// A session from a samples file's text; None without the header (a file
/// of an older compare.sh, which did not name its commits).
pub fn parse(file: PathBuf, text: &str) -> Option<Session> {
    let mut head = std::collections::HashMap::new();
    let mut runs: Vec<(String, String, f64)> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let Some(key) = f[0].strip_prefix("# ") {
            head.insert(key.to_owned(), f[1..].to_vec());
        } else if f.len() >= 3 {
            if let Ok(p50) = f[2].parse::<f64>() {
                runs.push((f[0].to_owned(), f[1].to_owned(), p50));
            }
        }
    }
    let side = |k: &str| -> Option<(String, String)> {
        let v = head.get(k)?;
        Some((v.first()?.to_string(), v.get(1)?.to_string()))
    };
    let (old, new) = (side("old")?, side("new")?);
    let one = |k: &str| head.get(k).and_then(|v| v.first()).map(|s| s.to_string());
    let mut names: Vec<String> = Vec::new();
    for (_, row, _) in &runs {
        if !names.contains(row) {
            names.push(row.clone());
        }
    }
    let rows = names
        .into_iter()
        .filter_map(|row| {
            let of = |side: &str| -> Vec<f64> {
                runs.iter()
                    .filter(|(s, r, _)| s == side && *r == row)
                    .map(|(_, _, v)| *v)
                    .collect()
            };
            let (o, n) = (of("old"), of("new"));
            if o.is_empty() || n.is_empty() {
                return None;
            }
            let pairs: Vec<f64> = o
                .iter()
                .zip(&n)
                .filter(|(a, _)| **a > 0.0)
                .map(|(a, b)| b / a)
                .collect();
            let paired = if pairs.is_empty() {
                f64::NAN
            } else {
                round_median(pairs)
            };
            Some((row, round_median(o), round_median(n), paired))
        })
        .collect();
    Some(Session {
        file,
        old,
        new,
        date: one("date").unwrap_or_default(),
        rounds: one("rounds").unwrap_or_default(),
        rows,
    })
}

/// The median of a row's figures over the rounds, as compare.sh's report
/// computes it: the mean of the two middle values of an even count (with
/// 4 rounds, the upper middle alone read 118 ns of 115, 116, 120, 140 as
/// 120, and a row compare.sh showed 118 -> 121 as 120 -> 126).
fn round_median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Whether `row` is judged: not the same code on both sides.
fn judged(row: &str) -> bool {
    !row.starts_with("limit: ") && !row.contains("memcpy")
}

/// Slower by both statistics, and by more than a clock step on the medians.
fn slower(old: f64, new: f64, paired: f64, step: f64) -> bool {
    new / old > 1.0 && paired > 1.0 && new - old > step
}

/// The target's verdict line (without the leading "- "): `commit` is this
/// run's (a session of another commit is shown but not taken as this run's
/// verdict).
pub fn line(session: Option<&Session>, commit: &str, clock: &Clock) -> String {
    const WHAT: &str = "nothing slower than today in any row (old and new commit in one run)";
    let Some(s) = session else {
        return format!(
            "UNDECIDED {WHAT}: not measured in this run; no compare.sh session with named \
             commits in target/compare (run `benchmarks/compare.sh OLD NEW`)"
        );
    };
    let worse: Vec<String> = s
        .rows
        .iter()
        .filter(|(r, o, n, p)| judged(r) && slower(*o, *n, *p, clock.step_one_way))
        .map(|(r, o, n, p)| format!("{r} {o} -> {n} ns ({:.2}x, paired {p:.2}x)", n / o))
        .collect();
    let judged_rows = s.rows.iter().filter(|(r, ..)| judged(r)).count();
    let src = format!(
        "from the compare.sh session of {} ({} rounds), {} ({}) against {} ({}), {}, not \
         measured in this run",
        s.date,
        s.rounds,
        s.new.0,
        s.new.1,
        s.old.0,
        s.old.1,
        s.file.display()
    );
    let this = commit.split_whitespace().next().unwrap_or("");
    if this.is_empty() || !s.new.1.starts_with(this) && !this.starts_with(&s.new.1) {
        return format!(
            "UNDECIDED {WHAT}: the newest compare.sh session measured another commit than this \
             run's ({this}): {src}; {} of {judged_rows} rows slower",
            worse.len()
        );
    }
    if worse.is_empty() {
        format!("MET {WHAT}: none of {judged_rows} rows slower, {src}")
    } else {
        format!(
            "MISSED {WHAT}: {} of {judged_rows} rows slower ({}), {src}",
            worse.len(),
            worse.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# old\tmain\tabc1234\n# new\tHEAD\tdef5678\n# date\t2026-12-05 10:00 UTC\n\
        # rounds\t2\n\
        old\tcross-process 1:1\t80\t90\nnew\tcross-process 1:1\t90\t95\n\
        new\tcross-process 1:1\t92\t95\nold\tcross-process 1:1\t81\t90\n\
        old\tlimit: raw ping-pong, processes\t60\t70\nnew\tlimit: raw ping-pong, processes\t90\t95\n\
        old\tsame thread\t10\t12\nnew\tsame thread\t10\t12\n";

    const CLOCK: Clock = Clock {
        timer_one_way: 15.0,
        step_one_way: 5.0,
    };

    fn session() -> Session {
        parse(PathBuf::from("samples-x.tsv"), FILE).unwrap()
    }

    #[test]
    fn a_session_is_read_with_its_commits_and_paired_ratios() {
        let s = session();
        assert_eq!(s.old, ("main".into(), "abc1234".into()));
        assert_eq!(s.new.1, "def5678");
        assert_eq!(s.rows.len(), 3);
        let (row, o, n, p) = &s.rows[0];
        assert_eq!((row.as_str(), *o, *n), ("cross-process 1:1", 80.5, 91.0));
        // Rounds paired in order: 90/80 and 92/81, their mean.
        assert!((p - (90.0 / 80.0 + 92.0 / 81.0) / 2.0).abs() < 1e-9, "{p}");
        // Without the header (an older compare.sh): no session.
        assert_eq!(parse(PathBuf::new(), "old\tx\t1\t2\n"), None);
    }

    #[test]
    fn slower_rows_miss_the_limits_are_not_judged_and_no_session_is_undecided() {
        let s = session();
        let l = line(Some(&s), "def5678", &CLOCK);
        assert!(
            l.starts_with("MISSED ") && l.contains("1 of 2 rows slower (cross-process 1:1 "),
            "{l}"
        );
        assert!(!l.contains("limit: raw"), "the limit is not judged: {l}");
        let l = line(
            Some(&s),
            "0123456 (work tree has uncommitted changes)",
            &CLOCK,
        );
        assert!(
            l.starts_with("UNDECIDED ") && l.contains("another commit"),
            "{l}"
        );
        let l = line(None, "def5678", &CLOCK);
        assert!(
            l.starts_with("UNDECIDED ") && l.contains("not measured in this run"),
            "{l}"
        );
        // Within a clock step: not slower.
        let even = FILE
            .replace("\t90\t95\n", "\t84\t95\n")
            .replace("\t92\t95", "\t85\t95");
        let s = parse(PathBuf::new(), &even).unwrap();
        assert!(
            line(Some(&s), "def5678", &CLOCK).starts_with("MET "),
            "{s:?}"
        );
    }
}
