"""The money after the decision, kept: payables (what each assessment, demand or penalty makes owed, and
refunds owed back), payments and what they paid, deferred accounts and guarantees, corrected assessments
and appeals. Each function runs in the caller's transaction; the rules are the pure `accounts` package's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.accounts.guarantees import fits
from clearway.accounts.owed import Owed, PayableKind, PayerRole, Terms, owed
from clearway.accounts.payments import OpenItem, Payment, allocate, state_of
from clearway.errors import NotFound
from clearway.model.consignment import Consignment
from clearway.revenue.assessment import Assessment
from clearway.store import dossiers, offences
from clearway.store import tables as t
from clearway.store.bulk import as_utc, chunked, insert_rows
from clearway.store.events import EventBatch

_CARRIERS = ("carrier", "postal")
_decode_assessment = msgspec.json.Decoder(Assessment).decode


class _Liable(msgspec.Struct, frozen=True):
    """What `accounts.owed` reads of an assessment's JSON: decoded without its lines, notes and sources."""

    currency: str
    collection_model: str
    payers: dict[str, Decimal]
    rules: list[str]


_decode_liable = msgspec.json.Decoder(_Liable).decode
_decode_consignment = msgspec.json.Decoder(Consignment).decode
_encode = msgspec.json.Encoder(order="deterministic").encode


@dataclass(frozen=True)
class Owing:
    """A fresh assessment of a consignment, with where its settlement puts the parcel."""

    consignment_id: str
    assessment: str  # JSON
    status: str


def plain(row: Any) -> dict[str, Any]:
    """A row as a dict with plain keys, its times in UTC (SQLite hands them back naive)."""
    return {str(k): as_utc(v) if isinstance(v, dt.datetime) else v for k, v in row.items()}


_CENTS = Decimal("0.01")


def _money(value: Any) -> Decimal:
    """An amount as stored (4 places), shown in cents where it has no finer part."""
    if value is None:
        return Decimal(0)
    exact = Decimal(str(value)).quantize(Decimal("0.0001"))
    cents = exact.quantize(_CENTS)
    return cents if cents == exact else exact


def transport_filers(conn: sa.Connection, filers: set[str]) -> set[str]:
    """Which of `filers` are registered carriers or posts (the operators who hold the goods)."""
    if not filers:
        return set()
    k = t.clients.c
    return {str(n) for n in conn.execute(sa.select(k.name).where(k.name.in_(sorted(filers)), k.role.in_(_CARRIERS)))
            .scalars()}  # fmt: skip


def _payers(conn: sa.Connection, filed: dict[str, Any], carried: set[str]) -> dict[str, Callable[[PayerRole], str]]:
    """For each consignment (`dossiers.filings` rows), who pays in each role: the buyer (named by its
    tracking number, as the carrier collecting from it quotes it), the vendor (its scheme id), the carrier or
    post (the filer when a carrier filed it, else the carrier whose manifest lists it: looked up for the
    consignments in `carried` only), the intermediary (the filer)."""
    h, m = t.manifest_houses.c, t.manifests.c
    rows = list(filed.values())
    carriers = transport_filers(conn, {r.submitter for r in rows if r.id in carried})
    manifested: dict[str, str] = {}
    looked = sorted({r.transport_document_id for r in rows if r.id in carried and r.submitter not in carriers})
    for chunk in chunked(looked):
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


@dataclass(frozen=True)
class Liabilities:
    """What a batch's assessments make owed, worked out before its decisions are stored: the assessment of
    each consignment with something to pay, and who pays it in each role."""

    assessments: dict[str, _Liable]
    payers: dict[str, Callable[[PayerRole], str]]
    accounts: dict[str, dict[str, Any]]  # `holders` as read then: deferred flags; guarantees are read again


