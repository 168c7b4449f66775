//! `horus.Tensor`, `horus.DepthImage`, `horus.PointCloud` and their topics:
//! horus-std's large messages with numpy arrays over their bytes (see
//! [`crate::pooled_py`] for what is copied when).
//!
//! - A tensor's array has its shape, dtype and byte strides (a received
//!   descriptor may carry non-contiguous strides; the array follows them).
//! - A depth image's array is `(height, width)` of `uint16` (`depth16`,
//!   millimetres) or `float32` (`32FC1`, metres).
//! - A point cloud's `to_numpy()` is `(points, 3)` `float32` over `x`, `y`,
//!   `z` (strides: the point step, 4), when they are consecutive `float32`s
//!   (as in every layout made here); otherwise `(points, point_step)`
//!   `uint8`, the raw points. `field(name)` is a `(points,)` array over one
//!   field, of its dtype, whatever the layout.

use horus::depth::{DepthImage, DepthLayout};
use horus::image::Encoding;
use horus::pointcloud::{PointCloud, PointCloudLayout};
use horus::tensor::{Tensor, TensorLayout};
use pyo3::prelude::*;

use crate::args::{int, ints};
use crate::array::{ArrayDType, DType};
use crate::horus_err;
use crate::image::{array_parts, copy_into};
use crate::pooled_py::{NumpyForm, NumpyLayout, PooledObj, pooled_class, pooled_topic_class};

fn shape_usize(shape: &[u64]) -> Vec<usize> {
    shape.iter().map(|&n| n as usize).collect()
}

impl NumpyLayout for TensorLayout {
    fn numpy(&self) -> NumpyForm {
        NumpyForm {
            shape: shape_usize(self.shape()),
            strides: Some(self.strides().iter().map(|&s| s as isize).collect()),
            dtype: self.dtype(),
            offset: 0,
        }
    }

    fn describe(&self) -> String {
        format!("{} tensor of shape {:?}", self.dtype(), self.shape())
    }
}

/// The dtype of numpy array `arr` (described by `typestr` and `name`) as a
/// tensor dtype: numpy's name, in native byte order (checked first: `name`
/// then says the other byte order too, see `array_parts`).
fn tensor_dtype(typestr: &str, name: &str, what: &str) -> PyResult<DType> {
    let other_order = || {
        horus_err(format!(
            "{what} takes arrays in native byte order, not {typestr}: convert it with \
             arr.astype(arr.dtype.newbyteorder('='))"
        ))
    };
    if crate::image::is_foreign_byte_order(typestr) {
        return Err(other_order());
    }
    let dtype: DType = name.parse().map_err(horus_err)?;
    if dtype.typestr() != typestr {
        return Err(other_order());
    }
    Ok(dtype)
}

pooled_class!(PyTensor, "Tensor", TensorLayout, {
    /// A zeroed C-contiguous tensor of `shape` and `dtype` (numpy's names:
    /// `"float32"`, `"uint8"`, ...).
    #[new]
    #[pyo3(signature = (shape, dtype="float32"))]
    fn new(shape: &Bound<'_, PyAny>, dtype: &str) -> PyResult<Self> {
        let shape: Vec<u64> = ints("Tensor shape", shape)?;
        Tensor::try_new(&shape, dtype)
            .map(|t| Self(PooledObj::outgoing(t)))
            .map_err(crate::pooled_py::pool_err)
    }

    /// A tensor of the array's elements (copied once, C-contiguous), of
    /// its shape and dtype.
    #[staticmethod]
    fn from_numpy(arr: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (typestr, name, shape) = array_parts(arr, "Tensor.from_numpy")?;
        let dtype = tensor_dtype(&typestr, &name, "Tensor.from_numpy")?;
        let shape: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
        let t = Self(PooledObj::outgoing(
            Tensor::try_new(&shape, dtype.as_str()).map_err(crate::pooled_py::pool_err)?,
        ));
        copy_into(t.to_numpy(arr.py())?, arr)?;
        Ok(t)
    }

    /// Elements along each dimension.
    #[getter]
    fn shape(&self) -> Vec<u64> {
        self.0.layout().shape().to_vec()
    }

    /// Bytes from one element to the next along each dimension.
    #[getter]
    fn strides(&self) -> Vec<i64> {
        self.0.layout().strides().to_vec()
    }

    /// numpy's name of the element type.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.0.layout().dtype().as_str()
    }
});

