"""Message classes: the standard ones, horus.message, and bad input."""

import fractions
import struct

import pytest

import horus
from horus import CmdVel, HorusError, Imu, LaserScan, Odometry, Pose2D, Twist

STANDARD = ["CmdVel", "Twist", "Pose2D", "Pose3D", "Imu", "Odometry", "JointState",
            "LaserScan", "BatteryState", "Heartbeat", "EmergencyStop"]


def test_every_standard_message_exists_with_its_fields():
    for name in STANDARD:
        cls = getattr(horus, name)
        assert cls.__name__ == name
        assert cls.size() == len(cls().to_bytes())
    assert CmdVel.fields() == {"timestamp_ns": "u64", "linear": "f32", "angular": "f32"}
    assert CmdVel.size() == 16 and Imu.size() == 88
    assert Odometry.fields()["pose"] == "Pose2D"
    assert Odometry.fields()["frame_id"] == "u8[32]"


def test_declared_messages_are_the_rust_ones():
    # Same name and fields as horus-std's message! => the very same type.
    assert horus.message("CmdVel", timestamp_ns="u64", linear="f32", angular="f32") is CmdVel
    odom = horus.message("Odometry", pose=Pose2D, twist=Twist, pose_covariance="f64[9]",
                         timestamp_ns="u64", frame_id="u8[32]", child_frame_id="u8[32]")
    assert odom is Odometry
    # Another field name or order is another type.
    other = horus.message("CmdVel", timestamp_ns="u64", angular="f32", linear="f32")
    assert other is not CmdVel and other.type_id() != CmdVel.type_id()


def test_seed_wheel_encoder_id_is_stable():
    enc = horus.message("WheelEncoder", left_ticks="i64", right_ticks="i64", timestamp_ns="u64")
    # Declaring again gives the same class.
    assert horus.message("WheelEncoder", left_ticks="i64", right_ticks="i64",
                         timestamp_ns="u64") is enc
    assert enc.size() == 24


def test_round_trip_through_bytes():
    m = Odometry(pose=Pose2D(x=1.0, y=-2.0, theta=0.5), frame_id="odom",
                 pose_covariance=[float(i) for i in range(9)])
    m.twist.linear = [1.0, 2.0, 3.0]
    back = Odometry.from_bytes(m.to_bytes())
    assert back == m
    assert back.frame_id.rstrip(b"\0") == b"odom"
    assert back.to_dict()["pose"]["y"] == -2.0


def test_from_bytes_of_a_flat_message_fills_every_field():
    # Scalars and arrays in one class without nested messages (its own
    # from_bytes): every value lands in its field, arrays stay checked lists.
    mixed = horus.message("FlatMix", b="f64[3]", e="f32[2][2]", c="i16", a="u8", d="u8[5]")
    m = mixed(a=7, b=[0.5, -1.0, 2.0], c=-3, d=b"ab", e=[[1.0, 2.0], [3.0, 4.0]])
    back = mixed.from_bytes(m.to_bytes())
    assert back == m and back.d == b"ab\0\0\0" and back.e[1][0] == 3.0
    with pytest.raises(TypeError):
        back.b[0] = "x"  # still a checked list
    assert type(back) is mixed


@pytest.mark.parametrize("cls", [CmdVel, Odometry])  # flat, and with nested messages
def test_from_bytes_of_the_wrong_size_names_both_sizes(cls):
    with pytest.raises(ValueError, match=f"^{cls.__name__} is {cls.size()} bytes, not 3$"):
        cls.from_bytes(b"abc")


