"""What an assessment makes owed: one amount per payer (the buyer, the vendor under its scheme, the carrier
or post, the intermediary), in the assessment's currency, due by the jurisdiction's terms (the rule's
`payment` section: days after the assessment, or the deferred account's day of the month after). A demand
after an inspection is the difference between two assessments of one consignment: more is demanded (with
the rule's penalty, if any), less is refunded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, Protocol

import msgspec

from clearway.revenue.assessment import Assessment
from clearway.revenue.rules import Rule

PayerRole = Literal["buyer", "vendor", "carrier", "intermediary"]
PAYER_ROLES: tuple[PayerRole, ...] = ("buyer", "vendor", "carrier", "intermediary")
PayableKind = Literal["assessment", "demand", "penalty", "refund"]


class Liable(Protocol):
    """What `owed` reads of an assessment (an `Assessment`, or a lighter view of its JSON)."""

    @property
    def currency(self) -> str: ...
    @property
    def collection_model(self) -> str: ...
    @property
    def payers(self) -> dict[str, Decimal]: ...
    @property
    def rules(self) -> list[str]: ...


class Terms(msgspec.Struct, frozen=True):
    """A jurisdiction's payment terms on a day (from its revenue rule)."""

    days: int
    deferred_day: int
    appeal_days: int
    review_days: int
    penalty_rate: Decimal
    source: str
    places: int = 2

    @classmethod
    def of(cls, rule: Rule) -> Terms:
        return cls(rule.payment_days, rule.deferred_day, rule.appeal_days, rule.review_days, rule.penalty_rate,
                   rule.payment_source or f"{rule.id}: clearway's default terms", rule.places)  # fmt: skip


class Owed(msgspec.Struct, frozen=True):
    """One amount owed (negative: owed back, a refund), by whom, by when, and why."""

    kind: PayableKind
    payer_role: PayerRole
    payer: str
    amount: Decimal
    currency: str
    collection_model: str
    due_on: dt.date
    basis: str


def due_on(terms: Terms, on: dt.date, deferred: bool) -> dt.date:
    """When an amount notified on `on` is due: `terms.days` later, or on a deferred account the
    `deferred_day` of the month after."""
    if not deferred:
        return on + dt.timedelta(days=terms.days)
    first_next = (on.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return first_next.replace(day=terms.deferred_day)


def _round(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def owed(
    assessment: Liable,
    terms: Terms,
    *,
    on: dt.date,
    payer: Callable[[PayerRole], str],
    deferred: Callable[[str], bool],
    kind: PayableKind = "assessment",
) -> list[Owed]:
    """What `assessment` makes owed: one line per payer with something to pay. `payer(role)` names who
    that is; `deferred(payer)` says whether it holds a deferred payment account."""
    lines = []
    for role, amount in sorted(assessment.payers.items()):
        if amount <= 0 or role not in PAYER_ROLES:
            continue
        who = payer(role)
        lines.append(Owed(kind, role, who, amount, assessment.currency,
                          assessment.collection_model, due_on(terms, on, deferred(who)),
                          f"{', '.join(assessment.rules)}; {terms.source}"))  # fmt: skip
    return lines


def demand(
    before: Assessment,
    after: Assessment,
    terms: Terms,
    *,
    on: dt.date,
    payer: Callable[[PayerRole], str],
    deferred: Callable[[str], bool],
    finding: str,
) -> list[Owed]:
    """What a corrected assessment changes: the additional duty and tax demanded of the payer of the
    corrected assessment (and the penalty the terms set on it), or the over-assessment refunded to whoever
    paid the first. Nothing when the totals agree, or when the currencies differ (then say so)."""
    if before.currency != after.currency:
        raise ValueError(f"the corrected assessment is in {after.currency}, the first in {before.currency}")
    difference = after.totals.total - before.totals.total
    basis = f"{', '.join(after.rules)}; {finding}; {terms.source}"
    if difference > 0:
        role: PayerRole = next((r for r in PAYER_ROLES if r in after.payers), "buyer")
        who = payer(role)
        due = due_on(terms, on, deferred(who))
        lines = [Owed("demand", role, who, difference, after.currency, after.collection_model, due, basis)]
        penalty = _round(difference * terms.penalty_rate, terms.places)
        if penalty > 0:
            lines.append(Owed("penalty", role, who, penalty, after.currency, after.collection_model, due,
                              f"{basis}; penalty of {terms.penalty_rate * 100}% of the demand"))  # fmt: skip
        return lines
    if difference < 0:
        role = next((r for r in PAYER_ROLES if r in before.payers), "buyer")
        return [Owed("refund", role, payer(role), difference, before.currency, before.collection_model,
                     due_on(terms, on, False), basis)]  # fmt: skip
    return []
