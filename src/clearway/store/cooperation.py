"""What the store keeps of cooperation with partner administrations: partners and their keys, risk alerts
issued and received, the feedback on them, and authorised-operator lists. All the SQL of it is here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import polars as pl
import sqlalchemy as sa

from clearway.cooperation.aeo import Operator
from clearway.cooperation.alerts import AlertFeedback, RiskAlert, alert_code
from clearway.errors import NotFound
from clearway.pipeline.history import EXPORTS
from clearway.store import tables as t
from clearway.store.bulk import chunked, insert_rows
from clearway.store.repository import as_utc

_encode = msgspec.json.Encoder(order="deterministic").encode


@dataclass(frozen=True)
class Partner:
    name: str
    verifier: str
    shared_key: str  # base64
    agreement: str
    url: str | None
    client_id: str | None
    client_secret: str | None
    feedback: bool
    registered_at: dt.datetime
    country: str | None = None  # the administration's country (EU for the Union): its operator lists' issuer


def save_partner(conn: sa.Connection, partner: Partner) -> bool:
    """Register a partner, or replace what is known of it (a new key after a rotation); True when new."""
    values = {f: getattr(partner, f) for f in Partner.__dataclass_fields__}
    existing = conn.execute(sa.select(t.partners.c.name).where(t.partners.c.name == partner.name)).first()
    if existing:
        conn.execute(t.partners.update().where(t.partners.c.name == partner.name).values(**values))
        return False
    conn.execute(t.partners.insert().values(**values))
    return True


def partner(conn: sa.Connection, name: str) -> Partner:
    row = conn.execute(sa.select(t.partners).where(t.partners.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"no partner {name!r}: register it with `clearway partners add`")
    return Partner(**{**row, "registered_at": as_utc(row["registered_at"])})


def partners(conn: sa.Connection) -> list[Partner]:
    rows = conn.execute(sa.select(t.partners).order_by(t.partners.c.name)).mappings()
    return [Partner(**{**r, "registered_at": as_utc(r["registered_at"])}) for r in rows]


def save_alerts(
    conn: sa.Connection, direction: str, partner_name: str, alerts: Sequence[RiskAlert], *, actor: str,
    at: dt.datetime, consignment_id: str | None = None,
) -> tuple[int, int]:  # fmt: skip
    """Keep alerts issued to, or received from, a partner: a new id is added, a known one replaced by the
    issuer's newer text (an extended expiry, a withdrawal by an expiry now). (added, updated)."""
    a = t.risk_alerts.c
    known = {
        r.alert_id: r.body
        for r in conn.execute(
            sa.select(a.alert_id, a.body).where(
                a.direction == direction, a.partner == partner_name, a.alert_id.in_([x.id for x in alerts])
            )  # fmt: skip
        )
    }
    added = updated = 0
    for alert in alerts:
        body = _encode(alert).decode()
        values = {"kind": alert.kind, "body": body, "issued_at": alert.issued_at, "expires_at": alert.expires_at}
        if alert.id not in known:
            conn.execute(t.risk_alerts.insert().values(
                direction=direction, partner=partner_name, alert_id=alert.id, recorded_at=at, actor=actor,
                consignment_id=consignment_id, **values))  # fmt: skip
            added += 1
        elif known[alert.id] != body:
            conn.execute(t.risk_alerts.update().where(a.direction == direction, a.partner == partner_name,
                                                      a.alert_id == alert.id).values(**values))  # fmt: skip
            updated += 1
    return added, updated


def alerts(conn: sa.Connection, direction: str, *, partner_name: str | None = None,
           active_at: dt.datetime | None = None,
           consignment_id: str | None = None) -> list[tuple[str, RiskAlert, dict[str, Any]]]:  # fmt: skip
    """(partner, alert, bookkeeping) of one direction; only those in force at `active_at` when given."""
    a = t.risk_alerts.c
    query = sa.select(t.risk_alerts).where(a.direction == direction).order_by(a.partner, a.issued_at, a.alert_id)
    if partner_name is not None:
        query = query.where(a.partner == partner_name)
    if active_at is not None:
        query = query.where(a.issued_at <= active_at, a.expires_at > active_at)
    if consignment_id is not None:
        query = query.where(a.consignment_id == consignment_id)
    return [
        (r["partner"], msgspec.json.decode(r["body"], type=RiskAlert),
         {k: r[k] for k in ("recorded_at", "actor", "consignment_id", "selected", "inspected", "found", "feedback_at")})
        for r in conn.execute(query).mappings()
    ]  # fmt: skip


