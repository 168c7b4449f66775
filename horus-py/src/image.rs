//! `horus.Image` and its topic: horus-std's [`Image`] (to send) and
//! `ImageView` (received) with numpy arrays over their pixels, as
//! [`crate::pooled_py`] makes them for every large message: a received
//! image's `to_numpy()` is a read-only array over the publisher's pool block
//! itself; an image to send (`Image(w, h, enc)`, `Image.from_numpy`, or
//! `topic.loan(w, h, enc)`) gives writable arrays over its pixels.

use horus::image::{Encoding, Image, ImageFrame, ImageLayout};
use pyo3::prelude::*;

use crate::args::int;
use crate::array::{ArrayDType, DType};
use crate::horus_err;
use crate::pooled_py::{NumpyForm, NumpyLayout, PooledObj, pooled_class, pooled_topic_class};

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
    let channels = numpy_layout(enc).1;
    let mut shape = Vec::with_capacity(3);
    shape.extend([height as usize, width as usize]);
    shape.extend(channels);
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
        Some(c) => format!("a {} array of shape (height, width, {c})", dtype.as_str()),
        None => format!("a {} array of shape (height, width)", dtype.as_str()),
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
                numpy_layout(*encoding).0.as_str()
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

impl NumpyLayout for ImageLayout {
    fn numpy(&self) -> NumpyForm {
        let (dtype, _) = numpy_layout(self.encoding());
        NumpyForm::contiguous(
            numpy_shape(self.width(), self.height(), self.encoding()),
            dtype,
        )
    }

    fn describe(&self) -> String {
        format!(
            "{}x{} {} image",
            self.width(),
            self.height(),
            self.encoding()
        )
    }
}

pub(crate) fn parse_encoding(encoding: &str) -> PyResult<Encoding> {
    encoding.parse::<Encoding>().map_err(horus_err)
}

/// The dtype's `str` and name (with its byte order when not native) and
/// the shape of numpy array `arr`, or the sentence saying it is not one
/// (`what` names the call).
pub(crate) fn array_parts(
    arr: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<(String, String, Vec<usize>)> {
    let (Ok(dtype), Ok(shape)) = (arr.getattr("dtype"), arr.getattr("shape")) else {
        return Err(horus_err(format!(
            "{what} takes a numpy array, not {}: wrap it with numpy.asarray(...)",
            arr.get_type().name()?
        )));
    };
    let typestr: String = dtype.getattr("str")?.extract()?;
    let name = describe_byte_order(&typestr, dtype.getattr("name")?.extract()?);
    Ok((typestr, name, shape.extract()?))
}

/// numpy names `>u2` and `<u2` both `uint16`: a sentence about a dtype
/// says which byte order, when it is not this machine's (the arrays HORUS
/// makes and takes are native).
fn describe_byte_order(typestr: &str, name: String) -> String {
    if !is_foreign_byte_order(typestr) {
        return name;
    }
    let order = if typestr.starts_with('>') {
        "big"
    } else {
        "little"
    };
    format!("{order}-endian {name}")
}

/// Whether numpy type string `typestr` is of the byte order this machine
/// does not use.
pub(crate) fn is_foreign_byte_order(typestr: &str) -> bool {
    let foreign = if cfg!(target_endian = "little") {
        '>'
    } else {
        '<'
    };
    typestr.starts_with(foreign)
}

/// `numpy.copyto(dst, src)`: fills a new message's array.
pub(crate) fn copy_into(dst: Bound<'_, PyAny>, src: &Bound<'_, PyAny>) -> PyResult<()> {
    src.py()
        .import("numpy")?
        .call_method1("copyto", (dst, src))?;
    Ok(())
}

pooled_class!(PyImage, "Image", ImageLayout, image, {
    /// A black `width` x `height` image of `encoding` (`"rgb8"`, ...).
    #[new]
    fn new(width: &Bound<'_, PyAny>, height: &Bound<'_, PyAny>, encoding: &str) -> PyResult<Self> {
        let (width, height) = (int("Image width", width)?, int("Image height", height)?);
        Image::try_new(width, height, encoding)
            .map(|i| Self(PooledObj::outgoing(i)))
            .map_err(crate::pooled_py::pool_err)
    }

    /// An image of the array's pixels (copied once), its dtype and shape
    /// checked against `encoding` (guessed from them when not given).
    #[staticmethod]
    #[pyo3(signature = (arr, encoding=None))]
    fn from_numpy(arr: &Bound<'_, PyAny>, encoding: Option<&str>) -> PyResult<Self> {
        let given = encoding.map(parse_encoding).transpose()?;
        let (typestr, dtype_name, shape) = array_parts(arr, "Image.from_numpy")?;
        let (enc, w, h) = check_array(&typestr, &dtype_name, &shape, given).map_err(horus_err)?;
        let img = Self(PooledObj::outgoing(
            Image::try_new(w, h, enc.as_str()).map_err(crate::pooled_py::pool_err)?,
        ));
        copy_into(img.to_numpy(arr.py())?, arr)?;
        Ok(img)
    }

    /// Bytes per row.
    #[getter]
    fn step(&self) -> u32 {
        self.0.layout().step()
    }
});

pooled_topic_class!(PyImageTopic, "ImageTopic", ImageLayout, PyImage, image);

/// The type id image topics' regions carry (`ImageFrame`'s).
#[pyfunction]
pub fn image_type_id() -> u64 {
    horus::dynamic::MessageType::of::<ImageFrame>().id()
}
