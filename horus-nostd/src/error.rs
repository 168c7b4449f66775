//! Errors of the core, one small `Copy` enum per operation.
//!
//! Each variant says what was wrong and, where the caller can act, what to do.
//! `horus-std` wraps them with the path of the region they concern.
//!
//! `Debug` prints that same sentence: a host program (or test) whose `main`
//! returns one of these errors shows `Error: {err:?}`, which must read as the
//! sentence that names the fix, not as a dump of fields. `defmt` logs keep
//! the structure.

use core::fmt;

use crate::message::TypeName;

/// Implements `Debug` for each error type as its `Display` sentence (see the
/// module docs).
macro_rules! debug_is_display {
    ($($t:ty),+ $(,)?) => {$(
        impl core::fmt::Debug for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(self, f)
            }
        }
    )+};
}
pub(crate) use debug_is_display;

debug_is_display!(LayoutError, InitError, AttachError, JoinError);

/// A topic's geometry (capacity, participants, message size) cannot be laid out.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LayoutError {
    /// Capacity must be a power of two between 2 and 2^20 slots.
    #[error("topic capacity {capacity} is invalid: use a power of two from 2 to 1048576")]
    BadCapacity {
        /// The capacity asked for.
        capacity: u32,
    },
    /// Participants per topic must be between 1 and 64.
    #[error("{participants} participants per topic is invalid: use 1 to 64")]
    BadParticipants {
        /// The number asked for.
        participants: u32,
    },
    /// Publisher lanes must be between 1 and the participants.
    #[error(
        "{max_publishers} publisher lanes for a topic of {participants} participants is \
         invalid: use 1 to {participants} (max_publishers at most max_participants)"
    )]
    BadPublishers {
        /// The lanes asked for.
        max_publishers: u32,
        /// The participant entries.
        participants: u32,
    },
    /// Messages must be at least one byte and at most 16 MiB, aligned to at most 8.
    #[error(
        "a message of {size} bytes aligned to {align} cannot be carried: \
         size must be 1 byte to 16 MiB and alignment at most 8"
    )]
    BadMessage {
        /// Size of the message type in bytes.
        size: u32,
        /// Alignment of the message type in bytes.
        align: u32,
    },
}

/// Initialising a region failed; nothing was written.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum InitError {
    /// The geometry is invalid.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The memory given is smaller than the layout needs.
    #[error(
        "region of {given} bytes is too small for this topic: it needs {needed} bytes \
         (size it with TopicLayout::region_bytes)"
    )]
    RegionTooSmall {
        /// Bytes the layout needs.
        needed: usize,
        /// Bytes given.
        given: usize,
    },
    /// The encoded schema of a serialized type is empty, too large, or
    /// does not match the layout's schema entries.
    #[error(
        "the encoded schema of {bytes} bytes cannot be stored: it must be 1 to {max} \
         bytes and the layout must have serialized_schema_entries(bytes) schema entries \
         (simplify the type, or fix the layout)"
    )]
    BadSchema {
        /// Bytes of the schema.
        bytes: usize,
        /// Most bytes a region stores.
        max: usize,
    },
}

/// Attaching to an existing region failed: the memory is not a valid topic of
/// the expected type. Attaching never trusts the memory; every field is checked.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AttachError {
    /// The region is shorter than a topic header, or than the layout it declares.
    #[error("region is truncated: {found} bytes where at least {needed} are needed")]
    Truncated {
        /// Bytes the region must have.
        needed: usize,
        /// Bytes it has.
        found: usize,
    },
    /// The region does not start with the HORUS topic magic: it is not a topic,
    /// or its creator has not finished initialising it.
    #[error(
        "region is not a HORUS topic (magic {found:#018x}); it was written by something \
         else or is corrupt"
    )]
    BadMagic {
        /// The first eight bytes, as a little-endian word.
        found: u64,
    },
    /// The region was made by a HORUS with another layout version.
    #[error(
        "region has layout version {found} but this build reads version {expected}: \
         stop the programs built with the other HORUS version"
    )]
    VersionMismatch {
        /// Version in the region.
        found: u64,
        /// Version this build reads.
        expected: u64,
    },
    /// The region carries another message type.
    #[error("{}", TypeMismatchText { expected: *.expected, found: *.found, same_name: *.same_name })]
    TypeMismatch {
        /// The type this side asked for.
        expected: TypeName,
        /// The type the region was created for.
        found: TypeName,
        /// True when the names agree but the layouts (fields, size) differ.
        same_name: bool,
    },
    /// A header field is out of range or inconsistent with the others.
    #[error("region header field `{field}` is out of range; the region is corrupt")]
    BadGeometry {
        /// Which field.
        field: &'static str,
    },
}

