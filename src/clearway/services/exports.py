"""Export records from partner administrations: read (plain CSV or WCO DMS export declarations), kept as
sent, and found again by transport document id when the import of the same parcel is assessed."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal

import msgspec

from clearway.bootstrap import App
from clearway.errors import InvalidInput, NotFound
from clearway.interop.dms_declaration import read_declaration, write_declaration
from clearway.interop.dms_schemas import DmsSchemas
from clearway.model.codelists import territory_countries
from clearway.model.consignment import Consignment
from clearway.store.cooperation import departed, keep_export_records
from clearway.store.cooperation import partner as partner_of
from clearway.store.events import record_audit
from clearway.store.repository import IdSequence

if TYPE_CHECKING:
    from clearway.services.cooperation import Actor

COLUMNS = ("transport_document_id", "exporting_country", "currency", "hs_code", "description", "quantity", "value")


@dataclass
class ExportRecord:
    transport_document_id: str
    exporting_country: str
    currency: str
    goods: list[dict[str, str]] = field(default_factory=list)  # description, hs_code, quantity, value
    raw: bytes = b""

    @property
    def value(self) -> Decimal:
        return sum((Decimal(g["value"]) for g in self.goods), Decimal(0))


def parse_csv(data: bytes, source: str) -> list[ExportRecord]:
    """One row per goods line (`COLUMNS`); rows of one transport document are one record. Every bad row is
    named with its line, all at once."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    missing = [c for c in COLUMNS if rows and c not in rows[0]]
    if missing or not rows:
        raise InvalidInput(
            f"{source}: the header needs {', '.join(COLUMNS)}" + (f" (missing {missing})" if rows else "")
        )
    records: dict[str, ExportRecord] = {}
    problems = []
    for line, row in enumerate(rows, start=2):
        try:
            Decimal(row["value"])
        except InvalidOperation:
            problems.append(f"line {line}: value {row['value']!r} is not a decimal")
            continue
        if not row["transport_document_id"] or len(row["exporting_country"]) != 2 or len(row["currency"]) != 3:
            problems.append(f"line {line}: transport_document_id, a 2-letter exporting_country and a currency needed")
            continue
        record = records.setdefault(row["transport_document_id"], ExportRecord(
            row["transport_document_id"], row["exporting_country"].upper(), row["currency"].upper()))  # fmt: skip
        record.goods.append({k: row[k] for k in ("description", "hs_code", "quantity", "value")})
        record.raw += (",".join(row[c] for c in COLUMNS) + "\n").encode()
    if problems:
        raise InvalidInput(f"{source}: " + "; ".join(problems))
    return list(records.values())


def parse_dms(data: bytes, schemas: DmsSchemas, source: str) -> ExportRecord:
    """A partner's DMS export declaration (DE 1/1 EX), mapped as an import declaration would be."""
    result = read_declaration(data, schemas, declared="EX")
    if result.consignment is None:
        details = "; ".join(f"line {e.line}: {e.message}" for e in result.schema_errors)
        raise InvalidInput(f"{source}: refused: {result.refused}" + (f" ({details})" if details else ""))
    c = result.consignment
    if not c.get("transport_document") or not c.get("currency"):
        raise InvalidInput(f"{source}: the export declaration names no transport document or no currency")
    goods = [
        {"description": i.get("description", ""), "hs_code": i.get("hs_code", ""),
         "quantity": str(i.get("quantity", 1)),
         "value": str(Decimal(i.get("unit_price", "0")) * i.get("quantity", 1))}  # the line's value
        for i in c["items"]
    ]  # fmt: skip
    country = c.get("dispatch_country") or c.get("seller", {}).get("address", {}).get("country", "")
    return ExportRecord(c["transport_document"]["id"], country, c["currency"], goods, data)


def export_view(app: App, since: dt.datetime, until: dt.datetime, territory: Sequence[str]) -> list[Consignment]:
    """What left this office's territory (consignments dispatched from it, received in the period, that
    were not held back): the export side a partner compares its imports with."""
    countries = sorted(territory_countries(territory))
    if not countries:
        raise InvalidInput("name the territory this office exports from (CLEARWAY_TERRITORY or --territory)")
    with app.store.engine.connect() as conn:
        bodies = departed(conn, since, until, countries)
    return [msgspec.json.decode(body, type=Consignment) for body in bodies]


def write_csv(consignments: Sequence[Consignment]) -> str:
    """Export records as `parse_csv` reads them: one row per goods line, its value the line's (unit price
    times quantity)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for c in consignments:
        for item in c.items:
            writer.writerow([c.transport_document.id, c.dispatch_country, c.currency, item.hs_code or "",
                             item.description, item.quantity, f"{item.unit_price * item.quantity:f}"])  # fmt: skip
    return buffer.getvalue()


def write_dms(consignments: Sequence[Consignment]) -> dict[str, bytes]:
    """One DMS export declaration (DE 1/1 EX, additional type A) per consignment, by transport document."""
    return {c.transport_document.id: write_declaration(msgspec.to_builtins(c), type_code="EXA") for c in consignments}


def issue_exports(
    app: App, partner: str, period: tuple[dt.datetime, dt.datetime], territory: Sequence[str],
    fmt: Literal["csv", "dms"], actor: Actor, now: dt.datetime,
) -> dict[str, bytes]:  # fmt: skip
    """The export view of the period for a partner, as files by name (`exports.csv`, or one `<transport
    document>.xml` per parcel); audited as sent, under the partner's agreement."""
    view = export_view(app, *period, territory)
    if fmt == "csv":
        files = {"exports.csv": write_csv(view).encode()}
    else:
        files = {f"{_file_name(k)}.xml": v for k, v in write_dms(view).items()}
    with app.store.engine.begin() as conn:
        agreement = partner_of(conn, partner).agreement
        record_audit(conn, now, actor.name, actor.role, "exports_sent", {},
                     {"partner": partner, "agreement": agreement, "format": fmt, "consignments": len(view),
                      "since": period[0].isoformat(), "until": period[1].isoformat(),
                      "sha256": hashlib.sha256(b"".join(files[k] for k in sorted(files))).hexdigest()})  # fmt: skip
    return files


def _file_name(document: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in document)[:80]


def store_exports(
    app: App, records: Sequence[ExportRecord], *, partner: str, source: str, at: dt.datetime, actor: str = "operator"
) -> int:
    """Keep a partner's export records, audited as received (with the partner's agreement, when it is a
    registered partner)."""
    ids = IdSequence()
    rows = [
        {"id": ids(), "transport_document_id": r.transport_document_id, "exporting_country": r.exporting_country,
         "partner": partner, "currency": r.currency, "value": r.value, "goods": msgspec.json.encode(r.goods).decode(),
         "source": source, "received_at": at, "raw": r.raw}
        for r in records
    ]  # fmt: skip
    with app.store.engine.begin() as conn:
        keep_export_records(conn, rows)
        try:
            agreement: str | None = partner_of(conn, partner).agreement
        except NotFound:
            agreement = None
        record_audit(conn, at, actor, "operator", "exports_received", {},
                     {"partner": partner, "agreement": agreement, "source": source, "records": len(rows),
                      "sha256": hashlib.sha256(b"".join(r.raw for r in records)).hexdigest()})  # fmt: skip
    return len(rows)
