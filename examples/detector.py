"""The seed's detector: an ML-inference stand-in in Python on the Rust
camera's frames (examples/camera.rs), computing on `img.to_numpy()` -- a
read-only array over the shared-memory block the camera wrote, not a copy.

    horus run examples/camera.rs examples/detector.py

It finds the bright green square in each frame and checks it against where
the camera drew it (the frame number is in the first 8 bytes).
"""

import time

import numpy as np

import horus
from horus import Image, Node, Scheduler

WIDTH, HEIGHT, SQUARE = 640, 480, 64


def square_at(seq):
    """Top-left corner of frame `seq`'s square (camera.rs's formula)."""
    return (seq * 8) % (WIDTH - SQUARE), 8 + (seq * 4) % (HEIGHT - SQUARE - 16)


class Detector(Node):
    def __init__(self):
        super().__init__(name="detector", subs=[("camera.rgb", Image)], rate=100)
        self.frames = 0
        self.wrong = 0
        self.started = time.monotonic()

    def tick(self):
        while (img := self.recv("camera.rgb")) is not None:
            pixels = img.to_numpy()  # (480, 640, 3) uint8 over the pool block
            assert not pixels.flags.owndata and not pixels.flags.writeable
            seq = int(pixels.reshape(-1)[:8].view("<u8")[0])
            green = pixels[1:, :, 1] > 200  # row 0 holds the frame number
            ys, xs = np.nonzero(green)
            x, y = (int(xs.min()), int(ys.min()) + 1) if len(xs) else (-1, -1)
            if (x, y) != square_at(seq):
                self.wrong += 1
            self.frames += 1
            if self.frames % 30 == 1:
                fps = self.frames / max(time.monotonic() - self.started, 1e-9)
                print(f"frame {seq}: square at x={x} y={y} "
                      f"({self.frames} frames, {self.wrong} wrong, {fps:.0f} fps)", flush=True)


sched = Scheduler(tick_rate=100)
sched.add(Detector())
sched.run()
