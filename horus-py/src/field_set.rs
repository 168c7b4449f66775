//! `FieldSetter`: the common case of a field assignment (`msg.x = 1.5`), an
//! `int` or a `float` that a scalar field holds, checked and stored in one
//! native call from `Message.__setattr__`; anything else (another type, a
//! value out of range, NaN or an infinity in a float field, an array, an
//! unknown name) is left to the Python checks, which store it converted or
//! raise the field's sentence.
//!
//! It takes exactly what `Field.check`'s fast path takes, as that stores it:
//! a value of type `int` (not `bool`, not a subclass) within the integer
//! kind's range, a finite `float` within the float kind's (an f32's: rounded
//! to an f32, still finite).

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyString};

use crate::flat_codec::{Kind, encode, kind_size, parse_kind, set_slot};

/// The scalar fields of one message class (see the module docs).
#[pyclass(name = "FieldSetter", module = "horus._horus", frozen)]
pub struct FieldSetter {
    /// By the address of the field's interned name: the name an assignment
    /// in code passes is that same object.
    by_name: HashMap<usize, Kind>,
    /// The interned names, kept alive (their addresses are the keys).
    _names: Vec<Py<PyString>>,
}

#[pymethods]
impl FieldSetter {
    /// The setter of `fields`, `(name, kind)` of each scalar field.
    #[new]
    fn new(py: Python<'_>, fields: Vec<(String, String)>) -> PyResult<Self> {
        let mut by_name = HashMap::new();
        let mut names = Vec::new();
        for (name, kind) in fields {
            let k = parse_kind(&kind).ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!("no scalar field kind {kind:?}"))
            })?;
            let name = PyString::intern(py, &name).unbind();
            by_name.insert(name.as_ptr() as usize, k);
            names.push(name);
        }
        Ok(Self {
            by_name,
            _names: names,
        })
    }

    /// Stores `value` in `msg`'s field `name` if it is the common case (see
    /// the module docs): `True`; otherwise `False`, nothing done.
    fn set(
        &self,
        msg: &Bound<'_, PyAny>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let Some(&kind) = self.by_name.get(&(name.as_ptr() as usize)) else {
            return Ok(false); // not a scalar field, or a name not interned
        };
        let takes = match kind {
            Kind::F32 | Kind::F64 => {
                value.is_exact_instance_of::<PyFloat>()
                    && value.cast::<PyFloat>().is_ok_and(|f| f.value().is_finite())
            }
            _ => value.is_exact_instance_of::<PyInt>(),
        };
        // In the kind's range (a finite float rounds to a finite f32 or is
        // refused).
        let mut scratch = [0u8; 8];
        if !takes || encode(kind, value, &mut scratch[..kind_size(kind)]).is_none() {
            return Ok(false);
        }
        set_slot(msg, name.cast::<PyString>()?, value)?;
        Ok(true)
    }
}
