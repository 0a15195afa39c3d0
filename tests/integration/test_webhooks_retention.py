"""Webhooks (signed, retried, registered public hosts only) and the retention of personal data."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from clearway.errors import InvalidInput
from clearway.services.retention import erase_expired
from clearway.store import tables as t
from clearway.workers.webhooks import check_url
from tests.conftest import example
from tests.integration.clients import bearer
from tests.integration.test_api import Service, medicine, registration, service_for


def eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.05)


class Receiver:
    """A real HTTP endpoint on loopback that records what it gets and answers with `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def private_service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """Webhooks to loopback allowed, as only a test may allow them."""
    yield from service_for(database_url, tmp_path, webhook_private=True)


def test_webhook_urls_must_be_registered_and_public() -> None:
    public = ["93.184.215.14"]
    check_url("https://hooks.acme.example/x", ["hooks.acme.example"], allow_private=False, resolver=lambda h: public)
    with pytest.raises(InvalidInput, match="https"):
        check_url("http://hooks.acme.example/x", ["hooks.acme.example"], allow_private=False, resolver=lambda h: public)
    with pytest.raises(InvalidInput, match="not among"):
        check_url("https://evil.example/x", ["hooks.acme.example"], allow_private=False, resolver=lambda h: public)
    for internal in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "192.168.0.7", "::1", "fd00::1", "0.0.0.0"):
        with pytest.raises(InvalidInput, match="internal address"):
            check_url("https://hooks.acme.example/x", ["hooks.acme.example"], allow_private=False,
                      resolver=lambda h, ip=internal: [ip])  # fmt: skip


def test_webhooks_are_signed_delivered_and_retried(private_service: Service, receiver: Receiver) -> None:
    s = private_service

    hooked = bearer(s.app, "hooked-market", "platform", webhook_hosts=["127.0.0.1"])
    refused = s.client.post("/v1/webhooks", json={"url": receiver.url}, headers=s.alpha)  # alpha registered no host
    assert refused.status_code == 422 and "registered webhook hosts" in refused.json()["detail"]
    made = s.client.post("/v1/webhooks", json={"url": receiver.url, "events": ["held", "released"]}, headers=hooked)
    assert made.status_code == 201
    secret = made.json()["secret"]
    assert s.client.get("/v1/webhooks", headers=hooked).json()[0]["url"] == receiver.url
    cid = registration(s.submit([medicine("W1")], hooked))
    eventually(lambda: len(receiver.received) == 1)  # the service's deliverer sends it
    headers, body = receiver.received[0]
    payload = json.loads(body)
    assert payload["event"] == "held" and payload["consignment_id"] == cid and "lane" not in payload
    stamp, mac = (part.split("=", 1)[1] for part in headers["Clearway-Signature"].split(","))
    assert hmac.compare_digest(mac, hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest())
    receiver.status = 503
    s.client.post(f"/v1/officer/consignments/{cid}/release", json={"note": "ok"}, headers=s.officer)

    def failed_once() -> dict[str, Any] | None:
        with s.app.store.engine.connect() as conn:
            return conn.execute(
                sa.select(t.webhook_deliveries).where(t.webhook_deliveries.c.attempts == 1,
                                                      t.webhook_deliveries.c.delivered_at.is_(None))
            ).mappings().first()  # fmt: skip

    eventually(lambda: failed_once() is not None)
    row = failed_once()
    assert row is not None
    assert row["attempts"] == 1 and row["last_error"] == "HTTP 503"
    wait = row["next_attempt_at"].replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=20) < wait <= dt.timedelta(seconds=30)  # backoff, not a hammering
    receiver.status = 200
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    s.runtime.webhooks.now = lambda: later
    s.runtime.webhooks._wake.set()
    eventually(lambda: len(receiver.received) == 3)
    assert json.loads(receiver.received[-1][1])["event"] == "released"


def test_retention_erases_personal_data_after_release_but_not_on_open_cases(database_url: str, tmp_path: Path) -> None:
    for s in service_for(database_url, tmp_path):
        released = registration(s.submit([example(reference="RT1")]))
        s.client.post(f"/v1/officer/consignments/{released}/arrival", json={}, headers=s.officer)  # released
        held = registration(s.submit([medicine("RT2")], key="k2"))
        leaves_before = s.app.ledger.audit()
        with s.app.store.engine.connect() as conn:
            keys_before = dict(conn.execute(sa.select(t.party_keys.c.role, t.party_keys.c.key)
                                            .where(t.party_keys.c.consignment_id == released)).all())  # fmt: skip
        soon = erase_expired(s.app.store.engine, s.app.secret, days=30, now=dt.datetime.now(dt.UTC))
        assert soon.erased == 0
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
        report = erase_expired(s.app.store.engine, s.app.secret, days=30, now=later)
        assert (report.erased, report.kept_open) == (1, 1)
        _, gone = s.app.store.consignment(released)
        _, kept = s.app.store.consignment(held)
        assert gone.consignee.name.startswith("erased-") and gone.consignee.address.street is None
        assert gone.consignee.address.country == "DE" and gone.items[0].hs_code == "610910"
        assert kept.consignee.name == "Anna Schmidt"  # a case is open on it
        with s.app.store.engine.connect() as conn:
            query = sa.select(t.submissions.c.raw).where(t.submissions.c.consignment_id == released)
            raw = b"".join(bytes(r) for r in conn.execute(query).scalars())
            keys_after = dict(conn.execute(sa.select(t.party_keys.c.role, t.party_keys.c.key)
                                           .where(t.party_keys.c.consignment_id == released)).all())  # fmt: skip
            decisions = conn.execute(
                sa.select(sa.func.count()).where(t.decisions.c.consignment_id == released)
            ).scalar_one()
        for personal in (b"Anna", b"Schmidt", b"Hauptstr", b"50667"):
            assert personal not in raw
        assert keys_after == keys_before and decisions == 1  # risk history and decisions stay
        assert s.app.ledger.audit() == leaves_before == []  # the ledger is intact
        again = erase_expired(s.app.store.engine, s.app.secret, days=30, now=later)
        assert again.erased == 0


def test_a_declared_importer_named_by_eori_alone_is_erased_without_inventing_an_address() -> None:
    import msgspec

    from clearway.model.consignment import Consignment
    from clearway.services.retention import pseudonymise

    doc = example(kind="declaration", order=None, fiscal=None)
    doc["consignee"] = {"identifiers": [{"scheme": "eori", "value": "GB553202734852"}]}
    erased = pseudonymise(doc, b"secret")
    assert "address" not in erased["consignee"] and "identifiers" not in erased["consignee"]
    assert erased["consignee"]["name"].startswith("erased-")
    assert msgspec.convert(erased, Consignment).consignee.address is None  # the stored version still reads
