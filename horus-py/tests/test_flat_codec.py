"""The native parts of message classes: the codec of flat classes
(``_horus.FlatCodec``), whose bytes are struct's for the same values and
whose objects hold what the Python code stores, for every kind at its
edges (values it does not take fall back to the Python packer and its
sentences); and the assignment fast path (``_horus.FieldSetter``), which
stores exactly what ``Field.check`` stores, or leaves the value to it."""

import math
import random
import struct

import numpy as np

import pytest

import horus
from horus import HorusError, _horus

KINDS = ["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64"]
F32_MAX = 3.4028234663852886e38
EDGES = {
    "u8": [0, 1, 255], "i8": [-128, -1, 127], "u16": [0, 65535, 7],
    "i16": [-32768, 32767, 0], "u32": [0, 2**32 - 1, 12345],
    "i32": [-(2**31), 2**31 - 1, -5], "u64": [0, 2**64 - 1, 2**63],
    "i64": [-(2**63), 2**63 - 1, -1],
    # The largest f32, the smallest subnormal, infinities, a value rounded.
    "f32": [F32_MAX, -F32_MAX, 1e-45, math.inf, -math.inf, 0.1, -0.0],
    "f64": [1.7976931348623157e308, 5e-324, -math.inf, math.inf, math.pi, -0.0],
}


def reference(m):
    """The bytes struct packs for ``m``'s stored values (the Python path)."""
    values = []
    m._flatten(values)
    return m._struct.pack(*values)


def kind_class(kind):
    return horus.message(f"Codec_{kind}", s=kind, a=f"{kind}[3]", g=f"{kind}[2][2]")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_at_its_edges_packs_as_struct_and_unpacks_as_stored(kind):
    cls = kind_class(kind)
    edges = EDGES[kind]
    for v in edges:
        pick = [edges[(edges.index(v) + k) % len(edges)] for k in range(7)]
        m = cls(s=v, a=pick[:3], g=[pick[3:5], pick[5:7]])
        data = m.to_bytes()
        assert data == reference(m) == cls._codec.pack(m)
        back = cls.from_bytes(data)
        assert back.to_bytes() == data
        for name in ("s", "a", "g"):
            got, want = getattr(back, name), getattr(m, name)
            assert type(got) is type(want), name
        for got, want in zip([back.s, *back.a, *back.g[0], *back.g[1]],
                             [m.s, *m.a, *m.g[0], *m.g[1]]):
            assert type(got) is type(want)
            if kind[0] == "f":
                # As struct gives it: the f32 rounded once, the sign of zero kept.
                want = struct.unpack("=f", struct.pack("=f", want))[0] if kind == "f32" else want
                assert math.copysign(1, got) == math.copysign(1, want) and got == want
            else:
                assert got == want
        # The rows are the field's checked lists, naming where they are (a
        # u8 array's rows are bytes).
        assert type(back.g[1]) is type(m.g[1])
        if kind != "u8":
            assert back.g[1].where() == f"Codec_{kind}.g[1]"
            with pytest.raises(TypeError, match=rf"Codec_{kind}\.g\[1\]\[0\] is {kind}"):
                back.g[1][0] = "x"


def test_nan_payloads_and_random_values_round_trip_bit_for_bit():
    cls = horus.message("CodecRandom", u="u64", d="f64", i="i32", f="f32", fa="f32[4]",
                        ia="i16[2][2]", ba="u8[6]", rows="u8[2][3]", pad="u8[4]")
    rnd = random.Random(7)
    for _ in range(500):
        raw = bytes(rnd.getrandbits(8) for _ in range(cls.size()))
        back = cls.from_bytes(raw)
        # Any bytes, NaNs with payloads among them, come back as they were
        # (an f32's NaN goes through an f64, which keeps a quiet NaN's payload).
        f32s = struct.unpack_from("=5f", raw, 20)
        if not any(math.isnan(x) for x in f32s) and not math.isnan(back.d):
            assert back.to_bytes() == raw
        assert back.to_bytes() == reference(back)
    quiet_nan = struct.pack("=f", float("nan"))
    m = cls(f=float("nan"), d=float("-nan"))
    assert m.to_bytes()[20:24] == quiet_nan and m.to_bytes() == reference(m)