def forget_alert_names(conn: sa.Connection, now: dt.datetime) -> int:
    """Drop the names in clear (and their legal basis) from alerts, issued or received, that have expired:
    the hashes stay for the record. The number of alerts changed."""
    a = t.risk_alerts.c
    changed = 0
    for direction, partner_name, alert_id, body in conn.execute(
        sa.select(a.direction, a.partner, a.alert_id, a.body).where(a.expires_at <= now, a.body.like('%"names":%'))
    ):
        alert = msgspec.json.decode(body, type=RiskAlert)
        if alert.names:
            bare = msgspec.structs.replace(alert, names=[], legal_basis=None)
            which = sa.and_(a.direction == direction, a.partner == partner_name, a.alert_id == alert_id)
            conn.execute(t.risk_alerts.update().where(which).values(body=_encode(bare).decode()))
            changed += 1
    return changed


def record_feedback(conn: sa.Connection, partner_name: str, feedback: Sequence[AlertFeedback], at: dt.datetime) -> int:
    """A partner's counts for the alerts this office issued to it; alerts it names that were never issued
    to it are ignored. The number of alerts updated."""
    a = t.risk_alerts.c
    updated = 0
    for item in feedback:
        result = conn.execute(
            t.risk_alerts.update()
            .where(a.direction == "out", a.partner == partner_name, a.alert_id == item.alert)
            .values(selected=item.selected, inspected=item.inspected, found=item.found, feedback_at=at)
        )
        updated += result.rowcount or 0
    return updated


def finding_kinds(conn: sa.Connection, consignment_id: str) -> list[str]:
    """What inspections of a consignment found, most recent first."""
    i = t.inspections.c
    kinds: list[str] = []
    for (findings,) in conn.execute(sa.select(i.findings).where(i.consignment_id == consignment_id)
                                    .order_by(i.at.desc())):  # fmt: skip
        kinds += [f["kind"] for f in msgspec.json.decode(findings) if f["kind"] not in kinds]
    return kinds


def alert_outcomes(conn: sa.Connection, partner_name: str) -> list[AlertFeedback]:
    """For each alert received from the partner, what it led to here: consignments whose current decision
    it selected, of those inspected, and found infringing, with the kinds found. Counts only."""
    d, c, i = t.decisions.c, t.consignments.c, t.inspections.c
    prefix = alert_code(partner_name, "")
    pattern = "%" + prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    selected: dict[str, set[str]] = {}
    query = (
        sa.select(d.consignment_id, d.reasons)
        .join(t.consignments, sa.and_(c.id == d.consignment_id, c.version == d.version))
        .where(d.reasons.like(pattern, escape="\\"))
    )
    for cid, reasons in conn.execute(query):
        for reason in msgspec.json.decode(reasons):
            code = str(reason.get("code", ""))
            if code.startswith(prefix):
                selected.setdefault(code.removeprefix(prefix), set()).add(cid)
    consignments = sorted({cid for ids in selected.values() for cid in ids})
    outcomes: dict[str, tuple[bool, set[str], dt.date | None]] = {}
    for chunk in (consignments[n : n + 500] for n in range(0, len(consignments), 500)):
        for cid, outcome, findings, at in conn.execute(
            sa.select(i.consignment_id, i.outcome, i.findings, i.at).where(i.consignment_id.in_(chunk))
        ):
            hit, kinds, last = outcomes.get(cid, (False, set(), None))
            if outcome == "infringement":
                hit, last = True, max(filter(None, (last, as_utc(at).date())))
                kinds |= {f["kind"] for f in msgspec.json.decode(findings)}
            outcomes[cid] = (hit, kinds, last)
    result = []
    for alert_id, ids in sorted(selected.items()):
        seen = [outcomes[cid] for cid in ids if cid in outcomes]
        found = [o for o in seen if o[0]]
        dates = [o[2] for o in found if o[2] is not None]
        result.append(AlertFeedback(
            alert=alert_id, selected=len(ids), inspected=len(seen), found=len(found),
            kinds=sorted({k for o in found for k in o[1]}), last_found=max(dates) if dates else None,
        ))  # type: ignore[arg-type]  # fmt: skip
    return result


