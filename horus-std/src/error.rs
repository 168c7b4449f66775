//! Errors of the std layer. Each names the thing (topic, path, namespace) and
//! the fix; the seed's "Common Errors" table is the checklist.
//!
//! Their `Debug` is that sentence too: a program whose `main` returns
//! `Result<()>` prints `Error: {err:?}`, and a user must read the sentence and
//! its fix there, not a dump of variant fields.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

mod scheduler;
mod shm_dir;

pub use scheduler::SchedulerError;
pub use shm_dir::ShmDirProblem;

/// `Result` with [`Error`], as user programs write it (`fn main() -> Result<()>`).
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Any error of this crate.
///
/// Transparent: `Error` displays the inner error, so its source is the inner
/// error's source (not the inner error itself, which would print it twice in
/// any report that walks the chain, such as anyhow's `{:#}`).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Opening or using a topic failed.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// Building or running a scheduler failed.
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
}

/// The sentence, as `Display`, then any cause it does not quote.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_sentence(self, f)
    }
}

/// Writes what `Debug` shows for an error a program's `main` may return: its
/// `Display` sentence, then each cause in its `source()` chain that the text
/// so far does not already quote (most sentences quote their cause, so
/// nothing is said twice). Works for every variant, present and future.
pub(crate) fn debug_sentence(
    e: &(dyn std::error::Error + 'static),
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let mut said = e.to_string();
    f.write_str(&said)?;
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !said.contains(&text) {
            write!(f, ": {text}")?;
            said.push_str(&text);
        }
        cause = c.source();
    }
    Ok(())
}

