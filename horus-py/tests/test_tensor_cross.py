"""Tensors between Rust and Python processes (examples/tensor_peer.rs):
every tensor's elements checked, exact accounting (received + dropped ==
published), and the received arrays (numpy and DLPack) over the
publisher's pool segment itself."""

import collections
import subprocess

import numpy as np

from horus import Tensor, Topic

from conftest import (Proc, assert_peer_received_all, dlpack_of_received, pool_file_position,
                      receive_all_counted, receiver, release, rust_bin)

SHAPE = (64, 32)


def pattern(seq):
    """Tensor ``seq``'s elements (tensor_peer.rs's), float32."""
    return (seq * 4096 + np.arange(SHAPE[0] * SHAPE[1], dtype=np.float64)) \
        .astype(np.float32).reshape(SHAPE)


def test_rust_tensors_reach_python_intact_exactly_counted_and_in_place(ns):
    t = Topic("features", Tensor)  # joined before the first tensor: sees them all
    peer = Proc([rust_bin("tensor_peer"), "publish", "300"], stdin=subprocess.PIPE)
    try:
        held = collections.deque(maxlen=4)  # some views held a while: blocks stay busy

        def check(msg):
            assert (msg.shape, msg.dtype, msg.strides) == ([64, 32], "float32", [128, 4])
            arr = msg.to_numpy()
            assert arr.shape == SHAPE and arr.dtype == np.float32 and not arr.flags.writeable
            seq = int(arr[0, 0]) // 4096
            assert np.array_equal(arr, pattern(seq)), "a torn or wrong tensor reached Python"
            assert pool_file_position(ns, arr) is not None, \
                "the array is not over the publisher's pool segment"
            via_dlpack = dlpack_of_received(msg)
            if via_dlpack is not None:
                assert via_dlpack.__array_interface__["data"][0] == \
                    arr.__array_interface__["data"][0]
            held.append(arr)
            return seq

        receive_all_counted(t, peer, check)
    finally:
        release(peer)


def test_python_tensors_reach_rust_intact_and_exactly_counted(ns):
    n = 200
    peer = receiver("tensor_peer", n)
    try:
        t = Topic("features", Tensor)
        for seq in range(n):
            if seq % 2:
                msg = t.loan(list(SHAPE), "float32")  # filled in the pool block: no copy
                msg.to_numpy()[:] = pattern(seq)
                assert msg.in_pool
            else:  # a transposed (non-contiguous) array, copied into C order
                msg = Tensor.from_numpy(np.ascontiguousarray(pattern(seq).T).T)
            t.send(msg)
        assert t.unsent_count() == 0 and t.published_count() == n
        assert_peer_received_all(peer, n)
    finally:
        peer.stop()
