"""Refunds on returns: by line, once, within the window; vendor-collected tax becomes a credit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clearway.revenue import assess
from clearway.revenue.refunds import RefundRefused, compute_refund
from tests.unit.test_revenue import MARCH_2026, context, parcel

D = Decimal


def paid() -> tuple[object, list[int]]:
    c = parcel("DE", "EUR", [("620610", 2, "60.00"), ("640399", 1, "40.00")])  # EUR 160: duty and VAT at the border
    return assess(c, MARCH_2026, context()), [2, 1]


def test_a_whole_return_refunds_everything_paid() -> None:
    original, quantities = paid()
    refund = compute_refund(
        original, quantities, None, on=MARCH_2026 + dt.timedelta(days=20), window_days=365, already=[]
    )  # type: ignore[arg-type]
    assert refund.kind == "payment"
    assert refund.duty == original.totals.duty and refund.vat == original.totals.vat  # type: ignore[attr-defined]


def test_by_line_and_never_twice() -> None:
    original, quantities = paid()
    later = MARCH_2026 + dt.timedelta(days=5)
    one = compute_refund(original, quantities, {0: 1}, on=later, window_days=365, already=[])  # type: ignore[arg-type]
    assert one.duty == D("7.20") and [(line.item, line.quantity) for line in one.lines] == [
        (0, 1)
    ]  # half of 12% of 120
    rest = compute_refund(original, quantities, None, on=later, window_days=365, already=[one])  # type: ignore[arg-type]
    assert [(line.item, line.quantity) for line in rest.lines] == [(0, 1), (1, 1)]
    assert one.total + rest.total == original.totals.total  # type: ignore[attr-defined]
    with pytest.raises(RefundRefused, match="everything is refunded already"):
        compute_refund(original, quantities, None, on=later, window_days=365, already=[one, rest])  # type: ignore[arg-type]
    with pytest.raises(RefundRefused, match="only 1 of 2 not refunded yet"):
        compute_refund(original, quantities, {0: 2}, on=later, window_days=365, already=[one])  # type: ignore[arg-type]


def test_outside_the_window() -> None:
    original, quantities = paid()
    with pytest.raises(RefundRefused, match="outside the 365-day window"):
        compute_refund(original, quantities, None, on=MARCH_2026 + dt.timedelta(days=366), window_days=365, already=[])  # type: ignore[arg-type]


def test_vendor_collected_vat_becomes_a_credit_on_the_scheme() -> None:
    c = parcel("DE", "EUR", [("620610", 1, "100.00")], fiscal={"scheme": "ioss", "id": "IM2760000012"})
    original = assess(c, MARCH_2026, context())
    refund = compute_refund(original, [1], None, on=MARCH_2026, window_days=365, already=[])
    assert refund.kind == "vendor_credit" and refund.scheme_id == "IM2760000012"
    assert refund.vat == D("19.00") and refund.duty == D("0.00")


def test_nothing_paid_nothing_refunded() -> None:
    original = assess(parcel("CH", "CHF", [("610910", 1, "20.00")]), MARCH_2026, context())
    with pytest.raises(RefundRefused, match="nothing was paid"):
        compute_refund(original, [1], None, on=MARCH_2026, window_days=365, already=[])
