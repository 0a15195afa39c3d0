"""Guarantees and deferred accounts. A carrier, post or intermediary may hold a guarantee with a ceiling:
each parcel released whose duty and tax it pays draws on the headroom, each payment restores it; a parcel
that would pass the ceiling is held (`guarantee_exhausted`) until payments make room. The EU's special
arrangements for import VAT (VAT Directive arts. 369y-369zb) come out as a monthly statement: the VAT the
carrier or post collected on parcels released that month, less the parcels it could not deliver."""

from __future__ import annotations

from decimal import Decimal

GUARANTEE_EXHAUSTED = "guarantee_exhausted"


def fits(ceiling: Decimal, drawn: Decimal, amount: Decimal) -> bool:
    """Whether `amount` more can be drawn on a guarantee of `ceiling` with `drawn` outstanding."""
    return drawn + amount <= ceiling


def headroom(ceiling: Decimal, drawn: Decimal) -> Decimal:
    return max(Decimal(0), ceiling - drawn)
