//! Tensors over block pools: n-dimensional arrays of one dtype, the
//! elements in a shared block, a 104-byte [`TensorFrame`] in the ring.
//!
//! A [`Tensor`] is a [`Pooled`] message of [`TensorLayout`] (dtype, shape,
//! strides): sending, receiving, loaning and accounting are
//! [`crate::pooled`]'s. A received tensor is a [`TensorView`] of the
//! elements in place, released when dropped. Typed element access, on both,
//! is [`TensorData`].
//!
//! **Layout rules** (numpy's and DLPack's, so Python hands a tensor over
//! without a copy):
//! - rank 1 to [`MAX_RANK`], every dimension at least 1;
//! - strides in **bytes**, as numpy's `ndarray.strides` (DLPack counts
//!   elements: divide by the item size, which every stride is a multiple
//!   of); non-negative (no reversed views);
//! - the tensors made here are C-contiguous (row-major: the last index
//!   varies fastest); a received descriptor may carry other strides if every
//!   element lies inside the block, and [`TensorData::get`] follows them,
//!   while [`TensorData::as_slice`] needs a contiguous tensor;
//! - at most 4 GiB of elements (a descriptor's lengths are `u32`s; one
//!   that is sent must also fit a pool block, at most
//!   [`MAX_BLOCK_BYTES`](horus_nostd::pool::MAX_BLOCK_BYTES), 1 GiB); the
//!   data starts 8-byte aligned. So every
//!   dimension, and every stride that moves within the data, is below
//!   2^32: the descriptor carries them as `u32`s, and with its stamp a ring
//!   slot is two cache lines (with `u64`s it was three: one more line to
//!   move per message).
//!
//! ```no_run
//! use horus::prelude::*;
//! let topic: Topic<Tensor> = Topic::new("detector.features")?;
//! let mut t = topic.loan(DType::F32, &[2, 3])?;
//! t.as_slice_mut::<f32>().unwrap().copy_from_slice(&[0., 1., 2., 3., 4., 5.]);
//! topic.send(t);
//! if let Some(t) = topic.recv() {
//!     assert_eq!((t.shape(), t.strides()), (&[2u64, 3][..], &[12i64, 4][..]));
//!     assert_eq!(t.get::<f32>(&[1, 2]), Some(5.0));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::pooled::{
    BlockRef, PoolError, PoolView, Pooled, PooledData, PooledLayout, block_of, wire_word,
    word_halves, word_pair,
};
use crate::topic::Topic;

/// The largest rank a tensor may have.
pub const MAX_RANK: usize = 8;

horus_nostd::message! {
    /// What a tensor topic's ring carries: the block (the five fields every
    /// pooled descriptor starts with), then dtype, rank, shape and byte
    /// strides (entries past `rank` are zero; each below 2^32, as the data
    /// is at most 4 GiB).
    TensorFrame {
        /// The publisher's liveness token (names its pool's segment files).
        owner: u64,
        /// The block's generation when published.
        generation: u64,
        /// Segment id in the publisher's pool.
        segment: u32,
        /// Block index in the segment.
        block: u32,
        /// Bytes of data.
        len: u32,
        /// [`DType`] code.
        dtype: u32,
        /// Dimensions used in `shape` and `strides`.
        rank: u32,
        /// Zero.
        reserved: u32,
        /// Elements along each dimension.
        shape: [u32; 8],
        /// Bytes from one element to the next along each dimension.
        strides: [u32; 8],
    }
}

/// Element types (numpy's names; `"f32"`-style names parse too).
///
/// ```
/// use horus::tensor::DType;
/// assert_eq!("float32".parse::<DType>().unwrap(), DType::F32);
/// assert_eq!("u16".parse::<DType>().unwrap().size(), 2);
/// assert!("complex64".parse::<DType>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// `uint8`
    U8,
    /// `int8`
    I8,
    /// `uint16`
    U16,
    /// `int16`
    I16,
    /// `uint32`
    U32,
    /// `int32`
    I32,
    /// `uint64`
    U64,
    /// `int64`
    I64,
    /// `float16` (IEEE half; read it through [`PooledData::data`]).
    F16,
    /// `float32`
    F32,
    /// `float64`
    F64,
    /// `bool` (one byte, 0 or 1; read it through [`PooledData::data`]).
    Bool,
}

