//! Large messages (horus-std's [`Pooled`] kinds: images, depth images,
//! tensors, point clouds) as Python objects with numpy arrays over their
//! bytes, and their topics, written once for every kind.
//!
//! - A received message's arrays are read-only arrays over the publisher's
//!   pool block itself; their base holds the [`PoolView`], so the block
//!   stays held (never rewritten) while any array over it lives.
//! - A message to send (made here or by `from_numpy`, whose bytes are a
//!   block of the process pool, `horus::process_pool`; or `topic.loan(...)`,
//!   a block of the topic's pool) gives writable arrays over its bytes.
//!   `send` moves the bytes when no array over them is alive (the block is
//!   published without a copy); while arrays are alive it sends a copy, so
//!   they never point into a published block.
//!
//! [`PooledObj`] is that logic; [`pooled_class!`] and
//! [`pooled_topic_class!`] make the Python classes of one kind from it.

use std::sync::{Arc, Mutex};

use horus::pooled::{PoolView, Pooled, PooledLayout};
use horus::shm::liveness::fork_generation;
use horus_nostd::sync::AtomicU64;
use pyo3::prelude::*;

use crate::array::{ArrayBase, DType, Owner};
use crate::horus_err;

/// A kind's numpy form: how its bytes are an array.
pub(crate) trait NumpyLayout: PooledLayout + Send + Sync
where
    Pooled<Self>: Send,
    PoolView<Self>: Send + Sync,
{
    /// The array over the bytes.
    fn numpy(&self) -> NumpyForm;

    /// The message in words (`640x480 rgb8 image`).
    fn describe(&self) -> String;
}

/// An array over a message's bytes: shape, byte strides (`None`:
/// C-contiguous), dtype, and the offset of its first element in the bytes.
pub(crate) struct NumpyForm {
    pub(crate) shape: Vec<usize>,
    pub(crate) strides: Option<Vec<isize>>,
    pub(crate) dtype: DType,
    pub(crate) offset: usize,
}

impl NumpyForm {
    /// A C-contiguous array of `shape` from the first byte.
    pub(crate) fn contiguous(shape: Vec<usize>, dtype: DType) -> Self {
        Self {
            shape,
            strides: None,
            dtype,
            offset: 0,
        }
    }
}

/// A message's bytes as the Python object holds them.
enum Bytes<L: PooledLayout> {
    /// To send: the message (`None` once sent), shared with every array
    /// over it (their owner); `addr` is its bytes' address, fixed for its
    /// life.
    Outgoing {
        msg: Arc<Mutex<Option<Pooled<L>>>>,
        addr: usize,
    },
    /// Received: the view, shared with every array over it.
    Received(Arc<PoolView<L>>),
}

/// A message of kind `L`: to send (made here or loaned) or received.
pub(crate) struct PooledObj<L: PooledLayout> {
    layout: L,
    bytes: Bytes<L>,
    /// The fork generation and process that made it: in a child made by
    /// `fork()` its pool block is still the parent's (see [`Self::check_here`]).
    generation: u64,
    pid: u32,
}

