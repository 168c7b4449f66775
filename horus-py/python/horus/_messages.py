"""Message classes: the standard messages of horus-std and those declared
with :func:`message`, packed and unpacked with the layout the Rust side
computed (``#[repr(C)]`` offsets, no padding, native byte order)."""

from __future__ import annotations

import keyword
import numbers
import operator
import struct
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _horus
from ._arrays import array_class

_CODES = {"u8": "B", "i8": "b", "u16": "H", "i16": "h", "u32": "I", "i32": "i",
          "u64": "Q", "i64": "q", "f32": "f", "f64": "d"}
_INT_RANGES = {
    "u8": (0, 2**8 - 1), "i8": (-(2**7), 2**7 - 1),
    "u16": (0, 2**16 - 1), "i16": (-(2**15), 2**15 - 1),
    "u32": (0, 2**32 - 1), "i32": (-(2**31), 2**31 - 1),
    "u64": (0, 2**64 - 1), "i64": (-(2**63), 2**63 - 1),
}

#: Packs one f32: raises OverflowError for a finite value beyond its range.
_F32 = struct.Struct("<f")

#: Every message class of this process, by type id.
_BY_ID: Dict[int, type] = {}


class _Field:
    """One field of message ``owner``: name, kind ("f64"... or "struct"),
    element count, nested class; ``array_cls`` is the list class its value
    is (a u8 array is ``bytes``: ``None``)."""

    __slots__ = ("name", "where", "kind", "count", "nested", "array", "array_cls")

    def __init__(self, owner: str, name: str, kind: str, count: int, nested: Any, array: bool):
        self.name, self.kind, self.count, self.nested, self.array = name, kind, count, nested, array
        self.where = f"{owner}.{name}"
        self.array_cls = array_class(self) if array and (nested or kind != "u8") else None

    def type_text(self) -> str:
        base = self.nested.__name__ if self.nested is not None else self.kind
        return f"{base}[{self.count}]" if self.array else base

    def default(self) -> Any:
        if self.nested is not None:
            if self.array:
                return self.array_cls([self.nested() for _ in range(self.count)])
            return self.nested()
        if self.kind == "u8" and self.array:
            return bytes(self.count)
        zero = 0.0 if self.kind[0] == "f" else 0
        return self.array_cls([zero] * self.count) if self.array else zero

    def check(self, value: Any) -> Any:
        """The value to store, or TypeError/ValueError with a sentence."""
        where = self.where
        if self.nested is not None:
            if self.array:
                items = self._sequence(where, value)
                return self.array_cls([self._one_message(f"{where}[{i}]", v)
                                       for i, v in enumerate(items)])
            return self._one_message(where, value)
        if self.array:
            if self.kind == "u8" and isinstance(value, (bytes, bytearray, str)):
                data = value.encode() if isinstance(value, str) else bytes(value)
                if len(data) > self.count:
                    raise ValueError(f"{where} holds at most {self.count} bytes, not {len(data)}")
                return data.ljust(self.count, b"\0")
            items = self._sequence(where, value)
            checked = [self._scalar(f"{where}[{i}]", v) for i, v in enumerate(items)]
            return bytes(checked) if self.kind == "u8" else self.array_cls(checked)
        return self._scalar(where, value)

    def item(self, array: Any, k: int, value: Any) -> Any:
        """``value`` set in place at index ``k`` of ``array`` (this
        field's list), checked as the constructor checks it."""
        where = f"{array.where()}[{k}]"
        if self.nested is not None:
            return self._one_message(where, value)
        return self._scalar(where, value)

    def _sequence(self, where: str, value: Any) -> List[Any]:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise TypeError(f"{where} is {self.type_text()}: give a sequence of {self.count} "
                            f"values, not {type(value).__name__}")
        if len(value) != self.count:
            raise ValueError(f"{where} is {self.type_text()}: it needs exactly {self.count} "
                             f"values, not {len(value)}")
        return list(value)

    def _one_message(self, where: str, value: Any) -> Any:
        if isinstance(value, self.nested):
            return value
        if isinstance(value, dict):
            return self.nested(**value)
        raise TypeError(f"{where} is a {self.nested.__name__}, not {type(value).__name__}")

    def _scalar(self, where: str, value: Any) -> Any:
        # numpy's scalars are numbers (numpy registers them with `numbers`):
        # `LaserScan(ranges=np.zeros(360, np.float32))` works. Booleans are not.
        if self.kind[0] == "f":
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or type(value).__name__ == "bool_":
                raise TypeError(f"{where} is {self.kind}: give a real number, not "
                                f"{type(value).__name__}")
            x = float(value)
            if self.kind == "f32":
                try:
                    _F32.pack(x)
                except OverflowError:
                    raise ValueError(f"{where} is f32: {x!r} is beyond its range; give a "
                                     f"value within 3.4e38 either way") from None
            return x
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{where} is {self.kind}: give an int, not {type(value).__name__}")
        value = operator.index(value)
        lo, hi = _INT_RANGES[self.kind]
        if not lo <= value <= hi:
            raise ValueError(f"{where} is {self.kind}: {value} is outside {lo}..{hi}")
        return value


