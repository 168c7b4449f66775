//! Images over block pools: the pixels in a shared block, a 48-byte
//! [`ImageFrame`] in the topic's ring.
//!
//! `Topic<Image>` (alias [`ImageTopic`]) is a topic of images. An [`Image`]
//! is a [`Pooled`] message of [`ImageLayout`] (width, height, encoding):
//! sending, receiving, loaning, accounting and crash safety are the
//! pooled path of [`crate::pooled`], shared by every large type; this file
//! is only what an image is. A received image is an [`ImageView`]: a
//! read-only view of the pixels in place, released when dropped. Both reach
//! the layout's accessors (`width()`, `height()`, `encoding()`, `step()`)
//! through `Deref`.
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
//! - The seed's `Image::new(640, 480, "rgb8")` puts the (zeroed) pixels in
//!   a block of this process's pool ([`crate::process_pool`]); `send`
//!   names that block's segment after the topic the first time and then
//!   moves only the descriptor. [`Topic::<Image>::loan`](Topic::loan)
//!   gives an [`Image`] whose [`data_mut`](Pooled::data_mut) is a block of
//!   the topic's own pool (not cleared). Both are zero-copy. A thread that
//!   sends images of one size on several topics (a stereo pair, an RGB-D
//!   camera) gets each image from the segment of the topic it will most
//!   likely go to, predicted from the order of its earlier sends; an image
//!   whose block is named after another topic (the first round, or an order
//!   that changes) is copied once, counted in
//!   [`process_pool::stats`](crate::process_pool::stats).
//! - The publisher never blocks: when every block is held or being written,
//!   `send` counts the image in [`Topic::unsent_count`];
//!   [`Topic::try_send`] returns [`PoolError::Exhausted`] instead.
//! - [`ImageFrame`] is also the descriptor of a
//!   [`DepthImage`](crate::depth::DepthImage) (encodings `depth16` and
//!   `32FC1`): a depth topic is an image topic to every tool.

use std::fmt;
use std::str::FromStr;

use crate::pooled::{
    BlockRef, PoolError, PoolView, Pooled, PooledLayout, block_of, wire_word, word_halves,
    word_pair,
};
use crate::topic::Topic;

horus_nostd::message! {
    /// What an image (or depth image) topic's ring carries: which block of
    /// which publisher's pool holds the pixels (the five fields every pooled
    /// descriptor starts with), and their geometry.
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
        ENCODINGS[self.index()]
    }

    /// Its name, as `Image::new` takes it.
    pub fn as_str(self) -> &'static str {
        self.entry().1
    }

    /// Bytes per pixel (`yuv422`: 2, averaged over a pixel pair).
    #[inline]
    pub fn bytes_per_pixel(self) -> u32 {
        ENCODINGS[self.index()].2
    }

    /// The position in [`ENCODINGS`] (a `match`, not a search: this is on
    /// every message's path).
    #[inline]
    const fn index(self) -> usize {
        match self {
            Self::Mono8 => 0,
            Self::Mono16 => 1,
            Self::Rgb8 => 2,
            Self::Bgr8 => 3,
            Self::Rgba8 => 4,
            Self::Bgra8 => 5,
            Self::Yuv422 => 6,
            Self::Depth16 => 7,
            Self::F32C1 => 8,
        }
    }

    /// The code carried in [`ImageFrame::encoding`] (1-based).
    #[inline]
    pub fn code(self) -> u32 {
        self.index() as u32 + 1
    }

    /// The encoding of a code, if valid.
    #[inline]
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
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The encoding name is not one of [`Encoding`]'s.
    #[error(
        "unknown image encoding {:?}: use one of {}",
        crate::error::echoed(given),
        Encoding::names()
    )]
    UnknownEncoding {
        /// The name given.
        given: String,
    },
    /// Width or height is zero.
    #[error("image of {width}x{height} pixels is empty: width and height must be at least 1")]
    ZeroSize {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
    },
    /// `yuv422` packs pixel pairs: the width must be even.
    #[error("yuv422 image width {width} is odd: yuv422 packs pixel pairs, use an even width")]
    OddWidth {
        /// Width given.
        width: u32,
    },
    /// The image is larger than 4 GiB (or than this machine addresses).
    #[error(
        "{encoding} image of {width}x{height} pixels is larger than 4 GiB: \
         split it or lower the resolution"
    )]
    TooLarge {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
        /// The encoding.
        encoding: Encoding,
    },
    /// The pixel buffer does not have `width * height * bytes_per_pixel` bytes.
    #[error(
        "{encoding} pixel buffer has {found} bytes but the geometry needs {expected} \
         (width x height x {} bytes per pixel)",
        encoding.bytes_per_pixel()
    )]
    WrongDataSize {
        /// Bytes the geometry needs.
        expected: usize,
        /// Bytes given.
        found: usize,
        /// The encoding.
        encoding: Encoding,
    },
    /// A [`DepthImage`](crate::depth::DepthImage) was given an encoding
    /// that is not a depth encoding.
    #[error(
        "{encoding} is not a depth encoding: a depth image is depth16 (u16 millimetres) \
         or 32FC1 (f32 metres); send other encodings as an Image"
    )]
    NotDepth {
        /// The encoding given.
        encoding: Encoding,
    },
    /// The topic's pool could not take the image (see [`PoolError`]).
    #[error(transparent)]
    Pool(#[from] PoolError),
}

