"""What the store keeps of manifests: each master with its houses, their arrival, and the parcels an arrival
finds. All the SQL of manifests is here; what an arrival does to a parcel is the lifecycle's
(`clearance.lifecycle.after_arrival`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.clearance.lifecycle import ARRIVABLE, after_arrival
from clearway.errors import NotFound
from clearway.model.manifest import Manifest
from clearway.store import dossiers
from clearway.store import tables as t
from clearway.store.bulk import chunked, insert_rows
from clearway.store.events import Audit, EventBatch
from clearway.store.repository import IdSequence, as_utc, new_id

_encode = msgspec.json.Encoder(order="deterministic").encode


def _plain(row: Any) -> dict[str, Any]:
    """A result row as a dict with plain `str` keys (SQLAlchemy's are a subclass msgspec refuses)."""
    return {str(k): v for k, v in row.items()}


def save_manifest(conn: sa.Connection, submitter: str, manifest: Manifest, at: dt.datetime) -> tuple[str, int, str]:
    """File a manifest, or amend the one the filer filed under its reference: houses added are expected,
    houses dropped that had not arrived are forgotten, arrived ones stay. (id, version, outcome) with outcome
    `registered`, `amended` or `unchanged`."""
    m = t.manifests.c
    body = _encode(manifest).decode()
    mine = sa.and_(m.submitter == submitter, m.reference == manifest.reference)
    found = conn.execute(sa.select(m.id, m.version, m.body).where(mine)).first()
    values = {"master_type": manifest.master.type, "master_id": manifest.master.id, "body": body, "updated_at": at,
              "expected_at": manifest.movement.expected_at if manifest.movement else None}  # fmt: skip
    if found is None:
        manifest_id = new_id()
        conn.execute(t.manifests.insert().values(id=manifest_id, submitter=submitter, reference=manifest.reference,
                                                 version=1, received_at=at, state="filed", **values))  # fmt: skip
        _add_houses(conn, manifest_id, manifest, set())
        return manifest_id, 1, "registered"
    if found.body == body:
        return found.id, found.version, "unchanged"
    h = t.manifest_houses.c
    held = {r.transport_document_id: r.state for r in conn.execute(
        sa.select(h.transport_document_id, h.state).where(h.manifest_id == found.id))}  # fmt: skip
    listed = {house.transport_document.id for house in manifest.houses}
    gone = [d for d, state in held.items() if d not in listed and state == "expected"]
    for chunk in chunked(gone):
        conn.execute(t.manifest_houses.delete().where(h.manifest_id == found.id, h.transport_document_id.in_(chunk)))
    _add_houses(conn, found.id, manifest, set(held))
    conn.execute(t.manifests.update().where(m.id == found.id).values(version=found.version + 1, **values))
    _settle_state(conn, found.id)
    return found.id, found.version + 1, "amended"


def _add_houses(conn: sa.Connection, manifest_id: str, manifest: Manifest, known: set[str]) -> None:
    insert_rows(conn, t.manifest_houses, [
        {"manifest_id": manifest_id, "transport_document_id": h.transport_document.id,
         "document_type": h.transport_document.type, "receptacle": h.receptacle, "state": "expected",
         "arrived_at": None}
        for h in manifest.houses if h.transport_document.id not in known
    ])  # fmt: skip


def _settle_state(conn: sa.Connection, manifest_id: str) -> str:
    h = t.manifest_houses.c
    state = _state_of(conn.execute(sa.select(h.state).where(h.manifest_id == manifest_id)).scalars())
    conn.execute(t.manifests.update().where(t.manifests.c.id == manifest_id).values(state=state))
    return state


def _state_of(house_states: Iterable[str]) -> str:
    """A manifest's state from its houses': filed while none arrived, arrived when none still waits."""
    states = list(house_states)
    waiting = sum(1 for s in states if s == "expected")
    if waiting == len(states):
        return "filed"
    return "partly_arrived" if waiting else "arrived"


def filer(conn: sa.Connection, manifest_id: str) -> str:
    """Who filed the manifest (its submitter); not found when there is none of that id."""
    found = conn.execute(sa.select(t.manifests.c.submitter).where(t.manifests.c.id == manifest_id)).scalar()
    if found is None:
        raise NotFound(f"no manifest {manifest_id}", reference=manifest_id)
    return str(found)


def manifest(conn: sa.Connection, manifest_id: str) -> dict[str, Any]:
    """A manifest's row and its houses, each with the consignments filed for its transport document."""
    m, h, c = t.manifests.c, t.manifest_houses.c, t.consignments.c
    row = conn.execute(sa.select(t.manifests).where(m.id == manifest_id)).mappings().first()
    if row is None:
        raise NotFound(f"no manifest {manifest_id}", reference=manifest_id)
    houses = [_plain(r) for r in conn.execute(sa.select(t.manifest_houses).where(h.manifest_id == manifest_id)
                                            .order_by(h.transport_document_id)).mappings()]  # fmt: skip
    filed: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunked([x["transport_document_id"] for x in houses]):
        for r in conn.execute(sa.select(c.id, c.submitter, c.status, c.lane, c.transport_document_id)
                              .where(c.transport_document_id.in_(chunk))).mappings():  # fmt: skip
            filed.setdefault(r["transport_document_id"], []).append(_plain(r))
    times = ("received_at", "updated_at", "expected_at", "arrived_at")
    meta = {str(k): (as_utc(v) if k in times and v is not None else v) for k, v in row.items() if k != "body"}
    for house in houses:
        house["arrived_at"] = as_utc(house["arrived_at"]) if house["arrived_at"] else None
        house["consignments"] = filed.get(house["transport_document_id"], [])
    return meta | {"manifest": msgspec.json.decode(row["body"], type=Manifest), "houses": houses}


def manifests(conn: sa.Connection, submitter: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Manifests, newest first (a filer's own when `submitter` is given), with their houses counted by state."""
    m, h = t.manifests.c, t.manifest_houses.c
    columns = (m.id, m.submitter, m.reference, m.version, m.master_type, m.master_id, m.received_at, m.expected_at,
               m.arrived_at, m.state)  # fmt: skip
    query = sa.select(*columns).order_by(m.received_at.desc(), m.id).limit(limit)
    if submitter is not None:
        query = query.where(m.submitter == submitter)
    rows = [_plain(r) for r in conn.execute(query).mappings()]
    counts: dict[str, dict[str, int]] = {}
    for chunk in chunked([r["id"] for r in rows]):
        per_state = sa.select(h.manifest_id, h.state, sa.func.count()).where(h.manifest_id.in_(chunk))
        for manifest_id, state, n in conn.execute(per_state.group_by(h.manifest_id, h.state)):
            counts.setdefault(manifest_id, {})[state] = n
    for r in rows:
        for k in ("received_at", "expected_at", "arrived_at"):
            r[k] = as_utc(r[k]) if r[k] is not None else None
        r["houses"] = counts.get(r["id"], {})
    return rows


@dataclass
class Arrival:
    """What an arrival did: parcels released, parcels that stay (held, inspected, not yet assessed), parcels
    released before they arrived, houses that arrived without data, and houses not arrived now (not asked
    for, or arrived before)."""

    released: list[str] = field(default_factory=list)
    stayed: list[dict[str, Any]] = field(default_factory=list)
    without_data: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    released_before: int = 0  # parcels of the houses customs had released before they arrived (at assessment)
    state: str = "filed"
    events: list[tuple[str, str]] = field(default_factory=list)  # (consignment, status) for listeners


_h, _c = t.manifest_houses.c, t.consignments.c
_HOUSES = sa.select(_h.transport_document_id, _h.state).where(_h.manifest_id == sa.bindparam("manifest"))
_LOCK = sa.select(t.manifests.c.id).where(t.manifests.c.id == sa.bindparam("manifest")).with_for_update()
_OTHER_TRANSPORT = sa.select(t.clients.c.name).where(
    t.clients.c.role.in_(["carrier", "postal"]), t.clients.c.name != sa.bindparam("carrier")
)
_FILED = sa.select(_c.id, _c.status, _c.lane, _c.transport_document_id, _c.dossier_id).where(
    _c.transport_document_id.in_(sa.bindparam("documents", expanding=True))
)
_FILED_BY = {  # (a carrier's own report, PostgreSQL) -> the query of the parcels filed for the documents
    (False, False): _FILED,
    (False, True): _FILED.with_for_update(),
    (True, False): _FILED.where(_c.submitter.not_in(_OTHER_TRANSPORT)),
    (True, True): _FILED.where(_c.submitter.not_in(_OTHER_TRANSPORT)).with_for_update(),
}
_OPEN = (
    sa.select(t.referrals.c.consignment_id)
    .distinct()
    .where(t.referrals.c.consignment_id.in_(sa.bindparam("ids", expanding=True)), t.referrals.c.state == "open")
)
_IDS = _c.id.in_(sa.bindparam("ids", expanding=True))
_RELEASE = (
    t.consignments.update()
    .where(_IDS)
    .values(status="released", released_at=sa.bindparam("arrival"), updated_at=sa.bindparam("arrival"))
)
_TOUCH = t.consignments.update().where(_IDS).values(updated_at=sa.bindparam("arrival"))
_HOUSES_ARRIVED = (
    t.manifest_houses.update()
    .where(
        _h.manifest_id == sa.bindparam("manifest"),
        _h.transport_document_id.in_(sa.bindparam("documents", expanding=True)),
    )
    .values(state=sa.bindparam("house_state"), arrived_at=sa.bindparam("arrival"))
)
_MANIFEST_ARRIVED = (
    t.manifests.update()
    .where(t.manifests.c.id == sa.bindparam("manifest"))
    .values(
        arrived_at=sa.bindparam("arrival"), updated_at=sa.bindparam("arrival"), state=sa.bindparam("manifest_state")
    )
)
"""The statements of an arrival, built once: an arrival is a request per manifest, and building and keying
a dozen statements each time took a third of it."""


def arrive(
    conn: sa.Connection, manifest_id: str, documents: Sequence[str] | None, at: dt.datetime, *, actor: str,
    audit_role: str | None, office: str | None, carrier: str | None = None,
) -> Arrival:  # fmt: skip
    """Arrive a manifest's houses (all still waiting, or those `documents` name: a partial arrival), in the
    caller's transaction: every parcel filed for each house's transport document gets its `arrived` event
    (and audit row when `audit_role`, an officer's), and is released when it was only waiting for it. With
    `carrier` (a carrier's own report), parcels another carrier or post filed are left to it: a carrier
    speaks for what it carries, never for another's. On PostgreSQL the manifest's row is locked first, so
    that two arrivals of one manifest take turns and the second sees the houses the first arrived."""
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(_LOCK, {"manifest": manifest_id})
    houses = {document: state for document, state in conn.execute(_HOUSES, {"manifest": manifest_id})}
    wanted = list(houses) if documents is None else list(dict.fromkeys(documents))
    done = Arrival()
    unknown = [d for d in wanted if d not in houses]
    if unknown:
        raise NotFound(f"not on this manifest: {', '.join(unknown[:10])}" + (" ..." if len(unknown) > 10 else ""))
    due = [d for d in wanted if houses[d] in ("expected", "arrived_without_data")]
    done.skipped = [d for d in wanted if d not in due]
    found: dict[str, list[dict[str, Any]]] = {}
    filed: set[str] = set()  # documents some filing names, whatever its status (released before arrival, too)
    query = _FILED_BY[carrier is not None, postgres]
    for chunk in chunked(due):
        for row in conn.execute(query, {"documents": chunk, "carrier": carrier or ""}).mappings():
            filed.add(row["transport_document_id"])
            if row["status"] in ARRIVABLE and not row["dossier_id"]:  # a dossier arrives by its lead
                found.setdefault(row["transport_document_id"], []).append(_plain(row))
            elif row["status"] == "released":
                done.released_before += 1
    ids = [x["id"] for rows in found.values() for x in rows]
    waiting = set()
    for chunk in chunked(ids):
        waiting |= {cid for (cid,) in conn.execute(_OPEN, {"ids": chunk})}
    sequence = IdSequence()
    recorded = EventBatch(sequence)
    facts_base = {"office": office} if office else {}
    for document in due:
        for parcel in found.get(document, []):
            status = after_arrival(parcel["status"], parcel["id"] in waiting)
            facts = facts_base | {"status": status}
            before, after = {"status": parcel["status"], "lane": parcel["lane"]}, {"status": status, "facts": facts}
            audit = Audit(actor, audit_role, before, after | {"lane": parcel["lane"]}) if audit_role else None
            recorded.add(parcel["id"], "arrived", actor, at, facts, audit=audit)
            done.events.append((parcel["id"], status))
            if status == "released":
                done.released.append(parcel["id"])
            else:
                done.stayed.append({"consignment_id": parcel["id"], "status": status, "lane": parcel["lane"],
                                    "transport_document_id": document})  # fmt: skip
    for chunk in chunked(done.released):
        conn.execute(_RELEASE, {"ids": chunk, "arrival": at})
    for chunk in chunked([x["consignment_id"] for x in done.stayed]):
        conn.execute(_TOUCH, {"ids": chunk, "arrival": at})
    done.events += dossiers.follow(conn, ids, at, recorded, actor)
    recorded.write(conn)
    done.without_data = [d for d in due if d not in filed]
    for state, documents_ in (("arrived", [d for d in due if d in filed]), ("arrived_without_data", done.without_data)):
        for chunk in chunked(documents_):
            conn.execute(_HOUSES_ARRIVED, {"manifest": manifest_id, "documents": chunk, "house_state": state,
                                           "arrival": at})  # fmt: skip
            houses.update(dict.fromkeys(chunk, state))
    done.state = _state_of(houses.values())
    conn.execute(_MANIFEST_ARRIVED, {"manifest": manifest_id, "arrival": at, "manifest_state": done.state})
    return done


def arrived_without_data(conn: sa.Connection, submitter: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Houses that arrived with no filing for their transport document (and still have none), oldest first."""
    h, m, c = t.manifest_houses.c, t.manifests.c, t.consignments.c
    query = (
        sa.select(h.manifest_id, h.transport_document_id, h.receptacle, h.arrived_at, m.submitter, m.master_type,
                  m.master_id)
        .join(t.manifests, m.id == h.manifest_id)
        .where(h.state == "arrived_without_data")
        .where(~sa.exists().where(c.transport_document_id == h.transport_document_id))
        .order_by(h.arrived_at, h.transport_document_id)
        .limit(limit)
    )  # fmt: skip
    if submitter is not None:
        query = query.where(m.submitter == submitter)
    return [_plain(r) | {"arrived_at": as_utc(r["arrived_at"])} for r in conn.execute(query).mappings()]


def not_arrived(conn: sa.Connection, before: dt.datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Filings whose declared arrival is before `before` and that no arrival was recorded for, still open."""
    c, e = t.consignments.c, t.events.c
    query = (
        sa.select(c.id, c.submitter, c.transport_document_id, c.expected_arrival, c.status, c.lane)
        .where(c.expected_arrival < before, c.status.in_(sorted(ARRIVABLE)))
        .where(~sa.exists().where(e.consignment_id == c.id, e.type == "arrived"))
        .order_by(c.expected_arrival, c.id)
        .limit(limit)
    )
    return [_plain(r) | {"expected_arrival": as_utc(r["expected_arrival"])} for r in conn.execute(query).mappings()]


def manifests_of(conn: sa.Connection, documents: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per transport document, the manifests that list it (the parcel's journey, for the officer)."""
    h, m = t.manifest_houses.c, t.manifests.c
    found: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunked(list(documents)):
        for row in conn.execute(sa.select(h.transport_document_id, h.state, m.id, m.master_type, m.master_id)
                                .join(t.manifests, m.id == h.manifest_id)
                                .where(h.transport_document_id.in_(chunk))).mappings():  # fmt: skip
            found.setdefault(row["transport_document_id"], []).append(
                {"manifest_id": row["id"], "master": f"{row['master_type']} {row['master_id']}",
                 "house_state": row["state"]})  # fmt: skip
    return found


def reconciliation_counts(conn: sa.Connection, before: dt.datetime) -> tuple[int, int]:
    """How many houses arrived without data (and still have none), and how many filings declared to arrive
    before `before` have not arrived: the reconciliation's two figures, for monitoring."""
    h, c, e = t.manifest_houses.c, t.consignments.c, t.events.c
    without = conn.execute(sa.select(sa.func.count()).where(
        h.state == "arrived_without_data", ~sa.exists().where(c.transport_document_id == h.transport_document_id)
    )).scalar_one()  # fmt: skip
    late = conn.execute(sa.select(sa.func.count()).where(
        c.expected_arrival < before, c.status.in_(sorted(ARRIVABLE)),
        ~sa.exists().where(e.consignment_id == c.id, e.type == "arrived"),
    )).scalar_one()  # fmt: skip
    return int(without), int(late)


_LOADING = (
    sa.select(_h.transport_document_id, t.manifests.c.master_id, t.manifests.c.body)
    .join(t.manifests, t.manifests.c.id == _h.manifest_id)
    .where(_h.transport_document_id.in_(sa.bindparam("documents", expanding=True)), t.manifests.c.master_type == "mawb")
)
"""Built once: every batch, a single filing too, asks it."""


def loading_of(conn: sa.Connection, documents: Sequence[str]) -> list[tuple[str, str, dt.datetime]]:
    """(transport document, air master, declared loading time) for the documents air manifests list."""
    found = []
    for chunk in chunked(list(documents)):
        for document, master, body in conn.execute(_LOADING, {"documents": chunk}):
            loaded = msgspec.json.decode(body, type=Manifest).movement
            if loaded is not None and loaded.loaded_at is not None:
                found.append((document, master, loaded.loaded_at.astimezone(dt.UTC)))
    return found


def waiting_counts(engine: sa.Engine, not_arrived_before: dt.datetime) -> dict[str, int]:
    """What monitoring reads from the database at each scrape: webhook deliveries waiting, consignments set
    aside because their assessment failed, and the reconciliation's two figures."""
    d, c = t.webhook_deliveries.c, t.consignments.c
    with engine.connect() as conn:
        deliveries = conn.execute(sa.select(sa.func.count()).where(d.delivered_at.is_(None))).scalar_one()
        set_aside = conn.execute(sa.select(sa.func.count()).where(c.status == "assessment_failed")).scalar_one()
        without, late = reconciliation_counts(conn, not_arrived_before)
    return {"webhook_deliveries": int(deliveries), "assessment_failed": int(set_aside),
            "arrived_without_data": without, "not_arrived": late}  # fmt: skip
