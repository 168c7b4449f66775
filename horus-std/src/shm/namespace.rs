//! A namespace: one directory `<base>/horus_<name>/` holding its topics.
//!
//! The base is `/dev/shm`, or `HORUS_SHM_DIR` if set (for systems that mount
//! their tmpfs elsewhere): an existing directory, and `HORUS_SHM_DIR` an
//! absolute path, or [`TopicError::ShmDir`] says which it is not. The name comes from `HORUS_NAMESPACE`, default
//! `default` (a value that is not UTF-8 is an error, not `default`). The
//! directory and its `proc/` are created mode 0700 and must belong to us: a
//! directory planted by another user is refused ([`TopicError::PermissionDenied`]),
//! and so is a symbolic link; one of ours with a looser mode (0777, say) is
//! tightened to 0700 when opened. Everything inside is opened relative to the
//! directory's descriptor with `O_NOFOLLOW`, so nothing can be redirected
//! after the check, and without blocking (see [`super::files`]).
//!
//! ```text
//! horus_<ns>/
//!   <topic>.topic            a topic region (0600)
//!   .init.<topic>.<pid>-<nonce>.<n>  a region being initialised (renamed into place when done)
//!   proc/<pid>-<nonce>.lock  one per live process, flock'ed exclusively for its life
//!   proc/.init.<pid>-<nonce>.<n>  a liveness file being created (locked, then renamed)
//! ```

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

use super::names::{check_namespace, topic_file_stem, topic_from_file_stem};
use crate::error::{FileKind, TopicError};

/// Environment variable naming the namespace.
pub const NAMESPACE_ENV: &str = "HORUS_NAMESPACE";
/// Environment variable overriding the base directory (default `/dev/shm`).
pub const SHM_DIR_ENV: &str = "HORUS_SHM_DIR";
/// Namespace used when `HORUS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "default";
/// Prefix of namespace directories.
pub(crate) const DIR_PREFIX: &str = "horus_";
/// File name suffix of topic regions.
pub(crate) const TOPIC_SUFFIX: &str = ".topic";
/// Prefix of regions being initialised.
pub(crate) const INIT_PREFIX: &str = ".init.";
/// Subdirectory of process liveness files.
pub(crate) const PROC_DIR: &str = "proc";

/// The file name of topic `topic`'s region: `/` mapped reversibly (see
/// [`names`](super::names)), then [`TOPIC_SUFFIX`].
pub(crate) fn topic_file_name(topic: &str) -> String {
    format!("{}{TOPIC_SUFFIX}", topic_file_stem(topic))
}

/// The topic whose region file is named `file`, if it is a region's name.
pub(crate) fn topic_of_file_name(file: &str) -> Option<String> {
    file.strip_suffix(TOPIC_SUFFIX).map(topic_from_file_stem)
}

/// An opened namespace directory.
#[derive(Debug)]
pub struct Namespace {
    name: String,
    path: PathBuf,
    dir: OwnedFd,
    proc_dir: OwnedFd,
}

impl Namespace {
    /// The namespace of this process: `HORUS_NAMESPACE`, or `default` if it
    /// is unset or empty. A value that is not UTF-8 is an error
    /// ([`TopicError::InvalidNamespace`]), never silently `default`; other
    /// invalid names are refused when the namespace is opened.
    pub fn current_name() -> Result<String, TopicError> {
        Self::name_from(std::env::var_os(NAMESPACE_ENV))
    }

    /// [`Self::current_name`] for a given value of `HORUS_NAMESPACE`.
    fn name_from(value: Option<std::ffi::OsString>) -> Result<String, TopicError> {
        match value.map(std::ffi::OsString::into_string) {
            None => Ok(DEFAULT_NAMESPACE.to_owned()),
            Some(Ok(s)) if s.is_empty() => Ok(DEFAULT_NAMESPACE.to_owned()),
            Some(Ok(s)) => Ok(s),
            Some(Err(raw)) => Err(TopicError::InvalidNamespace {
                namespace: raw.to_string_lossy().into_owned(),
                reason: "it is not valid UTF-8",
            }),
        }
    }

    /// The directory holding all namespaces: `HORUS_SHM_DIR`, or `/dev/shm`,
    /// as given (a relative `HORUS_SHM_DIR` is refused when a namespace is
    /// opened or listed: [`TopicError::ShmDir`]).
    pub fn base_dir() -> PathBuf {
        std::env::var_os(SHM_DIR_ENV)
            .filter(|s| !s.is_empty())
            .map_or_else(|| PathBuf::from("/dev/shm"), PathBuf::from)
    }

