//! `use horus::prelude::*;` brings what a node program needs.

pub use crate::error::{Error, Result};
pub use crate::msgs::*;
pub use crate::node::Node;
pub use crate::scheduler::Scheduler;
pub use crate::time::now_ns;
pub use crate::topic::Topic;
pub use horus_nostd::{Message, message};
