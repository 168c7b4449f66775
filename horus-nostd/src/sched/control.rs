//! One node at a time: pause, resume and restart a node by its id (the
//! e-stop, which holds and resumes them all, is in [`engine`](super::engine)).

use super::Engine;
use super::engine::{become_, ignore};
use super::{ControlError, CoreNode, NodeId, NodeState, Observer, Slot, Storage, Timing};

impl<S: Storage> Engine<S> {
    /// Pauses node `id` (`Ready`, `Running`, `Held -> Paused`): runs its
    /// `safe_state` (not again for a held node, whose ran at the hold) and
    /// ticks it no more until [`resume_node`](Self::resume_node); the
    /// e-stop's [`resume`](Self::resume) leaves it paused. Pausing a paused
    /// node does nothing.
    ///
    /// ```
    /// use horus_nostd::sched::{CoreNode, CoreScheduler, NodeConfig, NodeFault, NodeState, Tick};
    /// use horus_nostd::time::{Frequency, ManualClock};
    ///
    /// struct Nop;
    /// impl CoreNode for Nop {
    ///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
    ///         Ok(())
    ///     }
    /// }
    /// let mut nop = Nop;
    /// let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(10)).unwrap();
    /// let id = sched.add(&mut nop, NodeConfig::new(0)).unwrap();
    /// sched.start(0).unwrap();
    /// sched.pause(id).unwrap();
    /// assert_eq!(sched.step(&ManualClock::new(0)).ran, 0);
    /// sched.resume_node(id, 0).unwrap();
    /// assert_eq!(sched.state(id), Some(NodeState::Running));
    /// ```
    ///
    /// # Errors
    /// [`ControlError`]: no such node, or it is not ready, running or held.
    pub fn pause(&mut self, id: NodeId) -> Result<(), ControlError> {
        self.pause_with(id, &mut ignore)
    }

    /// [`pause`](Self::pause), telling `observer`.
    ///
    /// # Errors
    /// As [`pause`](Self::pause).
    pub fn pause_with<O: Observer<S::Node> + ?Sized>(
        &mut self,
        id: NodeId,
        observer: &mut O,
    ) -> Result<(), ControlError> {
        let slot = self.slot_mut(id)?;
        match slot.state {
            NodeState::Paused => return Ok(()),
            NodeState::Ready | NodeState::Running => slot.node.safe_state(),
            NodeState::Held => {}
            state => return Err(not_now(id, state, "pause")),
        }
        become_(slot, NodeState::Paused, observer);
        Ok(())
    }

    /// Resumes node `id` (`Paused -> Running`), its next release at
    /// `now_ns`; while the engine is held (the e-stop) it becomes `Held`
    /// and runs when the engine resumes. Resuming a node that is not paused
    /// but ticking does nothing.
    ///
    /// # Errors
    /// [`ControlError`]: no such node, or it is neither paused nor ticking.
    pub fn resume_node(&mut self, id: NodeId, now_ns: u64) -> Result<(), ControlError> {
        self.resume_node_with(id, now_ns, &mut ignore)
    }

    /// [`resume_node`](Self::resume_node), telling `observer`.
    ///
    /// # Errors
    /// As [`resume_node`](Self::resume_node).
    pub fn resume_node_with<O: Observer<S::Node> + ?Sized>(
        &mut self,
        id: NodeId,
        now_ns: u64,
        observer: &mut O,
    ) -> Result<(), ControlError> {
        let held = self.held;
        let slot = self.slot_mut(id)?;
        match slot.state {
            NodeState::Paused => {}
            NodeState::Ready | NodeState::Running | NodeState::Held => return Ok(()),
            state => return Err(not_now(id, state, "resume")),
        }
        slot.timing.rephase(now_ns);
        let next = if held {
            NodeState::Held
        } else {
            NodeState::Running
        };
        become_(slot, next, observer);
        Ok(())
    }