pooled_topic_class!(PyTensorTopic, "TensorTopic", TensorLayout, PyTensor, {
    /// A C-contiguous tensor whose elements are a block of this
    /// publisher's pool (not cleared): fill `to_numpy()` and `send` it
    /// without a copy.
    #[pyo3(signature = (shape, dtype="float32"))]
    fn loan(&self, shape: &Bound<'_, PyAny>, dtype: &str) -> PyResult<PyTensor> {
        let shape: Vec<u64> = ints("TensorTopic.loan shape", shape)?;
        let dtype: DType = dtype.parse().map_err(horus_err)?;
        self.with(|t| t.loan(dtype, &shape))?
            .map(|t| PyTensor(PooledObj::outgoing(t)))
            .map_err(crate::pooled_py::pool_err)
    }
});

impl NumpyLayout for DepthLayout {
    fn numpy(&self) -> NumpyForm {
        let dtype = match self.encoding() {
            Encoding::Depth16 => DType::U16,
            _ => DType::F32,
        };
        NumpyForm::contiguous(vec![self.height() as usize, self.width() as usize], dtype)
    }

    fn describe(&self) -> String {
        let (w, h, e) = (self.width(), self.height(), self.encoding());
        format!("{w}x{h} {e} depth image")
    }
}

pooled_class!(PyDepthImage, "DepthImage", DepthLayout, image, {
    /// A `width` x `height` depth image of zeros ("no reading"):
    /// `"depth16"` (uint16 millimetres) or `"32FC1"` (float32 metres).
    #[new]
    #[pyo3(signature = (width, height, encoding="depth16"))]
    fn new(width: &Bound<'_, PyAny>, height: &Bound<'_, PyAny>, encoding: &str) -> PyResult<Self> {
        let width = int("DepthImage width", width)?;
        let height = int("DepthImage height", height)?;
        DepthImage::try_new(width, height, encoding)
            .map(|d| Self(PooledObj::outgoing(d)))
            .map_err(crate::pooled_py::pool_err)
    }

    /// A depth image of the array (copied once): `uint16` `(height,
    /// width)` is `depth16`, `float32` is `32FC1`.
    #[staticmethod]
    fn from_numpy(arr: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (typestr, name, shape) = array_parts(arr, "DepthImage.from_numpy")?;
        let encoding = match typestr.as_str() {
            t if t == DType::U16.typestr() => Some("depth16"),
            t if t == DType::F32.typestr() => Some("32FC1"),
            _ => None,
        };
        let dims = match shape[..] {
            [h, w] => u32::try_from(w).ok().zip(u32::try_from(h).ok()),
            _ => None,
        };
        let (Some(encoding), Some((w, h))) = (encoding, dims) else {
            return Err(horus_err(format!(
                "a depth image is a uint16 (depth16, millimetres) or float32 (32FC1, metres) \
                 array of shape (height, width), not {name} of shape {shape:?}: convert it \
                 with arr.astype(numpy.uint16) or numpy.float32"
            )));
        };
        let d = Self(PooledObj::outgoing(
            DepthImage::try_new(w, h, encoding).map_err(crate::pooled_py::pool_err)?,
        ));
        copy_into(d.to_numpy(arr.py())?, arr)?;
        Ok(d)
    }
});

pooled_topic_class!(PyDepthTopic, "DepthTopic", DepthLayout, PyDepthImage, image);

impl NumpyLayout for PointCloudLayout {
    fn numpy(&self) -> NumpyForm {
        let (n, step) = (self.points() as usize, self.point_step() as isize);
        let off = |name| self.field(name).map(|f| f.offset() as usize);
        match (off("x"), off("y"), off("z")) {
            (Some(x), Some(y), Some(z)) if y == x + 4 && z == x + 8 => NumpyForm {
                shape: vec![n, 3],
                strides: Some(vec![step, 4]),
                dtype: DType::F32,
                offset: x,
            },
            _ => NumpyForm::contiguous(vec![n, step as usize], DType::U8),
        }
    }

    fn describe(&self) -> String {
        let fields: Vec<&str> = self.fields().map(|f| f.name()).collect();
        format!(
            "point cloud of {} points ({})",
            self.points(),
            fields.join(", ")
        )
    }
}

/// The layout named `fields` (`xyz`, `xyzi`, `xyzrgb`) of `points` points.
fn named_layout(points: u32, fields: &str) -> PyResult<PointCloudLayout> {
    let layout = match fields {
        "xyz" => PointCloudLayout::xyz(points),
        "xyzi" => PointCloudLayout::xyzi(points),
        "xyzrgb" => PointCloudLayout::xyzrgb(points),
        other => {
            return Err(horus_err(format!(
                "unknown point layout {other:?}: use \"xyz\", \"xyzi\" or \"xyzrgb\" (other \
                 fields: build the cloud in Rust with PointField)"
            )));
        }
    };
    layout.map_err(horus_err)
}

