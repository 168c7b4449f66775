//! `FlatCodec`: a flat message class's bytes (no nested messages) made into
//! its object and back, in one native call each, with the layout
//! `struct.Struct("=" + format)` has (native byte order, no padding) and the
//! values it gives: the receive and send paths of every flat message in
//! Python.
//!
//! Each field's stored value is the one the Python code stores: an `int`
//! or a `float` for a scalar; `bytes` for a `u8` array, a `FixedList`
//! (`unflat`) of the values for another array; a multi-dimensional array
//! is made by `unflat` from its values in order, and its values in order
//! are `flat(value)`. The slots are read and written with the generic
//! attribute functions, as the slots' own descriptors do (not through the
//! class's `__setattr__`: its checks are for values from outside, these are
//! the message's own).
//!
//! `pack` gives `None` for a value it does not take as stored (of another
//! type, out of range: only a value stored bypassing the checks), and the
//! Python side then packs the message its own way, which raises the
//! sentence: nothing is packed here that `struct` would refuse, and no
//! value `struct` takes is refused there.

use horus::tensor::DType;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

/// A field's element type: the tensor dtypes that message fields have
/// (`"u8"` to `"f64"`; not `float16` or `bool`).
pub(crate) type Kind = DType;

/// `$int!(T)` for an integer dtype `$d` whose Rust type is `T`, `$f32` or
/// `$f64` for a float one, `$other` for the dtypes no field has.
macro_rules! by_kind {
    ($d:expr, $int:ident, $f32:expr, $f64:expr, $other:expr) => {
        match $d {
            DType::U8 => $int!(u8),
            DType::I8 => $int!(i8),
            DType::U16 => $int!(u16),
            DType::I16 => $int!(i16),
            DType::U32 => $int!(u32),
            DType::I32 => $int!(i32),
            DType::U64 => $int!(u64),
            DType::I64 => $int!(i64),
            DType::F32 => $f32,
            DType::F64 => $f64,
            _ => $other,
        }
    };
}

/// `true` for any integer type (for [`parse_kind`]).
macro_rules! is_int {
    ($t:ty) => {
        true
    };
}

/// The element type of message field kind `kind` (`"u8"`, ..., `"f64"`).
pub(crate) fn parse_kind(kind: &str) -> Option<Kind> {
    let d: DType = kind.parse().ok()?;
    by_kind!(d, is_int, true, true, false).then_some(d)
}

/// Bytes of one element.
pub(crate) fn kind_size(k: Kind) -> usize {
    k.size() as usize
}

/// The value of the `kind_size(k)` bytes `b` (native byte order).
fn decode<'py>(k: Kind, py: Python<'py>, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    macro_rules! int {
        ($t:ty) => {{
            let v = <$t>::from_ne_bytes(b.try_into().expect("a field's own bytes"));
            v.into_pyobject(py)?.into_any()
        }};
    }
    Ok(by_kind!(
        k,
        int,
        {
            let v = f32::from_ne_bytes(b.try_into().expect("a field's own bytes"));
            PyFloat::new(py, f64::from(v)).into_any()
        },
        {
            let v = f64::from_ne_bytes(b.try_into().expect("a field's own bytes"));
            PyFloat::new(py, v).into_any()
        },
        return Err(PyValueError::new_err(format!("no field holds {k}")))
    ))
}

/// Writes `v` into the `kind_size(k)` bytes `out`; `None` if `v` is not an
/// `int` (an integer kind) or a `float` (a float kind) that this kind holds.
pub(crate) fn encode(k: Kind, v: &Bound<'_, PyAny>, out: &mut [u8]) -> Option<()> {
    macro_rules! int {
        ($t:ty) => {{
            let v: $t = v.cast::<PyInt>().ok()?.extract().ok()?;
            out.copy_from_slice(&v.to_ne_bytes());
        }};
    }
    by_kind!(
        k,
        int,
        {
            let x = v.cast::<PyFloat>().ok()?.value();
            // As struct's "f": rounded to the nearest f32; a finite value
            // beyond its range is refused (OverflowError there).
            let y = x as f32;
            if y.is_infinite() && x.is_finite() {
                return None;
            }
            out.copy_from_slice(&y.to_ne_bytes());
        },
        {
            let x = v.cast::<PyFloat>().ok()?.value();
            out.copy_from_slice(&x.to_ne_bytes());
        },
        return None
    );
    Some(())
}