class Message:
    """Base of every message class: keyword construction with checked field
    names and types, ``to_bytes``/``from_bytes`` in the Rust layout."""

    __slots__ = ()
    #: The Rust-side record (name, id, size, fields).
    _type: Any = None
    _fields: Tuple[_Field, ...] = ()
    _by_name: Dict[str, _Field] = {}
    #: Without nested messages: ``to_bytes`` in one call (see ``_flat_packer``).
    _pack_flat: Optional[Callable[["Message"], bytes]] = None
    #: Without nested messages: (slot setter, element count and list class
    #: or None) per field.
    _flat: Optional[Tuple[Tuple[Callable[[Any, Any], None], Optional[Tuple[int, type]]], ...]] \
        = None
    _struct: struct.Struct = struct.Struct("")

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        for name in values:
            if name not in cls._by_name:
                raise TypeError(f"{cls.__name__} has no field {name!r}; its fields are "
                                f"{', '.join(f.name for f in cls._fields)}")
        for f in cls._fields:
            if f.name in values:
                object.__setattr__(self, f.name, f.check(values[f.name]))
            else:
                object.__setattr__(self, f.name, f.default())

    def __setattr__(self, name: str, value: Any) -> None:
        cls = type(self)
        f = cls._by_name.get(name)
        if f is None:
            raise AttributeError(f"{cls.__name__} has no field {name!r}; its fields are "
                                 f"{', '.join(f.name for f in cls._fields)}")
        object.__setattr__(self, name, f.check(value))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a dict (nested messages as dicts)."""
        def plain(v: Any) -> Any:
            if isinstance(v, Message):
                return v.to_dict()
            if isinstance(v, list):
                return [plain(x) for x in v]
            return v
        return {f.name: plain(getattr(self, f.name)) for f in self._fields}

    def _flatten(self, out: List[Any]) -> None:
        for f in self._fields:
            v = getattr(self, f.name)
            if f.nested is not None:
                for m in (v if f.array else (v,)):
                    m._flatten(out)
            elif f.array and f.kind != "u8":
                out.extend(v)
            else:
                out.append(v)

    def to_bytes(self) -> bytes:
        """The message's bytes, as the Rust struct holds them."""
        try:
            if self._pack_flat is not None:
                return self._pack_flat()
            values: List[Any] = []
            self._flatten(values)
            return self._struct.pack(*values)
        except (struct.error, OverflowError, AttributeError, TypeError):
            # Not a value a field holds (its list was changed bypassing
            # FixedList's checks): check every field again for the sentence.
            type(self)(**{f.name: getattr(self, f.name) for f in self._fields})
            raise

    @classmethod
    def _build(cls, it: Any) -> "Message":
        m = cls.__new__(cls)
        for f in cls._fields:
            if f.nested is not None:
                v: Any = f.array_cls([f.nested._build(it) for _ in range(f.count)]) if f.array \
                    else f.nested._build(it)
            elif f.array_cls is not None:
                v = f.array_cls([next(it) for _ in range(f.count)])
            else:
                v = next(it)
            object.__setattr__(m, f.name, v)
        return m

    @classmethod
    def from_bytes(cls, data: bytes) -> "Message":
        """The message held in ``data`` (exactly ``size()`` bytes)."""
        if len(data) != cls._struct.size:
            raise ValueError(f"{cls.__name__} is {cls._struct.size} bytes, not {len(data)}")
        flat = cls._flat
        if flat is None:
            return cls._build(iter(cls._struct.unpack(data)))
        # No nested message: store the unpacked values straight into the
        # slots (the receive path of every flat message; about half the
        # time of `_build`).
        values, m, i = cls._struct.unpack(data), cls.__new__(cls), 0
        for store, array in flat:
            if array is None:
                store(m, values[i])
                i += 1
            else:
                count, array_cls = array
                store(m, array_cls(values[i:i + count]))
                i += count
        return m

    @classmethod
    def type_id(cls) -> int:
        """The 64-bit type id (Rust's ``Message::TYPE_ID``)."""
        return cls._type.id

    @classmethod
    def size(cls) -> int:
        """Bytes per message."""
        return cls._type.size

    @classmethod
    def fields(cls) -> Dict[str, str]:
        """Field names and types, in order (``{"linear": "f32", ...}``)."""
        return {f.name: f.type_text() for f in cls._fields}


def _format(fields: Tuple[_Field, ...]) -> str:
    parts = []
    for f in fields:
        if f.nested is not None:
            parts.append(_format(f.nested._fields) * f.count)
        elif f.kind == "u8" and f.array:
            parts.append(f"{f.count}s")
        else:
            parts.append(f"{f.count}{_CODES[f.kind]}" if f.array else _CODES[f.kind])
    return "".join(parts)


