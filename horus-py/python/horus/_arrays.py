"""The list a message's array field holds: a ``list`` of fixed length whose
items are checked when they are set, as the message's constructor checks
them (``scan.ranges[7] = True`` raises the constructor's ``TypeError``
naming ``LaserScan.ranges[7]``). Packing is then never the first check of
a value, and a list changed in place cannot become something the
constructor refuses."""

from __future__ import annotations

import operator
from typing import Any, Iterable, NoReturn


class FixedList(list):
    """An array field of a message. Each field has its own subclass (made
    by :func:`array_class`, one per depth of a multi-dimensional array)
    whose ``_field`` checks an item set at index ``k`` (``_field.item(self,
    k, value)``: a row is checked as a whole); ``_at`` is set on the rows of
    a multi-dimensional array only (``"[1]"``: where the row is). Copies
    (``[:]``, ``copy()``, ``+``, pickling the list alone) are plain lists."""

    __slots__ = ("_at",)
    _field: Any = None
    #: How deep in the field's arrays this list is (0: the field's value).
    _depth = 0

    def where(self) -> str:
        """``Imu.orientation``, or ``Grid.cells[1]`` for a row."""
        return self._field.where + getattr(self, "_at", "")

    def __setitem__(self, index: Any, value: Any) -> None:
        n = len(self)
        if isinstance(index, slice):
            span = range(*index.indices(n))
            values = list(value)
            if len(values) != len(span):
                self._resize()
            checked = [self._field.item(self, k, v) for k, v in zip(span, values)]
            list.__setitem__(self, index, checked)
            return
        k = operator.index(index)
        if not -n <= k < n:
            raise IndexError(f"{self.where()} has {n} items: index {k} is out of range")
        list.__setitem__(self, k, self._field.item(self, k % n, value))

    def _resize(self, *_args: Any, **_kw: Any) -> NoReturn:
        where, field = self.where(), self._field
        what = f"the length of {where}" if field.row(where) else f"{where} is " \
            f"{field.type_text()}: its length"
        raise ValueError(f"{field.row(where)}{what} is fixed ({len(self)}); set its items, or "
                         "assign the whole field")

    append = extend = insert = pop = remove = clear = _resize  # type: ignore[assignment]
    __delitem__ = _resize  # type: ignore[assignment]

    def __iadd__(self, _other: Iterable[Any]) -> NoReturn:  # type: ignore[override,misc]
        self._resize()

    def __imul__(self, _n: Any) -> NoReturn:  # type: ignore[override,misc]
        self._resize()

    def __reduce__(self) -> Any:
        return (list, (list(self),))


def array_class(field: Any, depth: int) -> type:
    """The :class:`FixedList` subclass of the arrays at ``depth`` of
    ``field`` (a message's ``Field``)."""
    return type("FixedList", (FixedList,), {"__slots__": (), "_field": field, "_depth": depth})
