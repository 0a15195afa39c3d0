"""A guard in front of every route: text that no store can hold is refused before a handler sees it.

PostgreSQL cannot store the NUL character, and a path, query or form field that carries one (or bytes that
are not UTF-8) would otherwise reach a query and fail there. Consignment filings are left to the contract's
validation, which rejects the one consignment that carries such text and keeps the others of the batch.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_NUL_ESCAPE = re.compile(rb"\\u0000", re.IGNORECASE)
_FILINGS = re.compile(r"^/v1/consignments(/[^/]+)?$")  # POST a batch, PUT an amendment: validated per consignment
_encode = msgspec.json.encode
MAX_SEGMENT = 255
"""No id, reference, tracking number or file name is longer (a longer one made the file system fail)."""


def _bad_text(raw: bytes) -> str | None:
    """Why these (percent-decoded) bytes are refused, or None."""
    data = unquote_to_bytes(raw)
    if b"\x00" in data:
        return "NUL characters (U+0000) are not accepted"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "the text is not UTF-8"
    return None


def _body_problem(body: bytes, content_type: str) -> str | None:
    if b"\x00" in body or _NUL_ESCAPE.search(body):
        return "NUL characters (U+0000) are not accepted"
    if "form-urlencoded" in content_type:
        return _bad_text(body.replace(b"+", b" "))
    return None


class HostileInputGuard:
    """ASGI middleware: 400 problem+json for NUL or non-UTF-8 text in the path, the query or a small body;
    404 for a path segment longer than any name could be."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        decoded = scope["path"].encode("utf-8", "surrogateescape")  # a router may percent-decode it once more
        reason = _bad_text(raw_path) or _bad_text(decoded) or _bad_text(scope.get("query_string", b""))
        if reason is not None:
            await _refuse(send, reason)
            return
        if any(len(segment) > MAX_SEGMENT for segment in scope["path"].split("/")):
            await _refuse(send, f"no resource has a name longer than {MAX_SEGMENT} characters", 404, "Not found")
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        filing = scope["method"] in ("POST", "PUT") and _FILINGS.match(scope["path"]) is not None
        if filing or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        body, more, messages = b"", True, []
        while more and len(body) <= self.max_body:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False) and message["type"] == "http.request"
        if not more:
            reason = _body_problem(body, headers.get("content-type", ""))
            if reason is not None:
                await _refuse(send, reason)
                return
        await self.app(scope, _replay(messages, receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def _refuse(send: Send, reason: str, status: int = 400, title: str = "Bad request") -> None:
    body = _encode({"type": "about:blank", "title": title, "status": status, "detail": reason})
    await send(
        {"type": "http.response.start", "status": status,
         "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]}
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})
