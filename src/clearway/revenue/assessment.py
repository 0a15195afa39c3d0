"""The result of a revenue assessment: duty and taxes by line, totals, payers and the legal basis."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import msgspec

CollectionModel = Literal[
    "buyer_at_border", "vendor_or_platform", "carrier_or_postal", "intermediary_withholding", "exempt"
]


class ChargeLine(msgspec.Struct, frozen=True):
    item: int
    hs_code: str | None
    value: Decimal  # quantity x unit price, in the assessment currency
    customs_value: Decimal  # the duty base: value, transport share (CIF) and valuation factor
    duty_rate: Decimal | None
    duty: Decimal
    tax_rate: Decimal
    tax: Decimal
    relief: str | None  # why less than the full duty and tax is due, when it is
    rate_source: str | None  # the tariff line or rule that set the duty rate
    tax_base: Decimal | None = None  # what tax_rate applies to: value plus duty (plus transport, grossed up)


class Totals(msgspec.Struct, frozen=True):
    """Amounts due at import; `vat` holds VAT, GST and consumption taxes."""

    duty: Decimal
    vat: Decimal
    other: Decimal
    total: Decimal


class VendorLiability(msgspec.Struct, frozen=True):
    """Tax charged at the sale under a scheme (IOSS, UK VAT, LVIG ...), recorded against its id."""

    scheme: str
    id: str
    tax: Decimal


class FxUsed(msgspec.Struct, frozen=True):
    source: str
    target: str
    rate: Decimal
    day: dt.date
    origin: str


class Assessment(msgspec.Struct, frozen=True, omit_defaults=True):
    reference: str
    jurisdiction: str
    destination_country: str
    on: dt.date
    currency: str
    collection_model: CollectionModel
    threshold_value: Decimal
    threshold_currency: str
    totals: Totals
    payers: dict[str, Decimal]
    lines: list[ChargeLine]
    rules: list[str]  # ids of the rules applied: the legal basis
    sources: list[str]
    vendor_liability: VendorLiability | None
    fx: list[FxUsed]
    notes: list[str]
    parts: dict[str, Decimal] = msgspec.field(default_factory=dict)
    """Each duty and tax on its own, where the law rounds them apart (IN: basic duty, surcharge and IGST; JP:
    customs duty, consumption tax and local consumption tax); the totals add them up."""
