"""Dossiers: one parcel, whoever files it. The first filing of a transport document is the dossier's lead;
a later filing of it by another filer (a carrier after the platform, a representative after both) joins
that dossier. The lead carries the dossier's one decision, one assessment and its referrals; a joining
filing keeps its own body and its own risk hits (reasons the officer reads on the lead's case file), and
its status, lane and release follow the lead's. A filer's own repeated tracking numbers stay its own
consignments. When the lead is withdrawn, the next filing takes over and is assessed afresh.

Each party still sees only its own filing: a joining filing's answer is its status, never the lead's data
or assessment (`consignments.dossier_id` names the lead for officers only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from clearway.clearance import lifecycle
from clearway.model.vocabulary import EVENT_KINDS, LANES
from clearway.store import offences
from clearway.store import tables as t
from clearway.store.bulk import chunked
from clearway.store.events import EventBatch

FOLLOWED = ("status", "lane", "released_at")
"""What a joining filing takes from its dossier's lead."""
_MOVED = {"assessed": "awaiting_arrival", "registered": "joined_dossier"}  # a status -> the event it moved by


@dataclass(frozen=True)
class Joined:
    """A filing that joined another's dossier: the lead filing, and who filed the joining one."""

    lead: str
    filer: str


def filings(conn: sa.Connection, consignment_ids: Sequence[str]) -> dict[str, Any]:
    """The rows `leads_of` and the payers of what is owed read: id, filer, transport document, receipt, dossier."""
    found: dict[str, Any] = {}
    for chunk in chunked(list(consignment_ids)):
        found |= {row.id: row for row in conn.execute(_FILINGS, {"ids": chunk})}
    return found


_c = t.consignments.c
_FILINGS = sa.select(_c.id, _c.submitter, _c.transport_document_id, _c.received_at, _c.dossier_id).where(
    _c.id.in_(sa.bindparam("ids", expanding=True))
)
LEADS = (
    sa.select(_c.id, _c.submitter, _c.transport_document_id, _c.received_at)
    .where(_c.transport_document_id.in_(sa.bindparam("documents", expanding=True)), _c.dossier_id.is_(None),
           _c.status != "invalidated")
    .order_by(_c.received_at, _c.id)
)  # fmt: skip
"""The filings that may lead a dossier for the transport documents given (`documents`), oldest first (searched
by the transport document's index: `ix_consignments_dossier` holds only filings that joined a dossier)."""
FILINGS_OF = sa.select(_c.id, _c.submitter, _c.transport_document_id, _c.status, _c.lane).where(
    _c.transport_document_id.in_(sa.bindparam("documents", expanding=True)),
    _c.submitter.in_(sa.bindparam("filers", expanding=True)),
)
"""The filers' (`filers`) own filings of the transport documents given (`documents`), whatever their status:
(id, submitter, transport document, status, lane), searched by the transport document's index (the document,
then the filer), so that the cost follows the documents and not how many parcels the filers ever filed. With
the status among the conditions, or without the filer in the index, SQLite's planner (which has no
statistics) read every filing of the filer, or every filing ever withdrawn, instead, for ten documents or
more: 5 ms a query at 24,000 filings of one platform, growing with its history; a bulk batch of 1,000 filings
paid about 120 ms for the held-parcel check on a store of 20,000, and 15 ms with this query.

These statements are built once: every batch, a single filing too, runs them, and building one cost about as
much as running it."""


def leads_of(conn: sa.Connection, filed_now: dict[str, Any]) -> dict[str, Joined]:
    """Which of `filed_now` (from `filings`) join another filer's dossier: a filing of a transport document
    that another filer filed earlier (and has not withdrawn) joins that filing's dossier. Reads only."""
    mine = list(filed_now.values())
    documents = sorted({row.transport_document_id for row in mine})
    filed: dict[str, list[Any]] = {}
    for chunk in chunked(documents):
        for row in conn.execute(LEADS, {"documents": chunk}):
            filed.setdefault(row.transport_document_id, []).append(row)
    leads: dict[str, Joined] = {}
    for row in mine:
        earlier = [
            f for f in filed.get(row.transport_document_id, [])
            if f.submitter != row.submitter and (f.received_at, f.id) < (row.received_at, row.id)
        ]  # fmt: skip
        if earlier:
            leads[row.id] = Joined(earlier[0].id, row.submitter)
    return leads


def keep(conn: sa.Connection, filed_now: dict[str, Any], leads: dict[str, Joined]) -> None:
    """Store each filing's dossier (`dossier_id`: its lead, or none) where it changed."""
    c = t.consignments.c
    changed = []
    for row in filed_now.values():
        lead = leads[row.id].lead if row.id in leads else None
        if lead != row.dossier_id:
            changed.append({"cid": row.id, "lead": lead})
    if changed:
        conn.execute(
            t.consignments.update().where(c.id == sa.bindparam("cid")).values(dossier_id=sa.bindparam("lead")), changed
        )


