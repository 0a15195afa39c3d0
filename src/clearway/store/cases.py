"""Cases as officers, agencies and submitters work them: a consignment's row, its decisions, referrals,
inspections and audit entries read back; the officers' worklist; and the writes of one clearance action
(the consignment locked and changed, a referral closed, an inspection kept) in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.store import offences
from clearway.store import tables as t
from clearway.store.bulk import as_utc
from clearway.store.manifests import manifests_of

_c, _d, _r, _i = t.consignments.c, t.decisions.c, t.referrals.c, t.inspections.c
_decode = msgspec.json.decode
_encode = msgspec.json.Encoder(order="deterministic").encode


def _utc(row: Any) -> dict[str, Any]:
    return {str(k): (as_utc(v) if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def consignment_row(engine: sa.Engine, consignment_id: str) -> dict[str, Any] | None:
    """The consignment's row (times in UTC), None when there is none."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.consignments).where(_c.id == consignment_id)).mappings().first()
    return None if row is None else _utc(row)


def has_event(conn: sa.Connection, consignment_id: str, kind: str) -> bool:
    """Whether the consignment's event log holds an event of `kind`."""
    e = t.events.c
    return (
        conn.execute(sa.select(e.id).where(e.consignment_id == consignment_id, e.type == kind).limit(1)).first()
        is not None
    )


def referred_to(engine: sa.Engine, consignment_id: str, agency: str | None) -> bool:
    """Whether the consignment was referred to this agency."""
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(_r.id).where(_r.consignment_id == consignment_id, _r.kind == "oga", _r.agency == agency)
        ).first()
    return found is not None


def referral_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "consignment_id": row["consignment_id"], "kind": row["kind"], "agency": row["agency"],
        "state": row["state"], "opened_at": as_utc(row["opened_at"]),
        "answered_at": as_utc(row["answered_at"]) if row["answered_at"] else None,
        "answer": _decode(row["answer"]) if row["answer"] else None, "closed_by": row["closed_by"],
    }  # fmt: skip


def referrals_of(engine: sa.Engine, consignment_id: str) -> list[dict[str, Any]]:
    query = sa.select(t.referrals).where(_r.consignment_id == consignment_id).order_by(_r.opened_at, _r.id)
    with engine.connect() as conn:
        return [referral_view(row) for row in conn.execute(query).mappings()]


def referral(engine: sa.Engine, referral_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.referrals).where(_r.id == referral_id)).mappings().first()
    return None if row is None else dict(row)


def open_referral(engine: sa.Engine, consignment_id: str, kind: str) -> str | None:
    """The consignment's open referral of this kind, if any."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(_r.id).where(_r.consignment_id == consignment_id, _r.kind == kind, _r.state == "open")
        ).first()
    return None if row is None else str(row.id)


def open_referrals(engine: sa.Engine) -> list[tuple[str, str, str, dt.datetime]]:
    """Every open referral: id, consignment, kind and when it was opened."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_r.id, _r.consignment_id, _r.kind, _r.opened_at).where(_r.state == "open"))
        return [(str(rid), str(cid), str(kind), as_utc(at)) for rid, cid, kind, at in rows]


def agency_referrals(engine: sa.Engine, agency: str | None, state: str | None) -> list[dict[str, Any]]:
    """An agency's referrals, oldest first, with their consignment's status, channel and destination."""
    query = (
        sa.select(t.referrals, _c.status, _c.channel, _c.destination_country)
        .join(t.consignments, _c.id == _r.consignment_id)
        .where(_r.kind == "oga", _r.agency == agency)
        .order_by(_r.opened_at, _r.id)
    )
    if state:
        query = query.where(_r.state == state)
    with engine.connect() as conn:
        return [referral_view(row) | {"status": row["status"], "channel": row["channel"],
                                      "destination_country": row["destination_country"]}
                for row in conn.execute(query).mappings()]  # fmt: skip


def latest_decision(engine: sa.Engine, consignment_id: str) -> dict[str, Any] | None:
    """The consignment's last decision, decoded (None before the first)."""
    query = sa.select(t.decisions).where(_d.consignment_id == consignment_id).order_by(_d.decided_at.desc())
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return {
        "lane": row["lane"], "score": row["score"], "referrals": _decode(row["referrals"]),
        "reasons": _decode(row["reasons"]), "decided_at": as_utc(row["decided_at"]), "version": row["version"],
        "assessment": _decode(row["assessment"]) if row["assessment"] else None,
    }  # fmt: skip


