"""The money after the decision, kept: payables (what each assessment, demand or penalty makes owed, and
refunds owed back), payments and what they paid, deferred accounts and guarantees, corrected assessments
and appeals. Each function runs in the caller's transaction; the rules are the pure `accounts` package's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.accounts.guarantees import fits
from clearway.accounts.owed import Owed, PayerRole, Terms, owed
from clearway.accounts.payments import OpenItem, Payment, allocate, state_of
from clearway.revenue.assessment import Assessment
from clearway.store import tables as t
from clearway.store.bulk import chunked, insert_rows
from clearway.store.events import EventBatch

OPEN_STATES = ("open", "part_paid", "refund_due")
"""Payables something is still owed on (by the payer, or to it)."""
_CARRIERS = ("carrier", "postal")
_decode_assessment = msgspec.json.Decoder(Assessment).decode


@dataclass(frozen=True)
class Owing:
    """A fresh assessment of a consignment, with where its settlement puts the parcel."""

    consignment_id: str
    assessment: str  # JSON
    status: str


def _plain(row: Any) -> dict[str, Any]:
    return {str(k): v for k, v in row.items()}


_CENTS = Decimal("0.01")


def _money(value: Any) -> Decimal:
    """An amount as stored (4 places), shown in cents where it has no finer part."""
    if value is None:
        return Decimal(0)
    exact = Decimal(str(value)).quantize(Decimal("0.0001"))
    cents = exact.quantize(_CENTS)
    return cents if cents == exact else exact


def _payers(conn: sa.Connection, consignment_ids: Sequence[str]) -> dict[str, Callable[[PayerRole], str]]:
    """For each consignment, who pays in each role: the buyer (named by its tracking number, as the carrier
    collecting from it quotes it), the vendor (its scheme id), the carrier or post (the filer when a carrier
    filed it, else the carrier whose manifest lists it), the intermediary (the filer)."""
    c, k, h, m = t.consignments.c, t.clients.c, t.manifest_houses.c, t.manifests.c
    rows: list[Any] = []
    for chunk in chunked(list(consignment_ids)):
        rows += conn.execute(sa.select(c.id, c.submitter, c.transport_document_id).where(c.id.in_(chunk))).all()
    filers = sorted({r.submitter for r in rows})
    carriers = set(conn.execute(sa.select(k.name).where(k.name.in_(filers), k.role.in_(_CARRIERS))).scalars())
    manifested: dict[str, str] = {}
    for chunk in chunked(sorted({r.transport_document_id for r in rows})):
        for document, carrier in conn.execute(
            sa.select(h.transport_document_id, m.submitter).join(t.manifests, m.id == h.manifest_id)
            .where(h.transport_document_id.in_(chunk)).order_by(m.received_at)
        ):  # fmt: skip
            manifested.setdefault(document, carrier)
    found = {}
    for r in rows:
        carrier = r.submitter if r.submitter in carriers else manifested.get(r.transport_document_id)

        def who(role: PayerRole, r: Any = r, carrier: str | None = carrier) -> str:
            if role == "buyer":
                return f"buyer of {r.transport_document_id}"
            if role == "carrier":
                return carrier or f"carrier of {r.transport_document_id}"
            return str(r.submitter)

        found[r.id] = who
    return found


def holders(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Every account: deferred or not, its guarantee's ceiling and currency, and what is drawn on it."""
    p = t.payables.c
    found = {r.holder: {"holder": r.holder, "deferred": r.deferred, "guarantee": _money(r.guarantee)
                        if r.guarantee is not None else None, "currency": r.currency, "drawn": Decimal(0)}
             for r in conn.execute(sa.select(t.accounts))}  # fmt: skip
    if any(h["guarantee"] is not None for h in found.values()):
        query = sa.select(p.guaranteed_by, p.amount, p.paid).where(
            p.guaranteed_by.is_not(None), p.state.in_(["open", "part_paid"])
        )
        for holder, amount, paid in conn.execute(query):
            if holder in found:
                found[holder]["drawn"] += _money(amount) - _money(paid)
    return found


def owe(
    conn: sa.Connection,
    owing: Sequence[Owing],
    at: dt.datetime,
    terms_of: Callable[[str], Terms | None],
    next_id: Callable[[], str],
) -> set[str]:
    """Record what each fresh assessment makes owed; a parcel about to be released whose duty a guarantee
    holder pays draws on its guarantee, and one that would pass the ceiling is returned (to be held,
    `guarantee_exhausted`)."""
    decoded = [(o, _decode_assessment(o.assessment)) for o in owing]
    decoded = [(o, a) for o, a in decoded if any(v > 0 for v in a.payers.values())]
    if not decoded:
        return set()
    payer_of = _payers(conn, [o.consignment_id for o, _ in decoded])
    accounts = holders(conn)
    exhausted: set[str] = set()
    rows = []
    for o, a in decoded:
        terms = terms_of(a.rules[0]) if a.rules else None
        if terms is None:
            continue
        lines = owed(a, terms, on=at.date(), payer=payer_of[o.consignment_id],
                     deferred=lambda who: bool(accounts.get(who, {}).get("deferred")))  # fmt: skip
        for line in lines:
            account = accounts.get(line.payer)
            guaranteed = None
            if account and account["guarantee"] is not None and account["currency"] == line.currency:
                if o.status in ("released", "assessed") and not fits(account["guarantee"], account["drawn"],
                                                                     line.amount):  # fmt: skip
                    exhausted.add(o.consignment_id)
                else:
                    guaranteed = line.payer
                    account["drawn"] += line.amount
            rows.append(_row(next_id(), o.consignment_id, line, at, guaranteed=guaranteed))
    insert_rows(conn, t.payables, rows)
    return exhausted


