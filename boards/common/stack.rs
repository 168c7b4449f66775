//! Stack high-water mark, for the RAM figures in the boards' READMEs.
//!
//! [`paint`] fills the unused part of the stack (from cortex-m-rt's
//! `_stack_end`, the end of `.bss`/`.uninit`, up to just below the caller's
//! frame) with a pattern; [`used`] later finds the lowest overwritten word.
//! Shared by the board crates through `#[path]`.

use core::ptr::{addr_of, read_volatile, write_volatile};

unsafe extern "C" {
    /// Lowest address the stack may reach (cortex-m-rt's `link.x`).
    static _stack_end: u32;
    /// Initial stack pointer: the top of RAM (cortex-m-rt's `link.x`).
    static _stack_start: u32;
}

const PATTERN: u32 = 0x5afe_57ac;
/// Left unpainted below the stack pointer read in the painting frame: room
/// for anything below it that frame might still push (nothing at `opt-level`
/// 1 and up, where the loop is all registers; a few words in a debug build).
const MARGIN: usize = 256;

/// Paints the free stack. Call once, early, with interrupts not yet in use.
#[inline(never)]
pub fn paint() {
    let bottom = addr_of!(_stack_end) as usize;
    cortex_m::interrupt::free(|_| {
        // Read here, in the frame that paints, not in the caller: the
        // closure's own frame (if not inlined) is below the caller's `sp`.
        let sp = cortex_m::register::msp::read() as usize;
        let mut p = bottom;
        while p + 4 <= sp - MARGIN {
            // SAFETY: `[_stack_end, sp - MARGIN)` is the part of the stack
            // region that cortex-m-rt's linker script reserves for the stack
            // and that no frame occupies: every live frame is at or above
            // `sp`, read in this very frame, except what this loop might push
            // below it, which MARGIN covers (`write_volatile` is an intrinsic,
            // not a call); interrupts are masked so no exception frame is
            // pushed meanwhile, and `.bss`/`.data` end at `_stack_end`. `p` is 4-byte aligned (`_stack_end` is, by the
            // linker script's ALIGN(4)).
            unsafe { write_volatile(p as *mut u32, PATTERN) };
            p += 4;
        }
    });
}

/// Bytes of stack used since [`paint`]: from the top of RAM down to the
/// lowest word that no longer holds the pattern.
pub fn used() -> usize {
    let top = addr_of!(_stack_start) as usize;
    let mut p = addr_of!(_stack_end) as usize;
    // SAFETY: `[_stack_end, _stack_start)` is RAM (the linker script puts it
    // there), aligned as above; reading a word the program may also use is a
    // plain volatile read of initialised memory (painted or written since).
    while p < top && unsafe { read_volatile(p as *const u32) } == PATTERN {
        p += 4;
    }
    top - p
}

/// Bytes between the end of `.bss` and the top of RAM (what the stack may use).
pub fn available() -> usize {
    addr_of!(_stack_start) as usize - addr_of!(_stack_end) as usize
}
