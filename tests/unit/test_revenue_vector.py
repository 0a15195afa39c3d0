"""The vectorised revenue engine gives the Decimal engine's assessments, byte for byte, or leaves them to it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearway.intake.ndjson_reader import read_ndjson
from clearway.model import validate_raw
from clearway.model.consignment import Consignment
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.pipeline.rows import consignment_from_row
from clearway.revenue import stage as revenue_stage
from clearway.revenue.engine import RevenueContext, assess
from clearway.revenue.packaged import load_revenue
from clearway.revenue.rules import RuleBook, Step
from clearway.revenue.stage import RevenueStage
from clearway.revenue.vector import assess_frame
from clearway.sim import simulate
from tests.conftest import example
from tests.unit.test_revenue import context

ENCODE = msgspec.json.Encoder().encode


def engine_columns(row: dict[str, Any], ctx: RevenueContext) -> dict[str, object]:
    """What the reference engine says of one batch row, as `assess_frame` states it."""
    c = consignment_from_row(row)
    a = assess(c, row["received_at"].date(), ctx)
    return {
        "key": row["key"], "revenue_currency": a.currency, "collection_model": a.collection_model,
        "duty": str(a.totals.duty), "vat": str(a.totals.vat), "other_charges": str(a.totals.other),
        "total_due": str(a.totals.total), "assessment": ENCODE(a).decode(), "on": a.on, "currency": c.currency,
        "intrinsic": str(c.intrinsic_value),
    }  # fmt: skip


def assert_agrees(batch: pl.DataFrame, ctx: RevenueContext) -> pl.DataFrame:
    """Every consignment the vectorised engine answers for, it answers as the engine does; returns its answer."""
    fast = assess_frame(batch, ctx)
    rows = {row["key"]: row for row in batch.iter_rows(named=True)}
    assert fast["key"].is_unique().all()
    for got in fast.iter_rows(named=True):
        assert got == engine_columns(rows[got["key"]], ctx)
    return fast


def stage_output(batch: pl.DataFrame, ctx: RevenueContext, vectorised: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(revenue_stage, "VECTORISED_FROM", 1 if vectorised else 10**9)
    out = RevenueStage(ctx).run(batch, Context(as_of=dt.datetime(2026, 11, 20, tzinfo=dt.UTC)))
    return out.columns.sort("key"), out.hits.sort("key")  # type: ignore[union-attr]


def day_batch(size: int, seed: int, day: dt.date) -> pl.DataFrame:
    at = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    lines = [r.line for r in simulate(size, seed, day).records]
    accepted = [s.outcome.consignment for s in read_ndjson(lines) if s.outcome.consignment is not None]
    return to_batch([BatchRow(f"{i:032x}", "sim", at, c) for i, c in enumerate(accepted)])


@pytest.mark.parametrize(
    ("seed", "day"),
    [(2027, dt.date(2026, 11, 20)), (4242, dt.date(2026, 3, 2)), (90210, dt.date(2025, 6, 2))],
    ids=["EU flat duty", "EU relief", "US de minimis"],
)
def test_simulated_days_are_assessed_alike_and_mostly_on_the_frame(
    seed: int, day: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeds the engine was not developed on, on days under three generations of rules (ECB rates as shipped)."""
    ctx = load_revenue()
    batch = day_batch(1500, seed, day)
    fast = assert_agrees(batch, ctx)
    assert fast.height >= 0.75 * batch.height  # the common case is common: the test is not vacuous
    assert fast.filter(pl.col("currency") != pl.col("revenue_currency")).height > 50  # converted values too
    assert _frames_equal(stage_output(batch, ctx, True, monkeypatch), stage_output(batch, ctx, False, monkeypatch))


def _frames_equal(a: tuple[pl.DataFrame, pl.DataFrame], b: tuple[pl.DataFrame, pl.DataFrame]) -> bool:
    return a[0].equals(b[0]) and a[1].equals(b[1])


RATES = {"USD_EUR": "0.861234", "EUR_USD": "1.161124", "GBP_EUR": "1.17", "EUR_GBP": "0.854701",
         "USD_GBP": "0.7361", "GBP_USD": "1.3585", "SGD_USD": "0.77", "USD_SGD": "1.298701",
         "EUR_SGD": "1.5", "USD_AUD": "1.527913", "USD_CAD": "1.4013", "USD_CHF": "0.80215"}  # fmt: skip
