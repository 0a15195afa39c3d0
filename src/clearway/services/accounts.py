"""Money after the decision, as use cases: payments recorded and imported, what is owed read by whom may
read it, deferred accounts and guarantees set, corrected assessments and their demands or refunds, appeals,
and the monthly statements (a deferred account's, and the EU special arrangements' for import VAT a carrier
or post collected). Every officer's step is audited and every step on a consignment is in the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import polars as pl

from clearway.accounts import appeals as appeal_rules
from clearway.accounts.owed import Owed, Terms, demand
from clearway.accounts.payments import Payment
from clearway.accounts.tax import IMPORTS
from clearway.accounts.tax import tax_export as tables
from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.clearance.settle import duty_facts
from clearway.errors import Forbidden, IllegalTransition, InvalidInput, NotFound
from clearway.intake.payments import read_camt053, read_csv
from clearway.model.bounds import storable
from clearway.model.consignment import Consignment
from clearway.revenue import assess
from clearway.revenue.assessment import Assessment
from clearway.store import accounts as kept
from clearway.store.engine import Connection
from clearway.store.events import Audit, EventBatch, record_audit
from clearway.store.refunds import lock_consignment
from clearway.store.repository import IdSequence

_encode = msgspec.json.Encoder(order="deterministic").encode
_decode_assessment = msgspec.json.Decoder(Assessment).decode
CUSTOMS_ROLES = frozenset({"officer"})


def _officer(actor: Principal) -> None:
    if actor.role not in CUSTOMS_ROLES:
        raise Forbidden("only customs officers do this")


def holder_or_officer(reader: Principal, holder: str) -> None:
    """An account is read by its holder (a carrier, post or intermediary, under its own name) or an officer."""
    if reader.is_submitter and reader.tenant == holder:
        return
    if reader.is_submitter:
        raise NotFound(f"no account for {holder}")
    _officer(reader)


def terms_for(app: App, assessment: Assessment) -> Terms:
    rule = next((r for r in app.revenue.rules.rules if assessment.rules and r.id == assessment.rules[0]), None)
    if rule is None:
        raise NotFound(f"no revenue rule {assessment.rules} for this assessment")
    return Terms.of(rule)


# --- payments ---


FILE_CHUNK = 200
"""Payments of a file recorded per transaction: a bank statement of thousands commits in a few."""


def record_payment(app: App, actor: Principal, payment: Payment, now: dt.datetime) -> dict[str, Any]:
    """Record one payment and place it on what it pays; audited."""
    _officer(actor)
    return _record(app, actor, [payment], now)[0]


def _record(app: App, actor: Principal, payments: list[Payment], now: dt.datetime) -> list[dict[str, Any]]:
    """Record payments in order, in one transaction (each matched against what the ones before it paid)."""
    ids = IdSequence()
    recorded = EventBatch(ids)
    done = []
    with app.store.writing() as conn:
        for payment in payments:
            one = kept.record_payment(conn, payment, now, actor.name, recorded)
            done.append(one)
            if not one.get("duplicate"):
                record_audit(conn, now, actor.name, actor.role, "payment_recorded", {},
                             {"payment": one["id"], "reference": payment.reference, "amount": str(payment.amount),
                              "currency": payment.currency, "source": payment.source})  # fmt: skip
        recorded.write(conn)
    return done


def import_payments(app: App, actor: Principal, data: bytes, fmt: str, now: dt.datetime) -> dict[str, Any]:
    """A payment file (`csv` or `camt053`): each good row recorded and matched, each bad one reported."""
    _officer(actor)
    if fmt not in ("csv", "camt053"):
        raise InvalidInput(f"a payment file is csv or camt053, not {fmt!r}")
    payments, problems = read_csv(data) if fmt == "csv" else read_camt053(data)
    done = [d for start in range(0, len(payments), FILE_CHUNK)
            for d in _record(app, actor, payments[start : start + FILE_CHUNK], now)]  # fmt: skip
    return {
        "recorded": sum(1 for d in done if not d.get("duplicate")),
        "duplicates": sum(1 for d in done if d.get("duplicate")),
        "unmatched": [d for d in done if d["unmatched"] > 0 and not d.get("duplicate")],
        "problems": [msgspec.to_builtins(p) for p in problems],
        "payments": done,
    }


def payables_for(app: App, reader: Principal, *, consignment_id: str | None = None, payer: str | None = None,
                 state: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """What is owed: an officer reads any; a submitter only what is owed on the consignments it filed."""
    filer = reader.tenant if reader.is_submitter else None
    if not reader.is_submitter:
        _officer(reader)
    with app.store.engine.connect() as conn:
        return kept.payables(conn, consignment_id=consignment_id, payer=payer, filer=filer, state=state)


def refund_paid(app: App, actor: Principal, payable_id: str, now: dt.datetime) -> dict[str, Any]:
    """An officer records that a refund owed back was paid out."""
    _officer(actor)
    ids = IdSequence()
    recorded = EventBatch(ids)
    with app.store.writing() as conn:
        row = kept.refund_due(conn, payable_id)
        if row is None:
            raise NotFound(f"no refund due under {payable_id}")
        kept.settle_refund(conn, payable_id, now)
        facts = {"payable": payable_id, "amount": str(-row["amount"]), "currency": row["currency"]}
        recorded.add(row["consignment_id"], "refund_paid", actor.name, now, facts,
                     audit=Audit(actor.name, actor.role, {"state": "refund_due"}, {"state": "refunded"}))  # fmt: skip
        recorded.write(conn)
    return {"payable_id": payable_id, "state": "refunded"}


# --- accounts and guarantees ---


def set_account(app: App, actor: Principal, holder: str, *, deferred: bool, guarantee: Decimal | None,
                currency: str, now: dt.datetime) -> dict[str, Any]:  # fmt: skip
    """Open or change a deferred account and guarantee for a carrier, post or intermediary; audited."""
    _officer(actor)
    if not holder.strip() or len(holder) > 128 or not storable(holder):
        raise InvalidInput("the holder is its name as it pays (1 to 128 characters)")
    if guarantee is not None and (not guarantee.is_finite() or guarantee < 0 or guarantee >= Decimal("1e12")):
        raise InvalidInput("a guarantee's ceiling is an amount from 0 to 10^12")
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput("the currency is a three-letter ISO 4217 code")
    with app.store.writing() as conn:
        before = kept.holders(conn).get(holder)
        kept.set_account(conn, holder, deferred=deferred, guarantee=guarantee, currency=currency.upper(), at=now)
        after = {"holder": holder, "deferred": deferred, "guarantee": str(guarantee), "currency": currency}
        record_audit(conn, now, actor.name, actor.role, "account_set",
                     {k: str(v) for k, v in (before or {}).items()}, after)  # fmt: skip
    return account(app, holder)


def account(app: App, holder: str) -> dict[str, Any]:
    with app.store.engine.connect() as conn:
        found = kept.holders(conn).get(holder)
    if found is None:
        raise NotFound(f"no account for {holder}")
    ceiling = found["guarantee"]
    return found | {"headroom": None if ceiling is None else max(Decimal(0), ceiling - found["drawn"])}


def _month(month: str) -> tuple[dt.datetime, dt.datetime]:
    try:
        start = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise InvalidInput(f"a month is YYYY-MM, not {month!r}") from exc
    if not 2000 <= start.year <= 2099:
        raise InvalidInput(f"the month {month} is outside 2000-2099")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def statement(app: App, holder: str, month: str) -> dict[str, Any]:
    """A deferred account's monthly statement: what it was made to owe that month, what it paid on it, and
    what is still due and by when."""
    start, end = _month(month)
    with app.store.engine.connect() as conn:
        lines = kept.payables(conn, payer=holder, created=(start, end), limit=100_000)[::-1]  # oldest first
    totals: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        total = totals.setdefault(line["currency"], {"owed": Decimal(0), "paid": Decimal(0), "outstanding": Decimal(0)})
        total["owed"] += line["amount"]
        total["paid"] += line["paid"]
        total["outstanding"] += line["outstanding"]
    due = max((line["due_on"] for line in lines), default=None)
    return {"holder": holder, "month": month, "lines": lines, "totals": totals, "due_on": due}


def special_arrangements(app: App, holder: str, month: str) -> dict[str, Any]:
    """The EU special arrangements' monthly declaration for a carrier or post (VAT Directive arts. 369y to
    369zb): import VAT it collected on parcels released in the month under them, less parcels it could not
    deliver (returned, abandoned or destroyed, or refunded on return), per member state."""
    start, end = _month(month)
    undelivered_statuses = {"returned_to_sender", "abandoned", "destroyed"}
    with app.store.engine.connect() as conn:
        rows = kept.collected_by_carrier(conn, holder, start, end)
    by_country: dict[tuple[str, str], dict[str, Any]] = {}
    for _, destination, status, text, refunded in rows:
        a = _decode_assessment(text)
        key = (destination, a.currency)
        line = by_country.setdefault(key, {"member_state": key[0], "currency": key[1], "parcels": 0,
                                           "vat_collected": Decimal(0), "not_delivered": 0,
                                           "vat_not_delivered": Decimal(0)})  # fmt: skip
        line["parcels"] += 1
        line["vat_collected"] += a.totals.vat
        if status in undelivered_statuses or refunded:
            line["not_delivered"] += 1
            line["vat_not_delivered"] += a.totals.vat
    lines = []
    for line in sorted(by_country.values(), key=lambda x: (x["member_state"], x["currency"])):
        lines.append(line | {"vat_due": line["vat_collected"] - line["vat_not_delivered"]})
    return {
        "holder": holder,
        "month": month,
        "lines": lines,
        "basis": "Council Directive 2006/112/EC arts. 369y-"
        "369zb (special arrangements for declaration and payment of import VAT), as amended by 2017/2455",
    }


# --- corrections: demands and refunds ---


def corrected(consignment: Consignment, findings: list[Any]) -> tuple[Consignment, list[str]]:
    """The consignment as an inspection or audit found it: the value (the whole consignment's, the items'
    prices scaled to it), an item's HS code or origin. Returns it and what was corrected."""
    items = list(consignment.items)
    said = []
    for f in findings:
        item = getattr(f, "item", None)
        if item is not None and not 0 <= item < len(items):
            raise InvalidInput(f"the consignment has no item {item}")
        which = [item] if item is not None else list(range(len(items)))
        if f.corrected_value:
            try:
                value = Decimal(f.corrected_value)
            except ArithmeticError as exc:
                raise InvalidInput(f"the corrected value {f.corrected_value!r} is not a number") from exc
            if not value.is_finite() or value <= 0 or value >= Decimal("1e12"):
                raise InvalidInput("a corrected value is a positive amount below 10^12")
            declared = consignment.intrinsic_value
            factor = value / declared if declared else Decimal(1)
            items = [msgspec.structs.replace(i, unit_price=(i.unit_price * factor).quantize(Decimal("0.0001")))
                     for i in items]  # fmt: skip
            said.append(f"value {declared} corrected to {value} {consignment.currency}")
        for field, attr in (("corrected_hs_code", "hs_code"), ("corrected_origin", "origin_country")):
            found = getattr(f, field, None)
            if not found:
                continue
            if len(which) > 1 and len(items) > 1:
                raise InvalidInput(f"say which item the {attr.replace('_', ' ')} is corrected for (`item`)")
            for i in which:
                items[i] = msgspec.structs.replace(items[i], **{attr: found})
                said.append(f"item {i} {attr.replace('_', ' ')} corrected to {found}")
    try:
        fixed = msgspec.convert(msgspec.to_builtins(msgspec.structs.replace(consignment, items=items)), Consignment)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"the correction does not make a valid consignment: {exc}") from exc
    return fixed, said


