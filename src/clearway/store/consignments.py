"""Stored consignments read back as the pipeline reads them: the current version's body decoded, with its
submitter, when it was received and its parties' keyed hashes (`pipeline.BatchRow`). Assessment picks up
what is pending, a dry run re-decides recent days, and training reads what was inspected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.model.consignment import Consignment
from clearway.pipeline import BatchRow
from clearway.store import tables as t
from clearway.store.bulk import as_utc, chunked
from clearway.store.repository import Store

_c, _v = t.consignments.c, t.consignment_versions.c


def _current(*extra: Any) -> sa.Select[Any]:
    """Each consignment's current version: id, submitter, received_at, version, body, and `extra` columns."""
    return sa.select(_c.id, _c.submitter, _c.received_at, _c.version, _v.body, *extra).join(
        t.consignment_versions, (_v.consignment_id == _c.id) & (_v.version == _c.version)
    )


def _rows(store: Store, query: sa.Select[Any]) -> tuple[list[BatchRow], list[Any]]:
    """The query's consignments as batch rows, and the rows as read (for their extra columns)."""
    with store.engine.connect() as conn:
        found = conn.execute(query).all()
    keys = store.party_keys_of([r.id for r in found]) if found else {}
    decode = msgspec.json.Decoder(Consignment).decode
    rows = [BatchRow(r.id, r.submitter, as_utc(r.received_at), decode(r.body), keys.get(r.id)) for r in found]
    return rows, list(found)


def pending(
    store: Store, now: dt.datetime | None = None, *, registered: bool = True, only: Collection[str] | None = None
) -> tuple[list[BatchRow], dict[str, int]]:
    """Consignments registered but not assessed (not with `registered` False), and those set aside whose
    next attempt is due at `now`, with their versions; with `only`, those of them among these ids."""
    f = t.assessment_failures.c
    waiting = _c.status == "registered"
    if now is None:
        which = waiting
    else:
        due_now = sa.select(f.consignment_id).where(f.next_attempt_at <= now)
        due = (_c.status == "assessment_failed") & _c.id.in_(due_now)
        which = (waiting | due) if registered else due
    query = _current().where(which)
    if only is not None:
        query = query.where(_c.id.in_(list(only)))
    rows, found = _rows(store, query)
    return rows, {r.id: int(r.version) for r in found}


def recently_decided(store: Store, since: dt.datetime, limit: int) -> list[tuple[BatchRow, str, str]]:
    """The `limit` most recent consignments received since `since` that have a lane: each with its lane and
    reference."""
    query = _current(_c.lane, _c.reference).where(_c.received_at >= since, _c.lane.is_not(None))
    rows, found = _rows(store, query.order_by(_c.received_at.desc()).limit(limit))
    return [(row, str(r.lane), str(r.reference)) for row, r in zip(rows, found, strict=True)]


def inspected(store: Store, since: dt.datetime | None = None) -> list[tuple[BatchRow, int]]:
    """Every inspected consignment (received since `since`), labelled 1 when any inspection found an
    infringement, else 0."""
    i = t.inspections.c
    found_any = sa.func.max(sa.case((i.outcome == "infringement", 1), else_=0)).label("label")
    outcome = sa.select(i.consignment_id, found_any).group_by(i.consignment_id).subquery()
    query = _current(outcome.c.label).join(outcome, outcome.c.consignment_id == _c.id)
    if since is not None:
        query = query.where(_c.received_at >= since)
    rows, found = _rows(store, query)
    return [(row, int(r.label)) for row, r in zip(rows, found, strict=True)]


def statuses(store: Store, ids: Collection[str]) -> dict[str, str]:
    """Where each of these consignments stands."""
    if not ids:
        return {}
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(_c.id, _c.status).where(_c.id.in_(list(ids))))
        return {str(cid): str(status) for cid, status in found}


def filings_of_tracking(store: Store, tracking: str) -> list[dict[str, Any]]:
    """Every filing of a tracking number (as written, or in capitals): its status, channel, destination, when
    it was received and last changed, and whether a carrier or post filed it (`carries`)."""
    k = t.clients.c
    carrier = sa.select(k.name).where(k.role.in_(["carrier", "postal"]))
    query = sa.select(
        _c.status, _c.channel, _c.destination_country, _c.updated_at, _c.received_at,
        _c.submitter.in_(carrier).label("carries"),
    ).where(_c.transport_document_id.in_({tracking, tracking.upper()}))  # fmt: skip
    with store.engine.connect() as conn:
        return [
            dict(row) | {"received_at": as_utc(row["received_at"]), "updated_at": as_utc(row["updated_at"])}
            for row in conn.execute(query).mappings()
        ]


