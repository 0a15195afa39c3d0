"""Reconciliation of a platform's periodic VAT return with the consignments assessed under its scheme id.

For each (scheme id, period, destination) the return declares a tax base and tax; clearway knows the
consignments it assessed under that id in that month (vendor-collected tax, less credits for returns).
Differences beyond a tolerance are findings: under-declared, over-declared, missing (not declared at
all) or unexpected (declared, but nothing assessed under that id).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

Status = Literal["ok", "under_declared", "over_declared", "missing", "unexpected"]


class DeclaredLine(msgspec.Struct, frozen=True):
    scheme_id: str
    period: str  # YYYY-MM
    destination_country: str
    tax_base: Decimal
    tax: Decimal


class ExpectedLine(msgspec.Struct, frozen=True):
    scheme_id: str
    period: str
    destination_country: str
    consignments: int
    tax_base: Decimal
    tax: Decimal


class Reconciliation(msgspec.Struct, frozen=True):
    scheme_id: str
    period: str
    destination_country: str
    status: Status
    consignments: int
    expected_base: Decimal
    expected_tax: Decimal
    declared_base: Decimal | None
    declared_tax: Decimal | None
    tax_difference: Decimal  # expected minus declared: what is missing from the return


def reconcile(
    declared: list[DeclaredLine], expected: list[ExpectedLine], tolerance: Decimal = Decimal("1.00")
) -> list[Reconciliation]:
    """One row per (scheme id, period, destination) found on either side, sorted."""
    by_key = {(d.scheme_id, d.period, d.destination_country): d for d in declared}
    known = {(e.scheme_id, e.period, e.destination_country): e for e in expected}
    rows = []
    for key in sorted(set(by_key) | set(known)):
        d, e = by_key.get(key), known.get(key)
        expected_tax = e.tax if e else Decimal(0)
        declared_tax = d.tax if d else None
        difference = expected_tax - (declared_tax or Decimal(0))
        status: Status
        if d is None:
            status = "missing"
        elif e is None:
            status = "unexpected"
        elif difference > tolerance:
            status = "under_declared"
        elif difference < -tolerance:
            status = "over_declared"
        else:
            status = "ok"
        rows.append(
            Reconciliation(
                scheme_id=key[0], period=key[1], destination_country=key[2], status=status,
                consignments=e.consignments if e else 0, expected_base=e.tax_base if e else Decimal(0),
                expected_tax=expected_tax, declared_base=d.tax_base if d else None, declared_tax=declared_tax,
                tax_difference=difference,
            )
        )  # fmt: skip
    return rows
