"""clearway's vocabulary, in one place: lanes, referral kinds, channels, statuses and event kinds.

Each is a `Literal` type (so mypy narrows on it, and msgspec and the OpenAPI document list its values) with
the tuple of its values beside it; every other module imports them from here.
"""

from __future__ import annotations

from typing import Literal, get_args

Lane = Literal["green", "blue", "yellow", "red"]
"""green: release; blue: release, then post-clearance audit; yellow: documents or a referral; red: inspect."""
LANES: tuple[Lane, ...] = get_args(Lane)
HOLDING_LANES: frozenset[Lane] = frozenset({"red", "yellow"})

Referral = Literal["rfi", "screening", "dnl", "oga", "carrier"]
"""rfi: a request for information; screening: a possible watch-list match to confirm; dnl: do not load;
oga: another government agency's control; carrier: goods the carrier or post may not accept (dangerous goods),
returned to it with the rule cited."""
REFERRALS: tuple[Referral, ...] = get_args(Referral)
Answerable = Literal["rfi", "screening", "carrier"]
"""The referrals the submitter answers itself (for `carrier`: what the carrier or post did with the goods)."""
ANSWERABLE: tuple[Answerable, ...] = get_args(Answerable)

Domain = Literal["security", "safety", "fiscal", "ipr", "prohibitions", "oga"]
"""What a risk profile or detector protects: security (a threat to the aircraft or the public, ICS2's first
question), safety (dangerous goods a carrier or post may not accept), fiscal (duty and tax), ipr (intellectual
property), prohibitions (prohibited and restricted goods), oga (other agencies' rules). What each may cause
is data (`data/risk/domains.yaml`)."""
DOMAINS: tuple[Domain, ...] = get_args(Domain)

FindingKind = Literal[
    "counterfeit", "undervaluation", "wrong_hs_code", "dangerous_goods", "prohibited", "restricted",
    "misdeclared_origin", "vague_description", "split_consignment", "other",
]  # fmt: skip
"""What an inspection found (the targeting model's labels), and what a risk alert warns of. A vague description
(one that does not say what the goods are, so that neither their code nor their rules can be told) is a
finding about the filing's data, not about the trader's conduct: see `risk.offenders`. A split consignment is one
order sent as several parcels, each under a threshold the whole is above."""
FINDING_KINDS: tuple[FindingKind, ...] = get_args(FindingKind)

Channel = Literal["post", "express", "cargo"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)

Status = Literal[
    "received", "registered", "assessed", "held", "inspected", "released", "seized", "returned_to_sender",
    "invalidated", "assessment_failed", "full_declaration_required", "destroyed", "abandoned",
]  # fmt: skip
STATUSES: tuple[Status, ...] = get_args(Status)

EventKind = Literal[
    "registered", "amended", "assessed", "duty_assessed", "awaiting_arrival", "held", "released", "assessment_failed",
    "rerouted", "inspected", "seized", "returned_to_sender", "invalidated", "arrived", "refunded",
    "referral_closed", "referral_answered", "referral_timed_out", "full_declaration_required",
    "transferred_to_full_declaration", "destroyed", "abandoned", "joined_dossier", "dossier_lead",
    "paid", "reassessed", "demand_issued", "refund_due", "refund_paid", "appeal_lodged", "appeal_under_review",
    "appeal_upheld", "appeal_annulled", "appeal_partly_annulled", "audited", "exited",
]  # fmt: skip
"""What the event log and the ledger record of a consignment."""
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
