#!/usr/bin/env bash
# The no_std core on two emulated Cortex-M boards, end to end.
#
# Installs what it needs (idempotently): the thumbv7em/thumbv6m targets,
# qemu-system-arm and binutils-arm-none-eabi (apt), defmt-print (cargo install).
# Then:
#   1. the golden layout on the host (x86_64): horus-nostd's golden_layout test;
#   2. the pipeline's host test (boards/pipeline);
#   3. for each board (mps2-an386 = Cortex-M4F, microbit = Cortex-M0): builds the
#      firmware (--release), runs it in QEMU, decodes its defmt log with
#      defmt-print, asserts exit status 0 and the PASS line; the firmware checks
#      its region against the same golden file on the 32-bit target;
#   4. the fail-demo variant of each board (a filter bug): asserts it FAILS,
#      and for the right reason (the checker's FilterMismatch);
#   5. prints `size` of each firmware and the bytes by crate.
# Exit status 0 iff everything held. Board builds use each crate's own target
# directory (boards/<crate>/target), whatever CARGO_TARGET_DIR says.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export HORUS_QEMU_TIMEOUT=${HORUS_QEMU_TIMEOUT:-60}

# ---------------------------------------------------------------- installs --
. ci/lib.sh # apt_install
install() {
  apt_install qemu-system-arm binutils-arm-none-eabi || return 1
  rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi >/dev/null 2>&1 ||
    rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi || return 1
  if ! command -v defmt-print >/dev/null 2>&1; then
    echo "installing defmt-print (once; about two minutes)"
    cargo install defmt-print --locked --quiet || return 1
  fi
  qemu-system-arm -machine help | grep -q '^mps2-an386 ' &&
    qemu-system-arm -machine help | grep -q '^microbit '
}

# ------------------------------------------------------------------- steps --
passed=0 failed=0 summary=()
step() { # step NAME CMD...: runs, times and records one check
  local name=$1 start r
  shift
  echo "=== boards: $name"
  start=$(date +%s)
  if "$@"; then r=ok; passed=$((passed + 1)); else r=FAILED; failed=$((failed + 1)); fi
  summary+=("$(printf '%-32s %-6s %4ss' "$name" "$r" "$(($(date +%s) - start))")")
  echo "=== boards: $name: $r"
}

golden_host() { cargo test -p horus-nostd --test golden_layout; }
pipeline_host() {
  (cd boards/pipeline && env -u CARGO_TARGET_DIR cargo test --locked --quiet &&
    env -u CARGO_TARGET_DIR cargo test --locked --quiet --features fail-demo)
}

elf_of() { # elf_of CRATE TARGET
  echo "$root/boards/$1/target/$2/release/horus-board-$1"
}

build() { # build CRATE [CARGO_ARGS...]
  local crate=$1
  shift
  (cd "boards/$crate" && env -u CARGO_TARGET_DIR cargo build --locked --release --quiet "$@")
}

# run_board CRATE MACHINE TARGET EXPECT [CARGO_ARGS...]
#   EXPECT=pass: exit 0 and a decoded PASS line
#   EXPECT=fail: exit 1 (semihosting EXIT_FAILURE), a FAIL line and a FilterMismatch
run_board() {
  local crate=$1 machine=$2 target=$3 expect=$4 log status
  shift 4
  build "$crate" "$@" || return 1
  log=$(mktemp)
  boards/qemu-run.sh "$machine" "$(elf_of "$crate" "$target")" >"$log" 2>&1
  status=$?
  sed 's/^/    /' "$log"
  case $expect in
    pass)
      [ "$status" -eq 0 ] || { echo "expected exit 0, got $status"; rm -f "$log"; return 1; }
      grep -q '^INFO  PASS$' "$log" || { echo "no PASS line in the decoded log"; rm -f "$log"; return 1; }
      grep -q 'golden layout: .*identical' "$log" || { echo "golden layout not confirmed"; rm -f "$log"; return 1; }
      ;;
    fail)
      [ "$status" -eq 1 ] || { echo "the failing variant must exit 1, got $status"; rm -f "$log"; return 1; }
      grep -q '^ERROR FAIL$' "$log" && grep -q 'FilterMismatch' "$log" ||
        { echo "the failing variant failed for another reason"; rm -f "$log"; return 1; }
      echo "    (failed as it must: the checker caught the filter bug)"
      ;;
  esac
  rm -f "$log"
}

# Sizes: Berkeley `size`, then symbol bytes by crate (inlined code counts in
# its caller, so the horus_nostd figure is a lower bound of the core's share).
sizes() {
  local crate elf
  for crate in qemu-mps2-an386:thumbv7em-none-eabihf qemu-microbit:thumbv6m-none-eabi; do
    build "${crate%%:*}" || return 1
    elf=$(elf_of "${crate%%:*}" "${crate##*:}")
    echo "--- ${crate%%:*}"
    arm-none-eabi-size "$elf" | sed 's/^/    /'
    arm-none-eabi-nm -C -S --size-sort -t d "$elf" | awk '
      NF >= 4 {
        size = $2 + 0; kind = tolower($3); name = $4
        for (i = 5; i <= NF; i++) name = name " " $i
        if (name ~ /^<?horus_nostd::/) c = "horus_nostd (the core)"
        else if (name ~ /horus_boards_pipeline::golden::GOLDEN/) c = "golden bytes (test data)"
        else if (name ~ /horus_boards_pipeline::/) c = "horus_boards_pipeline (nodes, checks)"
        else if (name ~ /::REGION$/) c = "topic region (static)"
        else if (name ~ /portable_atomic::/) c = "portable-atomic"
        else if (name ~ /^(<)?(compiler_builtins|core)::/ || name ~ /^__aeabi|^__(add|mul|div|sub|cmp|fix|float|extend|trunc)/) c = "core/compiler_builtins"
        else if (name ~ /defmt/) c = "defmt"
        else if (name ~ /__cortex_m_rt_main/) c = "main (run loop; nodes and core inlined)"
        else c = "other (rt, board, semihosting)"
        if (kind == "t" || kind == "r") flash[c] += size; else if (kind == "b" || kind == "d") ram[c] += size
      }
      END {
        printf "    %-40s %8s %8s\n", "symbols by crate", "flash", "ram"
        for (c in flash) seen[c] = 1
        for (c in ram) seen[c] = 1
        for (c in seen) printf "    %-40s %8d %8d\n", c, flash[c], ram[c]
      }'
  done
}

start=$(date +%s)
step install install || { echo "boards: cannot install the tools"; exit 1; }
step "golden layout (host x86_64)" golden_host
step "pipeline (host)" pipeline_host
step "mps2-an386 (Cortex-M4F)" run_board qemu-mps2-an386 mps2-an386 thumbv7em-none-eabihf pass
step "microbit (Cortex-M0)" run_board qemu-microbit microbit thumbv6m-none-eabi pass
step sizes sizes
step "mps2-an386 fail-demo must fail" run_board qemu-mps2-an386 mps2-an386 thumbv7em-none-eabihf fail --features fail-demo
step "microbit fail-demo must fail" run_board qemu-microbit microbit thumbv6m-none-eabi fail --features fail-demo

echo
echo "boards summary (total $(($(date +%s) - start))s):"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
