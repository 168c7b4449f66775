#!/usr/bin/env bash
# The main job: the seed's sensor -> odometry pipeline as two processes that
# share the topic `wheel.encoders` through /dev/shm.
#
#   ci/pipeline.sh            run for 5 seconds, then stop both (SIGTERM)
#   DURATION=0 ci/pipeline.sh run until Ctrl+C
#
# Installs nothing beyond Rust (present on every machine of this project).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-5}
export HORUS_NAMESPACE=${HORUS_NAMESPACE:-pipeline_$$}

cargo build --quiet --release -p horus-examples --bins
bin=target/release

"$bin/odometry" &
odom=$!
"$bin/sensor" &
sensor=$!
stop() { kill -TERM "$sensor" "$odom" 2>/dev/null || true; wait "$sensor" "$odom" 2>/dev/null || true; }
trap 'stop; exit 130' INT TERM

if [ "$duration" = 0 ]; then
  wait
else
  sleep "$duration"
  stop
fi
# Both are gone: nothing holds the namespace any more.
rm -rf "${HORUS_SHM_DIR:-/dev/shm}/horus_$HORUS_NAMESPACE"
echo "pipeline: ran ${duration}s in namespace $HORUS_NAMESPACE"
