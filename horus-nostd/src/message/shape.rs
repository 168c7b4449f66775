//! The array sizes of a message field: what a flat element count loses
//! (`[[u8; 2]; 4]` and `[u8; 8]` have the same bytes, not the same shape).

use core::fmt;

/// Most dimensions an array field may have (`[[[T; A]; B]; C]` has three).
///
/// A deeper array is a compile-time error in [`message!`](crate::message!).
pub const MAX_DIMS: usize = 6;

/// The array sizes of a field, outermost first: none for a scalar or a
/// single message, `[3]` for `[f32; 3]`, `[4, 2]` for `[[u8; 2]; 4]`.
///
/// ```
/// use horus_nostd::{Field, message::Shape};
/// let f = Field::of::<[[u8; 2]; 4]>("grid", 0);
/// assert_eq!(f.shape.dims(), &[4, 2]);
/// assert_eq!((f.shape.elements(), f.count), (Some(8), 8));
/// assert_eq!(Field::of::<f64>("x", 0).shape, Shape::SCALAR);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: [u32; MAX_DIMS],
    rank: u8,
}

impl Shape {
    /// No array: a scalar or a single message.
    pub const SCALAR: Self = Self {
        dims: [0; MAX_DIMS],
        rank: 0,
    };

    /// The shape with these sizes (outermost first); `None` for more than
    /// [`MAX_DIMS`] of them.
    ///
    /// ```
    /// use horus_nostd::message::Shape;
    /// assert_eq!(Shape::new(&[4, 2]).unwrap().dims(), &[4, 2]);
    /// assert!(Shape::new(&[1; 7]).is_none());
    /// ```
    pub const fn new(dims: &[u32]) -> Option<Self> {
        if dims.len() > MAX_DIMS {
            return None;
        }
        let mut shape = Self::SCALAR;
        let mut i = 0;
        while i < dims.len() {
            shape.dims[i] = dims[i];
            i += 1;
        }
        shape.rank = dims.len() as u8;
        Some(shape)
    }

    /// An array of `n` elements of this shape (`[T; n]` of a `T` of this
    /// shape).
    ///
    /// # Panics
    /// If the result would have more than [`MAX_DIMS`] dimensions or `n`
    /// exceeds `u32::MAX` (a message is at most 16 MiB): in a constant, as
    /// [`message!`](crate::message!) uses it, that is a compile-time error.
    pub const fn outer(self, n: usize) -> Self {
        assert!(
            (self.rank as usize) < MAX_DIMS,
            "a message field's array has more than 6 dimensions (the most a region records)"
        );
        assert!(
            n <= u32::MAX as usize,
            "a message field's array is over 4 Gi elements"
        );
        let mut shape = Self::SCALAR;
        shape.dims[0] = n as u32;
        let mut i = 0;
        while i < self.rank as usize {
            shape.dims[i + 1] = self.dims[i];
            i += 1;
        }
        shape.rank = self.rank + 1;
        shape
    }

    /// Number of dimensions (0 for a scalar).
    pub const fn rank(&self) -> usize {
        self.rank as usize
    }

    /// Size of dimension `d` (outermost 0); 0 past the rank.
    pub const fn dim(&self, d: usize) -> u32 {
        if d < self.rank as usize {
            self.dims[d]
        } else {
            0
        }
    }

    /// The sizes, outermost first.
    pub fn dims(&self) -> &[u32] {
        &self.dims[..self.rank as usize]
    }

    /// Number of elements (1 for a scalar); `None` if it overflows `u64`
    /// (only a foreign region's shape can).
    pub const fn elements(&self) -> Option<u64> {
        let mut n: u64 = 1;
        let mut i = 0;
        while i < self.rank as usize {
            n = match n.checked_mul(self.dims[i] as u64) {
                Some(n) => n,
                None => return None,
            };
            i += 1;
        }
        Some(n)
    }

    /// The flat index `i` (0-based, row-major) as one index per dimension,
    /// outermost first, in `out`; returns how many it wrote (the rank).
    ///
    /// ```
    /// use horus_nostd::message::Shape;
    /// let mut at = [0; 6];
    /// let n = Shape::new(&[3, 2]).unwrap().index_of(5, &mut at);
    /// assert_eq!(&at[..n], &[2, 1]);
    /// ```
    pub fn index_of(&self, mut i: usize, out: &mut [usize; MAX_DIMS]) -> usize {
        for d in (0..self.rank as usize).rev() {
            let n = (self.dims[d] as usize).max(1);
            out[d] = i % n;
            i /= n;
        }
        self.rank as usize
    }
}

/// As Rust's array types write the sizes after the element: `[4][2]`
/// (nothing for a scalar).
impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.dims() {
            write!(f, "[{d}]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.dims(), f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Shape {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[?]}", self.dims())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_puts_the_new_size_first() {
        let s = Shape::SCALAR.outer(2).outer(4).outer(3);
        assert_eq!(s.dims(), &[3, 4, 2]);
        assert_eq!(s.elements(), Some(24));
        let mut at = [0; MAX_DIMS];
        assert_eq!(s.index_of(0, &mut at), 3);
        assert_eq!(&at[..3], &[0, 0, 0]);
        s.index_of(23, &mut at);
        assert_eq!(&at[..3], &[2, 3, 1]);
        s.index_of(9, &mut at);
        assert_eq!(&at[..3], &[1, 0, 1]);
    }

    #[test]
    fn displays_as_rust_writes_array_sizes() {
        use core::fmt::Write;
        let mut s = heapless::String::<32>::new();
        write!(
            s,
            "{}|{}|{:?}",
            Shape::new(&[4, 2]).unwrap(),
            Shape::SCALAR,
            Shape::new(&[3]).unwrap()
        )
        .unwrap();
        assert_eq!(s.as_str(), "[4][2]||[3]");
    }

    #[test]
    fn elements_of_a_foreign_shape_may_overflow() {
        let s = Shape::new(&[u32::MAX; 3]).unwrap();
        assert_eq!(s.elements(), None);
    }

    #[test]
    #[should_panic(expected = "more than 6 dimensions")]
    fn a_seventh_dimension_is_refused() {
        let _ = Shape::new(&[1; 6]).unwrap().outer(1);
    }
}
