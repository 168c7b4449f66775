//! The `horus` command. Its subcommands arrive with the CLI issue; until then it
//! says so instead of pretending.

fn main() -> std::process::ExitCode {
    eprintln!("horus: the command-line interface is not built yet (see the CLI issue)");
    std::process::ExitCode::from(2)
}
