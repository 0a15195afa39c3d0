"""Returns: refund duty and tax of an assessed consignment, by request or once its declared return has left.

A declared return (a `returned_goods` consignment naming the original) is checked when it is filed, and
its refund recorded when its exit is reported (`Clearance.exit`): repayment for rejected goods is granted
provided they are taken out of the customs territory (Union Customs Code art. 118(2)). Before, the refund
was recorded as the return was filed, and a filing alone took a carrier's parcel out of the VAT it owed."""

from __future__ import annotations

import datetime as dt

from clearway.bootstrap import App
from clearway.errors import NotFound
from clearway.model.consignment import Consignment
from clearway.revenue.refunds import Refund, RefundRefused, compute_refund
from clearway.store.consignments import id_of_reference
from clearway.store.engine import Connection
from clearway.store.refunds import latest_assessment, lock_consignment, record_refund, refunds_of


def refund(
    app: App, consignment_id: str, returned: dict[int, int] | None, *, on: dt.date, at: dt.datetime, reason: str
) -> Refund:
    """Refund what `returned` ({item: quantity}, None for everything left) carried; recorded once, logged.
    Only a released consignment has paid (or had its vendor charge) the duty and tax a refund gives back."""
    with app.store.engine.begin() as conn:
        return refund_in(conn, app, consignment_id, returned, on=on, at=at, reason=reason)


def refund_in(
    conn: Connection, app: App, consignment_id: str, returned: dict[int, int] | None, *, on: dt.date,
    at: dt.datetime, reason: str,
) -> Refund:  # fmt: skip
    """`refund`, in the caller's transaction."""
    meta, consignment = app.store.consignment(consignment_id)
    if meta["status"] != "released":
        raise RefundRefused(
            f"consignment {consignment_id} is {meta['status']}, not released: no duty or tax was collected on it",
            reference=consignment_id,
        )
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


def returned_lines(app: App, submitter: str, returned: Consignment) -> tuple[str, dict[int, int]]:
    """A `returned_goods` consignment naming its original (of the same submitter): the original's id and the
    lines it sends back ({item: quantity}, matched by HS code). NotFound or RefundRefused say what does not
    match. Nothing is refunded here: the refund waits for the return to leave (`Clearance.exit`)."""
    original_id = id_of_reference(app.store, submitter, returned.original_reference or "")
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
    return original_id, wanted


def is_return(consignment: Consignment) -> bool:
    """Whether a consignment declares the return of an earlier one (its duty and tax refunded on exit)."""
    return consignment.category == "returned_goods" and consignment.original_reference is not None