def _row(
    payable_id: str, consignment_id: str, line: Owed, at: dt.datetime, *, guaranteed: str | None = None,
    origin: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {"id": payable_id, "consignment_id": consignment_id, "kind": line.kind, "payer_role": line.payer_role,
            "payer": line.payer, "amount": line.amount, "paid": Decimal(0), "currency": line.currency,
            "collection_model": line.collection_model, "due_on": line.due_on, "basis": line.basis,
            "state": state_of(line.amount, Decimal(0)), "guaranteed_by": guaranteed, "origin": origin,
            "created_at": at, "updated_at": at}  # fmt: skip


def add_owed(
    conn: sa.Connection, consignment_id: str, lines: Sequence[Owed], at: dt.datetime, origin: str,
    next_id: Callable[[], str],
) -> list[dict[str, Any]]:  # fmt: skip
    """Record demands, penalties or refunds (from an inspection, an audit or an appeal)."""
    rows = [_row(next_id(), consignment_id, line, at, origin=origin) for line in lines]
    insert_rows(conn, t.payables, rows)
    return rows


def payer_of(conn: sa.Connection, consignment_id: str) -> Callable[[PayerRole], str]:
    return _payers(conn, [consignment_id])[consignment_id]


def deferred_holder(conn: sa.Connection) -> Callable[[str], bool]:
    accounts = holders(conn)
    return lambda who: bool(accounts.get(who, {}).get("deferred"))


def payables(
    conn: sa.Connection,
    *,
    consignment_id: str | None = None,
    payer: str | None = None,
    filer: str | None = None,
    state: str | None = None,
    created: tuple[dt.datetime, dt.datetime] | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Payables, newest first: of one consignment, of one payer, of the consignments one filer filed, made
    within `created` (from, until)."""
    p, c = t.payables.c, t.consignments.c
    query = sa.select(t.payables, c.reference, c.submitter).join(t.consignments, c.id == p.consignment_id)
    if consignment_id is not None:
        query = query.where(p.consignment_id == consignment_id)
    if payer is not None:
        query = query.where(p.payer == payer)
    if filer is not None:
        query = query.where(c.submitter == filer)
    if state is not None:
        query = query.where(p.state == state)
    if created is not None:
        query = query.where(p.created_at >= created[0], p.created_at < created[1])
    rows = conn.execute(query.order_by(p.created_at.desc(), p.id.desc()).limit(limit)).mappings()
    return [_payable(row) for row in rows]


def _payable(row: Any) -> dict[str, Any]:
    item = _plain(row)
    item["amount"], item["paid"] = _money(item["amount"]), _money(item["paid"])
    item["outstanding"] = item["amount"] - item["paid"]
    return item


def record_payment(
    conn: sa.Connection, payment: Payment, at: dt.datetime, actor: str, recorded: EventBatch
) -> dict[str, Any]:
    """Record a payment and place it on what it pays (`accounts.payments.allocate`); a bank entry seen before
    (its bank reference) is not paid twice: the first recording is answered."""
    y, p, c = t.payments.c, t.payables.c, t.consignments.c
    if payment.bank_reference:
        seen = conn.execute(sa.select(y.id).where(y.bank_reference == payment.bank_reference)).scalar()
        if seen is not None:
            return payment_of(conn, str(seen)) | {"duplicate": True}
    query = (
        sa.select(p.id, p.consignment_id, p.currency, p.due_on, p.amount, p.paid, c.reference,
                  c.transport_document_id)
        .join(t.consignments, c.id == p.consignment_id)
        .where(sa.or_(p.id == payment.reference, c.reference == payment.reference,
                      c.transport_document_id == payment.reference),
               p.state.in_(["open", "part_paid"]), p.amount > 0)
    )  # fmt: skip
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=t.payables)
    candidates = conn.execute(query).all()
    items = [OpenItem(r.id, (r.reference, r.transport_document_id), r.currency, r.due_on,
                      _money(r.amount) - _money(r.paid)) for r in candidates]  # fmt: skip
    shares = allocate(payment, items)
    payment_id = recorded.next_id()
    placed = sum((s for _, s in shares), Decimal(0))
    conn.execute(t.payments.insert().values(
        id=payment_id, reference=payment.reference, payer=payment.payer, amount=payment.amount,
        currency=payment.currency, paid_on=payment.paid_on, source=payment.source,
        bank_reference=payment.bank_reference, unmatched=payment.amount - placed, recorded_by=actor,
        recorded_at=at))  # fmt: skip
    by_id = {r.id: r for r in candidates}
    for payable_id, share in shares:
        row = by_id[payable_id]
        paid = _money(row.paid) + share
        conn.execute(t.allocations.insert().values(payment_id=payment_id, payable_id=payable_id, amount=share))
        conn.execute(t.payables.update().where(p.id == payable_id).values(
            paid=paid, state=state_of(_money(row.amount), paid), updated_at=at))  # fmt: skip
        recorded.add(row.consignment_id, "paid", actor, at, {"payable": payable_id, "amount": str(share),
                                                              "currency": payment.currency})  # fmt: skip
    return payment_of(conn, payment_id)


def payment_of(conn: sa.Connection, payment_id: str) -> dict[str, Any]:
    y, al = t.payments.c, t.allocations.c
    row = conn.execute(sa.select(t.payments).where(y.id == payment_id)).mappings().one()
    item = _plain(row)
    item["amount"], item["unmatched"] = _money(item["amount"]), _money(item["unmatched"])
    item["allocations"] = [{"payable_id": pid, "amount": _money(amount)} for pid, amount in conn.execute(
        sa.select(al.payable_id, al.amount).where(al.payment_id == payment_id).order_by(al.payable_id))]  # fmt: skip
    return item


def unmatched_payments(conn: sa.Connection, limit: int = 200) -> list[dict[str, Any]]:
    y = t.payments.c
    ids = conn.execute(sa.select(y.id).where(y.unmatched > 0).order_by(y.recorded_at.desc()).limit(limit)).scalars()
    return [payment_of(conn, str(i)) for i in ids]


def settle_refund(conn: sa.Connection, payable_id: str, at: dt.datetime) -> None:
    """A refund paid out: its state becomes refunded."""
    p = t.payables.c
    row = conn.execute(sa.select(p.amount).where(p.id == payable_id)).one()
    conn.execute(t.payables.update().where(p.id == payable_id).values(paid=row.amount, state="refunded",
                                                                        updated_at=at))  # fmt: skip


def cancel(conn: sa.Connection, payable_id: str, keep: Decimal, at: dt.datetime) -> Decimal:
    """Reduce a payable to `keep` (0: cancelled) after an appeal; returns what was paid beyond what now
    stands, to be refunded."""
    p = t.payables.c
    row = conn.execute(sa.select(p.amount, p.paid).where(p.id == payable_id)).one()
    paid = _money(row.paid)
    state = "cancelled" if keep == 0 else state_of(keep, min(paid, keep))
    conn.execute(t.payables.update().where(p.id == payable_id).values(amount=keep, paid=min(paid, keep),
                                                                        state=state, updated_at=at))  # fmt: skip
    return max(Decimal(0), paid - keep)


def set_account(
    conn: sa.Connection, holder: str, *, deferred: bool, guarantee: Decimal | None, currency: str, at: dt.datetime
) -> None:
    a = t.accounts.c
    values = {"deferred": deferred, "guarantee": guarantee, "currency": currency, "updated_at": at}
    if conn.execute(sa.select(a.holder).where(a.holder == holder)).first() is None:
        conn.execute(t.accounts.insert().values(holder=holder, opened_at=at, **values))
    else:
        conn.execute(t.accounts.update().where(a.holder == holder).values(**values))


def latest_assessment(conn: sa.Connection, consignment_id: str) -> tuple[int, str] | None:
    """The consignment's current assessment (JSON) and its number: the latest correction, else the
    decision's (1)."""
    r, d, c = t.reassessments.c, t.decisions.c, t.consignments.c
    corrected = conn.execute(sa.select(r.number, r.assessment).where(r.consignment_id == consignment_id)
                             .order_by(r.number.desc()).limit(1)).first()  # fmt: skip
    if corrected is not None:
        return int(corrected.number), str(corrected.assessment)
    decided = conn.execute(
        sa.select(d.assessment).join(t.consignments, c.id == d.consignment_id)
        .where(d.consignment_id == consignment_id, d.version == c.version, d.assessment.is_not(None))
        .order_by(d.decided_at.desc()).limit(1)
    ).scalar()  # fmt: skip
    return (1, str(decided)) if decided else None


def add_reassessment(
    conn: sa.Connection, consignment_id: str, number: int, assessment: str, origin: str, at: dt.datetime,
    event_id: str, next_id: Callable[[], str],
) -> None:  # fmt: skip
    conn.execute(t.reassessments.insert().values(id=next_id(), consignment_id=consignment_id, number=number,
                                                 assessment=assessment, origin=origin, at=at,
                                                 event_id=event_id))  # fmt: skip
