"""The one mapping from clearway's exceptions to HTTP: RFC 9457 problem details."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException
from prometheus_client import Counter

from clearway.errors import (
    ClearwayError,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
)

log = logging.getLogger("clearway.api")
SERVER_ERRORS = Counter("clearway_server_errors_total", "requests answered with 500", ["kind"])
STATUS: dict[type[ClearwayError], int] = {
    NotFound: 404, IllegalTransition: 409, InvalidInput: 422, Unauthenticated: 401, Forbidden: 403, TooLarge: 413,
    RateLimited: 429,
}  # fmt: skip
TITLES = {
    400: "Bad request", 401: "Unauthenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    409: "Conflict", 413: "Too large", 415: "Unsupported media type", 422: "Invalid input", 429: "Too many requests",
    500: "Internal error",
}  # fmt: skip


def problem(
    status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None, **extra: object
) -> Response[dict[str, object]]:
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(body, status_code=status, media_type="application/problem+json", headers=headers)


def clearway_error(_: Request[object, object, object], exc: ClearwayError) -> Response[dict[str, object]]:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
    if status == 500:
        log.exception("unexpected error", exc_info=exc)
        SERVER_ERRORS.labels(kind=type(exc).__name__).inc()
        return problem(500, "the server could not complete the request")
    headers = None
    if isinstance(exc, Unauthenticated):
        headers = {"WWW-Authenticate": 'Bearer realm="clearway"'}
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem(status, exc.message, headers=headers)


def http_error(_: Request[object, object, object], exc: HTTPException) -> Response[dict[str, object]]:
    extra = getattr(exc, "extra", None)
    errors = extra if isinstance(extra, list) and extra else None
    if errors is not None:
        return problem(exc.status_code, str(exc.detail), headers=exc.headers, errors=errors)
    return problem(exc.status_code, str(exc.detail), headers=exc.headers)


def unexpected(_: Request[object, object, object], exc: Exception) -> Response[dict[str, object]]:
    if isinstance(exc, RecursionError | UnicodeDecodeError):  # hostile bodies a decoder gave up on
        return problem(400, "the body is nested too deeply or is not UTF-8")
    log.exception("unexpected error", exc_info=exc)
    SERVER_ERRORS.labels(kind=type(exc).__name__).inc()
    return problem(500, "the server could not complete the request")
