"""Topics in one process: send/recv, loss accounting, type checks."""

import numpy as np
import pytest

import horus
from horus import CmdVel, HorusError, Imu, Topic


def test_send_recv_and_counts(ns):
    t = Topic("cmd_vel", CmdVel)
    t.send(CmdVel(linear=1.5, angular=0.3))
    m = t.recv()
    assert m.linear == 1.5 and abs(m.angular - 0.3) < 1e-6
    assert t.recv() is None
    assert t.dropped_count() == 0 and t.received_count() == 1
    assert t.namespace == ns and t.name == "cmd_vel"


def test_a_value_stored_past_the_checks_is_refused_by_send_with_its_field(ns):
    t = Topic("cmd_vel", CmdVel)
    m = CmdVel(linear=1.0)
    object.__setattr__(m, "linear", "fast")  # bypasses the field's check
    with pytest.raises(TypeError, match="CmdVel.linear"):
        t.send(m)
    assert t.recv() is None, "nothing was published"


def test_two_handles_and_loss_is_counted(ns):
    pub, sub = Topic("imu", Imu), Topic("imu", Imu)
    for i in range(100):  # capacity 64: the subscriber loses 36
        pub.send(Imu(timestamp_ns=i))
    got = []
    while (m := sub.recv()) is not None:
        got.append(m.timestamp_ns)
    # The newest messages arrive in order; exactly the rest are counted lost.
    assert got == list(range(100 - len(got), 100)) and len(got) >= 60
    assert sub.dropped_count() == 100 - len(got)


def test_wrong_type_is_the_type_mismatch_error(ns):
    held = Topic("cmd_vel", CmdVel)  # a live user: the region cannot be replaced
    with pytest.raises(HorusError, match='type mismatch on topic "cmd_vel": this program uses '
                                         '`Imu` but the topic carries `CmdVel`'):
        Topic("cmd_vel", Imu)
    other = horus.message("CmdVel", timestamp_ns="u64", angular="f32", linear="f32")
    with pytest.raises(HorusError, match="two different definitions"):
        Topic("cmd_vel", other)
    del held
    assert Topic("cmd_vel", Imu).msg_type is Imu  # unused now: replaced by the new type


def test_send_checks_the_class_and_names_are_checked(ns):
    t = Topic("cmd_vel", CmdVel)
    with pytest.raises(TypeError, match="topic 'cmd_vel' carries CmdVel, not Imu"):
        t.send(Imu())
    with pytest.raises(TypeError, match="needs a message class"):
        Topic("x", dict)
    with pytest.raises(HorusError, match="invalid topic name"):
        Topic("../etc", CmdVel)


def test_publishers_beyond_max_publishers_are_refused_with_the_fix(ns):
    subs = [Topic("lanes", CmdVel, max_publishers=2) for _ in range(2)]
    pubs = [Topic("lanes", CmdVel) for _ in range(3)]
    pubs[0].send(CmdVel(linear=1.0))
    pubs[1].send(CmdVel(linear=2.0))
    with pytest.raises(HorusError, match=r"max_publishers = 2"):
        pubs[2].send(CmdVel(linear=3.0))
    del pubs[0]  # its lane is free again
    pubs[1].send(CmdVel(linear=4.0))
    got = sorted(m.linear for m in iter(subs[0].recv, None))
    assert got == [1.0, 2.0, 4.0]