/// Why a topic (or a namespace) could not be opened.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// The topic name is not allowed.
    #[error(
        "invalid topic name {name:?}: {reason}; use 1 to 200 characters from \
         A-Z a-z 0-9 . _ - / (e.g. \"wheel.encoders\" or \"/robot/cmd_vel\")"
    )]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The name is reserved for a system topic (`_horus.*`) and this handle's
    /// message type is not that topic's: it would take the e-stop, registry,
    /// control or blackbox topic from every scheduler of the namespace.
    #[error(
        "topic name {name:?} is reserved for HORUS's {reserved_for}{}; name your \
         topic without the `_horus.` prefix",
        system_type.map_or_else(String::new, |t| format!(" (message type {t}, not {found})"))
    )]
    ReservedName {
        /// The name given.
        name: String,
        /// What the name is for (`e-stop`, `system topics`).
        reserved_for: &'static str,
        /// The type the system topic carries, if the name is one of them.
        system_type: Option<&'static str>,
        /// This handle's type.
        found: String,
    },
    /// A handle inherited through `fork()` was used in the child.
    #[error(
        "Topic `{topic}` was created in process {creator_pid} before fork(); this process \
         ({pid}) is a child made by fork(), which must create its own Topic after the fork \
         (sharing the parent's handle would make two writers of one lane)"
    )]
    UsedAfterFork {
        /// Topic name.
        topic: String,
        /// The process that made the handle.
        creator_pid: u32,
        /// This process.
        pid: u32,
    },
    /// The namespace name (from `HORUS_NAMESPACE` or the builder) is not allowed.
    #[error(
        "invalid namespace {namespace:?} (from HORUS_NAMESPACE or a builder's .namespace()): \
         {reason}; use 1 to 64 characters from A-Z a-z 0-9 _ -"
    )]
    InvalidNamespace {
        /// The namespace given.
        namespace: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The topic exists with another message type, held by a live process.
    #[error("{}", type_mismatch(topic, expected, found, *same_name, path))]
    TypeMismatch {
        /// Topic name.
        topic: String,
        /// This program's type.
        expected: String,
        /// The type the topic carries.
        found: String,
        /// The names agree but the layouts (fields, size) differ: two
        /// programs built against different definitions of one message.
        same_name: bool,
        /// The region file.
        path: PathBuf,
    },
    /// The file at the topic's path is not a valid topic region (random bytes,
    /// empty, truncated, corrupt header).
    #[error(
        "{} is not a valid HORUS topic: {reason}; remove it with `horus clean --shm` \
         (or rm) once no program uses it",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What validation found.
        reason: Corruption,
    },
    /// The region was made by a HORUS with another layout version.
    #[error(
        "{} has layout version {found}, this program reads version {expected}: stop the \
         programs built with the other HORUS version, then run `horus clean --shm`",
        path.display()
    )]
    VersionMismatch {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u64,
        /// This build's version.
        expected: u64,
    },
    /// The namespace or region belongs to another user, or its mode denies us.
    #[error("{}", permission_denied(path, *owner, *uid))]
    PermissionDenied {
        /// The directory or file.
        path: PathBuf,
        /// Its owner's uid, if it could be read.
        owner: Option<u32>,
        /// Our effective uid.
        uid: u32,
    },
    /// `/dev/shm` (or the configured directory) is full.
    #[error("{}", no_space(path, *bytes))]
    NoSpace {
        /// The file being created.
        path: PathBuf,
        /// Bytes it needed.
        bytes: usize,
    },
    /// A file would need more than the whole file system of `/dev/shm` (or
    /// the configured directory) holds: no cleaning makes room, the topic or
    /// pool asks too much.
    #[error(
        "{} would take {bytes} bytes, more than the whole file system at {} holds ({capacity} \
         bytes): make the topic or its pool smaller (capacity, max_message_bytes, block_size, \
         blocks_per_segment), or give that file system more room",
        path.display(),
        shm_dir_of(path).display()
    )]
    LargerThanShm {
        /// The file being created.
        path: PathBuf,
        /// Bytes it needed.
        bytes: usize,
        /// Bytes its file system holds in all.
        capacity: u64,
    },
    /// The directory of the namespaces (`HORUS_SHM_DIR`, else `/dev/shm`)
    /// cannot hold them: it does not exist, is not a directory, or (given
    /// by `HORUS_SHM_DIR`) is a relative path. Every command and program
    /// using it says so, looking ones included (`horus ns list`).
    #[error("{}", shm_dir::sentence(path, *from_env, *problem))]
    ShmDir {
        /// The directory, as given.
        path: PathBuf,
        /// It is `HORUS_SHM_DIR`'s value (else the default `/dev/shm`).
        from_env: bool,
        /// What is wrong with it.
        problem: ShmDirProblem,
    },
    /// Something other than a regular file (a symbolic link, a FIFO, a
    /// socket, a device, a directory) stands where HORUS keeps a file.
    #[error(
        "{} is {found}, not a regular file: HORUS neither follows links nor opens anything \
         else in its shared-memory directory; remove it ({})",
        path.display(),
        found.how_to_remove()
    )]
    NotARegularFile {
        /// The path.
        path: PathBuf,
        /// What stands there.
        found: FileKind,
    },
    /// Something other than a directory stands where HORUS keeps a directory
    /// (a namespace, its `proc/`). The fix is `rm` whatever it is: `horus
    /// clean --shm` works inside namespaces, and cannot open this one.
    #[error(
        "{} is {found}, where HORUS keeps a directory of its own (a namespace's files); \
         HORUS never follows links there: remove it (rm), or use another namespace \
         (HORUS_NAMESPACE)",
        path.display()
    )]
    NotADirectory {
        /// The path.
        path: PathBuf,
        /// What stands there.
        found: FileKind,
    },
    /// Another process has held the exclusive lock of the region longer than
    /// we waited for it ([`LOCK_WAIT`](crate::shm::files::LOCK_WAIT): a
    /// cleaner stopped in a debugger, a stuck or hostile process).
    #[error(
        "another process has held an exclusive lock on {} for over {} ms: find it with \
         `fuser -v {}` (or `lsof`) and resume or stop it (a cleaner stopped in a \
         debugger, a stuck program), then retry; once nobody holds the file, \
         `horus clean --shm` removes it if it is stale",
        path.display(),
        waited.as_millis(),
        path.display()
    )]
    Locked {
        /// The region file.
        path: PathBuf,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// All participant slots of the topic are held by live handles.
    #[error(
        "topic {topic:?} is full: all {max} participant slots are held by live handles; \
         drop unused handles, or create the topic with \
         Topic::builder(name).max_participants(n)"
    )]
    Full {
        /// Topic name.
        topic: String,
        /// Its participant limit.
        max: u32,
    },
    /// The builder asked for a geometry that differs from the existing topic's.
    #[error(
        "topic {topic:?} already exists with {what} {existing}, not {requested}; use the \
         same value in every process, or leave it unset to accept the existing one"
    )]
    GeometryMismatch {
        /// Topic name.
        topic: String,
        /// What differs.
        what: &'static str,
        /// Value asked for.
        requested: u32,
        /// Value of the existing topic.
        existing: u32,
    },
    /// The builder asked for an impossible geometry.
    #[error("{0}")]
    Layout(horus_nostd::LayoutError),
    /// A block pool option of a large-message topic (`Image`, `Tensor`, ...)
    /// is out of its range; nothing was created.
    #[error("topic {topic:?}: block pool option {option}({value}) is invalid: {reason}")]
    PoolOption {
        /// Topic name.
        topic: String,
        /// The builder method (`block_size`, `blocks_per_segment`, `max_segments`).
        option: &'static str,
        /// The value given.
        value: u32,
        /// The valid range, or why the geometry cannot be laid out.
        reason: String,
    },
    /// The bound of a serialized topic
    /// ([`max_message_bytes`](crate::topic::TopicBuilder::max_message_bytes))
    /// is 0 or over the largest; nothing was created.
    #[error(
        "topic {topic:?}: max_message_bytes({value}) is invalid: use 1 to {max} bytes (the \
         largest encoded message the topic carries)"
    )]
    MaxMessageBytes {
        /// Topic name.
        topic: String,
        /// The bound given.
        value: u32,
        /// The largest bound.
        max: u32,
    },
    /// A serialized type cannot be described in a region (see
    /// [`serialized`](mod@crate::serialized)).
    #[error("topic {topic:?}: {error}")]
    Serialized {
        /// Topic name.
        topic: String,
        /// Why.
        error: crate::serialized::schema::SchemaError,
    },
    /// The process (or the whole system) has as many files open as its
    /// limit allows (`EMFILE`, `ENFILE`).
    #[error(
        "cannot {op} {}: {}",
        path.display(),
        if *system_wide {
            "the system has as many files open as it allows (fs.file-max): close other \
             programs' files, or raise the limit"
        } else {
            "this process has as many files open as its limit allows (each topic and pool \
             segment keeps one): drop unused handles, or raise the limit (`ulimit -n`, \
             LimitNOFILE= for a service)"
        }
    )]
    TooManyFiles {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The system's limit (`ENFILE`), not the process's.
        system_wide: bool,
    },
    /// No memory or address space for a mapping or a file (`ENOMEM`).
    #[error(
        "cannot {op} {}: out of memory or address space (a `ulimit -v` limit, the \
         vm.max_map_count mappings, or the machine's memory): drop unused topic handles \
         and large messages, make pools smaller, or raise the limit",
        path.display()
    )]
    OutOfMemory {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
    },
    /// Another system call failed.
    #[error("{op} {} failed: {error}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error.
        error: io::Error,
    },
}

