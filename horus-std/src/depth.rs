//! Depth images over block pools: `depth16` (u16 millimetres) or `32FC1`
//! (f32 metres), rows without padding.
//!
//! A [`DepthImage`] is a [`Pooled`] message of [`DepthLayout`], an
//! [`ImageLayout`] whose encoding is a depth encoding; its descriptor is the
//! [`ImageFrame`], as ROS sends depth as a
//! `sensor_msgs/Image`: every tool (echo, recorder, bridges, Python) reads
//! a depth topic as an image, and a `Topic<Image>` may subscribe to one. A
//! `Topic<DepthImage>` refuses a frame of another encoding (typed, counted
//! as rejected). Typed reads, sent or received, are [`DepthData`].
//!
//! Readings follow the ROS convention: 0 in `depth16` and NaN (or an
//! infinite or non-positive value) in `32FC1` mean "no reading"; [`DepthData::depth_mm`]
//! and [`DepthData::depth_m`] give `None` for them.
//!
//! ```no_run
//! use horus::prelude::*;
//! let topic: Topic<DepthImage> = Topic::new("camera.depth")?;
//! let mut d = topic.loan(640, 480, Encoding::Depth16)?;
//! d.as_u16_mut().unwrap().fill(1500);
//! topic.send(d);
//! if let Some(d) = topic.recv() {
//!     assert_eq!(d.depth_mm(320, 240), Some(1500));
//!     assert_eq!(d.depth_m(320, 240), Some(1.5));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ops::Deref;

use crate::image::{Encoding, ImageError, ImageFrame, ImageGeometry, ImageLayout};
use crate::pooled::{BlockRef, PoolView, Pooled, PooledData, PooledLayout};

/// An [`ImageLayout`] of a depth encoding (`depth16` or `32FC1`); its
/// accessors through `Deref`.
///
/// ```
/// use horus::depth::DepthLayout;
/// use horus::image::Encoding;
/// assert!(DepthLayout::try_new(4, 4, Encoding::Depth16).is_ok());
/// assert!(DepthLayout::try_new(4, 4, Encoding::Rgb8).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthLayout(ImageLayout);

impl DepthLayout {
    /// The layout of a `width` x `height` depth image, checked.
    pub fn try_new(width: u32, height: u32, encoding: Encoding) -> Result<Self, ImageError> {
        Self::of(ImageLayout::try_new(width, height, encoding)?)
    }

    fn of(image: ImageLayout) -> Result<Self, ImageError> {
        match image.encoding() {
            Encoding::Depth16 | Encoding::F32C1 => Ok(Self(image)),
            encoding => Err(ImageError::NotDepth { encoding }),
        }
    }

    /// The index of pixel (`x`, `y`), if inside.
    fn index(&self, x: u32, y: u32) -> Option<usize> {
        (x < self.width() && y < self.height())
            .then(|| y as usize * self.width() as usize + x as usize)
    }
}

impl Deref for DepthLayout {
    type Target = ImageLayout;
    fn deref(&self) -> &ImageLayout {
        &self.0
    }
}

impl ImageGeometry for DepthLayout {
    fn geometry(width: u32, height: u32, encoding: Encoding) -> Result<Self, ImageError> {
        Self::try_new(width, height, encoding)
    }
}

impl PooledLayout for DepthLayout {
    type Wire = ImageFrame;
    const KIND: &'static str = "depth image";

    fn bytes(&self) -> usize {
        self.0.bytes()
    }

    fn to_wire(&self, block: BlockRef) -> ImageFrame {
        self.0.to_wire(block)
    }

    fn from_wire(wire: &ImageFrame) -> (BlockRef, Result<Self, String>) {
        let (block, image) = ImageLayout::from_wire(wire);
        (
            block,
            image.and_then(|l| Self::of(l).map_err(|e| e.to_string())),
        )
    }
}

/// Typed reads of a depth image, sent or received.
pub trait DepthData: PooledData<Layout = DepthLayout> {
    /// The readings in millimetres, if the encoding is `depth16`.
    fn as_u16(&self) -> Option<&[u16]> {
        (self.layout().encoding() == Encoding::Depth16)
            .then(|| bytemuck::try_cast_slice(self.data()).ok())
            .flatten()
    }

    /// The readings in metres, if the encoding is `32FC1`.
    fn as_f32(&self) -> Option<&[f32]> {
        (self.layout().encoding() == Encoding::F32C1)
            .then(|| bytemuck::try_cast_slice(self.data()).ok())
            .flatten()
    }

    /// The depth at pixel (`x`, `y`) in metres, whatever the encoding;
    /// `None` outside the image or where there is no reading.
    ///
    /// ```
    /// use horus::prelude::*;
    /// let d = DepthImage::from_mm(2, 1, &[0, 2500]).unwrap();
    /// assert_eq!((d.depth_m(0, 0), d.depth_m(1, 0), d.depth_m(2, 0)), (None, Some(2.5), None));
    /// ```
    fn depth_m(&self, x: u32, y: u32) -> Option<f32> {
        let i = self.layout().index(x, y)?;
        let m = match (self.as_u16(), self.as_f32()) {
            (Some(mm), _) => f32::from(mm[i]) / 1000.0,
            (_, Some(m)) => m[i],
            _ => return None,
        };
        (m > 0.0 && m.is_finite()).then_some(m)
    }

    /// The depth at pixel (`x`, `y`) in millimetres (a `32FC1` reading
    /// rounded, `None` past 65.535 m); `None` outside the image or where
    /// there is no reading.
    fn depth_mm(&self, x: u32, y: u32) -> Option<u16> {
        if let Some(mm) = self.as_u16() {
            let i = self.layout().index(x, y)?;
            return (mm[i] != 0).then_some(mm[i]);
        }
        let mm = (self.depth_m(x, y)? * 1000.0).round();
        (mm >= 1.0 && mm <= f32::from(u16::MAX)).then_some(mm as u16)
    }
}

impl<D: PooledData<Layout = DepthLayout>> DepthData for D {}

/// A depth image to send: its [`DepthLayout`] (through `Deref`) and its
/// readings, on the heap or in a loaned pool block.
pub type DepthImage = Pooled<DepthLayout>;

/// A received depth image: a read-only view in the publisher's pool block,
/// released when dropped.
pub type DepthView = PoolView<DepthLayout>;

impl DepthImage {
    /// A `depth16` image of the given readings (millimetres, row by row).
    pub fn from_mm(width: u32, height: u32, mm: &[u16]) -> Result<Self, ImageError> {
        Self::from_bytes(width, height, Encoding::Depth16, bytemuck::cast_slice(mm))
    }

    /// A `32FC1` image of the given readings (metres, row by row).
    pub fn from_metres(width: u32, height: u32, m: &[f32]) -> Result<Self, ImageError> {
        Self::from_bytes(width, height, Encoding::F32C1, bytemuck::cast_slice(m))
    }

    /// The readings in millimetres, writable, if the encoding is `depth16`.
    pub fn as_u16_mut(&mut self) -> Option<&mut [u16]> {
        (self.encoding() == Encoding::Depth16)
            .then(|| bytemuck::try_cast_slice_mut(self.data_mut()).ok())
            .flatten()
    }

    /// The readings in metres, writable, if the encoding is `32FC1`.
    pub fn as_f32_mut(&mut self) -> Option<&mut [f32]> {
        (self.encoding() == Encoding::F32C1)
            .then(|| bytemuck::try_cast_slice_mut(self.data_mut()).ok())
            .flatten()
    }
}
