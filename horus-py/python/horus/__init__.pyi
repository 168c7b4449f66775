"""Type hints of the `horus` Python module (see horus-py/README.md)."""

from typing import Any, Callable, ClassVar, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

from ._horus import HorusError as HorusError, MessageType as MessageType

M = TypeVar("M", bound="Message")

def now_ns() -> int: ...
def stop_requested() -> bool: ...
def report_error(detail: str) -> None: ...

class Message:
    """Base of every message class: keyword construction with checked names
    and types; bytes in the layout of the Rust `message!` of the same name."""
    _type: ClassVar[MessageType]
    def __init__(self, **values: Any) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...
    def to_bytes(self) -> bytes: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_bytes(cls: Type[M], data: bytes) -> M: ...
    @classmethod
    def type_id(cls) -> int: ...
    @classmethod
    def size(cls) -> int: ...
    @classmethod
    def fields(cls) -> Dict[str, str]: ...

FieldType = Union[str, Type[Message], Tuple[Type[Message], int]]

def message(name: str, **fields: FieldType) -> Type[Message]: ...

class CmdVel(Message):
    timestamp_ns: int
    linear: float
    angular: float
    def __init__(self, *, timestamp_ns: int = ..., linear: float = ..., angular: float = ...) -> None: ...

class Twist(Message):
    linear: Sequence[float]
    angular: Sequence[float]
    timestamp_ns: int
    def __init__(self, *, linear: Sequence[float] = ..., angular: Sequence[float] = ..., timestamp_ns: int = ...) -> None: ...

class Pose2D(Message):
    x: float
    y: float
    theta: float
    timestamp_ns: int
    def __init__(self, *, x: float = ..., y: float = ..., theta: float = ..., timestamp_ns: int = ...) -> None: ...

class Pose3D(Message):
    position: Sequence[float]
    orientation: Sequence[float]
    timestamp_ns: int
    def __init__(self, *, position: Sequence[float] = ..., orientation: Sequence[float] = ..., timestamp_ns: int = ...) -> None: ...

class Imu(Message):
    orientation: Sequence[float]
    angular_velocity: Sequence[float]
    linear_acceleration: Sequence[float]
    timestamp_ns: int
    def __init__(self, *, orientation: Sequence[float] = ..., angular_velocity: Sequence[float] = ..., linear_acceleration: Sequence[float] = ..., timestamp_ns: int = ...) -> None: ...

class Odometry(Message):
    pose: Pose2D
    twist: Twist
    pose_covariance: Sequence[float]
    timestamp_ns: int
    frame_id: bytes
    child_frame_id: bytes
    def __init__(self, *, pose: Union[Pose2D, Mapping[str, Any]] = ..., twist: Union[Twist, Mapping[str, Any]] = ..., pose_covariance: Sequence[float] = ..., timestamp_ns: int = ..., frame_id: Union[bytes, str] = ..., child_frame_id: Union[bytes, str] = ...) -> None: ...

class JointState(Message):
    position: Sequence[float]
    velocity: Sequence[float]
    effort: Sequence[float]
    timestamp_ns: int
    count: int
    _pad: int
    def __init__(self, *, position: Sequence[float] = ..., velocity: Sequence[float] = ..., effort: Sequence[float] = ..., timestamp_ns: int = ..., count: int = ..., _pad: int = ...) -> None: ...

class LaserScan(Message):
    timestamp_ns: int
    ranges: Sequence[float]
    angle_min: float
    angle_max: float
    angle_increment: float
    range_min: float
    range_max: float
    time_increment: float
    count: int
    _pad: int
    def __init__(self, *, timestamp_ns: int = ..., ranges: Sequence[float] = ..., angle_min: float = ..., angle_max: float = ..., angle_increment: float = ..., range_min: float = ..., range_max: float = ..., time_increment: float = ..., count: int = ..., _pad: int = ...) -> None: ...

class BatteryState(Message):
    timestamp_ns: int
    voltage: float
    current: float
    percentage: float
    temperature: float
    def __init__(self, *, timestamp_ns: int = ..., voltage: float = ..., current: float = ..., percentage: float = ..., temperature: float = ...) -> None: ...

class Heartbeat(Message):
    timestamp_ns: int
    sequence: int
    pid: int
    status: int
    def __init__(self, *, timestamp_ns: int = ..., sequence: int = ..., pid: int = ..., status: int = ...) -> None: ...

class EmergencyStop(Message):
    timestamp_ns: int
    engaged: int
    _pad: bytes
    reason: bytes
    def __init__(self, *, timestamp_ns: int = ..., engaged: int = ..., _pad: Union[bytes, str] = ..., reason: Union[bytes, str] = ...) -> None: ...

class Topic:
    """`Topic(name, MessageClass)`: the same shared-memory topic as Rust's `Topic::<T>::new(name)`."""
    def __init__(self, name: str, msg_type: Type[Message], *, namespace: Optional[str] = None) -> None: ...
    def send(self, msg: Message) -> None: ...
    def recv(self) -> Optional[Any]: ...
    def dropped_count(self) -> int: ...
    def received_count(self) -> int: ...
    def published_count(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def msg_type(self) -> Type[Message]: ...

TopicSpecs = Union[str, Iterable[Union[str, Tuple[str, Optional[Type[Message]]], Topic]], Mapping[str, Optional[Type[Message]]]]

class Node:
    name: str
    rate: Optional[float]
    order: int
    on_error: str
    budget: Optional[float]
    tolerance: Optional[float]
    def __init__(
        self,
        name: Optional[str] = None,
        tick: Optional[Callable[["Node"], Any]] = None,
        *,
        subs: TopicSpecs = ...,
        pubs: TopicSpecs = ...,
        rate: Optional[float] = None,
        order: int = 0,
        init: Optional[Callable[["Node"], Any]] = None,
        shutdown: Optional[Callable[["Node"], Any]] = None,
        safe_state: Optional[Callable[["Node"], Any]] = None,
        on_error: str = "stop",
        budget: Optional[float] = None,
        tolerance: Optional[float] = None,
    ) -> None: ...
    def send(self, topic: str, msg: Message) -> None: ...
    def recv(self, topic: str) -> Optional[Any]: ...
    def topic(self, name: str) -> Optional[Topic]: ...
    def tick(self) -> None: ...
    def init(self) -> None: ...
    def shutdown(self) -> None: ...
    def safe_state(self) -> None: ...

class Scheduler:
    def __init__(self, tick_rate: float = 100, *, namespace: Optional[str] = None) -> None: ...
    def add(self, node: Node, *, rate: Optional[float] = None, order: Optional[int] = None, on_error: Optional[str] = None) -> "Scheduler": ...
    def run(self, duration: Optional[float] = None) -> None: ...
    def tick_once(self) -> None: ...
    def shutdown(self) -> None: ...
    def nodes(self) -> list[Tuple[str, str, int, int, int, int]]: ...

def run(*nodes: Node, duration: Optional[float] = None, tick_rate: float = 100, namespace: Optional[str] = None) -> None: ...