/// The sentence of [`TopicError::TypeMismatch`]: another type, or another
/// definition of a type of the same name.
fn type_mismatch(topic: &str, expected: &str, found: &str, same_name: bool, path: &Path) -> String {
    if same_name {
        format!(
            "type mismatch on topic {topic:?}: this program's `{found}` and the topic's are \
             two different definitions of it (fields or size differ) ({}); build every \
             program on the topic against the same message definition",
            path.display()
        )
    } else {
        // The topic's users may include this very process (another handle
        // of it): the sentence says what the topic carries, not who.
        format!(
            "type mismatch on topic {topic:?}: this program uses `{expected}` but the topic \
             carries `{found}` ({}); every program on a topic must use the same message type",
            path.display()
        )
    }
}

/// Characters of a given text an error sentence quotes (then `…`).
pub const QUOTED_CHARS: usize = 60;

/// `text` as an error sentence echoes it: whole if short, else its first
/// [`QUOTED_CHARS`] characters and `…` (a 100 KB argument is not said back
/// whole; the error's field keeps it all).
///
/// ```
/// assert_eq!(horus::error::echoed("rgb9"), "rgb9");
/// assert_eq!(horus::error::echoed(&"x".repeat(100)), format!("{}…", "x".repeat(60)));
/// ```
pub fn echoed(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

/// The shared-memory directory of a namespace's file: its parent's parent.
fn shm_dir_of(path: &Path) -> &Path {
    path.parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/dev/shm"))
}

/// The sentence of [`TopicError::NoSpace`]: the file is often a temporary
/// one (`.init.<name>.<n>`), and the fix depends on what fills the space.
fn no_space(path: &Path, bytes: usize) -> String {
    let dir = shm_dir_of(path);
    let needed = if bytes > 0 {
        format!(" ({bytes} bytes)")
    } else {
        String::new()
    };
    format!(
        "no space left in shared memory for {}{needed}: the file system at {} is full (of \
         bytes or of files); remove stale topics with `horus clean --shm`, make topics and \
         pools smaller (capacity, max_message_bytes, block_size, blocks_per_segment, \
         max_segments, process_pool::set_limit), or enlarge that file system",
        path.display(),
        dir.display()
    )
}

/// The sentence of [`TopicError::PermissionDenied`]: whose the path is, when
/// that is not us.
fn permission_denied(path: &Path, owner: Option<u32>, uid: u32) -> String {
    let whose = match owner {
        Some(o) if o != uid => format!(
            ": it belongs to uid {o} and we are uid {uid}; run both programs as the \
             same user, or use another namespace (HORUS_NAMESPACE)"
        ),
        _ => "; check the permissions of /dev/shm and of that path".to_owned(),
    };
    format!("permission denied on {}{whose}", path.display())
}

/// The sentence, as `Display`, then any cause it does not quote.
impl fmt::Debug for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_sentence(self, f)
    }
}

