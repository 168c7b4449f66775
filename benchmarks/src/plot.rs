//! Latency distributions as SVG: one line per row, one-way ns (log scale)
//! against the percentile (spread as -log10(1 - p), so the tail is visible:
//! 90 %, 99 %, 99.9 % ... are equally spaced, the line ends at the max).

use std::path::Path;

use plotters::prelude::*;

use crate::Res;
use crate::stats::Summary;

fn percentile_label(x: &f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    let s = format!("{p:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// Draws `rows` (label, distribution) into the SVG file `path`.
pub fn cdf(path: &Path, title: &str, rows: &[(String, &Summary)]) -> Res<()> {
    let xmax = rows
        .iter()
        .filter_map(|(_, s)| s.cdf.last().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let (mut ymin, mut ymax) = (f64::MAX, 1.0f64);
    for (_, s) in rows {
        for &(_, y) in &s.cdf {
            ymin = ymin.min(y.max(0.5));
            ymax = ymax.max(y);
        }
    }
    let ymin = (ymin * 0.8).max(0.5);
    let root = SVGBackend::new(path, (1400, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..xmax, (ymin..ymax * 1.3).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("one-way latency, ns (log)")
        .x_labels(xmax.ceil() as usize + 1)
        .x_label_formatter(&percentile_label)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for (i, (label, s)) in rows.iter().enumerate() {
        let color = Palette99::pick(i).stroke_width(2);
        chart
            .draw_series(LineSeries::new(s.cdf.iter().copied(), color))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    Palette99::pick(i).stroke_width(2),
                )
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(percentile_label(&0.0), "0%");
        assert_eq!(percentile_label(&2.0), "99%");
        assert_eq!(percentile_label(&3.0), "99.9%");
    }
}
