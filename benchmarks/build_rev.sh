# Sourced by compare.sh and instructions.sh: builds the benchmark program of
# one commit outside the work tree.
#
# build_rev ROOT OUT REV: exports commit REV of the repository at ROOT with
# `git archive` into OUT/src-<sha> (no worktree is registered), builds its
# benchmark program in release into the shared OUT/target (`cargo -j 2`, with
# the caller's RUSTFLAGS) and keeps it as OUT/bin-<sha>, which a later call
# reuses; prints that path.
build_rev() {
    local root="$1" out="$2" rev="$3" sha src bin
    sha="$(git -C "$root" rev-parse --short=12 "$rev^{commit}")"
    src="$out/src-$sha"
    bin="$out/bin-$sha"
    if [ ! -x "$bin" ]; then
        if [ ! -d "$src" ]; then
            mkdir -p "$src.tmp"
            git -C "$root" archive "$sha" | tar -x -C "$src.tmp"
            mv "$src.tmp" "$src"
        fi
        echo "building $rev ($sha)" >&2
        # Cargo names a workspace crate's artifacts by its path relative to the
        # workspace, so both commits share them in the shared target directory,
        # and `git archive` dates the files at their commit: make this tree the
        # newest, or cargo would take the other commit's artifacts as fresh.
        find "$src" -type f -exec touch {} +
        (cd "$src" && CARGO_TARGET_DIR="$out/target" cargo build --release -j 2 -q -p horus-benchmarks >&2)
        cp "$out/target/release/horus-benchmarks" "$bin"
    fi
    echo "$bin"
}
