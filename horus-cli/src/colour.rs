//! Colour in what `horus` prints for people: table headers, node states,
//! the e-stop state, blackbox kinds. Only when stdout is a terminal that
//! takes colour, and never with `NO_COLOR` set (<https://no-color.org>);
//! `CLICOLOR_FORCE=1` forces it (anstream's rules, as clap's own help
//! follows). JSON output never has colour.
//!
//! Colour is applied to whole cells or lines after layout, so it never
//! changes a table's widths.

use std::sync::OnceLock;

use anstyle::{AnsiColor, Style};

/// Bold, for table headers.
pub const HEADER: Style = Style::new().bold();
/// Healthy: Running, e-stop clear.
pub const GOOD: Style = AnsiColor::Green.on_default();
/// Needs a look: Stopped (held), Paused, deadline misses, Starting, node control.
pub const WARN: Style = AnsiColor::Yellow.on_default();
/// Went wrong: Error, Crashed, e-stop engaged, panics, deaths.
pub const BAD: Style = AnsiColor::Red.on_default().bold();
/// Over: Finished, notes.
pub const DIM: Style = Style::new().dimmed();

/// Whether stdout takes colour (decided once).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
    })
}

/// `text` in `style` when colour is enabled, else as is.
pub fn paint(style: Style, text: &str) -> String {
    if enabled() && style != Style::new() {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// The style of a node state, by its name as `node list` prints it.
pub fn of_state(state: &str) -> Style {
    match state {
        "Running" => GOOD,
        "Starting" | "Stopped" | "Paused" => WARN,
        "Error" | "Crashed" | "Unknown" => BAD,
        "Finished" => DIM,
        _ => Style::new(),
    }
}

/// The style of a blackbox record kind, by its name as `bb` prints it.
pub fn of_kind(kind: &str) -> Style {
    match kind {
        "deadline_miss" | "budget_overrun" | "estop_cleared" | "participant_dead"
        | "node_control" => WARN,
        "note" => DIM,
        _ => BAD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_and_kind_has_a_deliberate_style() {
        for s in [
            "Running", "Starting", "Stopped", "Paused", "Error", "Crashed", "Finished",
        ] {
            assert_ne!(of_state(s), Style::new(), "{s}");
        }
        assert_eq!(of_kind("node_panic"), BAD);
        assert_eq!(of_kind("process_died"), BAD);
        assert_eq!(of_kind("deadline_miss"), WARN);
    }
}
