//! Ratios taken round by round. Rows compared with each other are recorded
//! in interleaved rounds (`interleave`: one block of each row, then the
//! next round), so the blocks of one round ran within seconds of each other,
//! in the same regime of this VM's core-to-core latency. A p50 over the
//! whole run mixes the regimes the rounds fell in, and two rows may mix
//! them differently; the ratio of their p50s round by round does not. Its
//! median and spread say whether a target's verdict is the host's or ours.

use std::fmt;

/// `a / b` of p50s, round by round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// Median of the rounds' ratios (the upper one of an even count).
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Rounds in which both rows recorded samples.
    pub rounds: usize,
}

/// The round-by-round ratio of one row's figures (`a`: a percentile of each
/// round) to another's, if both were recorded in the same rounds (as many,
/// and at least two with samples in both).
pub fn paired(a: &[f64], b: &[f64]) -> Option<Paired> {
    if a.len() != b.len() {
        return None;
    }
    let mut ratios: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite() && **y > 0.0)
        .map(|(x, y)| x / y)
        .collect();
    if ratios.len() < 2 {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    Some(Paired {
        median: ratios[ratios.len() / 2],
        min: ratios[0],
        max: ratios[ratios.len() - 1],
        rounds: ratios.len(),
    })
}

impl fmt::Display for Paired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "paired by round: {:.2}x ({:.2}x to {:.2}x over {} rounds)",
            self.median, self.min, self.max, self.rounds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Summary;

    fn rounds(p50s: &[f64]) -> Summary {
        Summary {
            count: p50s.len(),
            planned: 0,
            short_blocks: 0,
            p50: 0.0,
            p99: 0.0,
            p999: 0.0,
            max: 0.0,
            cdf: Vec::new(),
            rounds_p50: p50s.to_vec(),
            rounds_p999: p50s.iter().map(|p| p * 3.0).collect(),
        }
    }

    #[test]
    fn ratios_are_taken_round_by_round() {
        // Two regimes: the whole-run p50s of these rows would compare a
        // slow round of one with a fast round of the other.
        let a = rounds(&[120.0, 500.0, 130.0, 480.0]);
        let b = rounds(&[60.0, 250.0, 65.0, 240.0]);
        let p = paired(&a.rounds_p50, &b.rounds_p50).unwrap();
        assert_eq!(p.rounds, 4);
        assert_eq!((p.min, p.median, p.max), (2.0, 2.0, 2.0));
        assert_eq!(
            p.to_string(),
            "paired by round: 2.00x (2.00x to 2.00x over 4 rounds)"
        );
        let tails = paired(&a.rounds_p999, &b.rounds_p999).unwrap();
        assert_eq!(tails.median, 2.0);
    }

    #[test]
    fn empty_rounds_are_skipped_and_unpaired_rows_say_nothing() {
        let a = rounds(&[100.0, f64::NAN, 300.0, 90.0]);
        let b = rounds(&[50.0, 80.0, 100.0, 90.0]);
        let p = paired(&a.rounds_p50, &b.rounds_p50).unwrap();
        assert_eq!(p.rounds, 3);
        assert_eq!((p.min, p.median, p.max), (1.0, 2.0, 3.0));
        // Rows of different interleavings, or recorded in one piece.
        assert_eq!(paired(&a.rounds_p50, &[1.0, 2.0]), None);
        assert_eq!(paired(&[], &[]), None);
    }
}
