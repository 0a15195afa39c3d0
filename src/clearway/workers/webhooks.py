"""Webhooks: a submitter hears of its consignments' status changes, signed, retried, to its own hosts only.

A subscription names an https URL whose host the client registered beforehand (`clearway clients add
--webhook-host`), and whose addresses are all public: loopback, private, link-local and other internal
addresses are refused, at subscription and again at each delivery (a name can be re-pointed), IPv6 forms that
embed such an address included (NAT64, 6to4, Teredo, mapped); a delivery connects to the very address it
checked, with the host name kept for TLS and the Host header. Each
delivery carries `Clearway-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the
subscription's secret, and `Clearway-Delivery: <id>` (delivery is at least once: receivers drop repeats
by id). Failed deliveries are retried with exponential backoff (30 s doubling, at most an
hour apart) up to MAX_ATTEMPTS. Payloads carry status and referrals only, never scores or reasons.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import msgspec

from clearway.auth.clients import Principal
from clearway.errors import InvalidInput, NotFound
from clearway.store.engine import Engine
from clearway.store.repository import IdSequence
from clearway.store.webhooks import SqlWebhooks

log = logging.getLogger("clearway.webhooks")
_encode = msgspec.json.Encoder(order="deterministic").encode
MAX_ATTEMPTS = 12
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_WAIT = dt.timedelta(hours=1)
CLAIM = dt.timedelta(minutes=2)  # a delivery being sent is not picked up by another deliverer meanwhile
EVENTS = ("assessed", "held", "released", "awaiting_arrival", "arrived", "inspected", "seized", "returned_to_sender",
          "rerouted", "referral_closed", "referral_answered", "referral_timed_out", "invalidated",
          "full_declaration_required", "transferred_to_full_declaration", "destroyed", "abandoned")  # fmt: skip


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def resolve(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})


EMBEDDING_PREFIXES = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, well-known prefix (RFC 6052): the last 32 bits
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # NAT64, local-use prefix (RFC 8215): never a public host
    ipaddress.IPv6Network("2002::/16"),  # 6to4 (RFC 3056): bits 16-48
    ipaddress.IPv6Network("2001::/32"),  # Teredo (RFC 4380): server and (inverted) client addresses
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated)
)
"""IPv6 forms that carry an IPv4 address; each embedded address must be public too."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, by every embedding form it falls in."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in EMBEDDING_PREFIXES[0] or ip in EMBEDDING_PREFIXES[5]:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_internal(address: str) -> bool:
    """Loopback, private, link-local, reserved, multicast, or an IPv6 form of any of these."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global or ip.is_multicast:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in EMBEDDING_PREFIXES[1]:
            return True
        return any(not v4.is_global or v4.is_multicast for v4 in embedded_ipv4(ip))
    return False


def check_url(
    url: str, allowed_hosts: list[str], *, allow_private: bool, resolver: Callable[[str], list[str]] = resolve
) -> list[str]:
    """Refuse a URL that is not https (http only where private addresses are allowed), whose host the
    client did not register, or that resolves to an internal address; returns the addresses checked, which
    are the ones to connect to (resolving again could give another: DNS rebinding)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise InvalidInput("a webhook URL must use https")
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidInput("a webhook URL needs a host")
    if host not in {h.lower() for h in allowed_hosts}:
        raise InvalidInput(f"host {host!r} is not among the client's registered webhook hosts")
    try:
        addresses = resolver(host)
    except (OSError, UnicodeError) as exc:
        raise InvalidInput(f"host {host!r} does not resolve") from exc
    if not addresses:
        raise InvalidInput(f"host {host!r} does not resolve")
    for address in addresses:
        if is_internal(address) and not allow_private:
            raise InvalidInput(f"host {host!r} resolves to the internal address {address}: webhooks are not sent there")
    return addresses


def pinned(url: str, address: str) -> tuple[str, str]:
    """The URL with its host replaced by the checked address, and the Host header to send."""
    parts = urlsplit(url)
    netloc = f"[{address}]" if ":" in address else address
    if parts.port is not None:
        netloc += f":{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=netloc).geturl(), host_header


