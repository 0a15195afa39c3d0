"""The contract's lifecycle as an explicit state machine.

received → registered → assessed → {released | held → inspected → released | seized | returned_to_sender}.
A parcel above its jurisdiction's low-value ceiling goes to `full_declaration_required` and is released
when an officer records the full declaration that took it over; held goods may be abandoned to customs or
destroyed under customs supervision (seized goods too).
A consignment the pipeline could not assess is set aside as `assessment_failed` (alone: the others of its
batch are assessed) and assessed again later, or amended or invalidated meanwhile.
An amendment sends a consignment back to `registered` (it is assessed again); the submitter may
invalidate it until release, but neither amends nor invalidates a parcel held under a control until the
control is done (`under_control`); arrival is recorded in any open status (a parcel waiting for it is then
released). Anything else is an `IllegalTransition`, raised with the status and action.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from clearway.errors import IllegalTransition
from clearway.model.vocabulary import HOLDING_LANES, Status

Action = Literal[
    "register",
    "assess",
    "fail_assessment",
    "amend",
    "hold",
    "inspect",
    "release",
    "seize",
    "return_to_sender",
    "invalidate",
    "reroute",
    "arrive",
    "declare_fully",
    "abandon",
    "destroy",
]
ACTIONS: tuple[Action, ...] = get_args(Action)

FINAL: frozenset[Status] = frozenset({"released", "seized", "returned_to_sender", "invalidated", "destroyed",
                                      "abandoned"})  # fmt: skip
OPEN_CASE: frozenset[Status] = frozenset({"held", "inspected", "seized", "full_declaration_required"})
"""Statuses in which a case is open: personal data is kept while open."""

_MOVES: dict[Action, dict[Status, Status | None]] = {
    # None: the status stays what it was (the action is recorded, nothing moves)
    "register": {"received": "registered"},  # a valid submission; an invalid one stays a rejected submission
    "assess": {"registered": "assessed", "assessment_failed": "assessed"},
    "fail_assessment": {"registered": "assessment_failed", "assessment_failed": "assessment_failed"},
    "amend": {
        "registered": "registered",
        "assessed": "registered",
        "held": "registered",
        "assessment_failed": "registered",
        "full_declaration_required": "registered",
    },
    "hold": {"assessed": "held"},
    "reroute": {"assessed": None, "held": None, "full_declaration_required": None},
    "inspect": {"held": "inspected", "inspected": "inspected"},
    "release": {"assessed": "released", "held": "released", "inspected": "released"},
    "seize": {"held": "seized", "inspected": "seized"},
    "return_to_sender": {"held": "returned_to_sender", "inspected": "returned_to_sender"},
    "invalidate": {
        "registered": "invalidated",
        "assessed": "invalidated",
        "held": "invalidated",
        "assessment_failed": "invalidated",
        "full_declaration_required": "invalidated",
    },
    "arrive": {
        "registered": None,
        "assessed": None,
        "held": None,
        "inspected": None,
        "assessment_failed": None,
        "full_declaration_required": None,
    },  # release may follow
    "declare_fully": {"full_declaration_required": "released"},  # the full declaration's release takes over
    "abandon": {"held": "abandoned", "inspected": "abandoned", "full_declaration_required": "abandoned"},
    "destroy": {"held": "destroyed", "inspected": "destroyed", "seized": "destroyed", "abandoned": "destroyed"},
}


def next_status(status: str, action: Action) -> Status:
    """The status after `action`, or IllegalTransition naming what is allowed from `status`."""
    moves = _MOVES[action]
    if status not in moves:
        allowed = sorted(a for a, m in _MOVES.items() if status in m)
        raise IllegalTransition(
            f"cannot {action.replace('_', ' ')} a consignment that is {status.replace('_', ' ')}"
            f" (allowed: {', '.join(allowed) or 'nothing, it is final'})"
        )
    target = moves[status]
    return status if target is None else target


def under_control(status: str, lane: str | None, open_referrals: Iterable[str]) -> bool:
    """Whether a parcel is held under a control its filer may neither amend nor withdraw it from: held for a
    physical examination (the red lane), or with a referral open that is not a request for information (a
    watch-list match to confirm, do not load, another agency's control, goods the carrier may not accept).

    The Union Customs Code permits no amendment once customs have said they intend to examine the goods
    (art. 173(2)(a)), and no invalidation before that examination (art. 174(1)(b)); otherwise the filer of
    a parcel stopped for a stun gun could declare it a T-shirt, have it assessed afresh, and released. A
    request for information (the yellow lane's documentary check) is answered by amending the filing, as
    in ICS2; a parcel held only for one, for an exhausted guarantee or for an officer's release may be
    amended or withdrawn."""
    return status == "held" and (lane == "red" or any(kind != "rfi" for kind in open_referrals))


def after_assessment(lane: str, referrals: list[str] | tuple[str, ...]) -> Status:
    """Where a fresh decision puts a parcel: held for an inspection lane or an open referral, else assessed
    (release then follows the release policy)."""
    return "held" if lane in HOLDING_LANES or referrals else "assessed"


AMENDABLE: frozenset[Status] = frozenset(_MOVES["amend"])
"""Statuses in which a filing may be amended (not once inspected, nor in a final status)."""
ARRIVABLE: frozenset[Status] = frozenset(s for s, _ in _MOVES["arrive"].items())
"""Statuses in which an arrival is recorded (a final status has nothing to wait for)."""


def after_arrival(status: str, open_referrals: bool) -> Status:
    """Where arrival puts a parcel: one that was only waiting for it (assessed, nothing open on it) is
    released; any other stays where it is (held, inspected, not yet assessed)."""
    moved = next_status(status, "arrive")
    return next_status(moved, "release") if moved == "assessed" and not open_referrals else moved