def test_from_bytes_takes_any_bytes_like_object_and_refuses_others():
    cls = horus.message("CodecInput", b="f64", a="u32", pad="u32")
    data = cls(a=9, b=0.25).to_bytes()
    for given in (data, bytearray(data), memoryview(data)):
        back = cls.from_bytes(given)
        assert (back.a, back.b) == (9, 0.25)
    with pytest.raises(TypeError):
        cls.from_bytes("twelve bytes")
    with pytest.raises(ValueError, match="^CodecInput is 16 bytes, not 13$"):
        cls.from_bytes(bytearray(13))


def test_a_subclass_unpacks_as_itself_and_travels_as_itself(ns):
    base = horus.message("CodecBase", b="f32[2]", a="u16", pad="u16")

    class Sub(base):
        __slots__ = ()

    back = Sub.from_bytes(base(a=3, b=[1.0, 2.0]).to_bytes())
    assert type(back) is Sub and (back.a, list(back.b)) == (3, [1.0, 2.0])
    pub, sub = horus.Topic("codec.sub", Sub, namespace=ns), horus.Topic("codec.sub", Sub,
                                                                        namespace=ns)
    pub.send(Sub(a=4))
    got = sub.recv()
    assert type(got) is Sub and got.a == 4
    with pytest.raises(TypeError, match="^CmdVel is not a CodecBase$"):
        Sub._codec.unpack(horus.CmdVel, b"\0" * base.size())


def test_a_value_stored_past_the_checks_falls_back_to_the_sentence(ns):
    cls = horus.message("CodecBypass", v="i16[3]", a="u8", pad="u8")
    m = cls(a=1, v=[1, 2, 3])
    list.__setitem__(m.v, 1, 2**20)  # bypasses the list's check
    assert cls._codec.pack(m) is None
    with pytest.raises(ValueError, match=r"CodecBypass\.v\[1\] is i16: 1048576 is outside"):
        m.to_bytes()
    pub = horus.Topic("codec.bypass", cls, namespace=ns)
    sub = horus.Topic("codec.bypass", cls, namespace=ns)
    with pytest.raises(ValueError, match=r"CodecBypass\.v\[1\]"):
        pub.send(m)
    assert sub.recv() is None and pub.published_count() == 0
    # A value struct takes as the field's, though not as stored, is packed
    # as struct packs it: a bool as an int (the codec's own path), a float
    # where an int is stored is struct's error (the Python path's).
    object.__setattr__(m, "a", True)
    list.__setitem__(m.v, 1, 2)
    assert cls._codec.pack(m) == reference(m) == m.to_bytes()
    object.__setattr__(m, "a", 1)
    object.__setattr__(m, "pad", 1.5)
    assert cls._codec.pack(m) is None
    with pytest.raises(TypeError, match=r"CodecBypass\.pad is u8: give an int, not float"):
        m.to_bytes()
    object.__setattr__(m, "pad", 0)
    pub.send(m)
    assert sub.recv().a == 1


def test_a_codec_of_another_size_is_refused():
    cls = horus.message("CodecSize", a="u32")
    with pytest.raises(ValueError, match="the fields of CodecSize are 4 bytes, not 8"):
        _horus.FlatCodec(cls, 8, [("a", "u32", 1, False, False, None, None)])
    with pytest.raises(ValueError, match="field a is too large"):
        _horus.FlatCodec(cls, 4, [("a", "u32", 2**62, True, False, list, None)])
    with pytest.raises(ValueError, match='no flat field kind "bool"'):
        _horus.FlatCodec(cls, 1, [("a", "bool", 1, False, False, None, None)])
    with pytest.raises(HorusError, match="the codec packs 16 bytes, the message type `CodecSize` is 4"):
        _horus.RawTopic("codec.size", cls._type, None, None, None, horus.CmdVel._codec)


class IntSub(int):
    pass


ODD_VALUES = [0, 1, -1, 255, 256, -129, 2**31, 2**63, 2**64, -(2**63) - 1, True, False,
              IntSub(3), 1.5, -0.0, 3.4028234663852886e38, 3.4028235677973366e38, 3.5e38,
              1e308, math.inf, -math.inf, math.nan, np.float32(2.5), np.int64(7),
              np.uint8(200), "1", None, [1], 10**30]


