"""Topics, nodes and the scheduler: Python faces of horus-std's."""

from __future__ import annotations

import atexit
import sys
import threading
from typing import Any, Callable, Dict, Iterable, Optional, Tuple, Union

from . import _horus
from ._messages import _BY_ID, Message

HorusError = _horus.HorusError
Image = _horus.Image
Tensor = _horus.Tensor
DepthImage = _horus.DepthImage
PointCloud = _horus.PointCloud
# The class of an existing large-message topic by its type id (a depth
# topic's id is the image's: it is joined as images).
_POOLED_BY_ID = {tid: getattr(_horus, name) for name, tid in _horus.pooled_type_ids()}


class Topic:
    """A named, typed topic: ``Topic("cmd_vel", CmdVel)`` joins the same
    shared-memory topic as Rust's ``Topic::<CmdVel>::new("cmd_vel")``.
    ``send`` never blocks; ``recv`` returns the next message or ``None``."""

    __slots__ = ("_raw", "_cls", "_flat")

    def __new__(cls, name: str, msg_type: Any = None, **kw: Any) -> "Topic":
        if cls is Topic and isinstance(msg_type, type) and msg_type in _POOLED_TOPICS:
            return object.__new__(_POOLED_TOPICS[msg_type])
        if cls is Topic and (msg_type is Serialized or isinstance(msg_type, Schema)):
            return object.__new__(SerializedTopic)
        return object.__new__(cls)

    def __init__(self, name: str, msg_type: type, *, namespace: Optional[str] = None,
                 max_publishers: Optional[int] = None, capacity: Optional[int] = None) -> None:
        """Joins topic ``name`` (creating it if needed). ``max_publishers``
        (default 16) and ``capacity`` (messages kept per publisher, a power of
        two, default 64) shape a topic this handle creates; given, an existing
        topic must have the same."""
        if not (isinstance(msg_type, type) and issubclass(msg_type, Message)
                and msg_type is not Message):
            raise TypeError(f"Topic({name!r}, ...) needs a message class (such as horus.CmdVel, "
                            f"horus.Image, horus.Tensor, one made by horus.message, or "
                            f"horus.Serialized or a horus.schema(...) for a serialized topic), "
                            f"not {msg_type!r}")
        self._cls = msg_type
        # A flat class's own codec (not a subclass's inherited one): its
        # objects go to and from the ring in one native call each.
        codec = msg_type.__dict__.get("_codec")
        self._flat = codec is not None
        self._raw = _horus.RawTopic(name, msg_type._type, namespace, max_publishers, capacity,
                                    codec)

    def send(self, msg: Message) -> None:
        """Publishes ``msg``. Never blocks: a lagging subscriber loses the
        oldest messages (its ``dropped_count()`` says how many)."""
        if type(msg) is not self._cls:
            raise TypeError(f"topic {self._raw.name!r} carries {self._cls.__name__}, "
                            f"not {type(msg).__name__}")
        # False: a value the codec does not take; to_bytes raises the sentence.
        if not (self._flat and self._raw.send_msg(msg)):
            self._raw.send(msg.to_bytes())

    def recv(self) -> Optional[Message]:
        """The next message, or ``None``. Never blocks."""
        if self._flat:
            return self._raw.recv_msg()
        data = self._raw.recv()
        return None if data is None else self._cls.from_bytes(data)

    def dropped_count(self) -> int:
        """Messages this handle lost since it was created."""
        return self._raw.dropped_count()

    def received_count(self) -> int:
        """Messages this handle received since it was created."""
        return self._raw.received_count()

    def published_count(self) -> int:
        """Messages published on the topic by everyone since it was created."""
        return self._raw.published_count()

    @property
    def name(self) -> str:
        return self._raw.name

    @property
    def namespace(self) -> str:
        return self._raw.namespace

    @property
    def msg_type(self) -> type:
        return self._cls

    def __repr__(self) -> str:
        return f"Topic({self.name!r}, {self._cls.__name__})"


