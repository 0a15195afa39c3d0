"""A payment matched to what it pays. A payment names a reference (the payable's id, or the consignment's
reference or tracking number as its payer knows it); it pays the open amounts of that reference in its
currency, oldest due first. What is left over stays on the last of them (overpaid: visible, to be
refunded); a payment whose reference matches nothing is kept unmatched, for an officer to place."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import msgspec

PaymentSource = Literal["api", "cli", "csv", "camt053"]
PayableState = Literal["open", "part_paid", "paid", "overpaid", "refund_due", "refunded", "cancelled"]


class Payment(msgspec.Struct, frozen=True):
    """A payment as received: who paid, what it names, how much, when, and where it came from."""

    reference: str
    amount: Decimal
    currency: str
    paid_on: dt.date
    payer: str | None = None
    source: PaymentSource = "api"
    bank_reference: str | None = None  # the bank's id of the entry (camt.053 AcctSvcrRef): one payment once


class OpenItem(msgspec.Struct, frozen=True):
    """What a payment may pay: a payable's id and the references its payer may quote (the consignment's
    reference, its tracking number), currency, due date, and what is still outstanding."""

    id: str
    references: tuple[str, ...]
    currency: str
    due_on: dt.date
    outstanding: Decimal


def allocate(payment: Payment, items: list[OpenItem]) -> list[tuple[str, Decimal]]:
    """(payable id, amount) for each payable `payment` pays; empty when it matches none."""
    matching = sorted(
        (i for i in items if (payment.reference == i.id or payment.reference in i.references)
         and i.currency == payment.currency and i.outstanding > 0),
        key=lambda i: (i.due_on, i.id),
    )  # fmt: skip
    if not matching:
        return []
    left, shares = payment.amount, []
    for item in matching:
        share = min(left, item.outstanding)
        if share > 0:
            shares.append((item.id, share))
            left -= share
    if left > 0:  # paid more than was owed: the excess stays on the last, overpaid
        last_id, last_share = shares[-1] if shares else (matching[-1].id, Decimal(0))
        shares = [s for s in shares if s[0] != last_id] + [(last_id, last_share + left)]
    return shares


def state_of(amount: Decimal, paid: Decimal, cancelled: bool = False) -> PayableState:
    """Where a payable stands, from what it is and what was paid on it (a refund: paid out)."""
    if cancelled:
        return "cancelled"
    if amount < 0:
        return "refunded" if paid <= amount else "refund_due"
    if paid <= 0:
        return "open"
    if paid < amount:
        return "part_paid"
    return "paid" if paid == amount else "overpaid"
