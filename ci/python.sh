#!/usr/bin/env bash
# The Python bindings (horus-py), as users get them: `horus run x.py` with
# nothing installed builds the abi3 wheel with maturin into a virtual
# environment under the horus cache (here target/python-cache, kept between
# runs: rebuilt only when the sources change); then the pytest suite runs
# with that interpreter (pytest's summary line is printed; "no tests ran",
# exit 5, fails the step), then two mixed .rs + .py `horus run`s (the
# sensor/odometry pipeline, the camera/detector pair), a `horus launch`
# with a .py node, `pip install ./horus-py` into a fresh virtual
# environment (for users who manage their own), and the pytest suite
# again there with numpy 1.x.
#
#   bash ci/python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh # apt_install
ROOT=$PWD
export HORUS_CACHE_DIR=$ROOT/target/python-cache
unset HORUS_PYTHON
PY=$HORUS_CACHE_DIR/python/venv/bin/python
# The binaries cargo builds below (it honours CARGO_TARGET_DIR).
BIN=$(realpath -m "${CARGO_TARGET_DIR:-target}")/debug
NS=ci_py_$$
out=$(mktemp)
script=$(mktemp --suffix=.py)
venv=$(mktemp -d)
trap 'rm -f "$out" "$script"; rm -rf "$venv" "/dev/shm/horus_$NS"' EXIT

python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv

echo "--- the horus binary and the Rust programs of the cross-language tests"
cargo build --locked --quiet -p horus-examples -p horus-cli

echo "--- horus run x.py with nothing installed: builds the module (maturin) into the cache's venv, runs it"
printf 'import horus\nt = horus.Topic("ci.zero", horus.CmdVel)\nt.send(horus.CmdVel(linear=2.5))\nprint("zero-setup", t.recv().linear)\n' >"$script"
# With RUST_LOG set, as the seed's `RUST_LOG=debug horus run detector.py`: it
# is the program's, and maturin (which reads it too) must not trace the build.
HORUS_NAMESPACE=$NS RUST_LOG=debug timeout 900 "$BIN/horus" run "$script" >"$out" 2>&1 || { tail -n 40 "$out"; exit 1; }
grep -q '^zero-setup 2.5$' "$out" || { tail -n 40 "$out"; exit 1; }
if grep -m 3 -E 'maturin::|cargo_cyclonedx' "$out"; then
  echo "RUST_LOG reached maturin: its trace is in the output of horus run (above)"
  exit 1
fi
grep 'horus: building the Python module' "$out" || echo "(module already built from these sources)"
echo "horus run x.py without set-up: ok"

echo "--- pytest (with the interpreter horus run built)"
"$PY" -m pip install --quiet --disable-pip-version-check pytest "numpy>=1.22"
(cd horus-py && HORUS_BIN_DIR="$BIN" "$PY" -m pytest -ra -p no:cacheprovider tests)

# run_until_line LINE_REGEX COMMAND...: runs COMMAND in the background until a
# line matches, then Ctrl+C; fails unless the line came and the exit was 0.
run_until_line() {
  local want=$1 pid rc
  shift
  HORUS_NAMESPACE=$NS timeout 300 "$@" >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do
    grep -q "$want" "$out" && break
    sleep 0.1
  done
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" && rc=0 || rc=$?
  if ! grep -q "$want" "$out" || [ "$rc" -ne 0 ]; then
    echo "$*: exit $rc, no line matching '$want'; output:"
    tail -n 30 "$out"
    return 1
  fi
  echo "$*: ok (exit $rc)"
}

echo "--- horus run: a Rust and a Python program together"
run_until_line '^\[odometry\] \[Odom py\] delta L=10 R=10' \
  "$BIN/horus" run --quiet --grace 5 examples/sensor.rs examples/odometry.py

echo "--- horus run: the seed's camera (Rust, 30 FPS Image) and detector.py (numpy over the pool block)"
run_until_line '^\[detector\] frame [0-9]*: square at .*(31 frames, 0 wrong' \
  "$BIN/horus" run --quiet --grace 5 examples/camera.rs examples/detector.py

echo "--- horus launch with a .py node (examples/launch_py.yaml)"
run_until_line '^\[odometry\] \[Odom py\] delta' \
  "$BIN/horus" launch --grace 5 examples/launch_py.yaml

echo "--- pip install ./horus-py into a fresh virtual environment"
python3 -m venv "$venv"
timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./horus-py
printf 'import horus\nt = horus.Topic("ci.pip", horus.CmdVel)\nt.send(horus.CmdVel(angular=0.75))\nprint("pip-installed", t.recv().angular)\n' >"$script"
HORUS_NAMESPACE=$NS "$venv/bin/python" "$script" >"$out" 2>&1 || { tail -n 20 "$out"; exit 1; }
grep -q '^pip-installed 0.75$' "$out" || { tail -n 20 "$out"; exit 1; }
echo "pip install ./horus-py: ok (numpy came with it: $("$venv/bin/python" -c 'import numpy; print(numpy.__version__)'))"

echo "--- numpy 1.x: the pytest suite again in that environment with numpy < 2 (the module calls numpy's C API table, whose ABI differs between 1.x and 2.x)"
if "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: "numpy>=1.22,<2" pytest; then
  (cd horus-py && HORUS_BIN_DIR="$BIN" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests | tail -n 1)
  echo "numpy $("$venv/bin/python" -c 'import numpy; print(numpy.__version__)'): ok"
else
  echo "numpy 1.x has no wheel for $("$venv/bin/python" --version): that leg is not run here"
fi
