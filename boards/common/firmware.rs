//! The firmware both QEMU boards run (each board's `main.rs` names the
//! board and includes this file): the three-topic pipeline of
//! `horus-boards-pipeline` over one `static` region, defmt over semihosting,
//! and a semihosting exit status the test asserts on.

use cortex_m_rt::entry;
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use defmt_semihosting as _;
use horus_boards_pipeline::{REGION_BYTES, REGION_WORDS, run};
use horus_nostd::region::RegionBuffer;

use crate::stack;

/// The memory of the three topics: zeroed, 128-byte aligned (a block: see
/// `RegionBuffer`), in `.bss`.
static REGION: RegionBuffer<REGION_WORDS> = RegionBuffer::new();

#[entry]
fn main() -> ! {
    stack::paint();
    defmt::info!(
        "HORUS on {=str}: one region of {=usize} bytes for three topics",
        crate::BOARD,
        REGION_BYTES
    );
    let passed = match run(REGION.words()) {
        Ok(outcome) => {
            outcome.log();
            outcome.passed()
        }
        Err(e) => {
            defmt::error!("region init failed: {}", e);
            false
        }
    };
    let (used, available) = (stack::used(), stack::available());
    defmt::info!(
        "stack high-water mark: {=usize} of {=usize} B",
        used,
        available
    );
    if used >= available {
        defmt::error!("the stack reached .bss: the topics' memory may be overwritten");
    }
    exit(passed && used < available)
}

/// Ends the QEMU run with the semihosting status the test asserts on.
fn exit(passed: bool) -> ! {
    if passed {
        defmt::info!("PASS");
    } else {
        defmt::error!("FAIL");
    }
    debug::exit(if passed { EXIT_SUCCESS } else { EXIT_FAILURE });
    // Not reached under QEMU; on hardware without a debugger, park.
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(l) => defmt::error!("panic at {=str}:{=u32}", l.file(), l.line()),
        None => defmt::error!("panic"),
    }
    exit(false)
}

#[defmt::panic_handler]
fn defmt_panic() -> ! {
    exit(false)
}
