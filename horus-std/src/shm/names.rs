//! Which topic and namespace names are allowed.
//!
//! Names become file names in `/dev/shm`, so they are checked before any
//! system call: no `..`, no leading dot, bounded length, a small character
//! set. The checks return the reason, which
//! [`TopicError`](crate::error::TopicError) words for the user.
//!
//! Topic names may use `/` as ROS 2 does (`/robot/cmd_vel`). In the file
//! name each `/` becomes [`SLASH_IN_FILE`] (`%`), a character that a topic
//! name can never contain, so the mapping is reversible and injective
//! (`/a/b` -> `%a%b.topic`, `a/b` -> `a%b.topic`: two names, two files).
//! It never makes a hidden file, `..` or a separator, because a name never
//! starts with `.` nor contains `..`, and `%` is neither. Names without `/`
//! keep exactly the file name they always had.

/// Prefix of the names reserved for the system topics (e-stop, blackbox,
/// registry, control: [`crate::system`]). Cleaning keeps them unless asked.
pub const SYSTEM_PREFIX: &str = "_horus.";

/// Longest topic name.
pub const TOPIC_NAME_MAX: usize = 200;
/// Longest namespace name.
pub const NAMESPACE_MAX: usize = 64;

/// What stands for `/` in a topic's file name (never part of a topic name).
pub const SLASH_IN_FILE: char = '%';

/// Checks a topic name: 1 to 200 of `A-Z a-z 0-9 . _ - /`, not starting with
/// `.`, without `..`; `/` separates non-empty parts (a leading `/` is allowed,
/// as in ROS 2), none of which starts with `.`.
///
/// ```
/// use horus::shm::names::check_topic_name;
/// assert!(check_topic_name("wheel.encoders").is_ok());
/// assert!(check_topic_name("/robot/cmd_vel").is_ok());
/// assert!(check_topic_name("../x").is_err());
/// assert!(check_topic_name("a//b").is_err());
/// ```
pub fn check_topic_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > TOPIC_NAME_MAX {
        return Err("it is longer than 200 characters");
    }
    if name.starts_with('.') {
        return Err("it starts with '.'");
    }
    if name.contains("..") {
        return Err("it contains \"..\"");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
    {
        return Err("it has characters other than A-Z a-z 0-9 . _ - /");
    }
    let parts = name.strip_prefix('/').unwrap_or(name);
    if parts.split('/').any(str::is_empty) {
        return Err("it has an empty part between '/' (\"//\", or '/' at the end)");
    }
    if parts.split('/').any(|p| p.starts_with('.')) {
        return Err("a part after '/' starts with '.'");
    }
    Ok(())
}

/// The file name (without suffix) of topic `name`, a valid topic name:
/// each `/` becomes [`SLASH_IN_FILE`]; other names are unchanged.
///
/// ```
/// use horus::shm::names::{topic_file_stem, topic_from_file_stem};
/// assert_eq!(topic_file_stem("/robot/cmd_vel"), "%robot%cmd_vel");
/// assert_eq!(topic_file_stem("wheel.encoders"), "wheel.encoders");
/// assert_eq!(topic_from_file_stem("%robot%cmd_vel"), "/robot/cmd_vel");
/// ```
pub fn topic_file_stem(name: &str) -> String {
    name.replace('/', SLASH_IN_FILE.encode_utf8(&mut [0; 4]))
}

/// The topic name a file name (without suffix) stands for: the inverse of
/// [`topic_file_stem`]. A stem no topic maps to gives a name that
/// [`check_topic_name`] refuses.
pub fn topic_from_file_stem(stem: &str) -> String {
    stem.replace(SLASH_IN_FILE, "/")
}

/// Checks a namespace name: 1 to 64 of `A-Z a-z 0-9 _ -`.
///
/// ```
/// use horus::shm::names::check_namespace;
/// assert!(check_namespace("shared").is_ok());
/// assert!(check_namespace("a/b").is_err());
/// ```
pub fn check_namespace(ns: &str) -> Result<(), &'static str> {
    if ns.is_empty() {
        return Err("it is empty");
    }
    if ns.len() > NAMESPACE_MAX {
        return Err("it is longer than 64 characters");
    }
    if !ns
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
    {
        return Err("it has characters other than A-Z a-z 0-9 _ -");
    }
    Ok(())
}

/// A file name as reports write it: as it is when it is UTF-8, else each
/// byte that is not part of valid UTF-8 written `\xNN` (the spelling of
/// bash's `$'...'`, so `rm $'bad\xffname'` removes the file). HORUS makes
/// only UTF-8 names, so a name that needs this is never one of HORUS's.
///
/// ```
/// use std::ffi::OsStr;
/// use std::os::unix::ffi::OsStrExt;
/// use horus::shm::names::escaped;
/// assert_eq!(escaped(OsStr::new("imu.topic")), "imu.topic");
/// assert_eq!(escaped(OsStr::from_bytes(b"bad\xffname\xc3")), "bad\\xffname\\xc3");
/// ```
pub fn escaped(name: &std::ffi::OsStr) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write;
    use std::os::unix::ffi::OsStrExt;
    if let Some(s) = name.to_str() {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_reversible_safe_and_distinct() {
        let names = [
            "imu",
            "wheel.encoders",
            "/robot/cmd_vel",
            "robot/cmd_vel",
            "/robot.cmd_vel",
            "robot.cmd_vel",
            "/a",
            "a",
            "a-b/_c",
        ];
        let mut stems = std::collections::HashSet::new();
        for n in names {
            assert!(check_topic_name(n).is_ok(), "{n:?}");
            let stem = topic_file_stem(n);
            assert!(!stem.contains('/') && !stem.contains("..") && !stem.starts_with('.'));
            assert!(stem.len() <= TOPIC_NAME_MAX, "one byte per byte");
            assert_eq!(topic_from_file_stem(&stem), n);
            assert!(stems.insert(stem), "{n:?} collides");
            if !n.contains('/') {
                assert_eq!(topic_file_stem(n), n, "old names keep their file");
            }
        }
    }

    #[test]
    fn rejects_what_could_escape_or_confuse() {
        for bad in [
            "", "../x", ".hidden", "a..b", "sp ace", "tab\t", "é", "a\0b", "/", "//a", "a//b",
            "a/", "/.x", "a/.b", "a/../b", "a%b", "%a",
        ] {
            assert!(check_topic_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_topic_name(&"x".repeat(201)).is_err());
        assert!(check_topic_name(&"x".repeat(200)).is_ok());
        for good in [
            "imu",
            "wheel.encoders",
            "camera.rgb",
            "robot_1.cmd-vel",
            "/robot/cmd_vel",
            "robot/cmd_vel",
            "/a",
            "a/b.c/d",
        ] {
            assert!(check_topic_name(good).is_ok(), "{good:?} rejected");
        }
        for bad in ["", "a.b", "a/b", "..", &"n".repeat(65)] {
            assert!(check_namespace(bad).is_err(), "{bad:?} accepted");
        }
    }
}