pooled_class!(PyPointCloud, "PointCloud", PointCloudLayout, {
    /// `points` points of `fields` (`"xyz"`, `"xyzi"`: float32 x, y, z,
    /// intensity; `"xyzrgb"`: float32 x, y, z and uint32 rgb), all zero.
    #[new]
    #[pyo3(signature = (points, fields="xyz"))]
    fn new(points: &Bound<'_, PyAny>, fields: &str) -> PyResult<Self> {
        let points = int("PointCloud points", points)?;
        let cloud = PointCloud::try_zeroed(named_layout(points, fields)?)
            .map_err(crate::pooled_py::pool_err)?;
        Ok(Self(PooledObj::outgoing(cloud)))
    }

    /// A cloud of the array's points (copied once): `float32` `(n, 3)` is
    /// `xyz`, `(n, 4)` is `xyzi`.
    #[staticmethod]
    fn from_numpy(arr: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (typestr, name, shape) = array_parts(arr, "PointCloud.from_numpy")?;
        let fields = match shape[..] {
            [_, 3] => Some("xyz"),
            [_, 4] => Some("xyzi"),
            _ => None,
        };
        let (Some(fields), true) = (fields, typestr == DType::F32.typestr()) else {
            return Err(horus_err(format!(
                "PointCloud.from_numpy takes a float32 array of shape (points, 3) (x, y, z) or \
                 (points, 4) (x, y, z, intensity), not {name} of shape {shape:?}"
            )));
        };
        let points = u32::try_from(shape[0]).map_err(|_| horus_err("too many points"))?;
        let cloud = PointCloud::try_zeroed(named_layout(points, fields)?)
            .map_err(crate::pooled_py::pool_err)?;
        let c = Self(PooledObj::outgoing(cloud));
        let dst =
            c.0.array_base_as(NumpyForm::contiguous(shape, DType::F32))?;
        copy_into(dst.into_numpy(arr.py())?, arr)?;
        Ok(c)
    }

    /// Points.
    #[getter]
    fn points(&self) -> u32 {
        self.0.layout().points()
    }

    /// Bytes per point.
    #[getter]
    fn point_step(&self) -> u32 {
        self.0.layout().point_step()
    }

    /// `(name, byte offset in the point, dtype)` of each field.
    #[getter]
    fn fields(&self) -> Vec<(String, u32, &'static str)> {
        self.0
            .layout()
            .fields()
            .map(|f| (f.name().to_owned(), f.offset(), f.datatype().as_str()))
            .collect()
    }

    /// A `(points,)` array over field `name` of every point (no copy;
    /// read-only when received).
    fn field<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let l = self.0.layout();
        let Some(f) = l.field(name) else {
            let names: Vec<&str> = l.fields().map(|f| f.name()).collect();
            return Err(horus_err(format!(
                "the point cloud has no field {name:?}: its fields are {}",
                names.join(", ")
            )));
        };
        let form = NumpyForm {
            shape: vec![l.points() as usize],
            strides: Some(vec![l.point_step() as isize]),
            dtype: f.datatype(),
            offset: f.offset() as usize,
        };
        self.0.array_base_as(form)?.into_numpy(py)
    }
});

pooled_topic_class!(
    PyPointCloudTopic,
    "PointCloudTopic",
    PointCloudLayout,
    PyPointCloud,
    {
        /// A cloud of `points` points of `fields` whose points are a block of
        /// this publisher's pool (not cleared): fill it and `send` it without a
        /// copy.
        #[pyo3(signature = (points, fields="xyz"))]
        fn loan(&self, points: &Bound<'_, PyAny>, fields: &str) -> PyResult<PyPointCloud> {
            let points = int("PointCloudTopic.loan points", points)?;
            let layout = named_layout(points, fields)?;
            self.with(|t| t.loan(layout))?
                .map(|c| PyPointCloud(PooledObj::outgoing(c)))
                .map_err(crate::pooled_py::pool_err)
        }
    }
);

/// Type ids of the large-message kinds' regions, by class name (`Image`,
/// `Tensor`, `DepthImage`, `PointCloud`): the scheduler's nodes pick the
/// class of an existing topic by them.
#[pyfunction]
pub fn pooled_type_ids() -> Vec<(&'static str, u64)> {
    use horus::dynamic::MessageType;
    use horus::pooled::PooledLayout;
    fn id<L: PooledLayout>() -> u64 {
        MessageType::of::<L::Wire>().id()
    }
    vec![
        ("Image", id::<horus::image::ImageLayout>()),
        ("Tensor", id::<TensorLayout>()),
        ("PointCloud", id::<PointCloudLayout>()),
    ]
}
