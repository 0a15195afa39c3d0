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

from clearway.api.security import address_of
from clearway.errors import InvalidInput, Unauthenticated
from clearway.services.limits import SignInThrottle, sign_in
from clearway.workers.runtime import Runtime


class TokenRequest(msgspec.Struct, frozen=True):
    grant_type: Annotated[str, msgspec.Meta(max_length=64)]
    client_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    client_secret: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    scope: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class TokenResponse(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


def _basic(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    if len(encoded) > 512:
        raise Unauthenticated("the Basic credentials are too long")
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
        throttle: NamedDependency[SignInThrottle],
        data: Annotated[TokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> TokenResponse:
        """Send `grant_type=client_credentials` with the client's id and secret, in the form or as HTTP Basic.
        Attempts are throttled per address and failures per client (429 with Retry-After)."""
        if data.grant_type != "client_credentials":
            raise InvalidInput(f"unsupported grant_type {data.grant_type!r}: only client_credentials")
        credentials = _basic(request) or (data.client_id or "", data.client_secret or "")
        if not all(credentials) or len(credentials[0]) > 64 or len(credentials[1]) > 256:
            raise Unauthenticated("client_id and client_secret are required (at most 64 and 256 characters)")
        return TokenResponse(**sign_in(runtime.tokens, throttle, credentials[0], credentials[1], address_of(request)))