impl<L: NumpyLayout> PooledObj<L>
where
    Pooled<L>: Send,
    PoolView<L>: Send + Sync,
{
    /// A message to send.
    pub(crate) fn outgoing(mut msg: Pooled<L>) -> Self {
        let addr = msg.data_mut().as_mut_ptr() as usize;
        Self {
            layout: *msg.layout(),
            bytes: Bytes::Outgoing {
                msg: Arc::new(Mutex::new(Some(msg))),
                addr,
            },
            generation: fork_generation(),
            pid: std::process::id(),
        }
    }

    /// A received message.
    pub(crate) fn received(view: PoolView<L>) -> Self {
        Self {
            layout: *view.layout(),
            bytes: Bytes::Received(Arc::new(view)),
            generation: fork_generation(),
            pid: std::process::id(),
        }
    }

    /// Its layout.
    pub(crate) fn layout(&self) -> &L {
        &self.layout
    }

    /// Was it received (read-only bytes in a shared block)?
    pub(crate) fn is_received(&self) -> bool {
        matches!(self.bytes, Bytes::Received(_))
    }

    /// Are its bytes a pool block (the process pool's, loaned, or received)?
    pub(crate) fn in_pool(&self) -> bool {
        match &self.bytes {
            Bytes::Received(_) => true,
            Bytes::Outgoing { msg, .. } => msg
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_some_and(Pooled::is_loaned),
        }
    }

    /// A `HorusError` if this process is a child made by `fork()` after the
    /// message was made or received and its bytes are a pool block: the
    /// block is the parent's, which may reuse it at any time (Rust's own
    /// accessors panic there; Python gets the sentence as an exception).
    fn check_here(&self) -> PyResult<()> {
        if self.generation == fork_generation() || !self.in_pool() {
            return Ok(());
        }
        Err(horus_err(format!(
            "this {} was made or received in process {} before fork(); this process ({}) \
             is a child made by fork(), and its bytes are a shared-memory block still the \
             parent's, which may reuse it at any time: copy the data before forking \
             (numpy: array.copy()), or receive and make messages in the child through its \
             own Topic",
            self.layout.describe(),
            self.pid,
            std::process::id()
        )))
    }

    fn sent_error(&self) -> PyErr {
        horus_err(format!(
            "this {} was sent (its bytes now belong to the topic): make a new one \
             (the constructor, from_numpy or topic.loan) for the next message",
            self.layout.describe()
        ))
    }

    /// The message to publish: its bytes themselves when nothing else
    /// refers to them, else a copy (arrays over them stay valid).
    pub(crate) fn take_for_send(&self) -> PyResult<Pooled<L>> {
        self.check_here()?;
        match &self.bytes {
            Bytes::Received(view) => {
                let mut copy = Pooled::try_zeroed(self.layout).map_err(horus_err)?;
                copy.data_mut().copy_from_slice(view.data());
                Ok(copy)
            }
            Bytes::Outgoing { msg, addr } => {
                let mut slot = msg.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    return Err(self.sent_error());
                }
                // Only array bases (numpy arrays, DLPack exports) clone the
                // Arc, and only under this lock (`array_base`): a count of 1
                // means none is alive, and none can appear while we hold it.
                if Arc::strong_count(msg) == 1 {
                    return slot.take().ok_or_else(|| self.sent_error());
                }
                let mut copy = Pooled::try_zeroed(self.layout).map_err(horus_err)?;
                let dst = copy.data_mut();
                // SAFETY: `slot` is `Some`, so the message whose bytes are
                // `layout.bytes()` (= `dst.len()`) bytes at `addr` is alive,
                // and stays so while we hold its lock (taking it out needs
                // the lock). Its storage is whole 8-byte-aligned words, at
                // an address fixed while the `Pooled` moves, for each of
                // `Pooled`'s kinds: the heap's `Vec<u64>` of exactly
                // `layout.bytes().div_ceil(8)` words (`Pooled::try_zeroed`;
                // none for 0 bytes, where `addr` is the empty `Vec`'s
                // dangling, aligned pointer and the slice is empty), or a
                // block of the process pool or of a topic's pool, whose
                // words span at least `layout.bytes()` bytes (`Pooled::data`
                // slices that many out of them); so the
                // `dst.len().div_ceil(8)` words from `addr` are all inside
                // it. A pool block is this process's (`check_here` above
                // refused an inherited one in a fork child). `addr` was
                // taken with `as usize` from the pointer of `data_mut`,
                // which exposed its provenance for this cast back. No Rust
                // reference to those bytes exists while arrays live (we made
                // none: arrays write through the address). They are read as
                // atomic words (or by the ring's inline-assembly block copy)
                // only, so Rust makes no non-atomic access to them: a write
                // by Python code in another thread during this copy
                // (allowed, as to any numpy array it shares) meets only
                // those reads, and the copy takes each byte old or new.
                let src = unsafe {
                    std::slice::from_raw_parts(*addr as *const AtomicU64, dst.len().div_ceil(8))
                };
                horus_nostd::ring::copy_from_words(src, dst);
                Ok(copy)
            }
        }
    }

    /// The base object of an array of `form` over the bytes.
    pub(crate) fn array_base_as(&self, form: NumpyForm) -> PyResult<ArrayBase> {
        let NumpyForm {
            shape,
            strides,
            dtype,
            offset,
        } = form;
        self.check_here()?;
        let made = match &self.bytes {
            Bytes::Received(view) => {
                let data = view.data();
                let owner: Owner = view.clone();
                let at = offset.min(data.len());
                // SAFETY: the view's bytes stay mapped and unwritten while
                // the view lives (`PoolView::data`'s guarantee), and `owner`
                // keeps it alive; the array is read-only; `make` checks that
                // every element is inside the `len - at` bytes from `at`.
                unsafe {
                    make(
                        owner,
                        data.as_ptr().add(at),
                        data.len() - at,
                        shape,
                        strides,
                        dtype,
                        true,
                    )
                }
            }
            Bytes::Outgoing { msg, addr } => {
                let slot = msg.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    return Err(self.sent_error());
                }
                let owner: Owner = msg.clone();
                let len = self.layout.bytes();
                let at = offset.min(len);
                // SAFETY: `len` bytes at `addr` are the bytes of the message
                // in `slot` (a heap buffer never reallocated, or a loaned
                // block kept mapped by the message); `owner` keeps it in the
                // slot: `take_for_send` moves it out only when no owner
                // clone is alive. Rust makes no reference to the bytes while
                // arrays live (it copies through the address). `make`
                // checks the extent and the alignment.
                unsafe {
                    make(
                        owner,
                        (*addr + at) as *const u8,
                        len - at,
                        shape,
                        strides,
                        dtype,
                        false,
                    )
                }
            }
        };
        made.map_err(horus_err)
    }

    /// The base object of the message's array ([`NumpyLayout::numpy`]).
    pub(crate) fn array_base(&self) -> PyResult<ArrayBase> {
        self.array_base_as(self.layout.numpy())
    }
}

