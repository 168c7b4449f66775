//! Serialized topics (`Topic<T>` of a Rust `serialized!` type) carrying
//! Python dicts and lists: `horus.Topic(name, horus.Serialized)`.
//!
//! The type is the region's: joining takes the stored [`Schema`] (and the
//! topic's bound) from the existing topic, so the Python side needs no
//! declaration and can never disagree with the Rust program's type. A
//! received frame is [`decode`]d against that schema and turned into Python
//! objects ([`crate::value_py`]); a dict to send is checked against it and
//! [`encode`]d. With a schema given (`horus.schema(...)`, as
//! [`Schema::encode`] bytes) the topic is created when absent, and joined
//! only if the existing one has that very schema.

use std::sync::Mutex;

use horus::dynamic::{DynTopic, MessageType};
use horus::serialized::{Schema, decode, encode};
use horus::shm::Namespace;
use horus_nostd::ring::FRAME_HEADER;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::args::opt_int;
use crate::horus_err;
use crate::value_py::{ToValue, to_py};

/// Bound on an encoded message when neither the caller nor an existing
/// topic gives one (horus-std's default).
const DEFAULT_BOUND: u32 = horus::serialized::DEFAULT_MAX_MESSAGE_BYTES;

/// The handle, its receive buffer and counts kept here (one lock).
struct Inner {
    topic: DynTopic,
    buf: Vec<u8>,
    /// Received frames that did not decode against the schema.
    rejected: u64,
    /// Messages refused by `send` (over the bound).
    unsent: u64,
}

/// One participant of a serialized topic.
#[pyclass(name = "SerializedTopic", module = "horus._horus", frozen)]
pub struct PySerializedTopic {
    inner: Mutex<Inner>,
    schema: Schema,
    /// Bytes an encoded message may take.
    bound: usize,
}

impl PySerializedTopic {
    /// `f` over the handle; `HorusError` for a handle inherited through
    /// `fork()` (Rust panics there, which Python could not catch).
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> PyResult<R> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.topic.check_process().map_err(horus_err)?;
        Ok(f(&mut inner))
    }
}

/// The schema and bound of the existing serialized topic `name`, or the
/// sentence saying why there is none.
fn existing(name: &str, namespace: Option<&str>) -> PyResult<Option<(Schema, u32)>> {
    let ns_name = match namespace {
        Some(ns) => ns.to_owned(),
        None => Namespace::current_name().map_err(horus_err)?,
    };
    let Some(ns) = Namespace::open_existing(&ns_name).map_err(horus_err)? else {
        return Ok(None);
    };
    let Some(info) = horus::inspect::topic_info(&ns, name).map_err(horus_err)? else {
        return Ok(None);
    };
    match info.serialized {
        Some(schema) => Ok(Some((
            schema,
            info.message_size.saturating_sub(FRAME_HEADER as u32),
        ))),
        None => Err(horus_err(format!(
            "topic {name:?} carries `{}`, plain data, not a serialized type: open it with \
             Topic({name:?}, <its message class>) (horus.message(...) or a standard message)",
            info.type_name
        ))),
    }
}

#[pymethods]
impl PySerializedTopic {
    /// Joins serialized topic `name` in `namespace` (or `HORUS_NAMESPACE`).
    /// Without `schema` (bytes of `Schema::encode`) the topic must exist;
    /// with it, it is created when absent (bound `max_message_bytes`, else
    /// the existing topic's, else horus-std's default).
    #[new]
    #[pyo3(signature = (name, namespace=None, schema=None, max_message_bytes=None))]
    fn new(
        py: Python<'_>,
        name: &str,
        namespace: Option<&str>,
        schema: Option<Vec<u8>>,
        max_message_bytes: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let max_message_bytes: Option<u32> =
            opt_int("Topic max_message_bytes", max_message_bytes.as_ref())?;
        let found = py.detach(|| existing(name, namespace))?;
        let (schema, bound) = match (schema, found) {
            (Some(bytes), found) => {
                let schema = Schema::decode(&bytes).map_err(horus_err)?;
                let bound = max_message_bytes
                    .or(found.as_ref().map(|f| f.1))
                    .unwrap_or(DEFAULT_BOUND);
                (schema, bound)
            }
            (None, Some((schema, bound))) => (schema, bound),
            (None, None) => {
                return Err(horus_err(format!(
                    "serialized topic {name:?} does not exist yet: start the Rust program that \
                     creates it first (Python takes its schema from the topic), or declare the \
                     schema: Topic({name:?}, horus.schema(...))"
                )));
            }
        };
        let ty =
            MessageType::serialized(&schema.name, &schema.encode(), bound).map_err(horus_err)?;
        let topic = py
            .detach(|| DynTopic::with_namespace(name, &ty, namespace))
            .map_err(horus_err)?;
        Ok(Self {
            inner: Mutex::new(Inner {
                buf: vec![0; ty.size()],
                topic,
                rejected: 0,
                unsent: 0,
            }),
            schema,
            bound: bound as usize,
        })
    }