def save_operators(conn: sa.Connection, rows: Sequence[Operator], at: dt.datetime) -> int:
    """Keep operator status rows; a row already held (same source, operator, status and date) is not added
    twice, so loading the same list again changes nothing. The number added."""
    o = t.aeo_operators.c
    held = {
        (r.source, r.operator, r.status, r.effective)
        for r in conn.execute(
            sa.select(o.source, o.operator, o.status, o.effective).where(o.source.in_(sorted({r.source for r in rows})))
        )  # fmt: skip
    }
    new = [r for r in rows if (r.source, r.operator, r.status, r.effective) not in held]
    unique = list({(r.source, r.operator, r.status, r.effective): r for r in new}.values())
    if unique:
        conn.execute(t.aeo_operators.insert(), [
            {"source": r.source, "operator": r.operator, "name": r.name, "address": r.address,
             "programme": r.programme, "issuing_country": r.issuing_country, "status": r.status,
             "effective": r.effective, "valid_to": r.valid_to, "loaded_at": at} for r in unique
        ])  # fmt: skip
    return len(unique)


def operators(conn: sa.Connection, source: str | None = None) -> list[Operator]:
    """Every status row held (of one source when given), oldest first."""
    o = t.aeo_operators.c
    query = sa.select(t.aeo_operators).order_by(o.operator, o.effective, o.seq)
    if source is not None:
        query = query.where(o.source == source)
    return [
        Operator(
            r["operator"],
            r["name"],
            r["programme"],
            r["issuing_country"],
            r["effective"],
            r["valid_to"],
            r["status"],
            r["address"],
            r["source"],
        )  # fmt: skip
        for r in conn.execute(query).mappings()
    ]


DEPARTED = ("assessed", "released")
"""Statuses of a consignment that left: decided and not held, seized, returned or refused."""


def departed(conn: sa.Connection, since: dt.datetime, until: dt.datetime, countries: Sequence[str]) -> list[str]:
    """The current Consignment v1 JSON of consignments dispatched from `countries`, received in the period,
    that left (`DEPARTED`), in order of receipt."""
    c, v = t.consignments.c, t.consignment_versions.c
    query = (
        sa.select(v.body)
        .join(t.consignment_versions, sa.and_(v.consignment_id == c.id, v.version == c.version))
        .where(c.dispatch_country.in_(list(countries)), c.status.in_(DEPARTED))
        .where(c.received_at >= since, c.received_at < until)
        .order_by(c.received_at, c.id)
    )
    return [body for (body,) in conn.execute(query)]


def keep_export_records(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Keep a partner's export records as received."""
    insert_rows(conn, t.export_records, rows)


_e = t.export_records.c
_EXPORTS = (
    sa.select(_e.transport_document_id, _e.exporting_country, _e.partner, _e.currency, _e.value, _e.goods,
              _e.received_at)
    .where(_e.transport_document_id.in_(sa.bindparam("documents", expanding=True)))
    .order_by(_e.received_at)
)  # fmt: skip
"""Built once: every batch, a single filing too, asks it."""


def exports_for(conn: sa.Connection, documents: Sequence[str]) -> pl.DataFrame:
    """The export records of these transport documents, the latest per document and partner."""
    if not documents:
        return pl.DataFrame(schema=EXPORTS)
    found: dict[tuple[str, str], dict[str, object]] = {}
    for chunk in chunked(documents):
        for row in conn.execute(_EXPORTS, {"documents": chunk}):
            goods = msgspec.json.decode(row.goods)
            found[(row.transport_document_id, row.partner)] = {
                "transport_document_id": row.transport_document_id, "exporting_country": row.exporting_country,
                "partner": row.partner, "currency": row.currency, "value": float(row.value),
                "hs_codes": [g["hs_code"] for g in goods if g.get("hs_code")],
                "descriptions": [g["description"] for g in goods if g.get("description")],
            }  # fmt: skip
    return pl.DataFrame(list(found.values()), schema=EXPORTS)
