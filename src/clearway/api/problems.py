"""The one mapping from clearway's exceptions to HTTP: RFC 9457 problem details."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException

from clearway.errors import ClearwayError, IllegalTransition, InvalidInput, NotFound

log = logging.getLogger("clearway.api")
STATUS: dict[type[ClearwayError], int] = {NotFound: 404, IllegalTransition: 409, InvalidInput: 422}
TITLES = {404: "Not found", 409: "Conflict", 422: "Invalid input", 500: "Internal error"}


def problem(status: int, detail: str, *, title: str | None = None) -> Response[dict[str, object]]:
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    return Response(body, status_code=status, media_type="application/problem+json")


def clearway_error(_: Request[object, object, object], exc: ClearwayError) -> Response[dict[str, object]]:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
    if status == 500:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "the server could not complete the request")
    return problem(status, exc.message)


def http_error(_: Request[object, object, object], exc: HTTPException) -> Response[dict[str, object]]:
    return problem(exc.status_code, str(exc.detail))


def unexpected(_: Request[object, object, object], exc: Exception) -> Response[dict[str, object]]:
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "the server could not complete the request")
