"""Python nodes on horus-std's scheduler: order, rates, fault policies,
shutdown, the GIL released while it runs."""

import threading
import time

import numpy as np
import pytest

import horus
from horus import CmdVel, HorusError, Node, Scheduler, Topic


def test_nodes_tick_in_order_and_talk_through_topics(ns):
    trace = []

    def produce(node):
        trace.append("produce")
        node.send("cmd", CmdVel(linear=float(len(trace))))

    def consume(node):
        trace.append("consume")
        m = node.recv("cmd")
        trace.append(m.linear if m is not None else None)

    sched = Scheduler(tick_rate=100)
    # Added in reverse: `order` decides.
    sched.add(Node(name="consumer", tick=consume, subs=[("cmd", CmdVel)], order=1))
    sched.add(Node(name="producer", tick=produce, pubs=["cmd"], order=0))
    sched.tick_once()
    sched.tick_once()
    assert trace == ["produce", "consume", 1.0, "produce", "consume", 4.0]
    sched.shutdown()


def test_run_for_a_duration_at_a_rate(ns):
    ticks = []
    sched = Scheduler(tick_rate=100)
    sched.add(Node(name="counter", tick=lambda n: ticks.append(horus.now_ns()), rate=50))
    t0 = time.monotonic()
    sched.run(duration=0.3)
    # The duration counts from the first round, so the run lasts it at
    # least; the upper bound only catches a run that never ends.
    assert 0.3 <= time.monotonic() - t0 < 30.0
    # At 50 Hz, 0.3 s holds the releases at 0, 20, ..., 280 ms: 15 (at
    # the tick rate, 100 Hz, it would be 30). A loaded host skips late
    # releases rather than bunching them, so fewer is no fault; the first
    # round always runs.
    assert 1 <= len(ticks) <= 16, len(ticks)
    (name, state, n, _misses, _overruns, panics), = sched.nodes()
    assert (name, n, panics) == ("counter", len(ticks), 0)


def test_init_and_shutdown_run_once_and_subclasses_work(ns):
    calls = []

    class Worker(Node):
        def init(self):
            calls.append("init")

        def tick(self):
            calls.append("tick")

        def shutdown(self):
            calls.append("shutdown")

    w = Worker(name="worker")
    horus.run(w, duration=0.05)
    assert calls[0] == "init" and calls[-1] == "shutdown" and "tick" in calls
    assert calls.count("init") == calls.count("shutdown") == 1


def test_an_exception_in_tick_follows_the_fault_policy(ns, capfd):
    seen = {"skip": 0, "stop": 0}
    safe = []

    def failing(policy):
        def tick(node):
            seen[policy] += 1
            raise ZeroDivisionError(f"boom in {policy}")
        return tick

    sched = Scheduler(tick_rate=200)
    sched.add(Node(name="skipper", tick=failing("skip"), on_error="skip"))
    sched.add(Node(name="stopper", tick=failing("stop"), on_error="stop",
                   safe_state=lambda n: safe.append(n.name)))
    for _ in range(10):                                 # ten rounds, whatever the host's speed
        sched.tick_once()
    sched.shutdown()
    nodes = {n[0]: n for n in sched.nodes()}
    assert seen["stop"] == 1 and safe == ["stopper"]   # stopped after its first exception
    assert seen["skip"] == 10                           # skipped and ticked again, every round
    assert nodes["skipper"][5] == 10                    # every exception counted as a panic
    assert nodes["stopper"][5] == 1
    err = capfd.readouterr().err
    assert "ZeroDivisionError: boom in stop" in err     # the traceback is printed


def test_every_node_stopped_ends_the_run_with_the_python_fix(ns):
    sched = Scheduler()
    sched.add(Node(name="bad", tick=lambda n: 1 / 0))
    with pytest.raises(HorusError) as e:
        sched.run(duration=5)
    # In Python's words: it named the Rust API (.on_panic(FaultPolicy::Restart)).
    assert "every node stopped after an exception (bad)" in str(e.value)
    assert 'on_error="restart"' in str(e.value) and "FaultPolicy" not in str(e.value)


