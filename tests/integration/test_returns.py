"""Returns on a running store: refunds recorded once, logged, and triggered by a declared return."""

from __future__ import annotations

import datetime as dt
import json

import msgspec
import pytest
import sqlalchemy as sa

from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.errors import Forbidden, IllegalTransition
from clearway.intake import read_bytes
from clearway.revenue.refunds import RefundRefused
from clearway.services.clearance import Clearance
from clearway.services.ingest import ingest
from clearway.services.returns import refund
from clearway.store import tables as t
from tests.conftest import example

NOW = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def original(reference: str = "ORDER-1", **fields: object) -> dict[str, object]:
    doc = example(reference=reference, fiscal=None, **fields)
    doc["items"] = [
        {
            "description": "Silk blouse",
            "hs_code": "620610",
            "quantity": 2,
            "unit_price": "60.00",
            "origin_country": "CN",
        },
        {
            "description": "Leather shoes",
            "hs_code": "640399",
            "quantity": 1,
            "unit_price": "40.00",
            "origin_country": "CN",
        },
    ]
    return doc


OFFICER = Principal("officer-1", "officer-1", "officer", None, frozenset({"officer"}))


def load(app: App, *docs: dict[str, object], at: dt.datetime = NOW, release: bool = True) -> str:
    """Ingest; the original (high value, so waiting for its full declaration) is released by the declaration an
    officer records unless `release` is False."""
    ingest(app, "platform-1", read_bytes(b"\n".join(msgspec.json.encode(d) for d in docs), "ndjson"), now=lambda: at)
    with app.store.engine.connect() as conn:
        cid = str(
            conn.execute(sa.select(t.consignments.c.id).where(t.consignments.c.reference == "ORDER-1")).scalar_one()
        )
    if release:
        Clearance(app, now=lambda: at).declare_fully(OFFICER, cid, "26DE123456789012A1", "declaration accepted")
    return cid


def test_nothing_is_refunded_on_a_consignment_not_released(app: App) -> None:
    cid = load(app, original(), release=False)
    with pytest.raises(RefundRefused, match="is full_declaration_required, not released: no duty or tax was collected"):
        refund(app, cid, None, on=NOW.date(), at=NOW, reason="returned before release")


def test_refunds_are_recorded_once_and_logged(app: App) -> None:
    cid = load(app, original())
    first = refund(app, cid, {0: 1}, on=NOW.date(), at=NOW, reason="one blouse returned")
    second = refund(app, cid, None, on=NOW.date(), at=NOW, reason="the rest")
    with pytest.raises(RefundRefused):
        refund(app, cid, None, on=NOW.date(), at=NOW, reason="again")
    with app.store.engine.connect() as conn:
        stored = conn.execute(sa.select(t.refunds.c.total, t.refunds.c.reason)).all()
        assessment = json.loads(conn.execute(sa.select(t.decisions.c.assessment)).scalar_one())
        kinds = (
            conn.execute(sa.select(t.events.c.type).where(t.events.c.consignment_id == cid).order_by(t.events.c.seq))
            .scalars()
            .all()
        )
        logged = (
            conn.execute(sa.select(t.ledger_leaves.c.event).where(t.ledger_leaves.c.consignment_id == cid))
            .scalars()
            .all()
        )
    assert len(stored) == 2
    assert str(first.total + second.total) == assessment["totals"]["total"]
    assert kinds == ["registered", "assessed", "duty_assessed", "full_declaration_required",
                     "transferred_to_full_declaration", "refunded", "refunded"]  # fmt: skip
    assert sum('"kind":"refunded"' in e for e in logged) == 2


def test_a_declared_return_is_refunded_when_it_leaves_not_when_it_is_filed(app: App) -> None:
    """Repayment for rejected goods is granted provided they are taken out of the customs territory (UCC art.
    118(2)). The refund was recorded as the return was filed: a filing alone gave the duty and tax back, and
    took a carrier's parcel out of the VAT it owed under the special arrangements."""
    cid = load(app, original())
    back = example(reference="RETURN-1", category="returned_goods", order=None, fiscal=None,
                   dispatch_country="DE", destination_country="CN", original_reference="ORDER-1")  # fmt: skip
    back["transport_document"] = {"type": "s10", "id": "RR123456785DE"}
    back["items"] = [
        {
            "description": "Silk blouse",
            "hs_code": "620610",
            "quantity": 1,
            "unit_price": "60.00",
            "origin_country": "CN",
        }
    ]
    later = NOW + dt.timedelta(days=3)
    report = ingest(app, "platform-1", read_bytes(msgspec.json.encode(back), "ndjson"), now=lambda: later)
    assert report.returns == 1 and report.return_problems == []
    with app.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.refunds)).scalar_one() == 0  # not yet
        returned = str(conn.execute(sa.select(t.consignments.c.id).where(t.consignments.c.reference == "RETURN-1"))
                       .scalar_one())  # fmt: skip
    clearance = Clearance(app, now=lambda: later + dt.timedelta(days=1))
    platform = Principal("platform-1", "platform-1", "platform", None, frozenset())
    with pytest.raises(Forbidden):  # a platform's word would refund its own parcels
        clearance.exit(platform, returned, "DE004250")
    with pytest.raises(IllegalTransition, match="not a declared return"):
        clearance.exit(OFFICER, cid, "DE004250")
    done = clearance.exit(OFFICER, returned, "DE004250")
    assert done["event"] == "exited"
    with pytest.raises(IllegalTransition, match="recorded already"):
        clearance.exit(OFFICER, returned, "DE004250")
    with app.store.engine.connect() as conn:
        [row] = conn.execute(sa.select(t.refunds.c.consignment_id, t.refunds.c.refund, t.refunds.c.reason)).all()
        kinds = conn.execute(sa.select(t.events.c.type).where(t.events.c.consignment_id == returned)).scalars().all()
    assert row.consignment_id == cid and row.reason == "returned as RETURN-1"
    assert [line["item"] for line in json.loads(row.refund)["lines"]] == [0]
    assert "exited" in kinds and app.ledger.audit() == []  # an amount kept at four places is the same amount
    with app.store.engine.begin() as conn:  # ... and one changed in the record is found
        conn.execute(sa.update(t.refunds).values(duty=t.refunds.c.duty + 1))
    assert any("duty is" in problem and "in the record" in problem for problem in app.ledger.audit())


def test_a_return_of_something_never_sent_is_reported(app: App) -> None:
    load(app, original())
    back = example(
        reference="RETURN-2", category="returned_goods", order=None, fiscal=None, original_reference="ORDER-1"
    )
    back["items"] = [
        {"description": "A phone", "hs_code": "851713", "quantity": 1, "unit_price": "60.00", "origin_country": "CN"}
    ]
    report = ingest(app, "platform-1", read_bytes(msgspec.json.encode(back), "ndjson"), now=lambda: NOW)
    assert report.returns == 0 and "was not in ORDER-1" in report.return_problems[0]
