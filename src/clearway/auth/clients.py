"""API clients and their tokens: OAuth2 client credentials, roles, scopes, short-lived signed tokens.

A client is a submitter (platform, express carrier, postal operator: its name is the tenant), an
officer, or another government agency. Secrets are kept as salted scrypt hashes; tokens are JWTs
(HS256 under the administration's secret) that carry the client, its role, tenant and scopes, so the
tenant always comes from the token and never from the request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args, runtime_checkable

import jwt
import msgspec

from clearway.errors import InvalidInput, NotFound, Unauthenticated
from clearway.store.clients import SqlClients
from clearway.store.engine import Engine

Role = Literal["platform", "carrier", "postal", "officer", "agency", "monitor", "partner"]
ROLES: tuple[Role, ...] = get_args(Role)
SUBMITTER_ROLES = frozenset({"platform", "carrier", "postal"})
SCOPES: dict[str, tuple[str, ...]] = {
    "platform": ("consignments:write", "consignments:read", "referrals:answer", "webhooks"),
    "carrier": ("consignments:write", "consignments:read", "referrals:answer", "webhooks"),
    "postal": ("consignments:write", "consignments:read", "referrals:answer", "webhooks"),
    "officer": ("officer", "quality:all", "metrics"),
    "agency": ("agency",),
    "monitor": ("metrics",),  # the operator's scraper: /metrics and nothing else
    "partner": ("exchange",),  # a partner administration: what this office shares with it (`api/partner.py`)
}
ISSUER = "clearway"


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified token."""

    client_id: str
    name: str
    role: str
    agency: str | None
    scopes: frozenset[str]

    @property
    def tenant(self) -> str:
        """The submitter name every consignment of this client is filed under."""
        return self.name

    @property
    def is_submitter(self) -> bool:
        return self.role in SUBMITTER_ROLES


def _hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _secret_matches(secret: str, stored: str) -> bool:
    _, salt, _ = stored.split("$")
    return hmac.compare_digest(_hash_secret(secret, bytes.fromhex(salt)), stored)


_NOBODY = _hash_secret(secrets.token_urlsafe(32))
"""Checked when the client is unknown or revoked, so that a refusal costs the same scrypt either way and its
timing does not tell which client ids exist."""
RECHECK_SECONDS = 2.0
"""How long a verified token trusts what it read of its client and of signed-out sessions: a revoked client
or a signed-out session is refused within this many seconds."""


@runtime_checkable
class ClientRecords(Protocol):
    """Where clients are kept: the store's `SqlClients`, or an in-memory fake in tests."""

    def get(self, client_id: str) -> dict[str, Any] | None: ...
    def add(self, row: dict[str, Any]) -> bool: ...
    def deactivate(self, name: str, at: dt.datetime) -> dict[str, Any] | None: ...
    def is_active(self, client_id: str) -> bool: ...
    def end_session(self, jti: str, expires: dt.datetime, now: dt.datetime) -> None: ...
    def ended_sessions(self, now: dt.datetime) -> frozenset[str]: ...


def records(source: Engine | ClientRecords) -> ClientRecords:
    """The clients kept in a database (given its engine), or the records given."""
    return source if isinstance(source, ClientRecords) else SqlClients(source)