def test_a_node_driving_its_own_scheduler_is_told_why(ns, capfd):
    """Was 'RuntimeError: Already borrowed' from PyO3."""
    sched = Scheduler(system_topics=False)
    sched.add(Node(name="loop", tick=lambda n: sched.tick_once()))
    with pytest.raises(HorusError, match=r"every node stopped after an exception \(loop\)"):
        sched.run(duration=5)
    assert "Scheduler.tick_once() was called while its run() runs" in capfd.readouterr().err
    with pytest.raises(HorusError, match="already shut its nodes down"):
        sched.tick_once()  # not busy any more: the scheduler's own answer


def _in_thread(f, name):
    """What ``f()`` returned or raised, run in a new thread ``name``."""
    out = {}

    def body():
        try:
            out["ok"] = f()
        except BaseException as e:  # noqa: B036 (a PanicException is a BaseException)
            out["err"] = e

    th = threading.Thread(target=body, name=name)
    th.start()
    th.join()
    return out


def test_a_scheduler_used_from_another_thread_is_told_why(ns):
    """Was PyO3's PanicException ('PyScheduler is unsendable, but sent to
    another thread')."""
    sched = Scheduler(system_topics=False)
    ticks = []
    sched.add(Node(name="n", tick=lambda n: ticks.append(1)))
    for call in [lambda: sched.tick_once(), lambda: sched.run(duration=0.05),
                 lambda: sched.nodes(), lambda: sched.shutdown(),
                 lambda: sched.add(Node(name="m", tick=lambda n: None))]:
        err = _in_thread(call, "worker").get("err")
        assert type(err) is HorusError, repr(err)
        assert "was called in thread 'worker', but the scheduler was created in thread " \
            "'MainThread': a scheduler is used only by the thread that created it; create it " \
            "(and add its nodes) in the thread that runs it" in str(err)
    assert ticks == []
    sched.tick_once()  # its own thread goes on
    assert ticks == [1] and sched.nodes()[0][2] == 1
    sched.shutdown()


def test_a_scheduler_created_in_a_thread_runs_there(ns):
    def own():
        sched = Scheduler(system_topics=False)
        sched.add(Node(name="n", tick=lambda n: None))
        sched.tick_once()
        sched.run(duration=0.05)
        return sched.nodes()[0][0]

    assert _in_thread(own, "worker") == {"ok": "n"}


def test_nodes_read_from_one_of_its_own_ticks_is_told_why(ns, capfd):
    """Was 'RuntimeError: Already mutably borrowed' from PyO3."""
    sched = Scheduler(system_topics=False)
    sched.add(Node(name="reader", tick=lambda n: sched.nodes()), on_error="skip")
    sched.tick_once()
    assert "Scheduler.nodes() was called while its tick_once() runs (from one of its own " \
        "nodes?): its nodes' statistics are read between rounds" in capfd.readouterr().err
    (name, _state, ticks, _m, _o, panics), = sched.nodes()  # between rounds: read
    assert (name, ticks, panics) == ("reader", 1, 1)
    sched.shutdown()


def test_gil_is_released_while_the_scheduler_sleeps(ns):
    count = 0
    stop = threading.Event()

    def spin():
        nonlocal count
        while not stop.is_set():
            count += 1

    th = threading.Thread(target=spin)
    th.start()
    try:
        horus.run(Node(name="idle", tick=lambda n: None, rate=10), duration=0.3)
        before = count
        time.sleep(0.05)
    finally:
        stop.set()
        th.join()
    assert before > 1000


