"""What every officers' page shares: the page itself, the form read, the same-origin check on every change,
and the headers that keep pages out of frames and caches."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.response import Template

from clearway.model.vocabulary import LANES


def page(name: str, user: Any, **context: Any) -> Template:
    return Template(name, context={"user": user, "lanes": LANES, **context})


async def read_form(request: Request[Any, Any, Any]) -> Any:
    return await request.form()


def same_origin(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Refuse a state-changing request that says it comes from another site (the CSRF token is checked too)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    origin = request.headers.get("origin")
    if origin is None:  # not a browser's cross-site request; the CSRF token still has to match
        return None
    # the host only: behind a proxy that ends TLS the app sees http while the browser says https
    if urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
        return Response({"type": "about:blank", "title": "Forbidden", "status": 403,
                         "detail": f"a request from {origin[:80]} may not change anything here"},
                        status_code=403, media_type="application/problem+json")  # fmt: skip
    return None


def protect(response: Response[Any]) -> Response[Any]:
    """No page may be framed by another site, and case pages are not kept in any cache."""
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