def test_cmdvel_layout_is_repr_c():
    b = CmdVel(timestamp_ns=7, linear=1.5, angular=-0.25).to_bytes()
    assert struct.unpack("=Qff", b) == (7, 1.5, -0.25)


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"speed": 1.0}, TypeError, "CmdVel has no field 'speed'; its fields are timestamp_ns"),
    ({"linear": "fast"}, TypeError, "CmdVel.linear is f32: give a real number, not str"),
    ({"linear": True}, TypeError, "CmdVel.linear is f32: give a real number, not bool"),
    ({"linear": 1e39}, ValueError, "CmdVel.linear is f32: 1e+39 is beyond its range"),
    # Was a bare OverflowError (int too large to convert to float).
    ({"linear": 10**400}, ValueError,
     "CmdVel.linear is f32: 1000000000000000… (401 characters) is beyond its range"),
    ({"linear": fractions.Fraction(-(10**400), 3)}, ValueError,
     "CmdVel.linear is f32: -100000000000000… (404 characters) is beyond its range"),
    ({"timestamp_ns": 1.5}, TypeError, "CmdVel.timestamp_ns is u64: give an int, not float"),
    ({"timestamp_ns": -1}, ValueError, "CmdVel.timestamp_ns is u64: -1 is outside 0.."),
])
def test_bad_constructor_input_raises_a_sentence(kwargs, exc, words):
    with pytest.raises(exc) as e:
        CmdVel(**kwargs)
    assert words in str(e.value)


def test_a_message_without_a_field_is_refused_where_it_is_declared():
    """Was declared, then refused where a topic was opened with it."""
    with pytest.raises(ValueError, match="message 'Empty' has no field: a topic carries "
                                         "messages of 1 byte or more"):
        horus.message("Empty")


def test_a_field_cannot_be_deleted():
    """Was allowed, and the message's repr, to_bytes and send then raised
    AttributeError."""
    m = CmdVel(linear=1.0)
    with pytest.raises(AttributeError, match="CmdVel.linear cannot be deleted: .* set it to 0"):
        del m.linear
    with pytest.raises(AttributeError, match="CmdVel has no field 'speed'"):
        del m.speed
    assert m.linear == 1.0 and len(m.to_bytes()) == 16


def test_assignments_at_the_edges_of_each_kind():
    """An int or a float goes in as given when the field takes it (a fast path
    before the `numbers` checks); at and past each edge the checks decide."""
    Edges = horus.message("Edges", i64="i64", u64="u64", f64="f64", f32="f32", u8="u8",
                          pad="u8[3]")
    m = Edges()
    m.u8, m.i64, m.u64 = 255, -(2**63), 2**64 - 1
    for field, bad in [("u8", 256), ("u8", -1), ("i64", -(2**63) - 1), ("u64", 2**64)]:
        with pytest.raises(ValueError, match=f"Edges.{field} is {field}: {bad} is outside"):
            setattr(m, field, bad)
    m.f32 = 3.4028234663852886e38
    m.f32 = -3.4028234663852886e38
    with pytest.raises(ValueError, match="Edges.f32 is f32: 3.5e\\+38 is beyond its range"):
        m.f32 = 3.5e38
    m.f32, m.f64 = float("inf"), float("-inf")
    assert (m.f32, m.f64) == (float("inf"), float("-inf"))
    m.f32 = float("nan")
    assert m.f32 != m.f32
    m.f64 = 1e300
    m.f64 = 2  # an int in a float field is stored as a float
    assert type(m.f64) is float and m.f64 == 2.0
    with pytest.raises(TypeError, match="Edges.u64 is u64: give an int, not float"):
        m.u64 = 1.0
    with pytest.raises(TypeError, match="Edges.u8 is u8: give an int, not bool"):
        m.u8 = True
    assert struct.unpack("=qQdfB3s", m.to_bytes())[:2] == (-(2**63), 2**64 - 1)
    assert struct.unpack("=qQdfB3s", m.to_bytes())[4] == 255


def test_bad_assignments_and_arrays():
    m = Imu()
    with pytest.raises(ValueError, match="Imu.orientation is f64\\[4\\]: it needs exactly 4"):
        m.orientation = [1.0]
    with pytest.raises(AttributeError, match="Imu has no field 'orientaton'"):
        m.orientaton = [0.0] * 4
    with pytest.raises(ValueError, match="holds at most 32 bytes"):
        Odometry(frame_id="x" * 33)
    with pytest.raises(TypeError, match="Odometry.pose is a Pose2D, not int"):
        Odometry(pose=3)
    # A list changed in place is checked as it changes.
    with pytest.raises(TypeError, match=r"Imu.orientation\[0\] is f64"):
        m.orientation[0] = "nan"


