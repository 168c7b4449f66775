//! Numpy arrays over memory Rust owns (a pool block of a received image, the
//! pixels of an image to send), without copying: `horus._horus.ArrayBase`.
//!
//! An [`ArrayBase`] is a buffer (address and length, kept valid by an owner
//! object it holds: an `ImageView`, an `Image` being filled, ...) plus a
//! shape, strides and a [`DType`]. It offers numpy's
//! [`__array_interface__`](https://numpy.org/doc/stable/reference/arrays.interface.html)
//! (version 3) and its C form `__array_struct__` (`array_struct.rs`, the
//! one numpy reads first): `numpy.asarray(base)` makes an array over the buffer itself
//! that keeps the `ArrayBase`, and so the owner, alive; a read-only base
//! gives a read-only array. `to_numpy()` makes the same array through
//! numpy's C API instead (`numpy_api.rs`: 2.6x faster), its `.base` the
//! `ArrayBase` itself. It also offers DLPack
//! (`__dlpack__`/`__dlpack_device__`, CPU only): the capsule's manager
//! context holds the owner, released by the consumer's deleter.
//!
//! Nothing here knows about images: a tensor or a depth image is another
//! owner with another shape and dtype.

use std::sync::{Arc, OnceLock};

use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// Keeps an array's memory valid while it lives (dropped without the GIL
/// from a DLPack deleter, so it must be `Send + Sync`).
pub(crate) type Owner = Arc<dyn Send + Sync + 'static>;

/// Element types of the arrays: horus-std's tensor dtypes.
pub(crate) use horus::tensor::DType;

/// What numpy and DLPack call a [`DType`].
pub(crate) trait ArrayDType {
    /// Bytes per element.
    fn item_size(self) -> usize;
    /// numpy's type string (native byte order).
    fn typestr(self) -> &'static str;
    /// numpy's type kind (`b`, `i`, `u`, `f`).
    fn kind(self) -> u8;
    /// DLPack's `(code, bits)`: kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBool = 6.
    fn dlpack(self) -> (u8, u8);
}

impl ArrayDType for DType {
    fn item_size(self) -> usize {
        self.size() as usize
    }

    fn typestr(self) -> &'static str {
        let little = cfg!(target_endian = "little");
        match (self, little) {
            (DType::U8, _) => "|u1",
            (DType::I8, _) => "|i1",
            (DType::Bool, _) => "|b1",
            (DType::U16, true) => "<u2",
            (DType::I16, true) => "<i2",
            (DType::U32, true) => "<u4",
            (DType::I32, true) => "<i4",
            (DType::U64, true) => "<u8",
            (DType::I64, true) => "<i8",
            (DType::F16, true) => "<f2",
            (DType::F32, true) => "<f4",
            (DType::F64, true) => "<f8",
            (DType::U16, false) => ">u2",
            (DType::I16, false) => ">i2",
            (DType::U32, false) => ">u4",
            (DType::I32, false) => ">i4",
            (DType::U64, false) => ">u8",
            (DType::I64, false) => ">i8",
            (DType::F16, false) => ">f2",
            (DType::F32, false) => ">f4",
            (DType::F64, false) => ">f8",
            // DType is non-exhaustive: a later one has no numpy form here.
            _ => "|V1",
        }
    }

    fn kind(self) -> u8 {
        self.typestr().as_bytes()[1]
    }

    fn dlpack(self) -> (u8, u8) {
        let bits = (self.size() * 8) as u8;
        match self.kind() {
            b'i' => (0, bits),
            b'f' => (2, bits),
            b'b' => (6, bits),
            _ => (1, bits),
        }
    }
}

/// The base object of arrays over Rust-owned memory (see the module docs).
#[pyclass(name = "ArrayBase", module = "horus._horus", frozen)]
pub struct ArrayBase {
    owner: Owner,
    /// The first element's address (a `usize` so the class is `Send`).
    addr: usize,
    shape: Vec<usize>,
    /// In bytes.
    strides: Vec<isize>,
    dtype: DType,
    readonly: bool,
    /// Bytes from `addr` to the byte past the last element.
    extent: usize,
}