crate::pooled::kind_error!(ImageError);

/// What an image's bytes are: `height` rows of `width` pixels of
/// `encoding`, rows of [`step`](Self::step) bytes without padding. Checked
/// when made: never empty, never larger than 4 GiB (and one that is sent
/// must fit a pool block: at most
/// [`MAX_BLOCK_BYTES`](horus_nostd::pool::MAX_BLOCK_BYTES), 1 GiB).
///
/// ```
/// use horus::image::{Encoding, ImageLayout};
/// let l = ImageLayout::try_new(640, 480, Encoding::Rgb8).unwrap();
/// assert_eq!(l.step(), 1920);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLayout {
    width: u32,
    height: u32,
    encoding: Encoding,
}

impl ImageLayout {
    /// The layout of a `width` x `height` image of `encoding`, checked.
    #[inline]
    pub fn try_new(width: u32, height: u32, encoding: Encoding) -> Result<Self, ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::ZeroSize { width, height });
        }
        if encoding == Encoding::Yuv422 && width % 2 != 0 {
            return Err(ImageError::OddWidth { width });
        }
        // In 128 bits: two `u32`s and a pixel size overflow 64 (a received
        // frame's width and height are anyone's).
        let bytes = u128::from(width) * u128::from(height) * u128::from(encoding.bytes_per_pixel());
        if bytes > u128::from(u32::MAX) || usize::try_from(bytes).is_err() {
            return Err(ImageError::TooLarge {
                width,
                height,
                encoding,
            });
        }
        Ok(Self {
            width,
            height,
            encoding,
        })
    }

    /// Pixels per row.
    #[inline]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Rows.
    #[inline]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel encoding.
    #[inline]
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Bytes per row.
    #[inline]
    pub fn step(&self) -> u32 {
        self.width * self.encoding.bytes_per_pixel()
    }
}

impl PooledLayout for ImageLayout {
    type Wire = ImageFrame;
    const KIND: &'static str = "image";

    #[inline]
    fn bytes(&self) -> usize {
        self.step() as usize * self.height as usize
    }

    #[inline]
    fn to_wire(&self, b: BlockRef) -> ImageFrame {
        // Built as the words the ring copies (see `pooled::word_pair`).
        bytemuck::cast([
            b.owner,
            b.generation,
            word_pair(b.segment, b.block),
            word_pair(b.len, self.width),
            word_pair(self.height, self.step()),
            word_pair(self.encoding.code(), 0),
        ])
    }

    /// Inlined into every receive (`pooled::valid`): a valid frame costs a
    /// few compares; the refusals' sentences are made out of line.
    #[inline(always)]
    fn from_wire(f: &ImageFrame) -> (BlockRef, Result<Self, String>) {
        // Read as the words the ring stored (see `pooled::wire_word`).
        let block = block_of(f);
        let width = word_halves(wire_word(f, 3)).1;
        let (height, step) = word_halves(wire_word(f, 4));
        let (code, reserved) = word_halves(wire_word(f, 5));
        let Some(encoding) = Encoding::from_code(code) else {
            return (block, Err(unknown_encoding(code)));
        };
        if reserved != 0 {
            return (block, Err(not_reserved(reserved)));
        }
        let layout = match Self::try_new(width, height, encoding) {
            Ok(l) => l,
            Err(e) => return (block, Err(refused(e))),
        };
        if layout.step() != step {
            return (block, Err(wrong_step(layout.step(), step)));
        }
        (block, Ok(layout))
    }
}

