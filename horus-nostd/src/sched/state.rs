//! The life of a node, and which function moves it.
//!
//! See [`NodeState`] for the diagram.

use core::fmt;

/// Where a node is in its life, and the function that moves it:
///
/// ```text
///                    start(): init ok              step(): first tick
///  add() ─► Registered ──────────────────► Ready ─────────────────────► Running ◄──┐
///               │                           ▲  │ hold()         hold()   │  │  │    │ step(): tick ok,
///               │ start(): init fails       │  ▼                         │  │  └────┘ or fault under Skip
///               │                           │  Held ◄────────────────────┘  │
///               │                           │   └── resume() ──► Running    │
///               │                           └── step(): fault under         │
///               │                               Restart: shutdown, init ok ─┤
///               ▼                                                           │
///            Faulted ◄──── step(): fault under Stop, or under Restart ──────┘
///                          when init fails again (no shutdown owed then)
///
///  Registered, Ready, Running, Held, Faulted ── shutdown() ──► Finished
///
///  One node, at the caller's request (in std: `horus node pause|resume|restart`):
///    Ready, Running, Held ── pause() ──► Paused ── resume_node() ──► Running
///                                          (or Held while the engine is held)
///    Ready, Running, Paused, Held ── restart(): shutdown, init ok ──► Ready
///                        (or, while the engine is held, safe_state, Held)
///                                 ── restart(): init fails ─────────► Faulted
///    Paused ── shutdown() ──► Finished
/// ```
///
/// The functions are those of the [`Engine`](super::Engine) (and of its
/// [`CoreScheduler`](super::CoreScheduler) form), which makes every
/// transition, on a board and in the std `Scheduler` alike: `add()` stands
/// for `add` and `push`; `start()` for `start` and `init_registered` (which
/// also initialises nodes pushed after the start); `step()` for `step` and
/// `step_all_with`; `hold()` also stands for `start()` while the engine is
/// held (a node initialised during a hold starts held); each `_with` form is its function plus an
/// [`Observer`](super::Observer), told of every transition.
///
/// `pause()` stands for `pause` and `pause_with`, `resume_node()` and
/// `restart()` likewise. Only `Ready` and `Running` nodes are ticked. [`NodeState::can_become`]
/// is this diagram as a table; [`NodeState::become_`] makes a transition and
/// asserts (in debug builds) that the diagram allows it.
///
/// ```
/// use horus_nostd::sched::NodeState;
///
/// let mut s = NodeState::Registered;
/// s.become_(NodeState::Ready); // start(): init succeeded
/// s.become_(NodeState::Running); // step(): first tick
/// assert!(s.is_tickable());
/// assert!(!NodeState::Finished.can_become(NodeState::Running));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum NodeState {
    /// Added; `init` has not run.
    Registered,
    /// `init` succeeded (at start, or again after a restart); not ticked since.
    Ready,
    /// Ticking at its rate.
    Running,
    /// Held by `hold()` (the e-stop): its `safe_state` ran, it is not ticked
    /// until `resume()`.
    Held,
    /// Its `init` failed, or a tick failed under policy `Stop`, or a restart's
    /// `init` failed. Never ticked again.
    Faulted,
    /// Paused by `pause()` (one node, at an operator's request): its
    /// `safe_state` ran, it is not ticked until `resume_node()`. The e-stop's
    /// `resume()` does not resume it.
    Paused,
    /// Shut down. Final.
    Finished,
}

impl NodeState {
    /// Whether the diagram has an edge from `self` to `next`.
    pub const fn can_become(self, next: Self) -> bool {
        use NodeState::*;
        matches!(
            (self, next),
            (Registered, Ready | Faulted)
                | (Ready, Running | Held | Paused | Faulted)
                | (Running, Ready | Held | Faulted | Paused)
                | (Held, Running | Paused | Faulted)
                | (Paused, Running | Held | Ready | Faulted)
                | (
                    Registered | Ready | Running | Held | Faulted | Paused,
                    Finished
                )
        )
    }

    /// Moves to `next`. The caller is one of the functions named in the
    /// diagram; a transition the diagram lacks is a bug in the scheduler,
    /// caught by a debug assertion (release builds make the move anyway).
    pub fn become_(&mut self, next: Self) {
        debug_assert!(
            self.can_become(next),
            "node state {self:?} cannot become {next:?}"
        );
        *self = next;
    }

    /// Whether the scheduler ticks a node in this state (`Ready`, `Running`).
    pub const fn is_tickable(self) -> bool {
        matches!(self, Self::Ready | Self::Running)
    }

    /// Short name, as reports print it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Ready => "ready",
            Self::Running => "running",
            Self::Held => "held",
            Self::Faulted => "faulted",
            Self::Paused => "paused",
            Self::Finished => "finished",
        }
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::NodeState::{self, *};

    const ALL: [NodeState; 7] = [Registered, Ready, Running, Held, Faulted, Finished, Paused];

    #[test]
    fn finished_is_final_and_everything_else_can_finish() {
        for s in ALL {
            assert!(!Finished.can_become(s));
            assert_eq!(s.can_become(Finished), s != Finished);
        }
    }

    #[test]
    fn only_init_leaves_registered_and_faulted_is_terminal_but_for_stop() {
        for s in ALL {
            assert_eq!(
                Registered.can_become(s),
                matches!(s, Ready | Faulted | Finished)
            );
            assert_eq!(Faulted.can_become(s), s == Finished);
        }
    }

    #[test]
    fn only_resume_and_restart_leave_paused_and_registered_cannot_pause() {
        assert!(!Registered.can_become(Paused));
        assert!(!Faulted.can_become(Paused));
        assert!(!Paused.is_tickable());
        for s in ALL {
            assert_eq!(
                Paused.can_become(s),
                matches!(s, Running | Held | Ready | Faulted | Finished)
            );
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "cannot become")]
    fn a_transition_outside_the_diagram_is_caught() {
        let mut s = Faulted;
        s.become_(Running);
    }
}