def _count(key: str, doc: str) -> Callable[[Any], int]:
    """A method returning count ``key`` of an image topic."""
    def count(self: Any) -> int:
        return self._raw.counts()[key]
    count.__doc__ = doc
    return count


class _CountingTopic(Topic):
    """A topic whose native handle reports its counts in one call
    (``counts()``) and its ``location()``: large messages, serialized."""

    __slots__ = ()

    dropped_count = _count("dropped", "Messages this handle lost since it was created.")
    received_count = _count("received", "Messages this handle received since it was created.")
    published_count = _count("published", "Messages published on the topic by everyone.")
    unsent_count = _count("unsent", "Messages this handle could not publish (a large "
                                    "message: its pool exhausted; serialized: over "
                                    "max_message_bytes).")
    rejected_count = _count("rejected", "Received messages refused as invalid (skipped).")

    @property
    def name(self) -> str:
        return self._raw.location()[0]

    @property
    def namespace(self) -> str:
        return self._raw.location()[1]


class _PooledTopic(_CountingTopic):
    """A topic of a large message kind (``_MSG``), whose native handle is
    ``_RAW``: the bytes travel in shared-memory pool blocks; a received
    message's ``to_numpy()`` is a read-only array over the block itself;
    ``loan(...)`` gives a message whose bytes are a block of this
    publisher's pool (fill ``to_numpy()``, then ``send``: no copy once the
    arrays over it are gone)."""

    __slots__ = ()
    _MSG: Any = None
    _RAW: Any = None

    def __init__(self, name: str, msg_type: Any = None, *, namespace: Optional[str] = None,
                 block_size: Optional[int] = None, blocks_per_segment: Optional[int] = None,
                 max_segments: Optional[int] = None) -> None:
        cls = type(self)
        if msg_type is not None and msg_type is not cls._MSG:
            raise TypeError(f"{cls.__name__}({name!r}, ...) carries horus.{cls._MSG.__name__}, "
                            f"not {msg_type!r}")
        self._cls = cls._MSG
        self._raw = cls._RAW(name, namespace, block_size=block_size,
                             blocks_per_segment=blocks_per_segment, max_segments=max_segments)

    def send(self, msg: Any) -> None:
        """Publishes ``msg``. Never blocks: a message it cannot publish (every
        pool block busy, no shared memory left, larger than a block) is counted
        in ``unsent_count()``, the first one also logged as a warning on stderr;
        ``try_send`` raises the reason instead."""
        if type(msg) is not self._cls:
            raise TypeError(f"topic {self.name!r} carries {self._cls.__name__}, "
                            f"not {type(msg).__name__}")
        self._raw.send(msg)

    def try_send(self, msg: Any) -> None:
        """As ``send``, but raises ``HorusError`` when it cannot publish."""
        self._raw.try_send(msg)

    def recv(self) -> Any:
        """The next message, or ``None``. Never blocks."""
        return self._raw.recv()

    def loan(self, *args: Any, **kw: Any) -> Any:
        """A message whose bytes are a block of this publisher's pool (not
        cleared): the arguments are the message constructor's."""
        return self._raw.loan(*args, **kw)

    busy_blocks = _count("busy_blocks",
                         "Blocks of this publisher's pool held by readers or being written.")
    pool_segments = _count("pool_segments", "Pool segments this publisher made.")

    def reclaim_dead(self) -> int:
        """Frees what dead processes hold on the topic (runs by itself when a
        handle is made and when the pool is exhausted)."""
        return self._raw.reclaim_dead()


class ImageTopic(_PooledTopic):
    """A topic of :class:`horus.Image` (``Topic("camera.rgb", Image)``):
    joins Rust's ``Topic<Image>``; ``loan(width, height, encoding)``."""

    __slots__ = ()
    _MSG, _RAW = Image, _horus.ImageTopic