impl ArrayBase {
    /// A C-contiguous array of `shape` over `len` bytes at `ptr`.
    ///
    /// # Safety
    /// As [`ArrayBase::strided`].
    pub(crate) unsafe fn contiguous(
        owner: Owner,
        ptr: *const u8,
        len: usize,
        shape: Vec<usize>,
        dtype: DType,
        readonly: bool,
    ) -> Result<Self, String> {
        let strides = c_strides(&shape, dtype).ok_or_else(|| "array too large".to_owned())?;
        // SAFETY: the caller's contract, passed on.
        unsafe { Self::strided(owner, ptr, len, shape, strides, dtype, readonly) }
    }

    /// An array of `shape` with byte `strides` (non-negative) over `len`
    /// bytes at `ptr`.
    ///
    /// # Safety
    /// `ptr..ptr + len` must be valid for reads (and for writes unless
    /// `readonly`) by Python code for as long as `owner` lives, with no Rust
    /// reference to those bytes alive while a Python reference to the base
    /// exists (Python reads and writes through the raw address). That every
    /// element lies inside the `len` bytes is checked (an error if not), as
    /// is the alignment of `ptr` for `dtype`.
    pub(crate) unsafe fn strided(
        owner: Owner,
        ptr: *const u8,
        len: usize,
        shape: Vec<usize>,
        strides: Vec<isize>,
        dtype: DType,
        readonly: bool,
    ) -> Result<Self, String> {
        let too_large = || "array too large".to_owned();
        if strides.len() != shape.len() || strides.iter().any(|&s| s < 0) {
            return Err(format!("strides {strides:?} do not fit shape {shape:?}"));
        }
        // The byte past the last element (or 0 for an empty array).
        let mut end = dtype.item_size();
        for (&n, &s) in shape.iter().zip(&strides) {
            if n == 0 {
                end = 0;
                break;
            }
            let reach = (n - 1).checked_mul(s as usize).ok_or_else(too_large)?;
            end = end.checked_add(reach).ok_or_else(too_large)?;
        }
        if end > len {
            return Err(format!(
                "an array of shape {shape:?}, strides {strides:?} and dtype {dtype} reaches byte \
                 {end}, the buffer has {len}"
            ));
        }
        if (ptr as usize) % dtype.item_size() != 0 {
            return Err(format!("the buffer is not aligned for {dtype}"));
        }
        Ok(Self {
            owner,
            addr: ptr as usize,
            shape,
            strides,
            dtype,
            readonly,
            extent: end,
        })
    }

    /// An ndarray over the buffer (no copy) whose `.base` is `self`: made
    /// through numpy's C API (`numpy_api.rs`), else `numpy.asarray(self)`.
    pub(crate) fn into_numpy(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        static ASARRAY: OnceLock<Py<PyAny>> = OnceLock::new();
        let asarray = match ASARRAY.get() {
            Some(f) => f.bind(py).clone(),
            None => {
                let numpy = py.import("numpy").map_err(|e| {
                    pyo3::exceptions::PyImportError::new_err(format!(
                        "numpy is needed for arrays of HORUS images ({e}): install it with \
                         `python -m pip install numpy`"
                    ))
                })?;
                let f = numpy.getattr("asarray")?;
                let _ = ASARRAY.set(f.clone().unbind());
                f
            }
        };
        let base = Bound::new(py, self)?;
        if let Some(made) = crate::numpy_api::new_array(py, base.clone()) {
            return made;
        }
        asarray.call1((base,))
    }
}

