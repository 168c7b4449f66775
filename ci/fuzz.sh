#!/usr/bin/env bash
# Fuzzes attaching to arbitrary region bytes and using whatever attaches
# (fuzz/fuzz_targets/attach.rs), briefly. Installs cargo-fuzz if missing.
#
#   ci/fuzz.sh                 60 seconds
#   FUZZ_SECONDS=600 ci/fuzz.sh
#
# A crash leaves its input in fuzz/artifacts/attach/; replay it with
# `cargo +nightly fuzz run attach fuzz/artifacts/attach/<file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# libFuzzer needs the nightly sanitizer flags.
cargo +nightly fuzz run attach -- -max_total_time="${FUZZ_SECONDS:-60}" -print_final_stats=1
