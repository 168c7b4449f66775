//! Where the engine's nodes live: one [`Slot`] per node, in a [`Storage`]
//! the engine is generic over (as heapless is over owned or view storage).
//!
//! - On a board: [`heapless::Vec<Slot<T>, N>`](heapless::Vec), `N` slots
//!   inline (in a `static` or on the stack), `T` usually
//!   `&'a mut dyn CoreNode` ([`CoreScheduler`](super::CoreScheduler)).
//! - On Linux: the std scheduler's own growable storage of boxed nodes
//!   behind an adapter (it lives in horus-std, which has an allocator).
//!
//! The engine owns the slots' bookkeeping (state, timing, id); a storage
//! only holds them in tick order and says how many fit.

use super::{CoreNode, FaultPolicy, NodeConfig, NodeFault, NodeId, NodeState, Tick, Timing};

/// One node in the engine's table, with its bookkeeping. The engine
/// creates and changes slots; everyone else reads them (and may reach the
/// node itself through [`node_mut`](Self::node_mut)).
///
/// ```
/// use horus_nostd::sched::{CoreNode, CoreScheduler, NodeConfig, NodeFault, NodeState, Tick};
/// use horus_nostd::time::Frequency;
///
/// struct Nop;
/// impl CoreNode for Nop {
///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
///         Ok(())
///     }
/// }
/// let mut nop = Nop;
/// let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(10)).unwrap();
/// sched.add(&mut nop, NodeConfig::new(3)).unwrap();
/// let slot = sched.slots().next().unwrap();
/// assert_eq!((slot.order(), slot.state()), (3, NodeState::Registered));
/// assert_eq!(slot.timing().period_ns(), 100_000_000);
/// ```
#[derive(Debug)]
pub struct Slot<T> {
    pub(super) node: T,
    pub(super) id: NodeId,
    pub(super) config: NodeConfig,
    pub(super) timing: Timing,
    pub(super) state: NodeState,
    /// `init` succeeded at least once, so `shutdown` is owed.
    pub(super) initialised: bool,
}

impl<T> Slot<T> {
    /// The node.
    pub fn node(&self) -> &T {
        &self.node
    }

    /// The node, to read or change what is its own (not its bookkeeping).
    pub fn node_mut(&mut self) -> &mut T {
        &mut self.node
    }

    /// Its handle.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Its place in the tick order.
    pub fn order(&self) -> u32 {
        self.config.order
    }

    /// What a failed tick does to it.
    pub fn policy(&self) -> FaultPolicy {
        self.config.policy
    }

    /// Its configuration, as added.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Its state.
    pub fn state(&self) -> NodeState {
        self.state
    }

    /// Its release grid and counters.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// Whether its `init` succeeded (so `shutdown` is owed).
    pub fn initialised(&self) -> bool {
        self.initialised
    }
}

/// Where an [`Engine`](super::Engine) keeps its slots, in tick order.
///
/// Implemented here by [`Inline`] (fixed capacity, no allocation); horus-std
/// implements it over a `Vec`. A storage that misbehaves (loses or reorders
/// slots) makes the engine tick the wrong nodes, never unsound.
///
/// ```
/// use horus_nostd::sched::{CoreNode, Inline, NodeFault, Storage, Tick};
///
/// struct Nop;
/// impl CoreNode for Nop {
///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
///         Ok(())
///     }
/// }
/// fn room<S: Storage>(s: &S) -> usize {
///     s.capacity() - s.len()
/// }
/// let slots = Inline::<Nop, 4>::new();
/// assert_eq!(room(&slots), 4);
/// ```
pub trait Storage {
    /// The nodes it holds (a [`CoreNode`]: a `&mut dyn CoreNode`, an adapter, ...).
    type Node: CoreNode;

    /// The slots, in tick order.
    fn slots(&self) -> impl DoubleEndedIterator<Item = &Slot<Self::Node>>;

    /// The slots, in tick order, to change in place (never to reorder).
    fn slots_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Slot<Self::Node>>;

    /// How many slots it holds.
    fn len(&self) -> usize;