def test_undeclared_topics_and_bad_arguments_are_errors(ns):
    n = Node(name="n", tick=lambda n: None, pubs=["a"], subs=["b"])
    with pytest.raises(HorusError, match="node 'n' does not publish 'x': add it to pubs"):
        n.send("x", CmdVel())
    with pytest.raises(HorusError, match="does not subscribe to 'y'"):
        n.recv("y")
    assert n.recv("b") is None  # nobody created it yet
    with pytest.raises(TypeError, match="Node needs a tick"):
        Node(name="none")
    with pytest.raises(ValueError, match='on_error of node "p" is "explode"'):
        Scheduler().add(Node(name="p", tick=lambda n: None, on_error="explode"))
    with pytest.raises(ValueError, match="tick_rate must be a positive number of Hz"):
        Scheduler(tick_rate=0)
    # Numbers a float cannot hold, and what is not a number, are named.
    huge = r"=10{15}…, 401 digits is out of range"  # 10**400, cut in the sentence
    with pytest.raises(ValueError, match="Scheduler tick_rate" + huge):
        Scheduler(tick_rate=10**400)
    with pytest.raises(TypeError, match="Scheduler tick_rate must be a number, not bool"):
        Scheduler(tick_rate=True)
    with pytest.raises(ValueError, match="Node rate" + huge):
        Scheduler().add(Node(name="r", tick=lambda n: None, rate=10**400))
    with pytest.raises(TypeError, match="Node budget must be a number, not str"):
        Scheduler().add(Node(name="b", tick=lambda n: None, budget="1ms"))
    with pytest.raises(ValueError, match=r"Scheduler\.run duration" + huge):
        Scheduler(system_topics=False).run(duration=10**400)
    assert Scheduler(tick_rate=np.float32(50)) is not None
    with pytest.raises(ValueError, match=r"rate of 0.0000001 Hz is below the slowest rate .* 1 µHz"):
        Scheduler().add(Node(name="slow", tick=lambda n: None, rate=1e-7))
    # Was three hundred digits.
    with pytest.raises(ValueError, match=r"tick_rate of 1e-300 Hz is below the slowest rate"):
        Scheduler(tick_rate=1e-300)
    # Refused where it is written (it was accepted, and failed at the first
    # add of a node without a rate of its own).
    with pytest.raises(HorusError, match=r"^horus\.Scheduler\(tick_rate=2000000\): the rate is too fast"):
        Scheduler(tick_rate=2e6)
    assert Scheduler(tick_rate=1e6) is not None  # the fastest
    sched = Scheduler()
    sched.add(Node(name="same", tick=lambda n: None))
    with pytest.raises(HorusError, match=r"two nodes are named \"same\".*horus.Node\(name="):
        sched.add(Node(name="same", tick=lambda n: None))
    with pytest.raises(HorusError, match="it is longer than the registry holds"):
        sched.add(Node(name="n" * 49, tick=lambda n: None))


def test_a_topic_name_no_topic_can_have_fails_the_nodes_init(ns):
    """Was: a subscription without a class to an invalid name received None
    on every tick, as if nobody had created the topic yet."""
    for kind in ["subs", "pubs"]:
        sched = Scheduler(system_topics=False)
        sched.add(Node(name="x", tick=lambda n: None, **{kind: ["bad name"]}))
        with pytest.raises(HorusError, match='invalid topic name "bad name"'):
            sched.tick_once()


def test_subscription_type_taken_from_the_existing_topic(ns):
    enc = horus.message("WheelEncoder", left_ticks="i64", right_ticks="i64", timestamp_ns="u64")
    pub = Topic("wheel.encoders", enc)
    got = []

    def tick(node):
        if (e := node.recv("wheel.encoders")) is not None:
            got.append(e.left_ticks)

    sched = Scheduler()
    sched.add(Node(name="odometry", subs=["wheel.encoders"], tick=tick))
    sched.tick_once()        # joins the topic (type from the region)
    pub.send(enc(left_ticks=5))
    sched.tick_once()
    sched.shutdown()
    assert got == [5]


