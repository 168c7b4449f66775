//! Serialized values between Rust ([`Value`], given a [`Schema`]) and
//! Python: `dict`s for structs and maps, `list`s for sequences and tuples,
//! `int`/`float`/`bool`/`str`/`bytes`, `None` for unit and an absent
//! option, `{"Variant": value}` for an enum (`{"Variant": None}` for a unit
//! variant, which may also be given as the string `"Variant"`). A map key
//! is hashable: a sequence or tuple key is a `tuple` (see [`key_to_py`]).
//!
//! Python to [`Value`] follows the schema (a `dict` is a struct or a map as
//! the schema says); a value of the wrong kind, a missing field or an
//! unknown key is a [`ValueError::Mismatch`] naming the field's path, what
//! the schema wants there and the Python type given. Ranges (an `int` for a
//! `u8`) are checked by [`horus::serialized::encode`].

use crate::horus_err;
use horus::serialized::{NamedField, SchemaType, Value, ValueError, VariantKind};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

/// A decoded value as Python objects.
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::UInt(u) => u.into_pyobject(py)?.into_any(),
        Value::Float(x) => PyFloat::new(py, *x).into_any(),
        Value::Char(c) => PyString::new(py, c.encode_utf8(&mut [0; 4])).into_any(),
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::Unit | Value::Option(None) => py.None().into_bound(py),
        Value::Option(Some(v)) => to_py(py, v)?,
        Value::Seq(vs) => {
            let items = vs
                .iter()
                .map(|v| to_py(py, v))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Map(pairs) => {
            let d = PyDict::new(py);
            for (k, v) in pairs {
                d.set_item(key_to_py(py, k)?, to_py(py, v)?)?;
            }
            d.into_any()
        }
        Value::Struct(fields) => {
            let d = PyDict::new(py);
            for (k, v) in fields {
                d.set_item(k, to_py(py, v)?)?;
            }
            d.into_any()
        }
        Value::Enum(name, inner) => {
            let d = PyDict::new(py);
            d.set_item(name, to_py(py, inner)?)?;
            d.into_any()
        }
    })
}

/// A decoded map key as a hashable Python object (a dict key): as
/// [`to_py`], but a sequence or tuple is a `tuple` (recursively; `send`
/// takes it back for the list it stands for) and a unit enum variant its
/// name (which `send` takes too). A key Python cannot hash (a struct, a
/// map, an enum variant with data) is a `HorusError` saying so.
fn key_to_py<'py>(py: Python<'py>, k: &Value) -> PyResult<Bound<'py, PyAny>> {
    let unhashable = |what: String| {
        Err(horus_err(format!(
            "a map key of the message is {what}, which Python cannot use as a dict key \
             (it is not hashable): key the map by ints, strs, bytes or tuples of them, \
             or receive this topic in Rust"
        )))
    };
    Ok(match k {
        Value::Option(Some(k)) => key_to_py(py, k)?,
        Value::Seq(ks) => {
            let items = ks
                .iter()
                .map(|k| key_to_py(py, k))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items)?.into_any()
        }
        Value::Enum(name, inner) if matches!(**inner, Value::Unit) => {
            PyString::new(py, name).into_any()
        }
        Value::Enum(name, _) => {
            return unhashable(format!("the enum variant {name}, which holds data"));
        }
        Value::Struct(_) => return unhashable("a struct".into()),
        Value::Map(_) => return unhashable("a map".into()),
        leaf => to_py(py, leaf)?,
    })
}

/// What a Python value for `t` must be, in words.
fn wanted(t: &SchemaType) -> String {
    use SchemaType as S;
    let int = |w: &str| format!("an int ({w})");
    match t {
        S::Bool => "a bool".into(),
        S::I8 => int("i8"),
        S::U8 => int("u8"),
        S::I16 => int("i16"),
        S::I32 => int("i32"),
        S::I64 | S::Isize => int("i64"),
        S::I128 => int("i128"),
        S::U16 => int("u16"),
        S::U32 => int("u32"),
        S::U64 | S::Usize => int("u64"),
        S::U128 => int("u128"),
        S::F32 => "a float (f32)".into(),
        S::F64 => "a float (f64)".into(),
        S::Char => "a str of one character".into(),
        S::String => "a str".into(),
        S::Bytes => "bytes".into(),
        S::Unit | S::UnitStruct(_) => "None".into(),
        S::Option(t) => format!("None or {}", wanted(t)),
        S::Newtype(_, t) => wanted(t),
        S::Seq(t) => format!("a list, each item {}", wanted(t)),
        S::Tuple(ts) | S::TupleStruct(_, ts) => format!("a list of {} values", ts.len()),
        S::Map(..) => "a dict".into(),
        S::Struct(name, fs) => format!("a dict of {name}'s fields ({})", field_names(fs)),
        S::Enum(name, vs) => {
            let names: Vec<&str> = vs.iter().map(|v| v.name.as_str()).collect();
            format!(
                "{{\"Variant\": value}} for a variant of {name} ({})",
                names.join(", ")
            )
        }
    }
}