CORRECTIONS = ("corrected_value", "corrected_hs_code", "corrected_origin")
MAX_ORDER_PARTS = 20
"""The most parcels one order found split is reassessed as: the consignment inspected and 19 others."""


def order_of(app: App, consignment_id: str, consignment: Consignment, findings: list[Any]) -> dict[str, Consignment]:
    """The other parcels of the order a `split_consignment` finding names (`same_order`), checked before anything
    is recorded: each is a stored consignment, and comes from the same seller to the same consignee in the same
    country (one order is one seller's sale to one buyer, AEAT low-value shipments manual 3.1.6)."""
    if any(getattr(f, "same_order", None) and f.kind != "split_consignment" for f in findings):
        raise InvalidInput("`same_order` names the other parcels of a split_consignment finding")
    named = list(dict.fromkeys(i for f in findings for i in getattr(f, "same_order", None) or ()))
    if consignment_id in named:
        raise InvalidInput("`same_order` names the order's other parcels, not this one")
    if len(named) >= MAX_ORDER_PARTS:
        raise InvalidInput(f"an order is reassessed as at most {MAX_ORDER_PARTS} parcels")
    parts: dict[str, Consignment] = {}
    for other in named:
        try:
            _, part = app.store.consignment(other)
        except NotFound as exc:
            raise InvalidInput(f"`same_order` names {other}, which is no consignment") from exc
        differs = [what for what, ours, theirs in (
            ("destination", consignment.destination_country, part.destination_country),
            ("seller", _name(consignment.seller.name), _name(part.seller.name)),
            ("consignee", _name(consignment.consignee.name), _name(part.consignee.name)),
        ) if ours != theirs]  # fmt: skip
        if differs:
            raise InvalidInput(f"{other} is not of this order: its {' and '.join(differs)} differ")
        parts[other] = part
    return parts