def lead_of(conn: sa.Connection, consignment_id: str) -> str:
    """The filing that stands for `consignment_id`'s dossier (itself, unless it joined another's)."""
    c = t.consignments.c
    lead = conn.execute(sa.select(c.dossier_id).where(c.id == consignment_id)).scalar()
    return str(lead) if lead else consignment_id


_JOINING = (
    sa.select(_c.id, _c.dossier_id, _c.submitter, _c.reference, _c.status, _c.lane, _c.received_at, _c.released_at)
    .where(_c.dossier_id.in_(sa.bindparam("leads", expanding=True)), _c.status != "invalidated")
    .order_by(_c.received_at, _c.id)
)
"""Built once: every arrival and every batch of decisions asks it, nearly always of leads nobody joined."""


def joining(conn: sa.Connection, leads: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The filings that joined each of `leads`' dossiers (withdrawn ones left out), oldest first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunked(list(leads)):
        for row in conn.execute(_JOINING, {"leads": chunk}).mappings():
            found.setdefault(str(row["dossier_id"]), []).append({str(k): v for k, v in row.items()})
    return found


def follow(
    conn: sa.Connection, leads: Sequence[str], at: dt.datetime, recorded: EventBatch, actor: str
) -> list[tuple[str, str]]:
    """Move the filings that joined `leads`' dossiers to where their lead is (status, lane, release); each
    move is an event on the joining filing, named for where it went. Returns (filing, status) for
    listeners."""
    c = t.consignments.c
    joined = joining(conn, list(leads))
    if not joined:  # most leads have no other filer: one query
        return []
    now: dict[str, Any] = {}
    for chunk in chunked(list(joined)):
        for row in conn.execute(sa.select(c.id, *(getattr(c, f) for f in FOLLOWED)).where(c.id.in_(chunk))):
            now[row.id] = row
    moved, updates = [], []
    for lead, filings in joined.items():
        target = now[lead]
        for filing in filings:
            if all(filing[f] == getattr(target, f) for f in FOLLOWED):
                continue
            updates.append({"cid": filing["id"], "status": target.status, "lane": target.lane,
                            "released": target.released_at, "at": at})  # fmt: skip
            kind = _MOVED.get(target.status, target.status if target.status in EVENT_KINDS else "joined_dossier")
            lane = {"lane": target.lane} if target.lane else {}
            recorded.add(filing["id"], kind, actor, at, {"status": target.status, **lane, "dossier": True})
            moved.append((filing["id"], str(target.status)))
    if updates:
        conn.execute(
            t.consignments.update()
            .where(c.id == sa.bindparam("cid"))
            .values(status=sa.bindparam("status"), lane=sa.bindparam("lane"), released_at=sa.bindparam("released"),
                    updated_at=sa.bindparam("at")),
            updates,
        )  # fmt: skip
        offences.mark(conn, [u["cid"] for u in updates if u["status"] == "seized"])
    return moved


def take_over(conn: sa.Connection, lead: str, at: dt.datetime, recorded: EventBatch, actor: str) -> str | None:
    """The lead of a dossier was withdrawn: its oldest joining filing becomes the lead, back to `registered`
    to be assessed on its own data, and the others join it. Returns the new lead, if any."""
    filings = joining(conn, [lead]).get(lead, [])
    if not filings:
        return None
    c = t.consignments.c
    heir = filings[0]["id"]
    conn.execute(t.consignments.update().where(c.id == heir).values(dossier_id=None, status="registered",
                                                                      lane=None, updated_at=at))  # fmt: skip
    rest = [f["id"] for f in filings[1:]]
    if rest:
        conn.execute(t.consignments.update().where(c.id.in_(rest)).values(dossier_id=heir, updated_at=at))
    recorded.add(heir, "dossier_lead", actor, at, {"status": "registered", "dossier": True})
    return str(heir)


def escalate(
    conn: sa.Connection,
    lead: str,
    lane: str,
    referrals: Sequence[tuple[str, str | None]],
    at: dt.datetime,
    recorded: EventBatch,
    actor: str,
) -> bool:
    """A transport operator's filing that joined `lead`'s dossier would stop the parcel: the dossier is held
    on the stricter lane, with that filing's referrals opened on the lead, while it is not yet released
    (assessed, held, waiting for a full declaration). One released already (at assessment, before it arrived)
    is not held again: it goes to post-release control (`after_release`). For one that ended, the filing's
    reasons stay for the officer to read. Returns whether the dossier was held."""
    c = t.consignments.c
    found = conn.execute(sa.select(c.status, c.lane).where(c.id == lead)).first()
    if found is not None and found.status == "released":
        after_release(conn, lead, found.lane, lane, referrals, at, recorded, actor)
        return False
    if found is None or found.status not in ("assessed", "held", "full_declaration_required"):
        return False
    rank = {name: i for i, name in enumerate(LANES)}
    stricter = max((found.lane or "green", lane), key=lambda x: rank.get(x, 0))
    new = _open_referrals(conn, lead, referrals, at, recorded)
    if stricter == found.lane and found.status == "held" and not new:
        return True
    conn.execute(t.consignments.update().where(c.id == lead).values(status="held", lane=stricter, updated_at=at))
    facts = {"lane": stricter, "referrals": [kind for kind, _ in new], "by": "transport_filing"}
    recorded.add(lead, "held", actor, at, {"status": "held"} | facts)
    return True


def after_release(
    conn: sa.Connection,
    lead: str,
    lead_lane: str | None,
    lane: str,
    referrals: Sequence[tuple[str, str | None]],
    at: dt.datetime,
    recorded: EventBatch,
    actor: str,
) -> None:
    """A transport operator's filing would stop a parcel whose dossier was released before it came: the goods
    are in free circulation and nothing holds them, but what the carrier's data shows is not dropped. A stop
    for customs puts the dossier on the blue lane (post-release control: the audit queue takes blue-lane
    parcels first, UCC art. 48), and the referrals for other bodies (another agency, do-not-load, screening,
    the carrier) are opened on it; a request for information, which asks the filer before release, is not."""
    c = t.consignments.c
    new = _open_referrals(conn, lead, [(k, a) for k, a in referrals if k != "rfi"], at, recorded)
    audit = lane in ("yellow", "red") and lead_lane != "blue"
    if not new and not audit:
        return
    if audit:
        conn.execute(t.consignments.update().where(c.id == lead).values(lane="blue", updated_at=at))
    facts = {"lane": "blue" if audit else lead_lane, "referrals": [kind for kind, _ in new], "by": "transport_filing"}
    recorded.add(lead, "rerouted", actor, at, {"status": "released"} | facts)


def _open_referrals(
    conn: sa.Connection, lead: str, referrals: Sequence[tuple[str, str | None]], at: dt.datetime, recorded: EventBatch
) -> list[tuple[str, str | None]]:
    """Opens on `lead` those of `referrals` (kind, agency) not open on it already; returns them."""
    r = t.referrals.c
    open_now = {(row.kind, row.agency) for row in conn.execute(
        sa.select(r.kind, r.agency).where(r.consignment_id == lead, r.state == "open"))}  # fmt: skip
    new = [(kind, agency) for kind, agency in dict.fromkeys(referrals) if (kind, agency) not in open_now]
    if new:
        conn.execute(t.referrals.insert(), [
            {"id": recorded.next_id(), "consignment_id": lead, "kind": kind, "agency": agency, "state": "open",
             "opened_at": at} for kind, agency in new])  # fmt: skip
    return new


def under_control(conn: sa.Connection, consignment_ids: Sequence[str]) -> set[str]:
    """Those of `consignment_ids` that are held under a control their filer may neither amend nor withdraw
    them from (`lifecycle.under_control`), judged on their dossier's lead: a filing that joined another's
    dossier is held by the lead's control."""
    c, r = t.consignments.c, t.referrals.c
    leads: dict[str, str] = {}
    for chunk in chunked(sorted(set(consignment_ids))):
        query = sa.select(c.id, sa.func.coalesce(c.dossier_id, c.id)).where(c.id.in_(chunk), c.status == "held")
        leads |= {str(cid): str(lead) for cid, lead in conn.execute(query)}
    if not leads:
        return set()
    held: dict[str, tuple[str, str | None]] = {}
    kinds: dict[str, list[str]] = {}
    for chunk in chunked(sorted(set(leads.values()))):
        held |= {str(i): (s, lane) for i, s, lane in conn.execute(sa.select(c.id, c.status, c.lane)
                                                                  .where(c.id.in_(chunk)))}  # fmt: skip
        for cid, kind in conn.execute(sa.select(r.consignment_id, r.kind).where(r.consignment_id.in_(chunk),
                                                                                 r.state == "open")):  # fmt: skip
            kinds.setdefault(str(cid), []).append(str(kind))
    return {cid for cid, lead in leads.items()
            if lead in held and lifecycle.under_control(held[lead][0], held[lead][1], kinds.get(lead, []))}  # fmt: skip


def documents_under_control(conn: sa.Connection, filer: str, documents: Sequence[str]) -> dict[str, str]:
    """Of `documents` (transport document ids), those that one of `filer`'s own consignments holds under a
    control (`under_control`), that were inspected and wait for the officer, or that customs seized, each
    with that consignment's id: the parcel may not be filed again, under another reference or by amending
    another filing, to be assessed afresh meanwhile."""
    found: dict[str, tuple[str, str]] = {}
    for chunk in chunked(sorted(set(documents))):
        found |= {str(cid): (str(document), str(status))
                  for cid, _, document, status, _ in conn.execute(FILINGS_OF, {"filers": [filer], "documents": chunk})
                  if status in ("held", "inspected", "seized")}  # fmt: skip
    held = [cid for cid, (_, status) in found.items() if status == "held"]
    controlled = under_control(conn, held) if held else set()
    return {document: cid for cid, (document, status) in sorted(found.items())
            if status in ("inspected", "seized") or cid in controlled}  # fmt: skip