    /// Restarts node `id` as its `Restart` fault policy would, from
    /// scratch: `shutdown`, then `init`; on success it is `Ready` with its
    /// counters ([`NodeStats`](super::NodeStats)) zeroed and its next
    /// release at `now_ns`. While the engine is
    /// held (the e-stop) its `safe_state` runs after that `init` and it is
    /// `Held`, as a node initialised during a hold: a restart never
    /// re-enables the outputs of a held node. If `init` fails, `observer`
    /// hears [`restart_failed`](Observer::restart_failed), its `safe_state`
    /// runs and it is `Faulted`, owing no `shutdown` (none runs at the end).
    ///
    /// # Errors
    /// [`ControlError`]: no such node, or it is not initialised (`Registered`),
    /// `Faulted` or `Finished`. A failed `init` is not an error of this
    /// call: the node is `Faulted`, as [`state`](Self::state) says.
    ///
    /// ```
    /// use horus_nostd::sched::{CoreNode, CoreScheduler, NodeConfig, NodeFault, NodeState, Tick};
    /// use horus_nostd::time::{Frequency, ManualClock};
    ///
    /// struct Count(u32);
    /// impl CoreNode for Count {
    ///     fn init(&mut self) -> Result<(), NodeFault> {
    ///         self.0 = 0;
    ///         Ok(())
    ///     }
    ///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
    ///         self.0 += 1;
    ///         Ok(())
    ///     }
    /// }
    /// let mut n = Count(0);
    /// let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(10)).unwrap();
    /// let id = sched.add(&mut n, NodeConfig::new(0)).unwrap();
    /// sched.start(0).unwrap();
    /// sched.step(&ManualClock::new(0));
    /// sched.restart(id, 0).unwrap();
    /// assert_eq!(sched.state(id), Some(NodeState::Ready));
    /// assert_eq!(sched.stats(id).unwrap().ticks, 0);
    /// ```
    pub fn restart(&mut self, id: NodeId, now_ns: u64) -> Result<(), ControlError> {
        self.restart_with(id, now_ns, &mut ignore)
    }

    /// [`restart`](Self::restart), telling `observer`.
    ///
    /// # Errors
    /// As [`restart`](Self::restart).
    pub fn restart_with<O: Observer<S::Node> + ?Sized>(
        &mut self,
        id: NodeId,
        now_ns: u64,
        observer: &mut O,
    ) -> Result<(), ControlError> {
        let held = self.held;
        let slot = self.slot_mut(id)?;
        match slot.state {
            NodeState::Ready | NodeState::Running | NodeState::Paused | NodeState::Held => {}
            state => return Err(not_now(id, state, "restart")),
        }
        restart_slot(slot, held, observer, |timing| timing.restart_at(now_ns));
        Ok(())
    }
}

/// Restarts the node of `slot` from scratch, for [`Engine::restart`] and
/// for the `Restart` fault policy alike, so that every successful `init` is
/// paired with exactly one `shutdown`: its `shutdown` (owed by the `init`
/// that made it tickable), then its `init`.
///
/// - `init` succeeds: `reset` is applied to its timing, then it is `Ready`;
///   while the engine is `held` (the e-stop) its `safe_state` runs after
///   that `init` and it is `Held`, as a node initialised during a hold.
/// - `init` fails: `observer` hears [`restart_failed`](Observer::restart_failed),
///   its `safe_state` runs and it is `Faulted`; it owes no `shutdown` (none
///   runs at the end).
pub(super) fn restart_slot<T: CoreNode, O: Observer<T> + ?Sized>(
    slot: &mut Slot<T>,
    held: bool,
    observer: &mut O,
    reset: impl FnOnce(&mut Timing),
) {
    debug_assert!(slot.initialised, "only an initialised node is restarted");
    if slot.initialised {
        slot.node.shutdown();
    }
    match slot.node.init() {
        Ok(()) => {
            slot.initialised = true;
            reset(&mut slot.timing);
            let next = if held {
                slot.node.safe_state();
                NodeState::Held
            } else {
                NodeState::Ready
            };
            if slot.state != next {
                become_(slot, next, observer);
            }
            observer.restarted(slot);
        }
        Err(fault) => {
            slot.initialised = false;
            observer.restart_failed(slot, fault);
            slot.node.safe_state();
            become_(slot, NodeState::Faulted, observer);
        }
    }
}

fn not_now(node: NodeId, state: NodeState, action: &'static str) -> ControlError {
    ControlError::NotNow {
        node,
        state,
        action,
    }
}
