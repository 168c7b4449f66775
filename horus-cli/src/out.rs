//! Printing to stdout without panicking. `println!` panics when a write
//! fails (`horus topic list > /dev/full`), and a loop that took every write
//! error for a closed pipe ended with 0 having written nothing. Every
//! command prints through [`outln!`] / [`write`] instead: each write is
//! flushed, the first failure is kept and later writes are skipped, the
//! loops stop on it ([`StopRequests::count`](crate::supervise::StopRequests::count)),
//! and `main` ends with it ([`status`]):
//!
//! | failure                       | ends with                                        |
//! |-------------------------------|--------------------------------------------------|
//! | closed pipe (EPIPE)           | 141, quietly (SIGPIPE's status, as for `cat`)    |
//! | any other (ENOSPC, EIO, ...)  | `horus: writing to stdout: <why>`, exit 1        |
//!
//! The commands that only print never see EPIPE: they die of SIGPIPE first
//! (see `prints_only` in main.rs); `run` and `launch`, which ignore it,
//! come through here.

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::OnceLock;

use crate::exit;

/// `println!` that never panics: see [`write`] (a failure is kept, not
/// returned: the loops look at [`failed`]).
macro_rules! outln {
    () => {{
        $crate::out::write("\n");
    }};
    ($($arg:tt)*) => {{
        $crate::out::write(&format!("{}\n", format_args!($($arg)*)));
    }};
}

/// The first write to stdout that failed.
static FAILURE: OnceLock<io::Error> = OnceLock::new();

/// Writes `text` to stdout and flushes; whether it was written. After a
/// failure (this one or an earlier one, kept for [`status`]) nothing more
/// is written.
pub fn write(text: &str) -> bool {
    write_bytes(text.as_bytes())
}

/// [`write`] for bytes that may not be UTF-8 (a man page).
pub fn write_bytes(bytes: &[u8]) -> bool {
    if failed() {
        return false;
    }
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            let _ = FAILURE.set(e);
            false
        }
    }
}

/// Whether a write to stdout failed.
pub fn failed() -> bool {
    FAILURE.get().is_some()
}

/// [`failed`], or stdout is a pipe that nobody reads any more (`| head -1`
/// has exited): kept as a write failed with EPIPE would be. For the loops
/// of `run` and `launch`, whose children may print nothing more for hours:
/// without it `horus launch x | head -1` ran on until Ctrl+C.
pub fn reader_gone() -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec};
    use std::os::fd::AsFd;
    if failed() {
        return true;
    }
    let out = io::stdout();
    let fd = out.as_fd();
    // The write end of a pipe without readers polls as POLLERR.
    let mut p = [PollFd::new(&fd, PollFlags::OUT)];
    let gone = matches!(rustix::event::poll(&mut p, Some(&Timespec::default())), Ok(n) if n > 0)
        && p[0].revents().contains(PollFlags::ERR);
    if gone {
        let _ = FAILURE.set(io::Error::from(io::ErrorKind::BrokenPipe));
    }
    gone
}

/// How the command ends if a write to stdout failed: 141 for a closed pipe
/// (quietly), else exit 1 after saying why; `None` if every write succeeded.
pub fn status() -> Option<ExitCode> {
    let e = FAILURE.get()?;
    if e.kind() == io::ErrorKind::BrokenPipe {
        return Some(ExitCode::from(exit::BROKEN_PIPE));
    }
    note!("horus: writing to stdout: {}", why(e));
    Some(ExitCode::from(exit::ERROR))
}

/// The reason of `e` as the system says it, without Rust's ` (os error N)`.
fn why(e: &io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(n) => text
            .strip_suffix(&format!(" (os error {n})"))
            .unwrap_or(&text)
            .to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_is_the_system_s_sentence() {
        let e = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(why(&e), "No space left on device");
    }
}