/// (dtype, numpy name, Rust name, bytes); the position + 1 is the code in
/// [`TensorFrame::dtype`]: append only, never reorder.
const DTYPES: [(DType, &str, &str, u32); 12] = [
    (DType::U8, "uint8", "u8", 1),
    (DType::I8, "int8", "i8", 1),
    (DType::U16, "uint16", "u16", 2),
    (DType::I16, "int16", "i16", 2),
    (DType::U32, "uint32", "u32", 4),
    (DType::I32, "int32", "i32", 4),
    (DType::U64, "uint64", "u64", 8),
    (DType::I64, "int64", "i64", 8),
    (DType::F16, "float16", "f16", 2),
    (DType::F32, "float32", "f32", 4),
    (DType::F64, "float64", "f64", 8),
    (DType::Bool, "bool", "bool", 1),
];

impl DType {
    fn index(self) -> usize {
        DTYPES.iter().position(|d| d.0 == self).unwrap_or(0)
    }

    /// numpy's name (`"float32"`).
    pub fn as_str(self) -> &'static str {
        DTYPES[self.index()].1
    }

    /// Bytes per element.
    pub fn size(self) -> u32 {
        DTYPES[self.index()].3
    }

    /// The code carried in [`TensorFrame::dtype`] (1-based).
    pub fn code(self) -> u32 {
        self.index() as u32 + 1
    }

    /// The dtype of a code, if valid.
    pub fn from_code(code: u32) -> Option<Self> {
        let i = usize::try_from(code.checked_sub(1)?).ok()?;
        DTYPES.get(i).map(|d| d.0)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DType {
    type Err = TensorError;
    fn from_str(s: &str) -> Result<Self, TensorError> {
        DTYPES
            .into_iter()
            .find(|d| d.1 == s || d.2 == s)
            .map(|d| d.0)
            .ok_or_else(|| TensorError::UnknownDType {
                given: s.to_owned(),
            })
    }
}

/// A Rust type a tensor's elements can be read as.
pub trait Element: bytemuck::Pod {
    /// Its dtype.
    const DTYPE: DType;
}

macro_rules! elements {
    ($($t:ty => $d:ident),*) => {
        $(impl Element for $t {
            const DTYPE: DType = DType::$d;
        })*
    };
}
elements!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32,
          u64 => U64, i64 => I64, f32 => F32, f64 => F64);

/// Anything wrong with a tensor's dtype, shape or data, or with sending it:
/// the sentence names the thing and the fix (`Debug` is that sentence too).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// The dtype name is not one of [`DType`]'s.
    #[error(
        "unknown tensor dtype {:?}: use one of {}",
        crate::error::echoed(given),
        dtype_names()
    )]
    UnknownDType {
        /// The name given.
        given: String,
    },
    /// The shape is empty or has a zero dimension.
    #[error(
        "tensor of shape {shape:?} has no elements: give at least one dimension, \
         each at least 1"
    )]
    EmptyShape {
        /// The shape given.
        shape: Vec<u64>,
    },
    /// More than [`MAX_RANK`] dimensions.
    #[error(
        "tensor of rank {rank} has more than {MAX_RANK} dimensions: reshape it \
         (merge dimensions) to at most {MAX_RANK}"
    )]
    RankTooLarge {
        /// The rank given.
        rank: usize,
    },
    /// More than 4 GiB of elements.
    #[error("{dtype} tensor of shape {shape:?} is larger than 4 GiB: split it")]
    TooLarge {
        /// The shape given.
        shape: Vec<u64>,
        /// The dtype.
        dtype: DType,
    },
    /// The data does not have `elements x dtype size` bytes.
    #[error(
        "{dtype} tensor data has {found} bytes but the shape needs {expected} \
         (elements x {} bytes)",
        dtype.size()
    )]
    WrongDataSize {
        /// Bytes the shape needs.
        expected: usize,
        /// Bytes given.
        found: usize,
        /// The dtype.
        dtype: DType,
    },
    /// The topic's pool could not take the tensor (see [`PoolError`]).
    #[error(transparent)]
    Pool(#[from] PoolError),
}

