//! HORUS on QEMU's BBC micro:bit (nRF51822, Cortex-M0, `thumbv6m-none-eabi`).
//!
//! Three topics live in one `static` region sized at compile time by the
//! core's layout functions; a sensor, a filter and a checker node run over
//! them (see `horus-boards-pipeline`). The run logs through defmt over
//! semihosting and exits through semihosting: success only if the region
//! matched the golden layout byte for byte and every check passed.
//!
//! The Cortex-M0 has no 64-bit atomics and no compare-and-swap at all: the
//! core's atomics go through portable-atomic over `critical-section`, which
//! cortex-m's `critical-section-single-core` provides (interrupts off).
#![no_std]
#![no_main]

/// The board, as the log names it.
const BOARD: &str = "micro:bit (nRF51822, Cortex-M0)";

#[path = "../../common/stack.rs"]
mod stack;

#[path = "../../common/firmware.rs"]
mod firmware;