@pytest.mark.parametrize("kind", ["serialized", "tensor"])
def test_subscription_to_a_serialized_or_large_topic_without_a_class(ns, kind):
    if kind == "serialized":
        pub = Topic("data", horus.Schema("Note", b"HSS\x01\x04Note\x10"))
        msg, value = "hello", (lambda m: m)
    else:
        pub = Topic("data", horus.Tensor)
        msg = horus.Tensor.from_numpy(np.arange(3, dtype=np.int32))
        value = (lambda m: m.to_numpy().tolist())
    got = []

    def tick(node):
        if (m := node.recv("data")) is not None:
            got.append(value(m))

    sched = Scheduler()
    sched.add(Node(name="reader", subs=["data"], tick=tick))
    sched.tick_once()        # joins the topic (its kind from the region)
    pub.send(msg)
    sched.tick_once()
    sched.shutdown()
    assert got == (["hello"] if kind == "serialized" else [[0, 1, 2]])


def test_no_node_starts_without_the_estop_unless_asked(ns):
    from conftest import shm_base
    d = shm_base() / f"horus_{ns}"
    d.mkdir(mode=0o700)
    estop = d / "_horus.estop.topic"
    estop.write_bytes(b"\x5a" * 4096)
    estop.chmod(0o600)
    ticks = []
    sched = Scheduler()
    sched.add(Node(name="motor", tick=lambda n: ticks.append(1)))
    with pytest.raises(HorusError) as e:
        sched.run(duration=0.05)
    said = str(e.value)
    assert said.startswith(f"no node started: this scheduler could not follow the e-stop of "
                           f"namespace {ns}: {estop} is not a valid HORUS topic")
    assert "horus.Scheduler(system_topics=False)" in said and not ticks
    off = Scheduler(system_topics=False)
    off.add(Node(name="motor", tick=lambda n: ticks.append(1)))
    off.run(duration=0.05)
    assert ticks


def _tick(node):
    pass


# (keyword arguments of Node, the exception, what its sentence says): each
# was accepted by Node(...) and refused only at Scheduler.add, or at the
# first tick (a tick that is not callable), or never (an empty name became
# the tick's name; a topic name that is not a str).
BAD_NODE_ARGUMENTS = [
    ({"tick": 5}, TypeError, r"^Node tick must be callable, .*not int$"),
    ({"init": "setup"}, TypeError, r"^Node init must be callable, .*not str$"),
    ({"shutdown": 1.0}, TypeError, r"^Node shutdown must be callable, .*not float$"),
    ({"safe_state": True}, TypeError, r"^Node safe_state must be callable, .*not bool$"),
    ({"rate": -1}, ValueError, r"^rate must be a positive number of Hz, not -1$"),
    ({"rate": 0}, ValueError, r"^rate must be a positive number of Hz, not 0$"),
    ({"rate": "fast"}, TypeError, r"^Node rate must be a number, not str$"),
    ({"rate": 2e6}, HorusError,
     r'^node "n": the rate is too fast: .* \(horus\.Node\(rate=\.\.\.\), or '
     r"horus\.Scheduler\(tick_rate=\.\.\.\) for a node without its own rate\)$"),
    ({"budget": -1}, ValueError, r"^budget must be a non-negative number of seconds, not -1$"),
    ({"tolerance": float("nan")}, ValueError,
     r"^tolerance must be a non-negative number of seconds, not NaN$"),
    ({"order": -1}, ValueError, r"^Node order=-1 is out of range: give an int from 0 to 4294967295$"),
    ({"order": 2**40}, ValueError, r"^Node order=1099511627776 is out of range"),
    ({"order": 1.5}, TypeError, r"^Node order must be an int, not float$"),
    ({"on_error": "panic"}, ValueError,
     r'^on_error of node "n" is "panic": it is one of "stop", "skip", "restart"$'),
    ({"on_error": None}, TypeError, r"^Node on_error must be a str, not NoneType$"),
    ({"name": ""}, HorusError, r'^node name "" is invalid: it is empty; .*\(horus\.Node\(name=\.\.\.\)\)$'),
    ({"name": "n" * 49}, HorusError, r"is invalid: it is longer than the registry holds; use 1 to 48 bytes"),
    ({"name": "left\twheel"}, HorusError, r'^node name "left\\twheel" is invalid: it has control characters'),
    ({"name": b"n"}, TypeError, r"^Node name must be a str, not bytes$"),
    ({"subs": 5}, TypeError, r"^subs lists topic names, .* dict, not 5$"),
    ({"subs": [("imu", "Imu")]}, TypeError,
     r"^subs: topic 'imu' is given 'Imu', which is not a message class"),
    ({"pubs": {"cmd": 5}}, TypeError, r"^pubs: topic 'cmd' is given 5, which is not a message class"),
    ({"pubs": [(5, CmdVel)]}, TypeError, r"^pubs lists topic names, .*: a topic name is a str, not 5$"),
]


