//! `horus._horus`: the native part of the Python package `horus`, a thin
//! PyO3 layer over horus-std (no second implementation of rings, liveness
//! or the scheduler).
//!
//! - `MessageType` (`msg.rs`): a message type's name, id and fields, from
//!   [`horus::dynamic::MessageType`] (standard messages, or defined at run
//!   time with the layout rules of `message!`).
//! - `RawTopic` (`topic.rs`): a [`horus::dynamic::DynTopic`] sending and
//!   receiving the message's bytes; the Python `Topic` packs and unpacks them,
//!   a flat message with its class's `FlatCodec` (`flat_codec.rs`); a field
//!   assignment's common case is `FieldSetter`'s (`field_set.rs`).
//! - `Image` and `ImageTopic` (`image.rs`): horus-std's images, with numpy
//!   arrays over their pixels through `ArrayBase` (`array.rs`: numpy's
//!   array interface and DLPack (`dlpack.rs`) over memory Rust owns).
//! - `Tensor`, `DepthImage`, `PointCloud` and their topics
//!   (`pooled_kinds.rs`): the other large messages, on the same
//!   `pooled_py.rs` as images.
//! - `SerializedTopic` (`serialized.rs`, `value_py.rs`): serialized topics
//!   carrying dicts and lists, checked and encoded against the schema the
//!   topic's region stores; or declared in Python (`schema_py.rs`).
//! - `Scheduler` (`node.rs`): the std [`horus::Scheduler`] with Python nodes;
//!   the GIL is released while it waits and sleeps and taken for each call
//!   into Python. A node's settings are checked by `node_settings.rs`, at
//!   `horus.Node(...)` and again at `Scheduler.add`.
//!
//! Every Rust error becomes `horus.HorusError` carrying its sentence.
//! Integer arguments are converted by `args.rs`, naming the argument when
//! out of range.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod args;
mod array;
mod array_struct;
mod dlpack;
mod field_set;
mod flat_codec;
mod image;
mod msg;
mod node;
mod node_settings;
mod numpy_api;
mod pooled_kinds;
mod pooled_py;
mod schema_py;
mod serialized;
mod topic;
mod value_py;

use pyo3::prelude::*;

pyo3::create_exception!(
    _horus,
    HorusError,
    pyo3::exceptions::PyException,
    "An error of HORUS; its message is the Rust error's sentence."
);

/// `HorusError` with the sentence of `e`.
pub(crate) fn horus_err(e: impl std::fmt::Display) -> PyErr {
    HorusError::new_err(e.to_string())
}

#[pymodule]
fn _horus(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // HORUS's own statements (`RUST_LOG=debug horus run detector.py`, as
    // the seed debugs a Python node; by default warnings such as the first
    // image a pool could not send) reach stderr as in a Rust program: the
    // interpreter has no Rust logger of its own (see `horus::logging`).
    horus::logging::init();
    m.add("HorusError", m.py().get_type::<HorusError>())?;
    m.add_class::<msg::PyMessageType>()?;
    m.add_class::<topic::PyRawTopic>()?;
    m.add_class::<flat_codec::FlatCodec>()?;
    m.add_class::<field_set::FieldSetter>()?;
    m.add_class::<node::PyScheduler>()?;
    m.add_class::<image::PyImage>()?;
    m.add_class::<image::PyImageTopic>()?;
    m.add_class::<array::ArrayBase>()?;
    m.add_class::<serialized::PySerializedTopic>()?;
    m.add_class::<pooled_kinds::PyTensor>()?;
    m.add_class::<pooled_kinds::PyTensorTopic>()?;
    m.add_class::<pooled_kinds::PyDepthImage>()?;
    m.add_class::<pooled_kinds::PyDepthTopic>()?;
    m.add_class::<pooled_kinds::PyPointCloud>()?;
    m.add_class::<pooled_kinds::PyPointCloudTopic>()?;
    m.add_function(wrap_pyfunction!(pooled_kinds::pooled_type_ids, m)?)?;
    m.add_function(wrap_pyfunction!(schema_py::schema_encode, m)?)?;
    m.add_function(wrap_pyfunction!(image::image_type_id, m)?)?;
    m.add_function(wrap_pyfunction!(msg::standard_types, m)?)?;
    m.add_function(wrap_pyfunction!(msg::define, m)?)?;
    m.add_function(wrap_pyfunction!(topic::topic_type, m)?)?;
    m.add_function(wrap_pyfunction!(now_ns, m)?)?;
    m.add_function(wrap_pyfunction!(set_process_pool_limit, m)?)?;
    m.add_function(wrap_pyfunction!(process_pool_limit, m)?)?;
    m.add_function(wrap_pyfunction!(node::stop_requested, m)?)?;
    m.add_function(wrap_pyfunction!(node::report_error, m)?)?;
    m.add_class::<node_settings::NodeSettings>()?;
    Ok(())
}

/// Nanoseconds of the monotonic clock (`horus::now_ns`), as Rust programs
/// stamp their messages.
#[pyfunction]
fn now_ns() -> u64 {
    horus::now_ns()
}

/// Sets the most bytes of shared memory this process's pool for new large
/// messages (`Image(...)`, `Tensor(...)`, ...) may hold
/// (`horus::process_pool::set_limit`); at least one segment is always
/// allowed, and a message larger than the limit is made on the heap and
/// copied when sent.
#[pyfunction]
fn set_process_pool_limit(bytes: &Bound<'_, PyAny>) -> PyResult<()> {
    horus::process_pool::set_limit(args::int("set_process_pool_limit bytes", bytes)?);
    Ok(())
}

/// The limit [`set_process_pool_limit`] set (default 256 MiB).
#[pyfunction]
fn process_pool_limit() -> u64 {
    horus::process_pool::limit()
}
