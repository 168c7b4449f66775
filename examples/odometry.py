"""The odometry process of the seed's pipeline, in Python: subscribes to the
Rust sensor's `wheel.encoders` (examples/sensor.rs) and prints the deltas.

    horus run examples/sensor.rs examples/odometry.py
"""

import horus
from horus import Node, Scheduler

# The same name and fields as sensor.rs's `message!`: the same type id.
WheelEncoder = horus.message("WheelEncoder", left_ticks="i64", right_ticks="i64",
                             timestamp_ns="u64")

last = {"left": 0, "right": 0}


def tick(node):
    if (enc := node.recv("wheel.encoders")) is not None:
        dl, dr = enc.left_ticks - last["left"], enc.right_ticks - last["right"]
        last["left"], last["right"] = enc.left_ticks, enc.right_ticks
        print(f"[Odom py] delta L={dl} R={dr}")


sched = Scheduler(tick_rate=100)
sched.add(Node(name="OdometryPy", subs=[("wheel.encoders", WheelEncoder)], tick=tick,
               rate=100, order=0))
sched.run()
