//! `horus completions SHELL` and `horus man [--out DIR]`: shell completion
//! scripts and man pages, generated from the same clap definition that
//! parses the command line (so they never drift from it). Neither touches
//! shared memory.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::exit;

/// Arguments of `horus completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Install, e.g.:\n  \
    bash: horus completions bash > ~/.local/share/bash-completion/completions/horus\n  \
    zsh:  horus completions zsh > ~/.zfunc/_horus   (with fpath+=~/.zfunc before compinit)\n  \
    fish: horus completions fish > ~/.config/fish/completions/horus.fish")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    shell: Shell,
}

/// Arguments of `horus man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `horus.1` and one page per command (`horus-topic-echo.1`, ...)
    /// into this folder (created if needed) instead of printing `horus.1`.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Prints the completion script.
pub fn completions(args: &CompletionsArgs) -> ExitCode {
    let mut cmd = crate::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "horus", &mut script);
    write_stdout(&script)
}

/// Prints the man page, or writes every page into `--out`.
pub fn man(args: &ManArgs) -> ExitCode {
    let cmd = crate::Cli::command();
    match &args.out {
        Some(dir) => {
            let written =
                std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir));
            match written {
                Ok(()) => {
                    note!("horus: man pages written to {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    note!(
                        "horus: cannot write the man pages to {}: {e}",
                        dir.display()
                    );
                    ExitCode::from(exit::ERROR)
                }
            }
        }
        None => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(cmd).render(&mut page) {
                Ok(()) => write_stdout(&page),
                Err(e) => {
                    note!("horus: cannot render the man page: {e}");
                    ExitCode::from(exit::ERROR)
                }
            }
        }
    }
}

/// Prints `bytes`; a failed write is said (see [`crate::out`]).
fn write_stdout(bytes: &[u8]) -> ExitCode {
    crate::out::write_bytes(bytes);
    crate::out::status().unwrap_or(ExitCode::SUCCESS)
}
