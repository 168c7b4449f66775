//! Logging through the [`log`] facade.
//!
//! HORUS says what it does with `log` statements, never on the hot path
//! (`send`/`recv` log nothing): `debug` for topic creation and joins,
//! `info` for reclaims of dead processes' handles, the regions auto-clean
//! removes, a scheduler's start and stop; `warn` for an e-stop raised, an
//! evicted handle, a node fault. User
//! nodes log the same way (`log::info!(...)`: the prelude brings `log`).
//!
//! A library must not choose the logger, so `horus` installs none by
//! itself, with one exception: [`Scheduler::new`](crate::Scheduler::new)
//! calls [`init`], which installs [`env_logger`] reading `RUST_LOG` only if
//! the program has not installed a logger of its own (a program that wants
//! `tracing` or another logger installs it before creating the scheduler).
//! A program that uses topics without a scheduler calls [`init`] itself.
//! A logger installed *after* `Scheduler::new` is refused by `log` (one
//! logger per process): `env_logger::init()` would then panic, so such a
//! program uses `try_init()` or installs its logger first.
//!
//! Without `RUST_LOG` the level is `warn`: a healthy system prints nothing.
//! `RUST_LOG=debug` shows everything; `RUST_LOG=horus=debug` only HORUS's
//! statements (targets are module paths: `horus::topic`, `horus::shm::cleanup`,
//! `horus::scheduler::run`, ...), `RUST_LOG=horus_nostd=debug` the core's.
//! Lines go to stderr as `[LEVEL target] text`.
//!
//! The core's events (joins, reclaims, evictions, scheduler start/stop,
//! node faults) are logged by horus-nostd itself, through its trace shim:
//! `log` here (horus-std enables its `log` feature; targets
//! `horus_nostd::ring::participants`, `horus_nostd::sched::engine`, ...),
//! `defmt` on the boards (its `defmt` feature), so the same statements say
//! the same thing on both. The statements in this crate are the std-only
//! ones: files, namespaces, the e-stop, node control.

/// The environment variable read for the filter (env_logger's syntax).
pub const LOG_ENV: &str = "RUST_LOG";

/// The filter when `RUST_LOG` is unset: warnings and errors only.
pub const DEFAULT_FILTER: &str = "warn";

/// Installs a logger to stderr filtered by `RUST_LOG` (default `warn`),
/// unless one is installed already. Returns whether it installed one.
///
/// ```
/// horus::logging::init();
/// log::info!("shown with RUST_LOG=info");
/// assert!(!horus::logging::init(), "a second call changes nothing");
/// ```
pub fn init() -> bool {
    env_logger::Builder::from_env(env_logger::Env::new().filter_or(LOG_ENV, DEFAULT_FILTER))
        .try_init()
        .is_ok()
}
