"""The operational record against the ledger: every row that states a decision must say what its leaf says.

An insider who rewrites a lane in `decisions` and its event leaves the ledger's own leaves intact; only a
comparison of the two finds it. Each record is matched to its leaf by the event it names (`event_id`), or,
for rows written before they named one, by consignment, time and kind. Pure: the caller reads the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
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
    if kind in (
        "released",
        "held",
        "seized",
        "returned_to_sender",
        "invalidated",
        "assessment_failed",
        "full_declaration_required",
        "destroyed",
        "abandoned",
    ):
        return kind
    if kind == "transferred_to_full_declaration":
        return "released"
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
        if "lane" in leaf.facts:  # a decision, a re-route, a dossier held or followed
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
        f"{what}: {name} is {str(value) if isinstance(value, Decimal) else value!r} in the record, "
        f"{leaf.facts.get(name)!r} in ledger leaf {leaf.index}"
        for name, value in sorted(stated.items())
        if name not in PRIVATE_FACTS and not _same(leaf.facts.get(name), value)
    ]


def _same(committed: Any, stated: Any) -> bool:
    """Whether a leaf commits to what a record states; an amount (a Decimal) by its value, whatever the scale
    the database keeps it at (EUR 7.34 is 7.3400 in a column of four places)."""
    if not isinstance(stated, Decimal):
        return bool(committed == stated)
    try:
        return isinstance(committed, str) and Decimal(committed) == stated
    except InvalidOperation:
        return False


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


def _check_records(
    index: LedgerIndex,
    rows: Iterable[dict[str, Any]],
    what: Callable[[dict[str, Any]], str],
    kind: Callable[[dict[str, Any]], str],
    at: str,
    stated: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[str]:
    """Each row against the leaf of its event: that leaf exists and commits to what the row states."""
    problems = []
    for row in rows:
        leaf = index.find(row.get("event_id"), row["consignment_id"], row[at], kind(row))
        if leaf is None:
            problems.append(f"{what(row)} has no `{kind(row)}` leaf")
        else:
            problems += _differs(what(row), stated(row), leaf)
    return problems


def check_decisions(index: LedgerIndex, decisions: Iterable[dict[str, Any]]) -> list[str]:
    return _check_records(
        index, decisions, lambda d: f"decision {d['id']} of {d['consignment_id']}", lambda _: "assessed",
        "decided_at", lambda d: {"lane": d["lane"], "referrals": d["referrals"], "version": d["version"]},
    )  # fmt: skip


def check_inspections(index: LedgerIndex, inspections: Iterable[dict[str, Any]]) -> list[str]:
    return _check_records(
        index, inspections, lambda i: f"inspection {i['id']} of {i['consignment_id']}", lambda _: "inspected", "at",
        lambda i: {"method": i["method"], "outcome": i["outcome"],
                   "findings": sorted({f["kind"] for f in i["findings"]})},
    )  # fmt: skip


def check_refunds(index: LedgerIndex, refunds: Iterable[dict[str, Any]]) -> list[str]:
    return _check_records(
        index, refunds, lambda r: f"refund {r['id']} of {r['consignment_id']}", lambda _: "refunded",
        "recorded_at",
        lambda r: {"kind": r["kind"], "currency": r["currency"]} | {n: Decimal(r[n]) for n in ("duty", "vat", "total")},
    )  # fmt: skip


def check_audit(index: LedgerIndex, rows: Iterable[dict[str, Any]]) -> list[str]:
    """Officers' and agencies' actions on consignments (configuration changes concern none): the state each
    left is the one its leaf commits to."""
    return _check_records(
        index, [a for a in rows if a["consignment_id"]], lambda a: f"audit entry {a['seq']} ({a['action']} by "
        f"{a['actor']})", lambda a: str(a["action"]), "at",
        lambda a: dict(a["after"].get("facts") or {}) | {"status": a["after"].get("status")},
    )  # fmt: skip