    /// The directory of namespace `name` (whether or not it exists).
    pub fn path_of(name: &str) -> PathBuf {
        Self::base_dir().join(format!("{DIR_PREFIX}{name}"))
    }

    /// [`Self::base_dir`], refused if `HORUS_SHM_DIR` is a relative path
    /// ([`TopicError::ShmDir`]): it would name another directory for every
    /// working directory, and programs started in different ones would not
    /// meet.
    pub(crate) fn usable_base_dir() -> Result<PathBuf, TopicError> {
        let base = Self::base_dir();
        if base.is_relative() {
            return Err(TopicError::ShmDir {
                path: base,
                from_env: true,
                problem: crate::error::ShmDirProblem::Relative,
            });
        }
        Ok(base)
    }

    /// Opens namespace `name`, creating its directory if needed.
    pub fn open(name: &str) -> Result<Self, TopicError> {
        Self::open_inner(name, true)?.ok_or_else(|| unreachable_missing(name))
    }

    /// Opens namespace `name` if its directory exists (tools use this: looking
    /// must not create anything).
    pub fn open_existing(name: &str) -> Result<Option<Self>, TopicError> {
        Self::open_inner(name, false)
    }

    fn open_inner(name: &str, create: bool) -> Result<Option<Self>, TopicError> {
        check_namespace(name).map_err(|reason| TopicError::InvalidNamespace {
            namespace: name.to_owned(),
            reason,
        })?;
        let base = Self::usable_base_dir()?;
        let path = base.join(format!("{DIR_PREFIX}{name}"));
        if create {
            mkdir_private(rustix::fs::CWD, &path, &path).map_err(|e| base_error(&base, e))?;
        }
        let dir = match open_private_dir(rustix::fs::CWD, &path, &path) {
            // No namespace, or no base directory (said as such).
            Err(e @ TopicError::Io { .. }) if !create && is_not_found(&e) => {
                return match base_problem(&base) {
                    Some(problem) => Err(problem),
                    None => Ok(None),
                };
            }
            other => other.map_err(|e| base_error(&base, e))?,
        };
        let proc_path = path.join(PROC_DIR);
        // Relative to the namespace's descriptor; errors name the full path.
        mkdir_private(&dir, Path::new(PROC_DIR), &proc_path)?;
        let proc_dir = open_private_dir(&dir, Path::new(PROC_DIR), &proc_path)?;
        Ok(Some(Self {
            name: name.to_owned(),
            path,
            dir,
            proc_dir,
        }))
    }

