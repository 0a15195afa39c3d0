"""Detectors: split shipments, counterfeit prices and undervaluation, each hit explained."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import polars as pl

from clearway.bootstrap import load_brand_floors
from clearway.model import validate_raw
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.revenue import FixedRates
from clearway.risk.detectors import CounterfeitDetector, SplitShipmentDetector, UndervaluationDetector
from tests.conftest import example
from tests.unit.test_revenue import reference

DAY = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
RATES = FixedRates({("EUR", "USD"): Decimal("1.10")})


def row(key: str, price: str, hs: str = "620610", description: str = "Silk blouse", **fields: Any) -> BatchRow:
    doc = example(reference=key, fiscal=None, shipping_cost=None, **fields)
    doc["items"] = [
        {"description": description, "hs_code": hs, "quantity": 1, "unit_price": price, "origin_country": "CN"}
    ]
    consignment = validate_raw(doc).consignment
    assert consignment is not None, validate_raw(doc).errors
    return BatchRow(key, "s", DAY, consignment)


def hits(stage: Any, *rows: BatchRow) -> pl.DataFrame:
    return stage.run(to_batch(list(rows)), Context(as_of=DAY)).hits


def test_split_shipments_each_under_the_threshold_together_over() -> None:
    rules, _ = reference()
    found = hits(
        SplitShipmentDetector(rules),
        row("a", "100.00"),
        row("b", "90.00"),
        row("c", "20.00", description="Socks", hs="611595"),
    )
    assert sorted(found["key"].to_list()) == ["a", "b", "c"]  # 210 > 150, each <= 150
    assert "to one consignee" in found["message"][0] and "150" in found["message"][0]
    alone = hits(SplitShipmentDetector(rules), row("a", "100.00"))
    assert alone.is_empty()
    over = hits(SplitShipmentDetector(rules), row("a", "160.00"), row("b", "10.00"))
    assert over.is_empty()  # one parcel already over: not a split that stays under


def test_split_needs_the_same_consignee() -> None:
    rules, _ = reference()
    other = example()["consignee"] | {"name": "Max Mustermann"}
    found = hits(SplitShipmentDetector(rules), row("a", "100.00"), row("b", "90.00", consignee=other))
    assert found.is_empty()


def test_split_matches_parties_by_keyed_hash_once_names_are_erased() -> None:
    rules, _ = reference()
    erased = [example()["consignee"] | {"name": f"erased-{i}", "address": {"city": "erased", "country": "DE"}}
              for i in range(2)]  # fmt: skip
    same = {"seller": "s" * 64, "consignee": "c" * 64}
    a = msgspec.structs.replace(row("a", "100.00", consignee=erased[0]), party_keys=same)
    b = msgspec.structs.replace(row("b", "90.00", consignee=erased[1]), party_keys=same)
    assert sorted(hits(SplitShipmentDetector(rules), a, b)["key"].to_list()) == ["a", "b"]
    other = msgspec.structs.replace(row("b", "90.00"), party_keys=same | {"consignee": "d" * 64})
    assert hits(SplitShipmentDetector(rules), a, other).is_empty()  # same name, other key: another person


def test_counterfeit_brand_far_below_its_floor() -> None:
    stage = CounterfeitDetector(load_brand_floors(), RATES)
    cheap = row("a", "25.00", hs="910211", description="ROLEX Submariner automatic watch")
    genuine = row("b", "7000.00", hs="910211", description="Rolex Submariner")
    unbranded = row("c", "25.00", hs="910211", description="Automatic watch stainless")
    other_goods = row(
        "d", "5.00", hs="392690", description="Phone case for iPhone"
    )  # iPhone case: not an Apple product
    found = hits(stage, cheap, genuine, unbranded, other_goods)
    assert found["key"].to_list() == ["a"]
    assert found["message"][0] == "Rolex item at USD 27.5 a unit, where genuine ones start near USD 5000.0"
    assert found["lane"][0] == "red"


def test_undervaluation_against_the_usual_unit_value() -> None:
    usual = [row(f"u{i}", f"{20 + i % 7}.00") for i in range(30)]
    found = hits(UndervaluationDetector(RATES), *usual, row("low", "2.00"))
    assert found["key"].to_list() == ["low"]
    assert found["message"][0].startswith(
        "HS 620610 declared at USD 2.2 a unit; that subheading usually declares about USD"
    )


def test_undervaluation_needs_enough_history() -> None:
    few = [row(f"u{i}", "20.00") for i in range(5)]
    assert hits(UndervaluationDetector(RATES), *few, row("low", "2.00")).is_empty()
    history = pl.DataFrame(
        {"hs6": ["620610"], "median_log": [3.0], "mad_log": [0.2], "n": [500]}, schema_overrides={"n": pl.UInt32}
    )
    assert hits(UndervaluationDetector(RATES, history=history), row("low", "2.00"))["key"].to_list() == ["low"]


def test_a_brand_beside_a_counterfeit_marker_is_flagged_at_any_price() -> None:
    stage = CounterfeitDetector(load_brand_floors(), RATES)
    inspired = row("a", "900.00", hs="420221", description="Louis Vuitton inspired tote bag")
    plain = row("b", "900.00", hs="420221", description="Leather tote bag, inspired by Paris")
    found = hits(stage, inspired, plain)
    assert found["key"].to_list() == ["a"]
    assert found["message"][0] == "Louis Vuitton named beside a counterfeit marker: Louis Vuitton inspired tote bag"
