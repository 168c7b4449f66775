//! Images over block pools: the pixels in a shared block, a 48-byte
//! [`ImageFrame`] in the topic's ring.
//!
//! `Topic<Image>` (alias [`ImageTopic`]) is a topic of images: through the
//! [`Payload`] trait it is an ordinary topic of [`ImageFrame`] (the same
//! region, join path, liveness and counters as every [`Topic`]), plus, per
//! handle, this process's block pool for the topic and the segments it
//! maps (see [`crate::pool`]). Sending puts the pixels in a pool block and
//! the frame (publisher token, segment, block, generation, length, geometry)
//! in the ring; receiving holds the block and gives a read-only
//! [`ImageView`] of the pixels in place, released when dropped.
//!
//! ```no_run
//! use horus::prelude::*;
//! let camera: Topic<Image> = Topic::new("camera.rgb")?;
//! let mut img = Image::new(640, 480, "rgb8");
//! img.data_mut().fill(128);
//! camera.send(img);
//! if let Some(view) = camera.recv() {
//!     assert_eq!(view.data().len(), 640 * 480 * 3);
//! }
//! # Ok::<(), horus::Error>(())
//! ```
//!
//! - The seed's `Image::new(640, 480, "rgb8")` allocates the pixels on the
//!   heap; `send` copies them into a block once. For zero copy,
//!   [`Topic::<Image>::loan`](Topic::loan) gives an [`Image`] whose
//!   [`Image::data_mut`] is the pool block itself; sending it publishes the
//!   block.
//! - The publisher never blocks: when every block is held or being written
//!   (readers holding views, up to `max_segments` segments), `send` counts
//!   the image in [`Topic::unsent_count`]; [`Topic::try_send`] returns
//!   [`ImageError::PoolExhausted`] instead.
//! - A receiver counts a frame whose block was recycled before it got to it
//!   (or whose publisher's pool is gone) as dropped, so
//!   `received + dropped == published` stays exact for each receiver.
//! - A frame that is not a valid image (forged, corrupt) is refused with a
//!   typed [`ImageError`] by [`Topic::try_recv`] and counted in
//!   [`Topic::rejected_count`]; [`Topic::recv`] skips it.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::str::FromStr;

use horus_nostd::pool::{BlockDescriptor, HoldError};

use crate::error::TopicError;
use crate::payload::{Payload, PayloadContext, PayloadCounts};
use crate::pool::{HeldBlock, LoanedBlock, PoolReader, PoolWriter, ReaderError, WriterError};
use crate::shm::pool_file::SegmentError;
use crate::topic::{Topic, TopicBuilder};

horus_nostd::message! {
    /// What an image topic's ring carries: which block of which publisher's
    /// pool holds the pixels, and their geometry.
    ImageFrame {
        /// The publisher's liveness token (names its pool's segment files).
        owner: u64,
        /// The block's generation when published.
        generation: u64,
        /// Segment id in the publisher's pool.
        segment: u32,
        /// Block index in the segment.
        block: u32,
        /// Bytes of pixels.
        len: u32,
        /// Pixels per row.
        width: u32,
        /// Rows.
        height: u32,
        /// Bytes per row.
        step: u32,
        /// [`Encoding`] code.
        encoding: u32,
        /// Zero.
        reserved: u32,
    }
}

/// Pixel encodings (the ROS names).
///
/// ```
/// use horus::image::Encoding;
/// assert_eq!("rgb8".parse::<Encoding>().unwrap(), Encoding::Rgb8);
/// assert_eq!(Encoding::Mono16.bytes_per_pixel(), 2);
/// assert!("rgb9".parse::<Encoding>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// 8-bit grey.
    Mono8,
    /// 16-bit grey.
    Mono16,
    /// 8-bit red, green, blue.
    Rgb8,
    /// 8-bit blue, green, red.
    Bgr8,
    /// 8-bit red, green, blue, alpha.
    Rgba8,
    /// 8-bit blue, green, red, alpha.
    Bgra8,
    /// YUV 4:2:2 packed (two pixels in four bytes; the width must be even).
    Yuv422,
    /// 16-bit depth in millimetres.
    Depth16,
    /// 32-bit float, one channel (depth in metres, ...).
    F32C1,
}

