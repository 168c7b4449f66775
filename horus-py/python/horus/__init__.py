"""HORUS for Python: typed publish/subscribe topics over shared memory,
nodes and their scheduler — the same topics, registry and scheduler as Rust
programs (this package is a thin layer over the Rust crate horus-std).

    import horus
    from horus import Topic, Node, Scheduler, CmdVel
    t = Topic("cmd_vel", CmdVel)
    t.send(CmdVel(linear=1.5, angular=0.3))
    m = t.recv()
"""

from . import _horus
from ._horus import (DepthImage, HorusError, Image, MessageType, PointCloud, Tensor, now_ns,
                     process_pool_limit, set_process_pool_limit)
from ._messages import STANDARD as _STANDARD
from ._messages import Message, message
from ._topic import (DepthTopic, ImageTopic, Node, PointCloudTopic, Scheduler, Schema, Serialized,
                     SerializedTopic, TensorTopic, Topic, enum_schema, option, run, schema, seq)

CmdVel = _STANDARD["CmdVel"]
Twist = _STANDARD["Twist"]
Pose2D = _STANDARD["Pose2D"]
Pose3D = _STANDARD["Pose3D"]
Imu = _STANDARD["Imu"]
Odometry = _STANDARD["Odometry"]
JointState = _STANDARD["JointState"]
LaserScan = _STANDARD["LaserScan"]
BatteryState = _STANDARD["BatteryState"]
Heartbeat = _STANDARD["Heartbeat"]
EmergencyStop = _STANDARD["EmergencyStop"]


def stop_requested() -> bool:
    """Whether Ctrl+C/SIGTERM asked this process's schedulers to stop."""
    return _horus.stop_requested()


def report_error(detail: str) -> None:
    """Records an error of the running node without stopping it (it shows
    in ``horus node list`` and the blackbox)."""
    _horus.report_error(detail)


__all__ = [
    "HorusError", "MessageType", "Message", "message", "Topic", "Node", "Scheduler", "run",
    "now_ns", "stop_requested", "report_error", "set_process_pool_limit", "process_pool_limit", "Image", "ImageTopic", "Serialized",
    "SerializedTopic", "Schema", "schema", "enum_schema", "option", "seq", "Tensor", "TensorTopic", "DepthImage", "DepthTopic",
    "PointCloud", "PointCloudTopic",
    "CmdVel", "Twist", "Pose2D", "Pose3D", "Imu", "Odometry", "JointState", "LaserScan",
    "BatteryState", "Heartbeat", "EmergencyStop",
]
