"""64-byte POD one-way latency between Python and Rust processes.

Start the Rust peer, then this script (same namespace):

    horus run --release horus-py/bench/pong.rs &
    python horus-py/bench/latency.py [COUNT]

Each sample: Python stamps `t_send_ns` and sends a `Ping64` on `bench.ping`;
the Rust peer stamps `t_rx_ns` on receipt and sends it back on `bench.pong`;
Python stamps its receipt. Both clocks are the same CLOCK_MONOTONIC
(`horus.now_ns()` is the Rust function), so the one-way latencies are
Python->Rust = t_rx - t_send and Rust->Python = t_back - t_rx. Every sample
is kept (no outlier is dropped); samples are sent one at a time (the next
after the previous came back), both sides busy-poll.
"""

import statistics
import sys
import time

import horus

Ping64 = horus.message("Ping64", t_send_ns="u64", t_rx_ns="u64", seq="u64", pad="u64[5]")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def wait_for_peer(ping, pong):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ping.send(Ping64(seq=0, t_send_ns=horus.now_ns()))
        answer_by = time.monotonic() + 0.2
        while time.monotonic() < answer_by:
            if pong.recv() is not None:
                return
    sys.exit("no answer on bench.pong: start `horus run --release horus-py/bench/pong.rs`")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    ping, pong = horus.Topic("bench.ping", Ping64), horus.Topic("bench.pong", Ping64)
    to_rust, to_py = [], []
    wait_for_peer(ping, pong)
    msg = Ping64()
    while pong.recv() is not None:
        pass
    for seq in range(1, count + 1):
        msg.seq = seq
        msg.t_send_ns = horus.now_ns()
        ping.send(msg)
        while (back := pong.recv()) is None or back.seq != seq:
            pass
        t_back = horus.now_ns()
        to_rust.append(back.t_rx_ns - back.t_send_ns)
        to_py.append(t_back - back.t_rx_ns)
    for name, xs in (("Python -> Rust", to_rust), ("Rust -> Python", to_py)):
        print(f"{name}: n={len(xs)} median {statistics.median(xs) / 1000:.2f} us, "
              f"p99 {pct(xs, 99) / 1000:.2f} us, p99.9 {pct(xs, 99.9) / 1000:.2f} us, "
              f"max {max(xs) / 1000:.2f} us (64-byte POD, one way)")


if __name__ == "__main__":
    main()
