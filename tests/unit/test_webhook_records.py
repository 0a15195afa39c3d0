"""Webhook subscriptions and deliveries as a use case over `WebhookRecords`: run against the in-memory fake
and against the store's SQL implementation on SQLite, so the fake answers as the database does. No HTTP is
sent here (the deliverer's sending, signing and address checks are tested against a real server in
`tests/integration/test_webhooks_retention.py`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from clearway.auth.clients import Principal, add_client
from clearway.errors import InvalidInput, NotFound
from clearway.intake.ndjson_reader import read_ndjson
from clearway.store import Store, make_engine, sqlite_url, upgrade
from clearway.store.webhooks import SqlWebhooks
from clearway.workers.webhooks import MAX_ATTEMPTS, WebhookRecords, Webhooks
from tests.conftest import example
from tests.fakes import InMemoryWebhooks

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
HOST = "hooks.example.com"


class Kept:
    """The records under test, with a way to file a consignment and to make a client in them."""

    def __init__(self, records: WebhookRecords, file: object, client: object) -> None:
        self.records, self.file, self.client = records, file, client


@pytest.fixture(params=["fake", "sqlite"])
def kept(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kept]:
    if request.param == "fake":
        fake = InMemoryWebhooks()

        def file_fake(tenant: str, reference: str) -> str:
            cid = f"c-{tenant}-{reference}"
            fake.owners[cid] = (tenant, reference)
            return cid

        def client_fake(name: str) -> Principal:
            fake.hosts[f"id-{name}"] = [HOST]
            return Principal(f"id-{name}", name, "platform", None, frozenset())

        yield Kept(fake, file_fake, client_fake)
        return
    engine = make_engine(sqlite_url(tmp_path / "hooks.db"))
    upgrade(engine)
    store = Store(engine)

    def file_sql(tenant: str, reference: str) -> str:
        line = json.dumps(example(reference=reference)).encode()
        registered = store.record_batch(tenant, NOW, list(read_ndjson([line])))
        assert registered[0].consignment_id is not None
        return registered[0].consignment_id

    def client_sql(name: str) -> Principal:
        made = add_client(engine, name, "platform", webhook_hosts=[HOST])
        return Principal(made["client_id"], name, "platform", None, frozenset())

    yield Kept(SqlWebhooks(engine), file_sql, client_sql)
    engine.dispose()


def _hooks(kept: Kept) -> Webhooks:
    return Webhooks(None, allow_private=False, now=lambda: NOW, resolver=lambda _: ["93.184.216.34"], kept=kept.records)


def test_a_tenant_reads_and_removes_only_its_own_subscriptions(kept: Kept) -> None:
    hooks = _hooks(kept)
    acme, other = kept.client("acme"), kept.client("other")  # type: ignore[operator]
    made = hooks.subscribe(acme, f"https://{HOST}/clearway", ["released"])
    assert [h["id"] for h in hooks.subscriptions(acme)] == [made["id"]]
    assert hooks.subscriptions(other) == []
    with pytest.raises(NotFound):
        hooks.unsubscribe(other, made["id"])  # another tenant's id is as if it did not exist
    assert len(hooks.subscriptions(acme)) == 1
    with pytest.raises(InvalidInput):
        hooks.subscribe(acme, "https://elsewhere.example.org/x", [])  # a host the client did not register
    hooks.unsubscribe(acme, made["id"])
    assert hooks.subscriptions(acme) == []


def test_a_change_is_queued_for_its_tenant_s_wanted_events_and_delivered_once(kept: Kept) -> None:
    hooks = _hooks(kept)
    acme, other = kept.client("acme"), kept.client("other")  # type: ignore[operator]
    every = hooks.subscribe(acme, f"https://{HOST}/all", [])
    hooks.subscribe(acme, f"https://{HOST}/released", ["released"])
    hooks.subscribe(other, f"https://{HOST}/other", [])
    mine, theirs = kept.file("acme", "R-1"), kept.file("other", "R-2")  # type: ignore[operator]

    queued = hooks.notify([(mine, "held", {"status": "held"}), (theirs, "held", {})])
    assert queued == 2  # acme's catch-all (not its released-only hook), and other's own
    due = kept.records.due(NOW, MAX_ATTEMPTS, 10)
    assert len(due) == 2
    held = next(d for d in due if d.url.endswith("/all"))
    assert json.loads(held.payload) == {"event": "held", "consignment_id": mine, "reference": "R-1",
                                        "status": "held", "at": NOW.isoformat()}  # fmt: skip
    assert kept.records.claim(held.id, 0, NOW, NOW + dt.timedelta(minutes=1))
    assert not kept.records.claim(held.id, 0, NOW, NOW + dt.timedelta(minutes=1))  # one deliverer at a time
    kept.records.tried(held.id, {"attempts": 1, "last_error": None, "delivered_at": NOW})
    assert {d.id for d in kept.records.due(NOW + dt.timedelta(hours=1), MAX_ATTEMPTS, 10)} == {
        d.id for d in due if d.id != held.id
    }
    hooks.unsubscribe(acme, every["id"])  # what a removed subscription had waiting goes with it
    assert all(not d.url.endswith("/all") for d in kept.records.due(NOW + dt.timedelta(hours=1), MAX_ATTEMPTS, 10))
