"""Every KPI on a six-parcel fixture, with the expected figures worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from clearway.kpi import KpiInput, Period, compute, money
from clearway.kpi.figures import (
    calibration,
    data_quality,
    hit_rates,
    random_selection,
    refunds,
    rejections,
    release_times,
    revenue,
    thresholds,
    values,
    volumes,
)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=dt.UTC)


def parcel(id: str, submitter: str, channel: str, origin: str, destination: str, platform: str | None,
           category: str, currency: str, value: str, **rest: object) -> dict[str, object]:  # fmt: skip
    return {"id": id, "submitter": submitter, "channel": channel, "origin": origin, "destination": destination,
            "platform": platform, "category": category, "currency": currency, "value": D(value), **rest}  # fmt: skip


CONSIGNMENTS = [
    # c1: decided 30 s after receipt and released at once; arrival expected 12 h after receipt
    parcel("c1", "alpha", "post", "CN", "DE", "bazaario", "sale_of_goods", "EUR", "10.00",
           received_at=at(2, 8), decided_at=at(2, 8, 0, 30), released_at=at(2, 8, 0, 30),
           expected_arrival=at(2, 20), lane="green", status="released"),
    # c2: 1 min to decide; arrived after 23 h; released 2 h after arrival (25 h after receipt)
    parcel("c2", "alpha", "express", "CN", "DE", "bazaario", "sale_of_goods", "EUR", "40.00",
           received_at=at(2, 9), decided_at=at(2, 9, 1), expected_arrival=at(3, 9), arrived_at=at(3, 8),
           released_at=at(3, 10), lane="yellow", status="released"),
    # c3: 2 min to decide; filed 1 h after its expected arrival; still held
    parcel("c3", "alpha", "express", "US", "DE", None, "gift", "EUR", "200.00",
           received_at=at(2, 10), decided_at=at(2, 10, 2), expected_arrival=at(2, 9), lane="red", status="held"),
    # c4: 4 min to decide; arrived 5 h after receipt, released 1 h later (6 h after receipt)
    parcel("c4", "beta", "post", "CN", "FR", "shopco", "sale_of_goods", "EUR", "150.00",
           received_at=at(3, 0), decided_at=at(3, 0, 4), arrived_at=at(3, 5), released_at=at(3, 6),
           lane="yellow", status="released"),
    # c5: 10 min to decide, released at once; declared in USD
    parcel("c5", "beta", "post", "CN", "FR", "shopco", "sale_of_goods", "USD", "8.00",
           received_at=at(3, 1), decided_at=at(3, 1, 10), released_at=at(3, 1, 10), lane="green", status="released"),
    # c6: a return, registered and not yet decided
    parcel("c6", "beta", "post", "GB", "FR", "shopco", "returned_goods", "EUR", "3.00",
           received_at=at(3, 2), status="registered"),
]  # fmt: skip

REASONS = [
    {"consignment_id": "c2", "source": "rule", "code": "LITHIUM"},
    {"consignment_id": "c3", "source": "detector", "code": "DET-UNDERVALUE"},
    {"consignment_id": "c3", "source": "model", "code": "MODEL-HIGH"},
    {"consignment_id": "c4", "source": "random", "code": "RANDOM"},
    {"consignment_id": "c5", "source": "aeo", "code": "AEO"},  # a treatment, not a selection
]


def assessment(*fields: str) -> dict[str, object]:
    cid, model, duty, vat, other, vendor, value, rule = fields
    return {"consignment_id": cid, "jurisdiction": "EU", "currency": "EUR", "collection_model": model,
            "duty": D(duty), "vat": D(vat), "other": D(other), "vendor_tax": D(vendor), "threshold_value": D(value),
            "threshold_currency": "EUR", "rule": rule}  # fmt: skip


ASSESSMENTS = [
    assessment("c1", "vendor_or_platform", "0", "0", "0", "1.90", "10.00", "EU-2021"),
    assessment("c2", "buyer_at_border", "3.00", "8.74", "0", "0", "40.00", "EU-2026-07"),
    assessment("c3", "buyer_at_border", "24.00", "42.00", "5.00", "0", "200.00", "EU-2026-07"),
    assessment("c4", "carrier_or_postal", "3.00", "30.60", "0", "0", "150.00", "EU-2026-07"),
    assessment("c5", "exempt", "0", "0", "0", "0", "7.40", "EU-2026-07"),
]
THRESHOLDS = [
    {"rule": "EU-2021", "threshold": "duty", "amount": D(150)},
    {"rule": "EU-2026-07", "threshold": "duty", "amount": D(150)},
    {"rule": "EU-2026-07", "threshold": "vendor collection", "amount": D(150)},
]
REFUNDS = [
    {"consignment_id": "c4", "kind": "payment", "currency": "EUR", "duty": D("3.00"), "vat": D("30.60"),
     "total": D("33.60")},
    {"consignment_id": "c1", "kind": "vendor_credit", "currency": "EUR", "duty": D(0), "vat": D("1.90"),
     "total": D("1.90")},
]  # fmt: skip
INSPECTIONS = [
    {"consignment_id": "c2", "outcome": "infringement"},
    {"consignment_id": "c3", "outcome": "compliant"},
    {"consignment_id": "c4", "outcome": "compliant"},
    {"consignment_id": "c4", "outcome": "infringement"},  # a second look found it: c4 counts as a hit, once
]


def submission(submitter: str, outcome: str, errors: list[str] | None = None, warnings: int = 0) -> dict[str, object]:
    return {"submitter": submitter, "outcome": outcome, "errors": errors or [], "warnings": warnings}


SUBMISSIONS = [
    submission("alpha", "registered", warnings=2),
    submission("alpha", "registered"),
    submission("alpha", "registered", warnings=1),
    submission("alpha", "amended", warnings=1),
    submission("alpha", "rejected", ["s10.check_digit", "schema.required"]),
    submission("alpha", "rejected", ["s10.check_digit"]),
    submission("beta", "registered"),
    submission("beta", "registered"),
    submission("beta", "registered"),
    submission("beta", "rejected", ["value.negative"]),
    submission("beta", "rejected", ["schema.required"]),
]

DATA = KpiInput.of(
    Period(dt.date(2026, 11, 2), dt.date(2026, 11, 3)),
    consignments=CONSIGNMENTS, reasons=REASONS, assessments=ASSESSMENTS, thresholds=THRESHOLDS, refunds=REFUNDS,
    inspections=INSPECTIONS, submissions=SUBMISSIONS,
)  # fmt: skip


def rows(frame: object) -> list[tuple[object, ...]]:
    return frame.rows()  # type: ignore[attr-defined,no-any-return]


def test_volumes_by_channel_origin_destination_platform_and_category() -> None:
    table = {(d, v): (n, share) for d, v, n, share in rows(volumes(DATA))}
    assert table[("channel", "post")] == (4, pytest.approx(4 / 6))  # c1, c4, c5, c6
    assert table[("channel", "express")] == (2, pytest.approx(2 / 6))
    assert {v: n for (d, v), (n, _) in table.items() if d == "origin"} == {"CN": 4, "US": 1, "GB": 1}
    assert {v: n for (d, v), (n, _) in table.items() if d == "destination"} == {"DE": 3, "FR": 3}
    # c3 names no platform
    assert {v: n for (d, v), (n, _) in table.items() if d == "platform"} == {"shopco": 3, "bazaario": 2, "(none)": 1}
    assert {v: n for (d, v), (n, _) in table.items() if d == "category"} == {
        "sale_of_goods": 4, "gift": 1, "returned_goods": 1}  # fmt: skip


def test_value_distribution_per_currency_by_nearest_rank() -> None:
    # EUR values sorted: 3, 10, 40, 150, 200 (n=5). p10: rank ceil(0.5)=1 -> 3; p50: rank ceil(2.5)=3 -> 40;
    # p90: rank ceil(4.5)=5 -> 200. Total 403.
    assert rows(values(DATA)) == [
        ("EUR", 5, D("403.00"), D("3.00"), D("40.00"), D("200.00"), D("200.00")),
        ("USD", 1, D("8.00"), D("8.00"), D("8.00"), D("8.00"), D("8.00")),
    ]


def test_share_under_each_threshold_at_or_under_counts() -> None:
    # EU-2026-07 measured 40, 200, 150, 7.40: three at or under EUR 150 (150.00 itself is under)
    assert rows(thresholds(DATA)) == [
        ("EU", "EU-2021", "duty", D(150), "EUR", 1, 1, 1.0),
        ("EU", "EU-2026-07", "duty", D(150), "EUR", 4, 3, 0.75),
        ("EU", "EU-2026-07", "vendor collection", D(150), "EUR", 4, 3, 0.75),
    ]


def test_revenue_assessed_and_collected_by_collection_model_and_tax_type() -> None:
    # collected = on released consignments (c1, c2, c4, c5); c3 (held) is assessed but not collected.
    # buyer_at_border: duty 3 + 24 = 27 assessed, 3 collected; VAT 8.74 + 42 = 50.74, 8.74; other 5, 0.
    # The exempt c5 has nothing to show; c1's IOSS VAT was charged at the sale (vendor_tax).
    assert rows(revenue(DATA)) == [
        ("EUR", "buyer_at_border", "duty", D("27.00"), D("3.00"), 2),
        ("EUR", "buyer_at_border", "vat", D("50.74"), D("8.74"), 2),
        ("EUR", "buyer_at_border", "other", D("5.00"), D("0"), 1),
        ("EUR", "carrier_or_postal", "duty", D("3.00"), D("3.00"), 1),
        ("EUR", "carrier_or_postal", "vat", D("30.60"), D("30.60"), 1),
        ("EUR", "vendor_or_platform", "vendor_tax", D("1.90"), D("1.90"), 1),
    ]


def test_refunds_by_currency_and_kind() -> None:
    assert rows(refunds(DATA)) == [
        ("EUR", "payment", 1, D("3.00"), D("30.60"), D("33.60")),
        ("EUR", "vendor_credit", 1, D("0"), D("1.90"), D("1.90")),
    ]


def test_release_times_in_minutes_at_p50_p90_p99() -> None:
    # receipt to decision: 0.5, 1, 2, 4, 10 -> p50 rank 3 = 2; p90 rank ceil(4.5)=5 = 10; p99 = 10 (c6 undecided)
    # arrival to release: c4 60, c2 120 -> p50 rank 1 = 60; p90 rank ceil(1.8)=2 = 120
    # receipt to release: 0.5, 10, 360, 1500 -> p50 rank 2 = 10; p90 rank ceil(3.6)=4 = 1500
    assert rows(release_times(DATA)) == [
        ("receipt to decision", 5, 2.0, 10.0, 10.0),
        ("arrival to release", 2, 60.0, 120.0, 120.0),
        ("receipt to release", 4, 10.0, 1500.0, 1500.0),
    ]


def test_hit_rates_per_lane_profile_detector_model_band_and_random_selection() -> None:
    # a hit is an inspected consignment with at least one infringement found (c2, c4); c3 was compliant
    assert rows(hit_rates(DATA)) == [
        ("lane", "green", 2, 0, 0, None),  # c1, c5: not inspected, so no rate rather than 0%
        ("lane", "red", 1, 1, 0, 0.0),
        ("lane", "yellow", 2, 2, 2, 1.0),
        ("profile", "LITHIUM", 1, 1, 1, 1.0),
        ("detector", "DET-UNDERVALUE", 1, 1, 0, 0.0),
        ("model band", "high", 1, 1, 0, 0.0),
        ("random selection", "random", 1, 1, 1, 1.0),
    ]


def test_random_selection_rate_comes_with_its_wilson_interval() -> None:
    # one of one: p = 1; Wilson, z = 1.96: centre (1 + 1.9207) / 4.8415 = 0.6033,
    # half 1.96 x sqrt(3.8415 / 4) / 4.8415 = 0.3967 -> [0.2065, 1.0]
    (selected, inspected, hits, rate, low, high), = rows(random_selection(DATA))  # fmt: skip
    assert (selected, inspected, hits, rate) == (1, 1, 1, 1.0)
    assert low == pytest.approx(0.2065, abs=1e-4)
    assert high == 1.0


def test_calibration_sets_the_stated_likelihood_beside_what_inspections_found() -> None:
    """Four inspected at 80-95% stated, three found infringing; one at 5% stated, compliant; one not inspected and
    one that stated none are left out."""
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 1))
    stated = {"a": 0.8, "b": 0.85, "c": 0.95, "d": 1.0, "e": 0.05, "f": 0.9, "g": None}
    data = KpiInput.of(
        period,
        consignments=[{"id": k, "likelihood": v} for k, v in stated.items()],
        inspections=[{"consignment_id": k, "outcome": o} for k, o in
                     (("a", "infringement"), ("b", "compliant"), ("c", "infringement"), ("d", "infringement"),
                      ("e", "compliant"), ("g", "infringement"))],
    )  # fmt: skip
    table = {r[0]: r[1:] for r in rows(calibration(data))}
    assert table["0%-10%"][:2] == (1, 0.05) and table["0%-10%"][2:4] == (0, 0.0)
    assert table["70%-90%"][:4] == (2, pytest.approx(0.825), 1, 0.5)
    assert table["90%-100%"][:4] == (2, pytest.approx(0.975), 2, 1.0)  # 1.0 is in the last band
    assert table["30%-50%"] == (0, None, 0, None, None, None)
    low, high = table["90%-100%"][4:]
    assert low == pytest.approx(0.3424, abs=1e-4) and high == 1.0  # Wilson, 2 of 2


def test_data_quality_and_timeliness_per_submitter() -> None:
    # alpha: 6 submissions, 2 rejected (s10.check_digit twice), 4 accepted with 2+0+1+1 warnings, 1 amendment.
    # Notice before arrival: c1 12 h, c2 23 h (actual arrival), c3 -1 h (filed after) -> p50 rank 2 = 12 h.
    # beta: 5 submissions, 2 rejected (one each: the first code alphabetically is named), 3 accepted, no
    # warnings; only c4 has an arrival: 5 h.
    assert [r[:8] for r in rows(data_quality(DATA))] == [
        ("alpha", 6, 4, 2, pytest.approx(1 / 3), "s10.check_digit", 1, 1.0),
        ("beta", 5, 3, 2, 0.4, "schema.required", 0, 0.0),
    ]
    assert [r[8:] for r in rows(data_quality(DATA))] == [(3, 12.0, 1), (1, 5.0, 0)]


def test_rejections_by_error_code() -> None:
    # s10.check_digit twice (alpha), schema.required twice (alpha, beta), value.negative once
    assert rows(rejections(DATA)) == [("s10.check_digit", 2), ("schema.required", 2), ("value.negative", 1)]


def test_compute_names_every_table_and_an_empty_period_gives_empty_tables() -> None:
    assert list(compute(DATA)) == [
        "volumes", "values", "thresholds", "revenue", "refunds", "release_times", "hit_rates", "random_selection",
        "calibration", "data_quality", "rejections", "reconciliation", "cooperation", "partner_findings", "money",
        "recoveries", "appeals", "guarantees",
    ]  # fmt: skip
    empty = compute(KpiInput.of(Period(dt.date(2026, 1, 1), dt.date(2026, 1, 1))))
    assert empty["volumes"].is_empty() and empty["hit_rates"].is_empty()
    assert rows(empty["release_times"]) == [
        ("receipt to decision", 0, None, None, None),
        ("arrival to release", 0, None, None, None),
        ("receipt to release", 0, None, None, None),
    ]
    assert rows(empty["random_selection"]) == [(0, 0, 0, None, None, None)]


def test_a_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends"):
        Period(dt.date(2026, 11, 3), dt.date(2026, 11, 2))


def test_a_parcel_filed_by_a_platform_and_a_carrier_counts_once() -> None:
    import polars as pl

    from clearway.kpi.figures import dossiers

    t0 = dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)
    data = KpiInput.of(
        Period(dt.date(2026, 11, 2), dt.date(2026, 11, 2)),
        consignments=[
            {"id": "p", "submitter": "market", "channel": "post", "currency": "EUR", "value": D("40"),
             "received_at": t0, "transport_document_id": "RR123456785CN"},
            {"id": "c", "submitter": "post", "channel": "post", "currency": "EUR", "value": D("40"),
             "received_at": t0 + dt.timedelta(hours=1), "transport_document_id": "RR123456785CN"},
            {"id": "x", "submitter": "post", "channel": "post", "currency": "EUR", "value": D("5"),
             "received_at": t0, "transport_document_id": None},
        ],
        assessments=[{"consignment_id": cid, "currency": "EUR", "collection_model": "ioss", "duty": D("0"),
                      "vat": D("8"), "other": D("0"), "vendor_tax": D("8")} for cid in "pcx"],
    )  # fmt: skip
    parcels = dossiers(data)
    assert sorted(parcels.consignments["id"].to_list()) == ["p", "x"]  # the carrier's copy joins the platform's
    assert sorted(parcels.assessments["consignment_id"].to_list()) == ["p", "x"]
    figures = compute(data)
    assert figures["volumes"].filter(pl.col("dimension") == "channel").rows() == [("channel", "post", 2, 1.0)]


def test_the_money_figures_follow_payments_not_releases() -> None:
    # Worked by hand. c1, c2: carrier-collected 22.57 each, c1 paid, c2 due on 10 Nov and unpaid (overdue at the
    # period's end). c3: 10.00 at the border with 4.00 paid (due 1 Dec); an inspection's demand of 43.99, paid,
    # and its penalty of 4.40, unpaid since 20 Nov; an appeal's refund of 10.00, paid out. c1's first line was
    # replaced when c1 was amended before release: cancelled, it counts for nothing.
    day = dt.date
    owed = [
        ("c1", "assessment", "EUR", "carrier_or_postal", D("0"), D("0"), day(2026, 12, 16), "cancelled", None),
        ("c1", "assessment", "EUR", "carrier_or_postal", D("22.57"), D("22.57"), day(2026, 12, 16), "paid", None),
        ("c2", "assessment", "EUR", "carrier_or_postal", D("22.57"), D("0"), day(2026, 11, 10), "open", None),
        ("c3", "assessment", "EUR", "buyer_at_border", D("10.00"), D("4.00"), day(2026, 12, 1), "part_paid", None),
        ("c3", "demand", "EUR", "buyer_at_border", D("43.99"), D("43.99"), day(2026, 11, 12), "paid", "inspection"),
        ("c3", "penalty", "EUR", "buyer_at_border", D("4.40"), D("0"), day(2026, 11, 20), "open", "inspection"),
        ("c3", "refund", "EUR", "buyer_at_border", D("-10.00"), D("-10.00"), day(2026, 11, 25), "refunded", "appeal"),
    ]
    columns = ("consignment_id", "kind", "currency", "collection_model", "amount", "paid", "due_on", "state", "origin")
    data = KpiInput.of(
        Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        payables=[dict(zip(columns, row, strict=True)) for row in owed],
        reasons=[{"consignment_id": "c3", "source": "detector", "code": "DET-VALUE"},
                 {"consignment_id": "c3", "source": "rule", "code": "CF-X"}],
        appeals=[{"consignment_id": "c3", "state": "annulled", "on_demand": True, "overdue": False},
                 {"consignment_id": "c2", "state": "lodged", "on_demand": False, "overdue": True}],
        guarantees=[{"holder": "beta-express", "currency": "EUR", "ceiling": D("50"), "drawn": D("45.14")}],
    )  # fmt: skip
    assert rows(money.money(data)) == [
        ("EUR", "buyer_at_border", D("10"), D("47.99"), D("10.40"), D("4.40"), D("48.39"), D("43.99"), D("10"),
         D("10"), 1),
        ("EUR", "carrier_or_postal", D("45.14"), D("22.57"), D("22.57"), D("22.57"), D("0"), D("0"), D("0"), D("0"),
         2),
    ]  # fmt: skip
    assert rows(money.recoveries(data)) == [
        ("inspection", "detector", "DET-VALUE", "EUR", 1, D("48.39"), D("43.99")),
        ("inspection", "rule", "CF-X", "EUR", 1, D("48.39"), D("43.99")),
    ]
    assert rows(money.appeals(data)) == [("annulled", 1, 1, 0), ("lodged", 1, 0, 1)]
    [use] = rows(money.guarantee_use(data))
    assert use[:5] == ("beta-express", "EUR", D("50"), D("45.14"), D("4.86")) and round(use[5], 4) == 0.9028