const ENCODINGS: [(Encoding, &str, u32); 9] = [
    (Encoding::Mono8, "mono8", 1),
    (Encoding::Mono16, "mono16", 2),
    (Encoding::Rgb8, "rgb8", 3),
    (Encoding::Bgr8, "bgr8", 3),
    (Encoding::Rgba8, "rgba8", 4),
    (Encoding::Bgra8, "bgra8", 4),
    (Encoding::Yuv422, "yuv422", 2),
    (Encoding::Depth16, "depth16", 2),
    (Encoding::F32C1, "32FC1", 4),
];

impl Encoding {
    fn entry(self) -> (Encoding, &'static str, u32) {
        ENCODINGS
            .into_iter()
            .find(|e| e.0 == self)
            .unwrap_or(ENCODINGS[0])
    }

    /// Its name, as `Image::new` takes it.
    pub fn as_str(self) -> &'static str {
        self.entry().1
    }

    /// Bytes per pixel (`yuv422`: 2, averaged over a pixel pair).
    pub fn bytes_per_pixel(self) -> u32 {
        self.entry().2
    }

    /// The code carried in [`ImageFrame::encoding`] (1-based).
    pub fn code(self) -> u32 {
        ENCODINGS.iter().position(|e| e.0 == self).unwrap_or(0) as u32 + 1
    }

    /// The encoding of a code, if valid.
    pub fn from_code(code: u32) -> Option<Self> {
        let i = usize::try_from(code.checked_sub(1)?).ok()?;
        ENCODINGS.get(i).map(|e| e.0)
    }

    fn names() -> String {
        ENCODINGS.map(|e| e.1).join(", ")
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Encoding {
    type Err = ImageError;
    fn from_str(s: &str) -> std::result::Result<Self, ImageError> {
        ENCODINGS
            .into_iter()
            .find(|e| e.1 == s)
            .map(|e| e.0)
            .ok_or_else(|| ImageError::UnknownEncoding {
                given: s.to_owned(),
            })
    }
}

/// Anything that goes wrong making, sending or receiving an image: the
/// sentence names the thing and the fix (`Debug` is that sentence too).
#[non_exhaustive]
pub enum ImageError {
    /// The encoding name is not one of [`Encoding`]'s.
    UnknownEncoding {
        /// The name given.
        given: String,
    },
    /// Width or height is zero.
    ZeroSize {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
    },
    /// `yuv422` packs pixel pairs: the width must be even.
    OddWidth {
        /// Width given.
        width: u32,
    },
    /// The image is larger than 4 GiB (or than this machine addresses).
    TooLarge {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
        /// The encoding.
        encoding: Encoding,
    },
    /// The pixel buffer does not have `width * height * bytes_per_pixel` bytes.
    WrongDataSize {
        /// Bytes the geometry needs.
        expected: usize,
        /// Bytes given.
        found: usize,
        /// The encoding.
        encoding: Encoding,
    },
    /// The image is larger than the topic's pool blocks.
    FrameTooLarge {
        /// The topic.
        topic: String,
        /// Bytes of the image.
        bytes: usize,
        /// Bytes per block of this publisher's pool.
        block_size: u32,
    },
    /// Every block of the publisher's pool is held by readers or being written.
    PoolExhausted {
        /// The topic.
        topic: String,
        /// Segments of the pool (its limit).
        segments: u32,
        /// Blocks per segment.
        blocks: u32,
    },
    /// A pool segment file could not be made or opened.
    Segment {
        /// The topic.
        topic: String,
        /// What went wrong, naming the file.
        error: Box<TopicError>,
    },
    /// A pool segment file is not a valid segment.
    CorruptSegment {
        /// The topic.
        topic: String,
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A frame in the ring does not describe a valid image or block.
    ForeignFrame {
        /// The topic.
        topic: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownEncoding { given } => write!(
                f,
                "unknown image encoding {given:?}: use one of {}",
                Encoding::names()
            ),
            Self::ZeroSize { width, height } => write!(
                f,
                "image of {width}x{height} pixels is empty: width and height must be at least 1"
            ),
            Self::OddWidth { width } => write!(
                f,
                "yuv422 image width {width} is odd: yuv422 packs pixel pairs, use an even width"
            ),
            Self::TooLarge {
                width,
                height,
                encoding,
            } => write!(
                f,
                "{encoding} image of {width}x{height} pixels is larger than 4 GiB: \
                 split it or lower the resolution"
            ),
            Self::WrongDataSize {
                expected,
                found,
                encoding,
            } => write!(
                f,
                "{encoding} pixel buffer has {found} bytes but the geometry needs {expected} \
                 (width x height x {} bytes per pixel)",
                encoding.bytes_per_pixel()
            ),
            Self::FrameTooLarge {
                topic,
                bytes,
                block_size,
            } => write!(
                f,
                "image of {bytes} bytes does not fit the {block_size}-byte blocks of this \
                 publisher's pool for topic {topic}: set ImageTopic::builder(..).block_size({bytes}) \
                 or send images no larger than the first one"
            ),
            Self::PoolExhausted {
                topic,
                segments,
                blocks,
            } => write!(
                f,
                "image not sent on topic {topic}: all {segments} pool segments of {blocks} blocks \
                 are held by readers or being written; readers should drop views sooner, or \
                 raise ImageTopic::builder(..).max_segments / blocks_per_segment"
            ),
            Self::Segment { topic, error } => {
                write!(f, "pool segment of topic {topic}: {error}")
            }
            Self::CorruptSegment {
                topic,
                path,
                reason,
            } => write!(
                f,
                "pool segment {} of topic {topic} is not usable ({reason}); \
                 stop its writer, then `horus clean --shm` removes it",
                path.display()
            ),
            Self::ForeignFrame { topic, reason } => write!(
                f,
                "frame on image topic {topic} refused: {reason}; it was not written by a HORUS \
                 image publisher (corrupt or forged), and is counted as rejected"
            ),
        }
    }
}

impl fmt::Debug for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ImageError {}

/// The bytes of a `width` x `height` image of `encoding`, checked.
fn frame_bytes(
    width: u32,
    height: u32,
    encoding: Encoding,
) -> std::result::Result<usize, ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::ZeroSize { width, height });
    }
    if encoding == Encoding::Yuv422 && width % 2 != 0 {
        return Err(ImageError::OddWidth { width });
    }
    let bytes = u64::from(width) * u64::from(height) * u64::from(encoding.bytes_per_pixel());
    if bytes > u64::from(u32::MAX) || usize::try_from(bytes).is_err() {
        return Err(ImageError::TooLarge {
            width,
            height,
            encoding,
        });
    }
    Ok(bytes as usize)
}

