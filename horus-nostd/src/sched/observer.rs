//! What the engine tells whoever drives it, as it happens.
//!
//! The engine decides (counts, states, fault policies); an [`Observer`]
//! only hears about it and records what it likes: nothing on a board, the
//! anomalies, blackbox and registry in std. Any `FnMut(Event)` closure is
//! an observer that receives the [`Event`]s.

use super::{Completion, Event, NodeFault, NodeState, Release, Slot};

/// Hears what the engine does, node by node. Every method has an empty
/// default; each is given the node's [`Slot`] (its node, state, timing and
/// counters, already updated).
///
/// The calls a tick makes, in order: [`released`](Self::released) (before
/// the node runs), [`ticked`](Self::ticked) (after it returned), then, if it
/// failed, [`faulted`](Self::faulted) and, under `Restart`, the transitions
/// of the restart (`Running -> Ready`), or, when `init` fails again,
/// [`restart_failed`](Self::restart_failed). Every state transition,
/// by whichever function makes it, calls
/// [`state_changed`](Self::state_changed) after the node's own calls of that
/// transition (`init`, `safe_state`, `shutdown`) returned.
///
/// ```
/// use horus_nostd::sched::{
///     CoreNode, CoreScheduler, NodeConfig, NodeFault, NodeState, Observer, Slot, Tick,
/// };
/// use horus_nostd::time::{Frequency, ManualClock};
///
/// struct Nop;
/// impl CoreNode for Nop {
///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
///         Ok(())
///     }
/// }
/// /// Counts state transitions.
/// struct Moves(u32);
/// impl<T> Observer<T> for Moves {
///     fn state_changed(&mut self, _: &mut Slot<T>, _from: NodeState) {
///         self.0 += 1;
///     }
/// }
/// let mut nop = Nop;
/// let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(10)).unwrap();
/// sched.add(&mut nop, NodeConfig::new(0)).unwrap();
/// let mut moves = Moves(0);
/// sched.start_with(0, &mut moves).unwrap(); // Registered -> Ready
/// sched.step_with(&ManualClock::new(0), &mut moves); // Ready -> Running
/// sched.shutdown_with(&mut moves); // Running -> Finished
/// assert_eq!(moves.0, 3);
/// ```
pub trait Observer<T> {
    /// `slot` is released and about to tick (`release` says how late, and
    /// how many releases were skipped).
    fn released(&mut self, slot: &mut Slot<T>, release: &Release) {
        let _ = (slot, release);
    }

    /// `slot`'s tick returned (`done` says how long it ran, and whether
    /// that was an overrun); failed or not.
    fn ticked(&mut self, slot: &mut Slot<T>, done: &Completion) {
        let _ = (slot, done);
    }

    /// `slot`'s tick failed with `fault`; its policy ([`Slot::policy`]) is
    /// applied next.
    fn faulted(&mut self, slot: &mut Slot<T>, fault: NodeFault) {
        let _ = (slot, fault);
    }

    /// `slot`'s `init`, run again by its `Restart` policy or by
    /// [`Engine::restart`](super::Engine::restart), failed with `fault`; it
    /// is stopped next (`safe_state`, `Faulted`).
    fn restart_failed(&mut self, slot: &mut Slot<T>, fault: NodeFault) {
        let _ = (slot, fault);
    }

    /// `slot` was restarted (by its `Restart` policy or by
    /// [`Engine::restart`](super::Engine::restart)): its `shutdown` and
    /// `init` ran, and `init` succeeded. Told after its state changed, if it
    /// did: a node held by the e-stop is restarted and stays `Held`, with no
    /// [`state_changed`](Self::state_changed).
    fn restarted(&mut self, slot: &mut Slot<T>) {
        let _ = slot;
    }

    /// `slot` moved from `from` to [`Slot::state`].
    fn state_changed(&mut self, slot: &mut Slot<T>, from: NodeState) {
        let _ = (slot, from);
    }

