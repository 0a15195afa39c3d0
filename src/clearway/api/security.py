"""Who is calling: bearer tokens to principals, role checks and the caller's address for limits."""

from __future__ import annotations

from litestar import Request

from clearway.auth.clients import Principal, TokenIssuer
from clearway.errors import Forbidden, Unauthenticated
from clearway.services.limits import RateLimiter, SignInThrottle
from clearway.telemetry import logs

__all__ = ["RateLimiter", "SignInThrottle", "address_of", "bearer", "principal_of", "require"]


def address_of(request: Request[object, object, object]) -> str:
    """The caller's address as the server saw it: forwarded headers count only when the server was told to
    trust the proxy that sent them (`CLEARWAY_TRUSTED_PROXIES`, applied by uvicorn)."""
    return request.client.host if request.client else "-"


def bearer(request: Request[object, object, object]) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send `Authorization: Bearer <token>`; get a token at POST /v1/oauth/token")
    return token.strip()


def principal_of(request: Request[object, object, object], tokens: TokenIssuer, limiter: RateLimiter) -> Principal:
    principal = tokens.verify(bearer(request))
    logs.client.set(principal.client_id)  # every log line of the request names who asked (not a secret)
    logs.tenant.set(principal.tenant)
    limiter.take(principal.client_id)
    return principal


def require(principal: Principal, scope: str) -> Principal:
    if scope not in principal.scopes:
        article = "an" if principal.role[:1] in "aeiou" else "a"
        raise Forbidden(f"{article} {principal.role} client may not do this (it needs the `{scope}` scope)")
    return principal
