#!/usr/bin/env bash
# Old commit against new commit, measured side by side in one session.
#
#   benchmarks/compare.sh [--quick] [--rounds N] [--only ROW]... OLD NEW
#   benchmarks/compare.sh --report SAMPLES.tsv
#
# Builds the benchmark program of each commit (its tree exported with
# `git archive` into target/compare/src-<sha>, built in release into the shared
# target/compare/target, the binary kept as target/compare/bin-<sha>; nothing
# is registered in the repository), then runs the rows both programs have,
# interleaved: for each round, for each row, OLD then NEW (NEW then OLD in
# even rounds; use an even number of rounds). Every run is one
# `HORUS_BENCH_ONLY` invocation (the rows of the main table one by one, the
# copy-against-memcpy rows, the scheduler overhead, and the raw limits where
# a program has them). Prints, per row, the median over the rounds of each
# side's p50 and p99 (ns), NEW/OLD, and the spread (min-max) of the p50s
# (a copy row gives three: HORUS ns per message, memcpy ns, and their
# bandwidth ratio of that run in the p50 column), and "paired": the median
# over the rounds of each round's NEW/OLD, which a host that changes regime
# between rounds moves less; every run's figures are kept in
# target/compare/samples-<date>.tsv (after '#' header lines naming the two
# commits, the date and the rounds; the benchmark program's RESULTS.md judges
# "nothing slower than today" from the newest such file). `--report FILE` prints the report of
# such a file again (nothing is built or run).
#
# --quick passes --quick to the programs (fewer samples per run; default 4
# rounds instead of 6). --only ROW (repeatable) runs only those selections
# (e.g. `--only pooled --only pooled-hop`: the large-message section, whose
# rows are then compared one by one, and its same-thread hop loop). Builds
# use `cargo -j 2`.
set -euo pipefail

quick=""
rounds=""
only=()
args=()
report_only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick="--quick" ;;
        --rounds) rounds="$2"; shift ;;
        --only) only+=("$2"); shift ;;
        --report) report_only="$2"; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) args+=("$1") ;;
    esac
    shift