enum Pixels {
    Heap(Vec<u8>),
    Loaned(LoanedBlock),
}

/// An image to send: geometry, encoding and pixels (rows of `step` bytes,
/// no padding).
pub struct Image {
    width: u32,
    height: u32,
    encoding: Encoding,
    len: usize,
    pixels: Pixels,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("encoding", &self.encoding)
            .field("in_pool", &matches!(self.pixels, Pixels::Loaned(_)))
            .finish()
    }
}

impl Image {
    /// A black image (the seed's form).
    ///
    /// # Panics
    /// If `encoding` is not a known encoding name, or the size is zero or
    /// larger than 4 GiB, with the sentence of [`Image::try_new`]'s error.
    /// Use `try_new` for sizes and encodings read at run time.
    ///
    /// ```
    /// let img = horus::image::Image::new(640, 480, "rgb8");
    /// assert_eq!(img.data().len(), 640 * 480 * 3);
    /// ```
    #[track_caller]
    pub fn new(width: u32, height: u32, encoding: &str) -> Self {
        match Self::try_new(width, height, encoding) {
            Ok(img) => img,
            Err(e) => panic!("Image::new({width}, {height}, {encoding:?}): {e}"),
        }
    }

    /// A black image, or a typed error naming what is wrong.
    ///
    /// ```
    /// use horus::image::{Image, ImageError};
    /// assert!(matches!(Image::try_new(0, 480, "rgb8"), Err(ImageError::ZeroSize { .. })));
    /// assert!(matches!(Image::try_new(640, 480, "rgb9"), Err(ImageError::UnknownEncoding { .. })));
    /// ```
    pub fn try_new(
        width: u32,
        height: u32,
        encoding: &str,
    ) -> std::result::Result<Self, ImageError> {
        let encoding: Encoding = encoding.parse()?;
        let len = frame_bytes(width, height, encoding)?;
        Ok(Self {
            width,
            height,
            encoding,
            len,
            pixels: Pixels::Heap(vec![0; len]),
        })
    }

