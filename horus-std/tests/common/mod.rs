//! Shared by the integration tests of horus-std and of horus-cli (which
//! includes this file by path): a private namespace per test, removed at the
//! end, and re-running this test binary as a child process.
//!
//! By theme, each re-exported here (`common::TestNs`, ...):
//! - `ns`: [`TestNs`], a test's own namespace;
//! - `child`: this test binary as a child process, both sides ([`Peer`]);
//! - `waiting`: [`wait_until`] and [`watchdog`];
//! - `pool`: [`fill`]/[`check_fill`] and block pool helpers;
//! - `sched`: [`Probe`], a node that logs its calls into a [`Trace`].
#![allow(dead_code)]

mod child;
mod ns;
mod pool;
mod sched;
mod waiting;

// A test binary uses a few of them: the others are no warning.
#[allow(unused_imports)]
pub use self::{child::*, ns::*, pool::*, sched::*, waiting::*};
