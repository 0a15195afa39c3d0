"""What each audience sees of a consignment. Submitters: status, open referrals and amounts due, never
lanes, scores, reasons or rules. Officers: everything. The public: status and nothing personal.

The submitter's and the public's answers are msgspec Structs, so the OpenAPI document shows their schema
and nothing outside it can leak into them (a field a view does not declare is not sent)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from clearway.auth.clients import Principal
from clearway.interop import ics2
from clearway.model.consignment import Consignment, Item, TransportDocument
from clearway.services.clearance import CaseEvent, CaseFile, ReferralRecord, SubmitterFacts, submitter_facts


class SubmitterReferral(msgspec.Struct, frozen=True):
    """A referral as its submitter sees it: what is asked and whether it is answered, not why."""

    kind: str
    state: str
    opened_at: dt.datetime
    answered_at: dt.datetime | None


class SubmitterCase(msgspec.Struct, frozen=True):
    """One of a submitter's consignments: where it stands, what is asked of it, what it owes."""

    registration_id: str
    reference: str
    status: str
    version: int
    received_at: dt.datetime
    updated_at: dt.datetime
    released_at: dt.datetime | None
    transport_document: TransportDocument
    referrals: list[SubmitterReferral]
    assessment: dict[str, Any] | None  # the duty and tax assessment, line by line, with the rules applied
    ics2: list[dict[str, Any]]  # the same standing in ICS2 message terms
    consignment: Consignment  # the consignment as filed (its current version)
    joined_dossier: bool = False  # another filer filed this parcel first: its filing carries the decision and
    # the assessment (so `assessment` is null here), and this one's status follows it


class StatusChange(msgspec.Struct, frozen=True):
    """A consignment moved on by its submitter (withdrawn, arrived)."""

    consignment_id: str
    status: str


class ReferralAnswered(msgspec.Struct, frozen=True):
    consignment_id: str
    answered: str
    open_referrals: list[str]  # the kinds still open


class PublicStatus(msgspec.Struct, frozen=True):
    """Where a parcel stands, by tracking number: no party, no goods, no amounts."""

    tracking: str
    status: str
    channel: str
    destination_country: str
    updated_at: dt.datetime


class CaseState(msgspec.Struct, frozen=True):
    status: str
    lane: str | None


class PayableMade(msgspec.Struct, frozen=True):
    """What an inspection's correction made owed (a demand, a penalty) or owed back (a refund: negative)."""

    id: str
    kind: str
    amount: Decimal
    currency: str
    due_on: dt.date


class ActionDone(msgspec.Struct, frozen=True):
    """An officer's action, recorded: the event it made, when, and the consignment before and after (and,
    for an inspection that corrected the value, HS code or origin, the demand or refund it made)."""

    consignment_id: str
    event: str
    at: dt.datetime
    before: CaseState
    after: CaseState
    payables: list[PayableMade] = []


class WorklistItem(msgspec.Struct, frozen=True):
    """A consignment waiting for an officer, with its risk score and open referrals."""

    id: str
    reference: str
    submitter: str
    status: str
    lane: str | None
    channel: str
    dispatch_country: str
    destination_country: str
    received_at: dt.datetime
    updated_at: dt.datetime
    score: float | None
    referrals: list[Any]
    age_seconds: int


class AuditEntry(msgspec.Struct, frozen=True):
    """Who did what to which consignment, when, and what it was before and after."""

    seq: int
    actor: str
    role: str
    action: str
    consignment_id: str | None
    at: dt.datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def submitter_view(case: CaseFile) -> SubmitterCase:
    """The submitter's part of a case file."""
    meta, consignment, decision, referrals = case.meta, case.consignment, case.decision, case.referrals
    return SubmitterCase(
        registration_id=meta["id"],
        reference=meta["reference"],
        status=meta["status"],
        version=meta["version"],
        received_at=meta["received_at"],
        updated_at=meta["updated_at"],
        released_at=meta.get("released_at"),
        transport_document=consignment.transport_document,
        referrals=[SubmitterReferral(r.kind, r.state, r.opened_at, r.answered_at) for r in referrals],
        assessment=decision.assessment if decision else None,
        ics2=ics2.for_consignment(
            meta["id"],
            meta["status"],
            [msgspec.structs.asdict(r) for r in referrals],
            master_level=consignment.master_reference is not None or bool(case.manifests),
        ),
        consignment=consignment,
        joined_dossier=bool(meta.get("dossier_id")),
    )


