//! Point clouds over block pools: points of `x`, `y`, `z` (f32) and optional
//! fields (intensity, rgb, ...), described as ROS's `PointField`s, the points
//! in a shared block, a 232-byte [`PointCloudFrame`] in the ring.
//!
//! A [`PointCloud`] is a [`Pooled`] message of [`PointCloudLayout`]: the
//! number of points, the bytes per point (`point_step`) and up to
//! [`MAX_FIELDS`] fields (name, byte offset in the point, [`DType`]). The
//! points are packed one after another, `point_step` bytes each, the fields
//! little-endian at their offsets (ROS's unorganized `PointCloud2`, `height`
//! 1, not big-endian, dense). Typed reads, sent or received, are
//! [`PointCloudData`].
//!
//! ```no_run
//! use horus::prelude::*;
//! let lidar: Topic<PointCloud> = Topic::new("lidar.points")?;
//! let cloud = PointCloud::from_xyz(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])?;
//! lidar.send(cloud);
//! if let Some(c) = lidar.recv() {
//!     assert_eq!(c.point(1), Some([4.0, 5.0, 6.0]));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::pooled::{BlockRef, PoolError, PoolView, Pooled, PooledData, PooledLayout, block_of};
use crate::tensor::{DType, Element};
use crate::topic::Topic;

/// The most fields a point may have.
pub const MAX_FIELDS: usize = 8;
/// The longest field name, in bytes.
pub const MAX_FIELD_NAME: usize = 15;

horus_nostd::message! {
    /// What a point cloud topic's ring carries: the block (the five fields
    /// every pooled descriptor starts with), then the points' layout. Field
    /// `i < field_count` is named `field_names[i]` (UTF-8, NUL-padded), at
    /// byte `field_offsets[i]` of each point, of [`DType`] code
    /// `field_types[i]`; the entries past `field_count` are zero.
    PointCloudFrame {
        /// The publisher's liveness token (names its pool's segment files).
        owner: u64,
        /// The block's generation when published.
        generation: u64,
        /// Segment id in the publisher's pool.
        segment: u32,
        /// Block index in the segment.
        block: u32,
        /// Bytes of points (`points * point_step`).
        len: u32,
        /// Points.
        points: u32,
        /// Bytes per point.
        point_step: u32,
        /// Fields per point.
        field_count: u32,
        /// Field names.
        field_names: [[u8; 16]; 8],
        /// Field byte offsets in a point.
        field_offsets: [u32; 8],
        /// Field [`DType`] codes.
        field_types: [u32; 8],
    }
}

