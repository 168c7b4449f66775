//! [`PoolError`]: what goes wrong moving a large message through a pool,
//! whatever its kind.

use std::fmt;
use std::path::PathBuf;

use crate::error::TopicError;
use crate::pool::WriterError;
use crate::shm::pool_file::SegmentError;
use horus_nostd::pool::MAX_BLOCK_BYTES;

/// Anything that goes wrong sending or receiving a large message through
/// its topic's block pool: the sentence names the thing and the fix
/// (`Debug` is that sentence too). Bad input to a kind's constructor is that
/// kind's own error ([`ImageError`](crate::image::ImageError), ...), which
/// wraps this one for `loan`.
///
/// ```
/// use horus::pooled::PoolError;
/// let e = PoolError::TooLarge { topic: "camera.rgb".into(), bytes: 4096, block_size: 1024 };
/// assert!(e.to_string().contains("block_size(4096)"));
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The message is larger than the topic's pool blocks.
    #[error(
        "message of {bytes} bytes does not fit the {block_size}-byte blocks of this \
         publisher's pool for topic {topic}: set Topic::builder(..).block_size({bytes}) \
         or send messages no larger than the first one"
    )]
    TooLarge {
        /// The topic.
        topic: String,
        /// Bytes of the message.
        bytes: usize,
        /// Bytes per block of this publisher's pool.
        block_size: u32,
    },
    /// The message is larger than any pool block can be
    /// ([`MAX_BLOCK_BYTES`](horus_nostd::pool::MAX_BLOCK_BYTES)).
    #[error(
        "message of {bytes} bytes cannot be sent on topic {topic}: a pool block holds at \
         most {max} bytes; split it (tiles of an image, several tensors)"
    )]
    BeyondBlockLimit {
        /// The topic.
        topic: String,
        /// Bytes of the message.
        bytes: usize,
        /// The largest block.
        max: u32,
    },
    /// Every block of the publisher's pool is held by readers or being written.
    #[error(
        "message not sent on topic {topic}: all {segments} pool segments of {blocks} \
         blocks are held by readers or being written; readers should drop views sooner, \
         or raise Topic::builder(..).max_segments / blocks_per_segment"
    )]
    Exhausted {
        /// The topic.
        topic: String,
        /// Segments of the pool (its limit).
        segments: u32,
        /// Blocks per segment.
        blocks: u32,
    },
    /// This process's pool for new large messages (`Image::new`, ...) is at
    /// its limit, every block being filled or held by receivers.
    #[error(
        "no {bytes}-byte block for a new large message: this process's pool holds \
         {segments} segments ({held} bytes of its {limit}-byte limit), every block \
         being filled or held by receivers; send or drop messages and views sooner, \
         or raise horus::process_pool::set_limit"
    )]
    ProcessPoolFull {
        /// Bytes of the block asked for (the message's size class).
        bytes: u32,
        /// Segments of the pool.
        segments: usize,
        /// Bytes the segments hold.
        held: u64,
        /// The limit ([`crate::process_pool::limit`]).
        limit: u64,
    },
    /// The pool's geometry (block size, blocks) cannot be laid out.
    #[error(
        "the block pool of topic {topic} cannot be laid out ({reason}); \
         choose a smaller Topic::builder(..).block_size or blocks_per_segment"
    )]
    BadGeometry {
        /// The topic.
        topic: String,
        /// What is wrong.
        reason: String,
    },
    /// The core refused to publish the loaned block: it was reclaimed while
    /// it was being written (this process was judged dead, or the pool's
    /// memory was overwritten), or the message is longer than the block.
    ///
    /// ```
    /// use horus::pooled::PoolError;
    /// use horus_nostd::pool::PublishError;
    /// let e = PoolError::NotPublished { topic: "cam".into(), reason: PublishError::Reclaimed };
    /// let said = e.to_string();
    /// assert!(said.starts_with("message not sent on topic cam: the loaned block was reclaimed"));
    /// ```
    #[error("message not sent on topic {topic}: {reason}")]
    NotPublished {
        /// The topic.
        topic: String,
        /// The core's sentence ([`horus_nostd::pool::PublishError`]).
        reason: horus_nostd::pool::PublishError,
    },
    /// The message's block was ready but the topic took no descriptor: no
    /// publisher lane free, no shared memory for the one a first send
    /// claims, or evicted and unable to rejoin. (`Topic::send` counts it in
    /// `unsent_count`; `try_send` counts nothing.)
    #[error("message not sent on topic {topic}: {reason}")]
    Refused {
        /// The topic.
        topic: String,
        /// Why ([`horus_nostd::ring::Refusal`]'s sentence names the fix).
        reason: horus_nostd::ring::Refusal,
    },
    /// A pool segment file could not be made or opened.
    #[error("pool segment of topic {topic}: {error}")]
    Segment {
        /// The topic.
        topic: String,
        /// What went wrong, naming the file.
        error: Box<TopicError>,
    },
    /// A pool segment file is not a valid segment.
    #[error(
        "pool segment {} of topic {topic} is not usable ({reason}); \
         stop its writer, then `horus clean --shm` removes it",
        path.display()
    )]
    CorruptSegment {
        /// The topic.
        topic: String,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The name of a new pool segment of this publisher is taken by a file
    /// no handle of this process made (planted under its name).
    #[error(
        "message not sent on topic {topic}: the name of this publisher's new pool \
         segment, {}, is taken by a file no handle of this process made (segment ids \
         are never reused, so it was planted there); the next send makes the segment \
         under another id; remove that file with `horus clean --shm` (it removes it \
         once no process maps it) or by hand",
        path.display()
    )]
    SegmentNameTaken {
        /// The topic.
        topic: String,
        /// The file.
        path: PathBuf,
    },
    /// A message this handle still holds a view of, delivered again:
    /// [`Topic::rewind`](crate::topic::Topic::rewind) replays messages
    /// already received, and a handle holds a block once.
    #[error(
        "{kind} message on topic {topic} skipped: this handle still holds a view of it \
         (rewind() replays messages already received, and a handle holds a message's \
         block once); drop that view before rewinding to receive it again; counted as \
         rejected"
    )]
    HeldByThisHandle {
        /// The topic.
        topic: String,
        /// The kind of message the topic carries (`"image"`).
        kind: &'static str,
    },
    /// A descriptor in the ring does not describe a valid message or block.
    #[error(
        "descriptor on {kind} topic {topic} refused: {reason}; it was not written by a \
         HORUS {kind} publisher (corrupt or forged), and is counted as rejected"
    )]
    ForeignDescriptor {
        /// The topic.
        topic: String,
        /// The kind of message the topic carries (`"image"`).
        kind: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Debug for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A descriptor refused on `topic` of `kind`.
pub(crate) fn foreign(topic: &str, kind: &'static str, reason: String) -> PoolError {
    PoolError::ForeignDescriptor {
        topic: topic.to_owned(),
        kind,
        reason,
    }
}

/// Why a publisher of `topic` could not loan a block.
pub(crate) fn from_writer(topic: &str, e: WriterError) -> PoolError {
    let topic = topic.to_owned();
    match e {
        WriterError::BeyondBlockLimit { bytes } => PoolError::BeyondBlockLimit {
            topic,
            bytes,
            max: MAX_BLOCK_BYTES,
        },
        WriterError::TooLarge { bytes, block_size } => PoolError::TooLarge {
            topic,
            bytes,
            block_size,
        },
        WriterError::Exhausted { segments, blocks } => PoolError::Exhausted {
            topic,
            segments,
            blocks,
        },
        WriterError::Segment(e) => from_segment(&topic, e),
        WriterError::Layout(e) => PoolError::BadGeometry {
            topic,
            reason: e.to_string(),
        },
    }
}

/// A segment file of `topic` that could not be used.
pub(crate) fn from_segment(topic: &str, e: SegmentError) -> PoolError {
    let topic = topic.to_owned();
    match e {
        SegmentError::File(error) => PoolError::Segment {
            topic,
            error: Box::new(error),
        },
        SegmentError::Corrupt { path, reason } => PoolError::CorruptSegment {
            topic,
            path,
            reason: reason.to_string(),
        },
        SegmentError::NameTaken { path } => PoolError::SegmentNameTaken { topic, path },
        SegmentError::WrongId { path, found } => PoolError::CorruptSegment {
            topic,
            path,
            reason: format!("its header says segment {found}, not the one its name says"),
        },
    }
}
