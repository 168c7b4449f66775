#!/usr/bin/env bash
# The monitor's web UI in a real browser (headless Chromium, from Debian's
# packages): runs the seed's pipeline (examples/: sensor -> wheel.encoders
# -> odometry -> odom) plus `horus topic echo odom` in a namespace of its
# own, serves `horus monitor --port 0`, lets the page poll, and checks that
# the DOM's topic graph has the processes, nodes, topics and edges, with
# rates. Keeps a screenshot: target/artifacts/monitor.png (CI artifact).
#
#   ci/browser.sh        (also run by ci/test.sh as the step `browser`)
#
# Every process it starts is stopped on exit and the namespace removed.
set -euo pipefail
cd "$(dirname "$0")/.."

. ci/lib.sh # apt_install

apt_install chromium

# Debug builds: the ones `cargo test` (the step before) already made.
cargo build --locked --quiet -p horus-cli -p horus-examples --bins
target=${CARGO_TARGET_DIR:-target}
bin=$target/debug
artifacts=$target/artifacts
mkdir -p "$artifacts"
export HORUS_NAMESPACE=browser_$$
tmp=$(mktemp -d)
started=()

cleanup() {
  local p
  for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${started[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "${HORUS_SHM_DIR:-/dev/shm}/horus_$HORUS_NAMESPACE" "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "browser: FAILED: $*" >&2
  for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2 || true; done
  exit 1
}

# wait_for SECS WHAT COMMAND...: polls COMMAND (every 0.1 s) until it succeeds.
wait_for() {
  local secs=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "no $what within ${secs}s"
    sleep 0.1
  done
}

"$bin/sensor" >"$tmp/sensor.log" 2>&1 &
started+=($!)
"$bin/odometry" >"$tmp/odometry.log" 2>&1 &
started+=($!)
"$bin/horus" monitor --port 0 >"$tmp/monitor.log" 2>&1 &
started+=($!)

port_of_monitor() { grep -o 'http://localhost:[0-9]*' "$tmp/monitor.log" | head -1 | cut -d: -f3; }
has_port() { [ -n "$(port_of_monitor)" ]; }
wait_for 60 "monitor URL" has_port
port=$(port_of_monitor)
url="http://localhost:$port/"
snapshot() { curl -sf --max-time 10 "${url}api/snapshot"; }

# odometry opens `odom` (the seed's program never publishes on it: a
# `holds` edge); then a subscriber without a scheduler joins (a process
# with no nodes).
has_odom() { grep -q '"name":"odom"' <<<"$(snapshot)"; }
wait_for 60 "topic odom" has_odom
"$bin/horus" topic echo odom >/dev/null 2>"$tmp/echo.log" &
started+=($!)
has_all() {
  local s
  s=$(snapshot) || return 1
  grep -q '"subscribes"' <<<"$s" && grep -q '"topic":"odom","role":"subscribes"' <<<"$s" &&
    grep -q '"rate_hz":[1-9]' <<<"$s"
}
# The rates need two samples half a second apart: wait for them server-side.
wait_for 60 "graph with rates in /api/snapshot" has_all

chrome=(chromium --headless --disable-gpu --no-sandbox --disable-dev-shm-usage
  --user-data-dir="$tmp/profile" --virtual-time-budget=5000)
timeout 120 "${chrome[@]}" --dump-dom "$url" >"$tmp/dom.html" 2>"$tmp/chromium.log" ||
  fail "chromium --dump-dom"
for want in 'data-node="Encoder"' 'data-node="Odometry"' 'data-topic="wheel.encoders"' \
  'data-topic="odom"' 'data-from="t:wheel.encoders"' 'data-to="t:odom"' 'data-edge="holds"' \
  'data-from="t:odom"' '>horus · pid '; do
  grep -qF "$want" "$tmp/dom.html" || fail "the page's graph has no $want"
done
grep -qE '<text class="rate"[^>]*>[0-9.]+/s<' "$tmp/dom.html" || fail "no rate on an edge"
edges=$(grep -oE '<path class="edge( idle)?"' "$tmp/dom.html" | wc -l)
[ "$edges" -eq 4 ] || fail "expected 4 edges (sensor->wheel.encoders->odometry-odom->horus), got $edges: $(grep -o "<path class=\"edge[^>]*>" "$tmp/dom.html")"

# The detail of a node and of a topic, selected through the URL's fragment
# (as a click does).
odometry=${started[1]}
timeout 120 "${chrome[@]}" --dump-dom "$url#n:$odometry:Odometry" >"$tmp/node.html" 2>>"$tmp/chromium.log" ||
  fail "chromium --dump-dom (node)"
for want in '<h3>node Odometry</h3>' 'deadline misses' 'wheel.encoders <small>'; do
  grep -qF "$want" "$tmp/node.html" || fail "the node's detail has no $want"
done

# A fragment that is not valid percent-encoding selects nothing; the page
# is drawn all the same (it stopped at its first line).
timeout 120 "${chrome[@]}" --dump-dom "$url#%E0%A4%A" >"$tmp/badhash.html" 2>>"$tmp/chromium.log" ||
  fail "chromium --dump-dom (malformed fragment)"
for want in 'data-node="Odometry"' '<td>Encoder</td>'; do
  grep -qF "$want" "$tmp/badhash.html" || fail "with a malformed fragment, the page has no $want"
done

# The page against a made-up snapshot (its fetch replaced): two nodes of
# one process publishing on one topic are one arrow (the snapshot has an
# edge per node); a node whose rates are null (JSON for NaN) is still a
# row; a pooled topic's detail shows its pool.
cat >"$tmp/stub.js" <<'STUB'
<script>
const SNAP = {namespace: "stub", estop: null, anomalies: 0, overwritten: 0,
  nodes: [{name: "CamA", pid: 7, state: "Running", order: 0, rate_hz: null, measured_hz: null, ticks: 1,
      deadline_misses: 0, overruns: 0, cpu_ns: 0, cpu_percent: null, rss_bytes: 0, alive: true},
    {name: "CamB", pid: 7, state: "Running", order: 1, rate_hz: 30, measured_hz: 29.9, ticks: 1,
      deadline_misses: 0, overruns: 0, cpu_ns: 0, cpu_percent: 1.5, rss_bytes: 0, alive: true}],
  topics: [{name: "cam", type: "Image", type_id: "0x1", message_size: 48, published: 5, publishers: [7],
    subscribers: [], holders: [], capacity: 4, fields: [],
    pool: [{pid: 7, publisher_alive: true, segment: 0, block_size: 921600, blocks: 8, in_use: 1,
      published: 1, loans_failed: 0, path: "/dev/shm/x"}]}],
  graph: {processes: [{pid: 7, command: "cam", alive: true, nodes: ["CamA", "CamB"]}],
    topics: [{name: "cam", type: "Image", published: 5, rate_hz: 30}],
    edges: [{pid: 7, node: "CamA", topic: "cam", role: "publishes", rate_hz: 30},
      {pid: 7, node: "CamB", topic: "cam", role: "publishes", rate_hz: 30}]}};
window.fetch = async () => ({ok: true, json: async () => SNAP});
</script>
STUB
curl -sf --max-time 10 "$url" | sed "/<head>/r $tmp/stub.js" >"$tmp/stub.html" || fail "no page at $url"
timeout 120 "${chrome[@]}" --allow-file-access-from-files --dump-dom "file://$tmp/stub.html#t:cam" \
  >"$tmp/stub.dom.html" 2>>"$tmp/chromium.log" || fail "chromium --dump-dom (made-up snapshot)"
stub_edges=$(grep -oE '<path class="edge( idle)?"' "$tmp/stub.dom.html" | wc -l)
[ "$stub_edges" -eq 1 ] || fail "two nodes' edges of one process and topic: expected 1 arrow, got $stub_edges"
for want in '<td>CamA</td>' '<td>CamB</td>' '8 blocks of 921600 bytes' 'publishes cam by CamA, CamB' \
  'a descriptor of a pool block'; do
  grep -qF "$want" "$tmp/stub.dom.html" || fail "the page of the made-up snapshot has no $want"
done

# Names are anyone's to choose (any process of the user writes shared
# memory): markup in every name of a made-up snapshot is shown as text,
# never made into elements (an <img> whose onerror would mark the body).
cat >"$tmp/markup.js" <<'STUB'
<script>
const M = (what) => `<img src=x onerror="document.body.setAttribute('data-pwned','${what}')">`;
const N = M("node"), T = M("topic");
const SNAP = {namespace: M("namespace"), estop: M("estop") + "r\u202eevo", anomalies: 0, overwritten: 0,
  nodes: [{name: N, pid: 7, state: "Running", order: 0, rate_hz: 1, measured_hz: 1, ticks: 1,
    deadline_misses: 0, overruns: 0, cpu_ns: 0, cpu_percent: null, rss_bytes: 0, alive: true}],
  topics: [{name: T, type: M("type"), type_id: "0x1", message_size: 8, published: 1, publishers: [7],
      subscribers: [], holders: [], capacity: 4, fields: [{name: M("field") + "\u2067ab\u2069", kind: M("kind"), shape: [2]}]},
    {name: M("unreadable"), error: M("error")}],
  graph: {processes: [{pid: 7, command: M("command"), alive: true, nodes: [N]}],
    topics: [{name: T, type: M("type"), published: 1, rate_hz: 1}],
    edges: [{pid: 7, node: N, topic: T, role: "publishes", rate_hz: 1}]}};
window.fetch = async () => ({ok: true, json: async () => SNAP});
// `?t` selects the topic, `?n` the node (the page reads the fragment).
history.replaceState(null, "", "#" + encodeURIComponent(location.search === "?n" ? "n:7:" + N : "t:" + T));
</script>
STUB
curl -sf --max-time 10 "$url" | sed "/<head>/r $tmp/markup.js" >"$tmp/markup.html" || fail "no page at $url"
for which in t n; do
  timeout 120 "${chrome[@]}" --allow-file-access-from-files --dump-dom "file://$tmp/markup.html?$which" \
    >"$tmp/markup.dom.html" 2>>"$tmp/chromium.log" || fail "chromium --dump-dom (markup in names)"
  ! grep -qF 'data-pwned="' "$tmp/markup.dom.html" ||
    fail "markup in a name became an element: $(grep -oE 'data-pwned="[^"]*"' "$tmp/markup.dom.html")"
  # ... and a character that reverses what follows it, as its escape.
  for want in '<td>&lt;img src=x onerror=' '<h3>' 'ENGAGED: &lt;img' 'data-from="p:7"' 'r\u{202e}evo'; do
    grep -qF "$want" "$tmp/markup.dom.html" || fail "the page with markup in names (?$which) has no $want"
  done
  [ "$which" = n ] || grep -qF '\u{2067}ab\u{2069}' "$tmp/markup.dom.html" ||
    fail "the page shows a field name's direction isolates raw, not as escapes"
done

rm -f "$artifacts/monitor.png"
timeout 120 "${chrome[@]}" --window-size=1280,800 --screenshot="$artifacts/monitor.png" \
  "$url#t:wheel.encoders" \
  >>"$tmp/chromium.log" 2>&1 || fail "chromium --screenshot"
[ -s "$artifacts/monitor.png" ] || fail "no screenshot"
echo "browser: the monitor's graph shows 3 processes, 2 nodes, 2 topics, $edges edges; screenshot $artifacts/monitor.png"
