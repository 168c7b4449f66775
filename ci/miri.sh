#!/usr/bin/env bash
# Miri over the core's own tests (unit, integration and doc tests): the ring's
# atomics, the payload copy and the region validation run under Miri's
# data-race, weak-memory and UB checks. Counts in the tests are scaled down
# under cfg(miri). Installs the nightly miri component if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup +nightly component list --installed 2>/dev/null | grep -q '^miri'; then
  rustup component add --toolchain nightly miri rust-src
fi
cargo +nightly miri setup >/dev/null
export MIRIFLAGS=${MIRIFLAGS:-"-Zmiri-strict-provenance"}
# Separate target dir: Miri's artifacts must not evict the normal build's.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/miri cargo +nightly miri test --locked -p horus-nostd "$@"
