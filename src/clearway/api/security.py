"""Who is calling: bearer tokens to principals, role checks, and per-client rate limits."""

from __future__ import annotations

import math
import threading
import time

from litestar import Request

from clearway.errors import Forbidden, RateLimited, Unauthenticated
from clearway.services.clients import Principal, TokenIssuer


class RateLimiter:
    """A token bucket per caller: `rate` requests a second on average, bursts of `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, caller: str, cost: float = 1.0) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < cost:
                self._buckets[caller] = (tokens, now)
                wait = max(1, math.ceil((cost - tokens) / self.rate))
                raise RateLimited(f"more than {self.rate:g} requests a second: retry in {wait} s", retry_after=wait)
            self._buckets[caller] = (tokens - cost, now)

    def take_address(self, request: Request[object, object, object]) -> None:
        """For callers without a token (the public routes): the bucket of their address."""
        self.take(f"ip:{request.client.host if request.client else '-'}")


def bearer(request: Request[object, object, object]) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send `Authorization: Bearer <token>`; get a token at POST /v1/oauth/token")
    return token.strip()


def principal_of(request: Request[object, object, object], tokens: TokenIssuer, limiter: RateLimiter) -> Principal:
    principal = tokens.verify(bearer(request))
    limiter.take(principal.client_id)
    return principal


def require(principal: Principal, scope: str) -> Principal:
    if scope not in principal.scopes:
        raise Forbidden(f"a {principal.role} client may not do this (it needs the `{scope}` scope)")
    return principal
