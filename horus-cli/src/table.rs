//! The text tables of `horus topic list` and `horus node list`: each column
//! at least as wide as its `min`, wider when a cell needs it (comfy-table),
//! so a long name widens its column instead of pushing the rest of its row
//! out of line. Columns are separated by one space; no borders.

use comfy_table::{CellAlignment, ColumnConstraint, Table, Width, presets::NOTHING};

/// A column: its title, its least width, and whether it is right-aligned
/// (numbers).
pub struct Col(pub &'static str, pub u16, pub Align);

/// How a column's cells are aligned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Prints `table`: the header in bold and each row through `style_row`
/// (given the row's index; colour is applied after layout, so widths hold).
pub fn print(table: &Table, style_row: impl Fn(usize) -> anstyle::Style) {
    for (i, line) in table.lines().enumerate() {
        let style = match i {
            0 => crate::colour::HEADER,
            i => style_row(i - 1),
        };
        outln!("{}", crate::colour::paint(style, &line));
    }
}

/// A measured or reported figure (Hz, %, MiB) as a cell or a line shows
/// it: one decimal below 10 000 000 (`12.5`, `1000000.0`), else in
/// scientific notation (`1.0e308`): any process of the namespace can write
/// a registry record or a region's counters, and a forged 1e308 Hz must not
/// print 309 digits across the table. JSON keeps the number.
pub fn figure(v: f64) -> String {
    if v.is_finite() && v.abs() < 1e7 {
        format!("{v:.1}")
    } else if v.is_finite() {
        format!("{v:.1e}")
    } else {
        v.to_string()
    }
}

/// An empty table with `cols` as its header.
pub fn new(cols: &[Col]) -> Table {
    let mut t = Table::new();
    t.load_preset(NOTHING)
        .set_header(cols.iter().map(|c| c.0).collect::<Vec<_>>());
    let last = cols.len().saturating_sub(1);
    // A column's width includes its padding: one space after all but the last.
    t.set_constraints(
        cols.iter().enumerate().map(|(i, c)| {
            ColumnConstraint::LowerBoundary(Width::Fixed(c.1 + u16::from(i != last)))
        }),
    );
    for (i, (col, spec)) in t.column_iter_mut().zip(cols).enumerate() {
        col.set_padding((0, u16::from(i != last)));
        if spec.2 == Align::Right {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use Align::{Left, Right};

    const COLS: [Col; 3] = [
        Col("NAME", 8, Left),
        Col("KIND", 5, Left),
        Col("N", 4, Right),
    ];

    fn lines(rows: &[[&str; 3]]) -> Vec<String> {
        let mut t = new(&COLS);
        for r in rows {
            t.add_row(r.to_vec());
        }
        t.lines().collect()
    }

    #[test]
    fn short_cells_give_the_fixed_widths() {
        assert_eq!(
            lines(&[["a", "imu", "12"]]),
            [
                format!("{:<8} {:<5} {:>4}", "NAME", "KIND", "N"),
                format!("{:<8} {:<5} {:>4}", "a", "imu", "12"),
            ]
        );
    }

    #[test]
    fn a_long_cell_widens_its_column_and_keeps_the_rows_aligned() {
        let l = lines(&[["a_long_name", "imu", "1"], ["b", "odometry", "12345"]]);
        assert_eq!(l[0], format!("{:<11} {:<8} {:>5}", "NAME", "KIND", "N"));
        assert_eq!(
            l[1],
            format!("{:<11} {:<8} {:>5}", "a_long_name", "imu", "1")
        );
        assert_eq!(
            l[2],
            format!("{:<11} {:<8} {:>5}", "b", "odometry", "12345")
        );
    }

    #[test]
    fn a_figure_is_one_decimal_or_compact() {
        assert_eq!(figure(12.345), "12.3");
        assert_eq!(figure(1e6), "1000000.0");
        assert_eq!(figure(1e308), "1.0e308");
        assert_eq!(figure(-1e308), "-1.0e308");
        assert_eq!(figure(u64::MAX as f64 / 1048576.0), "1.8e13");
        assert_eq!(figure(f64::NAN), "NaN");
    }
}