    /// An image of the given pixels; their length must fit the geometry.
    ///
    /// ```
    /// use horus::image::{Encoding, Image, ImageError};
    /// assert!(Image::from_data(2, 2, Encoding::Mono8, vec![0; 4]).is_ok());
    /// assert!(matches!(
    ///     Image::from_data(2, 2, Encoding::Rgb8, vec![0; 4]),
    ///     Err(ImageError::WrongDataSize { expected: 12, found: 4, .. })
    /// ));
    /// ```
    pub fn from_data(
        width: u32,
        height: u32,
        encoding: Encoding,
        data: Vec<u8>,
    ) -> std::result::Result<Self, ImageError> {
        let len = frame_bytes(width, height, encoding)?;
        if data.len() != len {
            return Err(ImageError::WrongDataSize {
                expected: len,
                found: data.len(),
                encoding,
            });
        }
        Ok(Self {
            width,
            height,
            encoding,
            len,
            pixels: Pixels::Heap(data),
        })
    }

    /// Pixels per row.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Rows.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel encoding.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Bytes per row.
    pub fn step(&self) -> u32 {
        self.width * self.encoding.bytes_per_pixel()
    }

    /// The pixels.
    pub fn data(&self) -> &[u8] {
        match &self.pixels {
            Pixels::Heap(v) => v,
            Pixels::Loaned(b) => &b.bytes()[..self.len],
        }
    }

    /// The pixels, writable: for a loaned image ([`ImageTopic::loan`]), the
    /// pool block itself.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let len = self.len;
        match &mut self.pixels {
            Pixels::Heap(v) => v,
            Pixels::Loaned(b) => &mut b.bytes_mut()[..len],
        }
    }

    /// Is the image in a pool block (zero copy on send)?
    pub fn is_loaned(&self) -> bool {
        matches!(self.pixels, Pixels::Loaned(_))
    }
}

/// A received image: a read-only view of the pixels in the publisher's pool
/// block, which no publisher rewrites until the view is dropped.
pub struct ImageView {
    frame: ImageFrame,
    encoding: Encoding,
    held: HeldBlock,
    _live: std::sync::Arc<()>,
}

impl fmt::Debug for ImageView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageView")
            .field("width", &self.frame.width)
            .field("height", &self.frame.height)
            .field("encoding", &self.encoding)
            .field("block", &self.held)
            .finish()
    }
}

impl ImageView {
    /// Pixels per row.
    pub fn width(&self) -> u32 {
        self.frame.width
    }
    /// Rows.
    pub fn height(&self) -> u32 {
        self.frame.height
    }
    /// The pixel encoding.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }
    /// Bytes per row.
    pub fn step(&self) -> u32 {
        self.frame.step
    }
    /// The pixels, in the shared block (no copy).
    pub fn data(&self) -> &[u8] {
        self.held.bytes()
    }
    /// The frame the ring carried.
    pub fn frame(&self) -> ImageFrame {
        self.frame
    }
}

/// A topic of [`Image`]s: `Topic<Image>` (see the [module docs](self)).
pub type ImageTopic = Topic<Image>;

/// An image topic handle's own state: its pool as a publisher and the
/// segments it maps as a receiver, and its counts.
#[doc(hidden)]
pub struct ImageState {
    writer: RefCell<PoolWriter>,
    reader: RefCell<PoolReader>,
    /// One strong count per live view (plus ours).
    views: std::sync::Arc<()>,
    stale: Cell<u64>,
    rejected: Cell<u64>,
    unsent: Cell<u64>,
    warned: Cell<bool>,
}

impl fmt::Debug for ImageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageState").finish_non_exhaustive()
    }
}

impl Payload for Image {
    type Wire = ImageFrame;
    type Received = ImageView;
    type State = ImageState;

    fn new_state(ctx: &PayloadContext<'_>) -> ImageState {
        ImageState {
            writer: RefCell::new(PoolWriter::new(
                ctx.namespace.clone(),
                ctx.name,
                ctx.pool.block_size,
                ctx.pool.blocks_per_segment,
                ctx.pool.max_segments,
            )),
            reader: RefCell::new(PoolReader::default()),
            views: std::sync::Arc::new(()),
            stale: Cell::new(0),
            rejected: Cell::new(0),
            unsent: Cell::new(0),
            warned: Cell::new(false),
        }
    }

    fn send(topic: &Topic<Image>, img: Image) {
        let st = topic.payload_state();
        if let Err(e) = topic.try_send(img) {
            st.unsent.set(st.unsent.get() + 1);
            if !st.warned.replace(true) {
                log::warn!("{e} (later unsent images are only counted)");
            }
        }
    }

    fn recv(topic: &Topic<Image>) -> Option<ImageView> {
        loop {
            match topic.try_recv()? {
                Ok(v) => return Some(v),
                Err(e) => log::debug!("{e}"),
            }
        }
    }

