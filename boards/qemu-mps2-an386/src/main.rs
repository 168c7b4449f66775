//! HORUS on QEMU's MPS2 AN386 (Cortex-M4F, `thumbv7em-none-eabihf`).
//!
//! Three topics live in one `static` region sized at compile time by the
//! core's layout functions; a sensor, a filter and a checker node run over
//! them (see `horus-boards-pipeline`). The run logs through defmt over
//! semihosting and exits through semihosting: success only if the region
//! matched the golden layout byte for byte and every check passed.
#![no_std]
#![no_main]

/// The board, as the log names it.
const BOARD: &str = "mps2-an386 (Cortex-M4F)";

#[path = "../../common/stack.rs"]
mod stack;

#[path = "../../common/firmware.rs"]
mod firmware;
