"""The operational record against the ledger: every row that states a decision must say what its leaf says.

An insider who rewrites a lane in `decisions` and its event leaves the ledger's own leaves intact; only a
comparison of the two finds it. Each record is matched to its leaf by the event it names (`event_id`), or,
for rows written before they named one, by consignment, time and kind. Pure: the caller reads the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clearway.ledger.leaf import LedgerEvent

PRIVATE_FACTS = frozenset({"note", "submission"})
"""In the operational record only: free text (it may name people) and the id of the raw submission."""


@dataclass(frozen=True)
class Leaf:
    """A stored leaf's event with every fact it commits to (its own and, for v2, the sealed ones)."""

    index: int
    event_id: str
    event: LedgerEvent
    facts: dict[str, Any]


def _key(consignment: str, at: dt.datetime, kind: str) -> tuple[str, str, str]:
    return consignment, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), kind


def status_after(kind: str, facts: dict[str, Any]) -> str | None:
    """The status an event leaves its consignment in, or None when the event does not move it."""
    if "status" in facts:
        return str(facts["status"])
    if kind in ("released", "held", "seized", "returned_to_sender", "invalidated", "assessment_failed"):
        return kind
    if kind == "awaiting_arrival":
        return "assessed"
    if kind in ("registered", "amended"):
        return "registered"
    return None


@dataclass
class LedgerIndex:
    """The leaves by event id and by (consignment, time, kind), and where each consignment stands by them."""

    by_event: dict[str, Leaf] = field(default_factory=dict)
    by_key: dict[tuple[str, str, str], Leaf] = field(default_factory=dict)
    lane: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)

    def add(self, leaf: Leaf) -> None:
        self.by_event[leaf.event_id] = leaf
        self.by_key[_key(leaf.event.consignment, leaf.event.at, leaf.event.kind)] = leaf
        if leaf.event.kind in ("assessed", "rerouted") and "lane" in leaf.facts:
            self.lane[leaf.event.consignment] = str(leaf.facts["lane"])
        status = status_after(leaf.event.kind, leaf.facts)
        if status is not None:
            self.status[leaf.event.consignment] = status

    def find(self, event_id: str | None, consignment: str, at: dt.datetime, kind: str) -> Leaf | None:
        if event_id:
            return self.by_event.get(event_id)
        return self.by_key.get(_key(consignment, at, kind))


def _differs(what: str, stated: dict[str, Any], leaf: Leaf) -> list[str]:
    return [
        f"{what}: {name} is {value!r} in the record, {leaf.facts.get(name)!r} in ledger leaf {leaf.index}"
        for name, value in sorted(stated.items())
        if name not in PRIVATE_FACTS and leaf.facts.get(name) != value
    ]


def check_events(index: LedgerIndex, events: Iterable[dict[str, Any]]) -> list[str]:
    """Every event row has its leaf, of the same kind, consignment and time, with the facts it states."""
    problems = []
    for e in events:
        leaf = index.by_event.get(e["id"])
        what = f"event {e['id']} ({e['type']} of {e['consignment_id']})"
        if leaf is None:
            problems.append(f"{what} has no ledger leaf")
            continue
        if (leaf.event.kind, leaf.event.consignment) != (e["type"], e["consignment_id"]):
            problems.append(f"{what} is {leaf.event.kind} of {leaf.event.consignment} in ledger leaf {leaf.index}")
        if _key("", leaf.event.at, "") != _key("", e["at"], ""):
            problems.append(f"{what}: its time differs from ledger leaf {leaf.index}")
        problems += _differs(what, e["data"], leaf)
    return problems


def check_decisions(index: LedgerIndex, decisions: Iterable[dict[str, Any]]) -> list[str]:
    problems = []
    for d in decisions:
        what = f"decision {d['id']} of {d['consignment_id']}"
        leaf = index.find(d.get("event_id"), d["consignment_id"], d["decided_at"], "assessed")
        if leaf is None:
            problems.append(f"{what} has no `assessed` leaf")
            continue
        stated = {"lane": d["lane"], "referrals": d["referrals"], "version": d["version"]}
        problems += _differs(what, stated, leaf)
    return problems


def check_consignments(index: LedgerIndex, consignments: Iterable[dict[str, Any]]) -> list[str]:
    """A consignment's lane and status are those its latest leaves left it in."""
    problems = []
    for c in consignments:
        cid = c["id"]
        if c["lane"] is not None and index.lane.get(cid) != c["lane"]:
            problems.append(f"consignment {cid}: lane {c['lane']!r}, the ledger says {index.lane.get(cid)!r}")
        if cid in index.status and index.status[cid] != c["status"]:
            problems.append(f"consignment {cid}: status {c['status']!r}, the ledger says {index.status[cid]!r}")
    return problems


def check_inspections(index: LedgerIndex, inspections: Iterable[dict[str, Any]]) -> list[str]:
    problems = []
    for i in inspections:
        what = f"inspection {i['id']} of {i['consignment_id']}"
        leaf = index.find(i.get("event_id"), i["consignment_id"], i["at"], "inspected")
        if leaf is None:
            problems.append(f"{what} has no `inspected` leaf")
            continue
        kinds = sorted({f["kind"] for f in i["findings"]})
        problems += _differs(what, {"method": i["method"], "outcome": i["outcome"], "findings": kinds}, leaf)
    return problems


def check_refunds(index: LedgerIndex, refunds: Iterable[dict[str, Any]]) -> list[str]:
    problems = []
    for r in refunds:
        what = f"refund {r['id']} of {r['consignment_id']}"
        leaf = index.find(r.get("event_id"), r["consignment_id"], r["recorded_at"], "refunded")
        if leaf is None:
            problems.append(f"{what} has no `refunded` leaf")
            continue
        stated = {"kind": r["kind"], "currency": r["currency"]}
        stated |= {name: str(r[name]) for name in ("duty", "vat", "total")}
        problems += _differs(what, stated, leaf)
    return problems


def check_audit(index: LedgerIndex, rows: Iterable[dict[str, Any]]) -> list[str]:
    """Officers' and agencies' actions on consignments: the state each left is the one its leaf commits to."""
    problems = []
    for a in rows:
        if not a["consignment_id"]:
            continue  # configuration changes (profiles, selectivity) concern no consignment
        what = f"audit entry {a['seq']} ({a['action']} by {a['actor']})"
        leaf = index.find(a.get("event_id"), a["consignment_id"], a["at"], a["action"])
        if leaf is None:
            problems.append(f"{what} has no ledger leaf")
            continue
        after = a["after"]
        stated = {k: v for k, v in (after.get("facts") or {}).items()} | {"status": after.get("status")}
        problems += _differs(what, stated, leaf)
    return problems
