//! The engine: the node table, and the functions that move its nodes.

use super::tick_one::run_one;
use super::{
    AddError, ControlError, CoreNode, Inline, NodeConfig, NodeId, NodeState, NodeStats, Observer,
    Rate, Slot, StartError, Storage, Timing,
};
use crate::time::{Clock, Frequency, RateError};

/// The scheduler engine: a table of nodes in a [`Storage`] `S`, ticked in
/// order, each at its own rate, from the caller's [`Clock`].
///
/// The caller owns the loop: [`start`](Self::start) once, then
/// [`step`](Self::step) whenever it likes (in a busy loop, or after
/// sleeping until [`next_release_ns`](Self::next_release_ns)), then
/// [`shutdown`](Self::shutdown). Each function that moves nodes has a
/// `_with` form that tells an [`Observer`] what happened. The std
/// `Scheduler` is this engine over its own storage, driven from a thread.
///
/// The engine allocates nothing; over [`Inline`] slots (the
/// [`CoreScheduler`] alias) nothing is allocated at all.
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
#[derive(Debug)]
pub struct Engine<S> {
    /// Sorted by (order, id).
    slots: S,
    tick_rate: Frequency,
    started: bool,
    /// Between `hold` and `resume`: a node initialised now starts `Held`.
    pub(super) held: bool,
    /// The clock at the start of the last round (0 before the first).
    last_round_ns: u64,
    /// Rounds that found the clock earlier than the round before.
    clock_steps_back: u64,
}

/// The engine over `N` inline slots of borrowed nodes: what firmware uses.
///
/// ```
/// use horus_nostd::sched::{CoreNode, CoreScheduler, Engine, Inline};
///
/// fn same<'a>(s: CoreScheduler<'a, 3>) -> Engine<Inline<&'a mut dyn CoreNode, 3>> {
///     s
/// }
/// ```
pub type CoreScheduler<'a, const N: usize> = Engine<Inline<&'a mut dyn CoreNode, N>>;

/// What one [`Engine::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StepReport {
    /// Nodes ticked.
    pub ran: u32,
    /// Ticks that failed.
    pub faults: u32,
    /// The earliest next release of a tickable node (`None`: nothing left to tick).
    pub next_release_ns: Option<u64>,
    /// `Some(position)`: the observer asked for a hold
    /// ([`Observer::hold_requested`]) and the round ended before the node at
    /// `position` in tick order; the nodes not run are still due. The
    /// caller holds ([`Engine::hold`]) or steps again; after
    /// [`Engine::step_all_from`], whose nodes are not due by their rates,
    /// it goes on with [`Engine::step_all_rest_from`] from `position`.
    pub ended_before: Option<usize>,
}

/// A read-only view of one node, from [`Engine::nodes`].
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

/// The observer that hears nothing.
pub(super) fn ignore(_: super::Event) {}

impl<S: Storage + Default> Engine<S> {
    /// An empty table whose nodes tick at `tick_rate` unless they set a rate.
    ///
    /// # Errors
    /// A zero rate.
    pub fn new(tick_rate: Frequency) -> Result<Self, RateError> {
        tick_rate.period_ns()?;
        // Built in place (not through `with_storage`): a board keeps the
        // engine on its stack, and each copy of it would stay there.
        Ok(Self {
            slots: S::default(),
            tick_rate,
            started: false,
            held: false,
            last_round_ns: 0,
            clock_steps_back: 0,
        })
    }
}

impl<S: Storage> Engine<S> {
    /// An engine over the empty storage `slots` (a debug assertion checks)
    /// at `tick_rate`, which is not checked here: a bad one fails the
    /// [`add`](Self::add) of every node that runs at it.
    pub fn with_storage(slots: S, tick_rate: Frequency) -> Self {
        debug_assert!(slots.is_empty(), "storage must start empty");
        Self {
            slots,
            tick_rate,
            started: false,
            held: false,
            last_round_ns: 0,
            clock_steps_back: 0,
        }
    }

    /// The rate of the nodes that do not set their own.
    pub fn tick_rate(&self) -> Frequency {
        self.tick_rate
    }

