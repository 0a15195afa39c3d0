"""The revenue stage in the pipeline: assessments as columns, same-day parcels of a consignee combined."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import msgspec
import polars as pl

from clearway.model import validate_raw
from clearway.pipeline import BatchRow, Context, History, assess, to_batch
from clearway.pipeline.history import ASSESSED
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


def earlier(who: str, at: dt.datetime, rule: str, value: str, destination: str = "KR") -> dict[str, object]:
    return {"key": f"old-{who}-{value}", "destination_country": destination, "who": who * 64, "received_at": at,
            "rule": rule, "threshold_value": Decimal(value)}  # fmt: skip


def keyed(row: BatchRow, who: str) -> BatchRow:
    return msgspec.structs.replace(row, party_keys={"consignee": who * 64, "seller": "s" * 64})


def test_a_consignee_parcel_assessed_earlier_that_day_counts_in_korea() -> None:
    stage = RevenueStage(context(USD_KRW="1400"))
    history = History(assessed=pl.DataFrame([earlier("k", DAY - dt.timedelta(hours=2), "KR-2016", "100")],
                                            schema=ASSESSED))  # fmt: skip
    decisions = assess(to_batch([keyed(korean("B", "100.00"), "k")]), Context(as_of=DAY, history=history), [stage])
    assert Decimal(decisions["total_due"][0]) > 0  # USD 100 + the USD 100 of the morning: over USD 150
    assert any("combined value 200" in n for n in json.loads(decisions["assessment"][0])["notes"])
    yesterday = History(assessed=pl.DataFrame([earlier("k", DAY - dt.timedelta(days=1), "KR-2016", "100")],
                                              schema=ASSESSED))  # fmt: skip
    alone = assess(to_batch([keyed(korean("B", "100.00"), "k")]), Context(as_of=DAY, history=yesterday), [stage])
    assert Decimal(alone["total_due"][0]) == 0


def test_the_buyer_s_year_counts_across_batches_and_within_one_in_china() -> None:
    stage = RevenueStage(context())
    history = History(assessed=pl.DataFrame(
        [earlier("b", DAY - dt.timedelta(days=40), "CN-CBEC-2019", "24500", "CN")], schema=ASSESSED))  # fmt: skip
    rows = [keyed(chinese("C1", "1000.00"), "b"), keyed(chinese("C2", "1000.00"), "b"),
            keyed(chinese("C3", "1000.00"), "z")]  # fmt: skip
    decisions = assess(to_batch(rows), Context(as_of=DAY, history=history), [stage])
    rules = {k: json.loads(a)["rules"][0] for k, a in decisions.select("key", "assessment").iter_rows()}
    # 24,500 + 1,000 = 25,500 within CNY 26,000; then + 1,000 = 26,500 past it; another buyer starts at 0
    assert rules == {"C1": "CN-CBEC-2019", "C2": "CN-GENERAL", "C3": "CN-CBEC-2019"}


def chinese(reference: str, price: str) -> BatchRow:
    doc = example(reference=reference, destination_country="CN", currency="CNY", fiscal=None, shipping_cost=None)
    doc["consignee"] = {"name": "Wang Fang", "address": {"street": "Nanjing Road 1", "city": "Shanghai",
                        "postcode": "200001", "country": "CN"}}  # fmt: skip
    doc["items"] = [
        {"description": "T-shirt", "hs_code": "610910", "quantity": 1, "unit_price": price, "origin_country": "JP"}
    ]
    consignment = validate_raw(doc).consignment
    assert consignment is not None, validate_raw(doc).errors
    return BatchRow(reference, "platform-cn", DAY, consignment)
