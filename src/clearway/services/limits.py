"""Limits on callers: token buckets per caller, and the sign-in throttle.

Every limiter keeps bounded state: a bucket left alone long enough to refill is forgotten (a fresh bucket is
the same thing), and past MAX_BUCKETS the least recently used are dropped, so no stream of new caller ids
(an attacker's invented client ids) can grow memory without bound.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import OrderedDict
from typing import Any

from clearway.auth.clients import TokenIssuer
from clearway.errors import RateLimited, Unauthenticated

MAX_BUCKETS = 100_000
"""Callers a limiter remembers at once; beyond, the least recently seen are forgotten."""


class RateLimiter:
    """A token bucket per caller: `rate` units a second on average, bursts of `burst`."""

    def __init__(self, rate: float, burst: float, *, what: str = "requests", max_buckets: int = MAX_BUCKETS) -> None:
        self.rate = rate
        self.burst = burst
        self.what = what
        self.max_buckets = max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._refill = burst / rate  # seconds after which an untouched bucket is full again

    def __len__(self) -> int:
        return len(self._buckets)

    def _level(self, caller: str, now: float) -> float:
        tokens, last = self._buckets.get(caller, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def _forget_idle(self, now: float) -> None:
        while self._buckets:
            oldest, (_, last) = next(iter(self._buckets.items()))
            if now - last < self._refill and len(self._buckets) <= self.max_buckets:
                break
            del self._buckets[oldest]

    def available(self, caller: str) -> float:
        """What the caller could take now, without taking it."""
        with self._lock:
            return self._level(caller, time.monotonic())

    def take(self, caller: str, cost: float = 1.0) -> None:
        now = time.monotonic()
        with self._lock:
            tokens = self._level(caller, now)
            self._buckets[caller] = (tokens, now)
            self._buckets.move_to_end(caller)
            self._forget_idle(now)
            if tokens < cost:
                wait = max(1, math.ceil((min(cost, self.burst) - tokens) / self.rate))
                raise RateLimited(f"more than {self.rate:g} {self.what} a second: retry in {wait} s", retry_after=wait)
            self._buckets[caller] = (tokens - cost, now)


class SignInThrottle:
    """Guessing secrets is slowed per address and per client, without letting a stranger lock a client out.

    Every attempt counts against its address. Failures count against the (client, address) pair and, more
    loosely, against the client from anywhere; an address the client has signed in from before is spared the
    client-wide count, so wrong secrets sent from elsewhere cannot stop the real client signing in.
    """

    def __init__(self) -> None:
        self.per_address = RateLimiter(rate=1.0, burst=30, what="sign-in attempts per address")
        self.per_pair = RateLimiter(rate=5 / 60, burst=5, what="failed sign-ins per client and address")
        self.per_client = RateLimiter(rate=30 / 60, burst=30, what="failed sign-ins per client")
        self._known: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def _known_address(self, client_id: str, address: str) -> bool:
        with self._lock:
            return (client_id, address) in self._known

    def check(self, client_id: str, address: str) -> None:
        """Before the secret is checked: RateLimited when this attempt must wait."""
        self.per_address.take(address)
        pair = f"{client_id}\0{address}"
        if self.per_pair.available(pair) < 1:
            self.per_pair.take(pair)  # raises, with the wait
        if not self._known_address(client_id, address) and self.per_client.available(client_id) < 1:
            self.per_client.take(client_id)

    def failed(self, client_id: str, address: str) -> None:
        for limiter, key in ((self.per_pair, f"{client_id}\0{address}"), (self.per_client, client_id)):
            with contextlib.suppress(RateLimited):  # already at its limit: the next attempt waits
                limiter.take(key)

    def succeeded(self, client_id: str, address: str) -> None:
        with self._lock:
            self._known[client_id, address] = time.monotonic()
            self._known.move_to_end((client_id, address))
            while len(self._known) > MAX_BUCKETS:
                self._known.popitem(last=False)


def sign_in(tokens: TokenIssuer, throttle: SignInThrottle, client_id: str, secret: str, address: str) -> dict[str, Any]:
    """Client credentials to a token, throttled: the one way the API and the officers' pages sign in."""
    throttle.check(client_id, address)
    try:
        issued = tokens.issue(client_id, secret)
    except Unauthenticated:
        throttle.failed(client_id, address)
        raise
    throttle.succeeded(client_id, address)
    return issued
