"""A field of a message class: its declared type and the checks of what is
stored in it (the constructor's, assignment's and in-place changes'), and
its values in the order of the Rust struct's bytes.

An array field keeps its declared shape: ``"u8[2][2]"`` holds two rows of
two, as Rust's ``[[u8; 2]; 2]`` (the type id and the schema the topic
stores record the shape; ``"u8[4]"`` is another type). Every level is a
:class:`~horus._arrays.FixedList` of its length, except that the innermost
level of a ``u8`` array is ``bytes`` (frame names)."""

from __future__ import annotations

import numbers
import operator
import struct
from itertools import chain
from typing import Any, Callable, List, Optional, Sequence

from ._arrays import array_class

_INT_RANGES = {
    "u8": (0, 2**8 - 1), "i8": (-(2**7), 2**7 - 1),
    "u16": (0, 2**16 - 1), "i16": (-(2**15), 2**15 - 1),
    "u32": (0, 2**32 - 1), "i32": (-(2**31), 2**31 - 1),
    "u64": (0, 2**64 - 1), "i64": (-(2**63), 2**63 - 1),
}

#: Packs one f32: raises OverflowError for a finite value beyond its range.
_F32 = struct.Struct("<f")
#: The largest finite f32: a float within it packs as an f32.
_F32_MAX = 3.4028234663852886e38