/// What stands at a path where HORUS expected a regular file or a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A regular file.
    RegularFile,
    /// A directory.
    Directory,
    /// A symbolic link (never followed).
    Symlink,
    /// A FIFO (never opened blockingly).
    Fifo,
    /// A socket.
    Socket,
    /// A character or block device.
    Device,
    /// Something else, or it changed while we looked.
    Unknown,
}

impl FileKind {
    /// The kind of `t`.
    pub(crate) fn of(t: rustix::fs::FileType) -> Self {
        use rustix::fs::FileType as T;
        match t {
            T::RegularFile => Self::RegularFile,
            T::Directory => Self::Directory,
            T::Symlink => Self::Symlink,
            T::Fifo => Self::Fifo,
            T::Socket => Self::Socket,
            T::CharacterDevice | T::BlockDevice => Self::Device,
            _ => Self::Unknown,
        }
    }

    /// The kind of what stands at `name` in the directory `dir` now (a
    /// link is not followed).
    pub(crate) fn at(dir: std::os::fd::BorrowedFd<'_>, name: &Path) -> Self {
        rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .map_or(Self::Unknown, |st| {
                Self::of(rustix::fs::FileType::from_raw_mode(st.st_mode))
            })
    }

    /// How to remove it, for an error's sentence.
    fn how_to_remove(self) -> &'static str {
        match self {
            Self::Fifo => "rm, or `horus clean --shm`",
            Self::Directory => "rm -r, once you have looked at what it holds",
            _ => "rm",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RegularFile => "a regular file",
            Self::Directory => "a directory",
            Self::Symlink => "a symbolic link",
            Self::Fifo => "a FIFO",
            Self::Socket => "a socket",
            Self::Device => "a device file",
            Self::Unknown => "a file of another kind",
        })
    }
}

/// How a file at a topic path fails to be a topic region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// It does not start with the HORUS topic magic: random bytes, another
    /// program's file, or a region whose creator never finished.
    #[error("it does not start with the HORUS magic (found {magic:#018x})")]
    NotARegion {
        /// Its first eight bytes, as a little-endian word.
        magic: u64,
    },
    /// It is shorter than a header or than the layout its header declares
    /// (an empty file included).
    #[error("it has {found} bytes where {needed} are needed")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes found.
        found: usize,
    },
    /// A header field is out of range or inconsistent.
    #[error("its header field `{field}` is out of range")]
    BadField {
        /// Which field.
        field: &'static str,
    },
    /// The stored schema of a serialized type does not decode.
    #[error("its serialized schema is unreadable ({0})")]
    BadSchema(crate::serialized::schema::SchemaError),
}

impl TopicError {
    /// The error for the region file at `path`, of `file_bytes` bytes, that
    /// failed validation for `topic`, whose program expects the type named
    /// `expected`. A truncated file is reported with its length (the core
    /// saw only its whole words).
    pub(crate) fn from_attach(
        e: horus_nostd::AttachError,
        path: &Path,
        file_bytes: usize,
        topic: &str,
        expected: &str,
    ) -> Self {
        use horus_nostd::AttachError as A;
        let path = path.to_owned();
        let corrupt = |reason| Self::Corrupt {
            path: path.clone(),
            reason,
        };
        match e {
            A::TypeMismatch {
                found, same_name, ..
            } => Self::TypeMismatch {
                topic: topic.to_owned(),
                expected: expected.to_owned(),
                found: found.to_string(),
                same_name,
                path,
            },
            A::VersionMismatch { found, expected } => Self::VersionMismatch {
                path,
                found,
                expected,
            },
            A::BadMagic { found } => corrupt(Corruption::NotARegion { magic: found }),
            A::Truncated { needed, .. } => corrupt(Corruption::Truncated {
                needed,
                found: file_bytes,
            }),
            A::BadGeometry { field } => corrupt(Corruption::BadField { field }),
            _ => corrupt(Corruption::BadField { field: "unknown" }),
        }
    }
}

#[cfg(test)]
mod tests;