def test_bad_declarations_raise_the_rust_sentences():
    with pytest.raises(HorusError, match="message `Padded` has padding: order its fields from "
                                         "the largest to the smallest"):
        horus.message("Padded", a="u8", b="u64")
    with pytest.raises(HorusError, match="has type \"float\": a field type is one of"):
        horus.message("Bad", a="float")
    with pytest.raises(HorusError, match="not an identifier"):
        horus.message("1Bad", a="u8")
    with pytest.raises(TypeError, match="a field type is a string"):
        horus.message("Bad", a=3.0)


def test_type_stubs_list_every_field_of_every_standard_message():
    import ast
    from pathlib import Path
    stub = Path(horus.__file__).with_name("__init__.pyi")
    tree = ast.parse(stub.read_text())
    classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}
    for name in STANDARD:
        declared = [s.target.id for s in classes[name].body if isinstance(s, ast.AnnAssign)]
        assert declared == list(getattr(horus, name).fields()), name
    for name in horus.__all__:
        assert name in classes or any(
            isinstance(n, (ast.FunctionDef, ast.ImportFrom)) and
            (getattr(n, "name", None) == name or any(a.asname == name for a in getattr(n, "names", [])))
            for n in tree.body), f"{name} missing from __init__.pyi"


def test_numpy_numbers_and_arrays_fill_fields():
    """Were refused ("give a number, not float32"): numpy's scalars are numbers."""
    np = pytest.importorskip("numpy")
    scan = LaserScan(ranges=np.arange(360, dtype=np.float32))
    assert scan.ranges[:3] == [0.0, 1.0, 2.0] and isinstance(scan.ranges[0], float)
    assert LaserScan.from_bytes(scan.to_bytes()).ranges[359] == 359.0
    m = CmdVel(linear=np.float32(1.5), timestamp_ns=np.uint64(7))
    assert (m.linear, m.timestamp_ns) == (1.5, 7) and type(m.timestamp_ns) is int
    with pytest.raises(ValueError, match="LaserScan.count is u32: -1 is outside 0.."):
        LaserScan(count=np.int64(-1))
    reason = horus.EmergencyStop(reason=np.frombuffer(b"stop".ljust(48, b"\0"), np.uint8))
    assert reason.reason.rstrip(b"\0") == b"stop"
    with pytest.raises(TypeError, match="give a real number, not bool"):
        CmdVel(linear=np.bool_(True))


def test_an_f32_changed_in_place_beyond_its_range_is_named():
    scan = LaserScan()
    with pytest.raises(ValueError, match=r"LaserScan.ranges\[7\] is f32: 1e\+300 is beyond"):
        scan.ranges[7] = 1e300
    assert scan.ranges[7] == 0.0



@pytest.mark.parametrize("field", ["to_bytes", "fields", "size", "_type", "_struct", "__init__"])
def test_a_field_named_like_a_message_method_is_refused(field):
    """Were accepted, and broke the class later ('int' object is not callable)."""
    with pytest.raises(ValueError, match=f"field '{field}' of message 'Shadow': a Python message "
                       "cannot have a field of that name"):
        horus.message("Shadow", **{field: "u8"})


def test_a_padding_field_like_rusts_is_a_field():
    padded = horus.message("Padded", a="u32", _pad="u32")
    assert padded(a=1).to_bytes() == b"\x01\x00\x00\x00\x00\x00\x00\x00"


