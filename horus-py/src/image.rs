//! `horus.Image` and its topic: horus-std's [`Image`] (to send) and
//! [`ImageView`] (received) with numpy arrays over their pixels (see
//! [`crate::array`]).
//!
//! - A received image's `to_numpy()` is a read-only array over the
//!   publisher's pool block itself; the array's base holds the `ImageView`,
//!   so the block stays held (never rewritten) while any array over it lives.
//! - An image to send (`Image(w, h, enc)`, `Image.from_numpy`, or
//!   `topic.loan(w, h, enc)`, whose pixels are a pool block) gives writable
//!   arrays over its pixels. `send` moves the pixels when no array over them
//!   is alive (a loaned block is published without a copy); while arrays
//!   are alive it sends a copy, so they never point into a published block.

use std::sync::{Arc, Mutex};

use horus::image::{Encoding, Image, ImageFrame, ImageTopic, ImageView};
use horus::prelude::*;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::array::{ArrayBase, DLPACK_CPU, DType, Owner};
use crate::horus_err;

/// numpy's form of an encoding: element type and channels (`None`: 2-D).
fn numpy_layout(enc: Encoding) -> (DType, Option<usize>) {
    match enc {
        Encoding::Mono8 => (DType::U8, None),
        Encoding::Mono16 | Encoding::Depth16 => (DType::U16, None),
        Encoding::F32C1 => (DType::F32, None),
        // rgb8, bgr8, rgba8, bgra8, yuv422 (two bytes per pixel) and any
        // later byte encoding: one u8 per byte of a pixel.
        other => (DType::U8, Some(other.bytes_per_pixel() as usize)),
    }
}

/// The shape of an image's array: `(height, width[, channels])`.
fn numpy_shape(width: u32, height: u32, enc: Encoding) -> Vec<usize> {
    let mut shape = vec![height as usize, width as usize];
    shape.extend(numpy_layout(enc).1);
    shape
}

/// An array that does not fit an encoding.
#[derive(PartialEq, Eq)]
pub(crate) enum ArrayMismatch {
    /// Wrong element type.
    DType {
        encoding: Encoding,
        found: String,
        shape: Vec<usize>,
    },
    /// Wrong number of dimensions or channels.
    Shape {
        encoding: Encoding,
        found: Vec<usize>,
    },
    /// No encoding has this dtype and shape (when none was given).
    NoEncoding { dtype: String, shape: Vec<usize> },
}

/// `(480, 640, 3)`: a shape as Python prints it.
fn py_shape(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn expected(enc: Encoding) -> String {
    let (dtype, channels) = numpy_layout(enc);
    match channels {
        Some(c) => format!("a {} array of shape (height, width, {c})", dtype.name()),
        None => format!("a {} array of shape (height, width)", dtype.name()),
    }
}

impl std::fmt::Display for ArrayMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArrayMismatch::DType {
                encoding,
                found,
                shape,
            } => write!(
                f,
                "a {encoding} image needs {}, not {found} of shape {}: convert it with \
                 arr.astype(numpy.{})",
                expected(*encoding),
                py_shape(shape),
                numpy_layout(*encoding).0.name()
            ),
            ArrayMismatch::Shape { encoding, found } => write!(
                f,
                "a {encoding} image needs {}, not shape {}: pass the encoding that matches \
                 the array (e.g. mono8 for 2-D uint8, rgb8 for 3 channels)",
                expected(*encoding),
                py_shape(found)
            ),
            ArrayMismatch::NoEncoding { dtype, shape } => write!(
                f,
                "no image encoding is a {dtype} array of shape {}: pass encoding=... (uint8 \
                 (h, w), (h, w, 3) or (h, w, 4); uint16 or float32 (h, w))",
                py_shape(shape)
            ),
        }
    }
}