crate::pooled::kind_error!(TensorError);

/// The dtype names, for [`TensorError::UnknownDType`]'s sentence.
fn dtype_names() -> String {
    let names: Vec<&str> = DTYPES.iter().map(|d| d.1).collect();
    names.join(", ")
}

/// What a tensor's bytes are: dtype, shape and byte strides (see the
/// [module docs](self) for the rules). Checked when made.
///
/// ```
/// use horus::tensor::{DType, TensorLayout};
/// let l = TensorLayout::contiguous(DType::U16, &[4, 5]).unwrap();
/// assert_eq!((l.strides(), l.numel()), (&[10i64, 2][..], 20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorLayout {
    dtype: DType,
    rank: usize,
    shape: [u64; MAX_RANK],
    strides: [i64; MAX_RANK],
    bytes: u32,
}

impl TensorLayout {
    /// The C-contiguous (row-major) layout of `shape` of `dtype`, checked.
    #[inline]
    pub fn contiguous(dtype: DType, shape: &[u64]) -> Result<Self, TensorError> {
        if shape.len() > MAX_RANK {
            return Err(TensorError::RankTooLarge { rank: shape.len() });
        }
        if shape.is_empty() || shape.contains(&0) {
            return Err(TensorError::EmptyShape {
                shape: shape.to_vec(),
            });
        }
        let too_large = || TensorError::TooLarge {
            shape: shape.to_vec(),
            dtype,
        };
        let mut l = Self {
            dtype,
            rank: shape.len(),
            shape: [0; MAX_RANK],
            strides: [0; MAX_RANK],
            bytes: 0,
        };
        let mut stride = u64::from(dtype.size());
        for (i, &n) in shape.iter().enumerate().rev() {
            l.shape[i] = n;
            l.strides[i] = i64::try_from(stride).map_err(|_| too_large())?;
            stride = stride.checked_mul(n).ok_or_else(too_large)?;
        }
        l.bytes = u32::try_from(stride).map_err(|_| too_large())?;
        usize::try_from(l.bytes).map_err(|_| too_large())?;
        Ok(l)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Elements along each dimension.
    pub fn shape(&self) -> &[u64] {
        &self.shape[..self.rank]
    }

    /// Bytes from one element to the next along each dimension.
    pub fn strides(&self) -> &[i64] {
        &self.strides[..self.rank]
    }

    /// Dimensions.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Elements in all.
    ///
    /// Never overflows: a layout holds at most `isize::MAX` bytes' worth of
    /// elements (`numel() * dtype().size()`), checked where it is made
    /// ([`contiguous`](Self::contiguous), and a received descriptor, which
    /// may broadcast: a stride of 0 repeats elements, as numpy's views do).
    pub fn numel(&self) -> u64 {
        // The invariant above: the product fits (saturating only if broken).
        self.shape()
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .unwrap_or(u64::MAX)
    }

    /// Are the elements C-contiguous (row-major, no gaps)?
    pub fn is_contiguous(&self) -> bool {
        Self::contiguous(self.dtype, self.shape()).is_ok_and(|c| c.strides == self.strides)
    }

    /// Byte offset of the element at `index`, if it is in range.
    fn offset(&self, index: &[u64]) -> Option<usize> {
        if index.len() != self.rank {
            return None;
        }
        let mut off = 0u64;
        for ((&i, &n), &s) in index.iter().zip(self.shape()).zip(self.strides()) {
            if i >= n {
                return None;
            }
            off += i * s as u64;
        }
        usize::try_from(off).ok()
    }

    /// A descriptor's dtype, shape and strides, checked against its length.
    fn from_frame(f: &TensorFrame) -> Result<Self, String> {
        // Every field read as the words the ring stored (see
        // `pooled::wire_word`): `dtype` and `rank` in words 3 and 4, shape
        // and strides two to a word from word 5.
        let code = word_halves(wire_word(f, 3)).1;
        let dtype = DType::from_code(code).ok_or_else(|| format!("unknown dtype code {code}"))?;
        let (rank, reserved) = word_halves(wire_word(f, 4));
        let rank = rank as usize;
        if rank == 0 || rank > MAX_RANK {
            return Err(format!("rank {rank} is not 1 to {MAX_RANK}"));
        }
        if reserved != 0 {
            return Err(format!("its reserved field is {reserved}, not 0"));
        }
        let (mut shape, mut strides) = ([0u64; MAX_RANK], [0i64; MAX_RANK]);
        for pair in 0..MAX_RANK / 2 {
            let (a, b) = word_halves(wire_word(f, SHAPE_WORD + pair));
            (shape[2 * pair], shape[2 * pair + 1]) = (a.into(), b.into());
            let (a, b) = word_halves(wire_word(f, SHAPE_WORD + MAX_RANK / 2 + pair));
            (strides[2 * pair], strides[2 * pair + 1]) = (a.into(), b.into());
        }
        if shape[rank..].iter().any(|&n| n != 0) || strides[rank..].iter().any(|&s| s != 0) {
            return Err(format!("shape or strides past rank {rank} are not zero"));
        }
        let (used_shape, used_strides) = (&shape[..rank], &strides[..rank]);
        let size = i64::from(dtype.size());
        let mut extent = u128::from(dtype.size());
        for (&n, &s) in used_shape.iter().zip(used_strides) {
            if n == 0 || s % size != 0 {
                return Err(format!(
                    "shape {used_shape:?} with strides {used_strides:?}: dimensions must be at \
                     least 1, strides multiples of {size}"
                ));
            }
            extent += u128::from(n - 1) * s as u128;
        }
        // Stride 0 (a broadcast view) passes the extent whatever the
        // dimension, and other strides may overlap: the count of elements,
        // and their logical bytes, are bounded apart (as numpy does), so
        // `numel` and whatever a reader sizes by it never overflow.
        let logical = used_shape
            .iter()
            .try_fold(u64::from(dtype.size()), |b, &n| b.checked_mul(n))
            .filter(|&b| b <= isize::MAX as u64);
        if logical.is_none() {
            return Err(format!(
                "shape {used_shape:?} has more elements than a tensor can hold: their bytes \
                 ({dtype}) exceed {}",
                isize::MAX
            ));
        }
        let len = word_halves(wire_word(f, 3)).0;
        if extent > u128::from(len) {
            return Err(format!(
                "shape {used_shape:?} with strides {used_strides:?} reaches byte {extent}, \
                 past the {len} bytes of data"
            ));
        }
        Ok(Self {
            dtype,
            rank,
            shape,
            strides,
            bytes: len,
        })
    }
}

/// The word of [`TensorFrame`] where `shape` starts (after the five
/// block fields and dtype, rank, reserved: 40 bytes); `strides` follow it.
const SHAPE_WORD: usize = 5;

impl PooledLayout for TensorLayout {
    type Wire = TensorFrame;
    const KIND: &'static str = "tensor";

