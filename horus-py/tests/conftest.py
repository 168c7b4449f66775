"""A private HORUS namespace per test (removed afterwards), where the Rust
programs of the cross-language tests are, and a child-process helper."""

import itertools
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_SERIAL = itertools.count()


def shm_base() -> Path:
    return Path(os.environ.get("HORUS_SHM_DIR") or "/dev/shm")


@pytest.fixture
def ns(monkeypatch, request):
    """A fresh namespace, also set as HORUS_NAMESPACE for this test."""
    safe = "".join(c for c in request.node.name if c.isalnum())[:24]
    name = f"py{os.getpid()}_{next(_SERIAL)}_{safe}"
    monkeypatch.setenv("HORUS_NAMESPACE", name)
    yield name
    shutil.rmtree(shm_base() / f"horus_{name}", ignore_errors=True)


def rust_bin(name: str) -> Path:
    """A binary of the workspace (HORUS_BIN_DIR, default target/debug)."""
    d = Path(os.environ.get("HORUS_BIN_DIR") or REPO / "target" / "debug")
    p = d / name
    if not p.exists():
        pytest.fail(f"{p} is missing: build it with `cargo build -p horus-examples -p horus-cli` "
                    "(ci/python.sh does)")
    return p


def block_mappings(ns: str):
    """``(start, end, path, file offset)`` of every mapping of this process
    onto a pool segment file of namespace ``ns`` (from /proc/self/maps)."""
    marker = f"/horus_{ns}/"
    out = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and marker in parts[5] and ".pool." in parts[5]:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                out.append((lo, hi, parts[5], int(parts[2], 16)))
    return out


def pool_file_position(ns: str, arr):
    """``(segment file, byte offset)`` where ``arr``'s elements lie, if they
    lie entirely inside a mapped pool segment of ``ns``; else ``None``."""
    addr = arr.__array_interface__["data"][0]
    for lo, hi, path, offset in block_mappings(ns):
        if lo <= addr and addr + arr.nbytes <= hi:
            return path, offset + addr - lo
    return None


class Proc:
    """A child process whose stdout lines are collected by a thread."""

    def __init__(self, args, **kw):
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, **kw)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, pred, timeout=15.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                if self.p.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if pred(line):
                return line
        pytest.fail(f"no expected line from {self.p.args}; output so far: {self.seen[-20:]}")

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()


def wait_for(pred, timeout=15.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def receive_all_counted(t, peer, seq_of):
    """Receives on ``t`` until ``received + dropped`` reaches the count the
    Rust ``peer`` prints (``published P ...``); ``seq_of(msg)`` checks each
    message and returns its number. Checks the accounting and that the
    numbers rise without repeats; returns them."""
    published, seqs = None, []
    while published is None or t.received_count() + t.dropped_count() < published:
        msg = t.recv()
        if msg is not None:
            seqs.append(seq_of(msg))
            continue
        if published is None and not peer.lines.empty():
            line = peer.lines.get()
            peer.seen.append(line)
            if line.startswith("published "):
                published = int(line.split()[1])
        assert peer.p.poll() is None, peer.seen
    assert published == t.published_count() and published > 0
    assert len(seqs) == t.received_count() > 0
    assert t.received_count() + t.dropped_count() == published
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    return seqs


def release(peer):
    """Closes a publishing peer's stdin (it exits) and checks it exited 0."""
    peer.p.stdin.close()
    assert peer.p.wait(timeout=30) == 0, peer.seen


def receiver(program, n):
    """The Rust ``program`` receiving ``n`` messages, once subscribed."""
    peer = Proc([rust_bin(program), "receive", str(n)])
    peer.wait_line(lambda l: l == "ready")
    return peer


def assert_peer_received_all(peer, n):
    """The Rust ``peer`` (``receive n``) got every message right and counted
    ``received + dropped == n`` exactly, and exited 0."""
    line = peer.wait_line(lambda l: l.startswith("received "), timeout=60)
    received, dropped, bad = (int(x) for x in line.split()[1::2])
    assert bad == 0 and received + dropped == n and received > 0, line
    assert peer.p.wait(timeout=30) == 0, peer.seen


def dlpack_of_received(msg):
    """``np.from_dlpack`` of a received (read-only) message. numpy >= 2.1
    asks for DLPack 1.0, which marks the tensor read-only; older numpy asks
    for the legacy form, which cannot, and horus refuses it for a block other
    readers share (``BufferError`` naming ``max_version``, as numpy refuses
    its own read-only arrays): ``None`` then."""
    import numpy as np

    versioned = tuple(int(p) for p in np.__version__.split(".")[:2]) >= (2, 1)
    if versioned:
        return np.from_dlpack(msg)
    with pytest.raises(BufferError, match=r"max_version=\(1, 0\)"):
        np.from_dlpack(msg)
    return None
