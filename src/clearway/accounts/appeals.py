"""Appeals against a decision or a demand (UCC art. 44 and its like): lodged within the terms' days, under
review, then the decision is upheld, annulled or partly annulled, within the review days. Annulling a
demand refunds what was paid on it (the store cancels what is unpaid)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from clearway.errors import IllegalTransition, InvalidInput

AppealState = Literal["lodged", "under_review", "upheld", "annulled", "partly_annulled"]
Outcome = Literal["upheld", "annulled", "partly_annulled"]
OUTCOMES: tuple[Outcome, ...] = ("upheld", "annulled", "partly_annulled")
_MOVES: dict[str, dict[str, AppealState]] = {
    "review": {"lodged": "under_review"},
    "upheld": {"under_review": "upheld"},
    "annulled": {"under_review": "annulled"},
    "partly_annulled": {"under_review": "partly_annulled"},
}


def next_state(state: str, action: str) -> AppealState:
    moves = _MOVES.get(action)
    if moves is None:
        raise InvalidInput(f"unknown appeal action {action!r}: review, {', '.join(OUTCOMES)}")
    if state not in moves:
        raise IllegalTransition(f"an appeal that is {state.replace('_', ' ')} cannot be {action.replace('_', ' ')}"
                                f" (it can only from {', '.join(moves)})")  # fmt: skip
    return moves[state]


def lodging_deadline(notified_on: dt.date, appeal_days: int) -> dt.date:
    return notified_on + dt.timedelta(days=appeal_days)


def review_deadline(lodged_on: dt.date, review_days: int) -> dt.date:
    return lodged_on + dt.timedelta(days=review_days)


def in_time(notified_on: dt.date, lodged_on: dt.date, appeal_days: int) -> None:
    """Refuse an appeal lodged after its deadline, saying when that was."""
    deadline = lodging_deadline(notified_on, appeal_days)
    if lodged_on > deadline:
        raise InvalidInput(f"the appeal came on {lodged_on}: the time to appeal ended on {deadline} "
                           f"({appeal_days} days after {notified_on})")  # fmt: skip


def annulled_amount(outcome: Outcome, amount: Decimal, kept: Decimal | None) -> Decimal:
    """How much of a demand of `amount` falls: all of it annulled, none upheld, and `amount - kept` when
    partly annulled (`kept` is what stands, between 0 and the amount)."""
    if outcome == "upheld":
        return Decimal(0)
    if outcome == "annulled":
        return amount
    if kept is None or not Decimal(0) <= kept <= amount:
        raise InvalidInput(f"a partial annulment says what stands: an amount from 0 to {amount}")
    return amount - kept