impl std::fmt::Debug for ArrayMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The encoding an array of `typestr` and `shape` is (given, or guessed),
/// and its `(width, height)`.
pub(crate) fn check_array(
    typestr: &str,
    dtype_name: &str,
    shape: &[usize],
    given: Option<Encoding>,
) -> Result<(Encoding, u32, u32), ArrayMismatch> {
    let encoding = match given {
        Some(e) => e,
        None => {
            let guess = match (typestr, shape.len(), shape.get(2)) {
                ("|u1", 2, _) => Some(Encoding::Mono8),
                ("|u1", 3, Some(3)) => Some(Encoding::Rgb8),
                ("|u1", 3, Some(4)) => Some(Encoding::Rgba8),
                (t, 2, _) if t == DType::U16.typestr() => Some(Encoding::Mono16),
                (t, 2, _) if t == DType::F32.typestr() => Some(Encoding::F32C1),
                _ => None,
            };
            guess.ok_or_else(|| ArrayMismatch::NoEncoding {
                dtype: dtype_name.to_owned(),
                shape: shape.to_vec(),
            })?
        }
    };
    let (dtype, channels) = numpy_layout(encoding);
    if typestr != dtype.typestr() {
        return Err(ArrayMismatch::DType {
            encoding,
            found: dtype_name.to_owned(),
            shape: shape.to_vec(),
        });
    }
    let fits = match channels {
        Some(c) => shape.len() == 3 && shape[2] == c,
        None => shape.len() == 2,
    };
    let dim = |i: usize| shape.get(i).and_then(|&n| u32::try_from(n).ok());
    let dims = dim(1).zip(dim(0));
    match dims {
        Some((w, h)) if fits => Ok((encoding, w, h)),
        _ => Err(ArrayMismatch::Shape {
            encoding,
            found: shape.to_vec(),
        }),
    }
}

/// An image's pixels as the Python object holds them.
enum Pixels {
    /// To send: the image (`None` once sent), shared with every array over
    /// it (their owner); `addr` is its pixels' address, fixed for its life.
    Outgoing {
        image: Arc<Mutex<Option<Image>>>,
        addr: usize,
    },
    /// Received: the view, shared with every array over it.
    Received(Arc<ImageView>),
}

/// An image: to send (made here or loaned from a topic) or received.
#[pyclass(name = "Image", module = "horus._horus", frozen)]
pub struct PyImage {
    width: u32,
    height: u32,
    encoding: Encoding,
    pixels: Pixels,
}

impl PyImage {
    fn outgoing(mut img: Image) -> Self {
        let addr = img.data_mut().as_mut_ptr() as usize;
        Self {
            width: img.width(),
            height: img.height(),
            encoding: img.encoding(),
            pixels: Pixels::Outgoing {
                image: Arc::new(Mutex::new(Some(img))),
                addr,
            },
        }
    }

    fn len(&self) -> usize {
        self.step() as usize * self.height as usize
    }

    fn sent_error(&self) -> PyErr {
        horus_err(format!(
            "this {}x{} {} image was sent (its pixels now belong to the topic): make a new one \
             (Image(...) or topic.loan(...)) for the next frame",
            self.width, self.height, self.encoding
        ))
    }

    /// The image to publish: the pixels themselves when nothing else
    /// refers to them, else a copy (arrays over them stay valid).
    pub(crate) fn take_for_send(&self) -> PyResult<Image> {
        match &self.pixels {
            Pixels::Received(view) => {
                Image::from_data(self.width, self.height, self.encoding, view.data().to_vec())
                    .map_err(horus_err)
            }
            Pixels::Outgoing { image, addr } => {
                let mut slot = image.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    return Err(self.sent_error());
                }
                // Only array bases (numpy arrays, DLPack exports) clone the
                // Arc, and only under this lock (`array_base`): a count of 1
                // means none is alive, and none can appear while we hold it.
                if Arc::strong_count(image) == 1 {
                    return slot.take().ok_or_else(|| self.sent_error());
                }
                let mut copy = vec![0u8; self.len()];
                // SAFETY: `slot` is `Some`, so the image whose pixels are
                // `len` bytes at `addr` is alive (we hold its lock); no
                // Rust reference to them exists while arrays live (we made
                // none: arrays write through the address). Python code may
                // write to them from another thread during this copy, as it
                // may to any numpy array it shares; the bytes are plain u8s.
                unsafe {
                    std::ptr::copy_nonoverlapping(*addr as *const u8, copy.as_mut_ptr(), copy.len())
                };
                Image::from_data(self.width, self.height, self.encoding, copy).map_err(horus_err)
            }
        }
    }
}

fn parse_encoding(encoding: &str) -> PyResult<Encoding> {
    encoding.parse::<Encoding>().map_err(horus_err)
}

