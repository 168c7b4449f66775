"""Message classes: the standard messages of horus-std and those declared
with :func:`message`, packed and unpacked with the layout the Rust side
computed (``#[repr(C)]`` offsets, no padding, native byte order)."""

from __future__ import annotations

import copyreg
import numbers
import operator
import struct
from itertools import islice
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _horus
from ._fields import Field

_CODES = {"u8": "B", "i8": "b", "u16": "H", "i16": "h", "u32": "I", "i32": "i",
          "u64": "Q", "i64": "q", "f32": "f", "f64": "d"}
#: Every message class of this process, by type id (the first declared of
#: the id).
_BY_ID: Dict[int, type] = {}
#: Every message class, by type id, field shapes and nested classes.
_CLASSES: Dict[Tuple[Any, ...], type] = {}
#: Message classes by their declaration (``Message._declaration``), for
#: unpickling.
_BY_DECLARATION: Dict[Tuple[Any, ...], type] = {}


class _MessageClass(type):
    """The type of every message class: :func:`_reduce_class` pickles them
    (no module holds a class ``horus.message`` makes at run time)."""


class Message(metaclass=_MessageClass):
    """Base of every message class: keyword construction with checked field
    names and types, ``to_bytes``/``from_bytes`` in the Rust layout."""

    __slots__ = ()
    #: The Rust-side record (name, id, size, fields).
    _type: Any = None
    _fields: Tuple[Field, ...] = ()
    _by_name: Dict[str, Field] = {}
    #: Without nested messages: the native codec of the class's bytes
    #: (``to_bytes`` packs through it; ``from_bytes`` is its ``unpack``).
    _codec: Any = None
    #: ``(msg, name, value) -> bool``: stores an int or a float that a
    #: scalar field holds as given, the values ``Field.check``'s own fast
    #: path takes (``__setattr__``'s fast path, ``_horus.FieldSetter``);
    #: ``False`` for anything else, nothing done.
    _set_scalar: Callable[[Any, str, Any], bool] = staticmethod(lambda m, n, v: False)
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
        if self._set_scalar(self, name, value):
            return
        cls = type(self)
        f = cls._by_name.get(name)
        if f is None:
            raise AttributeError(f"{cls.__name__} has no field {name!r}; its fields are "
                                 f"{', '.join(f.name for f in cls._fields)}")
        object.__setattr__(self, name, f.check(value))

    def __delattr__(self, name: str) -> None:
        # A message has every field of its layout: a deleted one broke its
        # repr, to_bytes and send (AttributeError), found by a review.
        cls = type(self)
        if name in cls._by_name:
            raise AttributeError(f"{cls.__name__}.{name} cannot be deleted: a message has "
                                 f"every field of its layout; set it to 0 instead")
        raise AttributeError(f"{cls.__name__} has no field {name!r}; its fields are "
                             f"{', '.join(f.name for f in cls._fields)}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"

    def __reduce__(self) -> Tuple[Any, ...]:
        # Pickled as its class's declaration and its fields' values: the
        # class is declared again where it is unpickled (the same class
        # when this process, or that one, declared it already), and each
        # value checked again. A class cannot be pickled by its name:
        # `horus.message` makes it at run time, no module holds it.
        return (_unpickle, (type(self)._declaration(),
                            tuple(getattr(self, f.name) for f in self._fields)))

    @classmethod
    def _declaration(cls) -> Tuple[str, Tuple[Tuple[str, Any], ...]]:
        """``(name, ((field, type), ...))``: a type is ``"f32[2][3]"``, or
        ``(declaration, n)`` for a message (``n``: ``None`` for one)."""
        return (cls.__name__, tuple(
            (f.name, f.type_text() if f.nested is None else
             (f.nested._declaration(), f.dims[0] if f.array else None)) for f in cls._fields))

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
            elif f.unflat is None:
                out.append(v)
            elif f.array_cls is f.unflat:  # one dimension
                out.extend(v)
            else:
                out.extend(f.flat(v))

    def to_bytes(self) -> bytes:
        """The message's bytes, as the Rust struct holds them."""
        try:
            codec = self._codec
            if codec is not None:
                packed = codec.pack(self)
                if packed is not None:
                    return packed
                # A value it does not take as stored: packed below, which
                # raises (or packs what struct takes).
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
            else:
                v = next(it) if f.single else tuple(islice(it, f.count))
                if f.unflat is not None:
                    v = f.unflat(v)
            object.__setattr__(m, f.name, v)
        return m

    @classmethod
    def from_bytes(cls, data: bytes) -> "Message":
        """The message held in ``data`` (exactly ``size()`` bytes)."""
        # (A class without nested messages has its codec's `unpack`.)
        if len(data) != cls._struct.size:
            raise ValueError(f"{cls.__name__} is {cls._struct.size} bytes, not {len(data)}")
        return cls._build(iter(cls._struct.unpack(data)))

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


def _format(fields: Tuple[Field, ...]) -> str:
    parts = []
    for f in fields:
        if f.nested is not None:
            parts.append(_format(f.nested._fields) * f.count)
        elif f.is_bytes:
            parts.append(f"{f.count}s")
        else:
            parts.append(f"{f.count}{_CODES[f.kind]}" if f.array else _CODES[f.kind])
    return "".join(parts)


def _class_for(mt: Any, nested: Optional[Dict[str, type]] = None) -> type:
    """The class of Rust-side type ``mt`` whose fields have the message
    classes ``nested`` (not given: the first class of the nested type's id)."""
    specs = []
    for (name, _offset, kind, _count, nested_mt, shape) in mt.fields:
        dims = tuple(shape)
        cls = None if nested_mt is None else (nested or {}).get(name) \
            or _BY_ID.get(nested_mt.id) or _class_for(nested_mt)
        specs.append((name, kind, dims, cls))
    key = (mt.id, tuple((dims, cls) for (_, _, dims, cls) in specs))
    known = _CLASSES.get(key)
    if known is not None:
        return known
    fields_t = tuple(Field(mt.name, *spec) for spec in specs)
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
    cls._set_scalar = _horus.FieldSetter(  # type: ignore[assignment]
        [(f.name, f.kind) for f in fields_t if f.int_range is not None or f.float_max is not None]
    ).set
    if all(f.nested is None for f in fields_t):
        cls._codec = _horus.FlatCodec(cls, cls._struct.size, [
            (f.name, f.kind, f.count, f.array, f.is_bytes, f.unflat,
             f.flat if len(f.dims) > 1 else None) for f in fields_t])
        cls.from_bytes = classmethod(cls._codec.unpack)  # type: ignore[assignment]
    _CLASSES[key] = cls
    _BY_ID.setdefault(mt.id, cls)
    return cls


def message(name: str, /, **fields: Any) -> type:
    """Declares message ``name`` with ``fields`` in this order, each a type
    (``"i64"``, ``"f64[3]"``, ``"u8[32]"``), a message class (nested), or
    ``(MessageClass, n)`` (an array of messages). Same name and fields as a
    Rust ``message!`` give the same type id and bytes, so the two programs
    share topics. Declaring it again returns the same class."""
    if not fields:
        # It would declare, and fail where a topic is opened with it.
        raise ValueError(f"message {name!r} has no field: a topic carries messages of 1 byte or "
                         f"more; give it one (a stamp: horus.message({name!r}, "
                         f"timestamp_ns=\"u64\"))")
    specs = []
    nested = {}
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
            nested[fname] = ty
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
            nested[fname] = ty[0]
        elif isinstance(ty, str):
            specs.append((fname, ty))
        else:
            raise TypeError(f"field {fname!r} of message {name!r} has type {ty!r}: a field type "
                            "is a string such as \"f64\" or \"u8[32]\", a message class, or "
                            "(MessageClass, n)")
    return _class_for(_horus.define(name, specs), nested)


def _standard() -> Dict[str, type]:
    return {mt.name: _class_for(mt) for mt in _horus.standard_types()}


STANDARD = _standard()


def _declared(declaration: Tuple[str, Tuple[Tuple[str, Any], ...]]) -> type:
    """The class of ``Message._declaration()`` ``declaration``, declared
    here if it was not."""
    cls = _BY_DECLARATION.get(declaration)
    if cls is None:
        name, fields = declaration
        types: Dict[str, Any] = {}
        for field, ty in fields:
            if isinstance(ty, str):
                types[field] = ty
            else:
                nested, n = _declared(ty[0]), ty[1]
                types[field] = nested if n is None else (nested, n)
        cls = _BY_DECLARATION[declaration] = message(name, **types)
    return cls


def _reduce_class(cls: type) -> Any:
    """A message class pickles as its declaration (see ``Message.__reduce__``);
    ``Message`` itself by its name."""
    if cls is Message:
        return "Message"
    return (_declared, (cls._declaration(),))


copyreg.pickle(_MessageClass, _reduce_class)


def _unpickle(declaration: Tuple[str, Tuple[Tuple[str, Any], ...]],
              values: Tuple[Any, ...]) -> Message:
    """A message pickled by ``Message.__reduce__``."""
    cls = _declared(declaration)
    if len(values) != len(cls._fields):
        raise ValueError(f"a pickled {cls.__name__} has {len(values)} values for its "
                         f"{len(cls._fields)} fields")
    m = cls.__new__(cls)
    for f, v in zip(cls._fields, values):
        object.__setattr__(m, f.name, f.check(v))
    return m