/// The sentence of [`AttachError::TypeMismatch`]: another type, or another
/// definition of a type of the same name.
struct TypeMismatchText {
    expected: TypeName,
    found: TypeName,
    same_name: bool,
}

impl fmt::Display for TypeMismatchText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (expected, found) = (self.expected, self.found);
        if self.same_name {
            write!(
                f,
                "type mismatch: both sides call the type `{expected}` but its fields or size \
                 differ (`{found}` in the region); rebuild both with the same definition"
            )
        } else {
            write!(
                f,
                "type mismatch: this topic carries `{found}`, not `{expected}`; \
                 both sides must use the same message type"
            )
        }
    }
}

/// Joining a topic as a participant failed.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JoinError {
    /// Every participant slot is held by a live participant.
    #[error(
        "topic is full: all {max} participant slots are held by live handles; \
         drop unused handles or create the topic with more participants"
    )]
    Full {
        /// The topic's participant limit.
        max: u32,
    },
    /// A typed handle was asked for on a region of another type.
    #[error("type mismatch: this topic carries `{found}`, not `{expected}`")]
    WrongType {
        /// The handle's type.
        expected: TypeName,
        /// The region's type.
        found: TypeName,
    },
}

#[cfg(test)]
mod tests {
    use core::fmt::{self, Write};

    use super::*;
    use crate::msgs::CmdVel;
    use crate::ring::PayloadSizeError;
    use crate::sched::{AddError, StartError};
    use crate::time::RateError;

    /// `{:?}` and `{}` of `e`, as a host `main` returning it would print them.
    fn debug_and_display(e: &(impl fmt::Debug + fmt::Display)) -> [heapless::String<512>; 2] {
        let mut debug = heapless::String::new();
        let mut display = heapless::String::new();
        write!(debug, "{e:?}").unwrap();
        write!(display, "{e}").unwrap();
        [debug, display]
    }

    #[test]
    fn debug_is_the_sentence() {
        let cmd = crate::message::TypeInfo::of::<CmdVel>().name;
        let [debug, display] = debug_and_display(&AttachError::TypeMismatch {
            expected: cmd,
            found: cmd,
            same_name: true,
        });
        assert_eq!(debug, display);
        assert!(
            debug.contains("rebuild both") && !debug.contains('{'),
            "{debug}"
        );
        let [debug, display] = debug_and_display(&JoinError::Full { max: 4 });
        assert_eq!(debug, display);
        assert!(debug.contains("drop unused handles"), "{debug}");
        let layout = LayoutError::BadCapacity { capacity: 3 };
        assert_eq!(debug_and_display(&layout)[0], debug_and_display(&layout)[1]);
        let init = InitError::Layout(layout);
        assert_eq!(debug_and_display(&init)[0], debug_and_display(&layout)[1]);
        let rate = AddError::Rate(RateError::Zero);
        let [debug, display] = debug_and_display(&rate);
        assert_eq!(debug, display);
        assert!(debug.starts_with("invalid node rate: a rate must be from 0.000001 Hz"));
        let [debug, display] = debug_and_display(&StartError::AlreadyStarted);
        assert_eq!(debug, display);
        assert!(debug.contains("call start() once"), "{debug}");
        let payload = PayloadSizeError {
            expected: 16,
            given: 3,
        };
        let [debug, display] = debug_and_display(&payload);
        assert_eq!(debug, display);
        assert!(debug.contains("pass exactly 16 bytes"), "{debug}");
    }
}
