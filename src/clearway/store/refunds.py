"""Refunds of duty and tax: what a consignment was last assessed, what was refunded on it already, and a
new refund kept with its `refunded` event (and ledger leaf) in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator

import msgspec
import sqlalchemy as sa

from clearway.errors import NotFound
from clearway.revenue.assessment import Assessment
from clearway.revenue.refunds import Refund
from clearway.store import tables as t
from clearway.store.accounts import corrections
from clearway.store.events import EventBatch
from clearway.store.repository import IdSequence, new_id

_encode = msgspec.json.Encoder().encode


def lock_consignment(conn: sa.Connection, consignment_id: str) -> None:
    """Hold the consignment's row until the transaction ends (PostgreSQL; SQLite writes one at a time), so
    that two refunds of it are decided one after the other."""
    if conn.dialect.name == "postgresql":
        c = t.consignments.c
        conn.execute(sa.select(c.id).where(c.id == consignment_id).with_for_update())


def latest_assessment(conn: sa.Connection, consignment_id: str) -> Assessment:
    """The consignment's last duty and tax assessment; NotFound when it has none."""
    d = t.decisions.c
    query = (
        sa.select(d.assessment)
        .where(d.consignment_id == consignment_id, d.assessment.is_not(None))
        .order_by(d.decided_at.desc())
        .limit(1)
    )
    found = conn.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound(f"consignment {consignment_id} has no duty and tax assessment", reference=consignment_id)
    return msgspec.json.decode(found.encode(), type=Assessment)


def refunds_of(conn: sa.Connection, consignment_id: str) -> list[Refund]:
    """The refunds already made on a consignment."""
    query = sa.select(t.refunds.c.refund).where(t.refunds.c.consignment_id == consignment_id)
    return [msgspec.json.decode(text.encode(), type=Refund) for text in conn.execute(query).scalars()]


def record_refund(
    conn: sa.Connection, consignment_id: str, result: Refund, *, on: dt.date, at: dt.datetime, reason: str
) -> None:
    """Keep the refund and its `refunded` event (kind, currency, amounts and the lines given back)."""
    refund_id, event_id = new_id(), new_id()
    conn.execute(
        t.refunds.insert().values(
            id=refund_id, consignment_id=consignment_id, kind=result.kind, scheme_id=result.scheme_id,
            currency=result.currency, duty=result.duty, vat=result.vat, total=result.total,
            refund=_encode(result).decode(), refunded_on=on, recorded_at=at, reason=reason, event_id=event_id,
        )
    )  # fmt: skip
    facts: dict[str, object] = {"kind": result.kind, "currency": result.currency}
    facts |= {"duty": str(result.duty), "vat": str(result.vat), "total": str(result.total)}
    facts["lines"] = [[line.item, line.quantity] for line in result.lines]
    recorded = EventBatch(IdSequence())
    recorded.add(consignment_id, "refunded", "clearway", at, facts, event_id=event_id)
    recorded.write(conn)


def released_assessments(engine: sa.Engine) -> Iterator[tuple[str, Assessment, str]]:
    """Each released consignment with an assessment: its id, its assessment (its latest correction, else its
    current version's last decision's), and its destination country. An IOSS parcel an inspection found worth
    more owes the vendor's return the VAT on what it was found worth, as the tax agency's tables say too."""
    d, c = t.decisions.c, t.consignments.c
    query = (
        sa.select(d.consignment_id, d.assessment, c.destination_country)
        .join(t.consignments, c.id == d.consignment_id)
        .where(d.assessment.is_not(None), c.status == "released", d.version == c.version)
        .order_by(d.decided_at, d.id)
    )
    with engine.connect() as conn:
        latest = {cid: (text, country) for cid, text, country in conn.execute(query)}  # its last decision only
        corrected = corrections(conn, latest)
    decode = msgspec.json.Decoder(Assessment).decode
    for consignment_id, (text, country) in latest.items():
        yield str(consignment_id), decode(corrected.get(consignment_id, text).encode()), str(country)


def vendor_credits(engine: sa.Engine, scheme_ids: Collection[str]) -> list[tuple[Refund, dt.date, str]]:
    """Refunds credited by vendors under these schemes: the refund, the day it was made, its consignment."""
    r = t.refunds.c
    query = sa.select(r.refund, r.refunded_on, r.consignment_id).where(
        r.kind == "vendor_credit", r.scheme_id.in_(sorted(scheme_ids))
    )
    with engine.connect() as conn:
        return [
            (msgspec.json.decode(text.encode(), type=Refund), on, str(cid)) for text, on, cid in conn.execute(query)
        ]