    fn counts(topic: &Topic<Image>) -> PayloadCounts {
        let st = topic.payload_state();
        PayloadCounts {
            stale: st.stale.get(),
            rejected: st.rejected.get(),
            unsent: st.unsent.get(),
        }
    }

    fn may_leave(topic: &Topic<Image>) -> bool {
        // Views still hold pool blocks under our participant index: keep
        // the entry (and so the index) ours until this process exits, so
        // nobody else can join at it while our bits are set.
        std::sync::Arc::strong_count(&topic.payload_state().views) == 1
    }
}

impl TopicBuilder<Image> {
    /// Bytes per pool block (rounded up to 64); default: the first image's size.
    pub fn block_size(mut self, bytes: u32) -> Self {
        self.pool.block_size = bytes.div_ceil(64).saturating_mul(64);
        self
    }
    /// Blocks per pool segment (default 8).
    pub fn blocks_per_segment(mut self, n: u32) -> Self {
        self.pool.blocks_per_segment = n;
        self
    }
    /// Segments this publisher's pool may grow to (default 4): at most
    /// `max_segments * blocks_per_segment` images in flight or held.
    pub fn max_segments(mut self, n: u32) -> Self {
        self.pool.max_segments = n;
        self
    }
}

impl Topic<Image> {
    fn writer_error(&self, e: WriterError) -> ImageError {
        let topic = self.name().to_owned();
        match e {
            WriterError::TooLarge { bytes, block_size } => ImageError::FrameTooLarge {
                topic,
                bytes,
                block_size,
            },
            WriterError::Exhausted { segments, blocks } => ImageError::PoolExhausted {
                topic,
                segments,
                blocks,
            },
            WriterError::Segment(e) => self.segment_error(e),
            WriterError::Layout(e) => ImageError::FrameTooLarge {
                topic: format!("{topic} ({e})"),
                bytes: 0,
                block_size: 0,
            },
        }
    }

    fn segment_error(&self, e: SegmentError) -> ImageError {
        let topic = self.name().to_owned();
        match e {
            SegmentError::File(error) => ImageError::Segment {
                topic,
                error: Box::new(error),
            },
            SegmentError::Corrupt { path, reason } => ImageError::CorruptSegment {
                topic,
                path,
                reason: reason.to_string(),
            },
            SegmentError::WrongId { path, found } => ImageError::CorruptSegment {
                topic,
                path,
                reason: format!("its header says segment {found}, not the one its name says"),
            },
        }
    }

    fn loan_block(&self, bytes: usize) -> std::result::Result<LoanedBlock, ImageError> {
        let mut writer = self.payload_state().writer.borrow_mut();
        writer
            .loan(bytes, || {
                self.reclaim_dead();
            })
            .map_err(|e| self.writer_error(e))
    }

    /// A black image whose pixels are a block of this publisher's pool:
    /// fill it with [`Image::data_mut`] and send it here without a copy.
    pub fn loan(
        &self,
        width: u32,
        height: u32,
        encoding: Encoding,
    ) -> std::result::Result<Image, ImageError> {
        let len = frame_bytes(width, height, encoding)?;
        let block = self.loan_block(len)?;
        Ok(Image {
            width,
            height,
            encoding,
            len,
            pixels: Pixels::Loaned(block),
        })
    }

    /// Publishes `img`, or says why not. Never blocks. ([`Topic::send`]
    /// counts a failure in [`unsent_count`](Topic::unsent_count) instead.)
    pub fn try_send(&self, img: Image) -> std::result::Result<(), ImageError> {
        let Image {
            width,
            height,
            encoding,
            len,
            pixels,
        } = img;
        let block = match pixels {
            Pixels::Loaned(b) if b.is_from(&self.payload_state().writer.borrow()) => b,
            Pixels::Loaned(other) => {
                let mut b = self.loan_block(len)?;
                b.bytes_mut()[..len].copy_from_slice(&other.bytes()[..len]);
                b
            }
            Pixels::Heap(v) => {
                let mut b = self.loan_block(len)?;
                b.bytes_mut()[..len].copy_from_slice(&v[..len]);
                b
            }
        };
        let (d, owner) = block.publish(len).map_err(|e| ImageError::Segment {
            topic: self.name().to_owned(),
            error: Box::new(TopicError::Io {
                path: self.path().to_owned(),
                op: "publish pool block",
                source: std::io::Error::other(e.to_string()),
            }),
        })?;
        self.send_wire(ImageFrame {
            owner: owner.get(),
            generation: d.generation,
            segment: d.segment,
            block: d.block,
            len: d.len,
            width,
            height,
            step: width * encoding.bytes_per_pixel(),
            encoding: encoding.code(),
            reserved: 0,
        });
        Ok(())
    }

