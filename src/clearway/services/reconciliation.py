"""Reading a platform's periodic VAT return and what clearway assessed under its scheme ids."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from clearway.errors import RuleFileError
from clearway.revenue.reconcile import DeclaredLine, ExpectedLine, Reconciliation, reconcile
from clearway.store.engine import Engine
from clearway.store.refunds import released_assessments, vendor_credits

RETURN_COLUMNS = ["scheme_id", "period", "destination_country", "tax_base", "tax"]


def parse_return(text: str, source: str) -> list[DeclaredLine]:
    """CSV `scheme_id,period,destination_country,tax_base,tax`; a bad row fails with the file and line."""
    reader = csv.reader(io.StringIO(text))
    if next(reader, None) != RETURN_COLUMNS:
        raise RuleFileError(f"the header must be {','.join(RETURN_COLUMNS)}", file=source, line=1)
    lines = []
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            scheme, period, country, base, tax = (cell.strip() for cell in row)
            if len(period) != 7 or period[4] != "-" or len(country) != 2:
                raise ValueError("period is YYYY-MM and destination a two-letter country code")
            lines.append(DeclaredLine(scheme, period, country, Decimal(base), Decimal(tax)))
        except (ValueError, InvalidOperation) as exc:
            raise RuleFileError(f"bad row: {exc}", file=source, line=number) from exc
    return lines


def expected_lines(engine: Engine, scheme_ids: set[str]) -> list[ExpectedLine]:
    """Vendor-collected tax of the consignments released under `scheme_ids` (what the scheme's return must
    declare), by month and destination, less vendor credits."""
    count: dict[tuple[str, str, str], int] = defaultdict(int)
    base: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    tax: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    destination: dict[str, str] = {}
    for consignment_id, a, country in released_assessments(engine):
        liability = a.vendor_liability
        if liability is None or liability.id not in scheme_ids:
            continue
        key = (liability.id, a.on.strftime("%Y-%m"), country)
        destination[consignment_id] = country
        count[key] += 1
        base[key] += sum((line.customs_value + line.duty for line in a.lines), Decimal(0))
        tax[key] += liability.tax
    for credit, refunded_on, consignment_id in vendor_credits(engine, scheme_ids):
        key = (str(credit.scheme_id), refunded_on.strftime("%Y-%m"), destination.get(consignment_id, "??"))
        tax[key] -= credit.vat
    return [ExpectedLine(k[0], k[1], k[2], count[k], base[k], tax[k]) for k in sorted(set(count) | set(tax))]


def reconcile_return(engine: Engine, declared: list[DeclaredLine]) -> list[Reconciliation]:
    schemes = {line.scheme_id for line in declared}
    periods = {(line.scheme_id, line.period) for line in declared}
    expected = [e for e in expected_lines(engine, schemes) if (e.scheme_id, e.period) in periods]
    return reconcile(declared, expected)
