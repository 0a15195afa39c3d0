"""The revenue stage in the pipeline: assessments as columns, same-day parcels of a consignee combined."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from clearway.model import validate_raw
from clearway.pipeline import BatchRow, Context, assess, to_batch
from clearway.revenue.stage import RevenueStage
from tests.conftest import example
from tests.unit.test_revenue import context

DAY = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


def korean(reference: str, price: str, name: str = "Kim Min-jun") -> BatchRow:
    doc = example(reference=reference, destination_country="KR", currency="USD", fiscal=None, shipping_cost=None)
    doc["consignee"] = {
        "name": name,
        "address": {"street": "Sejong-daero 110", "city": "Seoul", "postcode": "04524", "country": "KR"},
    }
    doc["items"] = [
        {"description": "T-shirt", "hs_code": "610910", "quantity": 1, "unit_price": price, "origin_country": "CN"}
    ]
    consignment = validate_raw(doc).consignment
    assert consignment is not None
    return BatchRow(reference, "post-cn", DAY, consignment)


def test_same_consignee_same_day_is_combined_in_korea() -> None:
    stage = RevenueStage(context(USD_KRW="1400"))
    rows = [korean("A", "100.00"), korean("B", "100.00"), korean("C", "100.00", name="Lee Ji-eun")]
    decisions = assess(to_batch(rows), Context(as_of=DAY), [stage])
    due = dict(zip(decisions["key"].to_list(), decisions["total_due"].to_list(), strict=True))
    assert Decimal(due["A"]) > 0 and Decimal(due["B"]) > 0  # USD 200 together: over USD 150
    assert Decimal(due["C"]) == 0  # another consignee: USD 100 alone
    notes = json.loads(decisions.filter(decisions["key"] == "A")["assessment"][0])["notes"]
    assert any("combined value 200" in n for n in notes)


def test_a_consignment_that_cannot_be_assessed_is_held_with_a_reason() -> None:
    stage = RevenueStage(context())  # no exchange rates at all
    decisions = assess(to_batch([korean("A", "10.00")]), Context(as_of=DAY), [stage])
    assert decisions["lane"].to_list() == ["yellow"]
    assert decisions["reasons"][0][0]["code"] == "REVENUE-UNASSESSED"
    assert "no fixed rate from USD" in decisions["reasons"][0][0]["message"]