/// How a field's stored value is made of its struct values.
enum Shape {
    /// One value, stored as it is.
    Scalar,
    /// A `u8` array: one `bytes` of all its elements, stored as it is
    /// (one dimension) or made into rows by `unflat`.
    Bytes { unflat: Option<Py<PyAny>> },
    /// Another array: `unflat` of the tuple of its elements.
    Array { unflat: Py<PyAny> },
}

struct Field {
    /// The slot's name (interned).
    name: Py<PyString>,
    kind: Kind,
    /// Elements.
    count: usize,
    shape: Shape,
    /// A multi-dimensional array: its struct values from its stored value
    /// (`Field.flat`).
    flat: Option<Py<PyAny>>,
}

impl Field {
    fn bytes(&self) -> usize {
        kind_size(self.kind) * self.count
    }
}

/// The codec of one flat message class (see the module docs).
#[pyclass(name = "FlatCodec", module = "horus._horus", frozen)]
pub struct FlatCodec {
    cls: Py<PyType>,
    size: usize,
    fields: Vec<Field>,
}

/// `(name, kind, count, array, is_bytes, unflat, flat)` of one field, as
/// the Python side gives it.
type FieldSpec<'py> = (
    String,
    String,
    usize,
    bool,
    bool,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
);

#[pymethods]
impl FlatCodec {
    /// The codec of `cls`, whose struct is `size` bytes of `fields` in
    /// order.
    #[new]
    fn new(
        py: Python<'_>,
        cls: Bound<'_, PyType>,
        size: usize,
        fields: Vec<FieldSpec<'_>>,
    ) -> PyResult<Self> {
        let mut out = Vec::with_capacity(fields.len());
        let mut total = 0usize;
        for (name, kind, count, array, is_bytes, unflat, flat) in fields {
            let k = parse_kind(&kind)
                .ok_or_else(|| PyValueError::new_err(format!("no flat field kind {kind:?}")))?;
            total = count
                .checked_mul(kind_size(k))
                .and_then(|n| total.checked_add(n))
                .ok_or_else(|| PyValueError::new_err(format!("field {name} is too large")))?;
            let shape = match (array, is_bytes, unflat) {
                (false, _, None) => Shape::Scalar,
                (true, true, unflat) => Shape::Bytes {
                    unflat: unflat.map(Bound::unbind),
                },
                (true, false, Some(unflat)) => Shape::Array {
                    unflat: unflat.unbind(),
                },
                _ => {
                    return Err(PyValueError::new_err(format!(
                        "field {name} of {kind}: an array needs its list class, a scalar none"
                    )));
                }
            };
            out.push(Field {
                name: PyString::intern(py, &name).unbind(),
                kind: k,
                count,
                shape,
                flat: flat.map(Bound::unbind),
            });
        }
        if total != size {
            return Err(PyValueError::new_err(format!(
                "the fields of {} are {total} bytes, not {size}",
                cls.name()?
            )));
        }
        check_plain(&cls)?;
        Ok(Self {
            cls: cls.unbind(),
            size,
            fields: out,
        })
    }

