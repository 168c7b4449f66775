//! An ndarray over an [`ArrayBase`]'s buffer in one call into numpy's C API,
//! found at run time (no numpy headers, no `numpy` crate, so the abi3 wheel
//! still binds to no numpy version).
//!
//! `numpy.asarray(base)` discovers the object, reads its `__array_struct__`
//! capsule and makes a tuple `(base, capsule)` the array's base: about two
//! thirds of a `to_numpy()`. `PyArray_NewFromDescr` makes the array from the
//! shape, strides, dtype and address directly, and `PyArray_SetBaseObject`
//! makes the `ArrayBase` itself its base (which keeps the owner, and so the
//! memory, alive exactly as long as the array).
//!
//! The table is numpy's `_ARRAY_API` capsule; its entries are numpy's stable
//! ABI, the same indices in numpy 1.x and 2.x (`__multiarray_api.h`): 0
//! `PyArray_GetNDArrayCVersion`, 2 `PyArray_Type`, 94 `PyArray_NewFromDescr`,
//! 211 `PyArray_GetNDArrayCFeatureVersion`, 282 `PyArray_SetBaseObject`. It
//! is used only when the running numpy says it is one of those ABIs
//! (`0x01000009`: 1.x, `0x02000000`: 2.x) with `SetBaseObject` (feature
//! version >= 7, numpy 1.7); otherwise [`new_array`] answers `None` and the
//! caller goes through `numpy.asarray`, which needs no table.

use std::ffi::{c_int, c_uint, c_void};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::array::{ArrayBase, ArrayDType};
use crate::array_struct::{WRITEABLE, numpy_dims, numpy_dtype};

type VersionFn = unsafe extern "C" fn() -> c_uint;
type NewFromDescrFn = unsafe extern "C" fn(
    subtype: *mut ffi::PyTypeObject,
    descr: *mut ffi::PyObject,
    nd: c_int,
    dims: *const isize,
    strides: *const isize,
    data: *mut c_void,
    flags: c_int,
    obj: *mut ffi::PyObject,
) -> *mut ffi::PyObject;
type SetBaseObjectFn =
    unsafe extern "C" fn(arr: *mut ffi::PyObject, obj: *mut ffi::PyObject) -> c_int;

const GET_NDARRAY_C_VERSION: usize = 0;
const ARRAY_TYPE: usize = 2;
const NEW_FROM_DESCR: usize = 94;
const GET_NDARRAY_C_FEATURE_VERSION: usize = 211;
const SET_BASE_OBJECT: usize = 282;
/// The ABI versions whose table has the entries above at those indices.
const KNOWN_ABIS: [c_uint; 2] = [0x0100_0009, 0x0200_0000];
/// numpy 1.7's feature version, which added `PyArray_SetBaseObject`.
const MIN_FEATURE_VERSION: c_uint = 7;

/// The entries of the table [`new_array`] calls.
struct NumpyApi {
    array_type: *mut ffi::PyTypeObject,
    new_from_descr: NewFromDescrFn,
    set_base_object: SetBaseObjectFn,
    /// The capsule whose table these came from, kept referenced.
    _capsule: Py<PyAny>,
}

// SAFETY: the pointers are numpy's static type object and functions, valid
// for the life of the process and used only with the GIL held (every call
// takes a `Python` token).
unsafe impl Send for NumpyApi {}
// SAFETY: as for `Send`: nothing in it is mutated after it is made.
unsafe impl Sync for NumpyApi {}

/// The table, looked up once per process (`None`: numpy missing, or not an
/// ABI this code knows). `PyOnceLock`: its init runs Python code (the
/// import), which may switch threads; another thread waiting here lets go
/// of the GIL instead of deadlocking.
static API: PyOnceLock<Option<NumpyApi>> = PyOnceLock::new();