@pytest.mark.parametrize("kwargs, error, said", BAD_NODE_ARGUMENTS,
                         ids=[f"{k}={v!r:.20}" for kw, _, _ in BAD_NODE_ARGUMENTS
                              for k, v in kw.items()])
def test_a_bad_node_argument_is_refused_at_node_naming_it(kwargs, error, said):
    """Where the mistake is written, before any scheduler exists, with the
    exception type and sentence Scheduler.add raised for it."""
    arguments = {"name": "n", "tick": _tick, **kwargs}
    with pytest.raises(error, match=said):
        Node(**arguments)


def test_a_subclass_is_checked_at_construction_and_its_later_changes_at_add(ns):
    class Wheel(Node):
        def __init__(self, rate):
            super().__init__("wheel", rate=rate, on_error="skip")

        def tick(self):
            pass

    with pytest.raises(ValueError, match=r"^rate must be a positive number of Hz, not -5$"):
        Wheel(rate=-5)
    wheel = Wheel(rate=50)
    assert (wheel.name, wheel.rate, wheel.on_error) == ("wheel", 50, "skip")
    sched = Scheduler(system_topics=False)
    # Set after __init__: Node(...) never saw it; add refuses it as Node would.
    wheel.rate = -5
    with pytest.raises(ValueError, match=r"^rate must be a positive number of Hz, not -5$"):
        sched.add(wheel)
    wheel.rate = 50
    sched.add(wheel)
    assert [n[0] for n in sched.nodes()] == ["wheel"]


def test_scheduler_add_overrides_are_checked_with_the_same_sentences(ns):
    sched = Scheduler(system_topics=False)
    node = Node("n", _tick)
    for override, error, said in [
        ({"rate": 0}, ValueError, r"^rate must be a positive number of Hz, not 0$"),
        ({"rate": 2e6}, HorusError, r'^node "n": the rate is too fast: .*\(horus\.Node\(rate='),
        ({"order": -1}, ValueError, r"^Node order=-1 is out of range"),
        ({"on_error": "panic"}, ValueError, r'^on_error of node "n" is "panic"'),
    ]:
        with pytest.raises(error, match=said):
            sched.add(node, **override)
    assert sched.nodes() == []
    sched.add(node, rate=1e6, order=2**32 - 1, on_error="restart")  # the limits themselves
    assert [n[0] for n in sched.nodes()] == ["n"]


def test_node_defaults_and_limits_are_accepted():
    # The name defaults to the tick's, else the class's; None leaves a
    # setting to the scheduler.
    assert Node(tick=_tick).name == "_tick"
    assert Node(name=None, tick=_tick, rate=None, order=None, budget=None).name == "_tick"
    node = Node("n" * 48, _tick, rate=1e6, order=2**32 - 1, budget=0, tolerance=0.5,
                on_error="restart", init=print, subs={"a": CmdVel}, pubs=("b",))
    assert (node.rate, node.order, node.budget) == (1e6, 2**32 - 1, 0)
