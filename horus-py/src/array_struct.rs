//! numpy's `__array_struct__` of an [`ArrayBase`]: a capsule holding a C
//! `PyArrayInterface` (numpy's `ndarraytypes.h`), which numpy reads without
//! parsing the `__array_interface__` dict (the faster path for
//! `numpy.asarray`). numpy makes the array's base the object that offered
//! the capsule (the `ArrayBase`, owner of the memory), and drops the capsule,
//! whose destructor frees the struct and its shape and strides.
//!
//! The struct's `descr` is numpy's own dtype object of the elements (flag
//! `ARR_HAS_DESCR`), which numpy takes as it is; without it numpy formats
//! the type as a string (`"<u1"`) and parses it back for every array, more
//! than half the time of a `to_numpy()`. Where numpy cannot be imported, the
//! struct has no `descr` (`typekind` and `itemsize` say the same).

use std::ffi::{c_char, c_int, c_void};
use std::sync::Mutex;

use pyo3::ffi;
use pyo3::prelude::*;

use crate::array::{ArrayBase, ArrayDType};

#[repr(C)]
struct PyArrayInterface {
    /// Always 2 (numpy's sanity check).
    two: c_int,
    nd: c_int,
    typekind: c_char,
    itemsize: c_int,
    flags: c_int,
    shape: *mut isize,
    strides: *mut isize,
    data: *mut c_void,
    descr: *mut ffi::PyObject,
}

// numpy's flag bits (`NPY_ARRAY_*`).
const C_CONTIGUOUS: c_int = 0x0001;
const ALIGNED: c_int = 0x0100;
const NOTSWAPPED: c_int = 0x0200;
pub(crate) const WRITEABLE: c_int = 0x0400;
const ARR_HAS_DESCR: c_int = 0x0800;

/// numpy's dtype object of `typestr` (made once per type string; `None`
/// without numpy). The cache's lock is never held while Python code runs:
/// that code may switch to another thread, which would then wait for the
/// lock while holding the GIL.
pub(crate) fn numpy_dtype(py: Python<'_>, typestr: &'static str) -> Option<Py<PyAny>> {
    static DTYPES: Mutex<Vec<(&'static str, Py<PyAny>)>> = Mutex::new(Vec::new());
    let cached = |known: &[(&'static str, Py<PyAny>)]| {
        known
            .iter()
            .find(|(t, _)| *t == typestr)
            .map(|(_, d)| d.clone_ref(py))
    };
    if let Some(d) = cached(&DTYPES.lock().unwrap_or_else(|e| e.into_inner())) {
        return Some(d);
    }
    let d = py
        .import("numpy")
        .and_then(|np| np.getattr("dtype")?.call1((typestr,)))
        .ok()?
        .unbind();
    let mut known = DTYPES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(first) = cached(&known) {
        return Some(first); // another thread made it meanwhile
    }
    known.push((typestr, d.clone_ref(py)));
    Some(d)
}

/// Most dimensions of a numpy array (numpy 1's `NPY_MAXDIMS`; numpy 2
/// allows 64, no array of ours has more than 8).
pub(crate) const MAX_DIMS: usize = 32;

/// The struct first (the capsule's pointer is the box's), then what its
/// pointers point into: one allocation per capsule.
#[repr(C)]
struct Boxed {
    iface: PyArrayInterface,
    shape: [isize; MAX_DIMS],
    strides: [isize; MAX_DIMS],
    /// What `iface.descr` points to, kept alive as long as the struct.
    descr: Option<Py<PyAny>>,
}

/// Frees the `Boxed` of a capsule made by [`capsule`].
///
/// # Safety
/// Called by CPython (GIL held) once, when a capsule made by [`capsule`]
/// (unnamed, its pointer a leaked `Box<Boxed>`) is destroyed.
unsafe extern "C" fn destroy(capsule: *mut ffi::PyObject) {
    // SAFETY: the capsule is ours and unnamed; its pointer is the leaked
    // box, freed only here. A null pointer (never the case) sets an error
    // we clear rather than leave pending in a destructor.
    unsafe {
        let p = ffi::PyCapsule_GetPointer(capsule, std::ptr::null());
        if p.is_null() {
            ffi::PyErr_Clear();
        } else {
            drop(Box::from_raw(p.cast::<Boxed>()));
        }
    }
}

/// numpy's dimensions and byte strides of an array (`npy_intp`s, the first
/// `shape.len()` of each), or the error that numpy takes no more.
pub(crate) fn numpy_dims(
    shape: &[usize],
    strides: &[isize],
) -> PyResult<([isize; MAX_DIMS], [isize; MAX_DIMS])> {
    let nd = shape.len();
    if nd > MAX_DIMS {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "an array of {nd} dimensions: numpy takes at most {MAX_DIMS}"
        )));
    }
    let (mut dims, mut steps) = ([0isize; MAX_DIMS], [0isize; MAX_DIMS]);
    for (d, (&n, &s)) in shape.iter().zip(strides).enumerate() {
        // `ArrayBase` checked that the array's extent fits its buffer, so
        // every dimension fits an `isize`.
        (dims[d], steps[d]) = (n as isize, s);
    }
    Ok((dims, steps))
}

/// A new `__array_struct__` capsule describing `base`'s buffer.
pub(crate) fn capsule<'py>(py: Python<'py>, base: &ArrayBase) -> PyResult<Bound<'py, PyAny>> {
    let (addr, shape, strides, dtype, readonly) = base.layout();
    let nd = shape.len();
    let (dims, steps) = numpy_dims(shape, strides)?;
    let typekind = dtype.kind();
    let mut flags = NOTSWAPPED;
    if base.is_c_contiguous() {
        flags |= C_CONTIGUOUS;
    }
    if base.is_aligned() {
        flags |= ALIGNED;
    }
    if !readonly {
        flags |= WRITEABLE;
    }
    let descr = numpy_dtype(py, dtype.typestr());
    if descr.is_some() {
        flags |= ARR_HAS_DESCR;
    }
    let mut b = Box::new(Boxed {
        iface: PyArrayInterface {
            two: 2,
            nd: nd as c_int,
            typekind: typekind as c_char,
            itemsize: dtype.item_size() as c_int,
            flags,
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            data: addr as *mut c_void,
            descr: descr.as_ref().map_or(std::ptr::null_mut(), |d| d.as_ptr()),
        },
        shape: dims,
        strides: steps,
        descr,
    });
    b.iface.shape = b.shape.as_mut_ptr();
    b.iface.strides = b.strides.as_mut_ptr();
    let p = Box::into_raw(b);
    // SAFETY: `p` is a leaked `Boxed`, which `destroy` frees; unnamed
    // capsules are what numpy reads `__array_struct__` from.
    let cap = unsafe { ffi::PyCapsule_New(p.cast(), std::ptr::null(), Some(destroy)) };
    if cap.is_null() {
        // SAFETY: no capsule was made: nobody else has `p`.
        drop(unsafe { Box::from_raw(p) });
    }
    // SAFETY: `cap` is PyCapsule_New's new reference, or null with its error set.
    unsafe { Bound::from_owned_ptr_or_err(py, cap) }
}
