"""Values derived from a frame, kept while the frame lives.

Stages read the same frames many times: the batch (several stages explode its items) and the history's
references (the same for every batch until they are computed again). A frame is immutable, so what is derived
from it stays true for as long as it lives; the entry goes with the frame (a weak reference's callback).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

import polars as pl

T = TypeVar("T")


class Derived(Generic[T]):
    """Values derived from frames, one per frame, by the identity of the frame."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[pl.DataFrame], T]] = {}

    def get(self, frame: pl.DataFrame) -> T | None:
        entry = self._entries.get(id(frame))
        return entry[1] if entry is not None and entry[0]() is frame else None

    def put(self, frame: pl.DataFrame, value: T) -> T:
        key = id(frame)
        self._entries[key] = (weakref.ref(frame, self._forget(key)), value)
        return value

    def of(self, frame: pl.DataFrame, build: Callable[[pl.DataFrame], T]) -> T:
        """The value kept for `frame`, built (and kept) if there is none."""
        found = self.get(frame)
        return self.put(frame, build(frame)) if found is None else found

    def _forget(self, key: int) -> Callable[[object], None]:
        def drop(_: object) -> None:
            self._entries.pop(key, None)

        return drop