    #[inline]
    fn bytes(&self) -> usize {
        self.bytes as usize
    }

    #[inline]
    fn to_wire(&self, b: BlockRef) -> TensorFrame {
        // Built as the words the ring copies (see `pooled::word_pair`):
        // the five fields, then `shape` and `strides`, two to a word. Every
        // dimension and stride is below 2^32: they come from a descriptor's
        // `u32`s, or from `contiguous`, whose every stride, and so every
        // dimension, is at most `bytes`, a `u32`.
        let mut words = [0u64; SHAPE_WORD + MAX_RANK];
        words[..SHAPE_WORD].copy_from_slice(&[
            b.owner,
            b.generation,
            word_pair(b.segment, b.block),
            word_pair(b.len, self.dtype.code()),
            word_pair(self.rank as u32, 0),
        ]);
        for pair in 0..MAX_RANK / 2 {
            let (n, s) = (&self.shape[2 * pair..], &self.strides[2 * pair..]);
            words[SHAPE_WORD + pair] = word_pair(n[0] as u32, n[1] as u32);
            words[SHAPE_WORD + MAX_RANK / 2 + pair] = word_pair(s[0] as u32, s[1] as u32);
        }
        bytemuck::cast(words)
    }

    #[inline]
    fn from_wire(f: &TensorFrame) -> (BlockRef, Result<Self, String>) {
        (block_of(f), Self::from_frame(f))
    }
}

/// Typed reads of a tensor, sent or received.
pub trait TensorData: PooledData<Layout = TensorLayout> {
    /// The elements as a slice of `T`, if `T` is the dtype and the tensor is
    /// contiguous.
    ///
    /// ```
    /// use horus::prelude::*;
    /// let t = Tensor::from_slice(&[2, 2], &[1u16, 2, 3, 4]).unwrap();
    /// assert_eq!(t.as_slice::<u16>(), Some(&[1u16, 2, 3, 4][..]));
    /// assert_eq!(t.as_slice::<i16>(), None);
    /// ```
    fn as_slice<T: Element>(&self) -> Option<&[T]> {
        let l = self.layout();
        if T::DTYPE != l.dtype() || !l.is_contiguous() {
            return None;
        }
        // The elements, not every byte of the block: a received descriptor
        // may say its data is longer than its elements.
        let bytes = usize::try_from(l.numel())
            .ok()?
            .checked_mul(T::DTYPE.size() as usize)?;
        bytemuck::try_cast_slice(self.data().get(..bytes)?).ok()
    }

