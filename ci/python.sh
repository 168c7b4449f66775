#!/usr/bin/env bash
# The Python bindings (horus-py): build the wheel with maturin into a virtual
# environment, run the pytest suite (its summary line is the last line of
# pytest's output; "no tests ran" fails the step), then `horus run` with a
# .py file and a mixed .rs + .py run.
#
#   bash ci/python.sh
#
# Idempotent installs: the venv (target/python-venv) and its tools are made
# once; the wheel is rebuilt by maturin (incremental cargo build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/target/python-venv
PY=$VENV/bin/python

if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV" || { apt_install python3-venv && python3 -m venv "$VENV"; }
fi
"$PY" -m pip install --quiet --disable-pip-version-check "maturin>=1.7,<2" pytest

echo "--- maturin build (abi3 wheel) and install"
rm -rf target/python-wheels
"$VENV/bin/maturin" build --quiet -m horus-py/Cargo.toml --interpreter "$PY" --out target/python-wheels
"$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/python-wheels/*.whl

echo "--- Rust programs the cross-language tests run"
cargo build --locked --quiet -p horus-examples -p horus-cli

echo "--- pytest"
# Exit 5 (no tests collected) is non-zero: the step fails.
(cd horus-py && HORUS_BIN_DIR="$ROOT/target/debug" "$PY" -m pytest -ra -p no:cacheprovider tests)

echo "--- horus run: a .py file and a mixed .rs + .py run (HORUS_PYTHON = the venv)"
NS=ci_py_$$
out=$(mktemp)
trap 'rm -f "$out"; rm -rf "/dev/shm/horus_$NS"' EXIT
HORUS_PYTHON=$PY HORUS_NAMESPACE=$NS timeout 120 target/debug/horus run --quiet --grace 5 \
  examples/sensor.rs examples/odometry.py >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^\[odometry\] \[Odom py\] delta L=10 R=10' "$out" && break
  sleep 0.1
done
kill -INT "$pid" 2>/dev/null || true
wait "$pid" && rc=0 || rc=$?
if ! grep -q '^\[odometry\] \[Odom py\] delta L=10 R=10' "$out" || [ "$rc" -ne 0 ]; then
  echo "horus run sensor.rs odometry.py: exit $rc, no Python odometry line; output:"
  tail -n 30 "$out"
  exit 1
fi
echo "horus run examples/sensor.rs examples/odometry.py: the Python node received the Rust sensor (exit $rc)"

echo "--- horus launch with a .py node (examples/launch_py.yaml)"
HORUS_PYTHON=$PY HORUS_NAMESPACE=$NS timeout 120 target/debug/horus launch --grace 5 \
  examples/launch_py.yaml >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^\[odometry\] \[Odom py\] delta' "$out" && break
  sleep 0.1
done
kill -INT "$pid" 2>/dev/null || true
wait "$pid" && rc=0 || rc=$?
if ! grep -q '^\[odometry\] \[Odom py\] delta' "$out" || [ "$rc" -ne 0 ]; then
  echo "horus launch examples/launch_py.yaml: exit $rc, no Python odometry line; output:"
  tail -n 30 "$out"
  exit 1
fi
echo "horus launch examples/launch_py.yaml: the Python node ran under launch (exit $rc)"

echo "--- horus run x.py with no HORUS_PYTHON: builds the module into the cache's venv (once), runs it"
cache=$ROOT/target/python-zero-setup-cache   # kept between runs: rebuilt only when the sources change
script=$(mktemp --suffix=.py)
trap 'rm -f "$out" "$script"; rm -rf "/dev/shm/horus_$NS"' EXIT
printf 'import horus\nt = horus.Topic("ci.zero", horus.CmdVel)\nt.send(horus.CmdVel(linear=2.5))\nprint("zero-setup", t.recv().linear)\n' >"$script"
env -u HORUS_PYTHON HORUS_CACHE_DIR="$cache" HORUS_NAMESPACE=$NS timeout 600 \
  target/debug/horus run "$script" >"$out" 2>&1 || { tail -n 30 "$out"; exit 1; }
grep -q '^zero-setup 2.5$' "$out" || { tail -n 30 "$out"; exit 1; }
grep 'horus: building the Python module' "$out" || echo "(module already built for these sources)"
echo "horus run x.py without set-up: ok"
