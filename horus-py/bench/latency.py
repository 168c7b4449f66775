"""One-way latency between Python and Rust processes: 64-byte POD both ways,
and a 640x480 rgb8 Image from Rust to Python.

Start the Rust peer, then this script (same namespace):

    horus run --release horus-py/bench/pong.rs &
    python horus-py/bench/latency.py [--image] [--raw] [COUNT]

(The benchmark program, `cargo run -p horus-benchmarks --release`, runs this
script with `--raw` against pong.rs's `serve` in a thread for its Python rows.)

POD: Python stamps `t_send_ns` and sends a `Ping64` on `bench.ping`; the
Rust peer stamps `t_rx_ns` on receipt and sends it back on `bench.pong`;
Python stamps its receipt. Both clocks are the same CLOCK_MONOTONIC
(`horus.now_ns()` is the Rust function), so the one-way latencies are
Python->Rust = t_rx - t_send and Rust->Python = t_back - t_rx.

Image (`--image`): Python asks with a `Ping64` whose `pad[0]` is 1; the peer
loans a 640x480 rgb8 block, writes its send time in the first 8 bytes
(the last thing before `send`) and the request's `seq` in the next 8, and
publishes it on `bench.image`. Python's sample ends once it holds the
received image's `to_numpy()` array and has read the stamp's bytes from it
(`arr[0, :6].tobytes()`: the first 18 bytes, the stamp and the seq; the
numbers are made of them after the clock is read): one way = that time -
the stamp (no copy on the way: the array is over the publisher's block).

Every sample is kept (no outlier is dropped); samples go one at a time (the
next after the previous came back); both sides busy-poll. `--raw` prints the
samples (ns) instead of the summary: one line per direction, its name then
every sample.
"""

import statistics
import sys
import time

import horus

Ping64 = horus.message("Ping64", t_send_ns="u64", t_rx_ns="u64", seq="u64", pad="u64[5]")
IMAGE_REQUEST = [1, 0, 0, 0, 0]


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


def pod(ping, pong, count):
    to_rust, to_py = [], []
    msg = Ping64()
    for seq in range(1, count + 1):
        msg.seq = seq
        msg.t_send_ns = horus.now_ns()
        ping.send(msg)
        while (back := pong.recv()) is None or back.seq != seq:
            pass
        t_back = horus.now_ns()
        to_rust.append(back.t_rx_ns - back.t_send_ns)
        to_py.append(t_back - back.t_rx_ns)
    return {"python_to_rust": to_rust, "rust_to_python": to_py}


def image(ping, frames, count):
    samples = []
    req = Ping64(pad=IMAGE_REQUEST)
    for seq in range(1, count + 1):
        req.seq = seq
        ping.send(req)
        while True:
            img = frames.recv()
            if img is None:
                continue
            head = img.to_numpy()[0, :6].tobytes()
            t_rx = horus.now_ns()
            if int.from_bytes(head[8:16], "little") == seq:
                samples.append(t_rx - int.from_bytes(head[:8], "little"))
                break
        del img, head  # the block goes back to the peer's pool
    return {"image_rust_to_python": samples}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 20000
    ping, pong = horus.Topic("bench.ping", Ping64), horus.Topic("bench.pong", Ping64)
    frames = horus.Topic("bench.image", horus.Image) if "--image" in sys.argv else None
    wait_for_peer(ping, pong)
    while pong.recv() is not None:
        pass
    result = image(ping, frames, count) if frames is not None else pod(ping, pong, count)
    if "--raw" in sys.argv:
        for name, xs in result.items():
            print(name, *xs)
        return
    for name, xs in result.items():
        print(f"{name.replace('_', ' ')}: n={len(xs)} median {statistics.median(xs) / 1000:.2f} us, "
              f"p99 {pct(xs, 99) / 1000:.2f} us, p99.9 {pct(xs, 99.9) / 1000:.2f} us, "
              f"max {max(xs) / 1000:.2f} us (one way)")


if __name__ == "__main__":
    main()
