#!/usr/bin/env bash
# aarch64 Linux (Raspberry Pi 4/5, Jetson): cross-build horus-std, horus-cli
# and horus-drivers for aarch64-unknown-linux-gnu, run their tests under
# qemu-user, and share one /dev/shm topic between an emulated aarch64 process
# and a native one, in both directions.
#
#   ci/aarch64.sh              everything
#   ci/aarch64.sh build mixed  only the named steps (install, build, smoke, test, mixed)
#
# Installs what it needs, idempotently (root, Debian/Ubuntu): the Rust target,
# gcc-aarch64-linux-gnu (linker) and qemu-user (runner). The linker and
# runner are set through environment variables here, never through a
# committed .cargo/config, so host builds are unaffected. See
# docs/deploy-aarch64.md for deploying the same build to a real board.
#
# Environment:
#   HORUS_AARCH64_SKIP  test names skipped under qemu-user (default: see SKIP below)
#   XARCH_COUNT         messages per direction in the mixed test (default 5000)
#   CARGO_TARGET_DIR    honoured (default: target/)
set -uo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RUST_BACKTRACE=1

TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu
TARGET_DIR=${CARGO_TARGET_DIR:-target}
SHM_BASE=${HORUS_SHM_DIR:-/dev/shm}
# Cargo reads these for --target aarch64-unknown-linux-gnu only.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc

# Tests that cannot run under qemu-user, and why. (Everything else of
# horus-std runs, the tmpfs-mount and chown tests included: `mount` and
# `umount` are host binaries, which the emulated process execs natively.)
# (None today: every test re-executes itself through common::self_command(),
# which honours HORUS_TEST_RUNNER.)
declare -A SKIP_WHY=()

# ---------------------------------------------------------------- helpers --
native_arm=false
[ "$(uname -m)" = aarch64 ] && native_arm=true
# On an aarch64 host nothing is emulated, so nothing needs skipping.
if $native_arm; then SKIP=${HORUS_AARCH64_SKIP-}; else SKIP=${HORUS_AARCH64_SKIP-${!SKIP_WHY[*]}}; fi

. ci/lib.sh # apt_install

qemu_bin() { # the qemu-user binary for aarch64, if any
  command -v qemu-aarch64 || command -v qemu-aarch64-static
}

# Where an aarch64 program runs: natively on an aarch64 host, else qemu-user.
set_runner() {
  if $native_arm; then
    RUNNER=""
  else
    RUNNER="$(qemu_bin) -L $SYSROOT"
  fi
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$RUNNER"
}

# ------------------------------------------------------------------ steps --
step_install() {
  rustup target add "$TARGET" >/dev/null 2>&1 || rustup target add "$TARGET" || return 1
  local pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
  $native_arm || qemu_bin >/dev/null || pkgs+=(qemu-user)
  apt_install "${pkgs[@]}" || return 1
  set_runner
  echo "linker: $(command -v aarch64-linux-gnu-gcc)"
  echo "runner: ${RUNNER:-native}"
}

step_build() {
  cargo build --locked --target "$TARGET" -p horus-std -p horus-cli -p horus-drivers --all-targets || return 1
  # ELF e_machine (bytes 18-19, little-endian) of an aarch64 executable: 0xb7 0x00.
  local machine
  machine=$(od -An -tx1 -j18 -N2 "$TARGET_DIR/$TARGET/debug/horus" | tr -d ' ')
  echo "$TARGET_DIR/$TARGET/debug/horus: e_machine $machine"
  [ "$machine" = b700 ]
}

step_smoke() { # the cross-built CLI loads and runs under the runner
  local out status
  out=$($RUNNER "$TARGET_DIR/$TARGET/debug/horus" --help 2>&1)
  status=$?
  echo "horus --help (aarch64): exit $status: ${out%%$'\n'*}"
  # 126/127: could not exec; >128: killed by a signal (SIGILL, SIGSEGV...).
  [ "$status" -lt 126 ] && [ -n "$out" ]
}

step_test() {
  local skips=() name
  for name in $SKIP; do
    skips+=(--skip "$name")
    echo "skipped under qemu-user: $name: ${SKIP_WHY[$name]:-listed in HORUS_AARCH64_SKIP}"
  done
  # The process tests re-exec their own binary; where the kernel cannot
  # exec an aarch64 file, the helper puts the runner in front.
  HORUS_TEST_RUNNER="$RUNNER" \
    cargo test --locked --target "$TARGET" -p horus-std -p horus-drivers --no-fail-fast -- "${skips[@]}"
}

# One direction of the mixed test: `pub_cmd` publishes, `sub_cmd` checks.
mixed_one() { # mixed_one LABEL PUB_CMD SUB_CMD
  local label=$1 pub=$2 sub=$3 count=${XARCH_COUNT:-5000}
  local ns="xarch_$$_$RANDOM" log sub_pid sub_rc pub_rc
  log=$(mktemp)
  # Removed below, and on an interrupt.
  trap "rm -rf '${SHM_BASE:?}/horus_$ns'" EXIT
  # shellcheck disable=SC2086 # the commands are words on purpose (runner prefix)
  HORUS_NAMESPACE=$ns timeout 120 $sub sub "$count" >"$log" 2>&1 &
  sub_pid=$!
  # shellcheck disable=SC2086
  HORUS_NAMESPACE=$ns timeout 120 $pub pub "$count"
  pub_rc=$?
  wait "$sub_pid"
  sub_rc=$?
  cat "$log"
  rm -f "$log"
  rm -rf "${SHM_BASE:?}/horus_$ns"
  trap - EXIT
  echo "mixed: namespace $ns removed: $([ -e "$SHM_BASE/horus_$ns" ] && echo no || echo yes)"
  if [ "$pub_rc" -eq 0 ] && [ "$sub_rc" -eq 0 ]; then
    echo "mixed: $label: PASS"
  else
    echo "mixed: $label: FAIL (publisher exit $pub_rc, subscriber exit $sub_rc)"
    return 1
  fi
}

step_mixed() {
  if $native_arm; then
    echo "mixed: this host is aarch64; nothing to mix with (skipped)"
    return 0
  fi
  cargo build --locked -p horus-drivers --example xarch_peer &&
    cargo build --locked -p horus-drivers --example xarch_peer --target "$TARGET" || return 1
  local native="$TARGET_DIR/debug/examples/xarch_peer"
  local arm="$RUNNER $TARGET_DIR/$TARGET/debug/examples/xarch_peer"
  local r=0
  mixed_one "aarch64 (qemu) publishes -> $(uname -m) subscribes" "$arm" "$native" || r=1
  mixed_one "$(uname -m) publishes -> aarch64 (qemu) subscribes" "$native" "$arm" || r=1
  return $r
}

# -------------------------------------------------------------------- run --
ALL_STEPS=(install build smoke test mixed)
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=("${ALL_STEPS[@]}")
set_runner 2>/dev/null
passed=0 failed=0 summary=()
suite_start=$(date +%s)
for s in "${steps[@]}"; do
  echo "=== aarch64: $s"
  start=$(date +%s)
  if "step_$s"; then r=ok; passed=$((passed + 1)); else r=FAILED; failed=$((failed + 1)); fi
  t=$(($(date +%s) - start))
  echo "=== aarch64: $s: $r (${t}s)"
  summary+=("$(printf '%-8s %-6s %5ss' "$s" "$r" "$t")")
done
echo
echo "aarch64 summary (total $(($(date +%s) - suite_start))s):"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
