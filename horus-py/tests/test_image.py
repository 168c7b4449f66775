"""horus.Image in one process: construction, numpy arrays over the pixels
(writable to send, read-only over the pool block when received), DLPack,
the zero-copy claim, and bad input raising HorusError with the sentence."""

import gc
import re
import subprocess
import sys

import numpy as np
import pytest

import horus
from horus import HorusError, Image, Topic

from conftest import dlpack_of_received, pool_file_position


def test_image_geometry_and_black_pixels():
    img = Image(640, 480, "rgb8")
    assert (img.width, img.height, img.encoding, img.step) == (640, 480, "rgb8", 1920)
    a = img.to_numpy()
    assert a.shape == (480, 640, 3) and a.dtype == np.uint8 and a.flags.writeable
    assert not a.any() and not a.flags.owndata
    iface = img.array_base().__array_interface__  # the dict form, as numpy reads it
    assert iface["shape"] == (480, 640, 3) and iface["typestr"] == "|u1"
    assert iface["strides"] == (1920, 3, 1) and iface["data"] == (a.ctypes.data, False)
    assert np.asarray(type("Iface", (), {"__array_interface__": iface})()).ctypes.data \
        == a.ctypes.data
    assert not img.received and img.in_pool  # a block of the process pool


@pytest.mark.parametrize("enc,shape,dtype", [
    ("mono8", (4, 6), np.uint8), ("mono16", (4, 6), np.uint16), ("rgb8", (4, 6, 3), np.uint8),
    ("bgr8", (4, 6, 3), np.uint8), ("rgba8", (4, 6, 4), np.uint8), ("bgra8", (4, 6, 4), np.uint8),
    ("yuv422", (4, 6, 2), np.uint8), ("depth16", (4, 6), np.uint16), ("32FC1", (4, 6), np.float32),
])
def test_every_encoding_has_its_numpy_shape_and_dtype(ns, enc, shape, dtype):
    src = (np.arange(int(np.prod(shape))) % 251).astype(dtype).reshape(shape)
    img = Image.from_numpy(src, encoding=enc)
    assert img.to_numpy().shape == shape and img.to_numpy().dtype == dtype
    t = Topic("img.enc", Image)
    t.send(img)
    got = t.recv()
    assert got is not None and got.encoding == enc and (got.width, got.height) == (6, 4)
    arr = got.to_numpy()
    assert arr.dtype == dtype and arr.shape == shape
    np.testing.assert_array_equal(arr, src)


def test_from_numpy_guesses_the_encoding_and_takes_strided_arrays():
    assert Image.from_numpy(np.zeros((3, 4), np.uint8)).encoding == "mono8"
    assert Image.from_numpy(np.zeros((3, 4, 3), np.uint8)).encoding == "rgb8"
    assert Image.from_numpy(np.zeros((3, 4, 4), np.uint8)).encoding == "rgba8"
    assert Image.from_numpy(np.zeros((3, 4), np.float32)).encoding == "32FC1"
    big = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    img = Image.from_numpy(big[::2, ::2], encoding="rgb8")  # not contiguous: copied right
    np.testing.assert_array_equal(img.to_numpy(), big[::2, ::2])


@pytest.mark.parametrize("arr,enc,words", [
    (np.zeros((4, 6, 3)), "rgb8", "needs a uint8 array of shape (height, width, 3), not float64"),
    (np.zeros((4, 6), np.uint8), "rgb8", "not shape (4, 6)"),
    (np.zeros((4, 6, 4), np.uint8), "rgb8", "not shape (4, 6, 4)"),
    (np.zeros((4, 6), np.uint8), "mono16", "needs a uint16 array"),
    (np.zeros((4, 6), ">u2"), "mono16", "needs a uint16 array"),
    (np.zeros(6, np.uint8), "mono8", "not shape (6,)"),
    (np.zeros((4, 5, 2), np.uint8), "yuv422", "width 5 is odd"),
    (np.zeros((0, 5), np.uint8), "mono8", "5x0 pixels is empty"),
    (np.zeros((4, 6), np.int64), None, "no image encoding is a int64 array of shape (4, 6)"),
    (np.zeros((4, 6), np.uint8), "rgb9", "rgb9"),
])
def test_bad_arrays_raise_the_sentence(arr, enc, words):
    with pytest.raises(HorusError) as e:
        Image.from_numpy(arr, encoding=enc)
    assert words in str(e.value), str(e.value)


