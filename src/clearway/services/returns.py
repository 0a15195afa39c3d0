"""Returns: refund duty and tax of an assessed consignment, by request or when its return is declared."""

from __future__ import annotations

import datetime as dt

from clearway.bootstrap import App
from clearway.errors import NotFound
from clearway.model.consignment import Consignment
from clearway.revenue.refunds import Refund, RefundRefused, compute_refund
from clearway.store.consignments import id_of_reference
from clearway.store.refunds import latest_assessment, lock_consignment, record_refund, refunds_of


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
        lock_consignment(conn, consignment_id)
        original = latest_assessment(conn, consignment_id)
        rule = next(r for r in app.revenue.rules.rules if r.id == original.rules[0])
        result = compute_refund(
            original,
            [item.quantity for item in consignment.items],
            returned,
            on=on,
            window_days=rule.return_window_days,
            already=refunds_of(conn, consignment_id),
        )
        record_refund(conn, consignment_id, result, on=on, at=at, reason=reason)
    return result


def refund_return(app: App, submitter: str, returned: Consignment, *, at: dt.datetime) -> Refund | None:
    """A `returned_goods` consignment naming its original: refund the lines it sends back (matched by HS code)."""
    if returned.category != "returned_goods" or returned.original_reference is None:
        return None
    original_id = id_of_reference(app.store, submitter, returned.original_reference)
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
