//! Nodes (being written; see the scheduler issue).

/// A unit of work ticked by the scheduler.
pub trait Node {
    /// The node's name.
    fn name(&self) -> &str;
    /// One step of work.
    fn tick(&mut self);
}