@pytest.mark.parametrize("kind", KINDS)
def test_an_assignment_stores_what_the_field_check_stores_or_raises_its_sentence(kind):
    cls = horus.message(f"Setter_{kind}", s=kind, a=f"{kind}[2]")
    field = cls._by_name["s"]
    for v in ODD_VALUES:
        m = cls()
        try:
            want = field.check(v)
        except (TypeError, ValueError) as e:
            with pytest.raises(type(e)) as got:
                m.s = v
            assert str(got.value) == str(e), (kind, v)
            assert m.s == 0
            continue
        m.s = v
        stored = m.s
        assert type(stored) is type(want), (kind, v)
        assert stored == want or (math.isnan(stored) and math.isnan(want)), (kind, v)
    # Only scalar fields take the fast path: an array, an unknown name, a
    # name made at run time (not interned) go through the Python checks.
    m = cls()
    common, left = (1.5, math.nan) if kind[0] == "f" else (7, True)
    assert cls._set_scalar(m, "s", common) is True and m.s == common
    assert cls._set_scalar(m, "s", left) is False and m.s == common
    assert cls._set_scalar(m, "a", 1) is False and cls._set_scalar(m, "nope", 1) is False
    name = "".join(["s", ""])  # equal to "s", another object
    setattr(m, name, 1)
    assert m.s == 1 and type(m.s) is (float if kind[0] == "f" else int)
    with pytest.raises(AttributeError, match=f"Setter_{kind} has no field 'nope'"):
        m.nope = 1


def test_python_code_run_inside_a_receive_may_use_topics_itself(ns):
    # A receive makes Python objects, so a collection can run in it, and
    # with it Python code (a gc callback here, a finalizer in a program)
    # that sends and receives on this same thread.
    import gc
    cls = horus.message("CodecReentry", seq="u64", pad="u64[3]")
    pub, sub = horus.Topic("codec.re", cls, namespace=ns), horus.Topic("codec.re", cls,
                                                                      namespace=ns)
    side_pub = horus.Topic("codec.side", cls, namespace=ns)
    side_sub = horus.Topic("codec.side", cls, namespace=ns)
    seen, errors = [], []

    def during_collection(phase, info):
        if phase != "start":
            return
        try:  # (an exception here would be reported, not raised)
            side_pub.send(cls(seq=len(seen)))
            got = side_sub.recv()
            seen.append(None if got is None else got.seq)
        except BaseException as e:
            errors.append(repr(e))

    threshold = gc.get_threshold()
    gc.callbacks.append(during_collection)
    gc.set_threshold(1)
    try:
        for i in range(50):
            pub.send(cls(seq=i, pad=[i, i, i]))
            got = sub.recv()
            assert (got.seq, list(got.pad)) == (i, [i, i, i])
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(during_collection)
    assert not errors, errors[:3]
    assert seen and seen == list(range(len(seen)))


# A class whose instances are not plain objects (a built-in's layout, as
# `dict`'s): `unpack` allocates instances without their `__new__`, which left
# such an object half made (a dict without its table: a crash at its first
# use). Run in a child interpreter, where a crash is an exit status.
NOT_PLAIN = """
import horus
from horus import _horus
class Plain:
    pass
class DictLike(dict, Plain):
    pass
for make in (lambda: _horus.FlatCodec(dict, 0, []).unpack(dict, b""),
             lambda: _horus.FlatCodec(type, 0, []).unpack(type, b""),
             lambda: _horus.FlatCodec(Plain, 0, []).unpack(DictLike, b"")):
    try:
        obj = make()
    except TypeError as e:
        print("refused:", e)
        continue
    obj["x"] = 1  # a half-made dict crashes here
    print("made", type(obj))
print("ok", type(_horus.FlatCodec(Plain, 0, []).unpack(Plain, b"")).__name__)
"""


def test_a_codec_refuses_classes_whose_instances_are_not_plain_objects():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-c", NOT_PLAIN], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["refused"] * 3, r.stdout
    assert lines[3] == "ok Plain", r.stdout
