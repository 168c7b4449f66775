//! Exit codes (documented in README.md) and the error that carries one.

use std::fmt;

/// Something failed: a program or node failed, a build failed, an unknown topic.
pub const ERROR: u8 = 1;
/// Invalid usage or input: bad arguments, an invalid launch file, an unknown file type.
pub const USAGE: u8 = 2;
/// A critical node of a launch died: the whole launch was stopped.
pub const CRITICAL: u8 = 3;

/// `topic echo --once` / `-n N` stopped by Ctrl+C (or SIGTERM) before its
/// messages came: 128 + SIGINT, the status a shell reports for a program
/// that Ctrl+C ended. (A stream without a count ends with 0.)
pub const INTERRUPTED: u8 = 130;

/// `run`/`launch`: our stdout was closed (`| head`), so the children were
/// stopped: 128 + SIGPIPE, the status a shell reports for a program that
/// SIGPIPE killed (what the commands that only print end with).
pub const BROKEN_PIPE: u8 = 141;

/// An error with the exit code it should produce.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: u8,
    message: String,
}

impl Failure {
    /// An error exiting with `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Invalid usage or input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}