/// [`ArrayBase::strided`], or `contiguous` when no strides are given.
///
/// # Safety
/// As [`ArrayBase::strided`].
unsafe fn make(
    owner: Owner,
    ptr: *const u8,
    len: usize,
    shape: Vec<usize>,
    strides: Option<Vec<isize>>,
    dtype: DType,
    readonly: bool,
) -> Result<ArrayBase, String> {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        match strides {
            Some(s) => ArrayBase::strided(owner, ptr, len, shape, s, dtype, readonly),
            None => ArrayBase::contiguous(owner, ptr, len, shape, dtype, readonly),
        }
    }
}

/// The methods every large-message class has, forwarding to its
/// [`PooledObj`] (field `0`); `$extra` are the kind's own.
macro_rules! pooled_class {
    // An image kind (images, depth images): the geometry getters too.
    ($cls:ident, $pyname:literal, $layout:ty, image, { $($extra:tt)* }) => {
        $crate::pooled_py::pooled_class!($cls, $pyname, $layout, {
            $($extra)*

            /// Pixels per row.
            #[getter]
            fn width(&self) -> u32 {
                self.0.layout().width()
            }

            /// Rows.
            #[getter]
            fn height(&self) -> u32 {
                self.0.layout().height()
            }

            /// The encoding's name (`"rgb8"`, `"depth16"`, ...).
            #[getter]
            fn encoding(&self) -> &'static str {
                self.0.layout().encoding().as_str()
            }
        });
    };
    ($cls:ident, $pyname:literal, $layout:ty, { $($extra:tt)* }) => {
        #[pyclass(name = $pyname, module = "horus._horus", frozen)]
        pub struct $cls(pub(crate) $crate::pooled_py::PooledObj<$layout>);

        #[pymethods]
        impl $cls {
            $($extra)*

            /// Was it received (read-only bytes in a shared block)?
            #[getter]
            fn received(&self) -> bool {
                self.0.is_received()
            }

            /// Are its bytes a pool block (made here: the process pool's;
            /// `topic.loan`: the topic's; or received)?
            #[getter]
            fn in_pool(&self) -> bool {
                self.0.in_pool()
            }

            /// A numpy array over the bytes themselves (no copy): read-only
            /// when received, writable for a message to send.
            fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                self.0.array_base()?.into_numpy(py)
            }

            /// The array's base object (`__array_interface__`, DLPack).
            fn array_base(&self) -> PyResult<$crate::array::ArrayBase> {
                self.0.array_base()
            }

            /// DLPack export of the bytes (no copy; read-only when
            /// received): `ArrayBase.__dlpack__` of `array_base()`.
            #[pyo3(signature = (**kwargs))]
            fn __dlpack__<'py>(
                &self,
                py: Python<'py>,
                kwargs: Option<&Bound<'py, pyo3::types::PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                Bound::new(py, self.0.array_base()?)?.call_method("__dlpack__", (), kwargs)
            }

            /// `(kDLCPU, 0)`.
            fn __dlpack_device__(&self) -> (i32, i32) {
                ($crate::array::DLPACK_CPU, 0)
            }

            fn __repr__(&self) -> String {
                use $crate::pooled_py::NumpyLayout;
                let received = if self.0.is_received() { ", received" } else { "" };
                format!("<{}{received}>", self.0.layout().describe())
            }
        }
    };
}
pub(crate) use pooled_class;

