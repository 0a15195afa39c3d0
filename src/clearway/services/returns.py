"""Returns: refund duty and tax of an assessed consignment, by request or when its return is declared."""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa

from clearway.bootstrap import App
from clearway.errors import NotFound
from clearway.model.consignment import Consignment
from clearway.revenue.assessment import Assessment
from clearway.revenue.refunds import Refund, RefundRefused, compute_refund
from clearway.store import tables as t
from clearway.store.events import EventBatch
from clearway.store.repository import IdSequence, new_id

_encode = msgspec.json.Encoder().encode


def _latest_assessment(conn: sa.Connection, consignment_id: str) -> Assessment:
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
    query = sa.select(t.refunds.c.refund).where(t.refunds.c.consignment_id == consignment_id)
    return [msgspec.json.decode(text.encode(), type=Refund) for text in conn.execute(query).scalars()]


def refund(
    app: App, consignment_id: str, returned: dict[int, int] | None, *, on: dt.date, at: dt.datetime, reason: str
) -> Refund:
    """Refund what `returned` ({item: quantity}, None for everything left) carried; recorded once, logged.
    Only a released consignment has paid (or had its vendor charge) the duty and tax a refund gives back."""
    meta, consignment = app.store.consignment(consignment_id)
    if meta["status"] != "released":
        raise RefundRefused(
            f"consignment {consignment_id} is {meta['status']}, not released: no duty or tax was collected on it",
            reference=consignment_id,
        )
    with app.store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(t.consignments.c.id).where(t.consignments.c.id == consignment_id).with_for_update())
        original = _latest_assessment(conn, consignment_id)
        rule = next(r for r in app.revenue.rules.rules if r.id == original.rules[0])
        result = compute_refund(
            original,
            [item.quantity for item in consignment.items],
            returned,
            on=on,
            window_days=rule.return_window_days,
            already=refunds_of(conn, consignment_id),
        )
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
    return result


def refund_return(app: App, submitter: str, returned: Consignment, *, at: dt.datetime) -> Refund | None:
    """A `returned_goods` consignment naming its original: refund the lines it sends back (matched by HS code)."""
    if returned.category != "returned_goods" or returned.original_reference is None:
        return None
    c = t.consignments.c
    with app.store.engine.connect() as conn:
        query = sa.select(c.id).where(c.submitter == submitter, c.reference == returned.original_reference)
        original_id = conn.execute(query).scalar_one_or_none()
    if original_id is None:
        raise NotFound(
            f"no consignment {returned.original_reference} of {submitter} to return", reference=returned.reference
        )
    _, original = app.store.consignment(original_id)
    wanted: dict[int, int] = {}
    for item in returned.items:
        match = next(
            (i for i, o in enumerate(original.items) if o.hs_code == item.hs_code and wanted.get(i, 0) < o.quantity),
            None,
        )
        if match is None:
            raise RefundRefused(
                f"{item.description!r} was not in {returned.original_reference}", reference=returned.reference
            )
        wanted[match] = min(original.items[match].quantity, wanted.get(match, 0) + item.quantity)
    return refund(app, original_id, wanted, on=at.date(), at=at, reason=f"returned as {returned.reference}")
