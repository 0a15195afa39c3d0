"""Reads the records of one period out of the store, in the shapes the KPIs are computed from.

A period holds the consignments first received in it, their latest decision and assessment, their
arrivals and inspections; the submissions received in it; and the refunds made in it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.kpi.inputs import Period
from clearway.store import tables as t

CHUNK = 900  # ids per IN (...) list: under SQLite's default limit on bound parameters


class _Item(msgspec.Struct):
    quantity: Decimal = Decimal(0)
    unit_price: Decimal = Decimal(0)


class _Order(msgspec.Struct):
    platform: str | None = None


class _Body(msgspec.Struct):
    """Only what the KPIs read of a stored Consignment v1 body."""

    category: str | None = None
    currency: str | None = None
    items: list[_Item] = []
    order: _Order | None = None


class _Reason(msgspec.Struct):
    source: str
    code: str


class _Totals(msgspec.Struct):
    duty: Decimal
    vat: Decimal
    other: Decimal


class _Vendor(msgspec.Struct):
    tax: Decimal


class _Assessment(msgspec.Struct):
    jurisdiction: str
    currency: str
    collection_model: str
    totals: _Totals
    threshold_value: Decimal
    threshold_currency: str
    rules: list[str]
    vendor_liability: _Vendor | None = None


class _Finding(msgspec.Struct):
    code: str


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything the store writes is UTC."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def read_period(engine: sa.Engine, period: Period) -> dict[str, list[dict[str, Any]]]:
    """The period's records as rows, by kind: consignments, reasons, assessments, refunds, inspections,
    submissions (thresholds come from the rule book, not the store)."""
    c, v, d, e = t.consignments.c, t.consignment_versions.c, t.decisions.c, t.events.c
    in_period = sa.and_(c.received_at >= period.since, c.received_at < period.until)
    body = msgspec.json.Decoder(_Body)
    consignments: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        query = (
            sa.select(
                c.id,
                c.submitter,
                c.channel,
                c.dispatch_country,
                c.destination_country,
                c.received_at,
                c.expected_arrival,
                c.released_at,
                c.status,
                v.body,
            )  # fmt: skip
            .join(t.consignment_versions, sa.and_(v.consignment_id == c.id, v.version == c.version))
            .where(in_period)
        )
        for row in conn.execute(query):
            parsed = body.decode(row.body)
            consignments[row.id] = {
                "id": row.id, "submitter": row.submitter, "channel": row.channel, "origin": row.dispatch_country,
                "destination": row.destination_country, "platform": parsed.order.platform if parsed.order else None,
                "category": parsed.category, "currency": parsed.currency,
                "value": sum((i.quantity * i.unit_price for i in parsed.items), Decimal(0)),
                "received_at": _utc(row.received_at), "expected_arrival": _utc(row.expected_arrival),
                "released_at": _utc(row.released_at), "status": row.status,
                "decided_at": None, "arrived_at": None, "lane": None,
            }  # fmt: skip
        ids = list(consignments)
        latest: dict[str, Any] = {}
        inspections: list[dict[str, Any]] = []
        for chunk in _chunks(ids):
            for row in conn.execute(
                sa.select(d.consignment_id, d.lane, d.reasons, d.decided_at, d.assessment)
                .where(d.consignment_id.in_(chunk))
                .order_by(d.decided_at, d.id)
            ):
                record = consignments[row.consignment_id]
                record["decided_at"] = record["decided_at"] or _utc(row.decided_at)
                latest[row.consignment_id] = row
            for cid, at in conn.execute(
                sa.select(e.consignment_id, sa.func.min(e.at))
                .where(e.consignment_id.in_(chunk), e.type == "arrived")
                .group_by(e.consignment_id)
            ):
                consignments[cid]["arrived_at"] = _utc(at)
            i = t.inspections.c
            inspected = conn.execute(sa.select(i.consignment_id, i.outcome).where(i.consignment_id.in_(chunk)))
            inspections += [{"consignment_id": cid, "outcome": outcome} for cid, outcome in inspected]
        reasons, assessments = _decided(consignments, latest)
        r = t.refunds.c
        refunds = [
            {"consignment_id": row.consignment_id, "kind": row.kind, "currency": row.currency,
             "duty": row.duty, "vat": row.vat, "total": row.total}
            for row in conn.execute(
                sa.select(r.consignment_id, r.kind, r.currency, r.duty, r.vat, r.total)
                .where(r.refunded_on >= period.start, r.refunded_on <= period.end)
            )
        ]  # fmt: skip
        s = t.submissions.c
        findings = msgspec.json.Decoder(list[_Finding])
        submissions = [
            {"submitter": row.submitter, "outcome": row.outcome,
             "errors": [f.code for f in findings.decode(row.errors)], "warnings": len(findings.decode(row.warnings))}
            for row in conn.execute(
                sa.select(s.submitter, s.outcome, s.errors, s.warnings)
                .where(s.received_at >= period.since, s.received_at < period.until)
            )
        ]  # fmt: skip
    return {
        "consignments": list(consignments.values()), "reasons": reasons, "assessments": assessments,
        "refunds": refunds, "inspections": inspections, "submissions": submissions,
    }  # fmt: skip


def _decided(
    consignments: dict[str, dict[str, Any]], latest: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Lane, reasons and assessment of each consignment's latest decision."""
    why = msgspec.json.Decoder(list[_Reason])
    assessed = msgspec.json.Decoder(_Assessment)
    reasons: list[dict[str, Any]] = []
    assessments: list[dict[str, Any]] = []
    for cid, row in latest.items():
        consignments[cid]["lane"] = row.lane
        reasons += [{"consignment_id": cid, "source": r.source, "code": r.code} for r in why.decode(row.reasons)]
        if row.assessment:
            a = assessed.decode(row.assessment)
            assessments.append({
                "consignment_id": cid, "jurisdiction": a.jurisdiction, "currency": a.currency,
                "collection_model": a.collection_model, "duty": a.totals.duty, "vat": a.totals.vat,
                "other": a.totals.other, "vendor_tax": a.vendor_liability.tax if a.vendor_liability else Decimal(0),
                "threshold_value": a.threshold_value, "threshold_currency": a.threshold_currency,
                "rule": a.rules[0] if a.rules else None,
            })  # fmt: skip
    return reasons, assessments