/// Python's `repr` of `obj`.
fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map_or_else(|_| "?".to_owned(), |r| r.to_string())
}

fn field_names(fs: &[NamedField]) -> String {
    fs.iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Python objects to a [`Value`] of a schema, remembering where it is.
pub(crate) struct ToValue {
    path: Vec<String>,
}

impl ToValue {
    /// `obj` as a value of type `t`.
    pub(crate) fn convert(t: &SchemaType, obj: &Bound<'_, PyAny>) -> Result<Value, ValueError> {
        Self { path: Vec::new() }.value(t, obj)
    }

    fn path(&self) -> String {
        let mut s = String::new();
        for p in &self.path {
            if !s.is_empty() && !p.starts_with('[') {
                s.push('.');
            }
            s.push_str(p);
        }
        if s.is_empty() { "(message)".into() } else { s }
    }

    /// The value at the current path is not what `expected` says.
    fn mismatch(&self, expected: String, obj: &Bound<'_, PyAny>) -> ValueError {
        let given = obj
            .get_type()
            .name()
            .map_or_else(|_| "?".to_owned(), |n| n.to_string());
        ValueError::Mismatch {
            path: self.path(),
            expected: format!("{expected}, not a Python {given}"),
        }
    }

    fn at<T>(&mut self, seg: String, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(seg);
        let r = f(self);
        self.path.pop();
        r
    }

    fn value(&mut self, t: &SchemaType, obj: &Bound<'_, PyAny>) -> Result<Value, ValueError> {
        use SchemaType as S;
        let bad = |me: &Self| me.mismatch(wanted(t), obj);
        let is_bool = obj.is_instance_of::<PyBool>();
        // An int too large for 128 bits is the right kind of value, out of range.
        let bad_int = |me: &Self| {
            if obj.is_instance_of::<PyInt>() && !is_bool {
                me.mismatch(format!("{} within its range", wanted(t)), obj)
            } else {
                bad(me)
            }
        };
        Ok(match t {
            S::Bool if is_bool => Value::Bool(obj.is_truthy().map_err(|_| bad(self))?),
            S::I8 | S::U8 | S::I16 | S::I32 | S::I64 | S::Isize | S::I128 => {
                let i = (!is_bool).then(|| obj.extract::<i128>().ok()).flatten();
                Value::Int(i.ok_or_else(|| bad_int(self))?)
            }
            S::U16 | S::U32 | S::U64 | S::Usize | S::U128 => {
                // A bool is an int to Python, never to the schema.
                if is_bool {
                    return Err(bad(self));
                }
                match obj.extract::<u128>() {
                    Ok(u) => Value::UInt(u),
                    // A negative int: encode names the range.
                    Err(_) => Value::Int(obj.extract::<i128>().map_err(|_| bad_int(self))?),
                }
            }
            S::F32 | S::F64 if !is_bool && !obj.is_instance_of::<PyString>() => {
                Value::Float(obj.extract::<f64>().map_err(|_| bad(self))?)
            }
            S::Char => {
                let s: String = obj.extract().map_err(|_| bad(self))?;
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Value::Char(c),
                    _ => return Err(bad(self)),
                }
            }
            S::String if obj.is_instance_of::<PyString>() => {
                Value::String(obj.extract().map_err(|_| {
                    // The one str that does not extract: not valid Unicode.
                    self.mismatch("a str of valid Unicode (no lone surrogates)".into(), obj)
                })?)
            }
            S::Bytes if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>() => {
                Value::Bytes(obj.extract().map_err(|_| bad(self))?)
            }
            S::Unit | S::UnitStruct(_) if obj.is_none() => Value::Unit,
            S::Option(_) if obj.is_none() => Value::Option(None),
            S::Option(inner) => Value::Option(Some(Box::new(self.value(inner, obj)?))),
            S::Newtype(_, inner) => self.value(inner, obj)?,
            S::Seq(inner) => {
                let items = self.items(obj).ok_or_else(|| bad(self))?;
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(self.at(format!("[{i}]"), |me| me.value(inner, item))?);
                }
                Value::Seq(out)
            }
            S::Tuple(ts) | S::TupleStruct(_, ts) => {
                self.tuple(ts, obj).ok_or_else(|| bad(self))??
            }
            S::Map(kt, vt) => {
                let d = obj.cast::<PyDict>().map_err(|_| bad(self))?;
                let mut pairs = Vec::with_capacity(d.len());
                for (i, (k, v)) in d.iter().enumerate() {
                    let pair = self.at(format!("[{i}]"), |me| {
                        Ok::<_, ValueError>((me.value(kt, &k)?, me.value(vt, &v)?))
                    })?;
                    pairs.push(pair);
                }
                Value::Map(pairs)
            }
            S::Struct(name, fs) => Value::Struct(self.fields(name, fs, obj)?),
            S::Enum(_, vs) => {
                let (name, inner) = self.variant(obj).ok_or_else(|| bad(self))?;
                let Some(v) = vs.iter().find(|v| v.name == name) else {
                    return Err(bad(self));
                };
                let inner = self.at(name.clone(), |me| match &v.kind {
                    VariantKind::Unit if inner.is_none() => Ok(Value::Unit),
                    VariantKind::Unit => Err(me.mismatch("None".into(), &inner)),
                    VariantKind::Newtype(t) => me.value(t, &inner),
                    VariantKind::Tuple(ts) => me.tuple(ts, &inner).ok_or_else(|| {
                        me.mismatch(format!("a list of {} values", ts.len()), &inner)
                    })?,
                    VariantKind::Struct(fs) => Ok(Value::Struct(me.fields(&name, fs, &inner)?)),
                })?;
                Value::Enum(name, Box::new(inner))
            }
            _ => return Err(bad(self)),
        })
    }

    /// The items of a list or tuple (bytes count as a list of ints).
    fn items<'py>(&self, obj: &Bound<'py, PyAny>) -> Option<Vec<Bound<'py, PyAny>>> {
        if let Ok(l) = obj.cast::<PyList>() {
            return Some(l.iter().collect());
        }
        if let Ok(t) = obj.cast::<PyTuple>() {
            return Some(t.iter().collect());
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            let py = obj.py();
            return b
                .as_bytes()
                .iter()
                .map(|&x| x.into_pyobject(py).ok().map(|i| i.into_any()))
                .collect();
        }
        None
    }

    /// A list or tuple of exactly `ts.len()` values; `None` if it is not one.
    fn tuple(
        &mut self,
        ts: &[SchemaType],
        obj: &Bound<'_, PyAny>,
    ) -> Option<Result<Value, ValueError>> {
        let items = self.items(obj).filter(|i| i.len() == ts.len())?;
        let mut out = Vec::with_capacity(ts.len());
        for (i, (t, item)) in ts.iter().zip(&items).enumerate() {
            match self.at(format!("[{i}]"), |me| me.value(t, item)) {
                Ok(v) => out.push(v),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(Value::Seq(out)))
    }

    /// A dict with exactly the fields `fs` of struct `name`.
    fn fields(
        &mut self,
        name: &str,
        fs: &[NamedField],
        obj: &Bound<'_, PyAny>,
    ) -> Result<Vec<(String, Value)>, ValueError> {
        let want = || format!("a dict of {name}'s fields ({})", field_names(fs));
        let d = obj
            .cast::<PyDict>()
            .map_err(|_| self.mismatch(want(), obj))?;
        for key in d.keys() {
            let known = key
                .extract::<String>()
                .is_ok_and(|k| fs.iter().any(|f| f.name == k));
            if !known {
                return Err(ValueError::Mismatch {
                    path: self.path(),
                    expected: format!("{}, without the key {}", want(), repr(&key)),
                });
            }
        }
        let mut out = Vec::with_capacity(fs.len());
        for f in fs {
            let v = match d.get_item(&f.name) {
                Ok(Some(v)) => self.at(f.name.clone(), |me| me.value(&f.ty, &v))?,
                _ => {
                    return Err(ValueError::Mismatch {
                        path: self.path(),
                        expected: format!(
                            "{}, with the field `{}` ({})",
                            want(),
                            f.name,
                            wanted(&f.ty)
                        ),
                    });
                }
            };
            out.push((f.name.clone(), v));
        }
        Ok(out)
    }

    /// `"Variant"` or `{"Variant": value}`: the name and the value.
    fn variant<'py>(&self, obj: &Bound<'py, PyAny>) -> Option<(String, Bound<'py, PyAny>)> {
        if let Ok(name) = obj.extract::<String>() {
            return Some((name, obj.py().None().into_bound(obj.py())));
        }
        let d = obj.cast::<PyDict>().ok().filter(|d| d.len() == 1)?;
        let (k, v) = d.iter().next()?;
        Some((k.extract().ok()?, v))
    }
}
