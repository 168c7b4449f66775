#!/usr/bin/env bash
# Every test of the project, on a fresh machine. Installs what it needs
# (idempotently), runs each step even if an earlier one failed, times them,
# and ends with "N passed, N failed" (steps). Exit status: 0 iff all passed.
#
#   ci/test.sh              everything
#   ci/test.sh clippy miri  only the named steps
set -uo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RUST_BACKTRACE=1

# ---------------------------------------------------------------- installs --
apt_install() { # apt_install PKG...: installs missing Debian packages
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ ! -f /tmp/.horus-apt-updated ]; then apt-get update -qq && touch /tmp/.horus-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
rust_targets() { rustup target add "$@" >/dev/null 2>&1 || rustup target add "$@"; }
nightly_component() { rustup component add --toolchain nightly "$@" >/dev/null 2>&1 || rustup component add --toolchain nightly "$@"; }

# ------------------------------------------------------------------- steps --
step_fmt() { cargo fmt --all --check; }
step_clippy() { cargo clippy --workspace --all-targets --locked -- -D warnings; }
step_test() { cargo test --workspace --locked; }
step_no_std_builds() {
  rust_targets thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf aarch64-unknown-linux-gnu
  cargo build -p horus-nostd --locked --target thumbv7em-none-eabihf --features critical-section &&
  cargo build -p horus-nostd --locked --target thumbv6m-none-eabi --features critical-section &&
  cargo build -p horus-nostd --locked --target riscv32imac-unknown-none-elf --features critical-section &&
  cargo build -p horus-nostd --locked --target aarch64-unknown-linux-gnu
}
step_miri() { nightly_component miri rust-src && bash ci/miri.sh; }

ALL_STEPS=(fmt clippy test no_std_builds miri)
[ -f ci/loom.sh ] && ALL_STEPS+=(loom) && step_loom() { bash ci/loom.sh; }
[ -f ci/fuzz.sh ] && ALL_STEPS+=(fuzz) && step_fuzz() { bash ci/fuzz.sh; }
[ -f ci/boards.sh ] && ALL_STEPS+=(boards) && step_boards() { bash ci/boards.sh; }
[ -f ci/aarch64.sh ] && ALL_STEPS+=(aarch64) && step_aarch64() { bash ci/aarch64.sh; }

# --------------------------------------------------------------------- run --
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=("${ALL_STEPS[@]}")
passed=0 failed=0 summary=()
suite_start=$(date +%s)
for s in "${steps[@]}"; do
  echo "=== step: $s"
  start=$(date +%s)
  if "step_$s"; then r=ok; passed=$((passed + 1)); else r=FAILED; failed=$((failed + 1)); fi
  t=$(($(date +%s) - start))
  echo "=== step: $s: $r (${t}s)"
  summary+=("$(printf '%-14s %-6s %5ss' "$s" "$r" "$t")")
done
echo
echo "summary (total $(($(date +%s) - suite_start))s):"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