    /// Whether it holds none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts `slot` at `index` (`<= len`), shifting the ones after it.
    /// Returns false, dropping `slot`, if there is no room (the engine
    /// checks [`capacity`](Self::capacity) first) or `index` is past the end.
    #[must_use]
    fn insert(&mut self, index: usize, slot: Slot<Self::Node>) -> bool;

    /// How many slots it can hold.
    fn capacity(&self) -> usize;
}

/// `N` slots inline (in a `static`, or on the stack): the storage of a
/// [`CoreScheduler`](super::CoreScheduler). Nothing is allocated, and
/// nothing but the slots' own fields is dropped, so the nodes a
/// `CoreScheduler` borrows are free again after its last use.
///
/// ```
/// use horus_nostd::sched::{CoreNode, Engine, Inline, NodeConfig, NodeFault, Tick};
/// use horus_nostd::time::Frequency;
///
/// struct Nop;
/// impl CoreNode for Nop {
///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
///         Ok(())
///     }
/// }
/// // Owned nodes work too: the engine over two inline `Nop`s.
/// let mut sched = Engine::<Inline<Nop, 2>>::new(Frequency::from_hz(100)).unwrap();
/// sched.add(Nop, NodeConfig::new(0)).unwrap();
/// assert_eq!((sched.len(), sched.capacity()), (1, 2));
/// ```
pub struct Inline<T, const N: usize> {
    /// `slots[..len]` are occupied.
    slots: [Option<Slot<T>>; N],
    len: usize,
}

impl<T, const N: usize> Inline<T, N> {
    /// Empty.
    pub const fn new() -> Self {
        Self {
            slots: [const { None }; N],
            len: 0,
        }
    }
}

impl<T, const N: usize> Default for Inline<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: CoreNode, const N: usize> Storage for Inline<T, N> {
    type Node = T;

    fn slots(&self) -> impl DoubleEndedIterator<Item = &Slot<T>> {
        self.slots[..self.len].iter().flatten()
    }

    fn slots_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Slot<T>> {
        self.slots[..self.len].iter_mut().flatten()
    }

    fn len(&self) -> usize {
        self.len
    }

    fn insert(&mut self, index: usize, slot: Slot<T>) -> bool {
        if self.len == N || index > self.len {
            return false;
        }
        self.slots[index..=self.len].rotate_right(1);
        self.slots[index] = Some(slot);
        self.len += 1;
        true
    }

    fn capacity(&self) -> usize {
        N
    }
}

/// A storage lent to the engine is a storage (the view, as heapless's
/// `VecView` is to its `Vec`): an engine over `&mut Inline<T, N>` leaves the
/// slots where they are (a `static`, say) instead of moving them in.
///
/// ```
/// use horus_nostd::sched::{CoreNode, Engine, Inline, NodeConfig, NodeFault, Tick};
/// use horus_nostd::time::Frequency;
///
/// struct Nop;
/// impl CoreNode for Nop {
///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
///         Ok(())
///     }
/// }
/// let mut slots = Inline::<Nop, 1>::new();
/// let mut sched = Engine::with_storage(&mut slots, Frequency::from_hz(100));
/// sched.add(Nop, NodeConfig::new(0)).unwrap();
/// assert_eq!(sched.len(), 1);
/// ```
impl<S: Storage + ?Sized> Storage for &mut S {
    type Node = S::Node;

    fn slots(&self) -> impl DoubleEndedIterator<Item = &Slot<S::Node>> {
        (**self).slots()
    }

    fn slots_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Slot<S::Node>> {
        (**self).slots_mut()
    }

    fn len(&self) -> usize {
        (**self).len()
    }

    fn insert(&mut self, index: usize, slot: Slot<S::Node>) -> bool {
        (**self).insert(index, slot)
    }

    fn capacity(&self) -> usize {
        (**self).capacity()
    }
}

/// A node lent to the engine (`&mut node`) is a node: firmware keeps its
/// nodes in `static`s or on the stack.
impl<N: CoreNode + ?Sized> CoreNode for &mut N {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn init(&mut self) -> Result<(), NodeFault> {
        (**self).init()
    }
    fn tick(&mut self, tick: &Tick) -> Result<(), NodeFault> {
        (**self).tick(tick)
    }
    fn safe_state(&mut self) {
        (**self).safe_state();
    }
    fn shutdown(&mut self) {
        (**self).shutdown();
    }
}