/// Why an image descriptor is refused: its encoding code.
#[cold]
fn unknown_encoding(code: u32) -> String {
    format!("unknown encoding code {code}")
}

/// Why an image descriptor is refused: its reserved field (zero in every
/// frame written here; a writer that gives it a meaning is not understood).
#[cold]
fn not_reserved(reserved: u32) -> String {
    format!("its reserved field is {reserved}, not 0")
}

/// Why an image descriptor is refused: its geometry.
#[cold]
fn refused(e: ImageError) -> String {
    e.to_string()
}

/// Why an image descriptor is refused: its row length.
#[cold]
fn wrong_step(step: u32, says: u32) -> String {
    format!("rows of {step} bytes, the frame says {says}")
}

/// An image to send: its [`ImageLayout`] (through `Deref`) and its pixels,
/// on the heap or in a loaned pool block.
pub type Image = Pooled<ImageLayout>;

/// A received image: a read-only view of the pixels in the publisher's pool
/// block, which no publisher rewrites until the view is dropped.
pub type ImageView = PoolView<ImageLayout>;

/// A topic of [`Image`]s: `Topic<Image>` (see the [module docs](self)).
pub type ImageTopic = Topic<Image>;

/// A layout made of a width, a height and an encoding: an image's, or a
/// depth image's (which refuses other encodings). [`Image`] and
/// [`DepthImage`](crate::depth::DepthImage) share their constructors and
/// `loan` through it.
pub trait ImageGeometry: PooledLayout {
    /// The layout, checked.
    fn geometry(width: u32, height: u32, encoding: Encoding) -> Result<Self, ImageError>;
}

impl ImageGeometry for ImageLayout {
    #[inline]
    fn geometry(width: u32, height: u32, encoding: Encoding) -> Result<Self, ImageError> {
        Self::try_new(width, height, encoding)
    }
}

impl<L: ImageGeometry> Pooled<L> {
    /// A black image (the seed's form: `Image::new(640, 480, "rgb8")`).
    ///
    /// # Panics
    /// If `encoding` is not a known encoding name (for a depth image: not
    /// `depth16` or `32FC1`), or the size is zero or larger than 4 GiB, with
    /// the sentence of [`try_new`](Self::try_new)'s error. Use `try_new`
    /// for sizes and encodings read at run time.
    ///
    /// ```
    /// let img = horus::image::Image::new(640, 480, "rgb8");
    /// assert_eq!(img.data().len(), 640 * 480 * 3);
    /// ```
    #[track_caller]
    pub fn new(width: u32, height: u32, encoding: &str) -> Self {
        match Self::try_new(width, height, encoding) {
            Ok(img) => img,
            Err(e) => panic!("{}::new({width}, {height}, {encoding:?}): {e}", L::KIND),
        }
    }

    /// A black image, or a typed error naming what is wrong.
    ///
    /// ```
    /// use horus::image::{Image, ImageError};
    /// assert!(matches!(Image::try_new(0, 480, "rgb8"), Err(ImageError::ZeroSize { .. })));
    /// assert!(matches!(Image::try_new(640, 480, "rgb9"), Err(ImageError::UnknownEncoding { .. })));
    /// ```
    pub fn try_new(width: u32, height: u32, encoding: &str) -> Result<Self, ImageError> {
        let layout = L::geometry(width, height, encoding.parse()?)?;
        Ok(Pooled::try_zeroed(layout)?)
    }

    /// An image of the given pixels (copied once, into 8-byte aligned
    /// memory); their length must fit the geometry.
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
    ) -> Result<Self, ImageError> {
        Self::from_bytes(width, height, encoding, &data)
    }

    /// As [`from_data`](Self::from_data), from a slice.
    pub(crate) fn from_bytes(
        width: u32,
        height: u32,
        encoding: Encoding,
        data: &[u8],
    ) -> Result<Self, ImageError> {
        let layout = L::geometry(width, height, encoding)?;
        if data.len() != layout.bytes() {
            return Err(ImageError::WrongDataSize {
                expected: layout.bytes(),
                found: data.len(),
                encoding,
            });
        }
        Ok(Pooled::with_data(layout, data)?)
    }
}