"""Six places at most, as the ECB adapter quotes; SGD to EUR only the other way (a 28-digit inverse)."""

LOCAL = {"AU": "AUD", "CA": "CAD", "CH": "CHF"}
"""Where the rule's own features are: a tax base that adds the transport (AU), a province's rate (CA), a total
rounded to 5 centimes and a minimum amount of tax (CH); parcels to them are priced in USD or their currency."""

POSTCODES = ["K1A 0B1", " m5v 2t6", "B3H4R2", "E1C", "A1B 2C3", "V6B", "X0A 0H0", "Z9Z", "", "  ", "12345"]
"""Canadian postcodes name the province by their first letter (ON, NS, NB, NL with HST; BC and NT without);
Z is no province, and some are not postcodes at all."""

HS = ["610910", "490199", "490300", "220421", "330300", "851712", "950300", "240220", "610990", "64039991"]
"""Clothes, books (reduced VAT in the EU), wine and perfume (no relief), phones, toys, cigarettes, shoes; a
line may also have none (the contract asks for one on a sale of goods only)."""


@st.composite
def money(draw: st.DrawFn, top: int) -> str:
    micro = draw(st.integers(0, top * 10**6))
    places = draw(st.sampled_from([0, 2, 2, 6]))
    whole, part = divmod(micro, 10**6)
    return str(whole) if places == 0 else f"{whole}.{part:06d}"[: len(str(whole)) + 1 + places]


@st.composite
def consignments(draw: st.DrawFn) -> Consignment | None:
    dest = draw(st.sampled_from(["DE", "FR", "IT", "IE", "GB", "US", "SG", "AU", "CA", "CH"]))
    top = draw(st.sampled_from([30, 200, 5000, 10**6]))
    items = [
        {"description": "goods", "hs_code": draw(st.sampled_from([*HS, None])), "quantity": draw(st.integers(1, 12)),
         "unit_price": draw(money(top)), "origin_country": "CN"}
        for _ in range(draw(st.integers(1, 5)))
    ]  # fmt: skip
    for item in items:  # no HS code: allowed where the category is not a sale of goods
        if item["hs_code"] is None:
            del item["hs_code"]
    schemes = [
        None,
        {"scheme": "ioss", "id": "IM2760000012"},
        {"scheme": "sg_ovr", "id": "M90371234X"},
        {"scheme": "au_lvig", "id": "12345678901"},
        {"scheme": "ch_mail_order", "id": "CHE-123.456.789"},
    ]
    fiscal = draw(st.sampled_from(schemes))
    currencies = ["USD", LOCAL[dest]] if dest in LOCAL else ["EUR", "USD", "GBP", "SGD"]
    doc = example(
        destination_country=dest,
        dispatch_country=draw(st.sampled_from(["CN", "US"])),
        currency=draw(st.sampled_from(currencies)),
        channel=draw(st.sampled_from(["post", "express", "cargo"])),
        category=draw(
            st.sampled_from(["sale_of_goods", "sale_of_goods", "commercial_sample", "gift", "other", "documents"])
        ),
        shipping_cost=draw(st.one_of(st.none(), money(40))),
        insurance=draw(st.one_of(st.none(), money(5))),
        fiscal=fiscal,
        items=items,
    )
    if draw(st.booleans()):  # a private sender's parcel: no platform's order (a gift between private persons)
        doc.pop("order", None)
    doc["consignee"]["address"]["country"] = dest
    doc["consignee"]["address"]["postcode"] = draw(st.sampled_from(POSTCODES)) if dest == "CA" else "50667"
    return validate_raw(doc).consignment


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parcels=st.lists(consignments(), min_size=1, max_size=30),
    day=st.sampled_from([dt.date(2026, 3, 2), dt.date(2026, 11, 20), dt.date(2025, 6, 2)]),
)
def test_any_mix_of_parcels_is_assessed_as_the_engine_does(parcels: list[Consignment | None], day: dt.date) -> None:
    """Prices of 0 to 6 places, converted or not, relief and excise lines, reduced rates, vendor schemes, the
    transport added to the tax base, regional rates, totals rounded to a step and tax below its minimum."""
    ctx = context(**RATES)
    at = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
    rows = [BatchRow(f"k{i}", "p", at, c) for i, c in enumerate(parcels) if c is not None]
    if rows:
        assert_agrees(to_batch(rows), ctx)