/// Anything wrong with a point cloud's fields, size or data, or with
/// sending it: the sentence names the thing and the fix (`Debug` too).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum PointCloudError {
    /// A cloud of no points.
    #[error("point cloud of 0 points: send at least one point")]
    NoPoints,
    /// A field name that is empty, too long or not `[A-Za-z0-9_]`.
    #[error(
        "point field name {name:?} is not 1 to {MAX_FIELD_NAME} characters of \
         A-Z, a-z, 0-9 and _: rename the field"
    )]
    BadFieldName {
        /// The name given.
        name: String,
    },
    /// More than [`MAX_FIELDS`] fields.
    #[error(
        "point cloud of {count} fields has more than {MAX_FIELDS}: \
         drop or pack fields"
    )]
    TooManyFields {
        /// Fields given.
        count: usize,
    },
    /// Two fields of one name.
    #[error("point field {name:?} is given twice: name each field once")]
    DuplicateField {
        /// The name.
        name: String,
    },
    /// A field that does not lie inside the point.
    #[error(
        "point field {name:?} at byte {offset} does not fit in a point of \
         {point_step} bytes: raise point_step or move the field"
    )]
    FieldOutsidePoint {
        /// The field.
        name: String,
        /// Its offset.
        offset: u32,
        /// Bytes per point.
        point_step: u32,
    },
    /// Two fields that share bytes of the point: writing one would change
    /// the other.
    #[error(
        "point fields {first:?} (bytes {first_start}..{first_end}) and {second:?} (bytes \
         {second_start}..{second_end}) overlap: writing one would change the other; give \
         each field its own bytes"
    )]
    OverlappingFields {
        /// The earlier field.
        first: String,
        /// Its first byte in the point.
        first_start: u32,
        /// The byte past it.
        first_end: u64,
        /// The later field.
        second: String,
        /// Its first byte in the point.
        second_start: u32,
        /// The byte past it.
        second_end: u64,
    },
    /// No f32 fields `x`, `y` and `z`.
    #[error(
        "point cloud has no f32 fields x, y and z: add them (PointCloudLayout::xyz \
         has them at offsets 0, 4, 8)"
    )]
    MissingXyz,
    /// More than 4 GiB of points.
    #[error(
        "point cloud of {points} points of {point_step} bytes is larger than 4 GiB: \
         split it"
    )]
    TooLarge {
        /// Points.
        points: u32,
        /// Bytes per point.
        point_step: u32,
    },
    /// The data does not have `points x point_step` bytes.
    #[error(
        "point cloud data has {found} bytes but the layout needs {expected} \
         (points x point_step)"
    )]
    WrongDataSize {
        /// Bytes the layout needs.
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// The topic's pool could not take the cloud (see [`PoolError`]).
    #[error(transparent)]
    Pool(#[from] PoolError),
}

crate::pooled::kind_error!(PointCloudError);

/// One field of a point: name, byte offset in the point, element type.
///
/// ```
/// use horus::pointcloud::PointField;
/// use horus::tensor::DType;
/// let f = PointField::new("intensity", 12, DType::F32);
/// assert_eq!((f.name(), f.offset(), f.end()), ("intensity", 12, 16));
/// assert!(PointField::try_new("a b", 0, DType::U8).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PointField {
    name: [u8; 16],
    offset: u32,
    datatype: DType,
}

impl fmt::Debug for PointField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.name(), self.offset, self.datatype)
    }
}

impl PointField {
    /// A field, or a typed error for a bad name.
    pub fn try_new(name: &str, offset: u32, datatype: DType) -> Result<Self, PointCloudError> {
        let ok = (1..=MAX_FIELD_NAME).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            return Err(PointCloudError::BadFieldName {
                name: name.to_owned(),
            });
        }
        let mut bytes = [0; 16];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(Self {
            name: bytes,
            offset,
            datatype,
        })
    }

    /// A field named by a literal.
    ///
    /// # Panics
    /// If the name is not valid, with the sentence of [`PointField::try_new`]'s error.
    #[track_caller]
    pub fn new(name: &str, offset: u32, datatype: DType) -> Self {
        match Self::try_new(name, offset, datatype) {
            Ok(f) => f,
            Err(e) => panic!("PointField::new({name:?}, {offset}, {datatype}): {e}"),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        let n = self.name.iter().position(|&b| b == 0).unwrap_or(16);
        std::str::from_utf8(&self.name[..n]).unwrap_or("")
    }

    /// Byte offset in the point.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The element type.
    pub fn datatype(&self) -> DType {
        self.datatype
    }

    /// The byte past the field.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.datatype.size())
    }
}

/// What a point cloud's bytes are: `points` points of `point_step` bytes,
/// each with the same fields. Checked when made.
///
/// ```
/// use horus::pointcloud::PointCloudLayout;
/// let l = PointCloudLayout::xyzi(1000).unwrap();
/// assert_eq!((l.point_step(), l.fields().count()), (16, 4));
/// assert_eq!(l.field("intensity").unwrap().offset(), 12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointCloudLayout {
    points: u32,
    point_step: u32,
    field_count: usize,
    fields: [Option<PointField>; MAX_FIELDS],
}