#[pymethods]
impl ArrayBase {
    /// numpy's array interface (version 3) over the buffer.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", PyTuple::new(py, &self.shape)?)?;
        d.set_item("strides", PyTuple::new(py, &self.strides)?)?;
        d.set_item("typestr", self.dtype.typestr())?;
        d.set_item("data", (self.addr, self.readonly))?;
        Ok(d)
    }

    /// numpy's array struct (a capsule): what `numpy.asarray` reads first.
    #[getter]
    fn __array_struct__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::array_struct::capsule(py, self)
    }

    /// `(address, bytes up to the end of the last element)` of the elements (to check where the
    /// memory is, e.g. inside a shared-memory block).
    #[getter]
    fn address_range(&self) -> (usize, usize) {
        (self.addr, self.extent)
    }

    /// Is the memory read-only?
    #[getter]
    fn readonly(&self) -> bool {
        self.readonly
    }

    /// `(kDLCPU, 0)`: the memory is the host's.
    pub(crate) fn __dlpack_device__(&self) -> (i32, i32) {
        (DLPACK_CPU, 0)
    }

    /// A DLPack capsule over the buffer (no copy). A consumer that passes
    /// `max_version >= (1, 0)` gets a versioned tensor, marked read-only
    /// when the buffer is; an older consumer gets a legacy tensor, which
    /// cannot say read-only: a read-only buffer (a received message's
    /// block, which other readers share) is then refused, as numpy refuses
    /// its own read-only arrays.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<Bound<'py, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if stream.is_some_and(|s| !s.is_none()) {
            return Err(PyBufferError::new_err(
                "HORUS arrays are in host memory: call __dlpack__ without a stream",
            ));
        }
        if dl_device.is_some_and(|d| d != (DLPACK_CPU, 0)) {
            return Err(PyBufferError::new_err(
                "HORUS arrays are in host memory (device (1, 0)); copy them to another device \
                 with that device's library",
            ));
        }
        if copy == Some(true) {
            return Err(PyBufferError::new_err(
                "HORUS arrays are exported without copying; for a copy use \
                 numpy.array(img.to_numpy())",
            ));
        }
        let size = self.dtype.item_size() as isize;
        if self.strides.iter().any(|s| s % size != 0) {
            return Err(PyBufferError::new_err(format!(
                "this array's strides {:?} are not multiples of its item size ({size} bytes), \
                 which DLPack cannot describe: use numpy.asarray(...) of it instead",
                self.strides
            )));
        }
        let versioned = max_version.is_some_and(|(major, _)| major >= 1);
        if self.readonly && !versioned {
            return Err(PyBufferError::new_err(
                "this array is read-only (a received message's shared-memory block, which \
                 other readers share) and DLPack before 1.0 cannot say so: the consumer must \
                 ask with max_version=(1, 0) (numpy >= 2.1's from_dlpack does), or take a \
                 copy: numpy.array(msg.to_numpy())",
            ));
        }
        crate::dlpack::capsule(py, self, versioned)
    }
}

/// DLPack's `kDLCPU`.
pub(crate) const DLPACK_CPU: i32 = 1;

impl ArrayBase {
    /// Are the elements C-contiguous (row-major, no gaps)?
    pub(crate) fn is_c_contiguous(&self) -> bool {
        c_strides(&self.shape, self.dtype).is_some_and(|c| c == self.strides)
            || self.shape.contains(&0)
    }

    /// Is every element aligned for the dtype?
    pub(crate) fn is_aligned(&self) -> bool {
        let size = self.dtype.item_size();
        self.addr % size == 0 && self.strides.iter().all(|&s| s as usize % size == 0)
    }

    /// `(address, shape, strides in bytes, dtype, read-only)`.
    pub(crate) fn layout(&self) -> (usize, &[usize], &[isize], DType, bool) {
        (
            self.addr,
            &self.shape,
            &self.strides,
            self.dtype,
            self.readonly,
        )
    }

    /// What a DLPack tensor needs: owner, address, shape and strides in
    /// elements, `(code, bits)`, read-only.
    pub(crate) fn dlpack_parts(&self) -> (Owner, usize, Vec<i64>, Vec<i64>, (u8, u8), bool) {
        let elem = self.dtype.item_size() as isize;
        (
            self.owner.clone(),
            self.addr,
            self.shape.iter().map(|&n| n as i64).collect(),
            self.strides.iter().map(|&s| (s / elem) as i64).collect(),
            self.dtype.dlpack(),
            self.readonly,
        )
    }
}

/// The C-contiguous byte strides of `shape`; `None` on overflow.
fn c_strides(shape: &[usize], dtype: DType) -> Option<Vec<isize>> {
    let mut strides = vec![0isize; shape.len()];
    let mut step = dtype.item_size();
    for (s, &n) in strides.iter_mut().zip(shape).rev() {
        *s = isize::try_from(step).ok()?;
        step = step.checked_mul(n)?;
    }
    Some(strides)
}
