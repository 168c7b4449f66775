//! The node table and the step that runs it.

use super::{
    AddError, CoreNode, Event, FaultPolicy, NodeConfig, NodeId, NodeState, NodeStats, StartError,
    Tick, Timing,
};
use crate::time::{Clock, Frequency, RateError};

/// One occupied slot.
struct Slot<'a> {
    node: &'a mut dyn CoreNode,
    id: NodeId,
    order: u32,
    timing: Timing,
    state: NodeState,
    policy: FaultPolicy,
    /// `init` succeeded at least once, so `shutdown` is owed.
    initialised: bool,
}

/// A fixed-capacity table of up to `N` nodes, ticked in order, each at its
/// own rate, from the caller's [`Clock`]. Nothing is allocated.
///
/// The caller owns the loop: [`start`](Self::start) once, then
/// [`step`](Self::step) whenever it likes (in a busy loop, or after
/// sleeping until [`next_release_ns`](Self::next_release_ns)), then
/// [`shutdown`](Self::shutdown).
///
/// ```
/// use horus_nostd::sched::{CoreNode, CoreScheduler, NodeConfig, NodeFault, Rate, Tick};
/// use horus_nostd::time::{Frequency, ManualClock};
///
/// struct Count(u32);
/// impl CoreNode for Count {
///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
///         self.0 += 1;
///         Ok(())
///     }
/// }
///
/// let (mut fast, mut slow) = (Count(0), Count(0));
/// let mut sched = CoreScheduler::<4>::new(Frequency::from_hz(1_000)).unwrap();
/// sched.add(&mut fast, NodeConfig::new(0)).unwrap();
/// sched.add(&mut slow, NodeConfig::new(1).rate(Rate::Divisor(10))).unwrap();
/// let clock = ManualClock::new(0);
/// sched.start(0).unwrap();
/// for _ in 0..100 {
///     sched.step(&clock);
///     clock.advance(1_000_000); // 1 ms
/// }
/// sched.shutdown();
/// assert_eq!((fast.0, slow.0), (100, 10));
/// ```
pub struct CoreScheduler<'a, const N: usize> {
    /// `slots[..len]` are occupied, sorted by (order, id).
    slots: [Option<Slot<'a>>; N],
    len: usize,
    base_period_ns: u64,
    started: bool,
}

/// What one [`CoreScheduler::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StepReport {
    /// Nodes ticked.
    pub ran: u32,
    /// Ticks that failed.
    pub faults: u32,
    /// The earliest next release of a tickable node (`None`: nothing left to tick).
    pub next_release_ns: Option<u64>,
}

/// A read-only view of one node, from [`CoreScheduler::nodes`].
pub struct NodeView<'s> {
    node: &'s dyn CoreNode,
    /// Its handle.
    pub id: NodeId,
    /// Its order.
    pub order: u32,
    /// Its state.
    pub state: NodeState,
    /// Its period, ns.
    pub period_ns: u64,
    /// Its counters.
    pub stats: NodeStats,
}

impl NodeView<'_> {
    /// The node's name.
    pub fn name(&self) -> &str {
        self.node.name()
    }
}

impl<'a, const N: usize> CoreScheduler<'a, N> {
    /// An empty table whose nodes tick at `tick_rate` unless they set a rate.
    ///
    /// # Errors
    /// A zero rate.
    pub fn new(tick_rate: Frequency) -> Result<Self, RateError> {
        Ok(Self {
            slots: [const { None }; N],
            len: 0,
            base_period_ns: tick_rate.period_ns()?,
            started: false,
        })
    }

    /// Adds `node` (state `Registered`).
    ///
    /// # Errors
    /// The table is full, the rate is invalid, or the scheduler has started.
    pub fn add(
        &mut self,
        node: &'a mut dyn CoreNode,
        config: NodeConfig,
    ) -> Result<NodeId, AddError> {
        if self.started {
            return Err(AddError::AlreadyStarted);
        }
        let id = u16::try_from(self.len)
            .ok()
            .filter(|_| self.len < N)
            .ok_or(AddError::Full { capacity: N })?;
        let timing = config.timing(self.base_period_ns)?;
        // After every node of the same or a lower order: ties keep insertion order.
        let pos = self.slots[..self.len]
            .iter()
            .flatten()
            .take_while(|s| s.order <= config.order)
            .count();
        self.slots[pos..=self.len].rotate_right(1);
        self.slots[pos] = Some(Slot {
            node,
            id: NodeId(id),
            order: config.order,
            timing,
            state: NodeState::Registered,
            policy: config.policy,
            initialised: false,
        });
        self.len += 1;
        Ok(NodeId(id))
    }

    /// Runs every node's `init` in order (`Registered -> Ready`, or
    /// `Faulted` on failure) and places every first release at `now_ns`.
    ///
    /// # Errors
    /// Called twice, or a node's `init` failed (the nodes after it are not
    /// initialised; see [`StartError::Init`]).
    pub fn start(&mut self, now_ns: u64) -> Result<(), StartError> {
        if self.started {
            return Err(StartError::AlreadyStarted);
        }
        self.started = true;
        for slot in self.slots[..self.len].iter_mut().flatten() {
            slot.timing.start_at(now_ns);
            if let Err(fault) = slot.node.init() {
                slot.state.become_(NodeState::Faulted);
                return Err(StartError::Init {
                    node: slot.id,
                    fault,
                });
            }
            slot.initialised = true;
            slot.state.become_(NodeState::Ready);
        }
        Ok(())
    }