def prepare(conn: sa.Connection, assessments: dict[str, str], filed: dict[str, Any]) -> Liabilities:
    """Decode the batch's assessments (JSON, by consignment) and name their payers. Reads only."""
    decoded = {cid: _decode_liable(text) for cid, text in assessments.items()}
    decoded = {cid: a for cid, a in decoded.items() if any(v > 0 for v in a.payers.values())}
    carried = {cid for cid, a in decoded.items() if "carrier" in a.payers}
    payers = _payers(conn, {cid: filed[cid] for cid in decoded if cid in filed}, carried)
    return Liabilities(decoded, payers, holders(conn))


def owe(
    conn: sa.Connection,
    owing: Sequence[Owing],
    at: dt.datetime,
    terms_of: Callable[[str], Terms | None],
    next_id: Callable[[], str],
    prepared: Liabilities,
) -> set[str]:
    """Record what each fresh assessment makes owed; a parcel about to be released whose duty a guarantee
    holder pays draws on its guarantee, and one that would pass the ceiling is returned (to be held,
    `guarantee_exhausted`)."""
    decoded = [(o, prepared.assessments[o.consignment_id]) for o in owing if o.consignment_id in prepared.assessments]
    if not decoded:
        return set()
    accounts = prepared.accounts
    if any(h["guarantee"] is not None for h in accounts.values()):
        accounts = holders(conn)  # what a guarantee has drawn is read in the transaction that draws on it
    exhausted: set[str] = set()
    rows = []
    for o, a in decoded:
        terms = terms_of(a.rules[0]) if a.rules else None
        if terms is None or o.consignment_id not in prepared.payers:
            continue
        lines = owed(a, terms, on=at.date(), payer=prepared.payers[o.consignment_id],
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


AMENDED = "amended before release: the assessment of the earlier version no longer stands"
INVALIDATED = (
    "withdrawn before release: the declaration is invalidated and its customs debt extinguished (UCC art. 124(1)(d))"
)
NOT_IMPORTED = {
    "returned_to_sender": "returned to the sender before release: the goods are not imported and the declaration"
                          " no longer stands (UCC arts. 174 and 124(1)(d))",
    "abandoned": "abandoned to the State: the customs debt is extinguished (UCC art. 124(1))",
    "destroyed": "destroyed under customs supervision: the customs debt is extinguished (UCC art. 124(1))",
}  # fmt: skip
"""The ends of a parcel held before release that extinguish what its declaration made owed, and why."""


DEBT: tuple[PayableKind, ...] = ("assessment", "demand")
"""What a customs debt is owed as (not the penalties, nor the refunds already owed back)."""


def supersede(
    conn: sa.Connection, consignment_ids: Sequence[str], at: dt.datetime, recorded: EventBatch, actor: str,
    reason: str = AMENDED, kinds: Sequence[PayableKind] = ("assessment",),
) -> None:  # fmt: skip
    """Cancel these consignments' payables of `kinds`, in the caller's transaction, for `reason`: each was
    amended before release and is assessed afresh (the fresh assessment's lines replace what the earlier
    version billed), or withdrawn, or ended unreleased (`NOT_IMPORTED`, with its demands). What was paid on a
    cancelled line is owed back to its payer: a refund line, its event recorded in `recorded` as `actor`'s."""
    p = t.payables.c
    query = sa.select(p.id, p.consignment_id, p.payer_role, p.payer, p.currency, p.collection_model).where(
        p.kind.in_(list(kinds)), p.state.not_in(["cancelled", "refund_due", "refunded"]))  # fmt: skip
    found = [row for chunk in chunked(sorted(set(consignment_ids)))
             for row in conn.execute(query.where(p.consignment_id.in_(chunk)))]  # fmt: skip
    for row in found:
        overpaid = cancel(conn, row.id, Decimal(0), at)
        if overpaid > 0:
            back = Owed("refund", row.payer_role, row.payer, -overpaid, row.currency, row.collection_model, at.date(),
                        reason)  # fmt: skip
            for refund in add_owed(conn, row.consignment_id, [back], at, f"superseded:{row.id}", recorded.next_id):
                kind, facts = owed_event(refund)
                recorded.add(row.consignment_id, kind, actor, at, facts)


def owed_event(row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The event a new line of `add_owed` makes, and the facts the ledger commits to: a refund owed back, or
    a demand issued."""
    kind = "refund_due" if row["kind"] == "refund" else "demand_issued"
    return kind, {"payable": row["id"], "kind": row["kind"], "amount": str(row["amount"]),
                  "currency": row["currency"], "due_on": row["due_on"].isoformat()}  # fmt: skip


def add_owed(
    conn: sa.Connection, consignment_id: str, lines: Sequence[Owed], at: dt.datetime, origin: str,
    next_id: Callable[[], str],
) -> list[dict[str, Any]]:  # fmt: skip
    """Record demands, penalties or refunds (from an inspection, an audit or an appeal)."""
    rows = [_row(next_id(), consignment_id, line, at, origin=origin) for line in lines]
    insert_rows(conn, t.payables, rows)
    return rows


def payer_of(conn: sa.Connection, consignment_id: str) -> Callable[[PayerRole], str]:
    return _payers(conn, dossiers.filings(conn, [consignment_id]), {consignment_id})[consignment_id]


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
    item = plain(row)
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
    base = (
        sa.select(p.id, p.consignment_id, p.currency, p.due_on, p.amount, p.paid, c.reference,
                  c.transport_document_id)
        .join(t.consignments, c.id == p.consignment_id)
        .where(p.state.in_(["open", "part_paid"]), p.amount > 0)
    )  # fmt: skip
    if conn.dialect.name == "postgresql":
        base = base.with_for_update(of=t.payables)
    candidates: list[Any] = []
    for quoted in (p.id, c.transport_document_id, c.reference):  # indexed first; the filer's reference last
        candidates = list(conn.execute(base.where(quoted == payment.reference)).all())
        if candidates:
            break
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
    item = plain(row)
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


def corrections(conn: sa.Connection, ids: Collection[str]) -> dict[str, str]:
    """The latest reassessment (JSON) of each of these consignments that has one (an inspection's, an audit's
    or an appeal's correction): where it exists, it is the consignment's assessment, not its decision's."""
    r = t.reassessments.c
    found: dict[str, str] = {}
    for chunk in chunked(sorted(ids)):
        for cid, assessment in conn.execute(sa.select(r.consignment_id, r.assessment)
                                            .where(r.consignment_id.in_(chunk)).order_by(r.number)):  # fmt: skip
            found[cid] = assessment  # the highest number wins
    return found


def imports_of(conn: sa.Connection, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """One row per consignment released in [start, end) with an assessment (`accounts.tax.IMPORTS`): its
    scheme, member state, seller, platform, intrinsic value and import VAT (its latest assessment's)."""
    c, v, d = t.consignments.c, t.consignment_versions.c, t.decisions.c
    query = (
        sa.select(c.id, c.destination_country, v.body, d.assessment)
        .join(t.consignment_versions, sa.and_(v.consignment_id == c.id, v.version == c.version))
        .join(t.decisions, sa.and_(d.consignment_id == c.id, d.version == c.version, d.assessment.is_not(None)))
        .where(c.released_at >= start, c.released_at < end)
        .order_by(c.id, d.decided_at)
    )
    latest: dict[str, tuple[str, str, str]] = {}
    for cid, country, body, assessment in conn.execute(query):
        latest[cid] = (country, body, assessment)  # the last decision of the version wins
    corrected = corrections(conn, latest)
    rows = []
    for cid, (country, body, assessment) in latest.items():
        doc = _decode_consignment(body)
        a = _decode_assessment(corrected.get(cid, assessment))
        rows.append({
            "consignment_id": cid, "scheme": doc.fiscal.scheme if doc.fiscal else None,
            "scheme_id": doc.fiscal.id if doc.fiscal else None, "member_state": country, "seller": doc.seller.name,
            "seller_country": doc.seller.address.country if doc.seller.address else None,
            "platform": doc.order.platform if doc.order else None,
            "currency": a.currency, "intrinsic_value": sum((line.value for line in a.lines), Decimal(0)),
            "vat": (a.vendor_liability.tax if a.vendor_liability else a.totals.vat),
        })  # fmt: skip
    return rows


def refer_to_tax(conn: sa.Connection, lines: Sequence[dict[str, Any]], at: dt.datetime,
                 next_id: Callable[[], str]) -> int:  # fmt: skip
    """Keep each reconciliation finding (a scheme's return against what customs saw) as an intelligence
    referral for the tax agency, once per scheme, period and member state (a later finding replaces it)."""
    q = t.tax_referrals.c
    for line in lines:
        key = sa.and_(q.scheme_id == line["scheme_id"], q.period == line["period"],
                      q.destination_country == line["destination_country"])  # fmt: skip
        conn.execute(t.tax_referrals.delete().where(key))
        conn.execute(t.tax_referrals.insert().values(
            id=next_id(), scheme_id=line["scheme_id"], period=line["period"],
            destination_country=line["destination_country"], facts=_encode(line).decode(), created_at=at))  # fmt: skip
    return len(lines)


def tax_referrals(conn: sa.Connection, period: str | None = None) -> list[dict[str, Any]]:
    q = t.tax_referrals.c
    query = sa.select(t.tax_referrals).order_by(q.period, q.scheme_id, q.destination_country)
    if period is not None:
        query = query.where(q.period == period)
    return [plain(row) | {"facts": msgspec.json.decode(row["facts"])} for row in conn.execute(query).mappings()]


def audit_queue(conn: sa.Connection, *, sample: int, limit: int = 500) -> list[dict[str, Any]]:
    """Released parcels for post-clearance audit, not audited yet: every blue-lane one, then the `sample`
    riskiest of the others (by their decision's score)."""
    c, d, i = t.consignments.c, t.decisions.c, t.inspections.c
    audited = sa.select(i.consignment_id).where(i.method == "audit")
    base = (
        sa.select(c.id, c.reference, c.submitter, c.lane, c.channel, c.destination_country, c.released_at, d.score)
        .join(t.decisions, sa.and_(d.consignment_id == c.id, d.version == c.version))
        .where(c.status == "released", c.dossier_id.is_(None), c.id.not_in(audited))
    )  # fmt: skip
    blue = [plain(r) | {"why": "blue lane"} for r in conn.execute(
        base.where(c.lane == "blue").order_by(c.released_at, c.id).limit(limit)).mappings()]  # fmt: skip
    riskiest = base.where(c.lane != "blue").order_by(d.score.desc(), c.released_at, c.id).limit(max(0, sample))
    ranked = [plain(r) | {"why": "risk-ranked sample"} for r in conn.execute(riskiest).mappings()]
    queue: dict[str, dict[str, Any]] = {}
    for row in [*blue, *ranked]:
        queue.setdefault(row["id"], row)
    return list(queue.values())[:limit]


def gather(conn: sa.Connection, scope: str, subject: str, since: dt.datetime) -> list[str]:
    """The released parcels of an audit case since `since`: those filed under an IOSS number, sold by a seller
    (its name), through a platform, or sent to the consignee of a given consignment (by its party key)."""
    c, v, p = t.consignments.c, t.consignment_versions.c, t.party_keys.c
    released = sa.and_(c.released_at >= since, c.dossier_id.is_(None))
    if scope == "consignee":
        if conn.execute(sa.select(c.id).where(c.id == subject)).first() is None:
            raise NotFound(f"no consignment {subject}: a consignee's case names one of its consignments")
        key = sa.select(p.key).where(p.consignment_id == subject, p.role == "consignee").scalar_subquery()
        query = (sa.select(c.id).join(t.party_keys, sa.and_(p.consignment_id == c.id, p.role == "consignee"))
                 .where(released, p.key == key).order_by(c.released_at, c.id))  # fmt: skip
        return [str(x) for x in conn.execute(query).scalars()]
    query = (
        sa.select(c.id, v.body)
        .join(t.consignment_versions, sa.and_(v.consignment_id == c.id, v.version == c.version))
        .where(released, v.body.contains(subject))
        .order_by(c.released_at, c.id)
    )  # the text narrows, the decoded document decides
    found = []
    for cid, body in conn.execute(query):
        doc = _decode_consignment(body)
        value = {
            "ioss": doc.fiscal.id if doc.fiscal and doc.fiscal.scheme == "ioss" else None,
            "seller": doc.seller.name,
            "platform": doc.order.platform if doc.order else None,
        }.get(scope)
        if value == subject:
            found.append(str(cid))
    return found


ERASED_GROUNDS = "(erased after the retention period)"


def open_appeals(conn: sa.Connection) -> sa.Select[Any]:
    """The consignments with an appeal still to decide: their case is open."""
    a = t.appeals.c
    return sa.select(a.consignment_id).where(a.state.in_(["lodged", "under_review"]))


def forget_personal(conn: sa.Connection, consignment_ids: Sequence[str], before: dt.datetime) -> int:
    """Retention: the free text of appeals on these consignments (grounds may name people) is erased, and
    the payer's name of payments recorded before `before` that no API client is known by (a private person
    paying at the border, as a bank statement names them). Returns the payments erased."""
    a, y, k = t.appeals.c, t.payments.c, t.clients.c
    if consignment_ids:
        conn.execute(
            t.appeals.update().where(a.consignment_id.in_(list(consignment_ids))).values(grounds=ERASED_GROUNDS)
        )
    known = sa.select(k.name)
    erased = conn.execute(
        t.payments.update()
        .where(y.recorded_at < before, y.payer.is_not(None), y.payer.not_in(known))
        .values(payer=None)
    )
    return int(erased.rowcount or 0)


def refund_due(conn: sa.Connection, payable_id: str) -> dict[str, Any] | None:
    """A payable owed back and not yet paid out: its consignment, amount and currency (None otherwise)."""
    p = t.payables.c
    row = conn.execute(sa.select(p.consignment_id, p.amount, p.currency, p.state).where(p.id == payable_id)).first()
    if row is None or row.state != "refund_due":
        return None
    return {"consignment_id": row.consignment_id, "amount": _money(row.amount), "currency": row.currency}


def collected_by_carrier(
    conn: sa.Connection, holder: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[str, str, str, str, bool]]:
    """Parcels released in [start, end) whose assessment the carrier or post `holder` collects: id,
    destination, status, the current version's assessment (JSON), and whether a refund was made on it."""
    p, c, d = t.payables.c, t.consignments.c, t.decisions.c
    query = (
        sa.select(c.id, c.destination_country, c.status, d.assessment)
        .join(t.payables, p.consignment_id == c.id)
        .join(t.decisions, sa.and_(d.consignment_id == c.id, d.version == c.version, d.assessment.is_not(None)))
        .where(p.payer == holder, p.kind == "assessment", p.collection_model == "carrier_or_postal",
               c.released_at >= start, c.released_at < end)
    )  # fmt: skip
    rows = {r.id: r for r in conn.execute(query)}
    refunded: set[str] = set()
    for chunk in chunked(list(rows)):
        refunded |= set(conn.execute(sa.select(t.refunds.c.consignment_id).where(
            t.refunds.c.consignment_id.in_(chunk))).scalars())  # fmt: skip
    return [(str(cid), r.destination_country, r.status, r.assessment, cid in refunded) for cid, r in rows.items()]


def appealable(conn: sa.Connection, consignment_id: str, tenant: str, payable_id: str | None) -> dt.datetime | None:
    """When the decision or demand a tenant would appeal was notified: the demand's creation (`payable_id`,
    a demand or penalty on the consignment), else the consignment's last decision. NotFound when the tenant
    filed no such consignment or it bears no such demand; None when it has no decision yet."""
    c, p, d = t.consignments.c, t.payables.c, t.decisions.c
    row = conn.execute(sa.select(c.submitter).where(c.id == consignment_id)).first()
    if row is None or row.submitter != tenant:
        raise NotFound(f"no consignment {consignment_id}", reference=consignment_id)
    if payable_id is not None:
        mine = sa.and_(p.id == payable_id, p.consignment_id == consignment_id)
        target = conn.execute(sa.select(p.created_at, p.kind).where(mine)).first()
        if target is None or target.kind not in ("demand", "penalty"):
            raise NotFound(f"no demand {payable_id} on consignment {consignment_id}")
        return as_utc(target.created_at)
    notified = conn.execute(sa.select(sa.func.max(d.decided_at)).where(d.consignment_id == consignment_id)).scalar()
    return None if notified is None else as_utc(notified)


def pending_appeal(conn: sa.Connection, consignment_id: str, payable_id: str | None) -> str | None:
    """The appeal against the same decision or demand lodged and not yet decided, if any."""
    a = t.appeals.c
    same = a.payable_id == payable_id if payable_id is not None else a.payable_id.is_(None)
    found = conn.execute(sa.select(a.id).where(
        a.consignment_id == consignment_id, a.state.in_(["lodged", "under_review"]), same)).first()  # fmt: skip
    return None if found is None else str(found.id)


def add_appeal(conn: sa.Connection, values: dict[str, Any]) -> None:
    conn.execute(t.appeals.insert().values(**values))


def appeal_of(conn: sa.Connection, appeal_id: str) -> dict[str, Any] | None:
    """An appeal as kept, with the filer of its consignment (`submitter`)."""
    a, c = t.appeals.c, t.consignments.c
    row = conn.execute(sa.select(t.appeals, c.submitter).join(t.consignments, c.id == a.consignment_id)
                       .where(a.id == appeal_id)).mappings().first()  # fmt: skip
    return None if row is None else dict(row)


def appeal_ids(conn: sa.Connection, *, filer: str | None = None, state: str | None = None) -> list[str]:
    """Appeals in the order they were lodged (of consignments `filer` filed; in `state`)."""
    a, c = t.appeals.c, t.consignments.c
    query = sa.select(a.id).join(t.consignments, c.id == a.consignment_id).order_by(a.lodged_at, a.id)
    if filer is not None:
        query = query.where(c.submitter == filer)
    if state:
        query = query.where(a.state == state)
    return [str(i) for i in conn.execute(query).scalars()]


def demanded(conn: sa.Connection, payable_id: str) -> Any:
    """A payable's amount, currency, payer and collection model."""
    p = t.payables.c
    return conn.execute(
        sa.select(p.amount, p.currency, p.payer_role, p.payer, p.collection_model).where(p.id == payable_id)
    ).one()


def update_appeal(conn: sa.Connection, appeal_id: str, values: dict[str, Any]) -> None:
    conn.execute(t.appeals.update().where(t.appeals.c.id == appeal_id).values(**values))


def add_audit_case(conn: sa.Connection, values: dict[str, Any]) -> None:
    conn.execute(t.audit_cases.insert().values(**values))


def audit_case_of(conn: sa.Connection, case_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t.audit_cases).where(t.audit_cases.c.id == case_id)).mappings().first()
    return None if row is None else dict(row)


def status_of(conn: sa.Connection, consignment_id: str) -> tuple[str, str | None] | None:
    """A consignment's status and the dossier it joined (None when there is no such consignment)."""
    c = t.consignments.c
    row = conn.execute(sa.select(c.status, c.dossier_id).where(c.id == consignment_id)).first()
    return None if row is None else (str(row.status), row.dossier_id)


def add_inspection(conn: sa.Connection, values: dict[str, Any]) -> None:
    """An inspection's (or an audit's) result as kept: id, consignment, officer, time, method, scan, outcome,
    findings (JSON) and its event."""
    conn.execute(t.inspections.insert().values(**values))
    if values["outcome"] == "infringement":
        offences.mark(conn, [values["consignment_id"]])