def parcel(items: list[tuple[str, int, str]], shipping: str | None, currency: str = "EUR") -> Consignment:
    doc = example(
        destination_country="DE", currency=currency, shipping_cost=shipping, insurance=None, fiscal=None,
        items=[{"description": "goods", "hs_code": hs, "quantity": q, "unit_price": p, "origin_country": "CN"}
               for hs, q, p in items],
    )  # fmt: skip
    consignment = validate_raw(doc).consignment
    assert consignment is not None
    return consignment


def test_a_transport_share_half_way_between_two_millionths_is_left_to_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One millionth of transport over two equal lines: each line's share is exactly half a millionth."""
    ctx = context(**RATES)
    at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    tie = parcel([("610910", 1, "1"), ("950300", 1, "1")], "0.000001")
    plain = parcel([("610910", 1, "1"), ("950300", 1, "1")], "0.000002")
    batch = to_batch([BatchRow("tie", "p", at, tie), BatchRow("plain", "p", at, plain)])
    assert assert_agrees(batch, ctx)["key"].to_list() == ["plain"]
    assert _frames_equal(stage_output(batch, ctx, True, monkeypatch), stage_output(batch, ctx, False, monkeypatch))


def test_a_tax_base_with_transport_on_a_half_cent_is_left_to_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Australia's GST base adds the transport, unrounded: a cent of it over two equal lines puts each base on
    a half cent, where the engine's 28-digit sum decides; a base clear of it is on the frame."""
    ctx = context(**RATES)
    at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)

    def to_australia(shipping: str) -> Consignment:
        doc = msgspec.to_builtins(parcel([("610910", 1, "1"), ("950300", 1, "1")], shipping, currency="AUD"))
        doc |= {"destination_country": "AU", "fiscal": {"scheme": "au_lvig", "id": "12345678901"}}
        doc["consignee"]["address"]["country"] = "AU"
        consignment = validate_raw(doc).consignment
        assert consignment is not None
        return consignment

    batch = to_batch(
        [BatchRow("half", "p", at, to_australia("0.01")), BatchRow("clear", "p", at, to_australia("0.02"))]
    )
    fast = assert_agrees(batch, ctx)
    assert fast["key"].to_list() == ["clear"]
    assert '"tax_base":"1.01"' in fast["assessment"][0]  # 1 + half of 0.02: the transport is in the base
    assert _frames_equal(stage_output(batch, ctx, True, monkeypatch), stage_output(batch, ctx, False, monkeypatch))


@pytest.mark.parametrize(
    ("step", "on_the_frame"),
    [(Step(Decimal("0.05")), True), (Step(Decimal("1"), "down"), True), (Step(Decimal("0.25")), True),
     (Step(Decimal("0.03")), False)],
    ids=["5 centimes", "whole francs down", "quarters", "3 centimes (the engine's quotient is not exact)"],
)  # fmt: skip
def test_totals_rounded_to_a_step_are_rounded_as_the_engine_rounds_them(step: Step, on_the_frame: bool) -> None:
    """Switzerland's rule with its totals rounded to other steps (an administration's own rule book)."""
    ctx = context(**RATES)
    swiss = [dataclasses.replace(r, round_total=step) if r.jurisdiction == "CH" else r for r in ctx.rules.rules]
    ctx = RevenueContext(RuleBook(tuple(swiss)), ctx.tariff, ctx.rates, ctx.regional)
    at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    rows = []
    for n, price in enumerate(["11.11", "37.37", "61.99", "62.00", "99.97", "431.13", "1234.56"]):
        doc = msgspec.to_builtins(parcel([("610910", 1, price), ("950300", 3, "2.49")], "7.77", currency="CHF"))
        doc |= {"destination_country": "CH", "fiscal": None}
        doc["consignee"]["address"]["country"] = "CH"
        consignment = validate_raw({k: v for k, v in doc.items() if v is not None}).consignment
        assert consignment is not None
        rows.append(BatchRow(f"ch{n}", "p", at, consignment))
    fast = assert_agrees(to_batch(rows), ctx)
    assert fast.height == (len(rows) if on_the_frame else 0)


