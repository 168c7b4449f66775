"""Images between Rust and Python processes (examples/image_peer.rs,
examples/camera.rs + detector.py): every frame's pixels checked, exact
accounting (received + dropped == published), the received arrays over the
publisher's pool segment itself, and a Python process SIGKILLed while
holding an image view leaking no block."""

import collections
import re
import signal
import subprocess
import sys
import textwrap

import numpy as np

import horus
from horus import Image, Topic

from conftest import (REPO, Proc, assert_peer_received_all, pool_file_position,
                      receive_all_counted, receiver, release, rust_bin, wait_for)

GOLDEN = 0x9E3779B97F4A7C15
W, H = 640, 480


def pattern(seq):
    """Frame ``seq``'s pixels (image_peer.rs's pattern), as (H, W, 3) uint8."""
    words = np.arange(W * H * 3 // 8, dtype=np.uint64)
    words ^= np.uint64((seq * GOLDEN) & (2**64 - 1))
    words[0] = seq
    return words.view(np.uint8).reshape(H, W, 3)


def frame_seq_if_intact(arr):
    """The frame's number if its pixels are exactly that frame's pattern."""
    seq = int(arr.reshape(-1)[:8].view("<u8")[0])
    return seq if np.array_equal(arr, pattern(seq)) else None


def test_rust_images_reach_python_intact_exactly_counted_and_in_place(ns):
    t = Topic("camera.rgb", Image)  # joined before the first frame: sees them all
    peer = Proc([rust_bin("image_peer"), "publish", "300"], stdin=subprocess.PIPE)
    try:
        held = collections.deque(maxlen=4)  # some views held a while: blocks stay busy

        def check(img):
            arr = img.to_numpy()
            assert arr.shape == (H, W, 3) and not arr.flags.writeable
            seq = frame_seq_if_intact(arr)
            assert seq is not None, "a torn or wrong frame reached Python"
            where = pool_file_position(ns, arr)
            assert where is not None, "the array is not over the publisher's pool segment"
            held.append(arr)
            return seq

        receive_all_counted(t, peer, check)
    finally:
        release(peer)


def test_python_images_reach_rust_intact_and_exactly_counted(ns):
    n = 200
    peer = receiver("image_peer", n)
    try:
        t = Topic("camera.rgb", Image)
        for seq in range(n):
            if seq % 2:
                img = t.loan(W, H, "rgb8")  # filled in the pool block, sent without copy
                img.to_numpy()[:] = pattern(seq)
                assert img.in_pool
            else:
                img = Image.from_numpy(pattern(seq), encoding="rgb8")
            t.send(img)
        assert t.unsent_count() == 0 and t.published_count() == n
        assert_peer_received_all(peer, n)
    finally:
        peer.stop()


HOLDER = textwrap.dedent("""
    import time, horus
    t = horus.Topic("camera.rgb", horus.Image)
    print("joined", flush=True)
    while (img := t.recv()) is None:
        time.sleep(0.001)
    arr = img.to_numpy()
    del img  # the array alone holds the block
    print("holding", int(arr[0, 0, 0]), flush=True)
    while True:
        time.sleep(1)
""")


def test_sigkilled_python_holder_leaks_no_block(ns):
    pub = Topic("camera.rgb", Image)
    for round_ in range(3):
        holder = Proc([sys.executable, "-c", HOLDER])
        holder.wait_line(lambda l: l == "joined")
        img = pub.loan(W, H, "rgb8")
        img.to_numpy()[:] = round_ + 1
        pub.send(img)
        holder.wait_line(lambda l: l == f"holding {round_ + 1}")
        assert pub.busy_blocks() == 1  # the dead-to-be holder's view
        assert holder.stop(signal.SIGKILL) == -signal.SIGKILL
        wait_for(lambda: pub.reclaim_dead() >= 0 and pub.busy_blocks() == 0,
                 what="the killed holder's block back in the pool")
    # The publisher goes on, and a new subscriber gets frames.
    sub = Topic("camera.rgb", Image)
    pub.send(Image.from_numpy(np.full((H, W, 3), 9, np.uint8)))
    assert (sub.recv().to_numpy() == 9).all()


def test_camera_example_and_detector_run_end_to_end(ns):
    camera = Proc([rust_bin("camera")])
    try:
        wait_for(lambda: camera.lines.qsize() or camera.seen,
                 what="the camera's first line")
        detector = Proc([sys.executable, str(REPO / "examples" / "detector.py")])
        try:
            # Its second report: 31 frames found where the camera drew them.
            def report(line):
                m = re.search(r"\((\d+) frames, (\d+) wrong", line)
                return m and (int(m[1]) >= 31 or int(m[2]) > 0)

            line = detector.wait_line(report, timeout=60)
            assert "(31 frames, 0 wrong" in line, detector.seen
        finally:
            assert detector.stop() == 0, detector.seen
    finally:
        assert camera.stop() == 0, camera.seen
