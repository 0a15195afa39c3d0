"""The trust ledger end to end: decisions logged, proofs served and checked offline, tampering caught."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from clearway.api import create_app
from clearway.bootstrap import App, bootstrap
from clearway.intake import read_bytes
from clearway.ledger import Checkpoint, NoteVerifier
from clearway.ledger.bundle import ProofFailed, check_bundle
from clearway.pipeline import LANES
from clearway.services.ingest import ingest
from clearway.services.witness import LedgerCompromised, observe
from clearway.settings import Settings
from clearway.store import tables as t
from tests.conftest import NOON, example, tracked
from tests.integration.clients import bearer
from tests.integration.conftest import without_random_selection


def docs(prefix: str, n: int) -> bytes:
    out = []
    for i in range(n):
        doc = example(reference=f"{prefix}-{i}", transport_document=tracked(f"{prefix}-{i}"))
        if i % 3 == 0:
            doc["items"][0]["description"] = "Power bank 20000mAh"
        out.append(msgspec.json.encode(doc))
    return b"\n".join(out)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[App]:
    settings = dataclasses.replace(
        Settings.from_env({"CLEARWAY_HOME": str(tmp_path)}), database_url=database_url, batch_size=4, checkpoint_every=6
    )
    application = without_random_selection(bootstrap(settings))
    yield application
    application.store.engine.dispose()


def load(app: App, prefix: str, n: int, *, sign: bool = False) -> list[str]:
    clock = iter(NOON + dt.timedelta(seconds=i) for i in range(10_000))
    ingest(app, "platform-1", read_bytes(docs(prefix, n), "ndjson"), now=lambda: next(clock))
    if sign:
        app.ledger.checkpoint_if_due(NOON, force=True)
    with app.store.engine.connect() as conn:
        query = sa.select(t.consignments.c.id).where(t.consignments.c.reference.like(f"{prefix}-%"))
        return [row[0] for row in conn.execute(query)]


def verifier_of(client: TestClient) -> NoteVerifier:  # type: ignore[type-arg]
    return NoteVerifier.parse(client.get("/v1/ledger/key").text)


def test_every_decision_is_logged_and_provable_offline(app: App) -> None:
    ids = load(app, "A", 10)
    with app.store.engine.connect() as conn:
        policy = (
            conn.execute(sa.select(t.ledger_checkpoints.c.size).order_by(t.ledger_checkpoints.c.size)).scalars().all()
        )
    assert len(policy) >= 2 and all(b - a >= 6 for a, b in zip([0, *policy], policy, strict=False))  # every 6 events
    app.ledger.checkpoint_if_due(NOON + dt.timedelta(hours=1), force=True)
    with TestClient(create_app(app)) as client:
        verifier = verifier_of(client)
        signed = client.get("/v1/ledger/checkpoint").text
        checkpoint = Checkpoint.from_signed(signed, verifier)
        officer = bearer(app, "officer-1", "officer")
        assert checkpoint.size == 40  # registered, lane assessed, duty assessed, released or held: each of the 10
        for cid in ids:
            bundle = client.get(f"/v1/ledger/consignments/{cid}/proof", headers=officer).json()
            entries = check_bundle(bundle, signed, verifier)
            kinds = [e.event.kind for e in entries]
            assert kinds[:3] == ["registered", "assessed", "duty_assessed"]
            assert kinds[3] in ("released", "held", "awaiting_arrival")
            assert entries[1].facts is not None and entries[2].facts is not None
            if entries[1].facts["lane"] == "red":
                assert kinds[3] == "held"
            assert entries[2].facts["collection_model"] == "vendor_or_platform"  # the example carries IOSS
            assessed = entries[1].facts
            assert assessed["lane"] in LANES and "reasons" not in assessed  # no reasons in the ledger


def test_a_submitters_proof_seals_what_customs_keeps_and_still_verifies(app: App) -> None:
    """Issue 17, finding 3: the proof showed submitters lanes, referrals, re-routes and findings."""
    [cid, *_] = load(app, "S", 2, sign=True)
    with TestClient(create_app(app)) as client:
        verifier, signed = verifier_of(client), client.get("/v1/ledger/checkpoint").text
        mine = client.get(f"/v1/ledger/consignments/{cid}/proof", headers=bearer(app, "platform-1", "platform")).json()
        officers = client.get(f"/v1/ledger/consignments/{cid}/proof", headers=bearer(app, "o-1", "officer")).json()
    served = json.dumps(mine)
    for secret in ('"lane"', '"referrals"', '"release"', "seal_salt", "sealed_facts"):
        assert secret not in served
    entries = check_bundle(mine, signed, verifier)  # the submitter still proves every event
    assert [e.event.kind for e in entries if e.event][:3] == ["registered", "assessed", "duty_assessed"]
    assert all(e.event is not None and e.event.sealed for e in entries)  # v2 leaves: customs facts as a seal
    assert entries[2].event is not None and entries[2].event.facts["collection_model"] == "vendor_or_platform"
    full = check_bundle(officers, signed, verifier)
    assert full[1].facts is not None and full[1].facts["lane"] in LANES  # officers read and check the seal
    forged = json.loads(json.dumps(officers))
    facts = json.loads(forged["entries"][1]["sealed_facts"])
    facts["lane"] = "green" if facts["lane"] != "green" else "red"
    forged["entries"][1]["sealed_facts"] = json.dumps(facts)
    with pytest.raises(ProofFailed, match="seal"):
        check_bundle(forged, signed, verifier)


def test_leaves_and_events_hold_no_personal_data(app: App) -> None:
    load(app, "P", 3)
    with app.store.engine.connect() as conn:
        logged = " ".join(conn.execute(sa.select(t.ledger_leaves.c.event)).scalars())
        leaves = b"".join(bytes(h) for h in conn.execute(sa.select(t.ledger_leaves.c.leaf_hash)).scalars())
    for personal in ("Anna Schmidt", "Hauptstr", "Köln", "50667", "Shenzhen Bright"):
        assert personal not in logged
        assert personal.encode() not in leaves


def test_a_bundle_that_lies_is_refused(app: App) -> None:
    [cid, *_] = load(app, "L", 2, sign=True)
    with TestClient(create_app(app)) as client:
        verifier, signed = verifier_of(client), client.get("/v1/ledger/checkpoint").text
        bundle = client.get(
            f"/v1/ledger/consignments/{cid}/proof", headers=bearer(app, "platform-1", "platform")
        ).json()
    lying = json.loads(json.dumps(bundle))
    assert '"version":1' in lying["entries"][1]["event"]
    lying["entries"][1]["event"] = lying["entries"][1]["event"].replace('"version":1', '"version":2')
    with pytest.raises(ProofFailed, match="do not give its leaf hash"):
        check_bundle(lying, signed, verifier)
    wrong_salt = dict(bundle, salt=base64.b64encode(bytes(32)).decode())
    with pytest.raises(ProofFailed):
        check_bundle(wrong_salt, signed, verifier)


def test_consistency_between_checkpoints_and_the_witness(app: App, tmp_path: Path) -> None:
    state = tmp_path / "witness.json"
    load(app, "C1", 5, sign=True)
    with TestClient(create_app(app)) as client:
        verifier = verifier_of(client)

        def fetch() -> str:
            return client.get("/v1/ledger/checkpoint").text

        def consistency(first: int, second: int) -> list[bytes]:
            body = client.get("/v1/ledger/consistency", params={"first": first, "second": second}).json()
            return [base64.b64decode(h) for h in body["proof"]]

        assert observe(fetch, consistency, verifier, state).previous is None
        load(app, "C2", 5, sign=True)
        seen = observe(fetch, consistency, verifier, state)
        assert seen.current > seen.previous  # type: ignore[operator]


def _witnessed(app: App, tmp_path: Path) -> tuple[Path, NoteVerifier]:
    state = tmp_path / "witness.json"
    key = app.ledger.key
    latest = app.ledger.latest()
    assert latest is not None
    state.write_text(json.dumps({"checkpoint": latest[1]}))
    return state, key.verifier


def _resign(app: App) -> App:
    """The operator restarts on the (tampered) store and signs what it now holds."""
    fresh = bootstrap(app.settings)
    fresh.ledger.checkpoint_if_due(NOON + dt.timedelta(days=1), force=True)
    with fresh.store.engine.begin() as conn:  # sign over the old size too, as a forger would
        conn.execute(sa.delete(t.ledger_checkpoints))
    fresh.ledger.checkpoint_if_due(NOON + dt.timedelta(days=1), force=True)
    return fresh


def _witness(app: App, state: Path, verifier: NoteVerifier) -> None:
    with TestClient(create_app(app)) as client:
        observe(
            lambda: client.get("/v1/ledger/checkpoint").text,
            lambda a, b: [
                base64.b64decode(h)
                for h in client.get("/v1/ledger/consistency", params={"first": a, "second": b}).json()["proof"]
            ],
            verifier,
            state,
        )


@pytest.mark.parametrize("tamper", ["alter", "remove", "reorder"])
def test_a_rewritten_store_is_caught_by_the_audit_and_the_witness(app: App, tmp_path: Path, tamper: str) -> None:
    load(app, "T", 8, sign=True)
    state, verifier = _witnessed(app, tmp_path)
    load(app, "U", 2)  # the log grows after the witness saw it
    c = t.ledger_leaves.c
    with app.store.engine.begin() as conn:
        rows = conn.execute(sa.select(c.leaf_index, c.leaf_hash).order_by(c.leaf_index)).all()
        if tamper == "alter":
            conn.execute(sa.update(t.ledger_leaves).where(c.leaf_index == 3).values(leaf_hash=bytes(32)))
        elif tamper == "remove":
            conn.execute(sa.delete(t.ledger_leaves).where(c.leaf_index == len(rows) - 1))
            for index, digest in rows[4:-1]:
                conn.execute(sa.update(t.ledger_leaves).where(c.leaf_index == index - 1).values(leaf_hash=digest))
        else:
            conn.execute(sa.update(t.ledger_leaves).where(c.leaf_index == 2).values(leaf_hash=rows[5][1]))
            conn.execute(sa.update(t.ledger_leaves).where(c.leaf_index == 5).values(leaf_hash=rows[2][1]))
    assert app.ledger.audit() != []
    forged = _resign(app)
    try:
        with pytest.raises(LedgerCompromised, match="rewritten history|fork|rollback"):
            _witness(forged, state, verifier)
    finally:
        forged.store.engine.dispose()


def test_a_second_history_signed_for_the_same_size_is_a_fork(app: App, tmp_path: Path) -> None:
    load(app, "F", 4, sign=True)
    state, verifier = _witnessed(app, tmp_path)
    latest = app.ledger.latest()
    assert latest is not None
    size = latest[0]
    forged = Checkpoint(app.ledger.key.name, size, bytes(32)).sign(app.ledger.key)
    with pytest.raises(LedgerCompromised, match="fork"):
        observe(lambda: forged, lambda a, b: [], verifier, state)
    smaller = Checkpoint(app.ledger.key.name, size - 1, app.ledger.tree.root(size - 1)).sign(app.ledger.key)
    with pytest.raises(LedgerCompromised, match="rollback"):
        observe(lambda: smaller, lambda a, b: [], verifier, state)
    assert app.ledger.audit() == []  # the store itself is intact


def test_problems_are_rfc_9457(app: App) -> None:
    with TestClient(create_app(app)) as client:
        empty = client.get("/v1/ledger/checkpoint")
        assert empty.status_code == 404 and empty.headers["content-type"].startswith("application/problem+json")
        assert empty.json()["status"] == 404 and empty.json()["detail"] == "no checkpoint has been signed yet"
        assert client.get("/v1/ledger/consignments/nope/proof").status_code == 401
        assert client.get("/v1/ledger/consignments/nope/proof", headers=bearer(app, "o", "officer")).status_code == 404
        assert client.get("/v1/ledger/consistency", params={"first": 5, "second": 1}).status_code == 404
        assert client.get("/v1/ledger/consistency", params={"first": "x", "second": 1}).status_code == 400


@pytest.mark.parametrize("rewrite", ["decision", "event", "consignment", "inspection", "audit"])
def test_an_insiders_rewrite_of_the_operational_record_fails_the_audit(app: App, rewrite: str) -> None:
    """Issue 17, finding 14: a lane changed in the decision and its events left `ledger audit` clean."""
    from clearway.auth.clients import Principal
    from clearway.services.clearance import Clearance, Inspection

    ids = load(app, "R", 3, sign=True)
    officer = Principal("o", "officer-1", "officer", None, frozenset({"officer"}))
    clearance = Clearance(app)
    cid = ids[0]
    clearance.reroute(officer, cid, "red", "look at it")
    clearance.inspect(officer, cid, Inspection(method="physical", outcome="compliant"))
    assert app.ledger.audit() == []  # the honest record agrees with its ledger
    d, e, c, i, a = (x.c for x in (t.decisions, t.events, t.consignments, t.inspections, t.audit_log))
    with app.store.engine.begin() as conn:
        if rewrite == "decision":
            conn.execute(sa.update(t.decisions).where(d.consignment_id == ids[1]).values(lane="blue"))
        elif rewrite == "event":
            conn.execute(
                sa.update(t.events)
                .where(e.consignment_id == ids[1], e.type == "assessed")
                .values(data=json.dumps({"lane": "blue", "referrals": []}))
            )
        elif rewrite == "consignment":
            conn.execute(sa.update(t.consignments).where(c.id == cid).values(lane="green", status="released"))
        elif rewrite == "inspection":
            conn.execute(sa.update(t.inspections).where(i.consignment_id == cid).values(outcome="infringement"))
        else:
            conn.execute(sa.update(t.audit_log).where(a.consignment_id == cid, a.action == "rerouted").values(
                after=json.dumps({"status": "held", "lane": "green", "facts": {"lane": "green", "note": "x"}})
            ))  # fmt: skip
    problems = app.ledger.audit()
    assert problems, f"a rewritten {rewrite} went unnoticed"
    assert all("ledger" in p or "lane" in p or "status" in p or "outcome" in p for p in problems)


def test_ledger_audit_cli_exits_non_zero_on_a_rewritten_decision(app: App, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from clearway.cli import app as cli

    ids = load(app, "Q", 2, sign=True)
    with app.store.engine.begin() as conn:
        conn.execute(sa.update(t.decisions).where(t.decisions.c.consignment_id == ids[0]).values(lane="blue"))
    env = {"CLEARWAY_HOME": str(tmp_path), "CLEARWAY_DATABASE_URL": app.settings.database_url}
    result = CliRunner().invoke(cli, ["ledger", "audit"], env=env)
    assert result.exit_code == 3
    assert "decision" in result.output and "lane" in result.output