impl PointCloudLayout {
    /// `points` points of `point_step` bytes with `fields`, checked: at
    /// least one point, the f32 fields `x`, `y`, `z`, every field inside the
    /// point and on bytes of its own, names unique.
    pub fn try_new(
        points: u32,
        point_step: u32,
        fields: &[PointField],
    ) -> Result<Self, PointCloudError> {
        if points == 0 {
            return Err(PointCloudError::NoPoints);
        }
        if fields.len() > MAX_FIELDS {
            return Err(PointCloudError::TooManyFields {
                count: fields.len(),
            });
        }
        let mut l = Self {
            points,
            point_step,
            field_count: fields.len(),
            fields: [None; MAX_FIELDS],
        };
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].iter().any(|g| g.name == f.name) {
                return Err(PointCloudError::DuplicateField {
                    name: f.name().to_owned(),
                });
            }
            if f.end() > u64::from(point_step) {
                return Err(PointCloudError::FieldOutsidePoint {
                    name: f.name().to_owned(),
                    offset: f.offset,
                    point_step,
                });
            }
            if let Some(g) = fields[..i]
                .iter()
                .find(|g| u64::from(f.offset) < g.end() && u64::from(g.offset) < f.end())
            {
                return Err(PointCloudError::OverlappingFields {
                    first: g.name().to_owned(),
                    first_start: g.offset,
                    first_end: g.end(),
                    second: f.name().to_owned(),
                    second_start: f.offset,
                    second_end: f.end(),
                });
            }
            l.fields[i] = Some(*f);
        }
        let is_f32 = |n| l.field(n).is_some_and(|f| f.datatype == DType::F32);
        if !(is_f32("x") && is_f32("y") && is_f32("z")) {
            return Err(PointCloudError::MissingXyz);
        }
        let bytes = u64::from(points) * u64::from(point_step);
        if bytes > u64::from(u32::MAX) || usize::try_from(bytes).is_err() {
            return Err(PointCloudError::TooLarge { points, point_step });
        }
        Ok(l)
    }

    /// `x`, `y`, `z` (f32) then `extra` fields, packed.
    fn packed(points: u32, extra: &[(&str, DType)]) -> Result<Self, PointCloudError> {
        let mut fields = Vec::with_capacity(3 + extra.len());
        let mut offset = 0;
        for (name, dtype) in [("x", DType::F32), ("y", DType::F32), ("z", DType::F32)]
            .iter()
            .chain(extra)
        {
            fields.push(PointField::try_new(name, offset, *dtype)?);
            offset += dtype.size();
        }
        Self::try_new(points, offset, &fields)
    }

    /// `x`, `y`, `z` (f32): 12 bytes per point.
    pub fn xyz(points: u32) -> Result<Self, PointCloudError> {
        Self::packed(points, &[])
    }

    /// `x`, `y`, `z`, `intensity` (f32): 16 bytes per point.
    pub fn xyzi(points: u32) -> Result<Self, PointCloudError> {
        Self::packed(points, &[("intensity", DType::F32)])
    }

    /// `x`, `y`, `z` (f32) and `rgb` (u32, `0x00RRGGBB`): 16 bytes per point.
    pub fn xyzrgb(points: u32) -> Result<Self, PointCloudError> {
        Self::packed(points, &[("rgb", DType::U32)])
    }

    /// Points.
    pub fn points(&self) -> u32 {
        self.points
    }

    /// Bytes per point.
    pub fn point_step(&self) -> u32 {
        self.point_step
    }

    /// The fields of a point.
    pub fn fields(&self) -> impl Iterator<Item = &PointField> {
        self.fields[..self.field_count].iter().flatten()
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&PointField> {
        self.fields().find(|f| f.name() == name)
    }

    fn check_len(&self, found: usize) -> Result<(), PointCloudError> {
        let expected = self.bytes();
        if found == expected {
            return Ok(());
        }
        Err(PointCloudError::WrongDataSize { expected, found })
    }

    fn from_frame(f: &PointCloudFrame) -> Result<Self, String> {
        let count = f.field_count as usize;
        if count > MAX_FIELDS {
            return Err(format!("{count} fields, more than {MAX_FIELDS}"));
        }
        let mut fields = Vec::with_capacity(count);
        for i in 0..count {
            let dtype = DType::from_code(f.field_types[i])
                .ok_or_else(|| format!("field {i} has unknown dtype code {}", f.field_types[i]))?;
            let raw = &f.field_names[i];
            let n = raw.iter().position(|&b| b == 0).unwrap_or(16);
            let name = std::str::from_utf8(&raw[..n]).map_err(|_| "a field name is not UTF-8")?;
            fields.push(
                PointField::try_new(name, f.field_offsets[i], dtype).map_err(|e| e.to_string())?,
            );
            if raw[n..].iter().any(|&b| b != 0) {
                return Err(format!("field name {name:?} is not NUL-padded"));
            }
        }
        Self::try_new(f.points, f.point_step, &fields).map_err(|e| e.to_string())
    }
}