def test_a_message_in_a_list_replaced_in_place_is_named():
    """Was "AttributeError: 'int' object has no attribute '_flatten'" when packed."""
    pair = horus.message("PairOfCmds", a=(CmdVel, 2))
    m = pair()
    with pytest.raises(TypeError, match=r"PairOfCmds.a\[0\] is a CmdVel, not int"):
        m.a[0] = 5
    m.a[1] = {"linear": 2.0}
    assert pair.from_bytes(m.to_bytes()).a[1].linear == 2.0


def test_a_bool_set_in_place_in_an_array_is_refused_as_at_construction():
    """Was packed as 1 (or 1.0) while the constructor refuses bools."""
    ints = horus.message("Ints", arr="i32[3]")
    with pytest.raises(TypeError, match=r"Ints.arr\[0\] is i32: give an int, not bool"):
        ints(arr=[True, 0, 0])
    m = ints()
    for set_true in (lambda: m.arr.__setitem__(0, True), lambda: m.arr.__setitem__(-3, False),
                     lambda: m.arr.__setitem__(slice(0, 2), [1, True])):
        with pytest.raises(TypeError, match=r"Ints.arr\[[01]\] is i32: give an int, not bool"):
            set_true()
    assert m.arr == [0, 0, 0] and m.to_bytes() == bytes(12)
    with pytest.raises(TypeError, match=r"Imu.orientation\[3\] is f64: give a real number, "
                                        "not bool"):
        Imu().orientation[3] = True


def test_an_array_changed_in_place_keeps_its_length_and_checks_its_items():
    ints = horus.message("Ints", arr="i32[3]")
    m = ints(arr=[1, 2, 3])
    for resize in (lambda: m.arr.append(4), lambda: m.arr.pop(), lambda: m.arr.extend([4]),
                   lambda: m.arr.insert(0, 4), lambda: m.arr.remove(1), lambda: m.arr.clear(),
                   lambda: m.arr.__delitem__(0), lambda: m.arr.__setitem__(slice(0, 2), [9]),
                   lambda: m.arr.__iadd__([4]), lambda: m.arr.__imul__(2)):
        with pytest.raises(ValueError, match=r"Ints.arr is i32\[3\]: its length is fixed \(3\)"):
            resize()
    with pytest.raises(ValueError, match=r"Ints.arr\[2\] is i32: 2147483648 is outside"):
        m.arr[2] = 2**31
    with pytest.raises(IndexError, match="Ints.arr has 3 items: index 3 is out of range"):
        m.arr[3] = 0
    m.arr[1:] = (5, 6)
    m.arr.sort(reverse=True)
    assert m.arr == [6, 5, 1] and ints.from_bytes(m.to_bytes()).arr == [6, 5, 1]
    # Copies are plain lists; a field assigned a list copies it.
    copy = m.arr[:]
    copy.append(0)
    m.arr = copy[:3]
    copy[0] = True
    assert m.arr == [6, 5, 1] and type(m.arr[0]) is int


def grid_class():
    return horus.message("Grid", cells="u8[2][2]", temps="f32[2][3]", ids="i16[2][1][2]")


def test_a_multi_dimensional_array_keeps_its_declared_shape():
    """Was flattened: 'u8[2][2]' read, wrote and described itself as u8[4]."""
    grid = grid_class()
    assert grid.fields() == {"cells": "u8[2][2]", "temps": "f32[2][3]", "ids": "i16[2][1][2]"}
    assert grid().cells == [b"\0\0", b"\0\0"] and grid().temps == [[0.0] * 3] * 2
    g = grid(cells=[[1, 2], b"\3\4"], temps=[[1, 2, 3], [4, 5, 6]], ids=[[[1, 2]], [[3, 4]]])
    assert g.to_bytes() == b"\1\2\3\4" + struct.pack("=6f4h", 1, 2, 3, 4, 5, 6, 1, 2, 3, 4)
    back = grid.from_bytes(g.to_bytes())
    assert back == g and back.cells == [b"\1\2", b"\3\4"] and back.ids[1] == [[3, 4]]
    assert back.temps == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert back.to_dict()["temps"][1] == [4.0, 5.0, 6.0]
    np = pytest.importorskip("numpy")
    assert grid(temps=np.arange(6, dtype=np.float32).reshape(2, 3)).temps[1] == [3.0, 4.0, 5.0]
    # Nested in other messages too.
    outer = horus.message("GridPair", grids=(grid, 2), last=grid)
    pair = outer(grids=[g, {"temps": [[9, 9, 9], [9, 9, 9]]}])
    assert outer.from_bytes(pair.to_bytes()) == pair


