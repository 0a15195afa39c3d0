"""OAuth2 client credentials (RFC 6749 4.4): a client's id and secret for a short-lived bearer token."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body

from clearway.api.security import RateLimiter
from clearway.errors import InvalidInput, Unauthenticated
from clearway.services.runtime import Runtime


class TokenRequest(msgspec.Struct, frozen=True):
    grant_type: str
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None


class TokenResponse(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


def _basic(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthenticated("the Basic credentials are not base64 of `client_id:client_secret`") from exc
    return client_id, secret


class OAuthController(Controller):
    path = "/v1/oauth"
    tags = ["auth"]

    @post("/token", security=[], status_code=200, sync_to_thread=True, summary="A bearer token for client credentials")
    def token(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        limiter: NamedDependency[RateLimiter],
        data: Annotated[TokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> TokenResponse:
        """Send `grant_type=client_credentials` with the client's id and secret, in the form or as HTTP Basic."""
        if data.grant_type != "client_credentials":
            raise InvalidInput(f"unsupported grant_type {data.grant_type!r}: only client_credentials")
        credentials = _basic(request) or (data.client_id or "", data.client_secret or "")
        if not all(credentials):
            raise Unauthenticated("client_id and client_secret are required")
        limiter.take(f"token:{credentials[0]}")
        issued = runtime.tokens.issue(*credentials)
        return TokenResponse(**issued)