impl PooledLayout for PointCloudLayout {
    type Wire = PointCloudFrame;
    const KIND: &'static str = "point cloud";

    fn bytes(&self) -> usize {
        self.points as usize * self.point_step as usize
    }

    fn to_wire(&self, b: BlockRef) -> PointCloudFrame {
        let mut f = PointCloudFrame {
            owner: b.owner,
            generation: b.generation,
            segment: b.segment,
            block: b.block,
            len: b.len,
            points: self.points,
            point_step: self.point_step,
            field_count: self.field_count as u32,
            field_names: [[0; 16]; MAX_FIELDS],
            field_offsets: [0; MAX_FIELDS],
            field_types: [0; MAX_FIELDS],
        };
        for (i, field) in self.fields().enumerate() {
            f.field_names[i] = field.name;
            f.field_offsets[i] = field.offset;
            f.field_types[i] = field.datatype.code();
        }
        f
    }

    fn from_wire(f: &PointCloudFrame) -> (BlockRef, Result<Self, String>) {
        (block_of(f), Self::from_frame(f))
    }
}

/// Typed reads of a point cloud, sent or received.
pub trait PointCloudData: PooledData<Layout = PointCloudLayout> {
    /// Field `name` of point `i`, if the field exists, is of `T`'s dtype and
    /// `i` is a point.
    fn get<T: Element>(&self, name: &str, i: u32) -> Option<T> {
        let l = self.layout();
        let f = l.field(name).filter(|f| f.datatype == T::DTYPE)?;
        if i >= l.points {
            return None;
        }
        let at = i as usize * l.point_step as usize + f.offset as usize;
        let bytes = self.data().get(at..at + std::mem::size_of::<T>())?;
        Some(bytemuck::pod_read_unaligned(bytes))
    }

    /// Point `i`'s `x`, `y`, `z`.
    fn point(&self, i: u32) -> Option<[f32; 3]> {
        Some([self.get("x", i)?, self.get("y", i)?, self.get("z", i)?])
    }

    /// Every point's `x`, `y`, `z`.
    fn iter_xyz(&self) -> impl Iterator<Item = [f32; 3]> + '_ {
        (0..self.layout().points).filter_map(|i| self.point(i))
    }
}

impl<D: PooledData<Layout = PointCloudLayout>> PointCloudData for D {}

/// A point cloud to send: its [`PointCloudLayout`] (through `Deref`) and its
/// points, on the heap or in a loaned pool block.
pub type PointCloud = Pooled<PointCloudLayout>;

/// A received point cloud: a read-only view in the publisher's pool block,
/// released when dropped.
pub type PointCloudView = PoolView<PointCloudLayout>;

impl PointCloud {
    /// `points` points of `x`, `y`, `z` (f32), all zero.
    ///
    /// # Panics
    /// If `points` is 0, with the sentence of [`PointCloud::try_new`]'s error.
    ///
    /// ```
    /// let c = horus::pointcloud::PointCloud::xyz(100);
    /// assert_eq!(c.data().len(), 1200);
    /// ```
    #[track_caller]
    pub fn xyz(points: u32) -> Self {
        Self::new(PointCloudLayout::xyz(points))
    }

