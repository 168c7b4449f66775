//! Computes, once, the cfgs the core's sources swap files on (STYLE item 8).
//!
//! - `horus_asm_copy`: payload copies move 64-byte blocks with inline
//!   assembly (`src/ring/copy/x86_64.rs`: SSE2, part of the x86_64 baseline,
//!   or AVX for long copies where `CPUID` reports it at run time). Only on
//!   x86_64 with 64-bit pointers: not on x32 (`x86_64-unknown-linux-gnux32`),
//!   whose pointers and `usize` are 32 bits wide while the assembly names
//!   its address and count operands as 64-bit registers, whose upper halves
//!   would then be undefined. Neither under loom (whose atomics are not
//!   plain memory) nor under Miri (which runs no inline assembly): there the
//!   per-word path of `src/ring/copy/words.rs` is used, which is what the
//!   models check. Nor under `cfg(fuzzing)` (cargo-fuzz): the fuzz targets
//!   then drive the per-word block copy that every non-x86_64 target (boards
//!   included) runs; the assembly is checked against it by `ring::copy`'s
//!   tests.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(horus_asm_copy)");
    println!("cargo::rerun-if-changed=build.rs");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let width = std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH").unwrap_or_default();
    let loom = std::env::var_os("CARGO_CFG_LOOM").is_some();
    let miri = std::env::var_os("CARGO_CFG_MIRI").is_some();
    let fuzzing = std::env::var_os("CARGO_CFG_FUZZING").is_some();
    if arch == "x86_64" && width == "64" && !loom && !miri && !fuzzing {
        println!("cargo::rustc-cfg=horus_asm_copy");
    }
}
