//! Pooled topics for tools that have no program source (the CLI, the
//! recorder, bridges, Python): which kind a topic carries, from its
//! region's type identity; a descriptor's layout, from its bytes; and a
//! read-only hold of its block through
//! [`RawTopic::hold_block`](crate::inspect::RawTopic::hold_block).

use std::fmt;

use horus_nostd::Message;

use super::{BlockRef, PooledLayout};
use crate::image::{ImageFrame, ImageLayout};
use crate::pointcloud::{PointCloudFrame, PointCloudLayout};
use crate::pool::HeldBlock;
use crate::tensor::{TensorFrame, TensorLayout};

/// The kinds of large message, by descriptor type. (A depth image is an
/// [`Image`](PooledKind::Image): its descriptor is the image's.)
///
/// ```
/// use horus::pooled::PooledKind;
/// use horus::image::ImageFrame;
/// use horus::prelude::Message;
/// assert_eq!(PooledKind::of_type(ImageFrame::TYPE_ID), Some(PooledKind::Image));
/// assert_eq!(PooledKind::of_type(42), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PooledKind {
    /// [`ImageFrame`] descriptors (images and depth images).
    Image,
    /// [`TensorFrame`] descriptors.
    Tensor,
    /// [`PointCloudFrame`] descriptors.
    PointCloud,
}

impl PooledKind {
    /// The kind whose descriptor has type identity `type_id` (the
    /// region's), if any.
    pub fn of_type(type_id: u64) -> Option<Self> {
        [
            (ImageFrame::TYPE_ID, Self::Image),
            (TensorFrame::TYPE_ID, Self::Tensor),
            (PointCloudFrame::TYPE_ID, Self::PointCloud),
        ]
        .into_iter()
        .find(|k| k.0 == type_id)
        .map(|k| k.1)
    }

    /// The kind's name (`"image"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Image => ImageLayout::KIND,
            Self::Tensor => TensorLayout::KIND,
            Self::PointCloud => PointCloudLayout::KIND,
        }
    }

    /// The block and layout a descriptor of this kind names; `None` if
    /// `descriptor` is not the descriptor's size. The layout is checked as
    /// a receiver checks it (the reason as a phrase if it is not valid).
    pub fn decode(self, descriptor: &[u8]) -> Option<(BlockRef, Result<AnyLayout, String>)> {
        fn read<L: PooledLayout>(
            bytes: &[u8],
            any: fn(L) -> AnyLayout,
        ) -> Option<(BlockRef, Result<AnyLayout, String>)> {
            if bytes.len() != size_of::<L::Wire>() {
                return None;
            }
            let wire: L::Wire = bytemuck::pod_read_unaligned(bytes);
            let (block, layout) = super::checked::<L>(&wire);
            let layout = layout.map(any);
            Some((block, layout))
        }
        match self {
            Self::Image => read(descriptor, AnyLayout::Image),
            Self::Tensor => read(descriptor, AnyLayout::Tensor),
            Self::PointCloud => read(descriptor, AnyLayout::PointCloud),
        }
    }
}

/// The layout of a large message of any kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnyLayout {
    /// An image or depth image.
    Image(ImageLayout),
    /// A tensor.
    Tensor(TensorLayout),
    /// A point cloud.
    PointCloud(PointCloudLayout),
}

/// One line: `640x480 rgb8 step 1920`, `float32 [3, 224, 224] strides
/// [200704, 896, 4]`, `1000 points step 16 fields x:float32@0 ...`.
///
/// ```
/// use horus::image::{Encoding, ImageLayout};
/// use horus::pooled::AnyLayout;
/// let l = AnyLayout::Image(ImageLayout::try_new(640, 480, Encoding::Rgb8).unwrap());
/// assert_eq!(l.to_string(), "640x480 rgb8 step 1920");
/// ```
impl fmt::Display for AnyLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Image(l) => write!(
                f,
                "{}x{} {} step {}",
                l.width(),
                l.height(),
                l.encoding(),
                l.step()
            ),
            Self::Tensor(l) => write!(f, "{} {:?} strides {:?}", l.dtype(), l.shape(), l.strides()),
            Self::PointCloud(l) => {
                write!(f, "{} points step {} fields", l.points(), l.point_step())?;
                for field in l.fields() {
                    write!(
                        f,
                        " {}:{}@{}",
                        field.name(),
                        field.datatype(),
                        field.offset()
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// A block held for a tool by
/// [`RawTopic::hold_block`](crate::inspect::RawTopic::hold_block): its bytes
/// are read-only and not rewritten until this is dropped (it cannot outlive
/// the topic handle).
pub struct RawBlock<'t> {
    pub(crate) held: HeldBlock,
    pub(crate) _topic: std::marker::PhantomData<&'t ()>,
}

impl RawBlock<'_> {
    /// The message's bytes.
    pub fn data(&self) -> &[u8] {
        self.held.bytes()
    }
}

impl fmt::Debug for RawBlock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawBlock")
            .field("block", &self.held)
            .finish()
    }
}