    /// Publishes `value` (dicts, lists, ... as the schema says), encoded.
    /// Raises `HorusError` with the sentence when it does not fit the
    /// schema or encodes to more than the topic's bound. Never blocks.
    fn send(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = ToValue::convert(&self.schema.ty, value).map_err(horus_err)?;
        let bytes = encode(&self.schema, &v).map_err(horus_err)?;
        self.with(|inner| {
            if bytes.len() > self.bound {
                inner.unsent += 1;
                return Err(horus_err(format!(
                    "a message for topic {:?} encodes to {} bytes, over the topic's bound of {}: \
                     raise max_message_bytes where the topic is created, or send less",
                    inner.topic.name(),
                    bytes.len(),
                    self.bound
                )));
            }
            inner.topic.send_frame(&bytes).map_err(horus_err)
        })?
    }

    /// The next message as Python objects, or `None`. Never blocks. A frame
    /// that does not decode is skipped and counted (`rejected`); one that
    /// decodes but cannot be made into Python objects (a map key Python
    /// cannot hash) is counted there too, and raises `HorusError` saying why.
    fn recv<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let value = self.with(|inner| {
            loop {
                let Inner {
                    topic,
                    buf,
                    rejected,
                    ..
                } = inner;
                match topic.recv_frame(buf) {
                    Ok(None) => return None,
                    Ok(Some(body)) => match decode(&self.schema, body) {
                        Ok(v) => return Some(v),
                        Err(_) => *rejected += 1,
                    },
                    Err(_) => *rejected += 1,
                }
            }
        })?;
        let Some(v) = value else { return Ok(None) };
        to_py(py, &v)
            .or_else(|e| {
                // Taken from the ring but not given to Python: counted, as a
                // frame that does not decode is, and said why.
                let name = self.with(|inner| {
                    inner.rejected += 1;
                    inner.topic.name().to_owned()
                })?;
                let why = if e.is_instance_of::<crate::HorusError>(py) {
                    e.value(py).to_string()
                } else {
                    e.to_string()
                };
                Err(horus_err(format!(
                    "a message received on topic {name:?} was skipped (counted in \
                 rejected_count()): {why}"
                )))
            })
            .map(Some)
    }

    /// `published` (by every handle), `received`, `dropped`, `rejected`
    /// (frames that did not decode) and `unsent` (over the bound).
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        // Read under the lock, made into Python objects after it (making
        // them may run Python code, which may use this topic).
        let counts = self.with(|inner| {
            [
                ("published", inner.topic.published_count()),
                // As Rust's `Topic::received_count`: frames that decoded.
                (
                    "received",
                    inner.topic.received_count().saturating_sub(inner.rejected),
                ),
                ("dropped", inner.topic.dropped_count()),
                ("rejected", inner.rejected),
                ("unsent", inner.unsent),
            ]
        })?;
        let d = PyDict::new(py);
        for (name, n) in counts {
            d.set_item(name, n)?;
        }
        Ok(d)
    }

    /// `(name, namespace)` of the topic.
    fn location(&self) -> PyResult<(String, String)> {
        self.with(|i| (i.topic.name().to_owned(), i.topic.namespace().to_owned()))
    }

    /// The type's name (the Rust struct's).
    #[getter]
    fn type_name(&self) -> &str {
        &self.schema.name
    }

    /// Bytes an encoded message may take.
    #[getter]
    fn max_message_bytes(&self) -> usize {
        self.bound
    }

    /// The stored schema's bytes (`Schema::encode`).
    #[getter]
    fn schema_bytes(&self) -> Vec<u8> {
        self.schema.encode()
    }
}
