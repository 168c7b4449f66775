//! Integer arguments of the module's functions and constructors, converted
//! here rather than by PyO3: PyO3 raises a bare `OverflowError` ("out of
//! range integral type conversion attempted") that names neither the
//! argument nor its range. Here an int out of the Rust type's range is a
//! `ValueError` (as an out-of-range message field is, and a negative rate)
//! naming the argument and the range; anything but an int, a `bool` too (as
//! for message fields), is a `TypeError` naming the argument. numpy's
//! integers are ints. The rules the Rust API adds within the range (a
//! capacity is a power of two, ...) stay its own, with its sentences.
//! Number arguments ([`float`]: rates, durations) likewise: an int too large
//! for a float is a `ValueError` naming the argument (PyO3's is a bare
//! `OverflowError`), anything but a number, or a `bool`, a `TypeError`.

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
                    "{what}={} is out of range: give an int from {} to {}",
                    shown(value),
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

/// The number argument `what` (`"Scheduler tick_rate"`) given as `value`,
/// as an `f64` (its own checks, a positive rate, ..., are the caller's).
pub(crate) fn float(what: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    let py = value.py();
    if !value.is_instance_of::<PyBool>() {
        match value.extract::<f64>() {
            Ok(v) => return Ok(v),
            Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
                return Err(PyValueError::new_err(format!(
                    "{what}={} is out of range: give a number a float can hold",
                    shown(value)
                )));
            }
            Err(e) if !e.is_instance_of::<PyTypeError>(py) => return Err(e),
            Err(_) => {}
        }
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be a number, not {}",
        value.get_type().name()?
    )))
}

/// [`float`] of an optional argument (`None`: not given).
pub(crate) fn opt_float(what: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f64>> {
    value.map(|v| float(what, v)).transpose()
}

/// `value` as Python prints it, cut to its first characters when long
/// (`10**400`: `1000000000000000…, 401 digits`).
fn shown(value: &Bound<'_, PyAny>) -> String {
    const KEPT: usize = 16;
    let text = value.to_string();
    let length = text.chars().count();
    if length <= 2 * KEPT {
        return text;
    }
    let head: String = text.chars().take(KEPT).collect();
    let unsigned = text.trim_start_matches('-');
    if unsigned.bytes().all(|b| b.is_ascii_digit()) {
        format!("{head}…, {} digits", unsigned.len())
    } else {
        format!("{head}…, {length} characters")
    }
}