class TensorTopic(_PooledTopic):
    """A topic of :class:`horus.Tensor` (``Topic("features", Tensor)``):
    joins Rust's ``Topic<Tensor>``; ``loan(shape, dtype="float32")``."""

    __slots__ = ()
    _MSG, _RAW = Tensor, _horus.TensorTopic


class DepthTopic(_PooledTopic):
    """A topic of :class:`horus.DepthImage` (``Topic("camera.depth",
    DepthImage)``): joins Rust's ``Topic<DepthImage>``;
    ``loan(width, height, encoding)``."""

    __slots__ = ()
    _MSG, _RAW = DepthImage, _horus.DepthTopic


class PointCloudTopic(_PooledTopic):
    """A topic of :class:`horus.PointCloud` (``Topic("lidar.points",
    PointCloud)``): joins Rust's ``Topic<PointCloud>``;
    ``loan(points, fields="xyz")``."""

    __slots__ = ()
    _MSG, _RAW = PointCloud, _horus.PointCloudTopic


_POOLED_TOPICS = {Image: ImageTopic, Tensor: TensorTopic, DepthImage: DepthTopic,
                  PointCloud: PointCloudTopic}


class Serialized:
    """The message type of a serialized topic whose schema is the topic's:
    ``Topic("plan", horus.Serialized)`` joins the ``Topic<Plan>`` a Rust
    program created (see :class:`SerializedTopic`)."""

    def __init__(self) -> None:
        raise TypeError("horus.Serialized is not instantiated: pass the class itself, "
                        "Topic(name, horus.Serialized)")


class Schema:
    """A serialized type's schema (its name and the bytes a region stores,
    as horus-std's ``Schema::encode`` writes them), e.g. another topic's
    ``t.schema``: ``Topic(name, schema)`` creates the topic if absent, and
    joins an existing one only if it has this very schema."""

    __slots__ = ("name", "encoded")

    def __init__(self, name: str, encoded: bytes) -> None:
        self.name, self.encoded = name, encoded

    def __repr__(self) -> str:
        return f"<horus schema {self.name}>"


def schema(name: str, /, **fields: Any) -> Schema:
    """A serialized struct declared in Python, byte-identical to the Rust
    ``struct name { fields }`` of the same field names, order and types
    (``horus.schema("Plan", seq="u64", name="str", weights="[f32]",
    goal=horus.option(Waypoint))``). A type is a name (``"u8"`` ...
    ``"u128"``, ``"i8"`` ... ``"i128"``, ``"f32"``, ``"f64"``, ``"bool"``,
    ``"char"``, ``"str"``, ``"bytes"``), ``"[T]"`` (a list), ``"T?"`` (an
    option) or a declared schema (a nested struct or enum)."""
    return Schema(name, _horus.schema_encode("struct", name, fields))


def enum_schema(name: str, /, **variants: Any) -> Schema:
    """A serialized enum declared in Python: each variant ``None`` (unit), a
    type (one value), a tuple of types, or a dict of fields (struct
    variant): ``horus.enum_schema("Mode", Idle=None, Drive="f32",
    Turn={"left": "bool", "deg": "i16"})``."""
    return Schema(name, _horus.schema_encode("enum", name, variants))


def option(spec: Any) -> Schema:
    """An optional value of ``spec`` (``Option<T>``; ``"T?"`` for a named type)."""
    return Schema("Option", _horus.schema_encode("option", "Option", spec))


def seq(spec: Any) -> Schema:
    """A list of ``spec`` (``Vec<T>``; ``"[T]"`` for a named type)."""
    return Schema("Vec", _horus.schema_encode("seq", "Vec", spec))