    /// Does the path still name the directory this value opened (and its
    /// `proc/`)? False once the namespace was removed, e.g. by `horus clean`.
    pub(crate) fn is_current(&self) -> bool {
        let same = |fd: BorrowedFd<'_>, path: &Path| match (
            rustix::fs::fstat(fd),
            rustix::fs::lstat(path),
        ) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        };
        same(self.dir.as_fd(), &self.path) && same(self.proc_dir.as_fd(), &self.path.join(PROC_DIR))
    }

    /// Removes `proc/` and the namespace directory if they are empty; true
    /// if removed. Cleans nothing: [`remove_if_unused`](super::remove_if_unused)
    /// cleans what dead processes left first. Every entry counts, whatever
    /// its name (one that is not UTF-8 too): a namespace holding anything
    /// but an empty `proc/` is kept whole, `proc/` included.
    pub fn remove_if_empty(&self) -> Result<bool, TopicError> {
        if !self.entries()?.iter().all(|e| e == PROC_DIR) || !self.proc_entries()?.is_empty() {
            return Ok(false);
        }
        let rm = |at: BorrowedFd<'_>, name: &str| {
            rustix::fs::unlinkat(at, name, rustix::fs::AtFlags::REMOVEDIR).is_ok()
        };
        if !rm(self.dir.as_fd(), PROC_DIR) {
            return Ok(false);
        }
        let base_path = Self::usable_base_dir()?;
        let base = rustix::fs::open(
            &base_path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| errno_error(e, &base_path, "open"))?;
        Ok(rm(base.as_fd(), &format!("{DIR_PREFIX}{}", self.name)))
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of topic `topic`'s region file (`<name>.topic`, `/` written as `%`).
    pub fn topic_path(&self, topic: &str) -> PathBuf {
        self.path.join(topic_file_name(topic))
    }

    /// The directory descriptor (for `*at` calls).
    pub(crate) fn dir(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// The `proc/` directory descriptor.
    pub(crate) fn proc_dir(&self) -> BorrowedFd<'_> {
        self.proc_dir.as_fd()
    }

    /// Names of the topics present (region files), sorted. A file name that
    /// is not UTF-8 is no topic's (topic names are ASCII): the cleaner
    /// reports such files ([`ForeignKind::NotUtf8Name`](super::ForeignKind::NotUtf8Name)).
    pub fn topic_names(&self) -> Result<Vec<String>, TopicError> {
        let mut names: Vec<String> = self
            .entries()?
            .iter()
            .filter_map(|f| topic_of_file_name(f.to_str()?))
            .collect();
        names.sort();
        Ok(names)
    }

    /// File names in the namespace directory (not in `proc/`), all of them:
    /// each caller decides what a name that is not UTF-8 is to it.
    pub(crate) fn entries(&self) -> Result<Vec<OsString>, TopicError> {
        list_dir(&self.path)
    }

    /// File names in `proc/`, all of them (as [`Self::entries`]).
    pub(crate) fn proc_entries(&self) -> Result<Vec<OsString>, TopicError> {
        list_dir(&self.path.join(PROC_DIR))
    }

    /// Names of all namespaces present under the base directory, sorted.
    /// An entry whose name is not UTF-8 is no namespace (`HORUS_NAMESPACE`
    /// cannot name it: [`Self::current_name`]), like one whose name
    /// [`check_namespace`] refuses: the base directory (`/dev/shm`) is
    /// shared with other programs, and what is not a namespace is none of
    /// HORUS's business there.
    pub fn list_all() -> Result<Vec<String>, TopicError> {
        let base = Self::usable_base_dir()?;
        let mut names: Vec<String> = list_dir(&base)
            .map_err(|e| base_error(&base, e))?
            .iter()
            .filter_map(|f| f.to_str()?.strip_prefix(DIR_PREFIX).map(str::to_owned))
            .filter(|n| check_namespace(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }
}

fn unreachable_missing(name: &str) -> TopicError {
    TopicError::Io {
        path: Namespace::path_of(name),
        op: "create namespace",
        error: io::ErrorKind::NotFound.into(),
    }
}

/// Is `e` an I/O error "no such file or directory"?
fn is_not_found(e: &TopicError) -> bool {
    matches!(e, TopicError::Io { error, .. } if error.kind() == io::ErrorKind::NotFound)
}

/// What is wrong with the base directory `base`, if anything: it does not
/// exist, or is not a directory (it is looked at, links followed, only
/// once something under it failed).
fn base_problem(base: &Path) -> Option<TopicError> {
    use crate::error::ShmDirProblem as P;
    let problem = match rustix::fs::stat(base) {
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => return None,
            other => P::NotADirectory(FileKind::of(other)),
        },
        Err(rustix::io::Errno::NOENT) => P::Missing,
        Err(rustix::io::Errno::NOTDIR) => P::NotADirectory(FileKind::Unknown),
        Err(_) => return None,
    };
    let from_env = std::env::var_os(SHM_DIR_ENV).is_some_and(|v| !v.is_empty());
    Some(TopicError::ShmDir {
        path: base.to_owned(),
        from_env,
        problem,
    })
}

/// `e`, an error about something in the base directory `base`, or the
/// error of the base directory itself if that is what is wrong (missing,
/// not a directory): the path and the fix of the thing to change.
pub(crate) fn base_error(base: &Path, e: TopicError) -> TopicError {
    base_problem(base).unwrap_or(e)
}

/// The names in directory `path`, UTF-8 or not (nothing is opened).
fn list_dir(path: &Path) -> Result<Vec<OsString>, TopicError> {
    let rd = std::fs::read_dir(path).map_err(|error| TopicError::Io {
        path: path.to_owned(),
        op: "list",
        error,
    })?;
    Ok(rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
}

/// `mkdir -m 0700` of `rel` in `at`, accepting an existing one (checked
/// when opened); errors name `path`, the full path.
fn mkdir_private<Fd: AsFd>(at: Fd, rel: &Path, path: &Path) -> Result<(), TopicError> {
    match rustix::fs::mkdirat(at, rel, Mode::RWXU) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => Ok(()),
        Err(e) => Err(errno_error(e, path, "create directory")),
    }
}