def _name(name: str | None) -> str:
    return " ".join((name or "").casefold().split())


def check_findings(app: App, consignment_id: str, findings: list[Any]) -> None:
    """Refuse, before anything is recorded, findings whose correction or order cannot stand."""
    if not any(getattr(f, a, None) for f in findings for a in (*CORRECTIONS, "same_order")):
        return
    _, declared = app.store.consignment(consignment_id)
    corrected(declared, findings)
    others = order_of(app, consignment_id, declared, findings)
    if others:
        with app.store.engine.connect() as conn:
            _order_assessments(conn, list(others))


def _order_assessments(conn: Connection, parts: list[str]) -> list[tuple[int, str]]:
    """The current assessment of each of an order's other parts; refused where one has none of its own (a
    filing that joined another's dossier: the lead carries it) or their thresholds are in other currencies."""
    held = []
    for part in parts:
        current = kept.latest_assessment(conn, part)
        if current is None:
            raise InvalidInput(f"{part} has no assessment of its own (a dossier's filing): name its lead filing")
        held.append(current)
    _one_currency({_decode_assessment(text).threshold_currency for _, text in held})
    return held


def _one_currency(currencies: set[str]) -> str:
    """The threshold currency an order's parts share; refused where they are assessed under several."""
    if len(currencies) > 1:
        raise InvalidInput(f"the parcels named are assessed under thresholds in {', '.join(sorted(currencies))}")
    return currencies.pop()


