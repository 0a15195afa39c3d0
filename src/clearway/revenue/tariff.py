"""Duty rates: MFN ad valorem rates by HS prefix per jurisdiction, dated and cited; overrides first.

The same dated-rate rows also carry regional tax rates (`revenue.regional`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property

from clearway.errors import RuleFileError

COLUMNS = ["jurisdiction", "hs_prefix", "rate_percent", "effective_from", "effective_to", "source"]


@dataclass(frozen=True)
class TariffLine:
    """A dated, cited rate for a key of a jurisdiction: an HS prefix (tariff) or a region (regional tax)."""

    jurisdiction: str
    prefix: str  # the key: HS prefix digits ("" for the jurisdiction's average), or a region code
    rate: Decimal  # a fraction: 0.12 for 12%
    start: dt.date
    end: dt.date | None
    source: str

    def active_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def parse_tariff(text: str, source: str) -> list[TariffLine]:
    """A tariff CSV (comment lines start with #); a bad row fails with the file and line."""
    return parse_dated_rates(text, source, COLUMNS, lambda key: key == "" or key.isdigit(), "an HS prefix of digits")


def parse_dated_rates(
    text: str, source: str, columns: list[str], key_ok: Callable[[str], bool], key_hint: str
) -> list[TariffLine]:
    """Rows of jurisdiction, key, rate in percent, dates and source; a bad row, or a key whose dates overlap
    an earlier row's, fails with the file and line."""
    rows = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.startswith("#")]
    if not rows:
        return []
    header_line, header = rows[0]
    if next(csv.reader([header])) != columns:
        raise RuleFileError(f"the header must be {','.join(columns)}", file=source, line=header_line)
    lines: list[TariffLine] = []
    seen: dict[tuple[str, str], list[tuple[TariffLine, int]]] = {}
    for number, row in rows[1:]:
        cells = next(csv.reader(io.StringIO(row)))
        if len(cells) != len(columns):
            raise RuleFileError(f"{len(cells)} cells for {len(columns)} columns", file=source, line=number)
        jurisdiction, key, rate, start, end, cite = (c.strip() for c in cells)
        try:
            percent = Decimal(rate)
            first = dt.date.fromisoformat(start)
            last = dt.date.fromisoformat(end) if end else None
        except (InvalidOperation, ValueError) as exc:
            raise RuleFileError(f"bad rate or date: {exc}", file=source, line=number) from exc
        if not key_ok(key) or percent < 0 or not jurisdiction:
            raise RuleFileError(f"a row needs a jurisdiction, {key_hint} and a rate >= 0", file=source, line=number)
        entry = TariffLine(jurisdiction, key, percent / 100, first, last, cite)
        if last is not None and last <= first:
            raise RuleFileError(f"effective_to {last} is not after effective_from {first}", file=source, line=number)
        for other, where in seen.get((jurisdiction, key), []):
            if _overlap(entry, other):
                raise RuleFileError(
                    f"{jurisdiction} {key or '(average)'} overlaps the dates of line {where}", file=source, line=number
                )
        seen.setdefault((jurisdiction, key), []).append((entry, number))
        lines.append(entry)
    return lines


def _overlap(a: TariffLine, b: TariffLine) -> bool:
    return (a.end is None or b.start < a.end) and (b.end is None or a.start < b.end)


@dataclass(frozen=True)
class Tariff:
    """Looks up the longest matching prefix; lines of `overrides` (an administration's file) win."""

    base: tuple[TariffLine, ...]
    overrides: tuple[TariffLine, ...] = ()

    @cached_property
    def _index(self) -> tuple[dict[tuple[str, str], list[TariffLine]], ...]:
        tables = []
        for table in (self.overrides, self.base):
            index: dict[tuple[str, str], list[TariffLine]] = {}
            for entry in table:
                index.setdefault((entry.jurisdiction, entry.prefix), []).append(entry)
            tables.append(index)
        return tuple(tables)

    def line(self, jurisdiction: str, hs_code: str | None, day: dt.date) -> TariffLine | None:
        code = hs_code or ""
        for index in self._index:
            for length in range(len(code), -1, -1):
                for entry in index.get((jurisdiction, code[:length]), ()):
                    if entry.active_on(day):
                        return entry
        return None