@pytest.mark.parametrize("values, exc, words", [
    ({"temps": [1, 2, 3, 4, 5, 6]}, ValueError,
     r"Grid.temps is f32[2][3]: it needs exactly 2 rows, not 6"),
    ({"temps": [[1, 2, 3], [4, 5]]}, ValueError,
     r"Grid.temps is f32[2][3]: Grid.temps[1] needs exactly 3 values, not 2"),
    ({"temps": [1.0, [4, 5, 6]]}, TypeError,
     r"Grid.temps is f32[2][3]: Grid.temps[0] must be a sequence of 3 values, not float"),
    ({"cells": b"\1\2\3\4"}, TypeError,
     r"Grid.cells is u8[2][2]: give a sequence of 2 rows, not bytes"),
    ({"cells": [b"abc", b""]}, ValueError,
     r"Grid.cells is u8[2][2]: Grid.cells[0] holds at most 2 bytes, not 3"),
    ({"ids": [[[1, 2]], [[3, True]]]}, TypeError, r"Grid.ids[1][0][1] is i16: give an int, not bool"),
])
def test_a_multi_dimensional_array_of_another_shape_is_refused(values, exc, words):
    with pytest.raises(exc) as e:
        grid_class()(**values)
    assert words in str(e.value)


def test_a_multi_dimensional_array_changed_in_place_keeps_its_shape():
    grid = grid_class()
    g = grid()
    with pytest.raises(ValueError, match=r"Grid.temps is f32\[2\]\[3\]: Grid.temps\[0\] needs "
                                         r"exactly 3 values, not 1"):
        g.temps[0] = [1.0]
    with pytest.raises(ValueError, match=r"Grid.cells is u8\[2\]\[2\]: Grid.cells\[1\] holds at "
                                         "most 2 bytes, not 3"):
        g.cells[1] = b"abc"
    with pytest.raises(TypeError, match=r"Grid.temps\[1\]\[2\] is f32: give a real number, "
                                        "not bool"):
        g.temps[1][2] = True
    with pytest.raises(ValueError, match=r"Grid.temps is f32\[2\]\[3\]: the length of "
                                         r"Grid.temps\[1\] is fixed \(3\)"):
        g.temps[1].append(0.0)
    g.temps[1] = (7, 8, 9)
    g.temps[0][0] = 0.5
    g.cells[1] = "z"
    g.ids[1][0][1] = -4
    back = grid.from_bytes(g.to_bytes())
    assert back.temps == [[0.5, 0.0, 0.0], [7.0, 8.0, 9.0]]
    assert back.cells == [b"\0\0", b"z\0"] and back.ids == [[[0, 0]], [[0, -4]]]


def test_a_multi_dimensional_array_is_another_type_than_its_flat_count(ns):
    """Was one type: the type id and the topic's schema recorded an array by
    its element count, so 'u8[2][2]' and 'u8[4]' shared topics. The shape is
    part of the type now, as for Rust's [[u8; 2]; 2] and [u8; 4]."""
    grid = grid_class()
    flat = horus.message("Grid", cells="u8[4]", temps="f32[6]", ids="i16[4]")
    assert flat.type_id() != grid.type_id()
    assert grid_class() is grid  # declaring the same shape again: the same class
    assert [f[5] for f in grid._type.fields] == [[2, 2], [2, 3], [2, 1, 2]]
    pub = horus.Topic("grid", grid)
    with pytest.raises(horus.HorusError, match="Grid"):
        horus.Topic("grid", flat)
    sub = horus.Topic("grid", grid)
    pub.send(grid(cells=[[1, 2], [3, 4]], temps=[[1, 2, 3], [4, 5, 6]]))
    got = sub.recv()
    assert got.cells == [b"\1\2", b"\3\4"] and got.temps == [[1, 2, 3], [4, 5, 6]]


