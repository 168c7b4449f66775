//! [`TopicError::ShmDir`](super::TopicError::ShmDir): the directory of the
//! namespaces (`HORUS_SHM_DIR`, else `/dev/shm`) cannot hold them.

use std::fmt;
use std::path::Path;

use super::FileKind;

/// What is wrong with the directory of the namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShmDirProblem {
    /// `HORUS_SHM_DIR` is a relative path: two programs started in
    /// different directories would not find each other's topics.
    Relative,
    /// It does not exist.
    Missing,
    /// Something else stands there (`FileKind::Unknown`: a part of the path
    /// is not a directory).
    NotADirectory(FileKind),
}

impl fmt::Display for ShmDirProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Relative => f.write_str("is a relative path"),
            Self::Missing => f.write_str("does not exist"),
            Self::NotADirectory(FileKind::Unknown) => f.write_str("is not a directory"),
            Self::NotADirectory(kind) => write!(f, "is {kind}, not a directory"),
        }
    }
}

/// The sentence of `TopicError::ShmDir`: the variable and its value (or
/// the default directory), what is wrong, and the fix.
pub(super) fn sentence(path: &Path, from_env: bool, problem: ShmDirProblem) -> String {
    let path = path.display();
    if !from_env {
        let fix = match problem {
            ShmDirProblem::Missing => "mount a tmpfs there",
            _ => "make it a directory (a tmpfs)",
        };
        return format!(
            "the shared-memory directory {path} {problem}: {fix}, or set HORUS_SHM_DIR to \
             the absolute path of a directory on a tmpfs"
        );
    }
    let why = match problem {
        ShmDirProblem::Relative => {
            " (programs started in different directories would not find each other's \
             topics)"
        }
        _ => "",
    };
    let fix = match problem {
        ShmDirProblem::Missing => "create it (a tmpfs of its own: `mount -t tmpfs`), or ",
        _ => "",
    };
    format!(
        "HORUS_SHM_DIR={path} {problem}{why}: {fix}set HORUS_SHM_DIR to the absolute path \
         of a directory (on a tmpfs), or unset it to use /dev/shm"
    )
}