    /// The message of class `cls` (the codec's, or a subclass) held in
    /// `data` (exactly its size, any bytes-like object).
    fn unpack<'py>(
        &self,
        cls: &Bound<'py, PyType>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        if !cls.is(&self.cls) {
            if !cls.is_subclass(self.cls.bind(py))? {
                return Err(PyTypeError::new_err(format!(
                    "{} is not a {}",
                    cls.name()?,
                    self.cls.bind(py).name()?
                )));
            }
            // A subclass may add a built-in base (`class S(dict, M)` where
            // `M` has no slots): checked as the codec's own class was.
            check_plain(cls)?;
        }
        if let Ok(b) = data.cast::<PyBytes>() {
            return self.unpack_bytes(cls, b.as_bytes());
        }
        if let Ok(b) = data.cast::<PyByteArray>() {
            // Copied first: a bytearray may change under the calls below.
            return self.unpack_bytes(cls, &b.to_vec());
        }
        // Any other bytes-like object (a TypeError for anything else).
        let view = py
            .import("builtins")?
            .getattr("memoryview")?
            .call1((data,))?;
        let b = view.call_method0("tobytes")?;
        self.unpack_bytes(cls, b.cast::<PyBytes>()?.as_bytes())
    }

    /// The message's bytes, or `None` if a field holds a value of another
    /// type or range than it stores (the caller packs it its own way).
    fn pack<'py>(&self, msg: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut out = vec![0u8; self.size];
        Ok(self
            .pack_into(msg, &mut out)?
            .map(|()| PyBytes::new(msg.py(), &out)))
    }

    /// Bytes per message.
    #[getter]
    fn size(&self) -> usize {
        self.size
    }
}

impl FlatCodec {
    /// Bytes per message.
    pub(crate) fn len(&self) -> usize {
        self.size
    }

    /// The class it was made for.
    pub(crate) fn class<'py>(&self, py: Python<'py>) -> &Bound<'py, PyType> {
        self.cls.bind(py)
    }

    /// Writes `msg`'s bytes into `out` (exactly `len()` bytes); `None` if a
    /// field holds a value of another type or range than it stores.
    pub(crate) fn pack_into(&self, msg: &Bound<'_, PyAny>, out: &mut [u8]) -> PyResult<Option<()>> {
        let py = msg.py();
        let mut at = 0;
        for f in &self.fields {
            let Ok(v) = msg.getattr(f.name.bind(py)) else {
                return Ok(None); // unset (made bypassing `__init__`)
            };
            let dst = &mut out[at..at + f.bytes()];
            at += f.bytes();
            if self.pack_field(f, &v, dst)?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    }

    /// The message of class `cls` (the codec's, or a subclass: not checked
    /// here) whose bytes are `data`.
    pub(crate) fn unpack_bytes<'py>(
        &self,
        cls: &Bound<'py, PyType>,
        data: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        if data.len() != self.size {
            return Err(PyValueError::new_err(format!(
                "{} is {} bytes, not {}",
                cls.name()?,
                self.size,
                data.len()
            )));
        }
        let msg = new_instance(cls)?;
        let mut at = 0;
        for f in &self.fields {
            let b = &data[at..at + f.bytes()];
            at += f.bytes();
            let value = match &f.shape {
                Shape::Scalar => decode(f.kind, py, b)?,
                Shape::Bytes { unflat } => {
                    let bytes = PyBytes::new(py, b).into_any();
                    match unflat {
                        Some(unflat) => unflat.bind(py).call1((bytes,))?,
                        None => bytes,
                    }
                }
                Shape::Array { unflat } => {
                    let items = b
                        .chunks_exact(kind_size(f.kind))
                        .map(|e| decode(f.kind, py, e))
                        .collect::<PyResult<Vec<_>>>()?;
                    unflat.bind(py).call1((PyTuple::new(py, items)?,))?
                }
            };
            set_slot(&msg, f.name.bind(py), &value)?;
        }
        Ok(msg)
    }

    /// Writes field `f`'s stored value `v` into `out`; `None` if it is not
    /// a value the field stores.
    fn pack_field(&self, f: &Field, v: &Bound<'_, PyAny>, out: &mut [u8]) -> PyResult<Option<()>> {
        let py = v.py();
        let flat;
        let v = match &f.flat {
            // A multi-dimensional array: its values in order (a list, or
            // one `bytes` in a tuple).
            Some(fl) => {
                flat = match fl.bind(py).call1((v,)) {
                    Ok(x) => x,
                    Err(_) => return Ok(None),
                };
                if matches!(f.shape, Shape::Bytes { .. }) {
                    match flat.cast::<PyTuple>() {
                        Ok(t) if t.len() == 1 => t.get_item(0)?,
                        _ => return Ok(None),
                    }
                } else {
                    flat
                }
            }
            None => v.clone(),
        };
        Ok(match f.shape {
            Shape::Scalar => encode(f.kind, &v, out),
            Shape::Bytes { .. } => match v.cast::<PyBytes>() {
                Ok(b) if b.as_bytes().len() == out.len() => {
                    out.copy_from_slice(b.as_bytes());
                    Some(())
                }
                _ => None,
            },
            Shape::Array { .. } => {
                let Ok(list) = v.cast::<PyList>() else {
                    return Ok(None);
                };
                if list.len() != f.count {
                    return Ok(None);
                }
                let size = kind_size(f.kind);
                for (item, dst) in list.iter().zip(out.chunks_exact_mut(size)) {
                    if encode(f.kind, &item, dst).is_none() {
                        return Ok(None);
                    }
                }
                Some(())
            }
        })
    }
}

