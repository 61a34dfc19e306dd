"""Rows as a read returns them are immutable: what is derived from one can be remembered.

A billing run renders the same price and tax rate into thousands of event payloads (every
subscription of a batch shows its items' price, every invoice its default tax rates), each
time from the same row object the batch loaded. `RowMemo` remembers a value derived from
such a row by the row's identity; a mutable mapping (a dict built in memory) is never
remembered, its value is derived again each time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import RowMapping

T = TypeVar("T")


def is_row(record: Mapping[Any, Any]) -> bool:
    """Whether `record` is a row as read (immutable, so its derived values can be kept)."""
    return type(record) is RowMapping


class RowMemo(Generic[T]):
    """`make(row)`, remembered by the row's identity for immutable rows (at most `limit`
    rows at a time; the memo starts over when full).

    Each entry keeps its row alive, so an id is never reused while it is remembered. The
    value is shared by every caller: callers that hand it out copy what may be changed.
    """

    def __init__(self, make: Callable[[Mapping[Any, Any]], T], limit: int = 4096) -> None:
        self._make = make
        self._limit = limit
        self._memo: dict[int, tuple[Mapping[Any, Any], T]] = {}

    def __call__(self, record: Mapping[Any, Any]) -> T:
        if type(record) is not RowMapping:
            return self._make(record)
        hit = self._memo.get(id(record))
        if hit is None or hit[0] is not record:
            if len(self._memo) >= self._limit:
                self._memo.clear()
            hit = (record, self._make(record))
            self._memo[id(record)] = hit
        return hit[1]