def test_a_field_named_name_is_a_field():
    """Was "message() got multiple values for argument 'name'"."""
    named = horus.message("Named", name="u8[8]", id="u32", _pad="u32")
    assert named(name="arm").name == b"arm".ljust(8, b"\0")


def test_messages_pickle_as_their_class_and_values():
    """Were unpicklable ("Can't pickle <class 'horus.Ints'>: attribute lookup
    Ints on horus failed"): a multiprocessing queue could not carry them."""
    import copy
    import pickle
    grid = grid_class()
    pair = horus.message("GridPair", grids=(grid, 2), last=grid)
    ints = horus.message("Ints", arr="i32[3]")
    messages = [
        CmdVel(linear=0.1, angular=-2.5, timestamp_ns=7),  # f32 fields keep their Python float
        Odometry(pose=Pose2D(x=1.0), frame_id="odom", pose_covariance=[0.5] * 9),
        ints(arr=[1, -2, 3]),
        grid(cells=[b"ab", b"c"], temps=[[1, 2, 3], [4, 5, 6]], ids=[[[1, 2]], [[3, 4]]]),
        pair(grids=[{"temps": [[9] * 3] * 2}, grid()], last=grid(ids=[[[5, 6]], [[7, 8]]])),
    ]
    for m in messages:
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            back = pickle.loads(pickle.dumps(m, protocol))
            assert type(back) is type(m) and back == m and back.to_dict() == m.to_dict()
        assert copy.deepcopy(m) == m
    back = pickle.loads(pickle.dumps(messages[3]))
    assert back.temps[1] == [4.0, 5.0, 6.0] and back.cells[1] == b"c\0"
    with pytest.raises(TypeError, match=r"Grid.temps\[0\]\[0\] is f32: give a real number"):
        back.temps[0][0] = True  # its arrays are checked as any message's
    copied = copy.copy(messages[2])
    copied.arr[0] = 9
    assert messages[2].arr == [1, -2, 3]
    # The classes pickle too (a multiprocessing "spawn" argument): as their
    # declaration, the same class back where it is declared.
    for cls in [grid, pair, ints, CmdVel, horus.Message]:
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            assert pickle.loads(pickle.dumps(cls, protocol)) is cls


def test_a_pickled_message_unpickles_in_a_process_that_never_declared_it():
    """The class is declared again from the pickle (the same name, fields
    and shapes: the same type id)."""
    import pickle
    import subprocess
    import sys
    grid = grid_class()
    m = grid(cells=[b"ab", b"cd"], temps=[[1, 2, 3], [4, 5, 6]])
    script = ("import pickle, sys\n"
              "m = pickle.load(sys.stdin.buffer)\n"
              "print(type(m).__name__, hex(m.type_id()), m.fields(), m.cells, m.temps)\n"
              "sys.stdout.flush()\n"
              "pickle.dump(m, sys.stdout.buffer)\n")
    out = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(m),
                         capture_output=True, timeout=60, check=True).stdout
    line, _, rest = out.partition(b"\n")
    assert line.decode() == (f"Grid {hex(grid.type_id())} {grid.fields()} [b'ab', b'cd'] "
                             "[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]")
    back = pickle.loads(rest)
    assert type(back) is grid and back == m
    # The class alone, likewise.
    script = ("import pickle, sys\n"
              "cls = pickle.load(sys.stdin.buffer)\n"
              "print(cls.__name__, hex(cls.type_id()), cls.fields())\n")
    out = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(grid),
                         capture_output=True, timeout=60, check=True).stdout
    assert out.decode().strip() == f"Grid {hex(grid.type_id())} {grid.fields()}"