/// Opens the directory `rel` in `at` without following links or blocking,
/// checks it is ours, and tightens its mode to 0700 if it is looser (a
/// directory of ours made 0777 by a umask-less script or by hand is used
/// private, not as is). Errors name `path`, the full path, and what stands
/// there is looked at relative to `at` too (`statat`, no follow): never
/// through a relative path from the current directory.
fn open_private_dir<Fd: AsFd>(at: Fd, rel: &Path, path: &Path) -> Result<OwnedFd, TopicError> {
    let flags = OFlags::RDONLY
        | OFlags::DIRECTORY
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | OFlags::NOCTTY
        | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(&at, rel, flags, Mode::empty()).map_err(|e| match e {
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => TopicError::NotADirectory {
            path: path.to_owned(),
            found: FileKind::at(at.as_fd(), rel),
        },
        e => errno_error(e, path, "open directory"),
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| errno_error(e, path, "stat"))?;
    let kind = FileType::from_raw_mode(st.st_mode);
    if kind != FileType::Directory {
        return Err(TopicError::NotADirectory {
            path: path.to_owned(),
            found: FileKind::of(kind),
        });
    }
    check_owner(st.st_uid, path)?;
    if st.st_mode & 0o7077 != 0 {
        // On the descriptor: the directory checked above, not whatever the
        // path names now.
        rustix::fs::fchmod(&fd, Mode::RWXU).map_err(|e| errno_error(e, path, "chmod 0700"))?;
    }
    Ok(fd)
}

/// Refuses files and directories of other users.
pub(crate) fn check_owner(owner: u32, path: &Path) -> Result<(), TopicError> {
    let uid = rustix::process::geteuid().as_raw();
    if owner == uid {
        Ok(())
    } else {
        Err(TopicError::PermissionDenied {
            path: path.to_owned(),
            owner: Some(owner),
            uid,
        })
    }
}

/// What a reservation of `bytes` in `fd` (the file at `path`) that found
/// no space is: [`TopicError::LargerThanShm`] if its file system could not
/// hold that much even empty (no cleaning helps; a pool of huge blocks was
/// asked for), else [`TopicError::NoSpace`] (it is full).
pub(crate) fn no_space(fd: rustix::fd::BorrowedFd<'_>, path: &Path, bytes: usize) -> TopicError {
    let capacity = rustix::fs::fstatvfs(fd)
        .ok()
        .map(|s| s.f_blocks.saturating_mul(s.f_frsize));
    match capacity {
        Some(capacity) if bytes as u64 > capacity => TopicError::LargerThanShm {
            path: path.to_owned(),
            bytes,
            capacity,
        },
        _ => TopicError::NoSpace {
            path: path.to_owned(),
            bytes,
        },
    }
}

/// Maps an errno to the variant that names the fix.
pub(crate) fn errno_error(e: rustix::io::Errno, path: &Path, op: &'static str) -> TopicError {
    match e {
        rustix::io::Errno::ACCESS | rustix::io::Errno::PERM => TopicError::PermissionDenied {
            path: path.to_owned(),
            owner: rustix::fs::stat(path).ok().map(|s| s.st_uid),
            uid: rustix::process::geteuid().as_raw(),
        },
        rustix::io::Errno::LOOP => TopicError::NotARegularFile {
            path: path.to_owned(),
            found: FileKind::Symlink,
        },
        rustix::io::Errno::NOSPC => TopicError::NoSpace {
            path: path.to_owned(),
            bytes: 0,
        },
        rustix::io::Errno::MFILE | rustix::io::Errno::NFILE => TopicError::TooManyFiles {
            path: path.to_owned(),
            op,
            system_wide: e == rustix::io::Errno::NFILE,
        },
        rustix::io::Errno::NOMEM => TopicError::OutOfMemory {
            path: path.to_owned(),
            op,
        },
        e => TopicError::Io {
            path: path.to_owned(),
            op,
            error: e.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhaustion_errors_name_the_limit_and_the_fix() {
        let path = Path::new("/dev/shm/horus_x/.init.cam.1");
        let said = |e| errno_error(e, path, "create").to_string();
        assert!(said(rustix::io::Errno::MFILE).contains("ulimit -n"));
        assert!(said(rustix::io::Errno::NFILE).contains("fs.file-max"));
        assert!(said(rustix::io::Errno::NOMEM).contains("ulimit -v"));
        let full = said(rustix::io::Errno::NOSPC);
        assert!(full.contains("file system at /dev/shm is full"), "{full}");
        assert!(!full.contains("0 bytes"), "{full}");
        assert!(full.contains("blocks_per_segment"), "{full}");
    }

    #[test]
    fn a_namespace_that_is_not_utf8_is_an_error_not_default() {
        use std::os::unix::ffi::OsStringExt;
        let bad = std::ffi::OsString::from_vec(b"lab\xff".to_vec());
        match Namespace::name_from(Some(bad)) {
            Err(e @ TopicError::InvalidNamespace { .. }) => {
                assert!(e.to_string().contains("not valid UTF-8"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(Namespace::name_from(None).unwrap(), DEFAULT_NAMESPACE);
        assert_eq!(
            Namespace::name_from(Some("".into())).unwrap(),
            DEFAULT_NAMESPACE
        );
        assert_eq!(Namespace::name_from(Some("lab".into())).unwrap(), "lab");
    }
}