    /// The next image, or the typed error of a refused frame; `None` if no
    /// frame is waiting. Frames whose block was recycled are counted as
    /// dropped and skipped. ([`Topic::recv`] skips refused frames.)
    pub fn try_recv(&self) -> Option<std::result::Result<ImageView, ImageError>> {
        let st = self.payload_state();
        loop {
            let frame = self.recv_wire()?;
            match self.hold(frame) {
                Ok(v) => return Some(Ok(v)),
                Err(None) => st.stale.set(st.stale.get() + 1),
                Err(Some(e)) => {
                    st.rejected.set(st.rejected.get() + 1);
                    return Some(Err(e));
                }
            }
        }
    }

    /// `Err(None)`: stale (dropped); `Err(Some)`: refused.
    fn hold(&self, f: ImageFrame) -> std::result::Result<ImageView, Option<ImageError>> {
        let foreign = |reason: String| {
            Some(ImageError::ForeignFrame {
                topic: self.name().to_owned(),
                reason,
            })
        };
        let Some(encoding) = Encoding::from_code(f.encoding) else {
            return Err(foreign(format!("unknown encoding code {}", f.encoding)));
        };
        match frame_bytes(f.width, f.height, encoding) {
            Ok(n) if n == f.len as usize && f.step == f.width * encoding.bytes_per_pixel() => {}
            Ok(n) => {
                return Err(foreign(format!(
                    "{}x{} {encoding} needs {n} bytes in rows of {}, the frame says {} in rows of {}",
                    f.width,
                    f.height,
                    f.width * encoding.bytes_per_pixel(),
                    f.len,
                    f.step
                )));
            }
            Err(e) => return Err(foreign(e.to_string())),
        }
        let desc = BlockDescriptor {
            generation: f.generation,
            segment: f.segment,
            block: f.block,
            len: f.len,
            reserved: 0,
        };
        let p = self.participant_index();
        let st = self.payload_state();
        let held = st
            .reader
            .borrow_mut()
            .hold(self.shm_namespace(), self.name(), p, f.owner, desc);
        match held {
            Ok(held) => Ok(ImageView {
                frame: f,
                encoding,
                held,
                _live: st.views.clone(),
            }),
            Err(ReaderError::Stale) => Err(None),
            Err(ReaderError::BadOwner(o)) => {
                Err(foreign(format!("publisher token {o:#x} is invalid")))
            }
            Err(ReaderError::Hold(HoldError::AlreadyHeld)) => Err(foreign(
                "this handle already holds that block (a frame delivered twice)".to_owned(),
            )),
            Err(ReaderError::Hold(e)) => Err(foreign(e.to_string())),
            Err(ReaderError::Segment(e)) => Err(Some(self.segment_error(e))),
        }
    }

    /// Frees what dead processes hold on this topic: their participant
    /// entries, their holds on pool blocks, the blocks they were writing;
    /// and unmaps dead publishers' segments no view uses. Returns the
    /// entries freed. Runs by itself when a handle is created, and when this
    /// publisher's pool is exhausted.
    pub fn reclaim_dead(&self) -> u32 {
        let ns = self.shm_namespace();
        let me = crate::shm::liveness::own_token();
        let freed = crate::pool::reclaim_topic(ns, self.name(), self.region(), me);
        if let Ok(mut r) = self.payload_state().reader.try_borrow_mut() {
            r.forget_dead(ns);
        }
        freed
    }

    /// Frames refused as invalid (see [`try_recv`](Self::try_recv)).
    pub fn rejected_count(&self) -> u64 {
        self.payload_state().rejected.get()
    }

    /// Pool segments this publisher has made.
    pub fn pool_segments(&self) -> usize {
        self.payload_state().writer.borrow().segments().len()
    }

    /// Pool segments (of any publisher) this handle has mapped to read.
    pub fn mapped_segments(&self) -> usize {
        self.payload_state().reader.borrow().mapped()
    }

    /// Blocks of this publisher's pool that readers hold or that are being
    /// written now (a snapshot).
    pub fn busy_blocks(&self) -> u32 {
        self.payload_state()
            .writer
            .borrow()
            .segments()
            .iter()
            .map(|s| s.pool().usage().busy)
            .sum()
    }
}
