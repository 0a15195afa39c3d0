"""Refunds on returns: duty and tax paid at import given back, whole or by line, once, within the window.

Where the vendor collected the tax (IOSS and the like), the tax is not paid back by customs: it becomes
a credit against the vendor's periodic return, recorded against its scheme id.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import msgspec

from clearway.errors import InvalidInput
from clearway.revenue.assessment import Assessment


class RefundRefused(InvalidInput):
    """A refund that cannot be granted: out of the window, nothing paid, or already refunded."""


class RefundLine(msgspec.Struct, frozen=True):
    item: int
    quantity: int
    duty: Decimal
    vat: Decimal


class Refund(msgspec.Struct, frozen=True):
    reference: str
    currency: str
    kind: Literal["payment", "vendor_credit"]
    scheme_id: str | None
    lines: list[RefundLine]
    duty: Decimal
    vat: Decimal
    total: Decimal
    on: dt.date
    rules: list[str]


def _places(a: Assessment) -> Decimal:
    exponent = a.totals.total.as_tuple().exponent
    return Decimal(1).scaleb(exponent if isinstance(exponent, int) else -2)


def compute_refund(
    original: Assessment,
    quantities: list[int],
    returned: dict[int, int] | None,
    *,
    on: dt.date,
    window_days: int,
    already: list[Refund],
) -> Refund:
    """The refund for `returned` ({item index: quantity}; None = everything left) of an assessed consignment."""
    days = (on - original.on).days
    if days < 0 or days > window_days:
        raise RefundRefused(
            f"the return on {on} is outside the {window_days}-day window after the assessment of {original.on}",
            reference=original.reference,
        )
    done: dict[int, int] = {}
    for refund in already:
        for refunded in refund.lines:
            done[refunded.item] = done.get(refunded.item, 0) + refunded.quantity
    wanted = returned if returned is not None else {i: q - done.get(i, 0) for i, q in enumerate(quantities)}
    vendor = original.vendor_liability
    values = [line.value for line in original.lines]
    total_value = sum(values, Decimal(0))
    quantum = _places(original)
    lines = []
    for item, quantity in sorted(wanted.items()):
        if quantity <= 0:
            continue
        if not 0 <= item < len(quantities):
            raise RefundRefused(f"the consignment has no item {item}", reference=original.reference)
        left = quantities[item] - done.get(item, 0)
        if quantity > left:
            raise RefundRefused(
                f"item {item}: {quantity} returned but only {left} of {quantities[item]} not refunded yet",
                reference=original.reference,
            )
        share = Decimal(quantity) / Decimal(quantities[item])
        line = original.lines[item]
        tax = line.tax
        if vendor is not None and total_value:
            tax = vendor.tax * line.value / total_value
        lines.append(
            RefundLine(
                item,
                quantity,
                (line.duty * share).quantize(quantum, ROUND_HALF_UP),
                (tax * share).quantize(quantum, ROUND_HALF_UP),
            )
        )
    paid_duty = original.totals.duty
    paid_vat = vendor.tax if vendor is not None else original.totals.vat
    before_duty = sum((r.duty for r in already), Decimal(0))
    before_vat = sum((r.vat for r in already), Decimal(0))
    after = {**done}
    for refunded in lines:
        after[refunded.item] = after.get(refunded.item, 0) + refunded.quantity
    if lines and all(after.get(i, 0) >= q for i, q in enumerate(quantities)):
        # the last return closes the consignment: give back exactly what is left, whatever the line rounding
        last = lines[-1]
        duty_left = paid_duty - before_duty - sum((x.duty for x in lines[:-1]), Decimal(0))
        vat_left = paid_vat - before_vat - sum((x.vat for x in lines[:-1]), Decimal(0))
        lines[-1] = RefundLine(last.item, last.quantity, duty_left, vat_left)
    duty = min(sum((line.duty for line in lines), Decimal(0)), paid_duty - before_duty)
    vat = min(sum((line.vat for line in lines), Decimal(0)), paid_vat - before_vat)
    if not lines or duty + vat <= 0:
        raise RefundRefused("nothing was paid, or everything is refunded already", reference=original.reference)
    kind: Literal["payment", "vendor_credit"] = "vendor_credit" if vendor is not None else "payment"
    return Refund(
        reference=original.reference,
        currency=original.currency,
        kind=kind,
        scheme_id=vendor.id if vendor else None,
        lines=lines,
        duty=duty,
        vat=vat,
        total=duty + vat,
        on=on,
        rules=original.rules,
    )
