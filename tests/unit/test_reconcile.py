"""Reconciliation of a platform's VAT return with what was assessed under its scheme ids."""

from __future__ import annotations

from decimal import Decimal

from clearway.revenue.reconcile import DeclaredLine, ExpectedLine, reconcile

D = Decimal


def test_each_case_is_found() -> None:
    expected = [
        ExpectedLine("IM2760000012", "2026-03", "DE", 10, D("1000"), D("190.00")),
        ExpectedLine("IM2760000012", "2026-03", "FR", 4, D("400"), D("80.00")),
        ExpectedLine("IM2760000012", "2026-03", "NL", 2, D("100"), D("21.00")),
        ExpectedLine("IM2760000012", "2026-03", "IT", 1, D("50"), D("11.00")),
    ]
    declared = [
        DeclaredLine("IM2760000012", "2026-03", "DE", D("1000"), D("189.50")),  # within the tolerance
        DeclaredLine("IM2760000012", "2026-03", "FR", D("300"), D("60.00")),  # under-declared
        DeclaredLine("IM2760000012", "2026-03", "NL", D("150"), D("31.50")),  # over-declared
        DeclaredLine("IM2760000012", "2026-03", "ES", D("10"), D("2.10")),  # nothing assessed there
    ]
    rows = {r.destination_country: r for r in reconcile(declared, expected)}
    assert {k: r.status for k, r in rows.items()} == {
        "DE": "ok", "FR": "under_declared", "NL": "over_declared", "IT": "missing", "ES": "unexpected",
    }  # fmt: skip
    assert rows["FR"].tax_difference == D("20.00") and rows["IT"].declared_tax is None
    assert rows["IT"].tax_difference == D("11.00") and rows["ES"].tax_difference == D("-2.10")