def held_for_inspection(store: Store) -> list[tuple[str, str, str, str]]:
    """Parcels held in the yellow or red lane (a dossier by its lead), one row each, by id: id, submitter,
    reference and the decision's reasons as stored (JSON)."""
    d = t.decisions.c
    query = (
        sa.select(_c.id, _c.submitter, _c.reference, d.reasons)
        .join(t.decisions, sa.and_(d.consignment_id == _c.id, d.version == _c.version))
        .where(_c.status == "held", _c.lane.in_(["yellow", "red"]), _c.dossier_id.is_(None))
        .order_by(_c.id)
    )
    with store.engine.connect() as conn:
        rows = {str(r.id): (str(r.id), str(r.submitter), str(r.reference), str(r.reasons)) for r in conn.execute(query)}
    return list(rows.values())


def found_infringing(store: Store, since: dt.datetime, until: dt.datetime) -> list[tuple[str, str]]:
    """(submitter, reference) of the parcels received in [since, until) an inspection found infringing."""
    i = t.inspections.c
    query = (
        sa.select(_c.submitter, _c.reference)
        .join(t.inspections, i.consignment_id == _c.id)
        .where(i.outcome == "infringement", _c.received_at >= since, _c.received_at < until)
        .distinct()
    )
    with store.engine.connect() as conn:
        return [(str(row.submitter), str(row.reference)) for row in conn.execute(query)]


def inspected_count(store: Store, since: dt.datetime | None = None, until: dt.datetime | None = None) -> int:
    """How many consignments (received in [since, until), when given) were inspected at least once."""
    i = t.inspections.c
    query = sa.select(sa.func.count(sa.distinct(i.consignment_id))).join(t.consignments, _c.id == i.consignment_id)
    if since is not None:
        query = query.where(_c.received_at >= since)
    if until is not None:
        query = query.where(_c.received_at < until)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def id_of_reference(store: Store, submitter: str, reference: str) -> str | None:
    """The id of a submitter's consignment of this reference (None when it filed none)."""
    with store.engine.connect() as conn:
        found = conn.execute(
            sa.select(_c.id).where(_c.submitter == submitter, _c.reference == reference)
        ).scalar_one_or_none()
    return None if found is None else str(found)


def decided_by_day(
    store: Store, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[dt.date, list[str]]:
    """The ids of consignments with a lane, received in [since, until), by day of receipt (UTC), in order."""
    query = sa.select(_c.id, _c.received_at).where(_c.lane.is_not(None))
    if since is not None:
        query = query.where(_c.received_at >= since)
    if until is not None:
        query = query.where(_c.received_at < until)
    days: dict[dt.date, list[str]] = {}
    with store.engine.connect() as conn:
        for cid, received_at in conn.execute(query.order_by(_c.received_at)):
            days.setdefault(as_utc(received_at).date(), []).append(str(cid))
    return days


def with_outcomes(store: Store, ids: Sequence[str]) -> list[tuple[BatchRow, str | None, str | None, bool, bool]]:
    """These consignments as batch rows, each with its lane, its last assessment as stored (JSON, None
    without one), whether it was inspected, and whether an inspection found an infringement."""
    d, i = t.decisions.c, t.inspections.c
    out = []
    for chunk in chunked(ids):
        rows, found = _rows(store, _current(_c.lane).where(_c.id.in_(chunk)))
        latest: dict[str, str | None] = {}
        checks: dict[str, bool] = {}
        with store.engine.connect() as conn:
            query = sa.select(d.consignment_id, d.assessment).where(d.consignment_id.in_(chunk))
            for cid, text in conn.execute(query.order_by(d.decided_at, d.id)):
                latest[cid] = text
            for cid, result in conn.execute(sa.select(i.consignment_id, i.outcome).where(i.consignment_id.in_(chunk))):
                checks[cid] = checks.get(cid, False) or result == "infringement"
        for row, r in zip(rows, found, strict=True):
            out.append((row, r.lane, latest.get(row.key), row.key in checks, checks.get(row.key, False)))
    return out
