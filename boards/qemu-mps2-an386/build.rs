//! Puts `memory.x` (the AN386 memory map) where cortex-m-rt's `link.x` finds it.
//!
//! Keep no `memory.x` in the crate root: the linker would find that one first.

use std::{env, fs, path::PathBuf};

/// QEMU's mps2-an386: 4 MiB ZBT SSRAM1 at 0 holds the image (the "flash"),
/// 4 MiB SSRAM2/3 at 0x2000_0000 is data RAM.
const MEMORY_X: &str = "\
MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 4M
  RAM   : ORIGIN = 0x20000000, LENGTH = 4M
}
";

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    assert!(
        !root.join("memory.x").exists(),
        "remove memory.x from {}: build.rs writes this board's memory map, and the linker \
         would take that file first",
        root.display()
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), MEMORY_X).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");
}
