#!/usr/bin/env bash
# Instructions per hop of the same-thread hop loops, counted by valgrind
# (callgrind): a figure that, unlike a time, does not move with the host.
#
#   benchmarks/instructions.sh [--kind KIND]... [REV]...
#
# For each REV (a commit; none: the work tree) and each KIND of the hop loop
# (`HORUS_BENCH_ONLY=pooled-hop:KIND`; default: image, core and POD), runs
# the loop under callgrind twice, with 1,000,000 hops (`--quick`) and with
# 4,000,000, and prints the difference divided by 3,000,000: the
# instructions one more hop executes, set-up and warm-up cancelled out.
# A KIND `sched-rounds:N` counts a round of the std scheduler's `tick_once`
# with N empty nodes the same way (`HORUS_BENCH_ONLY=sched-rounds:N`); its
# two clock reads are system calls under valgrind, not counted.
#
# What it is for: on a small, shared host the timings of two builds differ
# by ±10% with the code unchanged (benchmarks/README.md), so a change that
# removes a tenth of a hop's work cannot be seen in time; its instruction
# count can. It is not a latency: a locked instruction or a cache miss counts
# as one. Timings still come only from the benchmark program.
#
# Builds go to target/instructions (commits exported with `git archive` as
# compare.sh exports them, benchmarks/build_rev.sh), with
# `--cfg rustix_use_libc`: rustix's own vDSO parsing faults under valgrind,
# which maps no vDSO; through libc, the clock is read the same way in both
# runs. Installs valgrind if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

kinds=()
revs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --kind) kinds+=("$2"); shift ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) revs+=("$1") ;;
    esac
    shift
done
[ ${#kinds[@]} -gt 0 ] || kinds=("image 640x480 rgb8" "core" "POD")
[ ${#revs[@]} -gt 0 ] || revs=("work tree")

if ! command -v valgrind >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq valgrind >/dev/null
fi

out=target/instructions
mkdir -p "$out"
export RUSTFLAGS="--cfg rustix_use_libc"

# shellcheck source=build_rev.sh
. benchmarks/build_rev.sh

# The benchmark program of rev $1 ("work tree": built from it, into its own
# target directory, whose artifacts no exported commit shares); prints its path.
build() {
    if [ "$1" = "work tree" ]; then
        (CARGO_TARGET_DIR="$PWD/$out/target-worktree" cargo build -q --release -j 2 -p horus-benchmarks) >&2
        echo "$out/target-worktree/release/horus-benchmarks"
    else
        build_rev "$PWD" "$PWD/$out" "$1"
    fi
}

# Instructions of one run of the hop loop of kind $2 with program $1 ($3:
# extra arguments).
count() {
    local log; log=$(mktemp)
    local selection="pooled-hop:$2"
    case "$2" in sched-rounds*) selection="$2" ;; esac
    HORUS_BENCH_ONLY="$selection" valgrind --tool=callgrind \
        --callgrind-out-file=/dev/null "$1" ${3:-} >"$log" 2>&1 || {
        cat "$log" >&2; rm -f "$log"; return 1
    }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log"
    rm -f "$log"
}

printf "| %-20s | %-34s | %18s |\n" "rev" "loop" "instructions / hop or round"
printf "|%s|%s|%s|\n" "----------------------" "------------------------------------" "-------------------:"
for rev in "${revs[@]}"; do
    bin=$(build "$rev")
    for kind in "${kinds[@]}"; do
        short=$(count "$bin" "$kind" --quick)
        long=$(count "$bin" "$kind")
        printf "| %-20s | %-34s | %18.1f |\n" "$rev" "$kind" \
            "$(awk -v l="$long" -v s="$short" 'BEGIN { print (l - s) / 3000000 }')"
    done
done
