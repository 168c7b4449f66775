#!/usr/bin/env bash
# The main job: the seed's sensor -> odometry pipeline as two processes that
# share the topic `wheel.encoders` through /dev/shm.
#
#   ci/pipeline.sh            run for 5 seconds, then stop both (SIGTERM)
#   DURATION=0 ci/pipeline.sh run until Ctrl+C
#
# Fails unless both programs stopped cleanly when asked (their schedulers
# turn SIGTERM into a clean shutdown, exit 0) and odometry printed deltas it
# computed from the sensor's messages. Installs nothing beyond Rust (present
# on every machine of this project).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-5}
export HORUS_NAMESPACE=${HORUS_NAMESPACE:-pipeline_$$}

cargo build --quiet --release -p horus-examples --bins
# Honour CARGO_TARGET_DIR (relative to the repository root, as cargo takes it).
bin=${CARGO_TARGET_DIR:-target}/release
log=$(mktemp)

"$bin/odometry" > >(tee "$log") &
odom=$!
"$bin/sensor" &
sensor=$!
status=0
stop() {
  kill -TERM "$sensor" "$odom" 2>/dev/null || true
  wait "$sensor" || status=$?
  wait "$odom" || status=$?
}
trap 'stop; exit 130' INT TERM

if [ "$duration" = 0 ]; then
  wait "$odom" "$sensor" || status=$?
else
  sleep "$duration"
  stop
fi
# Both are gone: nothing holds the namespace any more.
rm -rf "${HORUS_SHM_DIR:-/dev/shm}/horus_$HORUS_NAMESPACE"
deltas=$(grep -c '^\[Odom\] delta L=' "$log" || true)
rm -f "$log"
echo "pipeline: ran ${duration}s in namespace $HORUS_NAMESPACE; odometry printed $deltas deltas; exit status $status"
[ "$status" -eq 0 ] || { echo "pipeline: FAILED: a program did not stop cleanly" >&2; exit 1; }
[ "$deltas" -gt 0 ] || { echo "pipeline: FAILED: no odometry deltas: the sensor's messages did not arrive" >&2; exit 1; }
