//! DLPack capsules over an [`ArrayBase`]'s buffer (CPU, no copy), in the
//! legacy form (`"dltensor"`, DLPack < 1.0) and the versioned form
//! (`"dltensor_versioned"`, 1.0, with the read-only flag). The structs are
//! DLPack's C ABI (`dlpack.h`); the manager context is the boxed export
//! itself, which holds the buffer's owner until the consumer's deleter (or
//! the capsule's destructor, if nobody consumed it) frees it.

use std::ffi::{CStr, c_void};

use pyo3::ffi;
use pyo3::prelude::*;

use crate::array::{ArrayBase, DLPACK_CPU, Owner};

#[repr(C)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

/// `DLPACK_FLAG_BITMASK_READ_ONLY`.
const FLAG_READ_ONLY: u64 = 1;

const LEGACY: &CStr = c"dltensor";
const VERSIONED: &CStr = c"dltensor_versioned";

/// One export: the managed tensor first (so a pointer to it is a pointer
/// to the export), then what its pointers point into, then the owner.
#[repr(C)]
struct Export<M> {
    managed: M,
    shape: Vec<i64>,
    strides: Vec<i64>,
    _owner: Owner,
}

/// Frees an export made by [`capsule`].
///
/// # Safety
/// `m` must be null or the `managed` field of a `Box<Export<M>>` leaked by
/// [`capsule`], not freed before (DLPack calls the deleter once).
unsafe extern "C" fn delete<M>(m: *mut M) {
    if !m.is_null() {
        // SAFETY: `managed` is the first field of the `#[repr(C)]` export,
        // so `m` is the leaked box's pointer; per the contract it is freed
        // only here, once.
        drop(unsafe { Box::from_raw(m.cast::<Export<M>>()) });
    }
}

/// The two forms of managed tensor.
trait Managed: Sized {
    /// The capsule's name for this form.
    const NAME: &'static CStr;
    /// The managed tensor of `tensor`, its deleter set, context null.
    fn new(tensor: DLTensor, readonly: bool) -> Self;
    /// Its tensor and its manager context.
    fn parts(&mut self) -> (&mut DLTensor, &mut *mut c_void);
}

impl Managed for DLManagedTensor {
    const NAME: &'static CStr = LEGACY;
    fn new(dl_tensor: DLTensor, _readonly: bool) -> Self {
        Self {
            dl_tensor,
            manager_ctx: std::ptr::null_mut(),
            deleter: Some(delete::<Self>),
        }
    }
    fn parts(&mut self) -> (&mut DLTensor, &mut *mut c_void) {
        (&mut self.dl_tensor, &mut self.manager_ctx)
    }
}

impl Managed for DLManagedTensorVersioned {
    const NAME: &'static CStr = VERSIONED;
    fn new(dl_tensor: DLTensor, readonly: bool) -> Self {
        Self {
            version: DLPackVersion { major: 1, minor: 0 },
            manager_ctx: std::ptr::null_mut(),
            deleter: Some(delete::<Self>),
            flags: if readonly { FLAG_READ_ONLY } else { 0 },
            dl_tensor,
        }
    }
    fn parts(&mut self) -> (&mut DLTensor, &mut *mut c_void) {
        (&mut self.dl_tensor, &mut self.manager_ctx)
    }
}

/// The capsule's destructor: frees the export unless a consumer took it
/// (renaming the capsule to `used_...`, after which the deleter is theirs).
///
/// # Safety
/// Called by CPython with a capsule being destroyed (GIL held) that
/// [`new_capsule`] made with this `M`.
unsafe extern "C" fn destroy<M: Managed>(capsule: *mut ffi::PyObject) {
    // SAFETY: `capsule` is a live capsule; `IsValid` sets no error. A
    // capsule still named `M::NAME` holds our unconsumed export of `M`.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, M::NAME.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(capsule, M::NAME.as_ptr());
            delete::<M>(m.cast());
        }
    }
}

/// A new DLPack capsule over `base`'s buffer: versioned (DLPack 1.0, with
/// the read-only flag) or legacy.
pub(crate) fn capsule<'py>(
    py: Python<'py>,
    base: &ArrayBase,
    versioned: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if versioned {
        new_capsule::<DLManagedTensorVersioned>(py, base)
    } else {
        new_capsule::<DLManagedTensor>(py, base)
    }
}

fn new_capsule<'py, M: Managed>(py: Python<'py>, base: &ArrayBase) -> PyResult<Bound<'py, PyAny>> {
    let (owner, addr, shape, strides, (code, bits), readonly) = base.dlpack_parts();
    let tensor = DLTensor {
        data: addr as *mut c_void,
        device: DLDevice {
            device_type: DLPACK_CPU,
            device_id: 0,
        },
        ndim: shape.len() as i32,
        dtype: DLDataType {
            code,
            bits,
            lanes: 1,
        },
        // Set below, once the vectors are in the box.
        shape: std::ptr::null_mut(),
        strides: std::ptr::null_mut(),
        byte_offset: 0,
    };
    let mut e = Box::new(Export {
        managed: M::new(tensor, readonly),
        shape,
        strides,
        _owner: owner,
    });
    let (shape_ptr, strides_ptr) = (e.shape.as_mut_ptr(), e.strides.as_mut_ptr());
    let (t, _) = e.managed.parts();
    t.shape = shape_ptr;
    t.strides = strides_ptr;
    let p = Box::into_raw(e);
    // SAFETY: `p` is the box just leaked, valid until `delete` frees it.
    let (_, ctx) = unsafe { (*p).managed.parts() };
    *ctx = p.cast();
    // SAFETY: `p` is a leaked export of `M`, the kind `destroy::<M>` frees
    // under the name `M::NAME` (a static C string).
    let cap = unsafe { ffi::PyCapsule_New(p.cast(), M::NAME.as_ptr(), Some(destroy::<M>)) };
    if cap.is_null() {
        // SAFETY: no capsule was made: nobody else has `p`.
        unsafe { delete::<M>(p.cast()) };
    }
    // SAFETY: `cap` is PyCapsule_New's new reference, or null with its error set.
    unsafe { Bound::from_owned_ptr_or_err(py, cap) }
}