    /// The clock went back from `from_ns` (the last round's time) to `to_ns`
    /// (this round's): every tickable node was just re-phased onto it (see
    /// [`Event::ClockWentBack`]). Not tied to a node.
    fn clock_went_back(&mut self, from_ns: u64, to_ns: u64) {
        let _ = (from_ns, to_ns);
    }

    /// Asked before each node of a round is released: `true` ends the
    /// round there (the nodes not run stay due, and
    /// [`StepReport::ended_before`](super::StepReport::ended_before)
    /// says where), for the caller to hold the engine at once, as an e-stop
    /// raised by a node of this round wants. Called on every release: keep
    /// it to a load or two (std's reads one atomic).
    ///
    /// ```
    /// use horus_nostd::sched::{CoreNode, CoreScheduler, NodeConfig, NodeFault, Observer, Tick};
    /// use horus_nostd::time::{Frequency, ManualClock};
    /// use core::cell::Cell;
    ///
    /// /// Raises the stop flag in its tick.
    /// struct Monitor<'a>(&'a Cell<bool>);
    /// impl CoreNode for Monitor<'_> {
    ///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
    ///         self.0.set(true);
    ///         Ok(())
    ///     }
    /// }
    /// struct Motor(u32);
    /// impl CoreNode for Motor {
    ///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
    ///         self.0 += 1;
    ///         Ok(())
    ///     }
    /// }
    /// /// Asks for a hold once the flag is up.
    /// struct Estop<'a>(&'a Cell<bool>);
    /// impl<T> Observer<T> for Estop<'_> {
    ///     fn hold_requested(&mut self) -> bool {
    ///         self.0.get()
    ///     }
    /// }
    /// let stop = Cell::new(false);
    /// let (mut monitor, mut motor) = (Monitor(&stop), Motor(0));
    /// let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(100)).unwrap();
    /// sched.add(&mut monitor, NodeConfig::new(0)).unwrap();
    /// sched.add(&mut motor, NodeConfig::new(1)).unwrap();
    /// sched.start(0).unwrap();
    /// let report = sched.step_with(&ManualClock::new(0), &mut Estop(&stop));
    /// assert_eq!((report.ended_before, report.ran), (Some(1), 1));
    /// sched.hold(); // the motor's safe_state, before it ever ticked
    /// sched.shutdown();
    /// assert_eq!(motor.0, 0);
    /// ```
    fn hold_requested(&mut self) -> bool {
        false
    }
}

/// A closure hears the [`Event`]s: late releases, skips, overruns, faults,
/// failed restarts, a clock that went back (not the state transitions).
impl<T, F: FnMut(Event) + ?Sized> Observer<T> for F {
    fn released(&mut self, slot: &mut Slot<T>, release: &Release) {
        let node = slot.id();
        if release.late {
            self(Event::LateRelease {
                node,
                lateness_ns: release.lateness_ns,
            });
        }
        if release.skipped > 0 {
            self(Event::Skipped {
                node,
                count: release.skipped,
            });
        }
    }

    fn ticked(&mut self, slot: &mut Slot<T>, done: &Completion) {
        if done.overrun {
            self(Event::Overrun {
                node: slot.id(),
                duration_ns: done.duration_ns,
                budget_ns: slot.timing().budget_ns(),
            });
        }
    }

    fn faulted(&mut self, slot: &mut Slot<T>, fault: NodeFault) {
        self(Event::Fault {
            node: slot.id(),
            fault,
            policy: slot.policy(),
        });
    }

    fn restart_failed(&mut self, slot: &mut Slot<T>, fault: NodeFault) {
        self(Event::RestartFailed {
            node: slot.id(),
            fault,
        });
    }

    fn clock_went_back(&mut self, from_ns: u64, to_ns: u64) {
        self(Event::ClockWentBack { from_ns, to_ns });
    }
}
