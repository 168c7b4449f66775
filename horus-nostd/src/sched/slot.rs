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

use core::mem::MaybeUninit;

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
/// [`CoreScheduler`](super::CoreScheduler). Nothing is allocated, and the
/// free slots cost nothing to set up (they stay uninitialised).
///
/// `Inline` never drops its nodes: it is made for nodes lent to the engine
/// (`&mut dyn CoreNode`, which have nothing to drop, and are free again
/// after the engine's last use); an owned node with a `Drop` is leaked
/// (release what a node holds in its [`CoreNode::shutdown`]).
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
    /// `slots[..len]` are initialised, the others are not. Only `insert`
    /// raises `len`, after initialising the slot it adds; nothing lowers it
    /// or moves a slot out.
    slots: [MaybeUninit<Slot<T>>; N],
    len: usize,
}

impl<T, const N: usize> Inline<T, N> {
    /// Empty.
    pub const fn new() -> Self {
        Self {
            slots: [const { MaybeUninit::uninit() }; N],
            len: 0,
        }
    }

    fn occupied(&self) -> &[Slot<T>] {
        let occupied = &self.slots[..self.len];
        // SAFETY: `slots[..len]` are initialised (the invariant on `slots`),
        // and `MaybeUninit<Slot<T>>` has the size, alignment and layout of
        // `Slot<T>`, so the slice cast keeps length and validity.
        unsafe { &*(core::ptr::from_ref(occupied) as *const [Slot<T>]) }
    }

    fn occupied_mut(&mut self) -> &mut [Slot<T>] {
        let occupied = &mut self.slots[..self.len];
        // SAFETY: as in `occupied`; the `&mut` borrow of `self` makes this
        // the only reference to those slots while it lives.
        unsafe { &mut *(core::ptr::from_mut(occupied) as *mut [Slot<T>]) }
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
        self.occupied().iter()
    }

    fn slots_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Slot<T>> {
        self.occupied_mut().iter_mut()
    }

    fn len(&self) -> usize {
        self.len
    }

    fn insert(&mut self, index: usize, slot: Slot<T>) -> bool {
        if self.len == N || index > self.len {
            return false;
        }
        // The uninitialised slot at `len` moves to `index`, the initialised
        // ones after `index` one place up: `slots[..=len]` then holds
        // `len` initialised slots and one free one, at `index`.
        self.slots[index..=self.len].rotate_right(1);
        self.slots[index].write(slot);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Frequency;

    struct Nop;
    impl CoreNode for Nop {
        fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
            Ok(())
        }
    }

    fn slot(id: u16) -> Slot<Nop> {
        Slot {
            node: Nop,
            id: NodeId(id),
            config: NodeConfig::new(0),
            timing: NodeConfig::new(0)
                .timing(Frequency::from_hz(10).period_ns().unwrap())
                .unwrap(),
            state: NodeState::Registered,
            initialised: false,
        }
    }

    #[test]
    fn inline_inserts_in_place_and_refuses_past_its_capacity_or_end() {
        let mut s = Inline::<Nop, 3>::new();
        assert!(!s.insert(1, slot(9)), "past the end");
        assert!(s.insert(0, slot(0)));
        assert!(s.insert(0, slot(1)));
        assert!(s.insert(1, slot(2)));
        assert!(!s.insert(0, slot(3)), "full");
        let ids: [u16; 3] = core::array::from_fn(|i| s.occupied()[i].id.0);
        assert_eq!(ids, [1, 2, 0]);
        assert_eq!(s.slots_mut().rev().map(|s| s.id.0).next(), Some(0));
        assert_eq!((s.len(), s.capacity()), (3, 3));
    }
}
