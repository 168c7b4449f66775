//! The namespace's system topics: e-stop, blackbox, node registry and node
//! control.
//!
//! They are ordinary topics with reserved names (`_horus.*`) and standard
//! message types, so every tool that reads topics reads them too, and they
//! inherit the topics' guarantees: writers never block, records of a
//! process killed with SIGKILL stay in shared memory, and a reader that
//! joins late replays what each topic retains ([`Topic::rewind`]).
//!
//! Auto-clean (a scheduler's start, every `horus` command) never removes
//! them, even when no process holds them, so an e-stop raised by a program
//! that exited, or the blackbox of a crashed system, is still there on the
//! next look. Only an explicit `horus clean --shm` removes them.
//!
//! [`Topic::rewind`]: crate::Topic::rewind

use crate::error::TopicError;
use crate::message_type::MessageType;

pub mod blackbox;
pub mod control;
pub mod estop;
pub mod registry;

/// Prefix of the reserved topic names.
pub use crate::shm::names::SYSTEM_PREFIX;

/// Handles a system topic has room for (a topic's default is 16). Every
/// scheduler holds an e-stop, a registry, a control and a blackbox handle for its whole
/// life, so this bounds the schedulers of one namespace; a namespace of many
/// processes must never find its e-stop full.
pub const SYSTEM_PARTICIPANTS: u32 = 64;

/// Checks that a handle of type `ty` may create or join topic `name`: a
/// name with the [`SYSTEM_PREFIX`] only with the message type of its system
/// topic (so that a program can read the e-stop, but no topic of another
/// type can take its name from every scheduler of the namespace).
pub(crate) fn check_reserved(name: &str, ty: &MessageType) -> Result<(), TopicError> {
    if !name.starts_with(SYSTEM_PREFIX) {
        return Ok(());
    }
    let system = match name {
        estop::ESTOP_TOPIC => Some(("e-stop", MessageType::of::<crate::msgs::EmergencyStop>())),
        registry::REGISTRY_TOPIC => {
            Some(("node registry", MessageType::of::<registry::NodeRecord>()))
        }
        control::CONTROL_TOPIC => {
            Some(("node control", MessageType::of::<control::ControlRecord>()))
        }
        blackbox::BLACKBOX_TOPIC | blackbox::RARE_TOPIC => {
            Some(("blackbox", MessageType::of::<blackbox::BlackboxRecord>()))
        }
        _ => None,
    };
    match system {
        Some((_, system_ty)) if system_ty.id() == ty.id() => Ok(()),
        system => Err(TopicError::ReservedName {
            name: name.to_owned(),
            reserved_for: system.as_ref().map_or("system topics", |(what, _)| what),
            system_type: system.map(|(_, t)| t.name()),
            found: ty.name().to_owned(),
        }),
    }
}

/// Opens the system topic `name` in the current namespace (or `namespace`)
/// with `capacity` slots per lane and room for [`SYSTEM_PARTICIPANTS`]
/// handles, every one of which may publish.
fn open<T: crate::payload::Payload>(
    name: &str,
    capacity: u32,
    namespace: Option<&str>,
) -> crate::Result<crate::Topic<T>> {
    let b = crate::Topic::<T>::builder(name)
        .capacity(capacity)
        .max_participants(SYSTEM_PARTICIPANTS)
        .max_publishers(SYSTEM_PARTICIPANTS);
    match namespace {
        Some(ns) => b.namespace(ns).build(),
        None => b.build(),
    }
}

/// Whether the system topic `topic` exists in the current namespace (or
/// `namespace`), found without creating the namespace or the topic: the
/// readers that only look (`horus bb`, `horus estop --status`, `horus node
/// list`) use it so a mistyped namespace leaves nothing behind.
pub(crate) fn exists(namespace: Option<&str>, topic: &str) -> crate::Result<bool> {
    let name = match namespace {
        Some(ns) => ns.to_owned(),
        None => crate::shm::Namespace::current_name()?,
    };
    match crate::shm::Namespace::open_existing(&name)? {
        Some(ns) => Ok(ns.topic_names()?.iter().any(|t| t == topic)),
        None => Ok(false),
    }
}

/// Copies `s` into a NUL-padded fixed field, cut at a character boundary.
pub(crate) fn fixed_str<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let mut end = s.len().min(N);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out[..end].copy_from_slice(&s.as_bytes()[..end]);
    out
}

/// The text of a NUL-padded fixed field.
pub(crate) fn str_of(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_strings_cut_on_char_boundaries() {
        let f: [u8; 4] = fixed_str("aé€");
        assert_eq!(str_of(&f), "aé");
        let g: [u8; 8] = fixed_str("node");
        assert_eq!(str_of(&g), "node");
    }
}
