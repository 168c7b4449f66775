#!/usr/bin/env bash
# Boots a board's firmware in QEMU with semihosting, decodes its defmt output
# with defmt-print, and exits with the firmware's semihosting exit status
# (0 = every check passed). The boards' `cargo run` uses it as the runner, and
# ci/boards.sh calls it directly.
#
#   boards/qemu-run.sh MACHINE ELF        MACHINE: mps2-an386 | microbit
#
# HORUS_QEMU_TIMEOUT (seconds, default 60) bounds a firmware that never exits.
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 mps2-an386|microbit ELF" >&2
  exit 2
fi
machine=$1 elf=$2
case $machine in
  mps2-an386) cpu=(-cpu cortex-m4) ;;
  microbit) cpu=() ;; # the machine fixes its Cortex-M0
  *) echo "$0: unknown machine '$machine'" >&2; exit 2 ;;
esac
qemu=(timeout "${HORUS_QEMU_TIMEOUT:-60}" qemu-system-arm "${cpu[@]}" -machine "$machine"
  -nographic -monitor none -serial none
  -semihosting-config enable=on,target=native -kernel "$elf")

if command -v defmt-print >/dev/null 2>&1; then
  "${qemu[@]}" </dev/null | defmt-print -e "$elf"
  status=${PIPESTATUS[0]} decode=${PIPESTATUS[1]}
  if [ "$decode" -ne 0 ]; then
    echo "$0: defmt-print failed ($decode)" >&2
    [ "$status" -eq 0 ] && status=$decode
  fi
else
  raw=${elf}.defmt
  echo "$0: defmt-print not found (cargo install defmt-print); raw defmt frames in $raw" >&2
  "${qemu[@]}" </dev/null >"$raw"
  status=$?
fi
[ "$status" -eq 124 ] && echo "$0: timed out: the firmware never exited" >&2
exit "$status"
