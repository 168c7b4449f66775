//! Which topic and namespace names are allowed.
//!
//! Names become file names in `/dev/shm`, so they are checked before any
//! system call: no separators, no `..`, no leading dot, bounded length, a
//! small character set. The checks return the reason, which
//! [`TopicError`](crate::error::TopicError) words for the user.

/// Longest topic name.
pub const TOPIC_NAME_MAX: usize = 200;
/// Longest namespace name.
pub const NAMESPACE_MAX: usize = 64;

/// Checks a topic name: 1 to 200 of `A-Z a-z 0-9 . _ -`, not starting with
/// `.` and without `..`.
///
/// ```
/// use horus::shm::names::check_topic_name;
/// assert!(check_topic_name("wheel.encoders").is_ok());
/// assert!(check_topic_name("../x").is_err());
/// ```
pub fn check_topic_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > TOPIC_NAME_MAX {
        return Err("it is longer than 200 characters");
    }
    if name.contains('/') {
        return Err("'/' is not allowed (use '.' to separate parts)");
    }
    if name.starts_with('.') {
        return Err("it starts with '.'");
    }
    if name.contains("..") {
        return Err("it contains \"..\"");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("it has characters other than A-Z a-z 0-9 . _ -");
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_could_escape_or_confuse() {
        for bad in [
            "", "../x", "a/b", "/abs", ".hidden", "a..b", "sp ace", "tab\t", "é", "a\0b",
        ] {
            assert!(check_topic_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_topic_name(&"x".repeat(201)).is_err());
        assert!(check_topic_name(&"x".repeat(200)).is_ok());
        for good in ["imu", "wheel.encoders", "camera.rgb", "robot_1.cmd-vel"] {
            assert!(check_topic_name(good).is_ok(), "{good:?} rejected");
        }
        for bad in ["", "a.b", "a/b", "..", &"n".repeat(65)] {
            assert!(check_namespace(bad).is_err(), "{bad:?} accepted");
        }
    }
}