impl<L: ImageGeometry> Topic<Pooled<L>> {
    /// An image whose pixels are a block of this publisher's pool: fill it
    /// with [`data_mut`](Pooled::data_mut) and send it here without a copy.
    /// The pixels are not cleared (see [`Topic::loan_layout`]).
    #[inline]
    pub fn loan(
        &self,
        width: u32,
        height: u32,
        encoding: Encoding,
    ) -> Result<Pooled<L>, ImageError> {
        let layout = L::geometry(width, height, encoding)?;
        Ok(self.loan_layout(layout)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_index_matches_the_table() {
        for (i, (e, name, bpp)) in ENCODINGS.into_iter().enumerate() {
            assert_eq!(e.index(), i);
            assert_eq!((e.as_str(), e.bytes_per_pixel()), (name, bpp));
            assert_eq!(Encoding::from_code(e.code()), Some(e));
        }
        assert_eq!(Encoding::from_code(0), None);
        assert_eq!(Encoding::from_code(ENCODINGS.len() as u32 + 1), None);
    }

    /// An unknown encoding of 100 KB was said back whole; the sentence quotes
    /// its start (the field keeps it all), as for a tensor's dtype.
    #[test]
    fn a_long_unknown_name_is_quoted_by_its_start() {
        let long = "x".repeat(100_000);
        let Err(e) = Image::try_new(4, 4, &long) else {
            panic!("an unknown encoding")
        };
        let said = e.to_string();
        assert!(
            said.len() < 500 && said.contains("\"xxxx") && said.contains('…'),
            "{said}"
        );
        assert!(matches!(e, ImageError::UnknownEncoding { given } if given == long));
        let Err(e) = long.parse::<crate::tensor::DType>() else {
            panic!("an unknown dtype")
        };
        assert!(e.to_string().len() < 500, "{e}");
    }

    /// Width x height x bytes per pixel overflowed `u64` (two `u32`s and
    /// a pixel size): a panic in debug; in release a product that wrapped
    /// to 0 (2^31 x 2^31 rgba8) passed as an image of no bytes. A received
    /// frame's geometry is anyone's: it is a typed refusal.
    #[test]
    fn geometry_products_never_overflow() {
        for (w, h) in [(u32::MAX, u32::MAX), (1 << 31, 1 << 31), (1 << 30, 1 << 30)] {
            assert!(
                matches!(
                    ImageLayout::try_new(w, h, Encoding::Rgba8),
                    Err(ImageError::TooLarge { .. })
                ),
                "{w}x{h}"
            );
            let frame = ImageFrame {
                owner: 1,
                generation: 1,
                segment: 0,
                block: 0,
                len: 0,
                width: w,
                height: h,
                step: w.wrapping_mul(4),
                encoding: Encoding::Rgba8.code(),
                reserved: 0,
            };
            let (_, layout) = ImageLayout::from_wire(&frame);
            assert!(layout.unwrap_err().contains("larger than 4 GiB"));
        }
        let widest = ImageLayout::try_new(u32::MAX, 1, Encoding::Mono8).unwrap();
        assert_eq!(widest.bytes(), u32::MAX as usize);
    }

    /// The reserved field is zero: another value was accepted, unread.
    #[test]
    fn a_frame_whose_reserved_field_is_set_is_refused() {
        let block = BlockRef {
            owner: 1,
            generation: 1,
            segment: 0,
            block: 0,
            len: 1,
        };
        let one = ImageLayout::try_new(1, 1, Encoding::Mono8).unwrap();
        let f = ImageFrame {
            reserved: 7,
            ..one.to_wire(block)
        };
        assert_eq!(
            ImageLayout::from_wire(&f),
            (block, Err("its reserved field is 7, not 0".into()))
        );
    }

    /// The frame is built and read as words (`word_pair`, `wire_word`):
    /// those words must be the struct's fields, on either byte order.
    #[test]
    fn frame_words_are_its_fields() {
        let layout = ImageLayout::try_new(6, 4, Encoding::Bgra8).unwrap();
        let block = BlockRef {
            owner: 0x0102_0304_0506_0708,
            generation: 0x1112_1314_1516_1718,
            segment: 0x2122_2324,
            block: 0x3132_3334,
            len: 96,
        };
        let f = layout.to_wire(block);
        assert_eq!((f.owner, f.generation), (block.owner, block.generation));
        assert_eq!((f.segment, f.block, f.len), (0x2122_2324, 0x3132_3334, 96));
        assert_eq!((f.width, f.height, f.step), (6, 4, 24));
        assert_eq!((f.encoding, f.reserved), (Encoding::Bgra8.code(), 0));
        assert_eq!(ImageLayout::from_wire(&f), (block, Ok(layout)));
    }
}
