"""Python and Rust processes on the same topics (the seed's examples/sensor.rs
and odometry.rs), and Python nodes seen by the `horus` CLI like Rust ones."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import horus
from horus import HorusError, Topic

from conftest import Proc, rust_bin, shm_base, wait_for

WheelEncoder = horus.message("WheelEncoder", left_ticks="i64", right_ticks="i64",
                             timestamp_ns="u64")


def test_rust_publisher_to_python_subscriber(ns):
    sensor = Proc([rust_bin("sensor")])
    try:
        wait_for(lambda: (shm_base() / f"horus_{ns}" / "wheel.encoders.topic").exists(),
                 what="the sensor's topic")
        t = Topic("wheel.encoders", WheelEncoder)  # identical type id: joins
        got = []
        end = time.monotonic() + 15
        while len(got) < 5 and time.monotonic() < end:
            m = t.recv()
            if m is None:
                time.sleep(0.005)
            else:
                got.append(m)
        assert len(got) == 5, "the Rust sensor's messages did not arrive"
        for m in got:
            assert m.left_ticks % 10 == 0 and m.right_ticks == m.left_ticks + 2
            assert 0 < m.timestamp_ns <= horus.now_ns()
        lefts = [m.left_ticks for m in got]
        assert lefts == sorted(lefts)
        if t.dropped_count() == 0:
            assert all(b - a == 10 for a, b in zip(lefts, lefts[1:]))
    finally:
        assert sensor.stop() == 0  # SIGTERM: its scheduler shuts down cleanly


def test_python_publisher_to_rust_subscriber(ns):
    odom = Proc([rust_bin("odometry")])
    try:
        wait_for(lambda: (shm_base() / f"horus_{ns}" / "wheel.encoders.topic").exists(),
                 what="the odometry's topic")
        t = Topic("wheel.encoders", WheelEncoder)
        stop = threading.Event()

        def publish():
            k = 0
            while not stop.is_set():
                k += 1
                t.send(WheelEncoder(left_ticks=100 * k, right_ticks=100 * k + 7,
                                    timestamp_ns=horus.now_ns()))
                time.sleep(0.01)

        th = threading.Thread(target=publish)
        th.start()
        try:
            odom.wait_line(lambda l: l == "[Odom] delta L=100 R=100")
        finally:
            stop.set()
            th.join()
    finally:
        assert odom.stop() == 0


def test_another_definition_than_the_rust_program_is_refused(ns):
    sensor = Proc([rust_bin("sensor")])
    try:
        wait_for(lambda: (shm_base() / f"horus_{ns}" / "wheel.encoders.topic").exists(),
                 what="the sensor's topic")
        time.sleep(0.1)
        wrong = horus.message("WheelEncoder", left_ticks="i32", right_ticks="i32",
                              timestamp_ns="u64")
        with pytest.raises(HorusError, match="two different definitions"):
            Topic("wheel.encoders", wrong)
    finally:
        sensor.stop()


NODE_SCRIPT = textwrap.dedent("""
    import sys, horus
    def tick(node):
        node.send("py.beat", horus.Heartbeat(sequence=1))
    def shutdown(node):
        print("shutdown ran", flush=True)
    sched = horus.Scheduler(tick_rate=50)
    sched.add(horus.Node(name="py_worker", tick=tick, pubs=["py.beat"], shutdown=shutdown))
    print("running", flush=True)
    sched.run()
    print("run returned", flush=True)
""")


def _node_list(ns):
    out = subprocess.run([rust_bin("horus"), "node", "list", "--json", "--namespace", ns],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _node(ns, name):
    for n in _node_list(ns):
        if n.get("name") == name:
            return n
    return None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_python_node_in_the_registry_estop_and_signals(ns, sig):
    child = Proc([sys.executable, "-c", NODE_SCRIPT], env=dict(os.environ))
    try:
        child.wait_line(lambda l: l == "running")
        node = wait_for(lambda: _node(ns, "py_worker"), what="py_worker in `horus node list`")
        assert node["pid"] == child.p.pid
        beat = Topic("py.beat", horus.Heartbeat)
        wait_for(lambda: beat.recv() is not None, what="the node's heartbeats")
        if sig == signal.SIGTERM:
            # The e-stop holds Python nodes too: no more messages while raised.
            horus_cli = str(rust_bin("horus"))
            subprocess.run([horus_cli, "estop", "--raise", "--namespace", ns], check=True,
                           capture_output=True, timeout=30)
            # Held once the registry says so (reported in the pass that
            # holds it): every heartbeat after the drain would be a tick
            # under the e-stop.
            wait_for(lambda: (_node(ns, "py_worker") or {}).get("state") == "Stopped",
                     what="py_worker held (Stopped) in `horus node list`")
            while beat.recv() is not None:
                pass
            time.sleep(0.3)
            assert beat.recv() is None, "a Python node ticked under the e-stop"
            subprocess.run([horus_cli, "estop", "--clear", "--namespace", ns], check=True,
                           capture_output=True, timeout=30)
            wait_for(lambda: beat.recv() is not None, what="ticks after clearing the e-stop")
    finally:
        code = child.stop(sig)
    child.wait_line(lambda l: l == "run returned")
    assert "shutdown ran" in child.seen
    assert code == 0, child.seen


BLACKBOX_SCRIPT = textwrap.dedent("""
    import time, horus
    def slow(node):
        time.sleep(0.03)
    def bad(node):
        raise RuntimeError("sensor unplugged")
    horus.run(horus.Node(name="slow_py", tick=slow, rate=50, budget=0.005),
              horus.Node(name="bad_py", tick=bad, on_error="skip"), duration=0.3)
""")


def test_overruns_and_exceptions_of_python_nodes_reach_the_blackbox(ns):
    done = subprocess.run([sys.executable, "-c", BLACKBOX_SCRIPT], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "RuntimeError: sensor unplugged" in done.stderr  # the traceback
    out = subprocess.run([rust_bin("horus"), "bb", "--anomalies", "--json", "--namespace", ns],
                         capture_output=True, text=True, timeout=30)
    records = json.loads(out.stdout)["records"]
    kinds = {(r["node"], r["kind"]) for r in records}
    assert ("slow_py", "budget_overrun") in kinds, records
    panics = [r for r in records if (r["node"], r["kind"]) == ("bad_py", "node_panic")]
    assert panics and "RuntimeError: sensor unplugged" in panics[0]["detail"], panics