    /// Runs, in order, every tickable node due at the clock's time as this
    /// call begins. See [`step_with`](Self::step_with).
    pub fn step<C: Clock + ?Sized>(&mut self, clock: &C) -> StepReport {
        self.step_with(clock, &mut |_| {})
    }

    /// Runs, in order, every tickable node due at the clock's time as this
    /// call begins, and tells `observe` about every late release, skip,
    /// overrun and fault. The clock is read again before and after each
    /// tick, to measure its lateness and duration.
    pub fn step_with<C: Clock + ?Sized>(
        &mut self,
        clock: &C,
        observe: &mut dyn FnMut(Event),
    ) -> StepReport {
        let now = clock.now_ns();
        let mut report = StepReport::default();
        for slot in self.slots[..self.len].iter_mut().flatten() {
            if !slot.state.is_tickable() || !slot.timing.is_due(now) {
                continue;
            }
            let ok = run_one(slot, now, clock, observe);
            report.ran += 1;
            report.faults += u32::from(!ok);
        }
        report.next_release_ns = self.next_release_ns();
        report
    }

    /// The earliest next release of a tickable node; `None` if none is left.
    pub fn next_release_ns(&self) -> Option<u64> {
        self.slots[..self.len]
            .iter()
            .flatten()
            .filter(|s| s.state.is_tickable())
            .map(|s| s.timing.next_release_ns())
            .min()
    }

    /// Holds every tickable node (`-> Held`), running its `safe_state` in
    /// order: the e-stop.
    pub fn hold(&mut self) {
        for slot in self.slots[..self.len].iter_mut().flatten() {
            if slot.state.is_tickable() {
                slot.node.safe_state();
                slot.state.become_(NodeState::Held);
            }
        }
    }

    /// Resumes every held node (`Held -> Running`), its next release at
    /// `now_ns` (releases missed while held are neither run nor counted).
    pub fn resume(&mut self, now_ns: u64) {
        for slot in self.slots[..self.len].iter_mut().flatten() {
            if slot.state == NodeState::Held {
                slot.timing.rephase(now_ns);
                slot.state.become_(NodeState::Running);
            }
        }
    }

    /// Stops every node, in reverse order: runs `shutdown` of each whose
    /// `init` succeeded. Every node ends `Finished`; calling it again does nothing.
    pub fn shutdown(&mut self) {
        for slot in self.slots[..self.len].iter_mut().rev().flatten() {
            if slot.state == NodeState::Finished {
                continue;
            }
            if slot.initialised {
                slot.node.shutdown();
            }
            slot.state.become_(NodeState::Finished);
        }
    }

    /// The state of node `id`.
    pub fn state(&self, id: NodeId) -> Option<NodeState> {
        self.slot(id).map(|s| s.state)
    }

    /// The counters of node `id`.
    pub fn stats(&self, id: NodeId) -> Option<NodeStats> {
        self.slot(id).map(|s| *s.timing.stats())
    }

    /// Every node, in tick order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeView<'_>> {
        self.slots[..self.len].iter().flatten().map(|s| NodeView {
            node: &*s.node,
            id: s.id,
            order: s.order,
            state: s.state,
            period_ns: s.timing.period_ns(),
            stats: *s.timing.stats(),
        })
    }

    /// Nodes in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The table's capacity, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    fn slot(&self, id: NodeId) -> Option<&Slot<'a>> {
        self.slots[..self.len].iter().flatten().find(|s| s.id == id)
    }
}

/// Ticks one due node and does its bookkeeping; false if the tick failed.
fn run_one<C: Clock + ?Sized>(
    slot: &mut Slot<'_>,
    round_ns: u64,
    clock: &C,
    observe: &mut dyn FnMut(Event),
) -> bool {
    let id = slot.id;
    let release = slot.timing.release(round_ns, clock.now_ns());
    if release.late {
        observe(Event::LateRelease {
            node: id,
            lateness_ns: release.lateness_ns,
        });
    }
    if release.skipped > 0 {
        observe(Event::Skipped {
            node: id,
            count: release.skipped,
        });
    }
    if slot.state == NodeState::Ready {
        slot.state.become_(NodeState::Running);
    }
    let tick = Tick {
        seq: release.seq,
        release_ns: release.release_ns,
        start_ns: release.start_ns,
        period_ns: slot.timing.period_ns(),
    };
    let result = slot.node.tick(&tick);
    let done = slot.timing.complete(&release, clock.now_ns());
    if done.overrun {
        observe(Event::Overrun {
            node: id,
            duration_ns: done.duration_ns,
            budget_ns: slot.timing.budget_ns(),
        });
    }
    let Err(fault) = result else { return true };
    slot.timing.record_fault();
    observe(Event::Fault {
        node: id,
        fault,
        policy: slot.policy,
    });
    match slot.policy {
        FaultPolicy::Skip => {}
        FaultPolicy::Stop => {
            slot.node.safe_state();
            slot.state.become_(NodeState::Faulted);
        }
        FaultPolicy::Restart => match slot.node.init() {
            Ok(()) => slot.state.become_(NodeState::Ready),
            Err(fault) => {
                observe(Event::RestartFailed { node: id, fault });
                slot.node.safe_state();
                slot.state.become_(NodeState::Faulted);
            }
        },
    }
    false
}