def test_bad_constructor_arguments_raise_the_sentence():
    with pytest.raises(HorusError, match="rgb9"):
        Image(640, 480, "rgb9")
    with pytest.raises(HorusError, match="0x480 pixels is empty"):
        Image(0, 480, "rgb8")
    with pytest.raises(HorusError, match="odd"):
        Image(641, 480, "yuv422")
    with pytest.raises(HorusError, match="numpy array"):
        Image.from_numpy([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="Image width=-1 is out of range: give an int from 0"):
        Image(-1, 480, "rgb8")


def test_loaned_image_is_filled_in_place_and_sent_without_copy(ns):
    pub, sub = Topic("img.loan", Image), Topic("img.loan", Image)
    img = pub.loan(64, 48, "rgb8")
    assert img.in_pool
    a = img.to_numpy()
    a[:] = 7
    where = pool_file_position(ns, a)
    assert where is not None, "the loaned image's pixels are not in a pool segment"
    del a
    pub.send(img)
    with pytest.raises(HorusError, match="was sent"):
        img.to_numpy()
    got = sub.recv()
    # The very bytes of the segment file the publisher filled (the receiver
    # maps the segment at an address of its own).
    assert pool_file_position(ns, got.to_numpy()) == where
    assert (got.to_numpy() == 7).all()


def test_send_while_arrays_are_alive_sends_a_copy_and_the_arrays_stay_valid(ns):
    pub, sub = Topic("img.copy", Image), Topic("img.copy", Image)
    img = pub.loan(8, 8, "mono8")
    a = img.to_numpy()
    a[:] = 1
    pub.send(img)  # `a` is alive: a copy goes out
    a[:] = 2  # writes to the still-loaned block, not to the published one
    first = sub.recv()
    assert (first.to_numpy() == 1).all()
    assert first.to_numpy().ctypes.data != a.ctypes.data
    del a
    pub.send(img)
    assert (sub.recv().to_numpy() == 2).all()


@pytest.mark.parametrize("w,h,enc", [(5, 3, "mono8"), (33, 7, "rgb8"), (640, 480, "rgb8")])
def test_the_copy_sent_while_an_array_is_alive_has_every_byte(ns, w, h, enc):
    # Sizes that are not whole words or whole 64-byte blocks: the copy's tail.
    pub, sub = Topic("img.copyall", Image), Topic("img.copyall", Image)
    img = pub.loan(w, h, enc)
    a = img.to_numpy()
    src = np.random.default_rng(w).integers(0, 255, a.shape, dtype=np.uint8)
    a[...] = src
    pub.send(img)  # `a` is alive: a copy goes out
    got = sub.recv()
    assert got is not None and (got.to_numpy() == src).all()


def test_received_array_is_read_only_over_the_block_and_keeps_it_held(ns):
    pub, sub = Topic("img.view", Image), Topic("img.view", Image)
    src = np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    pub.send(Image.from_numpy(src))
    got = sub.recv()
    assert got.received and got.in_pool
    arr = got.to_numpy()
    assert not arr.flags.writeable and not arr.flags.owndata
    with pytest.raises(ValueError):
        arr[0, 0, 0] = 1
    with pytest.raises(ValueError):
        arr.flags.writeable = True  # its base offers no writable buffer
    # Made through numpy's C API: the base is the owner itself (no capsule tuple).
    assert type(arr.base) is horus._horus.ArrayBase
    lo, n = got.array_base().address_range
    assert arr.ctypes.data == lo and n == arr.nbytes
    # numpy's own discovery (`__array_struct__`) reaches the same read-only memory.
    again = np.asarray(got.array_base())
    assert again.ctypes.data == lo and not again.flags.writeable
    del again
    assert pool_file_position(ns, arr) is not None
    assert pub.busy_blocks() == 1
    del got
    gc.collect()
    assert pub.busy_blocks() == 1  # the array alone keeps the block held
    np.testing.assert_array_equal(arr, src)
    view = arr[10:20, 5:9]  # a numpy view of the view: keeps it too
    del arr
    assert pub.busy_blocks() == 1
    del view
    assert pub.busy_blocks() == 0


def test_arrays_take_and_give_back_exactly_their_references(ns):
    # to_numpy hands numpy a dtype reference and the base object through raw
    # C calls that steal them: a reference too many or too few shows here.
    pub, sub = Topic("img.refs", Image), Topic("img.refs", Image)
    pub.send(Image.from_numpy(np.full((4, 6, 3), 7, np.uint8)))
    got = sub.recv()
    u1 = np.dtype("u1")
    refs = sys.getrefcount(u1)
    arrays = [got.to_numpy() for _ in range(1000)]
    assert all(a.dtype is u1 and type(a.base) is horus._horus.ArrayBase for a in arrays)
    assert pub.busy_blocks() == 1
    del arrays
    gc.collect()
    assert sys.getrefcount(u1) == refs
    del got
    gc.collect()
    assert pub.busy_blocks() == 0  # every base, and so the view, was freed


def test_arrays_outlive_the_topic_handles(ns):
    pub, sub = Topic("img.outlive", Image), Topic("img.outlive", Image)
    pub.send(Image.from_numpy(np.full((4, 4), 9, np.uint8)))
    arr = sub.recv().to_numpy()
    del pub, sub
    gc.collect()
    assert (arr == 9).all()


def test_dlpack_of_a_received_image_is_the_block_read_only(ns):
    pub, sub = Topic("img.dl", Image), Topic("img.dl", Image)
    pub.send(Image.from_numpy(np.full((4, 6, 3), 5, np.uint8)))
    got = sub.recv()
    assert got.__dlpack_device__() == (1, 0)
    x = dlpack_of_received(got)
    if x is not None:
        assert x.shape == (4, 6, 3) and (x == 5).all()
        assert x.ctypes.data == got.to_numpy().ctypes.data
        assert not x.flags.writeable
    # A pre-1.0 consumer gets a "dltensor", which cannot say read-only: refused,
    # as numpy refuses its read-only arrays (it could write into the shared block).
    with pytest.raises(BufferError, match="read-only .* max_version=\\(1, 0\\)"):
        got.__dlpack__()
    with pytest.raises(BufferError):
        got.__dlpack__(dl_device=(2, 0))
    with pytest.raises(BufferError):
        got.__dlpack__(copy=True)
    del got, x
    gc.collect()
    assert pub.busy_blocks() == 0


class LegacyConsumerView:
    """What a pre-1.0 DLPack producer looks like to numpy: ``__dlpack__``
    without ``max_version``, so numpy takes the legacy capsule."""

    def __init__(self, img):
        self.img = img

    def __dlpack__(self, stream=None):
        return self.img.__dlpack__(stream=stream)

    def __dlpack_device__(self):
        return self.img.__dlpack_device__()


def test_legacy_dlpack_consumer_gets_the_block_and_its_deleter_releases_it(ns):
    pub = Topic("img.dl0", Image)
    img = pub.loan(6, 4, "mono16")  # writable: a legacy capsule may carry it
    img.to_numpy()[...] = 3
    x = np.from_dlpack(LegacyConsumerView(img))
    assert x.dtype == np.uint16 and x.shape == (4, 6) and (x == 3).all()
    assert x.ctypes.data == img.to_numpy().ctypes.data
    del img
    gc.collect()
    assert pub.busy_blocks() == 1  # the consumed capsule's tensor holds it
    del x
    gc.collect()
    assert pub.busy_blocks() == 0  # numpy called our deleter


def test_image_topic_counts_and_type_checks(ns):
    pub, sub = Topic("img.counts", Image), Topic("img.counts", Image)
    assert isinstance(pub, horus.ImageTopic) and repr(pub) == "Topic('img.counts', Image)"
    with pytest.raises(TypeError, match="carries Image"):
        pub.send(horus.CmdVel())
    with pytest.raises(HorusError, match="rgb9"):
        pub.loan(4, 4, "rgb9")
    for _ in range(3):
        pub.send(Image(8, 8, "mono8"))
    assert pub.published_count() == 3
    got = [sub.recv() for _ in range(3)]
    assert all(g is not None for g in got) and sub.recv() is None
    assert sub.received_count() == 3 and sub.dropped_count() == 0
    assert pub.unsent_count() == 0 and pub.pool_segments() >= 1


def test_pool_exhaustion_is_counted_or_raised_never_blocking(ns):
    pub = horus.ImageTopic("img.full", blocks_per_segment=2, max_segments=1)
    sub = Topic("img.full", Image)
    held = []
    for _ in range(2):
        pub.send(pub.loan(8, 8, "mono8"))
        held.append(sub.recv().to_numpy())
    # In Python's words (was: "raise Topic::builder(..).max_segments", Rust's API).
    python_fix = ("message not sent on topic img.full: all 1 pool segments of 2 blocks are "
                  "held by readers or being written; readers should drop received messages and "
                  "the arrays over them sooner, or give this publisher's handle a larger "
                  "max_segments= or blocks_per_segment= (keyword arguments of horus.Topic)")
    with pytest.raises(HorusError) as e:
        pub.loan(8, 8, "mono8")
    assert str(e.value) == python_fix
    # A block of another topic's pool is copied into this one's: none free.
    other = horus.ImageTopic("img.other")
    with pytest.raises(HorusError) as e:
        pub.try_send(other.loan(8, 8, "mono8"))
    assert str(e.value) == python_fix
    pub.send(other.loan(8, 8, "mono8"))
    assert pub.unsent_count() == 1
    held.clear()
    pub.try_send(pub.loan(8, 8, "mono8"))  # blocks came back
    pub.send(Image(8, 8, "mono8"))  # the process pool's block: never this topic's pool


def test_pool_options_out_of_range_raise_at_creation(ns):
    for kwargs, option in [
        ({"blocks_per_segment": 0}, "blocks_per_segment(0)"),
        ({"max_segments": 0}, "max_segments(0)"),
        ({"block_size": 1 << 31}, "block_size(2147483648)"),
    ]:
        with pytest.raises(HorusError, match=re.escape(option)):
            horus.ImageTopic("img.opts", **kwargs)
    horus.ImageTopic("img.opts", blocks_per_segment=1, max_segments=1, block_size=64)


def test_node_opens_image_topics_by_their_type(ns):
    pub = Topic("img.node", Image)
    seen = []

    def tick(node):
        if (img := node.recv("img.node")) is not None:
            seen.append(int(img.to_numpy()[0, 0]))

    sched = horus.Scheduler(tick_rate=100)
    sched.add(horus.Node(name="viewer", subs=["img.node"], tick=tick))
    sched.tick_once()  # joins the topic (its type taken from the region)
    pub.send(Image.from_numpy(np.full((2, 2), 42, np.uint8)))
    sched.tick_once()
    sched.shutdown()
    assert seen == [42]


def test_an_array_in_the_other_byte_order_is_named_so():
    """Was 'a mono16 image needs a uint16 array ..., not uint16': numpy names
    both byte orders uint16."""
    swapped = np.zeros((2, 2), ">u2" if sys.byteorder == "little" else "<u2")
    order = "big" if sys.byteorder == "little" else "little"
    with pytest.raises(HorusError, match=f"not {order}-endian uint16 of shape"):
        horus.Image.from_numpy(swapped, encoding="mono16")
    with pytest.raises(HorusError, match=f"no image encoding is a {order}-endian uint16 array"):
        horus.Image.from_numpy(swapped)
    assert horus.Image.from_numpy(swapped.astype("=u2"), encoding="mono16").encoding == "mono16"


POOL_LIMIT_SCRIPT = """
import horus
from horus import HorusError, Image
assert horus.process_pool_limit() == 256 << 20
horus.set_process_pool_limit(9 << 20)  # one segment of eight 1 MiB blocks
assert horus.process_pool_limit() == 9 << 20
held = [Image(640, 480, "rgb8") for _ in range(8)]
assert all(i.in_pool for i in held)
try:
    Image(640, 480, "rgb8")
except HorusError as e:
    print(e)
else:
    raise SystemExit("a ninth image was made past the limit")
"""


def test_the_process_pool_limit_is_set_from_python_and_its_error_says_how(ns):
    # Its own interpreter: the limit and the pool are the process's.
    done = subprocess.run([sys.executable, "-c", POOL_LIMIT_SCRIPT], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9437184-byte limit" in done.stdout, done.stdout
    assert "horus.set_process_pool_limit(bytes)" in done.stdout, done.stdout
    assert "horus::" not in done.stdout, done.stdout