    /// `points` points of `x`, `y`, `z`, `intensity` (f32), all zero.
    ///
    /// # Panics
    /// As [`PointCloud::xyz`].
    #[track_caller]
    pub fn xyzi(points: u32) -> Self {
        Self::new(PointCloudLayout::xyzi(points))
    }

    /// `points` points of `x`, `y`, `z` (f32) and `rgb` (u32), all zero.
    ///
    /// # Panics
    /// As [`PointCloud::xyz`].
    #[track_caller]
    pub fn xyzrgb(points: u32) -> Self {
        Self::new(PointCloudLayout::xyzrgb(points))
    }

    #[track_caller]
    fn new(layout: Result<PointCloudLayout, PointCloudError>) -> Self {
        match layout.and_then(|l| Ok(Pooled::try_zeroed(l)?)) {
            Ok(cloud) => cloud,
            Err(e) => panic!("PointCloud: {e}"),
        }
    }

    /// `points` points of `point_step` bytes with `fields`, all zero, or a
    /// typed error naming what is wrong.
    ///
    /// ```
    /// use horus::pointcloud::{PointCloud, PointCloudError, PointField};
    /// use horus::tensor::DType;
    /// let x = PointField::new("x", 0, DType::F32);
    /// assert!(matches!(PointCloud::try_new(10, 4, &[x]), Err(PointCloudError::MissingXyz)));
    /// ```
    pub fn try_new(
        points: u32,
        point_step: u32,
        fields: &[PointField],
    ) -> Result<Self, PointCloudError> {
        Ok(Pooled::try_zeroed(PointCloudLayout::try_new(
            points, point_step, fields,
        )?)?)
    }

    /// A cloud of `layout` with the given bytes; their length must fit.
    pub fn from_data(layout: PointCloudLayout, data: Vec<u8>) -> Result<Self, PointCloudError> {
        layout.check_len(data.len())?;
        Ok(Pooled::with_data(layout, &data)?)
    }

    /// An `xyz` cloud of the given points.
    pub fn from_xyz(points: &[[f32; 3]]) -> Result<Self, PointCloudError> {
        let n = u32::try_from(points.len()).map_err(|_| PointCloudError::TooLarge {
            points: u32::MAX,
            point_step: 12,
        })?;
        let layout = PointCloudLayout::xyz(n)?;
        Ok(Pooled::with_data(layout, bytemuck::cast_slice(points))?)
    }

    /// Sets field `name` of point `i`; `false` (nothing written) if the
    /// field does not exist, is not of `T`'s dtype, or `i` is not a point.
    pub fn set<T: Element>(&mut self, name: &str, i: u32, value: T) -> bool {
        let l = *self.layout();
        let Some(f) = l.field(name).filter(|f| f.datatype == T::DTYPE) else {
            return false;
        };
        if i >= l.points {
            return false;
        }
        let at = i as usize * l.point_step as usize + f.offset as usize;
        self.data_mut()[at..at + std::mem::size_of::<T>()]
            .copy_from_slice(bytemuck::bytes_of(&value));
        true
    }

    /// Sets point `i`'s `x`, `y`, `z`; `false` if `i` is not a point.
    pub fn set_point(&mut self, i: u32, [x, y, z]: [f32; 3]) -> bool {
        self.set("x", i, x) && self.set("y", i, y) && self.set("z", i, z)
    }
}

impl Topic<PointCloud> {
    /// A cloud of `layout` whose points are a block of this publisher's
    /// pool: fill it and send it here without a copy. The points are not
    /// cleared (see [`Topic::loan_layout`]).
    pub fn loan(&self, layout: PointCloudLayout) -> Result<PointCloud, PointCloudError> {
        Ok(self.loan_layout(layout)?)
    }
}
