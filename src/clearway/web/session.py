"""Sign-in for the web application: the same client credentials and tokens as the API, kept in a cookie
(HttpOnly, SameSite=Strict, so another site can neither read it nor make the browser send it)."""

from __future__ import annotations

from typing import Any

from litestar import Request

from clearway.auth.clients import Principal
from clearway.errors import ClearwayError, Unauthenticated
from clearway.workers.runtime import Runtime

COOKIE = "clearway_session"


class SignInNeeded(ClearwayError):
    """No valid session: the page sends the browser to the sign-in form."""


class NotAnOfficer(ClearwayError):
    """Signed in, but with a role that may not see the officer pages."""

    def __init__(self, principal: Principal) -> None:
        super().__init__(f"{principal.name} signed in as {principal.role}: these pages are for officers")
        self.principal = principal


def officer_of(request: Request[Any, Any, Any], runtime: Runtime) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInNeeded("sign in first")
    try:
        principal = runtime.tokens.verify(token)
    except Unauthenticated as exc:
        raise SignInNeeded(exc.message) from exc
    if "officer" not in principal.scopes:
        raise NotAnOfficer(principal)
    return principal