    /// Changes the tick rate, for the nodes not yet initialised (their
    /// release grid is computed when `init` runs). Not checked here, as
    /// [`with_storage`](Self::with_storage).
    pub fn set_tick_rate(&mut self, tick_rate: Frequency) {
        self.tick_rate = tick_rate;
    }

    /// Adds `node` (state `Registered`).
    ///
    /// # Errors
    /// The table is full, the rate is invalid, or the engine has started.
    pub fn add(&mut self, node: S::Node, config: NodeConfig) -> Result<NodeId, AddError> {
        if self.started {
            return Err(AddError::AlreadyStarted);
        }
        self.push(node, config)
    }

    /// Adds `node` (state `Registered`), even after the start: it is then
    /// initialised by the next [`init_registered`](Self::init_registered).
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
    /// let (mut a, mut b) = (Nop, Nop);
    /// let mut sched = CoreScheduler::<2>::new(Frequency::from_hz(100)).unwrap();
    /// sched.start(0).unwrap();
    /// let id = sched.push(&mut a, NodeConfig::new(0)).unwrap();
    /// assert!(sched.add(&mut b, NodeConfig::new(0)).is_err(), "add: before the start only");
    /// sched.init_registered(10, &mut |_| {}).unwrap();
    /// assert_eq!(sched.state(id), Some(NodeState::Ready));
    /// ```
    ///
    /// # Errors
    /// The table is full, or the rate is invalid.
    pub fn push(&mut self, node: S::Node, config: NodeConfig) -> Result<NodeId, AddError> {
        let (len, capacity) = (self.slots.len(), self.slots.capacity());
        let full = AddError::Full { capacity };
        let id = u16::try_from(len)
            .ok()
            .filter(|_| len < capacity)
            .ok_or(full)?;
        let timing = self.timing_of(&config)?;
        // After every node of the same or a lower order: ties keep insertion order.
        let pos = self
            .slots
            .slots()
            .take_while(|s| s.config.order <= config.order)
            .count();
        let slot = Slot {
            node,
            id: NodeId(id),
            config,
            timing,
            state: NodeState::Registered,
            initialised: false,
        };
        if self.slots.insert(pos, slot) {
            Ok(NodeId(id))
        } else {
            Err(full)
        }
    }

    /// Runs every node's `init` in order (`Registered -> Ready`, or
    /// `Faulted` on failure) and places every first release at `now_ns`
    /// (if the `init`s take long, [`rephase_all`](Self::rephase_all) at the
    /// clock's time after them).
    ///
    /// # Errors
    /// Called twice, or as [`init_registered`](Self::init_registered).
    pub fn start(&mut self, now_ns: u64) -> Result<(), StartError> {
        self.start_with(now_ns, &mut ignore)
    }