/// A topic class of one large-message kind (`Topic<Pooled<$layout>>`)
/// whose messages are `$msg` (a [`pooled_class!`]); `$extra` are its own
/// methods (`loan`).
macro_rules! pooled_topic_class {
    // An image kind: `loan(width, height, encoding)`.
    ($cls:ident, $pyname:literal, $layout:ty, $msg:ident, image) => {
        $crate::pooled_py::pooled_topic_class!($cls, $pyname, $layout, $msg, {
            /// A message whose pixels are a block of this publisher's pool
            /// (not cleared): fill `to_numpy()` and `send` it without a
            /// copy.
            fn loan(
                &self,
                width: &Bound<'_, PyAny>,
                height: &Bound<'_, PyAny>,
                encoding: &str,
            ) -> PyResult<$msg> {
                let width = $crate::args::int(concat!($pyname, ".loan width"), width)?;
                let height = $crate::args::int(concat!($pyname, ".loan height"), height)?;
                let enc = $crate::image::parse_encoding(encoding)?;
                self.with(|t| t.loan(width, height, enc))?
                    .map(|m| $msg($crate::pooled_py::PooledObj::outgoing(m)))
                    .map_err($crate::pooled_py::pool_err)
            }
        });
    };
    ($cls:ident, $pyname:literal, $layout:ty, $msg:ident, { $($extra:tt)* }) => {
        #[pyclass(name = $pyname, module = "horus._horus", frozen)]
        pub struct $cls {
            inner: std::sync::Mutex<horus::Topic<horus::pooled::Pooled<$layout>>>,
        }

        impl $cls {
            /// `f` over the handle; `HorusError` for a handle inherited
            /// through `fork()` (Rust panics there, which Python could not
            /// catch).
            fn with<R>(
                &self,
                f: impl FnOnce(&horus::Topic<horus::pooled::Pooled<$layout>>) -> R,
            ) -> PyResult<R> {
                let topic = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                topic.check_process().map_err($crate::horus_err)?;
                Ok(f(&topic))
            }
        }

        #[pymethods]
        impl $cls {
            /// Joins topic `name` (creating it if needed) in `namespace`
            /// or `HORUS_NAMESPACE`; the pool options apply to this
            /// publisher's pool.
            #[new]
            #[pyo3(signature = (name, namespace=None, *, block_size=None, blocks_per_segment=None, max_segments=None))]
            fn new(
                py: Python<'_>,
                name: &str,
                namespace: Option<&str>,
                block_size: Option<Bound<'_, PyAny>>,
                blocks_per_segment: Option<Bound<'_, PyAny>>,
                max_segments: Option<Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                use $crate::args::opt_int;
                let block_size = opt_int(concat!($pyname, " block_size"), block_size.as_ref())?;
                let blocks_per_segment =
                    opt_int(concat!($pyname, " blocks_per_segment"), blocks_per_segment.as_ref())?;
                let max_segments =
                    opt_int(concat!($pyname, " max_segments"), max_segments.as_ref())?;
                let mut b = horus::Topic::<horus::pooled::Pooled<$layout>>::builder(name);
                if let Some(ns) = namespace {
                    b = b.namespace(ns);
                }
                if let Some(n) = block_size {
                    b = b.block_size(n);
                }
                if let Some(n) = blocks_per_segment {
                    b = b.blocks_per_segment(n);
                }
                if let Some(n) = max_segments {
                    b = b.max_segments(n);
                }
                let topic = py.detach(|| b.build()).map_err($crate::horus_err)?;
                Ok(Self {
                    inner: std::sync::Mutex::new(topic),
                })
            }

            /// Publishes `msg` (copied only while arrays over it live).
            /// Never blocks: a message it cannot publish (every pool block
            /// busy, no shared memory left for the pool to grow, larger
            /// than a block) is counted in `unsent_count()` instead, and the
            /// first one is logged as a warning on stderr.
            fn send(&self, msg: &$msg) -> PyResult<()> {
                let m = msg.0.take_for_send()?;
                self.with(|t| t.send(m))
            }

            /// As `send`, but raises `HorusError` when the message cannot
            /// be published (every pool block busy, no shared memory left,
            /// larger than a block).
            fn try_send(&self, msg: &$msg) -> PyResult<()> {
                let m = msg.0.take_for_send()?;
                self.with(|t| t.try_send(m))?.map_err($crate::pooled_py::pool_err)
            }

            /// The next message, or `None`. Never blocks.
            fn recv(&self) -> PyResult<Option<$msg>> {
                Ok(self
                    .with(|t| t.recv())?
                    .map(|view| $msg($crate::pooled_py::PooledObj::received(view))))
            }

            /// This handle's counts: `published` (by every handle),
            /// `received`, `dropped`, `unsent`, `rejected`; and its pool's
            /// `busy_blocks` (held by readers or being written) and
            /// `pool_segments`.
            fn counts<'py>(
                &self,
                py: Python<'py>,
            ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                // Read under the lock, made into Python objects after it
                // (making them may run Python code, which may use this topic).
                let counts = self.with(|t| {
                    [
                        ("published", t.published_count()),
                        ("received", t.received_count()),
                        ("dropped", t.dropped_count()),
                        ("unsent", t.unsent_count()),
                        ("rejected", t.rejected_count()),
                        ("busy_blocks", u64::from(t.busy_blocks())),
                        ("pool_segments", t.pool_segments() as u64),
                    ]
                })?;
                let d = pyo3::types::PyDict::new(py);
                for (name, n) in counts {
                    d.set_item(name, n)?;
                }
                Ok(d)
            }

            /// Frees what dead processes hold on the topic; returns the
            /// entries freed.
            fn reclaim_dead(&self) -> PyResult<u32> {
                self.with(|t| t.reclaim_dead())
            }

            /// `(name, namespace)` of the topic.
            fn location(&self) -> PyResult<(String, String)> {
                self.with(|t| (t.name().to_owned(), t.namespace().to_owned()))
            }

            $($extra)*
        }
    };
}
pub(crate) use pooled_topic_class;