class SerializedTopic(_CountingTopic):
    """A serialized topic (Rust's ``Topic<T>`` of a ``serialized!`` type)
    carrying dicts and lists: ``Topic("plan", horus.Serialized)``.

    The schema is the one stored in the topic's region, so the topic must
    exist (a Rust program created it) unless a :class:`Schema` is given.
    ``recv()`` returns the message as Python objects: a struct or map is a
    ``dict``, a sequence or tuple a ``list``, integers ``int``, floats
    ``float``, strings ``str``, byte strings ``bytes``, unit and an absent
    option ``None``, an enum ``{"Variant": value}`` (``None`` for a unit
    variant). A map key is made hashable: a sequence or tuple key is a
    ``tuple`` (recursively), a unit variant key its name; a message with a
    key Python cannot hash (a struct, a map, a variant with data) is
    skipped, counted in ``rejected_count()``, and ``recv()`` raises
    ``HorusError`` saying so. ``send(value)`` takes the same shapes (a unit
    variant may be its name, a tuple a ``tuple``) and raises ``HorusError``
    naming the field and the type the schema wants when the value does not
    fit."""

    __slots__ = ()

    def __init__(self, name: str, msg_type: Any = None, *, namespace: Optional[str] = None,
                 max_message_bytes: Optional[int] = None) -> None:
        schema = msg_type if isinstance(msg_type, Schema) else None
        if schema is None and msg_type is not Serialized:
            raise TypeError(f"SerializedTopic({name!r}, ...) carries horus.Serialized or a "
                            f"horus.schema(...), not {msg_type!r}")
        self._cls = Serialized
        self._raw = _horus.SerializedTopic(name, namespace,
                                           None if schema is None else schema.encoded,
                                           max_message_bytes)

    def send(self, msg: Any) -> None:
        """Publishes ``msg`` (dicts, lists, ... as the schema says). Never
        blocks; raises ``HorusError`` if it does not fit the schema or the
        topic's ``max_message_bytes``."""
        self._raw.send(msg)

    def recv(self) -> Any:
        """The next message as Python objects, or ``None``. Never blocks."""
        return self._raw.recv()

    @property
    def type_name(self) -> str:
        """The serialized type's name (the Rust struct's)."""
        return self._raw.type_name

    @property
    def max_message_bytes(self) -> int:
        """Bytes an encoded message may take."""
        return self._raw.max_message_bytes

    @property
    def schema(self) -> "Schema":
        """The topic's schema: ``Topic(other_name, t.schema)`` creates a
        topic of the same type."""
        return Schema(self._raw.type_name, self._raw.schema_bytes)

    def __repr__(self) -> str:
        return f"Topic({self.name!r}, Serialized[{self.type_name}])"


TopicSpec = Union[str, Tuple[str, type], Topic]


def _topic_specs(what: str, specs: Any) -> Dict[str, Optional[type]]:
    """``["a", ("b", Imu)]`` or ``{"a": None, "b": Imu}`` -> ``{name: type or None}``."""
    expected = (f"{what} lists topic names, (name, MessageClass) pairs or a "
                f"{{name: MessageClass}} dict")
    if isinstance(specs, dict):
        items: Iterable[Any] = specs.items()
    elif isinstance(specs, str):
        items = [(specs, None)]
    else:
        try:
            listed = iter(specs)
        except TypeError:
            raise TypeError(f"{expected}, not {specs!r}") from None
        items = [(s, None) if isinstance(s, str) else s for s in listed]
    out: Dict[str, Optional[type]] = {}
    for item in items:
        if isinstance(item, Topic):
            out[item.name] = item.msg_type
            continue
        try:
            name, ty = item
        except (TypeError, ValueError):
            raise TypeError(f"{expected}, not {item!r}") from None
        if not isinstance(name, str):
            raise TypeError(f"{expected}: a topic name is a str, not {name!r}")
        if ty is not None and not _carriable(ty):
            raise TypeError(f"{what}: topic {name!r} is given {ty!r}, which is not a message "
                            f"class (such as horus.CmdVel, horus.Image, one made by "
                            f"horus.message, horus.Serialized or a horus.schema(...))")
        out[name] = ty
    return out


