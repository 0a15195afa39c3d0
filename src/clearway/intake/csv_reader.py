"""CSV intake: one row per item, rows grouped into consignments by `reference`.

Consignment fields are columns named by their dotted path (`seller.address.city`), item fields are
`item.<field>` (`item.hs_code`), identifier lists are `scheme:value` pairs separated by `;`
(`seller.identifiers` = `vat:DE136695976;eori:DE1234`). Consignment fields are read from the first row
of a group; a later row that contradicts them, or a row with the wrong number of cells, rejects that
consignment with the line number. The whole file is grouped, so rows of one consignment need not be
adjacent (memory grows with the file, unlike NDJSON).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from clearway.intake.submitted import Submitted
from clearway.model.findings import Finding
from clearway.model.validation import Outcome, reference_of, rejection, validate_raw

ITEM_PREFIX = "item."
LIST_FIELDS = frozenset({"identifiers"})
INTEGER_FIELDS = frozenset({"quantity"})


def _set(doc: dict[str, Any], dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    node = doc
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return
        node = child
    if leaf in LIST_FIELDS:
        pairs = [p.split(":", 1) for p in value.split(";") if p.strip()]
        node[leaf] = [{"scheme": p[0].strip(), "value": p[1].strip() if len(p) > 1 else ""} for p in pairs]
    elif leaf in INTEGER_FIELDS and value.strip().lstrip("-").isdigit():
        node[leaf] = int(value)
    else:
        node[leaf] = value


class _Group:
    def __init__(self, reference: str, line: int) -> None:
        self.reference = reference
        self.line = line
        self.head: dict[str, str] = {}
        self.items: list[dict[str, Any]] = []
        self.rows: list[list[str]] = []
        self.errors: list[Finding] = []


def read_csv(data: bytes) -> Iterator[Submitted]:
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        yield Submitted("csv", 1, data, rejection(None, "", "csv.malformed", f"line 1: {exc}"))
        return
    if "reference" not in header:
        yield Submitted("csv", 1, data, rejection(None, "", "csv.header", "the header has no `reference` column"))
        return
    ref_at = header.index("reference")
    groups: dict[str, _Group] = {}
    orphans: list[Submitted] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            orphans.append(
                Submitted(
                    "csv",
                    reader.line_num,
                    b"",
                    rejection(None, "", "csv.malformed", f"line {reader.line_num}: {exc}"),
                )
            )
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        reference = row[ref_at].strip() if ref_at < len(row) else ""
        if not reference:
            raw = _encode_rows(header, [row])
            orphans.append(
                Submitted(
                    "csv",
                    line,
                    raw,
                    rejection(None, "/reference", "schema.required", f"line {line}: the row has no reference"),
                )
            )
            continue
        group = groups.get(reference) or groups.setdefault(reference, _Group(reference, line))
        group.rows.append(row)
        if len(row) != len(header):
            group.errors.append(Finding("", "csv.columns", f"line {line}: {len(row)} cells for {len(header)} columns"))
            continue
        _add_row(group, header, row, line)
    yield from orphans
    for group in groups.values():
        yield Submitted("csv", group.line, _encode_rows(header, group.rows), _outcome(group))


def _add_row(group: _Group, header: list[str], row: list[str], line: int) -> None:
    item: dict[str, Any] = {}
    for name, cell in zip(header, row, strict=True):
        if name.startswith(ITEM_PREFIX):
            if cell.strip():
                _set(item, name[len(ITEM_PREFIX) :], cell.strip())
            continue
        cell = cell.strip()
        if name not in group.head:
            group.head[name] = cell
        elif cell and group.head[name] != cell:
            message = f"line {line}: `{name}` is {cell!r} here but {group.head[name]!r} on line {group.line}"
            group.errors.append(Finding("/" + name.replace(".", "/"), "csv.inconsistent", message))
    if item:
        group.items.append(item)


def _outcome(group: _Group) -> Outcome:
    doc: dict[str, Any] = {}
    for name, cell in group.head.items():
        if cell:
            _set(doc, name, cell)
    doc["items"] = group.items
    outcome = validate_raw(doc)
    if not group.errors:
        return outcome
    errors = sorted(set(group.errors) | set(outcome.errors))
    return Outcome(reference_of(doc) or group.reference, None, errors, outcome.warnings)


def _encode_rows(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
