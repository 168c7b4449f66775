//! Integer arguments of the module's functions and constructors, converted
//! here rather than by PyO3: PyO3 raises a bare `OverflowError` ("out of
//! range integral type conversion attempted") that names neither the
//! argument nor its range. Here an int out of the Rust type's range is a
//! `ValueError` (as an out-of-range message field is, and a negative rate)
//! naming the argument and the range; anything but an int, a `bool` too (as
//! for message fields), is a `TypeError` naming the argument. numpy's
//! integers are ints. The rules the Rust API adds within the range (a
//! capacity is a power of two, ...) stay its own, with its sentences.

use std::fmt::Display;

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBool;

/// An integer type an argument converts to.
pub(crate) trait IntArg: Sized + Display {
    /// The smallest value.
    const MIN: Self;
    /// The largest value.
    const MAX: Self;
    /// PyO3's conversion.
    fn convert(value: &Bound<'_, PyAny>) -> PyResult<Self>;
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl IntArg for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn convert(value: &Bound<'_, PyAny>) -> PyResult<Self> {
                value.extract()
            }
        }
    )*};
}
int_arg!(u32, u64);

/// The argument `what` (`"Topic capacity"`: the call and the argument's
/// name) given as `value`, as a `T`.
pub(crate) fn int<T: IntArg>(what: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let py = value.py();
    if !value.is_instance_of::<PyBool>() {
        match T::convert(value) {
            Ok(v) => return Ok(v),
            Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
                return Err(PyValueError::new_err(format!(
                    "{what}={value} is out of range: give an int from {} to {}",
                    T::MIN,
                    T::MAX
                )));
            }
            // Not a refusal of the type: an `__index__` that raised.
            Err(e) if !e.is_instance_of::<PyTypeError>(py) => return Err(e),
            Err(_) => {}
        }
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be an int, not {}",
        value.get_type().name()?
    )))
}

/// [`int`] of an optional argument (`None`: not given).
pub(crate) fn opt_int<T: IntArg>(
    what: &str,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<T>> {
    value.map(|v| int(what, v)).transpose()
}

/// The argument `what` (`"Tensor shape"`), a sequence of ints, each named
/// by its index (`Tensor shape[1]=-1 is out of range: ...`).
pub(crate) fn ints<T: IntArg>(what: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<T>> {
    let Ok(items) = value.try_iter() else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a sequence of ints, not {}",
            value.get_type().name()?
        )));
    };
    items
        .enumerate()
        .map(|(i, v)| int(&format!("{what}[{i}]"), &v?))
        .collect()
}
