"""Authorised economic operators, as mutual-recognition partners exchange them: each row is an operator's
status from a date (authorised, suspended, revoked), so a list sent today can carry a suspension that takes
effect next week, and the registry answers for any day.

The exchange format is CSV with the header
`operator,name,address,programme,issuing_country,status,effective,valid_to`: what MRA data exchanges carry
(the EU-US MRA: the operator's identification number, name, address, status of membership, the dates of
authorisation, suspension and revocation). The packaged registry's older header
(`operator,name,programme,issuing_country,valid_from,valid_to`) reads as authorisations from `valid_from`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from clearway.errors import RuleFileError

AeoStatus = Literal["authorised", "suspended", "revoked"]
AEO_STATUSES: tuple[AeoStatus, ...] = get_args(AeoStatus)
COLUMNS = ("operator", "name", "address", "programme", "issuing_country", "status", "effective", "valid_to")
_PACKAGED = ("operator", "name", "programme", "issuing_country", "valid_from", "valid_to")
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class Operator:
    """One operator's status from `effective` on (until a later row of it, or `valid_to`)."""

    operator: str  # as the AED names it: a submitter id, or a party identifier scheme:value
    name: str
    programme: str  # AEOC, AEOS, AEOF, C-TPAT ...
    issuing_country: str  # ISO 3166 alpha-2 of the issuing administration
    effective: dt.date
    valid_to: dt.date
    status: AeoStatus = "authorised"
    address: str = ""
    source: str = "registry"  # the packaged registry, `own`, or the partner that sent it


def standing(registry: Iterable[Operator], day: dt.date) -> dict[str, Operator]:
    """Per operator, the row in force on `day` (the latest effective on or before it), when it is an
    authorisation still valid that day: a suspension or revocation takes the benefits away from its date.
    Each issuing administration speaks for its own authorisations only: rows are followed per operator and
    issuing country, so one administration's list never suspends (or grants) another's."""
    latest: dict[tuple[str, str], Operator] = {}
    for row in registry:
        if row.effective <= day:
            seen = latest.get((row.operator, row.issuing_country))
            rank = (row.effective, row.status != "authorised")  # on one day, a suspension outranks
            if seen is None or rank >= (seen.effective, seen.status != "authorised"):
                latest[(row.operator, row.issuing_country)] = row
    return {op: row for (op, _), row in sorted(latest.items()) if row.status == "authorised" and day <= row.valid_to}


def parse_operators(text: str, source: str, *, origin: str = "registry") -> list[Operator]:
    """Rows of an operator list; every bad row is named with its line, all at once."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return []
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = tuple(reader.fieldnames or ())
    if set(COLUMNS) <= set(header):
        packaged = False
    elif set(_PACKAGED) <= set(header):
        packaged = True
    else:
        raise RuleFileError(f"the header needs {', '.join(COLUMNS)}", file=source, line=1)
    rows, problems = [], []
    for number, row in enumerate(reader, start=2):
        if number > MAX_ROWS:
            problems.append(f"more than {MAX_ROWS} rows")
            break
        try:
            rows.append(_row(row, packaged, origin))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        raise RuleFileError("; ".join(problems[:20]) + (f" (and {len(problems) - 20} more)" if len(problems) > 20
                                                        else ""), file=source)  # fmt: skip
    return rows


def _row(row: dict[str, str | None], packaged: bool, origin: str) -> Operator:
    cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
    operator, country = cells["operator"], cells["issuing_country"].upper()
    if not operator or len(operator) > 120 or any(c in operator for c in "\x00\r\n"):
        raise ValueError("operator is an identifier of 1 to 120 characters")
    if len(country) != 2 or not country.isalpha():
        raise ValueError(f"issuing_country {cells['issuing_country']!r} is not a 2-letter country code")
    status = "authorised" if packaged else cells["status"].lower()
    if status not in AEO_STATUSES:
        raise ValueError(f"status {cells['status']!r} is not one of {', '.join(AEO_STATUSES)}")
    try:
        effective = dt.date.fromisoformat(cells["valid_from" if packaged else "effective"])
        valid_to = dt.date.fromisoformat(cells["valid_to"])
    except ValueError as exc:
        raise ValueError(f"dates are YYYY-MM-DD ({exc})") from exc
    if valid_to < effective:
        raise ValueError("valid_to is before the status takes effect")
    return Operator(operator, cells["name"][:200], cells["programme"][:20], country, effective, valid_to,
                    status, cells.get("address", "")[:300], origin)  # fmt: skip


def write_operators(rows: Iterable[Operator]) -> str:
    """The exchange CSV of `rows`, in the order given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r.operator, r.name, r.address, r.programme, r.issuing_country, r.status,
                         r.effective.isoformat(), r.valid_to.isoformat()])  # fmt: skip
    return buffer.getvalue()