/// An error whose cause may be the topic's pool (a kind's `loan` error, or
/// [`PoolError`](horus::pooled::PoolError) itself).
pub(crate) trait PoolCause: std::fmt::Display {
    /// The pool's error, if that is the cause.
    fn pool(&self) -> Option<&horus::pooled::PoolError>;
}

impl PoolCause for horus::pooled::PoolError {
    fn pool(&self) -> Option<&horus::pooled::PoolError> {
        Some(self)
    }
}

macro_rules! pool_cause {
    ($($e:ty),*) => {$(
        impl PoolCause for $e {
            fn pool(&self) -> Option<&horus::pooled::PoolError> {
                match self {
                    Self::Pool(p) => Some(p),
                    _ => None,
                }
            }
        }
    )*};
}
pool_cause!(
    horus::image::ImageError,
    horus::tensor::TensorError,
    horus::pointcloud::PointCloudError
);

/// `HorusError` of a pooled topic's `loan` or `try_send`: the sentences
/// that name Rust's `Topic::builder(..)` options name the Python keyword
/// arguments instead; the others as they are.
pub(crate) fn pool_err(e: impl PoolCause) -> PyErr {
    use horus::pooled::PoolError as P;
    match e.pool() {
        Some(P::TooLarge {
            topic,
            bytes,
            block_size,
        }) => horus_err(format!(
            "message of {bytes} bytes does not fit the {block_size}-byte blocks of this \
             publisher's pool for topic {topic}: give this publisher's handle \
             block_size={bytes} (a keyword argument of horus.Topic) or send messages no \
             larger than the first one"
        )),
        Some(P::Exhausted {
            topic,
            segments,
            blocks,
        }) => horus_err(format!(
            "message not sent on topic {topic}: all {segments} pool segments of {blocks} \
             blocks are held by readers or being written; readers should drop received \
             messages and the arrays over them sooner, or give this publisher's handle a \
             larger max_segments= or blocks_per_segment= (keyword arguments of horus.Topic)"
        )),
        Some(P::BadGeometry { topic, reason }) => horus_err(format!(
            "the block pool of topic {topic} cannot be laid out ({reason}); give this \
             publisher's handle a smaller block_size= or blocks_per_segment= (keyword \
             arguments of horus.Topic)"
        )),
        Some(P::ProcessPoolFull {
            bytes,
            segments,
            held,
            limit,
        }) => horus_err(format!(
            "no {bytes}-byte block for a new large message: this process's pool holds \
             {segments} segments ({held} bytes of its {limit}-byte limit), every block being \
             filled or held by receivers; send or drop messages and the arrays over them \
             sooner, or raise the limit with horus.set_process_pool_limit(bytes)"
        )),
        _ => horus_err(e),
    }
}
