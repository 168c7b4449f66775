"""horus.Tensor, horus.DepthImage and horus.PointCloud in one process:
numpy arrays over their bytes (writable to send, read-only over the pool
block when received), the block held while an array lives, DLPack, and bad
input raising HorusError with the sentence."""

import gc

import numpy as np
import pytest

from horus import (DepthImage, DepthTopic, HorusError, Image, PointCloud, PointCloudTopic,
                   Tensor, TensorTopic, Topic)

from conftest import dlpack_of_received, pool_file_position


@pytest.mark.parametrize("dtype,shape", [
    ("uint8", (7,)), ("int8", (2, 3)), ("uint16", (3, 4)), ("int16", (2, 2, 2)),
    ("uint32", (5, 1)), ("int32", (1, 6)), ("uint64", (3,)), ("int64", (2, 5)),
    ("float16", (4, 4)), ("float32", (2, 3, 4)), ("float64", (3, 3)), ("bool", (6,)),
])
def test_every_dtype_travels_with_its_shape_and_lands_in_the_block(ns, dtype, shape):
    src = (np.arange(int(np.prod(shape))) % 7).astype(dtype).reshape(shape)
    t = Topic("t.dtypes", Tensor)
    assert isinstance(t, TensorTopic)
    t.send(Tensor.from_numpy(src))
    got = t.recv()
    assert got.received and got.in_pool
    assert (tuple(got.shape), got.dtype) == (shape, dtype)
    arr = got.to_numpy()
    assert arr.dtype == np.dtype(dtype) and not arr.flags.writeable and arr.flags.c_contiguous
    np.testing.assert_array_equal(arr, src)
    assert pool_file_position(ns, arr) is not None
    via_dlpack = dlpack_of_received(got)
    if via_dlpack is not None:
        np.testing.assert_array_equal(via_dlpack, src)


def test_a_loaned_tensor_is_filled_in_place_and_its_block_held_while_an_array_lives(ns):
    t = Topic("t.loan", Tensor)
    msg = t.loan([3, 4], "float32")
    assert msg.in_pool and not msg.received and msg.strides == [16, 4]
    msg.to_numpy()[:] = np.arange(12, dtype=np.float32).reshape(3, 4)
    t.send(msg)
    with pytest.raises(HorusError, match="was sent"):
        msg.to_numpy()
    got = t.recv()
    arr = got.to_numpy()
    del got
    gc.collect()
    assert t.busy_blocks() == 1  # the array alone holds the block
    assert arr[2, 3] == 11.0
    del arr
    gc.collect()
    assert t.busy_blocks() == 0


def test_a_tensor_sent_while_its_array_lives_is_copied_and_the_array_stays_valid(ns):
    t = Topic("t.copy", Tensor)
    msg = Tensor([2, 2], "int32")
    a = msg.to_numpy()
    a[:] = 5
    t.send(msg)  # a copy: `a` still points at msg's bytes
    a[:] = 9
    np.testing.assert_array_equal(t.recv().to_numpy(), np.full((2, 2), 5, np.int32))


@pytest.mark.parametrize("make, words", [
    (lambda: Tensor([2, 2], "complex64"), 'unknown tensor dtype "complex64"'),
    (lambda: Tensor([2, 0]), "has no elements"),
    (lambda: Tensor([1] * 9), "more than 8 dimensions"),
    (lambda: Tensor.from_numpy(np.zeros(3, ">f4")), "native byte order"),
    (lambda: Tensor.from_numpy(np.zeros(3, np.complex64)), 'unknown tensor dtype "complex64"'),
    (lambda: Tensor.from_numpy([1, 2]), "takes a numpy array, not list"),
    (lambda: DepthImage(4, 4, "rgb8"), "rgb8"),
    (lambda: DepthImage.from_numpy(np.zeros((4, 4), np.uint8)), "uint16 (depth16, millimetres)"),
    (lambda: DepthImage.from_numpy(np.zeros((4, 4, 1), np.uint16)), "of shape [4, 4, 1]"),
    (lambda: PointCloud(3, "xyzq"), 'unknown point layout "xyzq"'),
    (lambda: PointCloud(0), "point"),
    (lambda: PointCloud.from_numpy(np.zeros((3, 2), np.float32)), "(points, 3)"),
    (lambda: PointCloud.from_numpy(np.zeros((3, 3))), "not float64"),
    (lambda: PointCloud(2).field("rgb"), 'no field "rgb": its fields are x, y, z'),
])
def test_bad_input_raises_the_sentence(make, words):
    with pytest.raises(HorusError) as e:
        make()
    assert words in str(e.value)


