#!/usr/bin/env bash
# Miri over the core's own tests (unit, integration and doc tests): the ring's
# atomics, the payload copy and the region validation run under Miri's
# data-race, weak-memory and UB checks. Counts in the tests are scaled down
# under cfg(miri). Installs the nightly miri component if missing.
#
# Then the tests whose outcome depends on the word size or on the alignment
# of u64 run again on two 32-bit targets, interpreted by Miri on this host
# (it builds their sysroot from rust-src: no rustup target, no C toolchain):
#   armv7-unknown-linux-gnueabihf  32-bit usize, u64 8-aligned (as Cortex-M);
#   i686-unknown-linux-gnu         32-bit usize, u64 4-aligned: identity and
#                                  layouts must still be the 64-bit ones.
# `HORUS_MIRI_32=0` skips them; arguments go to the host run only.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup +nightly component list --installed 2>/dev/null | grep -q '^miri'; then
  rustup component add --toolchain nightly miri rust-src
fi
cargo +nightly miri setup >/dev/null
export MIRIFLAGS=${MIRIFLAGS:-"-Zmiri-strict-provenance"}
# Separate target dir: Miri's artifacts must not evict the normal build's.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/miri
cargo +nightly miri test --locked -p horus-nostd "$@"

[ "${HORUS_MIRI_32:-1}" = 0 ] && exit 0
# armv7: region geometry, attach validation, schema, rings, pools and the
# scheduler with a 32-bit usize.
ARMV7_TESTS=(--lib --test golden_layout --test attach_errors --test framed --test lanes
  --test pool_basic --test schema_shapes --test sched_core)
# i686: message identity and the golden layout with a 4-aligned u64.
I686_TESTS=(--lib --test golden_layout)
for spec in "armv7-unknown-linux-gnueabihf ARMV7_TESTS" "i686-unknown-linux-gnu I686_TESTS"; do
  target=${spec% *}
  declare -n tests=${spec#* }
  echo "--- Miri on $target: ${tests[*]}"
  cargo +nightly miri setup --target "$target" >/dev/null
  cargo +nightly miri test --locked -p horus-nostd --target "$target" "${tests[@]}"
  unset -n tests
done
