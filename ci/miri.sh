#!/usr/bin/env bash
# Miri over the core's own tests (unit, integration and doc tests): the ring's
# atomics, the payload copy and the region validation run under Miri's
# data-race and UB checks. Counts in the tests are scaled down under cfg(miri).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add --toolchain nightly miri rust-src >/dev/null 2>&1 || true
export MIRIFLAGS=${MIRIFLAGS:-"-Zmiri-strict-provenance"}
# Separate target dir: Miri's artifacts must not evict the normal build's.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/miri cargo +nightly miri test -p horus-nostd
