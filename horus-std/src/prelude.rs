//! `use horus::prelude::*;` brings what a node program needs.

pub use std::time::Duration;

pub use crate::depth::{DepthData, DepthImage, DepthView};
pub use crate::error::{Error, Result};
pub use crate::image::{Encoding, Image, ImageView};
pub use crate::msgs::*;
pub use crate::node::Node;
pub use crate::pointcloud::{PointCloud, PointCloudData, PointCloudView, PointField};
pub use crate::pooled::PoolError;
pub use crate::scheduler::{FaultPolicy, Scheduler};
pub use crate::tensor::{DType, Tensor, TensorData, TensorView};
pub use crate::time::{DurationExt, Frequency, now_ns};
pub use crate::topic::Topic;
pub use crate::{log, logging};
pub use horus_nostd::{Message, message};