def test_topics_take_only_their_kind(ns):
    with pytest.raises(TypeError, match="carries horus.Tensor"):
        TensorTopic("t.kind", Image)
    t = Topic("t.kind", Tensor)
    with pytest.raises(TypeError, match="carries Tensor, not Image"):
        t.send(Image(2, 2, "mono8"))


@pytest.mark.parametrize("dtype, encoding", [(np.uint16, "depth16"), (np.float32, "32FC1")])
def test_depth_images_are_height_by_width_of_their_unit(ns, dtype, encoding):
    src = np.arange(20).astype(dtype).reshape(4, 5)
    t = Topic("d.depth", DepthImage)
    assert isinstance(t, DepthTopic)
    t.send(DepthImage.from_numpy(src))
    got = t.recv()
    assert (got.width, got.height, got.encoding) == (5, 4, encoding)
    arr = got.to_numpy()
    assert arr.dtype == dtype and not arr.flags.writeable
    np.testing.assert_array_equal(arr, src)
    assert pool_file_position(ns, arr) is not None
    loaned = t.loan(5, 4, encoding)
    loaned.to_numpy()[:] = 3
    t.send(loaned)
    # A depth topic is an image topic to image subscribers (as in ROS).
    as_image = Topic("d.depth", Image).recv
    assert as_image() is None  # joined after: nothing retained for it yet
    np.testing.assert_array_equal(t.recv().to_numpy(), np.full((4, 5), 3, dtype))


def test_point_clouds_give_xyz_and_field_views(ns):
    t = Topic("c.points", PointCloud)
    assert isinstance(t, PointCloudTopic)
    c = t.loan(4, "xyzrgb")
    assert (c.points, c.point_step) == (4, 16)
    assert c.fields == [("x", 0, "float32"), ("y", 4, "float32"), ("z", 8, "float32"),
                        ("rgb", 12, "uint32")]
    xyz = np.arange(12, dtype=np.float32).reshape(4, 3)
    c.to_numpy()[:] = xyz
    c.field("rgb")[:] = [0xFF0000, 0x00FF00, 0x0000FF, 0]
    t.send(c)
    got = t.recv()
    arr = got.to_numpy()
    assert arr.shape == (4, 3) and arr.strides == (16, 4) and not arr.flags.writeable
    np.testing.assert_array_equal(arr, xyz)
    np.testing.assert_array_equal(got.field("rgb"), [0xFF0000, 0x00FF00, 0x0000FF, 0])
    assert got.field("rgb").dtype == np.uint32
    assert pool_file_position(ns, got.field("x")) is not None

    xyzi = np.arange(8, dtype=np.float32).reshape(2, 4)
    t.send(PointCloud.from_numpy(xyzi))
    got = t.recv()
    assert got.fields[-1] == ("intensity", 12, "float32")
    np.testing.assert_array_equal(got.to_numpy(), xyzi[:, :3])
    np.testing.assert_array_equal(got.field("intensity"), xyzi[:, 3])


def test_a_topic_of_something_that_is_not_a_message_class_is_a_type_error(ns):
    for not_a_class in ({}, [], "Tensor", 3):
        with pytest.raises(TypeError, match="needs a message class"):
            Topic("t.nothing", not_a_class)
