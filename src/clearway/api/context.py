"""Request context, in front of every route: an id, a span, and one log line.

The request id is taken from `X-Request-Id` when the caller sent a sane one (letters, digits, `.-_:`, at
most 128) and made otherwise; it is returned in `X-Request-Id`, set for every log line of the request
(`telemetry/logs.py`) and recorded on the request's span. When the request ends, one `request` line says
method, route (the template, never the path: a path can carry a tracking number), status and duration,
with the client and tenant the token named.

A short request (no body, or a small one) is interactive for its lifetime (`workers/priority.py`): bulk
work yields to it, so a tenant's flood does not stretch another tenant's single filing.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from clearway.telemetry import logs, traces
from clearway.workers.priority import Priority

log = logging.getLogger("clearway.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

INTERACTIVE_BYTES = 16_384
"""A request whose body is at most this is short (a filing of a few consignments, an amendment, a form)."""


def is_interactive(method: str, headers: dict[bytes, bytes]) -> bool:
    """A request without a body, or with a declared body of at most INTERACTIVE_BYTES (a body of unknown
    length, sent in chunks, is taken as bulk)."""
    length = headers.get(b"content-length")
    if length is None:
        return method in ("GET", "HEAD", "OPTIONS", "DELETE")
    return length.isdigit() and int(length) <= INTERACTIVE_BYTES


def route_of(scope: Scope) -> str:
    """The route template Litestar matched (`/v1/consignments/{consignment_id:str}`), else `unmatched`."""
    handler = scope.get("route_handler")
    template = scope.get("path_template")
    if isinstance(template, str):
        return template
    paths = getattr(handler, "paths", None)
    return next(iter(paths)) if paths else "unmatched"


class RequestContext:
    def __init__(self, app: ASGIApp, priority: Priority | None = None) -> None:
        self.app = app
        self.priority = priority or Priority()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        sent = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _SANE_ID.match(sent) else uuid.uuid4().hex
        tokens = (logs.request_id.set(request_id), logs.client.set(None), logs.tenant.set(None))
        status: dict[str, Any] = {"code": 500}
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        method = str(scope.get("method", ""))
        interactive = self.priority.interactive() if is_interactive(method, headers) else contextlib.nullcontext()
        with (
            interactive,
            traces.server_span(method, {"http.request.method": method, "clearway.request_id": request_id}) as span,
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = route_of(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status["code"])
                facts = {"method": method, "route": route, "status": status["code"],
                         "duration_ms": round(1000 * (time.perf_counter() - started), 1)}  # fmt: skip
                consignment = (scope.get("path_params") or {}).get("consignment_id")
                if isinstance(consignment, str):
                    facts["consignment_id"] = consignment[:64]
                log.info("request", extra=facts)
                for var, token in zip((logs.request_id, logs.client, logs.tenant), tokens, strict=True):
                    var.reset(token)
