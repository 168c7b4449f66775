#!/usr/bin/env bash
# Fuzzes attaching to arbitrary region bytes and using whatever attaches
# (fuzz/fuzz_targets/attach.rs: topics; pool_attach.rs: block pools) and
# reading serialized schemas and messages (serialized_schema.rs), briefly,
# each target in turn. Installs cargo-fuzz if missing.
#
#   ci/fuzz.sh                 60 seconds
#   FUZZ_SECONDS=600 ci/fuzz.sh
#   FUZZ_TARGETS=pool_attach ci/fuzz.sh
#
# A crash leaves its input in fuzz/artifacts/<target>/; replay it with
# `cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# libFuzzer needs the nightly sanitizer flags.
for target in ${FUZZ_TARGETS:-attach pool_attach serialized_schema}; do
  cargo +nightly fuzz run "$target" -- -max_total_time="${FUZZ_SECONDS:-60}" -print_final_stats=1
done