def _outcomes_in_a_forked_child(make_calls, *words):
    """Forks; the child runs each call `make_calls()` gives it (made in the
    child) and reports "HorusError" for a HorusError whose sentence has every
    one of `words`, else what happened; it leaves at once. The outcomes."""
    import json
    import os
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        outcomes = []
        for call in make_calls():
            try:
                call()
                outcomes.append("no error")
            except HorusError as e:
                said = str(e)
                outcomes.append("HorusError" if all(x in said for x in words) else said)
            except BaseException as e:  # noqa: BLE001 - what the tests look for
                outcomes.append(repr(e))
        os.write(w, json.dumps(outcomes).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        outcomes = json.loads(pipe.read())
    os.waitpid(pid, 0)
    return outcomes


def test_a_handle_used_in_a_forked_child_raises_horus_error(ns):
    """Was an uncatchable PanicException (a BaseException): the child of
    fork() must make its own handles, and is told so as HorusError."""
    plain = Topic("fork.plain", CmdVel)
    image = Topic("fork.image", horus.Image)
    note = Topic("fork.note", horus.schema("ForkNote", text="str"))
    calls = [
        lambda: plain.send(CmdVel()),
        plain.recv,
        plain.dropped_count,
        lambda: image.send(horus.Image(4, 2, "rgb8")),
        image.recv,
        lambda: note.send({"text": "hi"}),
        note.recv,
    ]
    outcomes = _outcomes_in_a_forked_child(
        lambda: calls, "before fork()", "must create its own Topic")
    assert outcomes == ["HorusError"] * len(calls)
    # The parent's handles are untouched.
    plain.send(CmdVel(linear=2.0))
    assert plain.recv().linear == 2.0


def test_a_large_message_inherited_through_fork_raises_horus_error(ns):
    """A received image, a made one and a loaned one that the parent held at
    the fork are the parent's blocks: in the child, a new array over one or
    a send of one (on the child's own topic) was an uncatchable
    PanicException; it is a HorusError that says to copy before forking."""
    cam = Topic("fork.big", horus.Image)
    sub = Topic("fork.big", horus.Image)
    cam.send(horus.Image(4, 2, "rgb8"))
    received = sub.recv()
    made = horus.Image(4, 2, "rgb8")
    loaned = cam.loan(4, 2, "rgb8")
    def child_calls():
        own = Topic("fork.big", horus.Image)
        return [received.to_numpy, made.to_numpy, loaned.to_numpy,
                lambda: own.send(received), lambda: own.send(made),
                lambda: own.send(loaned)]
    outcomes = _outcomes_in_a_forked_child(child_calls, "before fork()", "array.copy()")
    assert outcomes == ["HorusError"] * 6
    # The parent's messages are untouched and still its own.
    cam.send(made)
    cam.send(loaned)
    assert sub.recv() is not None and sub.recv() is not None
    assert received.to_numpy().shape == (2, 4, 3)


def test_a_forked_child_writing_an_inherited_array_changes_nothing_sent(ns):
    """A worker made by fork() that writes into a numpy array it inherited
    over an image its parent made wrote into the parent's pool block: the
    image the parent then sent changed under its receivers. The child's
    pool mappings are private copies now."""
    import os
    cam = Topic("fork.write", horus.Image)
    sub = Topic("fork.write", horus.Image)
    img = horus.Image(8, 4, "rgb8")
    pixels = img.to_numpy()
    pixels[:] = 1
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: wait for the parent's send, then write
        os.read(r, 1)
        pixels[:] = 99
        os._exit(0)
    del pixels  # no array left in the parent: the send moves the block
    cam.send(img)
    got = sub.recv()
    os.write(w, b"x")
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"the child died: {status}"
    assert got is not None and (got.to_numpy() == 1).all()


def test_a_received_image_stays_readable_in_a_forked_child(ns):
    """The multiprocessing pattern: a worker made by fork() reads a numpy
    array over a received image that its parent held at the fork. The
    child inherits the mapping of the publisher's pool block (and so keeps
    the block's file in use while it lives: docs/decisions.md, "A fork
    child keeps its parent's regions in use while it lives"), so it reads
    the pixels the parent reads, without a copy."""
    import os
    cam = Topic("fork.cam", horus.Image)
    sub = Topic("fork.cam", horus.Image)
    src = (np.arange(48 * 64 * 3) % 251).astype(np.uint8).reshape(48, 64, 3)
    cam.send(horus.Image.from_numpy(src, encoding="rgb8"))
    img = sub.recv()
    assert img is not None and img.received
    pixels = img.to_numpy()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only numpy on the inherited array, then leave
        try:
            said = str(int(pixels.astype(np.uint64).sum())) + " " + str(pixels.shape)
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            said = repr(e)
        os.write(w, said.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        said = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"the child died: {status}"
    assert said == f"{int(src.astype(np.uint64).sum())} {src.shape}"
    assert np.array_equal(pixels, src)


def test_rust_log_shows_what_horus_does_in_a_python_process(ns):
    """`RUST_LOG=debug horus run detector.py` (the seed's way to debug one
    node) showed nothing: the module installed no logger."""
    import os
    import subprocess
    import sys
    script = "import horus; horus.Topic('logged', horus.CmdVel)"
    env = dict(os.environ, RUST_LOG="debug")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    assert "[DEBUG horus::shm::region_file] topic logged (CmdVel): creating" in out.stderr
    env.pop("RUST_LOG")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stderr == ""  # warnings only: a healthy run prints nothing


def test_capacity_shapes_a_topic_and_must_match(ns):
    """The no-space sentence says to make topics smaller (capacity): Python can."""
    small = Topic("small", CmdVel, capacity=4)
    for i in range(10):
        small.send(CmdVel(timestamp_ns=i))
    late = Topic("small", CmdVel)  # unset: takes the existing capacity
    assert late.recv() is None
    reader = Topic("small", CmdVel, capacity=4)
    small.send(CmdVel(timestamp_ns=10))
    assert reader.recv().timestamp_ns == 10
    with pytest.raises(HorusError, match="already exists with capacity 4, not 8"):
        Topic("small", CmdVel, capacity=8)
    with pytest.raises(HorusError, match="capacity 3 is invalid: use a power of two"):
        Topic("odd", CmdVel, capacity=3)


U32 = "give an int from 0 to 4294967295"


@pytest.mark.parametrize("call, exc, words", [
    (lambda: Topic("t", CmdVel, capacity=-1), ValueError, f"Topic capacity=-1 is out of range: {U32}"),
    (lambda: Topic("t", CmdVel, capacity=2**40), ValueError, "Topic capacity=1099511627776 is out"),
    (lambda: Topic("t", CmdVel, max_publishers=-1), ValueError, "Topic max_publishers=-1 is out"),
    (lambda: Topic("t", CmdVel, capacity=True), TypeError, "Topic capacity must be an int, not bool"),
    (lambda: Topic("t", CmdVel, capacity="8"), TypeError, "Topic capacity must be an int, not str"),
    (lambda: Topic("t", horus.schema("S", a="u8"), max_message_bytes=-1), ValueError,
     "Topic max_message_bytes=-1 is out of range"),
    (lambda: horus.Image(-1, 480, "rgb8"), ValueError, f"Image width=-1 is out of range: {U32}"),
    (lambda: horus.Image(640, 2**32, "rgb8"), ValueError, "Image height=4294967296 is out"),
    (lambda: horus.DepthImage(-1, 4), ValueError, "DepthImage width=-1 is out of range"),
    (lambda: horus.PointCloud(-5), ValueError, "PointCloud points=-5 is out of range"),
    (lambda: horus.Tensor([2, -1]), ValueError,
     "Tensor shape[1]=-1 is out of range: give an int from 0 to 18446744073709551615"),
    (lambda: horus.Tensor(3), TypeError, "Tensor shape must be a sequence of ints, not int"),
    (lambda: horus.ImageTopic("t", block_size=-1), ValueError, "ImageTopic block_size=-1 is out"),
    (lambda: horus.TensorTopic("t", max_segments=-1), ValueError, "TensorTopic max_segments=-1"),
    (lambda: horus.ImageTopic("t").loan(-1, 4, "rgb8"), ValueError, "ImageTopic.loan width=-1"),
    (lambda: horus.PointCloudTopic("t").loan(-1), ValueError, "PointCloudTopic.loan points=-1"),
    (lambda: horus.TensorTopic("t").loan([-1]), ValueError, "TensorTopic.loan shape[0]=-1"),
    (lambda: horus.Scheduler(system_topics=False).add(horus.Node(name="n", tick=print, order=-1)),
     ValueError, "Node order=-1 is out of range"),
    (lambda: horus.message("Neg", a=(CmdVel, -1)), ValueError,
     "field 'a' of message 'Neg' is an array of -1 CmdVel: give a length from 1 to 4294967295"),
    (lambda: horus.message("Neg", a=(CmdVel, True)), TypeError,
     "field 'a' of message 'Neg' is an array of CmdVel: its length must be an int, not bool"),
    # Was PyO3's bare OverflowError, and a bool taken as 1 byte.
    (lambda: horus.set_process_pool_limit(-1), ValueError,
     "set_process_pool_limit bytes=-1 is out of range: give an int from 0 to "
     "18446744073709551615"),
    (lambda: horus.set_process_pool_limit(True), TypeError,
     "set_process_pool_limit bytes must be an int, not bool"),
])
def test_integer_arguments_out_of_range_name_the_argument(ns, call, exc, words):
    """Were PyO3's bare OverflowError ('out of range integral type conversion
    attempted'), naming neither the argument nor its range."""
    with pytest.raises(exc) as e:
        call()
    assert words in str(e.value)


def test_numpy_integers_are_integer_arguments(ns):
    np = pytest.importorskip("numpy")
    assert horus.Image(np.uint32(4), np.int64(2), "mono8").width == 4
    assert horus.Tensor(np.array([2, 3])).shape == [2, 3]
    Topic("np", CmdVel, capacity=np.int16(8)).send(CmdVel())