class SubmitterEvent(SubmitterFacts, frozen=True, kw_only=True):
    """A step of one of a submitter's consignments: what happened, when, whether `you` or `customs` acted, and
    the facts a submitter may read of it."""

    type: str
    at: dt.datetime
    actor: str


def submitter_events(reader: Principal, events: list[CaseEvent]) -> list[SubmitterEvent]:
    """Each event with the facts a submitter may read, and `you` or `customs` for who acted. A fact stored in
    another shape than the one documented (an event written by an older version) is left out, never a 500."""
    out = []
    for e in events:
        head = {"type": e.type, "at": e.at, "actor": "you" if e.actor == reader.tenant else "customs"}
        facts = submitter_facts(e.data)
        try:
            out.append(msgspec.convert(head | facts, SubmitterEvent))
        except msgspec.ValidationError:
            fitting = {k: v for k, v in facts.items() if _fits(head, k, v)}
            out.append(msgspec.convert(head | fitting, SubmitterEvent))
    return out


def _fits(head: dict[str, Any], key: str, value: Any) -> bool:
    try:
        msgspec.convert(head | {key: value}, SubmitterEvent)
    except msgspec.ValidationError:
        return False
    return True


class DmsNotification(msgspec.Struct, frozen=True):
    """A lifecycle event as a WCO DMS 3.6 notification: the event, its notification type, when, and the XML."""

    event: str
    notification: str
    at: dt.datetime
    xml: str


class AgencyReferral(ReferralRecord, frozen=True):
    """A referral made to an agency, with where its consignment stands."""

    status: str
    channel: str
    destination_country: str


class ReferredGoods(msgspec.Struct, frozen=True):
    """The goods of a consignment referred to an agency: what it needs to decide, and nothing of the parties."""

    consignment_id: str
    status: str
    channel: str
    dispatch_country: str
    destination_country: str
    category: str
    items: list[Item]


class QualityTimeliness(msgspec.Struct, frozen=True):
    with_expected_arrival: int
    received_before_arrival: float | None  # share received before the declared arrival
    median_lead_hours: float | None


class QualityFigures(msgspec.Struct, frozen=True):
    """One submitter's data quality over a period: rejections and warnings by code, vague descriptions and
    timeliness."""

    submitter: str
    submitted: int
    rejected: int
    rejection_rate: float
    errors: dict[str, int]
    warnings: dict[str, int]
    error_rates: dict[str, float]
    vague_descriptions: int
    timeliness: QualityTimeliness


class Readiness(msgspec.Struct, frozen=True):
    """`ready` or `not ready`, the checks that failed, and each check's detail."""

    status: str
    failed: list[str]
    checks: dict[str, str]


class LedgerEntry(msgspec.Struct, frozen=True):
    """One of a consignment's ledger leaves: its index, the event as committed (withheld from a submitter
    for a v1 leaf that holds customs' own facts), the leaf hash, and the inclusion proof at the tree size."""

    index: int
    event: str | None
    leaf_hash: str
    proof: list[str] | None
    sealed_facts: str | UnsetType = UNSET  # customs' own facts, for customs readers only
    withheld: str | UnsetType = UNSET


class LedgerProofs(msgspec.Struct, frozen=True):
    """A consignment's leaves with their inclusion proofs at `tree_size`, the signed checkpoint of that size,
    and the salt of its leaves (customs readers also get the salt of the sealed facts)."""

    tree_size: int
    checkpoint: str | None
    salt: str
    entries: list[LedgerEntry]
    seal_salt: str | UnsetType = UNSET


class ConsistencyProof(msgspec.Struct, frozen=True):
    """RFC 9162 consistency proof between two tree sizes."""

    first: int
    second: int
    proof: list[str]


def public_status(tracking: str, meta: dict[str, Any]) -> PublicStatus:
    return PublicStatus(tracking, meta["status"], meta["channel"], meta["destination_country"], meta["updated_at"])
