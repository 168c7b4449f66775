#!/usr/bin/env bash
# Loom models of the ring, the block pool and Extend32 (horus-nostd/tests/
# loom_ring.rs, loom_pool.rs, loom_time.rs): the production code over loom's atomics, every interleaving
# up to the preemption bound (default 3 in the models; LOOM_MAX_PREEMPTIONS=N overrides it).
# Each model prints how many executions it explored and fails if only one.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
# Separate target dir: --cfg loom rebuilds everything; keep the normal build.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/loom
# The models are code too: clippy with --cfg loom (the workspace clippy step
# builds without it, where these files are empty).
cargo clippy --locked -p horus-nostd --release --test loom_ring --test loom_pool --test loom_time -- -D warnings
cargo test --locked -p horus-nostd --release --test loom_ring --test loom_pool --test loom_time -- --nocapture "$@"
