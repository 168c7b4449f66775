//! How a launch node's command line is run, and what it needs to exist.
//!
//! A command line without shell syntax (no `|`, `;`, `&`, redirections,
//! substitutions, globs, variables, leading `X=y` or shell keywords) is split
//! with `shlex` and executed directly: the node's process *is* the program,
//! so the parent-death signal and every signal `horus` sends reach it. Any
//! other line runs as `sh -c LINE` (the shell and what it starts share the
//! node's process group, which `horus` signals as a whole).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_saphyr::Location;

use super::file::{NodeSpec, at};
use crate::exit::Failure;

/// Characters that make a command line need a shell (anywhere, even quoted:
/// being conservative only costs an `sh -c`).
const SHELL_CHARS: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '{', '}', '~', '#', '!', '\n',
    '\r', '\\',
];

/// First words that are shell syntax or builtins, not programs.
const SHELL_WORDS: &[&str] = &[
    "if", "then", "for", "while", "until", "case", "do", "exec", "cd", "export", "set", ".",
    "source", "eval", "trap", "ulimit", "umask", "unset", "exit", "wait", "command", "time", "!",
];

/// The program and its arguments, if `line` can run without a shell.
pub fn argv(line: &str) -> Option<Vec<String>> {
    if line.contains(SHELL_CHARS) {
        return None;
    }
    let words = shlex::split(line)?;
    let first = words.first()?;
    if first.contains('=') || SHELL_WORDS.contains(&first.as_str()) {
        return None;
    }
    Some(words)
}

/// Where `program` would be found: itself if it names a path (relative to
/// `dir`), else the first executable of that name on `path`.
pub fn resolve(program: &str, dir: &Path, path: &OsStr) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(dir.join(program));
    }
    std::env::split_paths(path)
        .map(|p| dir.join(p).join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Checks that what `spec` runs exists: its program (on `path`, or as a
/// path from `dir`, the folder commands run from) and, for `horus run`, the
/// files it is given. A command with shell syntax is not looked into beyond
/// its syntax (`sh -n`: read, not run), so that an unterminated quote fails
/// the launch before any node starts.
pub fn check_needed_files(
    file: &Path,
    spec: &NodeSpec,
    dir: &Path,
    path: &OsStr,
) -> Result<(), Failure> {
    let line = spec.command_line();
    let name = &spec.name.value;
    let loc = spec.name.referenced;
    let Some(words) = argv(&line) else {
        return match shell_syntax_error(&line) {
            Some(why) => Err(at(
                file,
                loc,
                format!("node {name}: its command is not valid shell ({why}): `{line}`"),
            )),
            None => Ok(()),
        };
    };
    let folder = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let program = &words[0];
    let Some(exe) = resolve(program, dir, path) else {
        return Err(at(
            file,
            loc,
            format!(
                "node {name}: program `{program}` not found on PATH (the running horus's folder \
                 comes first); install it or give its path"
            ),
        ));
    };
    if !exe.is_file() {
        return Err(missing(file, loc, name, program, &exe, &folder));
    }
    let is_horus = Path::new(program).file_name() == Some(OsStr::new("horus"));
    if is_horus && words.get(1).map(String::as_str) == Some("run") {
        for arg in words[2..].iter().take_while(|a| *a != "--") {
            let is_source = Path::new(arg)
                .extension()
                .is_some_and(|e| e == "rs" || e == "py");
            if is_source && !dir.join(arg).is_file() {
                return Err(missing(file, loc, name, arg, &dir.join(arg), &folder));
            }
        }
    }
    Ok(())
}

/// What `sh -n` says is wrong with `line`'s syntax (its first line of
/// complaint, without the `sh: 1: ` prefix); `None` if it reads (or no `sh`
/// could be run to ask: the launch then reports it as the node fails).
fn shell_syntax_error(line: &str) -> Option<String> {
    let out = std::process::Command::new("sh")
        .args(["-n", "-c", line])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    if out.status.success() {
        return None;
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let first = said.lines().next().unwrap_or("").trim();
    // dash says `sh: 1: Syntax error: ...`, bash `sh: -c: line 1: ...`.
    let why = first
        .rsplit_once(": Syntax error: ")
        .map_or(first, |(_, rest)| rest)
        .trim_start_matches("sh: ");
    Some(if why.is_empty() {
        format!("sh -n exited with {}", out.status)
    } else {
        why.to_owned()
    })
}

fn missing(
    file: &Path,
    loc: Location,
    node: &str,
    given: &str,
    looked: &Path,
    folder: &Path,
) -> Failure {
    let looked = std::path::absolute(looked).unwrap_or_else(|_| looked.to_owned());
    at(
        file,
        loc,
        format!(
            "node {node}: `{given}` not found ({} does not exist): commands run from the launch \
             file's folder, {}; give the path relative to it",
            looked.display(),
            folder.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_commands_split_and_shell_ones_do_not() {
        assert_eq!(
            argv("horus run 'my file.rs' --gain 2"),
            Some(vec![
                "horus".into(),
                "run".into(),
                "my file.rs".into(),
                "--gain".into(),
                "2".into()
            ])
        );
        for line in [
            "a | b",
            "a; b",
            "a > out",
            "echo $HOME",
            "X=1 prog",
            "if true; then x; fi",
            "exec sleep 1",
            "ls *.rs",
            "cd x",
            "unterminated 'quote",
            "",
        ] {
            assert_eq!(argv(line), None, "{line}");
        }
    }

    #[test]
    fn shell_lines_are_read_for_their_syntax_only() {
        assert_eq!(
            shell_syntax_error("echo a | tr a b > /dev/null; exit 3"),
            None
        );
        // `sh -n` runs nothing: a command that would fail is not an error.
        assert_eq!(shell_syntax_error("false && no-such-program-here"), None);
        for broken in ["echo \"unterminated", "if true; then x", "a |", "( x"] {
            let why = shell_syntax_error(broken).unwrap_or_else(|| panic!("{broken:?} read"));
            assert!(!why.is_empty(), "{broken:?}");
        }
    }
}
