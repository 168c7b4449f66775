//! Ticking one due node: its release, its tick, the bookkeeping, and its
//! fault policy if the tick failed.

use super::control::restart_slot;
use super::engine::become_;
use super::{CoreNode, FaultPolicy, NodeState, Observer, Slot, Tick};
use crate::time::Clock;

/// What [`run_one`] did.
pub(super) struct Ran {
    /// The tick succeeded.
    pub(super) ok: bool,
    /// When the tick ended, if it succeeded within its budget, was released
    /// on time and the node was already running: then the observer was told
    /// nothing but `ticked` (routine bookkeeping), and this reading can stand
    /// for "now" for the start of the next node of the round.
    pub(super) clean_end_ns: Option<u64>,
}

/// Ticks one due node and does its bookkeeping. Its start is `start_ns`;
/// `held`: the engine is held (a node its
/// `Restart` policy initialises again is then held too).
pub(super) fn run_one<T: CoreNode, C: Clock + ?Sized, O: Observer<T> + ?Sized>(
    slot: &mut Slot<T>,
    round_ns: u64,
    start_ns: u64,
    clock: &C,
    held: bool,
    observer: &mut O,
) -> Ran {
    let release = slot.timing.release(round_ns, start_ns);
    observer.released(slot, &release);
    let became_running = slot.state == NodeState::Ready;
    if became_running {
        become_(slot, NodeState::Running, observer);
    }
    let tick = Tick {
        seq: release.seq,
        release_ns: release.release_ns,
        start_ns: release.start_ns,
        period_ns: slot.timing.period_ns(),
    };
    let result = slot.node.tick(&tick);
    let end_ns = clock.now_ns();
    let done = slot.timing.complete(&release, end_ns);
    observer.ticked(slot, &done);
    let Err(fault) = result else {
        let clean = !done.overrun && !release.late && !became_running;
        return Ran {
            ok: true,
            clean_end_ns: clean.then_some(end_ns),
        };
    };
    slot.timing.record_fault();
    observer.faulted(slot, fault);
    match slot.config.policy {
        FaultPolicy::Skip => {}
        FaultPolicy::Stop => {
            slot.node.safe_state();
            become_(slot, NodeState::Faulted, observer);
        }
        // Counters and release grid are kept: the node goes on where it was.
        FaultPolicy::Restart => restart_slot(slot, held, observer, |_| {}),
    }
    Ran {
        ok: false,
        clean_end_ns: None,
    }
}
