#!/usr/bin/env bash
# Every test of the project, on a fresh machine: the one command CI runs
# (`.ci/run` execs this). Installs what it needs, idempotently; runs every
# step even if an earlier one failed; times each; ends with a summary and a
# last line "N passed, N failed" (steps). Exit status 0 iff all passed.
#
#   ci/test.sh               every step, in order
#   ci/test.sh clippy miri   only the named steps
#   ci/test.sh --list        the step names
#
# Adding a step is one line in the STEPS section: `add_step NAME COMMAND...`
# (the command runs from the repository root; a non-zero exit fails the step).
# Put system packages a step needs in `apt_install` calls inside its script or
# step function (e.g. `apt_install qemu-system-arm`).
#
# Each step's output is also kept in target/ci-logs/STEP.log (under
# $CARGO_TARGET_DIR when set); after the
# summary, every failed step's failures are printed again (its failed tests'
# output and the end of its output), so the tail of a long CI log says what
# failed.
set -uo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}

# ---------------------------------------------------------------- installs --
# apt_install PKG... and rust_targets TARGET... (ci/lib.sh), for every step.
. ci/lib.sh
export -f apt_install rust_targets

# ------------------------------------------------------------ step helpers --
# Targets without native 64-bit atomics: the core takes portable-atomic's
# critical-section fallback (checked: without the feature the build fails with
# a compile_error! naming it; a library build needs no critical-section
# provider, only a firmware does). Big-endian targets are refused too.
NO_STD_TARGETS=(thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf)
# expect_build_failure MESSAGE CARGO-ARGS...: the build must fail, saying MESSAGE.
expect_build_failure() {
  local want=$1 out
  shift
  if out=$(cargo "$@" 2>&1); then
    echo "cargo $* built, but must fail with: $want" >&2
    return 1
  fi
  if ! grep -qF -- "$want" <<<"$out"; then
    printf '%s\n' "$out" | tail -20 >&2
    echo "cargo $* failed, but without: $want" >&2
    return 1
  fi
  echo "failed as it must: $want"
}

step_no_std() {
  rust_targets "${NO_STD_TARGETS[@]}" aarch64-unknown-linux-gnu || return 1
  local t
  echo "--- horus-nostd for thumbv6m-none-eabi without critical-section: refused, naming the fix"
  expect_build_failure "enable horus-nostd's \`critical-section\` feature" \
    build --locked -p horus-nostd --target thumbv6m-none-eabi || return 1
  echo "--- horus-nostd for a big-endian target (powerpc64, core built by nightly): refused"
  if rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src' ||
    rustup component add --toolchain nightly rust-src; then
    expect_build_failure "horus-nostd supports little-endian targets only" \
      +nightly check -p horus-nostd --target powerpc64-unknown-linux-gnu -Zbuild-std=core || return 1
    # x32: x86_64 with 32-bit pointers. No inline assembly may take a
    # 32-bit operand in a register its template names whole (the upper bits
    # are undefined): the block copy's assembly is not built there.
    echo "--- horus-nostd for x86_64-unknown-linux-gnux32 (core built by nightly): no 32-bit asm operand"
    cargo +nightly rustc --locked -p horus-nostd --lib --target x86_64-unknown-linux-gnux32 \
      -Zbuild-std=core -- -D asm_sub_register || return 1
  else
    echo "no nightly rust-src: big-endian and x32 checks skipped" >&2
    return 1
  fi
  for t in "${NO_STD_TARGETS[@]}"; do
    echo "--- horus-nostd for $t"
    cargo build --locked -p horus-nostd --target "$t" --features critical-section || return 1
    echo "--- horus-drivers (no_std, no nodes) for $t"
    cargo build --locked -p horus-drivers --no-default-features --target "$t" || return 1
  done
  echo "--- horus-nostd for aarch64-unknown-linux-gnu (native 64-bit atomics)"
  cargo build --locked -p horus-nostd --target aarch64-unknown-linux-gnu
}

# ------------------------------------------------------------------- steps --
declare -a STEP_NAMES=()
declare -A STEP_CMDS=()
add_step() { # add_step NAME COMMAND...
  local name=$1
  shift
  STEP_NAMES+=("$name")
  STEP_CMDS[$name]=$(printf '%q ' "$@")
}

add_step fmt      cargo fmt --all --check
add_step clippy   cargo clippy --locked --workspace --all-targets -- -D warnings
add_step test     cargo test --locked --no-fail-fast   # default members; tests run in parallel; every test binary runs
add_step doc      env "RUSTDOCFLAGS=-D warnings" cargo doc --locked --workspace --no-deps --lib --exclude horus-benchmarks
add_step bench_tests cargo test --locked --no-fail-fast -p horus-benchmarks   # its unit tests (statistics, jitter accounting, plots), not a run
add_step no_std   step_no_std
add_step loom     bash ci/loom.sh
add_step miri     bash ci/miri.sh
add_step fuzz     bash ci/fuzz.sh
add_step python   bash ci/python.sh
[ -f ci/boards.sh ] && add_step boards bash ci/boards.sh
[ -f ci/aarch64.sh ] && add_step aarch64 bash ci/aarch64.sh
add_step browser  bash ci/browser.sh   # the monitor's web UI in headless Chromium; screenshot in target/artifacts/

# --------------------------------------------------------------------- run --
if [ "${1:-}" = --list ]; then
  printf '%s\n' "${STEP_NAMES[@]}"
  exit 0
fi
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=("${STEP_NAMES[@]}")
for s in "${steps[@]}"; do
  [ -n "${STEP_CMDS[$s]+x}" ] || { echo "unknown step '$s'; steps: ${STEP_NAMES[*]}" >&2; exit 2; }
done

log_dir=${CARGO_TARGET_DIR:-target}/ci-logs
mkdir -p "$log_dir"
passed=0 failed=0 summary=() failed_steps=()
suite_start=$SECONDS
for s in "${steps[@]}"; do
  echo "=== step $s: ${STEP_CMDS[$s]}"
  start=$SECONDS
  # pipefail: the step's status, not tee's.
  if (eval "${STEP_CMDS[$s]}") 2>&1 | tee "$log_dir/$s.log"; then
    r=ok passed=$((passed + 1))
  else
    r=FAILED failed=$((failed + 1)) failed_steps+=("$s")
  fi
  t=$((SECONDS - start))
  echo "=== step $s: $r (${t}s)"
  summary+=("$(printf '%-10s %-7s %5ss' "$s" "$r" "$t")")
done
echo
echo "summary (total $((SECONDS - suite_start))s):"
printf '  %s\n' "${summary[@]}"
for s in "${failed_steps[@]}"; do
  echo
  echo "--- what failed in step $s (whole output: $log_dir/$s.log):"
  grep -E -A12 '^---- .* stdout ----$' "$log_dir/$s.log" | head -80
  echo "--- the end of step $s's output:"
  tail -25 "$log_dir/$s.log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