def correct(
    app: App, actor: Principal, consignment_id: str, findings: list[Any], origin: str, now: dt.datetime,
    conn: Connection, recorded: EventBatch,
) -> list[dict[str, Any]]:  # fmt: skip
    """In the caller's transaction: reassess the consignment as found, record the new assessment version, and
    demand what it adds (with the terms' penalty) of the right payer, or owe back what it takes off. Where the
    findings name the other parcels of its order (`same_order`), each part is reassessed so, on the value of
    the whole order. Returns the payables made (none when nothing was corrected or nothing changes)."""
    if not any(getattr(f, a, None) for f in findings for a in (*CORRECTIONS, "same_order")):
        return []
    _, consignment = app.store.consignment(consignment_id)
    others = order_of(app, consignment_id, consignment, findings)
    for cid in sorted({consignment_id, *others}):  # in one order, so that two officers' corrections take turns
        lock_consignment(conn, cid)
    current = kept.latest_assessment(conn, consignment_id)
    if current is None:
        return []  # not assessed (a joined filing): the dossier's lead carries the assessment
    fixed, said = corrected(consignment, findings)
    if not others:
        return _reassess(app, actor, consignment_id, current, fixed, said, origin, now, conn, recorded)
    parts: list[tuple[str, tuple[int, str], Consignment]] = [(consignment_id, current, fixed)]
    for (other, part), held in zip(others.items(), _order_assessments(conn, list(others)), strict=True):
        parts.append((other, held, part))
    own = [assess(c, _decode_assessment(text).on, app.revenue) for _, (_, text), c in parts]
    currency = _one_currency({a.threshold_currency for a in own})
    value = sum((a.threshold_value for a in own), Decimal(0))
    ids = ", ".join(cid for cid, _, _ in parts)
    order = f"one order of {len(parts)} parcels ({ids}), {value} {currency}"
    made = []
    for cid, held, found in parts:
        notes = said + [order] if cid == consignment_id else [order]
        made += _reassess(app, actor, cid, held, found, notes, origin, now, conn, recorded, order_value=value)
    return made