    /// The element at `index` (following the strides), if `T` is the dtype
    /// and `index` is in range.
    fn get<T: Element>(&self, index: &[u64]) -> Option<T> {
        let l = self.layout();
        if T::DTYPE != l.dtype() {
            return None;
        }
        let at = l.offset(index)?;
        let bytes = self.data().get(at..at + std::mem::size_of::<T>())?;
        Some(bytemuck::pod_read_unaligned(bytes))
    }
}

impl<D: PooledData<Layout = TensorLayout>> TensorData for D {}

/// A tensor to send: its [`TensorLayout`] (through `Deref`) and its
/// elements, on the heap or in a loaned pool block.
pub type Tensor = Pooled<TensorLayout>;

/// A received tensor: a read-only view of the elements in the publisher's
/// pool block, released when dropped.
pub type TensorView = PoolView<TensorLayout>;

impl Tensor {
    /// A zeroed C-contiguous tensor of `shape` and `dtype` (a name, as
    /// numpy's `"float32"` or `"f32"`).
    ///
    /// # Panics
    /// If the dtype is unknown or the shape is empty, has a zero, more than
    /// [`MAX_RANK`] dimensions or more than 4 GiB, with the sentence of
    /// [`Tensor::try_new`]'s error. Use `try_new` for input read at run time.
    ///
    /// ```
    /// let t = horus::tensor::Tensor::new(&[3, 224, 224], "float32");
    /// assert_eq!(t.data().len(), 3 * 224 * 224 * 4);
    /// ```
    #[track_caller]
    pub fn new(shape: &[u64], dtype: &str) -> Self {
        match Self::try_new(shape, dtype) {
            Ok(t) => t,
            Err(e) => panic!("Tensor::new({shape:?}, {dtype:?}): {e}"),
        }
    }

