"""Reconciling a platform's monthly IOSS return against consignments stored and assessed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa

from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.errors import RuleFileError
from clearway.intake import read_bytes
from clearway.services.clearance import Clearance
from clearway.services.ingest import ingest
from clearway.services.reconciliation import parse_return, reconcile_return
from clearway.services.returns import refund
from clearway.store import tables as t
from tests.conftest import example

NOW = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)
IOSS = "IM2760000012"


def parcel(reference: str, country: str, price: str, description: str = "Silk blouse", hs: str = "620610") -> bytes:
    doc = example(
        reference=reference, destination_country=country, shipping_cost=None, fiscal={"scheme": "ioss", "id": IOSS}
    )
    doc["consignee"]["address"]["country"] = country
    doc["items"] = [
        {"description": description, "hs_code": hs, "quantity": 1, "unit_price": price, "origin_country": "CN"}
    ]
    return msgspec.json.encode(doc)


def release(app: App, *references: str) -> None:
    """Bring the parcels to release as the service would: arrival recorded for those waiting for it, an
    officer's release for those held."""
    officer = Principal("officer-1", "officer-1", "officer", None, frozenset({"officer"}))
    clearance = Clearance(app, now=lambda: NOW)
    c = t.consignments.c
    with app.store.engine.connect() as conn:
        rows = conn.execute(sa.select(c.id, c.status).where(c.reference.in_(references))).all()
    for cid, status in rows:
        if status == "held":
            clearance.move(officer, cid, "release", "checked")
        elif status != "released":
            clearance.arrive(officer, cid)  # the customs office records the arrival
        assert app.store.consignment(cid)[0]["status"] == "released"


def test_a_return_that_leaves_out_consignments_is_reported(app: App) -> None:
    lines = [parcel("A", "DE", "100.00"), parcel("B", "DE", "50.00"), parcel("C", "FR", "100.00"),
             parcel("D", "DE", "30.00", "Sildenafil tablets 100mg", "300490")]  # fmt: skip
    ingest(app, "bazaario", read_bytes(b"\n".join(lines), "ndjson"), now=lambda: NOW)
    release(app, "A", "B", "C")  # D is held for a control, so not released: its VAT is not due in this return yet
    with app.store.engine.connect() as conn:
        held = conn.execute(sa.select(t.consignments.c.status).where(t.consignments.c.reference == "D")).scalar_one()
    assert held == "held"
    declared = parse_return(
        "scheme_id,period,destination_country,tax_base,tax\n"
        f"{IOSS},2026-03,DE,100.00,19.00\n"  # B (EUR 50, VAT 9.50) left out
        f"{IOSS},2026-03,FR,100.00,20.00\n",
        "return.csv",
    )
    rows = {r.destination_country: r for r in reconcile_return(app.store.engine, declared)}
    assert rows["DE"].status == "under_declared" and rows["DE"].consignments == 2
    assert rows["DE"].expected_tax == Decimal("28.50") and rows["DE"].tax_difference == Decimal("9.50")
    assert rows["FR"].status == "ok"


def test_vendor_credits_for_returns_lower_what_is_expected(app: App) -> None:
    ingest(app, "bazaario", read_bytes(parcel("A", "DE", "100.00"), "ndjson"), now=lambda: NOW)
    release(app, "A")
    with app.store.engine.connect() as conn:
        cid = conn.execute(sa.select(t.consignments.c.id)).scalar_one()
    credit = refund(app, cid, None, on=NOW.date(), at=NOW, reason="returned")
    assert credit.kind == "vendor_credit" and credit.vat == Decimal("19.00")
    declared = parse_return(f"scheme_id,period,destination_country,tax_base,tax\n{IOSS},2026-03,DE,0,0\n", "r.csv")
    [row] = reconcile_return(app.store.engine, declared)
    assert row.status == "ok" and row.expected_tax == Decimal("0.00")


def test_a_malformed_return_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="r.csv:3: bad row"):
        parse_return(
            f"scheme_id,period,destination_country,tax_base,tax\n{IOSS},2026-03,DE,1,1\n{IOSS},March,DE,1,1\n", "r.csv"
        )