def inspections_of(engine: sa.Engine, consignment_id: str) -> list[dict[str, Any]]:
    query = sa.select(t.inspections).where(_i.consignment_id == consignment_id).order_by(_i.at)
    with engine.connect() as conn:
        return [
            {"id": r.id, "officer": r.officer, "at": as_utc(r.at), "method": r.method,
             "scan_reference": r.scan_reference, "outcome": r.outcome, "findings": _decode(r.findings)}
            for r in conn.execute(query)
        ]  # fmt: skip


def worklist(
    engine: sa.Engine, statuses: list[str], lane: str | None, channel: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Consignments in these statuses (a dossier by its lead), highest score and oldest first: each with its
    last decision's score and referrals (decoded) and the manifests it travels in."""
    latest = sa.select(_d.consignment_id, sa.func.max(_d.decided_at).label("at")).group_by(_d.consignment_id).subquery()
    query = (
        sa.select(_c.id, _c.reference, _c.submitter, _c.status, _c.lane, _c.channel, _c.dispatch_country,
                  _c.destination_country, _c.received_at, _c.updated_at, _d.score, _d.referrals,
                  _c.transport_document_id)
        .join(latest, latest.c.consignment_id == _c.id, isouter=True)
        .join(t.decisions, (_d.consignment_id == _c.id) & (_d.decided_at == latest.c.at), isouter=True)
        .where(_c.status.in_(statuses), _c.dossier_id.is_(None))
    )  # fmt: skip
    if lane:
        query = query.where(_c.lane == lane)
    if channel:
        query = query.where(_c.channel == channel)
    query = query.order_by(_d.score.desc().nulls_last(), _c.received_at, _c.id).limit(limit).offset(offset)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        journeys = manifests_of(conn, sorted({r["transport_document_id"] for r in rows}))
    seen, out = set(), []
    for row in rows:
        if row["id"] in seen:  # two decisions in the same instant: one line
            continue
        seen.add(row["id"])
        item = _utc(row)
        item["referrals"] = _decode(item["referrals"]) if item["referrals"] else []
        item["manifests"] = journeys.get(item["transport_document_id"], [])
        out.append(item)
    return out


def carried_by(engine: sa.Engine, consignment_id: str, tenant: str) -> bool:
    """Whether the tenant filed the consignment, or filed its transport document itself."""
    mine = sa.select(_c.transport_document_id).where(_c.submitter == tenant)
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(_c.id).where(
                _c.id == consignment_id, (_c.submitter == tenant) | _c.transport_document_id.in_(mine)
            )
        ).first()
    return found is not None


def audit_entries(engine: sa.Engine, consignment_id: str | None, limit: int) -> list[dict[str, Any]]:
    """The audit log, newest first (of one consignment, when given)."""
    a = t.audit_log.c
    query = sa.select(t.audit_log).order_by(a.seq.desc()).limit(limit)
    if consignment_id:
        query = query.where(a.consignment_id == consignment_id)
    with engine.connect() as conn:
        return [
            {"seq": r.seq, "actor": r.actor, "role": r.role, "action": r.action, "consignment_id": r.consignment_id,
             "at": as_utc(r.at), "before": _decode(r.before), "after": _decode(r.after)}
            for r in conn.execute(query)
        ]  # fmt: skip


# --- in the caller's transaction ---


def lock_for_change(conn: sa.Connection, consignment_id: str) -> dict[str, Any] | None:
    """The consignment's status, lane, release time and dossier, its row locked until the transaction ends
    (PostgreSQL; SQLite writes one at a time); None when there is none."""
    query = sa.select(_c.status, _c.lane, _c.released_at, _c.dossier_id).where(_c.id == consignment_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def change_consignment(conn: sa.Connection, consignment_id: str, updates: dict[str, Any], at: dt.datetime) -> None:
    conn.execute(t.consignments.update().where(_c.id == consignment_id).values(**updates, updated_at=at))
    if updates.get("status") == "seized":
        offences.mark(conn, [consignment_id])


def close_referral(
    conn: sa.Connection, referral_id: str, state: str, at: dt.datetime, answer: dict[str, Any], by: str
) -> bool:
    """Close an open referral with its answer; False when it is not open (any more)."""
    updated = conn.execute(
        t.referrals.update()
        .where(_r.id == referral_id, _r.state == "open")
        .values(state=state, answered_at=at, answer=_encode(answer).decode(), closed_by=by)
    )
    return bool(updated.rowcount == 1)