    /// A zeroed C-contiguous tensor, or a typed error naming what is wrong.
    ///
    /// ```
    /// use horus::tensor::{Tensor, TensorError};
    /// assert!(matches!(Tensor::try_new(&[2, 0], "u8"), Err(TensorError::EmptyShape { .. })));
    /// assert!(matches!(Tensor::try_new(&[1; 9], "u8"), Err(TensorError::RankTooLarge { rank: 9 })));
    /// ```
    pub fn try_new(shape: &[u64], dtype: &str) -> Result<Self, TensorError> {
        let layout = TensorLayout::contiguous(dtype.parse()?, shape)?;
        Ok(Pooled::try_zeroed(layout)?)
    }

    /// A C-contiguous tensor of the given bytes; their length must fit.
    ///
    /// ```
    /// use horus::tensor::{DType, Tensor, TensorError};
    /// assert!(matches!(
    ///     Tensor::from_data(&[2, 2], DType::F32, vec![0; 8]),
    ///     Err(TensorError::WrongDataSize { expected: 16, found: 8, .. })
    /// ));
    /// ```
    pub fn from_data(shape: &[u64], dtype: DType, data: Vec<u8>) -> Result<Self, TensorError> {
        Self::from_bytes(shape, dtype, &data)
    }

    /// A C-contiguous tensor of the given elements, in row-major order.
    pub fn from_slice<T: Element>(shape: &[u64], elements: &[T]) -> Result<Self, TensorError> {
        Self::from_bytes(shape, T::DTYPE, bytemuck::cast_slice(elements))
    }

    fn from_bytes(shape: &[u64], dtype: DType, data: &[u8]) -> Result<Self, TensorError> {
        let layout = TensorLayout::contiguous(dtype, shape)?;
        if data.len() != layout.bytes() {
            return Err(TensorError::WrongDataSize {
                expected: layout.bytes(),
                found: data.len(),
                dtype,
            });
        }
        Ok(Pooled::with_data(layout, data)?)
    }

    /// The elements as a writable slice of `T`, if `T` is the dtype.
    pub fn as_slice_mut<T: Element>(&mut self) -> Option<&mut [T]> {
        if T::DTYPE != self.dtype() {
            return None;
        }
        bytemuck::try_cast_slice_mut(self.data_mut()).ok()
    }
}

impl Topic<Tensor> {
    /// A C-contiguous tensor whose elements are a block of this publisher's
    /// pool: fill it and send it here without a copy. The elements are not
    /// cleared (see [`Topic::loan_layout`]).
    #[inline]
    pub fn loan(&self, dtype: DType, shape: &[u64]) -> Result<Tensor, TensorError> {
        let layout = TensorLayout::contiguous(dtype, shape)?;
        Ok(self.loan_layout(layout)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frame is built and read as words (`word_pair`, `wire_word`):
    /// those words must be the struct's fields, on either byte order.
    #[test]
    fn frame_words_are_its_fields() {
        let layout = TensorLayout::contiguous(DType::U16, &[3, 4, 5]).unwrap();
        let block = BlockRef {
            owner: 0x0102_0304_0506_0708,
            generation: 0x1112_1314_1516_1718,
            segment: 0x2122_2324,
            block: 0x3132_3334,
            len: 120,
        };
        let f = layout.to_wire(block);
        assert_eq!((f.owner, f.generation), (block.owner, block.generation));
        assert_eq!((f.segment, f.block, f.len), (0x2122_2324, 0x3132_3334, 120));
        assert_eq!((f.dtype, f.rank, f.reserved), (DType::U16.code(), 3, 0));
        assert_eq!(f.shape, [3, 4, 5, 0, 0, 0, 0, 0]);
        assert_eq!(f.strides, [40, 10, 2, 0, 0, 0, 0, 0]);
        assert_eq!(TensorLayout::from_wire(&f), (block, Ok(layout)));
        // The reserved field is zero: another value was accepted, unread.
        let junk = TensorFrame { reserved: 7, ..f };
        assert_eq!(
            TensorLayout::from_wire(&junk),
            (block, Err("its reserved field is 7, not 0".into()))
        );
    }
}