/// Finds numpy's C API table and checks its versions.
fn load(py: Python<'_>) -> Option<NumpyApi> {
    let module = match py.import("numpy._core._multiarray_umath") {
        Ok(m) => m,
        // numpy 1.x (its `numpy.core` warns on numpy 2, so it comes second).
        Err(_) => py.import("numpy.core._multiarray_umath").ok()?,
    };
    let capsule = module.getattr("_ARRAY_API").ok()?;
    // SAFETY: `capsule` is a live object (GIL held); a non-capsule or a
    // named capsule gives null, with an error we clear.
    let table = unsafe {
        if ffi::PyCapsule_CheckExact(capsule.as_ptr()) == 0 {
            return None;
        }
        let p = ffi::PyCapsule_GetPointer(capsule.as_ptr(), std::ptr::null());
        if p.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        p.cast::<*mut c_void>()
    };
    // SAFETY: `table` is numpy's `void **PyArray_API`; entries 0 and 211
    // are its version functions in every numpy since 1.4, and the other
    // entries are read only once those versions say the table is one whose
    // indices this module names (module docs).
    unsafe {
        let entry = |i: usize| *table.add(i);
        let abi = std::mem::transmute::<*mut c_void, VersionFn>(entry(GET_NDARRAY_C_VERSION))();
        if !KNOWN_ABIS.contains(&abi) {
            return None;
        }
        let feature =
            std::mem::transmute::<*mut c_void, VersionFn>(entry(GET_NDARRAY_C_FEATURE_VERSION))();
        if feature < MIN_FEATURE_VERSION {
            return None;
        }
        Some(NumpyApi {
            array_type: entry(ARRAY_TYPE).cast(),
            new_from_descr: std::mem::transmute::<*mut c_void, NewFromDescrFn>(entry(
                NEW_FROM_DESCR,
            )),
            set_base_object: std::mem::transmute::<*mut c_void, SetBaseObjectFn>(entry(
                SET_BASE_OBJECT,
            )),
            _capsule: capsule.unbind(),
        })
    }
}

/// An ndarray over `base`'s buffer whose `.base` is `base`: read-only when
/// the buffer is. `None` when numpy's table is not available (the caller
/// uses `numpy.asarray(base)`, which reaches the same array through
/// `__array_struct__`).
pub(crate) fn new_array<'py>(
    py: Python<'py>,
    base: Bound<'py, ArrayBase>,
) -> Option<PyResult<Bound<'py, PyAny>>> {
    let api = API.get_or_init(py, || load(py)).as_ref()?;
    let (addr, shape, strides, dtype, readonly) = base.get().layout();
    let nd = shape.len();
    let (dims, steps) = match numpy_dims(shape, strides) {
        Ok(d) => d,
        Err(e) => return Some(Err(e)),
    };
    let descr = numpy_dtype(py, dtype.typestr())?;
    let flags = if readonly { 0 } else { WRITEABLE };
    // SAFETY: the GIL is held; `api` is numpy's own table (checked in
    // `load`). `NewFromDescr` steals the dtype reference (`into_ptr`) and
    // copies `dims` and `steps` (given explicitly, so numpy computes the
    // contiguity and alignment flags itself); the data pointer is valid for
    // the whole extent while `base` lives (`ArrayBase`'s contract), which
    // the array ensures by keeping `base`: `SetBaseObject` steals the
    // reference `into_ptr` makes, and on failure drops it itself. A null
    // array comes with numpy's error set.
    unsafe {
        let arr = (api.new_from_descr)(
            api.array_type,
            descr.into_ptr(),
            nd as c_int,
            dims.as_ptr(),
            steps.as_ptr(),
            addr as *mut c_void,
            flags,
            std::ptr::null_mut(),
        );
        if arr.is_null() {
            return Some(Err(PyErr::fetch(py)));
        }
        let arr = Bound::from_owned_ptr(py, arr);
        if (api.set_base_object)(arr.as_ptr(), base.into_ptr()) < 0 {
            return Some(Err(PyErr::fetch(py)));
        }
        Some(Ok(arr))
    }
}
