"""Interactive work first: while a short request is in flight, bulk work waits at its safe points.

One interpreter runs the API's request handling, the writer and the assessor, and they take turns at its
lock. Left alone, a tenant's bulk filings (1,000 consignments decoded, validated, stored and assessed
each) keep every turn busy, and another tenant's single filing, which needs a few milliseconds, waits for
its turn at each step: its tail latency grows with the flood (issue 17). So a short request (a few
consignments, a read, an officer's page) is marked interactive for its lifetime (by the API's request
context, which knows what a short request is), and bulk work calls
`Priority.yield_point` between steps (every few lines of a bulk body, before a bulk slice of the writer,
before each assessment stage and each batch of decisions stored): it waits while an interactive request
is in flight, at most `most` seconds at each point and at most `share` of each second of each thread, so
bulk work is delayed for short requests and never stopped by them, however many come.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class Priority:
    """Counts interactive requests in flight; bulk work yields to them at its safe points."""

    def __init__(self, most: float = 0.02, step: float = 0.001, share: float = 0.5) -> None:
        self.most = most  # the longest a bulk step waits at one yield point (seconds)
        self.step = step  # how often a wait with a condition of its own looks again (seconds)
        self.share = share  # the most of each second a bulk thread spends waiting
        self._spent = threading.local()  # per bulk thread: [the second it is in, seconds waited in it]
        self._cond = threading.Condition()
        self._in_flight = 0
        self.yielded = 0.0  # seconds bulk work has waited, since start (for metrics)
        self.mirror: Any = None  # a shared integer another process reads (the assessor's): requests in flight

    @contextlib.contextmanager
    def interactive(self) -> Iterator[None]:
        with self._cond:
            self._in_flight += 1
            if self.mirror is not None:
                self.mirror.value = self._in_flight
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                if self.mirror is not None:
                    self.mirror.value = self._in_flight
                if self._in_flight == 0:
                    self._cond.notify_all()

    def busy(self) -> bool:
        """An interactive request is in flight."""
        return self._in_flight > 0

    def yield_point(self, until: Callable[[], bool] | None = None) -> float:
        """Wait while an interactive request is in flight (or until `until()` holds), at most `most`
        seconds; returns the seconds waited."""
        if not self._in_flight:
            time.sleep(0)  # the interpreter lock, offered: a request arriving now is read without waiting for it
            return 0.0
        started = time.monotonic()
        spent = getattr(self._spent, "second", None)
        if spent is None or spent[0] != int(started):
            spent = self._spent.second = [int(started), 0.0]
        allowed = min(self.most, self.share - spent[1])
        if allowed <= 0:
            return 0.0  # this thread has given way for its share of this second: it goes on
        deadline = started + allowed
        while self._in_flight and not (until is not None and until()):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with self._cond:
                if self._in_flight:
                    self._cond.wait(min(left, self.step) if until is not None else left)
        waited = time.monotonic() - started
        spent[1] += waited
        with self._cond:
            self.yielded += waited
        return waited

    def paced(self, items: Iterable[T], every: int = 25) -> list[T]:
        """The items as a list, yielding every `every` items (decoding and validating a bulk body)."""
        out: list[T] = []
        for n, item in enumerate(items, start=1):
            out.append(item)
            if n % every == 0:
                self.yield_point()
        return out