class Field:
    """Field ``name`` of message ``owner``: kind ("f64"... or "struct"),
    array sizes ``dims`` (outermost first; none for a scalar), nested
    class. ``levels[d]`` is the list class of the arrays at depth ``d``;
    ``unflat`` makes the stored value from the struct's values (a tuple
    slice, or the one ``bytes`` of a u8 array; ``None``: stored as is)."""

    __slots__ = ("name", "where", "kind", "dims", "count", "nested", "array", "is_bytes",
                 "single", "levels", "array_cls", "unflat", "int_range", "float_max")

    def __init__(self, owner: str, name: str, kind: str, dims: Sequence[int], nested: Any):
        self.name, self.kind, self.dims, self.nested = name, kind, tuple(dims), nested
        self.where = f"{owner}.{name}"
        self.array = bool(self.dims)
        self.count = 1
        for n in self.dims:
            self.count *= n
        #: A u8 array: its innermost level is `bytes`, one struct value.
        self.is_bytes = self.array and kind == "u8" and nested is None
        #: The struct packs it as one value (a scalar, a u8 array's bytes).
        self.single = not self.array or self.is_bytes
        lists = len(self.dims) - 1 if self.is_bytes else len(self.dims)
        self.levels = tuple(array_class(self, d) for d in range(lists))
        self.array_cls = self.levels[0] if self.levels else None
        scalar = not self.array and nested is None
        #: A scalar integer field: the values it holds (for `check`'s fast path).
        self.int_range = _INT_RANGES.get(kind) if scalar else None
        #: A scalar float field: the largest float it takes as is.
        self.float_max = None if not scalar or kind[0] != "f" else \
            (float("inf") if kind == "f64" else _F32_MAX)
        self.unflat: Optional[Callable[[Any], Any]] = None
        if len(self.dims) > 1:
            self.unflat = self.from_flat
        elif self.array_cls is not None:
            self.unflat = self.array_cls

    def type_text(self) -> str:
        base = self.nested.__name__ if self.nested is not None else self.kind
        return base + "".join(f"[{n}]" for n in self.dims)

    def default(self) -> Any:
        if self.nested is not None:
            if self.array:
                return self.array_cls([self.nested() for _ in range(self.count)])
            return self.nested()
        zero = 0.0 if self.kind[0] == "f" else 0
        if not self.array:
            return zero
        return self.from_flat(bytes(self.count) if self.is_bytes else (zero,) * self.count)

    def from_flat(self, values: Any) -> Any:
        """The array of ``values`` (its elements in order; a u8 array's
        bytes), in the declared shape."""
        return self._rows(values, 0, "")

    def _rows(self, values: Any, d: int, at: str) -> Any:
        if d == len(self.levels):
            return values  # a u8 row: bytes already
        if d == len(self.dims) - 1:
            out = self.levels[d](values)
        else:
            n = self.dims[d]
            step = len(values) // n
            out = self.levels[d]([self._rows(values[k * step:(k + 1) * step], d + 1,
                                             f"{at}[{k}]") for k in range(n)])
        if d:
            out._at = at
        return out

    def flat(self, value: Any) -> Sequence[Any]:
        """The struct's values of ``value`` (as stored): its elements in
        order; one ``bytes`` for a u8 array."""
        if self.single and len(self.dims) < 2:
            return (value,)
        for _ in range(len(self.levels) - 1):
            value = chain.from_iterable(value)
        return (b"".join(value),) if self.is_bytes else list(value)

    def check(self, value: Any) -> Any:
        """The value to store, or TypeError/ValueError with a sentence."""
        # The common case first, stored as given: an int in range for an
        # integer field, a float for a float field (within an f32's range
        # for an f32; NaN and infinities take the checks below). The
        # `isinstance` checks against the `numbers` ABCs below cost more than
        # the rest of an assignment (they accept numpy's scalars too).
        t = type(value)
        if t is int:
            bounds = self.int_range
            if bounds is not None and bounds[0] <= value <= bounds[1]:
                return value
        elif t is float:
            top = self.float_max
            if top is not None and -top <= value <= top:
                return value
        if self.array:
            return self._array(self.where, value, 0)
        if self.nested is not None:
            return self._one_message(self.where, value)
        return self._scalar(self.where, value)

    def item(self, array: Any, k: int, value: Any) -> Any:
        """``value`` set in place at index ``k`` of ``array`` (a list of
        this field), checked as the constructor checks it."""
        where = f"{array.where()}[{k}]"
        d = array._depth + 1
        if d < len(self.dims):
            return self._array(where, value, d)
        if self.nested is not None:
            return self._one_message(where, value)
        return self._scalar(where, value)

    def _array(self, where: str, value: Any, d: int) -> Any:
        """The array at depth ``d`` (at ``where``) of ``value``."""
        n = self.dims[d]
        if d == len(self.levels):  # a u8 row
            if isinstance(value, (bytes, bytearray, str)):
                data = value.encode() if isinstance(value, str) else bytes(value)
                if len(data) > n:
                    raise ValueError(f"{self.row(where)}{where} holds at most {n} bytes, "
                                     f"not {len(data)}")
                return data.ljust(n, b"\0")
            items = self._sequence(where, value, d)
            return bytes([self._scalar(f"{where}[{i}]", v) for i, v in enumerate(items)])
        items = self._sequence(where, value, d)
        if d < len(self.dims) - 1:
            checked = [self._array(f"{where}[{i}]", v, d + 1) for i, v in enumerate(items)]
        elif self.nested is not None:
            checked = [self._one_message(f"{where}[{i}]", v) for i, v in enumerate(items)]
        else:
            checked = [self._scalar(f"{where}[{i}]", v) for i, v in enumerate(items)]
        out = self.levels[d](checked)
        if d:
            out._at = where[len(self.where):]
        return out

    def row(self, where: str) -> str:
        """What opens a sentence about the row at ``where``: the field and
        its type (``Grid.cells is u8[2][2]: ``); nothing for the field."""
        return "" if where == self.where else f"{self.where} is {self.type_text()}: "

    def _sequence(self, where: str, value: Any, d: int) -> List[Any]:
        """The items of the array at depth ``d``, or the sentence saying
        why ``value`` is not one (its type, or its length)."""
        n, items = self.dims[d], "values" if d == len(self.dims) - 1 else "rows"
        if where == self.where:
            head, give, needs = f"{where} is {self.type_text()}: ", "give", "it needs"
        else:
            head, give, needs = self.row(where) + where + " ", "must be", "needs"
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise TypeError(f"{head}{give} a sequence of {n} {items}, not "
                            f"{type(value).__name__}")
        if len(value) != n:
            raise ValueError(f"{head}{needs} exactly {n} {items}, not {len(value)}")
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
            try:
                x = float(value)
            except OverflowError:
                # An int (or a Fraction) too large for any float.
                text = str(value)
                shown = text if len(text) <= 24 else f"{text[:16]}… ({len(text)} characters)"
                raise ValueError(f"{where} is {self.kind}: {shown} is beyond its range; give "
                                 f"a value within {'3.4e38' if self.kind == 'f32' else '1.8e308'}"
                                 f" either way") from None
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