    /// [`start`](Self::start), telling `observer`.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with<O: Observer<S::Node> + ?Sized>(
        &mut self,
        now_ns: u64,
        observer: &mut O,
    ) -> Result<(), StartError> {
        if self.started {
            return Err(StartError::AlreadyStarted);
        }
        self.init_registered(now_ns, observer)
    }

    /// Runs, in order, the `init` of every node still `Registered` (all of
    /// them at the start; later, those [`push`](Self::push)ed since), each
    /// on a release grid computed now and starting at `now_ns`. While the
    /// engine is held ([`hold`](Self::hold) until [`resume`](Self::resume)),
    /// a node so initialised is held too: its `safe_state` runs, and it
    /// starts on the grid `resume` gives the others.
    ///
    /// # Errors
    /// A node's `init` failed ([`StartError::Init`]: that node is `Faulted`,
    /// the nodes after it are not initialised) or the tick rate changed to
    /// one its rate cannot use ([`StartError::Rate`]: it stays `Registered`).
    pub fn init_registered<O: Observer<S::Node> + ?Sized>(
        &mut self,
        now_ns: u64,
        observer: &mut O,
    ) -> Result<(), StartError> {
        self.started = true;
        let tick_rate = self.tick_rate;
        let mut initialised = 0_usize;
        for slot in self.slots.slots_mut() {
            if slot.state != NodeState::Registered {
                continue;
            }
            slot.timing =
                timing_of(tick_rate, &slot.config).map_err(|rate_error| StartError::Rate {
                    node: slot.id,
                    rate_error,
                })?;
            slot.timing.start_at(now_ns);
            if let Err(fault) = slot.node.init() {
                become_(slot, NodeState::Faulted, observer);
                return Err(StartError::Init {
                    node: slot.id,
                    fault,
                });
            }
            slot.initialised = true;
            initialised += 1;
            become_(slot, NodeState::Ready, observer);
            if self.held {
                slot.node.safe_state();
                become_(slot, NodeState::Held, observer);
            }
        }
        if initialised > 0 {
            trace_info!(
                "scheduler: started {} node(s) at {} Hz",
                initialised,
                tick_rate.as_hz_f64()
            );
        }
        Ok(())
    }

    /// Places the next release of every tickable node at `now_ns`, all on
    /// one grid from there: after `init`s that took long (the grids
    /// [`start`](Self::start) placed at its `now_ns` are behind by their
    /// time, and the first round would count every node late and skip its
    /// releases), and before stepping again after
    /// [`step_all_with`](Self::step_all_with) rounds (which leave each node
    /// on the grid of its own turn). Counters are kept; held and paused
    /// nodes are re-phased when they resume.
    ///
    /// ```
    /// use horus_nostd::sched::{CoreNode, CoreScheduler, NodeConfig, NodeFault, Tick};
    /// use horus_nostd::time::{Clock, Frequency, ManualClock};
    ///
    /// struct Nop;
    /// impl CoreNode for Nop {
    ///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
    ///         Ok(())
    ///     }
    /// }
    /// let mut nop = Nop;
    /// let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(1_000)).unwrap();
    /// let id = sched.add(&mut nop, NodeConfig::new(0)).unwrap();
    /// let clock = ManualClock::new(0);
    /// sched.start(clock.now_ns()).unwrap();
    /// clock.advance(300_000_000); // init took 300 ms
    /// sched.rephase_all(clock.now_ns());
    /// sched.step(&clock);
    /// let stats = sched.stats(id).unwrap();
    /// assert_eq!((stats.late_releases, stats.skipped_releases), (0, 0));
    /// ```
    pub fn rephase_all(&mut self, now_ns: u64) {
        for slot in self.slots.slots_mut() {
            if slot.state.is_tickable() {
                slot.timing.rephase(now_ns);
            }
        }
    }

    /// Runs, in order, every tickable node due at the clock's time as this
    /// call begins. See [`step_with`](Self::step_with).
    pub fn step<C: Clock + ?Sized>(&mut self, clock: &C) -> StepReport {
        self.step_with(clock, &mut ignore)
    }

    /// Runs, in order, every tickable node due at the clock's time as this
    /// call begins, and tells `observer` about every release, tick, fault
    /// and transition. The clock is read after each tick, to measure its
    /// duration; a tick's start (its lateness) is the end of the tick
    /// before it, or the clock read again after anything but a clean tick. Before each node the observer
    /// may end the round ([`Observer::hold_requested`]).
    pub fn step_with<C: Clock + ?Sized, O: Observer<S::Node> + ?Sized>(
        &mut self,
        clock: &C,
        observer: &mut O,
    ) -> StepReport {
        self.round(clock.now_ns(), clock, observer, false, 0)
    }

    /// [`step_with`](Self::step_with) for a round whose start `now_ns` the
    /// caller has just read from `clock` (to follow an e-stop before it):
    /// the round does not read it again. A reading older than the last
    /// round's start is the clock going back.
    pub fn step_from<C: Clock + ?Sized, O: Observer<S::Node> + ?Sized>(
        &mut self,
        now_ns: u64,
        clock: &C,
        observer: &mut O,
    ) -> StepReport {
        self.round(now_ns, clock, observer, false, 0)
    }

    /// Runs, in order, every tickable node once, whatever its rate: each is
    /// released when its turn comes (its grid re-phased to that time), so
    /// it is neither late nor skips (tests, simulation, std's `tick_once`).
    pub fn step_all_with<C: Clock + ?Sized, O: Observer<S::Node> + ?Sized>(
        &mut self,
        clock: &C,
        observer: &mut O,
    ) -> StepReport {
        self.round(clock.now_ns(), clock, observer, true, 0)
    }

    /// [`step_all_with`](Self::step_all_with) for a round whose start
    /// `now_ns` the caller has just read from `clock`, as
    /// [`step_from`](Self::step_from).
    pub fn step_all_from<C: Clock + ?Sized, O: Observer<S::Node> + ?Sized>(
        &mut self,
        now_ns: u64,
        clock: &C,
        observer: &mut O,
    ) -> StepReport {
        self.round(now_ns, clock, observer, true, 0)
    }

    /// Goes on with a [`step_all_from`](Self::step_all_from) round that a
    /// hold request ended before the node at `position`
    /// ([`StepReport::ended_before`]), when the caller found no hold due
    /// (std's observer asks on any e-stop raised by its process, that of
    /// another namespace too): runs every tickable node from there on, as
    /// the round would have, from `now_ns` (just read from `clock`). The
    /// nodes the round ticked before it ended do not tick again.
    ///
    /// ```
    /// use horus_nostd::sched::{CoreNode, CoreScheduler, NodeConfig, NodeFault, Observer, Tick};
    /// use horus_nostd::time::{Clock, Frequency, ManualClock};
    ///
    /// struct Count(u32);
    /// impl CoreNode for Count {
    ///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
    ///         self.0 += 1;
    ///         Ok(())
    ///     }
    /// }
    /// /// Asks for a hold before the second node, once.
    /// struct Once(u32);
    /// impl<T> Observer<T> for Once {
    ///     fn hold_requested(&mut self) -> bool {
    ///         self.0 += 1;
    ///         self.0 == 2
    ///     }
    /// }
    /// let (mut a, mut b, mut c) = (Count(0), Count(0), Count(0));
    /// let mut sched = CoreScheduler::<3>::new(Frequency::from_hz(100)).unwrap();
    /// for (n, order) in [(&mut a, 0), (&mut b, 1), (&mut c, 2)] {
    ///     sched.add(n, NodeConfig::new(order)).unwrap();
    /// }
    /// let clock = ManualClock::new(0);
    /// sched.start(clock.now_ns()).unwrap();
    /// let mut once = Once(0);
    /// let report = sched.step_all_from(clock.now_ns(), &clock, &mut once);
    /// assert_eq!((report.ran, report.ended_before), (1, Some(1)));
    /// // No hold was due: the rest of the round.
    /// let rest = sched.step_all_rest_from(1, clock.now_ns(), &clock, &mut once);
    /// assert_eq!((rest.ran, rest.ended_before), (2, None));
    /// sched.shutdown();
    /// assert_eq!((a.0, b.0, c.0), (1, 1, 1));
    /// ```
    pub fn step_all_rest_from<C: Clock + ?Sized, O: Observer<S::Node> + ?Sized>(
        &mut self,
        position: usize,
        now_ns: u64,
        clock: &C,
        observer: &mut O,
    ) -> StepReport {
        self.round(now_ns, clock, observer, true, position)
    }

    /// One round from `now`, over the nodes from position `from` on (0:
    /// all). The clock is read once per node ticked: a
    /// tick's start is the end of the clean tick before it (or the round's
    /// start), see [`Ran::clean_end_ns`](super::tick_one::Ran).
    fn round<C: Clock + ?Sized, O: Observer<S::Node> + ?Sized>(
        &mut self,
        now: u64,
        clock: &C,
        observer: &mut O,
        every: bool,
        from: usize,
    ) -> StepReport {
        if now < self.last_round_ns {
            self.clock_went_back(self.last_round_ns, now, observer);
        }
        self.last_round_ns = now;
        let held = self.held;
        let mut report = StepReport::default();
        // The round's start, then the end of a clean tick (see
        // `Ran::clean_end_ns`): the next node's start.
        let mut turn_ns = Some(now);
        for (position, slot) in self.slots.slots_mut().enumerate().skip(from) {
            if !slot.state.is_tickable() || !(every || slot.timing.is_due(now)) {
                continue;
            }
            // One relaxed load in std's observer: an e-stop raised by the
            // node before this one holds the rest of the round.
            if observer.hold_requested() {
                report.ended_before = Some(position);
                break;
            }
            // Its start: the round's start or the end of the tick before
            // it, or else the clock now; one clock reading per node. In
            // `every` rounds it is also released then.
            let start_ns = turn_ns.take().unwrap_or_else(|| clock.now_ns());
            let round_ns = if every {
                slot.timing.rephase(start_ns);
                start_ns
            } else {
                now
            };
            let ran = run_one(slot, round_ns, start_ns, clock, held, observer);
            report.ran += 1;
            report.faults += u32::from(!ran.ok);
            turn_ns = ran.clean_end_ns;
        }
        report.next_release_ns = self.next_release_ns();
        report
    }

    /// The clock went back from `from_ns` to `to_ns` (it broke the [`Clock`]
    /// contract; a 32-bit counter wrapped): left alone, every node would wait
    /// until the clock caught up with its next release (49.7 days for a
    /// wrapped millisecond tick) and nothing would count it. Instead every
    /// tickable node keeps the distance to its next release, from `to_ns`;
    /// held and paused nodes are re-phased when they resume.
    fn clock_went_back<O: Observer<S::Node> + ?Sized>(
        &mut self,
        from_ns: u64,
        to_ns: u64,
        observer: &mut O,
    ) {
        self.clock_steps_back = self.clock_steps_back.saturating_add(1);
        trace_warn!(
            "scheduler: the clock went back from {} ns to {} ns; nodes re-phased",
            from_ns,
            to_ns
        );
        for slot in self.slots.slots_mut() {
            if slot.state.is_tickable() {
                slot.timing.rebase(from_ns, to_ns);
            }
        }
        observer.clock_went_back(from_ns, to_ns);
    }

    /// Rounds ([`step`](Self::step) and its forms) that found the clock
    /// earlier than at the round before, and re-phased every node onto it
    /// (see [`Event::ClockWentBack`](super::Event::ClockWentBack)). 0 for a
    /// clock that keeps the [`Clock`] contract; otherwise extend the clock
    /// (a wrapping counter: [`Extend32`](crate::time::Extend32)).
    ///
    /// ```
    /// use horus_nostd::sched::{CoreNode, CoreScheduler, NodeConfig, NodeFault, Tick};
    /// use horus_nostd::time::{Clock, Frequency};
    /// use core::cell::Cell;
    ///
    /// struct Nop;
    /// impl CoreNode for Nop {
    ///     fn tick(&mut self, _: &Tick) -> Result<(), NodeFault> {
    ///         Ok(())
    ///     }
    /// }
    /// /// A u32 millisecond tick scaled to ns, not extended: it wraps.
    /// struct Wrapping(Cell<u32>);
    /// impl Clock for Wrapping {
    ///     fn now_ns(&self) -> u64 {
    ///         u64::from(self.0.get()) * 1_000_000
    ///     }
    /// }
    /// let mut nop = Nop;
    /// let mut sched = CoreScheduler::<1>::new(Frequency::from_hz(100)).unwrap();
    /// let id = sched.add(&mut nop, NodeConfig::new(0)).unwrap();
    /// let clock = Wrapping(Cell::new(u32::MAX - 5));
    /// sched.start(clock.now_ns()).unwrap();
    /// sched.step(&clock); // ticks; next release 10 ms on
    /// clock.0.set(4); // 10 ms on, wrapped: the next release is 10 ms after 4 ms
    /// sched.step(&clock);
    /// assert_eq!(sched.clock_steps_back(), 1);
    /// clock.0.set(14);
    /// sched.step(&clock);
    /// assert_eq!(sched.stats(id).unwrap().ticks, 2, "ticked after the wrap");
    /// ```
    pub fn clock_steps_back(&self) -> u64 {
        self.clock_steps_back
    }

    /// The earliest next release of a tickable node; `None` if none is left.
    pub fn next_release_ns(&self) -> Option<u64> {
        self.slots
            .slots()
            .filter(|s| s.state.is_tickable())
            .map(|s| s.timing.next_release_ns())
            .min()
    }

    /// Holds every tickable node (`-> Held`), running its `safe_state` in
    /// order: the e-stop. The engine is held until [`resume`](Self::resume):
    /// nodes initialised meanwhile start held.
    pub fn hold(&mut self) {
        self.hold_with(&mut ignore);
    }

    /// [`hold`](Self::hold), telling `observer`.
    pub fn hold_with<O: Observer<S::Node> + ?Sized>(&mut self, observer: &mut O) {
        self.held = true;
        for slot in self.slots.slots_mut() {
            if slot.state.is_tickable() {
                slot.node.safe_state();
                become_(slot, NodeState::Held, observer);
            }
        }
    }

    /// Resumes every held node (`Held -> Running`), its next release at
    /// `now_ns` (releases missed while held are neither run nor counted).
    pub fn resume(&mut self, now_ns: u64) {
        self.resume_with(now_ns, &mut ignore);
    }

    /// [`resume`](Self::resume), telling `observer`.
    pub fn resume_with<O: Observer<S::Node> + ?Sized>(&mut self, now_ns: u64, observer: &mut O) {
        self.held = false;
        for slot in self.slots.slots_mut() {
            if slot.state == NodeState::Held {
                slot.timing.rephase(now_ns);
                become_(slot, NodeState::Running, observer);
            }
        }
    }

    /// Stops every node, in reverse order: runs `shutdown` of each whose
    /// `init` succeeded. Every node ends `Finished`; calling it again does nothing.
    pub fn shutdown(&mut self) {
        self.shutdown_with(&mut ignore);
    }

    /// [`shutdown`](Self::shutdown), telling `observer`.
    pub fn shutdown_with<O: Observer<S::Node> + ?Sized>(&mut self, observer: &mut O) {
        let running = self
            .slots()
            .filter(|s| s.state != NodeState::Finished)
            .count();
        if running > 0 {
            trace_info!("scheduler: shutting down {} node(s)", running);
        }
        for slot in self.slots.slots_mut().rev() {
            if slot.state == NodeState::Finished {
                continue;
            }
            if slot.initialised {
                slot.node.shutdown();
            }
            become_(slot, NodeState::Finished, observer);
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
        self.slots.slots().map(|s| NodeView {
            node: &s.node,
            id: s.id,
            order: s.config.order,
            state: s.state,
            period_ns: s.timing.period_ns(),
            stats: *s.timing.stats(),
        })
    }

    /// Every slot, in tick order: the nodes themselves with their bookkeeping.
    pub fn slots(&self) -> impl DoubleEndedIterator<Item = &Slot<S::Node>> {
        self.slots.slots()
    }

    /// Nodes in the table.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The table's capacity (`N` of a [`CoreScheduler`]).
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    fn slot(&self, id: NodeId) -> Option<&Slot<S::Node>> {
        self.slots.slots().find(|s| s.id == id)
    }

    pub(super) fn slot_mut(&mut self, id: NodeId) -> Result<&mut Slot<S::Node>, ControlError> {
        self.slots
            .slots_mut()
            .find(|s| s.id == id)
            .ok_or(ControlError::NoSuchNode { node: id })
    }

    fn timing_of(&self, config: &NodeConfig) -> Result<Timing, RateError> {
        timing_of(self.tick_rate, config)
    }
}

/// The timing `config` gives under `tick_rate`; a node with its own rate
/// does not depend on the tick rate (not even on its validity).
fn timing_of(tick_rate: Frequency, config: &NodeConfig) -> Result<Timing, RateError> {
    let base = match config.rate {
        Rate::PeriodNs(_) | Rate::Frequency(_) => 1,
        Rate::Base | Rate::Divisor(_) => tick_rate.period_ns()?,
    };
    config.timing(base)
}

/// Moves `slot` to `next` and tells `observer`.
pub(super) fn become_<T: CoreNode, O: Observer<T> + ?Sized>(
    slot: &mut Slot<T>,
    next: NodeState,
    observer: &mut O,
) {
    let from = slot.state;
    if next == NodeState::Faulted {
        trace_warn!("scheduler: node {} faulted", slot.node.name());
    }
    slot.state.become_(next);
    observer.state_changed(slot, from);
}
