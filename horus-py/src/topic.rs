//! Topics of any message type, speaking bytes (`horus.Topic` packs and
//! unpacks the messages of a class with nested messages in Python), or a
//! flat message class's objects through its [`FlatCodec`].

use std::sync::Mutex;

use horus::dynamic::DynTopic;
use horus::shm::Namespace;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::args::opt_int;
use crate::flat_codec::FlatCodec;
use crate::horus_err;
use crate::msg::PyMessageType;

/// One participant of a topic (a [`DynTopic`]). The mutex makes it usable
/// from any Python thread (a `DynTopic` is `Send`, not `Sync`); uncontended,
/// it costs one atomic exchange per call.
#[pyclass(name = "RawTopic", module = "horus._horus", frozen)]
pub struct PyRawTopic {
    inner: Mutex<DynTopic>,
    ty: PyMessageType,
    /// The codec of the flat message class the topic carries, if given:
    /// `send_msg` and `recv_msg`.
    codec: Option<Py<FlatCodec>>,
}

thread_local! {
    /// The bytes of one message on their way between a topic and Python:
    /// a poll that finds nothing (a busy-polling node's usual call), and a
    /// send, allocate nothing.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// `f` over this thread's scratch buffer of `size` bytes. The buffer is
/// taken out while `f` runs: `f` makes Python objects, and with them Python
/// code may run (a collection's callbacks, finalizers) that sends or
/// receives on this thread again, with a buffer of its own.
fn with_scratch<R>(size: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut buf = SCRATCH.take();
    if buf.len() < size {
        buf.resize(size, 0);
    }
    let r = f(&mut buf[..size]);
    SCRATCH.set(buf);
    r
}

impl PyRawTopic {
    fn send_bytes(&self, bytes: &[u8]) -> PyResult<()> {
        self.with(|t| {
            t.send_bytes(bytes).map_err(|e| {
                horus_err(format!(
                    "{e} on topic {:?} of `{}`",
                    t.name(),
                    self.ty.ty.name()
                ))
            })
        })?
    }

    /// `f` over the handle; `HorusError` for a handle inherited through
    /// `fork()` (Rust panics there, which Python could not catch).
    fn with<R>(&self, f: impl FnOnce(&DynTopic) -> R) -> PyResult<R> {
        let topic = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        topic.check_process().map_err(horus_err)?;
        Ok(f(&topic))
    }
}

#[pymethods]
impl PyRawTopic {
    /// Joins topic `name` of message type `ty` (creating it if needed, with
    /// `max_publishers` publisher lanes if given: default 16, of `capacity`
    /// slots each if given: default 64), in `namespace` or `HORUS_NAMESPACE`
    /// (default `default`). With `codec` (of a flat message class of `ty`),
    /// `send_msg` and `recv_msg` carry that class's objects.
    #[new]
    #[pyo3(signature = (name, ty, namespace=None, max_publishers=None, capacity=None, codec=None))]
    fn new(
        py: Python<'_>,
        name: &str,
        ty: PyMessageType,
        namespace: Option<&str>,
        max_publishers: Option<Bound<'_, PyAny>>,
        capacity: Option<Bound<'_, PyAny>>,
        codec: Option<Py<FlatCodec>>,
    ) -> PyResult<Self> {
        if let Some(c) = &codec
            && c.get().len() != ty.ty.size()
        {
            return Err(horus_err(format!(
                "the codec packs {} bytes, the message type `{}` is {}",
                c.get().len(),
                ty.ty.name(),
                ty.ty.size()
            )));
        }
        let max_publishers = opt_int("Topic max_publishers", max_publishers.as_ref())?;
        let capacity = opt_int("Topic capacity", capacity.as_ref())?;
        // Opening may wait (bounded) for a region lock: without the GIL.
        let topic = py
            .detach(|| DynTopic::with_geometry(name, &ty.ty, namespace, max_publishers, capacity))
            .map_err(horus_err)?;
        Ok(Self {
            inner: Mutex::new(topic),
            ty,
            codec,
        })
    }

    /// Publishes one message's bytes (exactly the type's size). Never blocks.
    fn send(&self, data: &Bound<'_, PyBytes>) -> PyResult<()> {
        self.send_bytes(data.as_bytes())
    }

    /// Publishes `msg` (an object of the codec's class) packed by the codec;
    /// `False` (nothing sent) without a codec, or if a field holds a value
    /// the codec does not take (the caller packs it its own way, which
    /// raises the sentence). Never blocks.
    fn send_msg(&self, msg: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Some(codec) = &self.codec else {
            return Ok(false);
        };
        let codec = codec.get();
        with_scratch(codec.len(), |buf| {
            if codec.pack_into(msg, buf)?.is_none() {
                return Ok(false);
            }
            self.send_bytes(buf).map(|()| true)
        })
    }

    /// The next message's bytes, or `None`. Never blocks.
    fn recv<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        with_scratch(self.ty.ty.size(), |buf| {
            Ok(match self.with(|t| t.recv_bytes(buf))? {
                Ok(true) => Some(PyBytes::new(py, buf)),
                _ => None,
            })
        })
    }

    /// The next message as an object of the codec's class, or `None`.
    /// Never blocks. Without a codec, `HorusError`.
    fn recv_msg<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(codec) = &self.codec else {
            return Err(horus_err("recv_msg needs a topic made with a codec"));
        };
        let codec = codec.get();
        with_scratch(codec.len(), |buf| {
            match self.with(|t| t.recv_bytes(buf))? {
                Ok(true) => codec.unpack_bytes(codec.class(py), buf).map(Some),
                _ => Ok(None),
            }
        })
    }

    /// Messages this handle lost since it was created.
    fn dropped_count(&self) -> PyResult<u64> {
        self.with(|t| t.dropped_count())
    }

    /// Messages this handle received since it was created.
    fn received_count(&self) -> PyResult<u64> {
        self.with(|t| t.received_count())
    }

    /// Messages published on the topic by all handles.
    fn published_count(&self) -> PyResult<u64> {
        self.with(|t| t.published_count())
    }

    /// The topic's name.
    #[getter]
    fn name(&self) -> PyResult<String> {
        self.with(|t| t.name().to_owned())
    }

    /// The namespace it lives in.
    #[getter]
    fn namespace(&self) -> PyResult<String> {
        self.with(|t| t.namespace().to_owned())
    }

    /// The message type.
    #[getter]
    fn message_type(&self) -> PyMessageType {
        self.ty
    }
}

/// `(type name, type id, size, serialized?)` of the existing topic `name`,
/// or `None`. An invalid name is an error (it can name no topic: `None`
/// would read as "not created yet" for good), whether or not the namespace
/// exists.
#[pyfunction]
#[pyo3(signature = (name, namespace=None))]
pub fn topic_type(
    py: Python<'_>,
    name: &str,
    namespace: Option<&str>,
) -> PyResult<Option<(String, u64, u32, bool)>> {
    py.detach(|| {
        horus::shm::names::check_topic_name(name).map_err(|reason| {
            horus_err(horus::error::TopicError::InvalidName {
                name: name.to_owned(),
                reason,
            })
        })?;
        let ns_name = match namespace {
            Some(ns) => ns.to_owned(),
            None => Namespace::current_name().map_err(horus_err)?,
        };
        let Some(ns) = Namespace::open_existing(&ns_name).map_err(horus_err)? else {
            return Ok(None);
        };
        Ok(horus::inspect::topic_info(&ns, name)
            .map_err(horus_err)?
            .map(|i| {
                let serialized = i.serialized.is_some();
                (i.type_name, i.type_id, i.message_size, serialized)
            }))
    })
}