/// `TypeError` unless `object.__new__(cls)` may make instances of `cls`:
/// CPython's own check (`object.__new__(dict)` is "not safe") that the
/// instances are plain objects, whose every field `tp_alloc`'s zeroed memory
/// is a valid value of, not those of a built-in base (a `dict`, a `type`)
/// that its own `__new__` must fill. [`new_instance`] skips that check (it
/// calls the allocator directly), so every class it is given passes here
/// first: the codec's when it is made, a subclass at each `unpack`.
fn check_plain(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let py = cls.py();
    let object = py.get_type::<PyAny>();
    match object.getattr("__new__")?.call1((cls,)) {
        Ok(_) => Ok(()),
        Err(e) => Err(PyTypeError::new_err(format!(
            "{} cannot be a flat message class: its instances are not plain objects ({e})",
            cls.name()?
        ))),
    }
}

/// A new instance of `cls` whose slots are all unset, as `object.__new__(cls)`
/// makes it (without its checks of arguments, there are none, and of an
/// abstract class: a message class is not one). `cls` must have passed
/// [`check_plain`]: `tp_alloc` only zeroes the memory, which is a valid
/// object only when nothing but `object` and `__slots__`/`__dict__` make up
/// the instance layout.
fn new_instance<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
    let tp = cls.as_type_ptr();
    // SAFETY: `tp` is a live type object (`cls`, GIL held); `PyType_GetSlot`
    // reads its `tp_alloc` (valid for static and heap types since 3.10, the
    // oldest this module is built for), or gives NULL.
    let alloc = unsafe { ffi::PyType_GetSlot(tp, ffi::Py_tp_alloc) };
    if alloc.is_null() {
        return Err(PyErr::take(cls.py())
            .unwrap_or_else(|| PyTypeError::new_err(format!("{} has no allocator", cls))));
    }
    // SAFETY: a non-null `Py_tp_alloc` slot is an `allocfunc` (CPython's
    // type of that slot).
    let alloc: ffi::allocfunc = unsafe { std::mem::transmute(alloc) };
    // SAFETY: `tp`'s own allocator called as `object.__new__` calls it (no
    // items: `check_plain` refused variable-size and other built-in
    // layouts, whose zeroed memory is no valid object); it returns a new
    // reference, or NULL with an exception set, which
    // `from_owned_ptr_or_err` takes.
    unsafe { Bound::from_owned_ptr_or_err(cls.py(), alloc(tp, 0)) }
}

/// Stores `value` in `msg`'s slot `name` the way the slot's descriptor does,
/// without the class's `__setattr__` (whose checks are for values from
/// outside).
pub(crate) fn set_slot(
    msg: &Bound<'_, PyAny>,
    name: &Bound<'_, PyString>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    // SAFETY: the three pointers are live objects of this thread, which holds
    // the GIL (`Bound`s of `py`); `PyObject_GenericSetAttr` borrows them (it
    // takes its own reference to `value`) and returns -1 with an exception
    // set on failure, 0 on success.
    let rc = unsafe { ffi::PyObject_GenericSetAttr(msg.as_ptr(), name.as_ptr(), value.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(PyErr::fetch(msg.py()))
    }
}