class WebhookRecords(Protocol):
    """Where subscriptions and deliveries are kept: the store's `SqlWebhooks`, or an in-memory fake in tests."""

    def allowed_hosts(self, client_id: str) -> list[str]: ...
    def add(self, hook: dict[str, Any]) -> None: ...
    def of_tenant(self, tenant: str) -> list[dict[str, Any]]: ...
    def remove(self, tenant: str, hook_id: str) -> bool: ...
    def subscribers(
        self, consignment_ids: Collection[str]
    ) -> tuple[dict[str, tuple[str, str]], dict[str, list[tuple[str, list[str]]]]]: ...
    def add_deliveries(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def due(self, now: dt.datetime, max_attempts: int, limit: int) -> list[Any]: ...
    def claim(self, delivery_id: str, attempts: int, now: dt.datetime, until: dt.datetime) -> bool: ...
    def tried(self, delivery_id: str, values: dict[str, Any]) -> None: ...


class Webhooks:
    """Subscriptions per tenant, and their deliveries: queued as consignments move, signed, sent to the
    address that was checked, retried with back-off, one deliverer at a time."""

    def __init__(
        self,
        engine: Engine | None,
        *,
        allow_private: bool,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        transport: httpx.BaseTransport | None = None,
        resolver: Callable[[str], list[str]] = resolve,
        kept: WebhookRecords | None = None,
    ) -> None:
        if kept is None:
            assert engine is not None, "the webhooks of a database, or the records given"
            kept = SqlWebhooks(engine)
        self.kept: WebhookRecords = kept
        self.allow_private = allow_private
        self.now = now
        self.resolver = resolver
        self.client = httpx.Client(timeout=10, transport=transport, follow_redirects=False)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- subscriptions ---

    def subscribe(self, principal: Principal, url: str, events: list[str]) -> dict[str, Any]:
        unknown = sorted(set(events) - set(EVENTS))
        if unknown:
            raise InvalidInput(f"unknown events {', '.join(unknown)}: choose among {', '.join(EVENTS)}")
        hosts = self.kept.allowed_hosts(principal.client_id)
        check_url(url, hosts, allow_private=self.allow_private, resolver=self.resolver)
        hook = {"id": secrets.token_hex(16), "tenant": principal.tenant, "url": url, "secret": secrets.token_hex(32),
                "events": _encode(sorted(events)).decode(), "created_at": self.now()}  # fmt: skip
        self.kept.add(hook)
        return {"id": hook["id"], "url": url, "events": sorted(events), "secret": hook["secret"]}

    def subscriptions(self, principal: Principal) -> list[dict[str, Any]]:
        return self.kept.of_tenant(principal.tenant)

    def unsubscribe(self, principal: Principal, hook_id: str) -> None:
        if not self.kept.remove(principal.tenant, hook_id):
            raise NotFound(f"no webhook {hook_id}")

    # --- deliveries ---

    def notify(self, changes: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Queue a delivery per subscription that wants each (consignment, event, facts); returns how many."""
        if not changes:
            return 0
        ids = IdSequence()
        at = self.now()
        owners, hooks = self.kept.subscribers({cid for cid, _, _ in changes})
        if not hooks:
            return 0
        rows = []
        for cid, kind, facts in changes:
            tenant, reference = owners.get(cid, ("", None))
            for hook_id, wanted in hooks.get(tenant, []):
                if wanted and kind not in wanted:
                    continue
                payload = {"event": kind, "consignment_id": cid, "reference": reference,
                           "status": facts.get("status"), "at": at.isoformat()}  # fmt: skip
                rows.append({"id": ids(), "webhook_id": hook_id, "payload": _encode(payload).decode(),
                             "attempts": 0, "next_attempt_at": at})  # fmt: skip
        self.kept.add_deliveries(rows)
        self._wake.set()
        return len(rows)

    def deliver_due(self) -> int:
        """Try every delivery that is due; returns how many succeeded."""
        due = self.kept.due(self.now(), MAX_ATTEMPTS, 200)
        delivered = 0
        for row in due:
            if not self._claim(row.id, row.attempts):
                continue  # another deliverer (thread or replica) has it
            error = self._post(row.url, row.secret, row.id, row.payload.encode())
            attempts = row.attempts + 1
            values: dict[str, Any] = {"attempts": attempts, "last_error": error}
            if error is None:
                values["delivered_at"] = self.now()
                delivered += 1
            else:
                values["next_attempt_at"] = self.now() + min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)
            self.kept.tried(row.id, values)
        return delivered

    def _claim(self, delivery_id: str, attempts: int) -> bool:
        """Take a delivery for a while, so that no other deliverer sends it at the same time."""
        now = self.now()
        return self.kept.claim(delivery_id, attempts, now, now + CLAIM)

    def _post(self, url: str, secret: str, delivery_id: str, body: bytes) -> str | None:
        host = urlsplit(url).hostname or ""
        try:
            addresses = check_url(url, [host], allow_private=self.allow_private, resolver=self.resolver)
            target, host_header = pinned(url, addresses[0])  # connect to the address that was checked
            timestamp = int(self.now().timestamp())
            response = self.client.post(
                target, content=body, extensions={"sni_hostname": host},
                headers={"Host": host_header, "Content-Type": "application/json",
                         "Clearway-Signature": sign(secret, timestamp, body), "Clearway-Delivery": delivery_id},
            )  # fmt: skip
        except (httpx.HTTPError, InvalidInput) as exc:
            return str(exc)[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def start(self, interval: float = 1.0) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.deliver_due()
                except Exception:  # the deliverer must outlive a bad moment of the database
                    log.exception("webhook delivery round failed")
                self._wake.wait(interval)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="clearway-webhooks", daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread | None:
        """The delivering thread, once started."""
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self.client.close()