def _carriable(ty: Any) -> bool:
    """Whether a topic can carry ``ty``: what ``Topic(name, ty)`` takes."""
    if ty is Serialized or isinstance(ty, Schema):
        return True
    if not isinstance(ty, type):
        return False
    return ty in _POOLED_TOPICS or (issubclass(ty, Message) and ty is not Message)


class Node:
    """A node the :class:`Scheduler` ticks, like a Rust ``impl Node``.

    ``tick(node)`` is called at ``rate`` Hz (default: the scheduler's
    ``tick_rate``) in ascending ``order``; it reads with
    ``node.recv(topic)`` and publishes with ``node.send(topic, msg)`` on
    the topics named in ``subs`` and ``pubs``. A subscription's type is
    given (``("imu", Imu)``) or taken from the existing topic. An exception
    in ``tick`` is handled by ``on_error``: ``"stop"`` (default:
    ``safe_state``, then never ticked again), ``"skip"`` or ``"restart"``.
    Subclasses may override ``tick``/``init``/``shutdown``/``safe_state``
    instead of passing functions."""

    def __init__(self, name: Optional[str] = None, tick: Optional[Callable[[Any], Any]] = None,
                 *, subs: Any = (), pubs: Any = (), rate: Optional[float] = None,
                 order: int = 0, init: Optional[Callable[[Any], Any]] = None,
                 shutdown: Optional[Callable[[Any], Any]] = None,
                 safe_state: Optional[Callable[[Any], Any]] = None,
                 on_error: str = "stop", budget: Optional[float] = None,
                 tolerance: Optional[float] = None) -> None:
        if tick is None and type(self).tick is Node.tick:
            raise TypeError("Node needs a tick: Node(name=..., tick=fn) or a subclass "
                            "overriding tick(self)")
        for arg, fn in (("tick", tick), ("init", init), ("shutdown", shutdown),
                        ("safe_state", safe_state)):
            if fn is not None and not callable(fn):
                raise TypeError(f"Node {arg} must be callable, a function taking the node "
                                f"({arg}=fn with def fn(node): ...), not {type(fn).__name__}")
        # An empty name given is refused below (as the scheduler would), not
        # replaced by the default.
        if name is None:
            name = getattr(tick, "__name__", None) or type(self).__name__
        # Checked here, where a mistake is written, by the code that checks
        # them again at Scheduler.add (whose rate=/order=/on_error= override
        # them, and a subclass may change them meanwhile): same sentences.
        _horus.NodeSettings(name, rate, order, on_error, budget, tolerance)
        self.name = name
        self._tick_fn, self._init_fn = tick, init
        self._shutdown_fn, self._safe_state_fn = shutdown, safe_state
        self.rate, self.order, self.on_error = rate, order, on_error
        self.budget, self.tolerance = budget, tolerance
        self._subs = _topic_specs("subs", subs)
        self._pubs = _topic_specs("pubs", pubs)
        self._topics: Dict[str, Topic] = {}
        self._namespace: Optional[str] = None

    # --- what a tick uses -------------------------------------------------
    def send(self, topic: str, msg: Message) -> None:
        """Publishes ``msg`` on ``topic`` (one of ``pubs``)."""
        t = self._topics.get(topic)
        if t is None:
            if topic not in self._pubs:
                raise HorusError(f"node {self.name!r} does not publish {topic!r}: add it to "
                                 f"pubs (pubs are {sorted(self._pubs)})")
            t = self._open(topic, self._pubs[topic] or type(msg))
        t.send(msg)

    def recv(self, topic: str) -> Optional[Message]:
        """The next message of ``topic`` (one of ``subs``), or ``None``."""
        t = self._topics.get(topic)
        if t is None:
            if topic not in self._subs:
                raise HorusError(f"node {self.name!r} does not subscribe to {topic!r}: add it "
                                 f"to subs (subs are {sorted(self._subs)})")
            cls = self._subs[topic] or self._existing_type(topic)
            if cls is None:
                return None  # nobody created it yet
            t = self._open(topic, cls)
        return t.recv()

    def topic(self, name: str) -> Optional[Topic]:
        """The node's handle of topic ``name``, once opened."""
        return self._topics.get(name)

    # --- overridable ------------------------------------------------------
    def tick(self) -> None:
        """One step of work (or pass ``tick=fn(node)``)."""

    def init(self) -> None:
        """Called once before the first tick."""

    def shutdown(self) -> None:
        """Called once when the scheduler stops."""

    def safe_state(self) -> None:
        """Called when the node is stopped after an error."""

    # --- called by the scheduler (Rust) -----------------------------------
    def _init(self) -> None:
        for name, cls in [*self._subs.items(), *self._pubs.items()]:
            if cls is None:
                # A name no topic can have fails here, not at each recv.
                _horus.topic_type(name, self._namespace)
        for name, cls in self._subs.items():
            if cls is not None and name not in self._topics:
                self._open(name, cls)
        for name, cls in self._pubs.items():
            if cls is not None and name not in self._topics:
                self._open(name, cls)
        (self._init_fn or type(self).init)(self)

    def _tick(self) -> None:
        (self._tick_fn or type(self).tick)(self)

    def _shutdown(self) -> None:
        (self._shutdown_fn or type(self).shutdown)(self)

    def _safe_state(self) -> None:
        (self._safe_state_fn or type(self).safe_state)(self)

    def _open(self, name: str, cls: type) -> Topic:
        t = Topic(name, cls, namespace=self._namespace)
        self._topics[name] = t
        return t

    def _existing_type(self, name: str) -> Optional[type]:
        found = _horus.topic_type(name, self._namespace)
        if found is None:
            return None
        type_name, type_id, _size, serialized = found
        if serialized:
            return Serialized
        if type_id in _POOLED_BY_ID:
            return _POOLED_BY_ID[type_id]
        cls = _BY_ID.get(type_id)
        if cls is None:
            raise HorusError(f"topic {name!r} carries {type_name} (id {type_id:#018x}), which "
                             f"this program does not define: declare it with "
                             f"horus.message({type_name!r}, ...) or name its class in subs")
        return cls

    def __repr__(self) -> str:
        return f"Node({self.name!r})"