def _flat_packer(st: struct.Struct, fields: Tuple[_Field, ...]) -> Optional[Callable[..., bytes]]:
    """For a message without nested messages, ``to_bytes`` as one function
    (``lambda m: pack(m.a, *m.b, ...)``: the send path of every flat
    message, without ``_flatten``'s loop); ``None`` if a field name is not
    an identifier."""
    if not all(f.name.isidentifier() and not keyword.iskeyword(f.name) for f in fields):
        return None
    # A list field is a FixedList: unpacking a list subclass iterates it, a
    # plain copy (list.copy) is unpacked as a block.
    args = ", ".join(f"*copy(m.{f.name})" if f.array_cls is not None else f"m.{f.name}"
                     for f in fields)
    scope: Dict[str, Any] = {"pack": st.pack, "copy": list.copy}
    exec(f"def to_bytes(m):\n    return pack({args})\n", scope)
    return scope["to_bytes"]


def _class_for(mt: Any, arrays: Dict[str, bool]) -> type:
    """The class of Rust-side type ``mt``; ``arrays`` tells which fields are
    arrays (the Rust record holds element counts only: a count of 1 is a
    scalar unless declared ``T[1]``)."""
    known = _BY_ID.get(mt.id)
    if known is not None:
        return known
    fields = []
    for (name, _offset, kind, count, nested) in mt.fields:
        nested_cls = None if nested is None else _class_for(nested, {})
        fields.append(_Field(mt.name, name, kind, count, nested_cls,
                             arrays.get(name, count != 1)))
    fields_t = tuple(fields)
    ns = {
        "__slots__": tuple(f.name for f in fields_t),
        "_type": mt,
        "_fields": fields_t,
        "_by_name": {f.name: f for f in fields_t},
        "_struct": struct.Struct("=" + _format(fields_t)),
        "__doc__": f"The message {mt.name} ({mt.size} bytes): "
                   + ", ".join(f"{f.name}: {f.type_text()}" for f in fields_t) + ".",
        "__module__": "horus",
    }
    cls = type(mt.name, (Message,), ns)
    assert cls._struct.size == mt.size, (mt.name, cls._struct.size, mt.size)
    if all(f.nested is None for f in fields_t):
        cls._pack_flat = _flat_packer(cls._struct, fields_t)
        # A u8 array is one `bytes` value of the struct format.
        cls._flat = tuple((cls.__dict__[f.name].__set__,
                           None if f.array_cls is None else (f.count, f.array_cls))
                          for f in fields_t)
    _BY_ID[mt.id] = cls
    return cls


def message(name: str, **fields: Any) -> type:
    """Declares message ``name`` with ``fields`` in this order, each a type
    (``"i64"``, ``"f64[3]"``, ``"u8[32]"``), a message class (nested), or
    ``(MessageClass, n)`` (an array of messages). Same name and fields as a
    Rust ``message!`` give the same type id and bytes, so the two programs
    share topics. Declaring it again returns the same class."""
    specs = []
    arrays = {}
    for fname, ty in fields.items():
        if hasattr(Message, fname):
            # A field is a slot of the class: it would hide the method (or
            # class attribute) of that name, and the class would break later.
            raise ValueError(f"field {fname!r} of message {name!r}: a Python message cannot "
                             "have a field of that name (it is a method or an internal "
                             "attribute of every message class); rename the field on both "
                             "sides, or use a serialized topic (horus.schema)")
        if isinstance(ty, type) and issubclass(ty, Message):
            specs.append((fname, ty._type))
            arrays[fname] = False
        elif isinstance(ty, (tuple, list)) and len(ty) == 2 and isinstance(ty[0], type) \
                and issubclass(ty[0], Message):
            n = ty[1]
            if isinstance(n, bool) or not isinstance(n, numbers.Integral):
                raise TypeError(f"field {fname!r} of message {name!r} is an array of "
                                f"{ty[0].__name__}: its length must be an int, not "
                                f"{type(n).__name__}")
            if not 1 <= n <= 2**32 - 1:
                raise ValueError(f"field {fname!r} of message {name!r} is an array of {n} "
                                 f"{ty[0].__name__}: give a length from 1 to {2**32 - 1}")
            specs.append((fname, (ty[0]._type, operator.index(n))))
            arrays[fname] = True
        elif isinstance(ty, str):
            specs.append((fname, ty))
            arrays[fname] = "[" in ty
        else:
            raise TypeError(f"field {fname!r} of message {name!r} has type {ty!r}: a field type "
                            "is a string such as \"f64\" or \"u8[32]\", a message class, or "
                            "(MessageClass, n)")
    return _class_for(_horus.define(name, specs), arrays)


def _standard() -> Dict[str, type]:
    return {mt.name: _class_for(mt, {}) for mt in _horus.standard_types()}


STANDARD = _standard()
