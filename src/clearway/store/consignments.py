"""Stored consignments read back as the pipeline reads them: the current version's body decoded, with its
submitter, when it was received and its parties' keyed hashes (`pipeline.BatchRow`). Assessment picks up
what is pending, a dry run re-decides recent days, and training reads what was inspected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.model.consignment import Consignment
from clearway.pipeline import BatchRow
from clearway.store import tables as t
from clearway.store.bulk import as_utc
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