class Scheduler:
    """Ticks nodes in order at their rates until Ctrl+C/SIGTERM (then runs
    every shutdown): horus-std's scheduler, so Python nodes show in
    ``horus node list``, obey the e-stop and report deadline misses to the
    blackbox like Rust ones. The GIL is released while it sleeps.

    A scheduler is used by the thread that created it (its nodes are ticked
    on that thread): to run it in a ``threading.Thread``, create it there."""

    def __init__(self, tick_rate: float = 100, *, namespace: Optional[str] = None,
                 system_topics: bool = True) -> None:
        """``system_topics=False``: neither follow the e-stop nor list the nodes
        in ``horus node list`` (tests, simulation)."""
        self._inner = _horus.Scheduler(tick_rate, namespace, bool(system_topics))
        # The native scheduler may only be touched by this thread (the
        # object, not its id: ids of ended threads are reused).
        self._thread = threading.current_thread()
        self._namespace = namespace
        self._nodes: list = []
        self._exit_hook = False
        self._ticked = False  # tick_once ran, shutdown() not yet
        self._busy: Optional[str] = None

    def _same_thread(self, call: str) -> None:
        here = threading.current_thread()
        if here is not self._thread:
            raise HorusError(f"Scheduler.{call}() was called in thread {here.name!r}, but the "
                             f"scheduler was created in thread {self._thread.name!r}: a "
                             "scheduler is used only by the thread that created it; create it "
                             "(and add its nodes) in the thread that runs it")

    def _shutdown_at_exit(self) -> None:
        if threading.current_thread() is self._thread:
            self._inner.shutdown()  # idempotent
        elif self._ticked:
            print(f"horus: a Scheduler of thread {self._thread.name!r} was not shut down (its "
                  "nodes' shutdown did not run): call its shutdown() in that thread before the "
                  "thread ends", file=sys.stderr)

    def _shut_down(self) -> None:
        """Every shutdown ran: the exit hook (which holds this scheduler,
        keeping it from its own thread's garbage collection) goes."""
        self._ticked = False
        if self._exit_hook:
            atexit.unregister(self._shutdown_at_exit)
            self._exit_hook = False

    def _driving(self, call: str) -> "_Driving":
        self._same_thread(call)
        if self._busy is not None:
            raise HorusError(f"Scheduler.{call}() was called while its {self._busy}() runs (from "
                             "one of its own nodes?): a node must not drive the scheduler that "
                             "ticks it; return from the tick, or stop it with horus.estop or "
                             "Ctrl+C")
        return _Driving(self, call)

    def add(self, node: Node, *, rate: Optional[float] = None, order: Optional[int] = None,
            on_error: Optional[str] = None) -> "Scheduler":
        """Adds ``node`` (its own ``rate``/``order``/``on_error`` unless given here)."""
        if not isinstance(node, Node):
            raise TypeError(f"Scheduler.add takes a horus.Node, not {type(node).__name__}")
        self._same_thread("add")
        node._namespace = self._namespace
        rate = node.rate if rate is None else rate
        self._inner.add(node, _horus.NodeSettings(
            node.name, rate, node.order if order is None else order,
            node.on_error if on_error is None else on_error, node.budget, node.tolerance))
        self._nodes.append(node)
        return self

    def run(self, duration: Optional[float] = None) -> None:
        """Runs until Ctrl+C/SIGTERM, or for ``duration`` seconds."""
        with self._driving("run"):
            self._inner.run(duration)
            self._shut_down()  # run ends with every shutdown

    def tick_once(self) -> None:
        """One round of every runnable node (tests, simulation). The nodes'
        shutdown runs at ``shutdown()``, or when the interpreter exits."""
        with self._driving("tick_once"):
            if not self._exit_hook:
                atexit.register(self._shutdown_at_exit)
                self._exit_hook = True
            self._ticked = True
            self._inner.tick_once()

    def shutdown(self) -> None:
        """Runs every node's shutdown (once)."""
        with self._driving("shutdown"):
            self._inner.shutdown()
            self._shut_down()

    def nodes(self) -> list:
        """``(name, state, ticks, deadline_misses, overruns, panics)`` per node,
        read between rounds (not from one of its own nodes: while it runs,
        ``horus node list`` shows them)."""
        self._same_thread("nodes")
        if self._busy is not None:
            raise HorusError(f"Scheduler.nodes() was called while its {self._busy}() runs (from "
                             "one of its own nodes?): its nodes' statistics are read between "
                             "rounds; read them after run()/tick_once() returns, or watch them "
                             "with `horus node list` while it runs")
        return self._inner.nodes()


class _Driving:
    """Marks a scheduler busy with ``call`` for a ``with`` block."""

    __slots__ = ("_sched", "_call")

    def __init__(self, sched: Scheduler, call: str) -> None:
        self._sched, self._call = sched, call

    def __enter__(self) -> None:
        self._sched._busy = self._call

    def __exit__(self, *exc: Any) -> None:
        self._sched._busy = None


def run(*nodes: Node, duration: Optional[float] = None, tick_rate: float = 100,
        namespace: Optional[str] = None) -> None:
    """Runs ``nodes`` on a new :class:`Scheduler` (for ``duration`` seconds,
    or until Ctrl+C/SIGTERM)."""
    sched = Scheduler(tick_rate, namespace=namespace)
    for n in nodes:
        sched.add(n)
    sched.run(duration)
