//! Message types: the standard ones of horus-std and those defined from
//! Python with `horus.message(name, field="type", ...)`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use horus::dynamic::{Field, FieldKind, FieldSpec, FieldTy, MessageType};
use horus::msgs;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::horus_err;

/// A message type: name, id, size and fields (see `horus.MessageType`).
#[pyclass(
    name = "MessageType",
    module = "horus._horus",
    frozen,
    eq,
    hash,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PyMessageType {
    pub(crate) ty: MessageType,
}

impl std::hash::Hash for PyMessageType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ty.id().hash(state);
    }
}

/// Every type this process knows, by the shape of its fields (names,
/// offsets, kinds, counts, recursively): lets a nested field name its
/// message type, since a `Field` records only the nested fields.
fn known() -> &'static Mutex<HashMap<u64, MessageType>> {
    static KNOWN: OnceLock<Mutex<HashMap<u64, MessageType>>> = OnceLock::new();
    KNOWN.get_or_init(|| Mutex::new(standard().iter().map(|t| (shape(t.fields()), *t)).collect()))
}

/// The identity hash of the fields alone (no name, size or alignment).
fn shape(fields: &[Field]) -> u64 {
    horus_nostd::message::type_id("", fields, 0, 0)
}

fn remember(ty: MessageType) -> MessageType {
    known()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(shape(ty.fields()))
        .or_insert(ty);
    ty
}

/// The standard messages of horus-std, nested ones before their users.
fn standard() -> [MessageType; 11] {
    [
        MessageType::of::<msgs::CmdVel>(),
        MessageType::of::<msgs::Twist>(),
        MessageType::of::<msgs::Pose2D>(),
        MessageType::of::<msgs::Pose3D>(),
        MessageType::of::<msgs::Imu>(),
        MessageType::of::<msgs::Odometry>(),
        MessageType::of::<msgs::JointState>(),
        MessageType::of::<msgs::LaserScan>(),
        MessageType::of::<msgs::BatteryState>(),
        MessageType::of::<msgs::Heartbeat>(),
        MessageType::of::<msgs::EmergencyStop>(),
    ]
}

/// The standard message types of horus-std, nested ones first.
#[pyfunction]
pub fn standard_types() -> Vec<PyMessageType> {
    // Touch the registry so nested standard fields resolve.
    let _ = known();
    standard()
        .into_iter()
        .map(|ty| PyMessageType { ty })
        .collect()
}

fn kind_of(name: &str) -> Option<FieldKind> {
    Some(match name {
        "u8" => FieldKind::U8,
        "i8" => FieldKind::I8,
        "u16" => FieldKind::U16,
        "i16" => FieldKind::I16,
        "u32" => FieldKind::U32,
        "i32" => FieldKind::I32,
        "u64" => FieldKind::U64,
        "i64" => FieldKind::I64,
        "f32" => FieldKind::F32,
        "f64" => FieldKind::F64,
        _ => return None,
    })
}

/// `"f64"`, `"f64[3]"`, `"u8[4][2]"` (= Rust `[[u8; 2]; 4]`).
fn parse_type(message: &str, field: &str, text: &str) -> PyResult<FieldTy> {
    let bad = || {
        horus_err(format!(
            "field `{field}` of message `{message}` has type {text:?}: a field type is one of \
             u8 i8 u16 i16 u32 i32 u64 i64 f32 f64, optionally with array sizes (\"f64[3]\"), \
             or a message class"
        ))
    };
    let (base, mut rest) = match text.find('[') {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let mut dims = Vec::new();
    while !rest.is_empty() {
        let close = rest.find(']').ok_or_else(bad)?;
        let n: usize = rest[1..close].trim().parse().map_err(|_| bad())?;
        if !rest.starts_with('[') || n == 0 {
            return Err(bad());
        }
        dims.push(n);
        rest = &rest[close + 1..];
    }
    let mut ty = FieldTy::Prim(kind_of(base.trim()).ok_or_else(bad)?);
    for n in dims.into_iter().rev() {
        ty = FieldTy::Array(Box::new(ty), n);
    }
    Ok(ty)
}

/// Defines message `name` from `(field, type)` pairs, where a type is a
/// string (`"i64"`, `"f64[3]"`), a `MessageType` (nested) or a tuple
/// `(MessageType, n)` (an array of `n` messages). Same name and fields as a
/// Rust `message!` give the same id and layout (`"u8[4][2]"` is
/// `[[u8; 2]; 4]`, which is another type than `[u8; 8]`).
#[pyfunction]
pub fn define(name: &str, fields: Vec<(String, Bound<'_, PyAny>)>) -> PyResult<PyMessageType> {
    let mut specs = Vec::with_capacity(fields.len());
    for (field, ty) in &fields {
        let fty = if let Ok(text) = ty.extract::<String>() {
            parse_type(name, field, &text)?
        } else if let Ok(m) = ty.extract::<PyMessageType>() {
            FieldTy::Message(m.ty)
        } else if let Ok((m, n)) = ty.extract::<(PyMessageType, usize)>() {
            FieldTy::Array(Box::new(FieldTy::Message(m.ty)), n)
        } else {
            return Err(horus_err(format!(
                "field `{field}` of message `{name}` has type {ty}: a field type is a type name \
                 (\"f64\", \"u8[32]\"), a MessageType, or (MessageType, n)"
            )));
        };
        specs.push(FieldSpec::new(field, fty));
    }
    let ty = MessageType::define(name, &specs).map_err(horus_err)?;
    Ok(PyMessageType { ty: remember(ty) })
}

/// A field as Python sees it: `(name, offset, kind, count, nested)`, where
/// `kind` is `"f64"`... or `"struct"` and `nested` the message type of a
/// struct field (`None` otherwise), and `shape` its array sizes, outermost
/// first (empty for a scalar).
type FieldTuple = (
    String,
    usize,
    &'static str,
    usize,
    Option<PyMessageType>,
    Vec<u32>,
);

fn field_tuple(f: &Field) -> PyResult<FieldTuple> {
    let nested = if f.kind == FieldKind::Struct {
        let known = known().lock().unwrap_or_else(|e| e.into_inner());
        let ty = known.get(&shape(f.nested)).copied().ok_or_else(|| {
            horus_err(format!(
                "the message type of field `{}` is not known here",
                f.name
            ))
        })?;
        Some(PyMessageType { ty })
    } else {
        None
    };
    Ok((
        f.name.to_owned(),
        f.offset,
        f.kind.name(),
        f.count,
        nested,
        f.shape.dims().to_vec(),
    ))
}

#[pymethods]
impl PyMessageType {
    /// The type's name.
    #[getter]
    fn name(&self) -> &'static str {
        self.ty.name()
    }

    /// The 64-bit type id (as Rust's `Message::TYPE_ID`).
    #[getter]
    fn id(&self) -> u64 {
        self.ty.id()
    }

    /// Size in bytes.
    #[getter]
    fn size(&self) -> usize {
        self.ty.size()
    }

    /// Alignment in bytes.
    #[getter]
    fn align(&self) -> usize {
        self.ty.align()
    }

    /// The fields: `(name, offset, kind, count, nested, shape)` tuples.
    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let items = self
            .ty
            .fields()
            .iter()
            .map(field_tuple)
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, items)
    }

    fn __repr__(&self) -> String {
        format!(
            "MessageType({}, id={:#018x}, size={})",
            self.ty.name(),
            self.ty.id(),
            self.ty.size()
        )
    }
}