#[pymethods]
impl PyImage {
    /// A black `width` x `height` image of `encoding` (`"rgb8"`, ...).
    #[new]
    fn new(width: u32, height: u32, encoding: &str) -> PyResult<Self> {
        Image::try_new(width, height, encoding)
            .map(Self::outgoing)
            .map_err(horus_err)
    }

    /// An image of the array's pixels (copied once), its dtype and shape
    /// checked against `encoding` (guessed from them when not given).
    #[staticmethod]
    #[pyo3(signature = (arr, encoding=None))]
    fn from_numpy(arr: &Bound<'_, PyAny>, encoding: Option<&str>) -> PyResult<Self> {
        let py = arr.py();
        let given = encoding.map(parse_encoding).transpose()?;
        let (Ok(dtype), Ok(shape)) = (arr.getattr("dtype"), arr.getattr("shape")) else {
            return Err(horus_err(format!(
                "Image.from_numpy takes a numpy array, not {}: wrap it with numpy.asarray(...)",
                arr.get_type().name()?
            )));
        };
        let typestr: String = dtype.getattr("str")?.extract()?;
        let dtype_name: String = dtype.getattr("name")?.extract()?;
        let shape: Vec<usize> = shape.extract()?;
        let (enc, w, h) = check_array(&typestr, &dtype_name, &shape, given).map_err(horus_err)?;
        let img = Self::outgoing(Image::try_new(w, h, enc.as_str()).map_err(horus_err)?);
        let dst = img.to_numpy(py)?;
        py.import("numpy")?.call_method1("copyto", (dst, arr))?;
        Ok(img)
    }

    /// Pixels per row.
    #[getter]
    fn width(&self) -> u32 {
        self.width
    }

    /// Rows.
    #[getter]
    fn height(&self) -> u32 {
        self.height
    }

    /// The encoding's name (`"rgb8"`, ...).
    #[getter]
    fn encoding(&self) -> &'static str {
        self.encoding.as_str()
    }

    /// Bytes per row.
    #[getter]
    fn step(&self) -> u32 {
        self.width * self.encoding.bytes_per_pixel()
    }

    /// Was it received (read-only pixels in a shared block)?
    #[getter]
    fn received(&self) -> bool {
        matches!(self.pixels, Pixels::Received(_))
    }

    /// Are its pixels a pool block (`topic.loan`, or received)?
    #[getter]
    fn in_pool(&self) -> bool {
        match &self.pixels {
            Pixels::Received(_) => true,
            Pixels::Outgoing { image, .. } => image
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_some_and(Image::is_loaned),
        }
    }

    /// A numpy array over the pixels themselves (no copy): read-only for a
    /// received image, writable for one to send.
    fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.array_base()?.into_numpy(py)
    }

    /// The array's base object (`__array_interface__`, DLPack).
    fn array_base(&self) -> PyResult<ArrayBase> {
        let shape = numpy_shape(self.width, self.height, self.encoding);
        let dtype = numpy_layout(self.encoding).0;
        let made = match &self.pixels {
            Pixels::Received(view) => {
                let data = view.data();
                let owner: Owner = view.clone();
                // SAFETY: the view's bytes stay mapped and unwritten while
                // the view lives (`ImageView::data`'s guarantee), and
                // `owner` keeps it alive; the array is read-only. The data
                // starts a 64-byte aligned block.
                unsafe {
                    ArrayBase::contiguous(owner, data.as_ptr(), data.len(), shape, dtype, true)
                }
            }
            Pixels::Outgoing { image, addr } => {
                let slot = image.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    return Err(self.sent_error());
                }
                let owner: Owner = image.clone();
                // SAFETY: `len` bytes at `addr` are the pixels of the image
                // in `slot` (a heap buffer never reallocated, or a loaned
                // block kept mapped by the image); `owner` keeps it in the
                // slot: `take_for_send` moves it out only when no owner
                // clone is alive. Rust makes no reference to the pixels
                // while arrays live (it copies through the address). A heap
                // buffer of bytes is 1-aligned: `contiguous` checks it.
                unsafe {
                    ArrayBase::contiguous(
                        owner,
                        *addr as *const u8,
                        self.len(),
                        shape,
                        dtype,
                        false,
                    )
                }
            }
        };
        made.map_err(horus_err)
    }

    /// DLPack export of the pixels (no copy; read-only for a received
    /// image): `ArrayBase.__dlpack__` of `array_base()`.
    #[pyo3(signature = (**kwargs))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Bound::new(py, self.array_base()?)?.call_method("__dlpack__", (), kwargs)
    }

    /// `(kDLCPU, 0)`.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (DLPACK_CPU, 0)
    }

    fn __repr__(&self) -> String {
        format!(
            "Image({}, {}, {:?}{})",
            self.width,
            self.height,
            self.encoding.as_str(),
            if self.received() { ", received" } else { "" }
        )
    }
}

