"""Export records from partner administrations: read (plain CSV or WCO DMS export declarations), kept as
sent, and found again by transport document id when the import of the same parcel is assessed."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import msgspec
import polars as pl
import sqlalchemy as sa

from clearway.bootstrap import App
from clearway.errors import InvalidInput
from clearway.interop.dms_declaration import read_declaration
from clearway.interop.dms_schemas import DmsSchemas
from clearway.pipeline.history import EXPORTS
from clearway.store import tables as t
from clearway.store.bulk import chunked, insert_rows
from clearway.store.repository import IdSequence

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
         "quantity": str(i.get("quantity", 1)), "value": i.get("unit_price", "0")}
        for i in c["items"]
    ]  # fmt: skip
    country = c.get("dispatch_country") or c.get("seller", {}).get("address", {}).get("country", "")
    return ExportRecord(c["transport_document"]["id"], country, c["currency"], goods, data)


def store_exports(app: App, records: Sequence[ExportRecord], *, partner: str, source: str, at: dt.datetime) -> int:
    ids = IdSequence()
    rows = [
        {"id": ids(), "transport_document_id": r.transport_document_id, "exporting_country": r.exporting_country,
         "partner": partner, "currency": r.currency, "value": r.value, "goods": msgspec.json.encode(r.goods).decode(),
         "source": source, "received_at": at, "raw": r.raw}
        for r in records
    ]  # fmt: skip
    with app.store.engine.begin() as conn:
        insert_rows(conn, t.export_records, rows)
    return len(rows)


def exports_for(conn: sa.Connection, documents: Sequence[str]) -> pl.DataFrame:
    """The export records of these transport documents, the latest per document and partner."""
    if not documents:
        return pl.DataFrame(schema=EXPORTS)
    e = t.export_records.c
    found: dict[tuple[str, str], dict[str, object]] = {}
    for chunk in chunked(documents):
        query = sa.select(e.transport_document_id, e.exporting_country, e.partner, e.currency, e.value, e.goods,
                          e.received_at).where(e.transport_document_id.in_(chunk))  # fmt: skip
        for row in conn.execute(query.order_by(e.received_at)):
            goods = msgspec.json.decode(row.goods)
            found[(row.transport_document_id, row.partner)] = {
                "transport_document_id": row.transport_document_id, "exporting_country": row.exporting_country,
                "partner": row.partner, "currency": row.currency, "value": float(row.value),
                "hs_codes": [g["hs_code"] for g in goods if g.get("hs_code")],
                "descriptions": [g["description"] for g in goods if g.get("description")],
            }  # fmt: skip
    return pl.DataFrame(list(found.values()), schema=EXPORTS)
