"""What follows a decision, worked out in one pure step: the parcel's status, how it is released, the
referrals it opens and the events to record (each with what the ledger commits to and what the event log
shows). The repository stores a settlement; it decides nothing.

A lane that stops (red, yellow) or an open referral holds the parcel; otherwise the clearance policy's
release mode says: `at_assessment` releases it now, `on_arrival` leaves it assessed until arrival, `manual`
holds it for an officer, `full_declaration` (high value) waits for a standard declaration and says what it
lacks. Blue is released now (post-clearance audit follows) whatever the mode, but a full declaration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from clearway.clearance.lifecycle import after_assessment
from clearway.model.vocabulary import Status


@dataclass(frozen=True)
class Recorded:
    """An event to record: its kind, the facts the ledger commits to, and what the event log shows (the
    same facts unless given)."""

    kind: str
    facts: dict[str, Any]
    shown: dict[str, Any] | None = None


@dataclass(frozen=True)
class Settlement:
    consignment_id: str
    version: int
    lane: str
    referrals: tuple[tuple[str, str | None], ...]  # (kind, agency: for `oga` referrals only)
    status: Status
    release: str
    released: bool
    events: tuple[Recorded, ...]


class _Totals(msgspec.Struct):
    duty: str
    vat: str
    other: str
    total: str


class _Committed(msgspec.Struct):
    """The fields of an assessment's JSON the ledger commits to (the decoder skips the rest: lines, notes)."""

    currency: str
    collection_model: str
    rules: list[str]
    totals: _Totals


_read_committed = msgspec.json.Decoder(_Committed).decode


def duty_facts(assessment: str, version: int) -> dict[str, Any]:
    """What the ledger commits to of a duty assessment (its JSON): amounts, currency, model, legal basis."""
    a = _read_committed(assessment)
    t = a.totals
    return {"version": version, "currency": a.currency, "collection_model": a.collection_model, "rules": a.rules,
            "duty": t.duty, "vat": t.vat, "other": t.other, "total": t.total}  # fmt: skip


def settle(
    consignment_id: str,
    version: int,
    lane: str,
    referral_kinds: Sequence[str],
    *,
    agencies: Sequence[str] | None = None,
    release: str | None = None,
    assessment: str | None = None,
    screened_with: str | None = None,
    missing: Sequence[str] | None = None,
) -> Settlement:
    """The settlement of one decision: `release` is the policy's mode for the parcel (default
    `at_assessment`), `assessment` its duty assessment as JSON, `screened_with` the watch list's version."""
    kinds = list(referral_kinds)
    screened = {"screened_with": screened_with} if screened_with else {}
    events = [Recorded("assessed", {"version": version, "lane": lane, "referrals": kinds, **screened},
                       {"lane": lane, "referrals": kinds, **screened})]  # fmt: skip
    if assessment:
        events.append(Recorded("duty_assessed", duty_facts(assessment, version)))
    referrals = tuple(
        (kind, agency) for kind in kinds for agency in ((agencies or ["unspecified"]) if kind == "oga" else [None])
    )
    mode = release or "at_assessment"
    status: Status = after_assessment(lane, kinds)
    if status == "assessed" and mode == "manual":
        status = "held"  # an officer releases it
    if status == "assessed" and mode == "full_declaration":
        status = "full_declaration_required"  # above the low-value ceiling: a standard declaration takes over
    released = status == "assessed" and (mode == "at_assessment" or lane == "blue")
    if released:
        status = "released"
    facts = {"version": version, "lane": lane, "release": mode}
    if status == "full_declaration_required":
        facts["missing"] = list(missing or [])
    events.append(Recorded("awaiting_arrival" if status == "assessed" else status, facts))
    return Settlement(consignment_id, version, lane, referrals, status, mode, released, tuple(events))


def hold_for(settled: Settlement, reason: str) -> Settlement:
    """The same decision, the parcel held instead of released (or left waiting) for `reason` (a guarantee
    exhausted): the officer releases it once the reason is gone."""
    if settled.status not in ("released", "assessed"):
        return settled
    last = settled.events[-1]
    held = Recorded("held", last.facts | {"reason": reason})
    return Settlement(settled.consignment_id, settled.version, settled.lane, settled.referrals, "held",
                      settled.release, False, (*settled.events[:-1], held))  # fmt: skip