done
# The report of a samples file $1 (lines "side<TAB>row<TAB>p50<TAB>p99"):
# per row the medians over the rounds, their ratio, and "paired": the median
# over the rounds of each round's NEW/OLD (the two runs of a round are back
# to back, so a host that changes regime between rounds moves both).
report() {
    awk -F'\t' '
        function median(list,    n, a, i, j, t) {
            n = split(list, a, " ")
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            if (n == 0) return ""
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        function spread(list,    n, a, i, lo, hi) {
            n = split(list, a, " "); lo = a[1]; hi = a[1]
            for (i = 2; i <= n; i++) { if (a[i] + 0 < lo + 0) lo = a[i]; if (a[i] + 0 > hi + 0) hi = a[i] }
            return lo "-" hi
        }
        /^#/ { next }
        {
            if (!($2 in seen)) { seen[$2] = 1; order[++rows] = $2 }
            p50[$1, $2] = p50[$1, $2] " " $3
            # The i-th run of a side pairs with the i-th of the other: one round,
            # back to back.
            at[$1, $2, ++runs[$1, $2]] = $3
            if ($4 != "-") p99[$1, $2] = p99[$1, $2] " " $4
            if ($2 ~ /^limit: /) limit[$2] = limit[$2] " " $3 # the same code on both sides
        }
        END {
            printf "| %-34s | %9s | %9s | %7s | %8s | %9s | %9s | %7s | %-15s | %-15s |\n", "row", "old p50", "new p50", "new/old", "paired", "old p99", "new p99", "new/old", "old p50 spread", "new p50 spread"
            printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------------------", "----------:", "----------:", "--------:", "---------:", "----------:", "----------:", "--------:", "-----------------", "-----------------"
            for (k = 1; k <= rows; k++) {
                r = order[k]
                o = median(p50["old", r]); n = median(p50["new", r])
                o9 = median(p99["old", r]); n9 = median(p99["new", r])
                ratio = (o != "" && n != "" && o + 0 > 0) ? sprintf("%.2fx", n / o) : "-"
                ratio9 = (o9 != "" && n9 != "" && o9 + 0 > 0) ? sprintf("%.2fx", n9 / o9) : "-"
                pairs = ""
                for (i = 1; i <= runs["old", r] && i <= runs["new", r]; i++)
                    if (at["old", r, i] + 0 > 0) pairs = pairs " " (at["new", r, i] / at["old", r, i])
                paired = (pairs == "") ? "-" : sprintf("%.2fx", median(pairs))
                printf "| %-34s | %9s | %9s | %7s | %8s | %9s | %9s | %7s | %-15s | %-15s |\n", r, (o == "" ? "-" : o), (n == "" ? "-" : n), ratio, paired, (o9 == "" ? "-" : o9), (n9 == "" ? "-" : n9), ratio9, (o == "" ? "-" : spread(p50["old", r])), (n == "" ? "-" : spread(p50["new", r]))
            }
            # The 1:1 rows against the raw limits of the same session (medians).
            split("cross-process 1:1|processes|same process 1:1|threads", pair, "|")
            for (k = 1; k <= 3; k += 2) {
                r = pair[k]
                for (l = 1; l <= 2; l++) {
                    lim = (l == 1 ? "limit: raw ping-pong, " : "limit: raw seqlock 64 B, ") pair[k + 1]
                    if (!(lim in limit)) continue
                    m = median(limit[lim]); o = median(p50["old", r]); n = median(p50["new", r])
                    if (m + 0 <= 0 || o == "" || n == "") continue
                    printf "%s p50 / %s p50 (%s ns): old %.2fx, new %.2fx\n", r, lim, m, o / m, n / m
                }
            }
        }' "$1"
}

if [ -n "$report_only" ]; then
    if [ ! -f "$report_only" ]; then
        echo "compare.sh: --report $report_only: no such file (give a samples-*.tsv of target/compare)" >&2
        exit 2
    fi
    report "$report_only"
    exit 0
fi
if [ "${#args[@]}" -ne 2 ]; then
    echo "usage: benchmarks/compare.sh [--quick] [--rounds N] [--only ROW]... OLD NEW" >&2
    exit 2
fi
rounds="${rounds:-$([ -n "$quick" ] && echo 4 || echo 6)}"
root="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
out="$root/target/compare"
mkdir -p "$out"

# shellcheck source=build_rev.sh
. "$root/benchmarks/build_rev.sh"

old_bin="$(build_rev "$root" "$out" "${args[0]}")"
new_bin="$(build_rev "$root" "$out" "${args[1]}")"

# The rows: the main table's names (as both programs spell them), then the
# special selections.
rows=(
    "same thread" "same process 1:1" "same process 1:N" "same process N:1" "same process N:N"
    "cross-process 1:1" "cross-process 1:N" "cross-process N:1" "cross-process N:N"
    limits copy sched
)
# Not in the default set (a few minutes each): the large-message section and
# its same-thread hop loop, by --only.
if [ "${#only[@]}" -gt 0 ]; then
    rows=("${only[@]}")
fi

# One run of selection $2 by binary $1, as lines "row<TAB>p50<TAB>p99".
measure() {
    HORUS_BENCH_ONLY="$2" "$1" $quick 2>&1 | awk '
        !/^\|/ && / p50 .* p99 .* p99\.9 / {
            name = $0; sub(/^ +/, "", name); sub(/ +p50 .*/, "", name)
            for (i = 1; i < NF; i++) { if ($i == "p50") p50 = $(i + 1); if ($i == "p99") p99 = $(i + 1) }
            printf "%s\t%s\t%s\n", name, p50, p99
        }
        /^SchedRow/ {
            n = $0; sub(/.*nodes: /, "", n); sub(/,.*/, "", n)
            s = $0; sub(/.* std /, "", s)
            printf "scheduler std ns/node, %s nodes\t%s\t-\n", n, s
        }
        /^same-thread hop loop, / {
            n = $0; sub(/^same-thread hop loop, /, "", n); sub(/: [0-9.]+ ns\/hop.*/, "", n)
            v = $0; sub(/.*: /, "", v); sub(/ ns\/hop.*/, "", v)
            printf "hop loop %s, ns/hop\t%s\t-\n", n, v
        }
        /^copy [0-9]+ B:/ {
            h = $0; sub(/.*HORUS /, "", h); sub(/ ns.*/, "", h)
            m = $0; sub(/.*memcpy /, "", m); sub(/ ns.*/, "", m)
            x = $0; sub(/.*= /, "", x); sub(/x of memcpy.*/, "", x)
            printf "copy %s B, HORUS ns/message\t%s\t-\n", $2, h
            printf "copy %s B, memcpy ns/2 copies\t%s\t-\n", $2, m
            printf "copy %s B, HORUS/memcpy bandwidth\t%s\t-\n", $2, x
        }'
}

samples="$out/samples-$(date +%Y%m%d-%H%M%S).tsv"
# Header lines (skipped by the report): what was compared, when, how; the
# benchmark program's "nothing slower" target reads them.
{
    printf '# old\t%s\t%s\n' "${args[0]}" "$(git -C "$root" rev-parse --short "${args[0]}")"
    printf '# new\t%s\t%s\n' "${args[1]}" "$(git -C "$root" rev-parse --short "${args[1]}")"
    printf '# date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf '# rounds\t%s%s\n' "$rounds" "${quick:+ --quick}"
} >"$samples"
# A program older than its own cleanup of the `sched` selection leaves its
# namespace (bench<pid>) behind: remove those this session's dead runs left.
shm="${HORUS_SHM_DIR:-/dev/shm}"
before="$(ls -d "$shm"/horus_bench* 2>/dev/null || true)"
remove_left_namespaces() {
    local d pid
    for d in "$shm"/horus_bench*; do
        [ -d "$d" ] || continue
        grep -qxF "$d" <<<"$before" && continue
        pid="${d##*horus_bench}"
        kill -0 "$pid" 2>/dev/null || rm -rf "$d"
    done
}
trap remove_left_namespaces EXIT
echo "old: ${args[0]} ($old_bin)" >&2
echo "new: ${args[1]} ($new_bin)" >&2
for r in $(seq 1 "$rounds"); do
    for row in "${rows[@]}"; do
        echo "round $r/$rounds: $row" >&2
        # Odd rounds OLD first, even rounds NEW first: the second of two
        # back-to-back runs is measured differently (by several percent, and
        # up to 1.3x on the copy rows), so a fixed order would bias the ratio.
        if [ $((r % 2)) -eq 1 ]; then
            measure "$old_bin" "$row" | sed 's/^/old\t/' >>"$samples"
            measure "$new_bin" "$row" | sed 's/^/new\t/' >>"$samples"
        else
            measure "$new_bin" "$row" | sed 's/^/new\t/' >>"$samples"
            measure "$old_bin" "$row" | sed 's/^/old\t/' >>"$samples"
        fi
    done
done

echo
echo "old ${args[0]}, new ${args[1]}: $rounds interleaved rounds${quick:+, --quick}; medians over the rounds, ns"
echo
report "$samples"
echo
echo "every run: $samples (side, row, p50, p99)"