@pytest.mark.parametrize("vectorised", [True, False], ids=["on the frame", "by the engine"])
def test_a_consignees_region_sets_the_rate_in_the_pipeline_as_in_an_estimate(
    vectorised: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Canada's HST by the consignee's province as sent (`region`), with no postcode to tell it by: the
    pipeline's batch once dropped the region, and assessed GST at 5% where `estimate` said HST at 13%."""
    ctx = context(**RATES)
    at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    doc = example(destination_country="CA", currency="CAD", fiscal=None, shipping_cost=None, insurance=None)
    doc["items"][0]["unit_price"] = "100.00"
    doc["consignee"]["address"] = {"street": "1 Bay St", "city": "Toronto", "region": "ON", "country": "CA"}
    consignment = validate_raw(doc).consignment
    assert consignment is not None
    columns, _ = stage_output(to_batch([BatchRow("on", "p", at, consignment)]), ctx, vectorised, monkeypatch)
    stated = columns["assessment"][0]
    assert stated == ENCODE(assess(consignment, at.date(), ctx)).decode()  # as `clearway estimate` says
    assert '"tax_rate":"0.13"' in stated and "at the ON rate of 13" in stated


def test_what_the_engine_keeps_is_left_to_it() -> None:
    """Rules with rounding steps (India), a 28-digit exchange rate (SGD to EUR); a gift between private
    persons is on the frame, exempt as the engine says."""
    ctx = context(**RATES)
    at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    gift = validate_raw(example(category="gift", order=None)).consignment
    india = parcel([("610910", 2, "12.50")], None)
    india_doc = msgspec.to_builtins(india) | {"destination_country": "IN", "currency": "INR"}
    india_doc["consignee"]["address"]["country"] = "IN"
    to_india = validate_raw(india_doc).consignment
    singapore_dollars = parcel([("610910", 1, "30")], "5", currency="SGD")
    euros = parcel([("610910", 1, "30")], "5")
    assert gift is not None and to_india is not None
    batch = to_batch([BatchRow(k, "p", at, c) for k, c in
                      [("gift", gift), ("india", to_india), ("sgd", singapore_dollars), ("eur", euros)]])  # fmt: skip
    fast = assert_agrees(batch, ctx)
    assert fast["key"].to_list() == ["gift", "eur"]
    assert fast["collection_model"][0] == "exempt"


def test_amounts_keep_the_engine_s_exponents() -> None:
    """A parcel whose VAT the vendor charged at the sale and whose duty is relieved: its totals read 0.00 and
    its other charges 0, as the engine writes them."""
    ctx = context(**RATES)
    at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    doc = example(destination_country="DE", currency="EUR", shipping_cost=None, insurance=None)
    ioss = validate_raw(doc).consignment
    assert ioss is not None and ioss.fiscal is not None
    fast = assert_agrees(to_batch([BatchRow("ioss", "p", at, ioss)]), ctx)
    row = fast.row(0, named=True)
    assert fast.height == 1 and row["collection_model"] == "vendor_or_platform"
    assert (row["duty"], row["vat"], row["other_charges"], row["total_due"]) == ("0.00", "0.00", "0", "0.00")
    assert len(row["intrinsic"].partition(".")[2]) == 6


@pytest.mark.parametrize("destination", ["DE", "AU"])  # AU's tax base adds the transport its duty base leaves out
def test_a_parcel_of_no_value_carries_its_transport_on_its_one_line_as_the_engine_does(destination: str) -> None:
    """Documents (a 2% share of simulated days) are worth nothing: the engine gives their one line all the
    transport, as the frame does; where nothing of several lines has a value, the engine shares the transport
    in 28-digit thirds or sevenths, and the parcel is left to it."""
    ctx = context(**RATES)
    at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)

    def worthless(lines: int, shipping: str | None) -> Consignment:
        doc = example(destination_country=destination, currency="USD", shipping_cost=shipping, insurance=None,
                      fiscal=None, category="documents",
                      items=[{"description": "letters", "hs_code": "490199", "quantity": 1, "unit_price": "0",
                              "origin_country": "CN"}] * lines)  # fmt: skip
        consignment = validate_raw(doc).consignment
        assert consignment is not None, validate_raw(doc).errors
        return consignment

    batch = to_batch([BatchRow("one", "p", at, worthless(1, "7.35")), BatchRow("bare", "p", at, worthless(1, None)),
                      BatchRow("three", "p", at, worthless(3, "7.35"))])  # fmt: skip
    fast = assert_agrees(batch, ctx)
    assert sorted(fast["key"]) == ["bare", "one"]
    lines = msgspec.json.decode(fast.filter(pl.col("key") == "one")["assessment"][0])["lines"]
    assert lines[0]["value"] == "0.00" and Decimal(lines[0]["customs_value"]) + Decimal(lines[0]["tax_base"]) > 0