def revoke_client(source: Engine | ClientRecords, name: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Revoke a client by name (any role): it can no longer get tokens, and the tokens it holds are refused."""
    at = now or dt.datetime.now(dt.UTC)
    row = records(source).deactivate(name, at)
    if row is None:
        raise NotFound(f"no client named {name!r}")
    return {"client_id": row["id"], "name": name, "role": row["role"], "revoked_at": at.isoformat()}


def add_client(
    source: Engine | ClientRecords,
    name: str,
    role: str,
    *,
    agency: str | None = None,
    webhook_hosts: list[str] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Create a client; returns its id and secret (the secret is shown this once and not kept)."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if not name or len(name) > 64:
        raise InvalidInput("a client name has 1 to 64 characters")
    if role == "agency" and not agency:
        agency = name
    client_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    row = {
        "id": client_id, "name": name, "role": role, "agency": agency if role == "agency" else None,
        "secret_hash": _hash_secret(secret), "webhook_hosts": msgspec.json.encode(webhook_hosts or []).decode(),
        "created_at": now or dt.datetime.now(dt.UTC), "active": True,
    }  # fmt: skip
    if not records(source).add(row):
        raise InvalidInput(f"a client named {name!r} exists already")
    return {"client_id": client_id, "client_secret": secret, "name": name, "role": role, "agency": row["agency"]}


def client(source: Engine | ClientRecords, client_id: str) -> dict[str, Any]:
    row = records(source).get(client_id)
    if row is None:
        raise NotFound(f"no client {client_id}")
    return row


class TokenIssuer:
    """Checks client credentials and issues and verifies tokens; revoked clients and signed-out sessions are
    refused within RECHECK_SECONDS."""

    def __init__(self, source: Engine | ClientRecords, secret: bytes, minutes: int) -> None:
        self.clients = records(source)
        self.key = hmac.new(secret, b"clearway access tokens", hashlib.sha256).digest()
        self.lifetime = dt.timedelta(minutes=minutes)
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[float, bool]] = {}  # client id -> (read at, still active)
        self._revoked: tuple[float, frozenset[str]] = (-RECHECK_SECONDS, frozenset())

    def issue(self, client_id: str, client_secret: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
        row = None
        if _CLIENT_ID.fullmatch(client_id):
            row = self.clients.get(client_id)
        usable = row is not None and row["active"]
        matches = _secret_matches(client_secret, row["secret_hash"] if usable and row else _NOBODY)
        if not (usable and matches) or row is None:
            raise Unauthenticated("unknown client or wrong secret")
        now = now or dt.datetime.now(dt.UTC)
        scopes = SCOPES[row["role"]]
        claims = {
            "iss": ISSUER, "sub": row["id"], "name": row["name"], "role": row["role"], "agency": row["agency"],
            "scope": " ".join(scopes), "iat": int(now.timestamp()), "exp": int((now + self.lifetime).timestamp()),
            "jti": secrets.token_hex(16),
        }  # fmt: skip
        token = jwt.encode(claims, self.key, algorithm="HS256")
        seconds = int(self.lifetime.total_seconds())
        return {"access_token": token, "token_type": "Bearer", "expires_in": seconds, "scope": claims["scope"]}

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            return dict(
                jwt.decode(
                    token, self.key, algorithms=["HS256"], issuer=ISSUER,
                    options={"require": ["exp", "sub", "iss", "jti"]},
                )
            )  # fmt: skip
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired: ask for a new one at /v1/oauth/token") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from exc

    def verify(self, token: str) -> Principal:
        claims = self._claims(token)
        if str(claims["jti"]) in self._revoked_ids():
            raise Unauthenticated("this session was signed out: sign in again")
        if not self._active(str(claims["sub"])):
            raise Unauthenticated("the client was revoked")
        return Principal(
            claims["sub"], claims["name"], claims["role"], claims.get("agency"), frozenset(claims["scope"].split())
        )

    def revoke(self, token: str) -> None:
        """End one session (signing out): its token is refused from now on, everywhere."""
        claims = self._claims(token)
        expires = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
        self.clients.end_session(str(claims["jti"]), expires, dt.datetime.now(dt.UTC))
        with self._lock:
            self._revoked = (self._revoked[0], self._revoked[1] | {str(claims["jti"])})

    def _revoked_ids(self) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            read_at, ids = self._revoked
        if now - read_at < RECHECK_SECONDS:
            return ids
        fresh = self.clients.ended_sessions(dt.datetime.now(dt.UTC))
        with self._lock:
            self._revoked = (now, fresh)
        return fresh

    def _active(self, client_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            read_at, active = self._clients.get(client_id, (-RECHECK_SECONDS, False))
        if now - read_at < RECHECK_SECONDS:
            return active
        active = self.clients.is_active(client_id)
        with self._lock:
            if len(self._clients) > 10_000:
                self._clients.clear()
            self._clients[client_id] = (now, active)
        return active


_CLIENT_ID = re.compile(r"[0-9a-f]{32}")