/// A topic of images (`Topic<Image>`): `horus.Topic(name, horus.Image)`.
#[pyclass(name = "ImageTopic", module = "horus._horus", frozen)]
pub struct PyImageTopic {
    inner: Mutex<ImageTopic>,
}

impl PyImageTopic {
    fn with<R>(&self, f: impl FnOnce(&ImageTopic) -> R) -> R {
        f(&self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[pymethods]
impl PyImageTopic {
    /// Joins image topic `name` (creating it if needed) in `namespace` or
    /// `HORUS_NAMESPACE`; the pool options apply to this publisher's pool.
    #[new]
    #[pyo3(signature = (name, namespace=None, *, block_size=None, blocks_per_segment=None, max_segments=None))]
    fn new(
        py: Python<'_>,
        name: &str,
        namespace: Option<&str>,
        block_size: Option<u32>,
        blocks_per_segment: Option<u32>,
        max_segments: Option<u32>,
    ) -> PyResult<Self> {
        let mut b = ImageTopic::builder(name);
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
        let topic = py.detach(|| b.build()).map_err(horus_err)?;
        Ok(Self {
            inner: Mutex::new(topic),
        })
    }

    /// Publishes `img` (see the module docs for when it is copied). Never
    /// blocks: with every pool block busy the image is counted in
    /// `unsent_count()` instead.
    fn send(&self, img: &PyImage) -> PyResult<()> {
        let img = img.take_for_send()?;
        self.with(|t| t.send(img));
        Ok(())
    }

    /// As `send`, but raises `HorusError` when the image cannot be
    /// published (every pool block busy, image larger than the blocks).
    fn try_send(&self, img: &PyImage) -> PyResult<()> {
        let img = img.take_for_send()?;
        self.with(|t| t.try_send(img)).map_err(horus_err)
    }

    /// A black image whose pixels are a block of this publisher's pool:
    /// fill `to_numpy()` and `send` it without a copy.
    fn loan(&self, width: u32, height: u32, encoding: &str) -> PyResult<PyImage> {
        let enc = parse_encoding(encoding)?;
        self.with(|t| t.loan(width, height, enc))
            .map(PyImage::outgoing)
            .map_err(horus_err)
    }

    /// The next image, or `None`. Never blocks.
    fn recv(&self) -> Option<PyImage> {
        let view = self.with(|t| t.recv())?;
        Some(PyImage {
            width: view.width(),
            height: view.height(),
            encoding: view.encoding(),
            pixels: Pixels::Received(Arc::new(view)),
        })
    }

    /// This handle's counts: `published` (by every handle), `received`,
    /// `dropped`, `unsent`, `rejected`; and its pool's `busy_blocks` (held
    /// by readers or being written) and `pool_segments`.
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        self.with(|t| -> PyResult<()> {
            d.set_item("published", t.published_count())?;
            d.set_item("received", t.received_count())?;
            d.set_item("dropped", t.dropped_count())?;
            d.set_item("unsent", t.unsent_count())?;
            d.set_item("rejected", t.rejected_count())?;
            d.set_item("busy_blocks", t.busy_blocks())?;
            d.set_item("pool_segments", t.pool_segments())
        })?;
        Ok(d)
    }

    /// Frees what dead processes hold on the topic; returns the entries freed.
    fn reclaim_dead(&self) -> u32 {
        self.with(|t| t.reclaim_dead())
    }

    /// `(name, namespace)` of the topic.
    fn location(&self) -> (String, String) {
        self.with(|t| (t.name().to_owned(), t.namespace().to_owned()))
    }
}

/// The type id image topics' regions carry (`ImageFrame`'s).
#[pyfunction]
pub fn image_type_id() -> u64 {
    horus::dynamic::MessageType::of::<ImageFrame>().id()
}