def _reassess(
    app: App, actor: Principal, consignment_id: str, current: tuple[int, str], fixed: Consignment, said: list[str],
    origin: str, now: dt.datetime, conn: Connection, recorded: EventBatch, *, order_value: Decimal | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Record one consignment's reassessment as found, and what it makes owed or owed back."""
    number, text = current
    before = _decode_assessment(text)
    after = assess(fixed, before.on, app.revenue, order_value=order_value)
    terms = terms_for(app, after)
    lines = demand(before, after, terms, on=now.date(), payer=kept.payer_of(conn, consignment_id),
                   deferred=kept.deferred_holder(conn), finding="; ".join(said))  # fmt: skip
    audit = Audit(actor.name, actor.role, {"assessment": number, "total": str(before.totals.total)},
                  {"assessment": number + 1, "total": str(after.totals.total), "origin": origin})  # fmt: skip
    body = _encode(after).decode()
    facts = duty_facts(body, number + 1) | {"origin": origin.split(":")[0], "corrected": said}
    event_id = recorded.add(consignment_id, "reassessed", actor.name, now, facts, audit=audit)
    kept.add_reassessment(conn, consignment_id, number + 1, body, origin, now, event_id, recorded.next_id)
    rows = kept.add_owed(conn, consignment_id, lines, now, origin, recorded.next_id)
    for row in rows:
        kind, facts = kept.owed_event(row)
        recorded.add(consignment_id, kind, actor.name, now, facts)
    return rows


# --- appeals ---


def lodge_appeal(app: App, who: Principal, consignment_id: str, payable_id: str | None, grounds: str,
                 now: dt.datetime) -> dict[str, Any]:  # fmt: skip
    """A submitter (for what it filed) or the payer's representative lodges an appeal against a decision or
    a demand, within the terms' days of it."""
    if not who.is_submitter:
        raise Forbidden("an appeal is lodged by whoever filed the consignment")
    grounds = grounds.strip()
    if not grounds or len(grounds) > 4000 or not storable(grounds):
        raise InvalidInput("the grounds of the appeal are 1 to 4000 characters")
    ids = IdSequence()
    recorded = EventBatch(ids)
    with app.store.writing() as conn:
        notified = kept.appealable(conn, consignment_id, who.tenant, payable_id)
        if notified is None:
            raise InvalidInput("this consignment has no decision to appeal yet")
        pending = kept.pending_appeal(conn, consignment_id, payable_id)
        if pending is not None:  # a replayed or repeated appeal is the one already lodged
            raise IllegalTransition(f"appeal {pending} against this is already lodged and not yet decided")
        current = kept.latest_assessment(conn, consignment_id)
        terms = terms_for(app, _decode_assessment(current[1])) if current else Terms(10, 16, 30, 30, Decimal(0), "")
        notified_on = notified.date()
        appeal_rules.in_time(notified_on, now.date(), terms.appeal_days)
        appeal_id = ids()
        review_by = appeal_rules.review_deadline(now.date(), terms.review_days)
        kept.add_appeal(conn, {"id": appeal_id, "consignment_id": consignment_id, "payable_id": payable_id,
                               "lodged_by": who.name, "lodged_at": now, "grounds": grounds, "state": "lodged",
                               "review_by": review_by})  # fmt: skip
        recorded.add(consignment_id, "appeal_lodged", who.name, now,
                     {"appeal": appeal_id, "payable": payable_id, "review_by": review_by.isoformat()})  # fmt: skip
        recorded.write(conn)
    return appeal(app, who, appeal_id)


def appeal(app: App, reader: Principal, appeal_id: str) -> dict[str, Any]:
    with app.store.engine.connect() as conn:
        row = kept.appeal_of(conn, appeal_id)
    if row is None or (reader.is_submitter and row["submitter"] != reader.tenant):
        raise NotFound(f"no appeal {appeal_id}")
    if not reader.is_submitter:
        _officer(reader)
    item = {k: v for k, v in kept.plain(row).items() if k != "submitter"}
    item["kept"] = Decimal(str(item["kept"])) if item["kept"] is not None else None
    return item


def appeals(app: App, reader: Principal, state: str | None = None) -> list[dict[str, Any]]:
    if not reader.is_submitter:
        _officer(reader)
    with app.store.engine.connect() as conn:
        found = kept.appeal_ids(conn, filer=reader.tenant if reader.is_submitter else None, state=state)
    return [appeal(app, reader, i) for i in found]


def move_appeal(app: App, officer: Principal, appeal_id: str, action: str, now: dt.datetime, *,
                kept_amount: Decimal | None = None, note: str = "") -> dict[str, Any]:  # fmt: skip
    """Take an appeal under review, or decide it: upheld, annulled, or partly annulled (with what stands of
    the demand). An annulled demand is cancelled and what was paid on it beyond what stands is owed back."""
    _officer(officer)
    ids = IdSequence()
    recorded = EventBatch(ids)
    with app.store.writing() as conn:
        row = kept.appeal_of(conn, appeal_id)
        if row is None:
            raise NotFound(f"no appeal {appeal_id}")
        state = appeal_rules.next_state(row["state"], action)
        values: dict[str, Any] = {"state": state}
        facts: dict[str, Any] = {"appeal": appeal_id}
        if state in appeal_rules.OUTCOMES:
            values |= {"decided_by": officer.name, "decided_at": now}
            if row["payable_id"] is not None:
                demanded = kept.demanded(conn, row["payable_id"])
                amount = Decimal(str(demanded.amount))
                falls = appeal_rules.annulled_amount(state, amount, kept_amount)  # type: ignore[arg-type]
                stands = amount - falls
                values["kept"] = stands
                facts |= {"payable": row["payable_id"], "annulled": str(falls), "currency": demanded.currency}
                if falls > 0:
                    overpaid = kept.cancel(conn, row["payable_id"], stands, now)
                    if overpaid > 0:
                        refund = Owed("refund", demanded.payer_role, demanded.payer, -overpaid, demanded.currency,
                                      demanded.collection_model, now.date(),
                                      f"appeal {appeal_id}: annulled")  # fmt: skip
                        made = kept.add_owed(conn, row["consignment_id"], [refund], now, f"appeal:{appeal_id}", ids)
                        kind, owed = kept.owed_event(made[0])
                        recorded.add(row["consignment_id"], kind, officer.name, now, owed)
        kept.update_appeal(conn, appeal_id, values)
        audit = Audit(officer.name, officer.role, {"state": row["state"]}, {"state": state, "note": note})
        recorded.add(row["consignment_id"], f"appeal_{state}", officer.name, now, facts, audit=audit)
        recorded.write(conn)
    return appeal(app, officer, appeal_id)


# --- customs to tax ---


def tax_export(app: App, month: str) -> dict[str, pl.DataFrame]:
    """The month's tables for the tax agency (`accounts.tax`): per IOSS number and member state, per seller,
    per platform."""
    start, end = _month(month)
    with app.store.engine.connect() as conn:
        rows = kept.imports_of(conn, start, end)
    return tables(pl.DataFrame(rows, schema=IMPORTS, orient="row") if rows else pl.DataFrame(schema=IMPORTS))


def refer_to_tax(app: App, findings: list[Any], now: dt.datetime) -> int:
    """Reconciliation findings (a return that differs from what customs saw) become intelligence referrals
    the tax agency reads through its own role."""
    lines = [msgspec.to_builtins(f) for f in findings if f.status != "ok"]
    with app.store.writing() as conn:
        return kept.refer_to_tax(conn, lines, now, IdSequence())


def tax_referrals(app: App, reader: Principal, period: str | None = None) -> list[dict[str, Any]]:
    """The tax agency's referrals: read by a client of role `agency` for the agency `tax`, or an officer."""
    if not (reader.role == "agency" and reader.agency == "tax"):
        _officer(reader)
    with app.store.engine.connect() as conn:
        return kept.tax_referrals(conn, period)


# --- post-clearance audit ---

AUDIT_SCOPES = ("ioss", "seller", "platform", "consignee")


def audit_queue(app: App, officer: Principal, sample: int = 50, limit: int = 500) -> list[dict[str, Any]]:
    """Blue-lane parcels and a risk-ranked sample of the others released, not audited yet."""
    _officer(officer)
    with app.store.engine.connect() as conn:
        return kept.audit_queue(conn, sample=sample, limit=limit)


def open_audit_case(app: App, officer: Principal, scope: str, subject: str, now: dt.datetime,
                    days: int = 365) -> dict[str, Any]:  # fmt: skip
    """An audit case over an IOSS number, a seller (its name), a platform, or the consignee of a consignment
    (its id): it gathers their parcels released in the last `days`; audited."""
    _officer(officer)
    if scope not in AUDIT_SCOPES:
        raise InvalidInput(f"an audit case is opened per {', '.join(AUDIT_SCOPES)}, not {scope!r}")
    subject = subject.strip()
    if not subject or len(subject) > 128 or not storable(subject):
        raise InvalidInput("the case's subject is 1 to 128 characters")
    ids = IdSequence()
    with app.store.writing() as conn:
        parcels = kept.gather(conn, scope, subject, now - dt.timedelta(days=days))
        case_id = ids()
        kept.add_audit_case(
            conn,
            {
                "id": case_id,
                "scope": scope,
                "subject": subject,
                "opened_by": officer.name,
                "opened_at": now,
                "state": "open",
                "consignments": _encode(parcels).decode(),
            },
        )
        record_audit(conn, now, officer.name, officer.role, "audit_case_opened", {},
                     {"case": case_id, "scope": scope, "subject": subject, "parcels": len(parcels)})  # fmt: skip
    return audit_case(app, officer, case_id)


def audit_case(app: App, officer: Principal, case_id: str) -> dict[str, Any]:
    _officer(officer)
    with app.store.engine.connect() as conn:
        row = kept.audit_case_of(conn, case_id)
    if row is None:
        raise NotFound(f"no audit case {case_id}")
    found = kept.plain(row)
    return found | {"consignments": msgspec.json.decode(row["consignments"])}


def audit_finding(app: App, officer: Principal, consignment_id: str, outcome: str, findings: list[Any],
                  now: dt.datetime, case_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """What a post-clearance audit found on a released parcel: kept as an inspection (method `audit`, a
    label for the targeting model), and a corrected value, HS code or origin is reassessed into a demand or
    a refund, as after an inspection."""
    _officer(officer)
    if outcome not in ("compliant", "infringement"):
        raise InvalidInput("an audit's outcome is compliant or infringement")
    if outcome == "infringement" and not findings:
        raise InvalidInput("an infringement needs at least one finding")
    ids = IdSequence()
    recorded = EventBatch(ids)
    with app.store.writing() as conn:
        row = kept.status_of(conn, consignment_id)
        if row is None:
            raise NotFound(f"no consignment {consignment_id}", reference=consignment_id)
        if row[0] != "released" or row[1]:
            raise InvalidInput("a post-clearance audit is of a released parcel (a dossier's lead filing)")
        check_findings(app, consignment_id, findings)  # refused whole before anything is kept
        audit_id = ids()
        facts = {"method": "audit", "outcome": outcome, "findings": sorted({f.kind for f in findings}),
                 "case": case_id, "status": "released"}  # fmt: skip
        event_id = recorded.add(consignment_id, "audited", officer.name, now, facts,
                                audit=Audit(officer.name, officer.role, {"status": "released"},
                                            {"status": "released", "facts": facts}))  # fmt: skip
        kept.add_inspection(conn, {
            "id": audit_id, "consignment_id": consignment_id, "officer": officer.name, "at": now, "method": "audit",
            "scan_reference": None, "outcome": outcome, "findings": _encode(findings).decode(), "event_id": event_id,
        })  # fmt: skip
        made = correct(app, officer, consignment_id, findings, f"audit:{audit_id}", now, conn, recorded)
        recorded.write(conn)
    return {"consignment_id": consignment_id, "audit": audit_id, "outcome": outcome,
            "payables": [{k: m[k] for k in ("id", "kind", "amount", "currency", "due_on")} for m in made]}  # fmt: skip
