"""What the KPIs are computed from: one frame per kind of record of a period, in fixed schemas.

The store (or a test) fills these frames; the KPI functions read nothing else. Amounts are decimals,
times are UTC datetimes, and a consignment's "hit" is what an inspection found, never a guess.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from clearway.revenue.rules import Rule

MONEY = pl.Decimal(18, 4)
TIME = pl.Datetime("us", "UTC")

CONSIGNMENTS: dict[str, pl.DataType] = {
    "id": pl.String(),
    "submitter": pl.String(),
    "channel": pl.String(),
    "origin": pl.String(),  # the dispatch country
    "destination": pl.String(),
    "platform": pl.String(),  # the order's platform, null when none was named
    "category": pl.String(),  # sale_of_goods, gift, returned_goods ...
    "currency": pl.String(),  # of the declared values
    "value": MONEY,  # intrinsic value: quantity x unit price over the items, in `currency`
    "received_at": TIME,  # first receipt of the advance data
    "decided_at": TIME,  # first decision
    "expected_arrival": TIME,  # as the submitter announced it
    "arrived_at": TIME,  # as reported on arrival
    "released_at": TIME,
    "lane": pl.String(),  # the lane of the latest decision (before any officer re-routing)
    "likelihood": pl.Float64(),  # that an inspection finds an infringement, as selectivity stated it in the latest
    # decision (null where none was stated)
    "status": pl.String(),
    "transport_document_id": pl.String(),  # one parcel; several filers of it are one dossier
}

REASONS: dict[str, pl.DataType] = {
    "consignment_id": pl.String(),
    "source": pl.String(),  # rule, detector, screening, model, random, aeo
    "code": pl.String(),
}

ASSESSMENTS: dict[str, pl.DataType] = {
    "consignment_id": pl.String(),
    "jurisdiction": pl.String(),
    "currency": pl.String(),  # the destination's, in which the amounts are
    "collection_model": pl.String(),
    "duty": MONEY,
    "vat": MONEY,  # VAT, GST and consumption taxes due at import
    "other": MONEY,
    "vendor_tax": MONEY,  # tax charged at the sale under a scheme (IOSS and the like), 0 when none
    "threshold_value": MONEY,  # the value the jurisdiction compares with its thresholds
    "threshold_currency": pl.String(),
    "rule": pl.String(),  # the jurisdiction rule applied
}

THRESHOLDS: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "threshold": pl.String(),  # duty, tax, vendor collection, carrier collection ...
    "amount": MONEY,  # in the rule's threshold currency
}

REFUNDS: dict[str, pl.DataType] = {
    "consignment_id": pl.String(),
    "kind": pl.String(),  # payment, vendor_credit
    "currency": pl.String(),
    "duty": MONEY,
    "vat": MONEY,
    "total": MONEY,
}

INSPECTIONS: dict[str, pl.DataType] = {
    "consignment_id": pl.String(),
    "outcome": pl.String(),  # compliant, infringement
}

ALERTS: dict[str, pl.DataType] = {
    "direction": pl.String(),  # out: issued by this office; in: received from a partner
    "partner": pl.String(),
    "alert_id": pl.String(),
    "recorded_at": TIME,  # issued, or loaded, here
    "expires_at": TIME,
    "reported_found": pl.Int64(),  # out: infringements the partner reported finding with it
}

HOUSES: dict[str, pl.DataType] = {
    "manifest_id": pl.String(),
    "master_type": pl.String(),  # mawb, cmr, cim, s8
    "state": pl.String(),  # expected, arrived, arrived_without_data (still none filed)
    "arrived_at": TIME,
}

PAYABLES: dict[str, pl.DataType] = {
    "consignment_id": pl.String(),
    "kind": pl.String(),  # assessment, demand, penalty, refund
    "currency": pl.String(),
    "collection_model": pl.String(),
    "amount": MONEY,  # negative for a refund owed back
    "paid": MONEY,  # placed on it by payments (paid out, for a refund)
    "due_on": pl.Date(),
    "state": pl.String(),  # open, part_paid, paid, overpaid, refund_due, refunded, cancelled
    "origin": pl.String(),  # inspection, audit or appeal (what made a demand or refund); null for an assessment
}

APPEALS: dict[str, pl.DataType] = {
    "consignment_id": pl.String(),
    "state": pl.String(),  # lodged, under_review, upheld, annulled, partly_annulled
    "on_demand": pl.Boolean(),  # against a demand (else against a decision)
    "overdue": pl.Boolean(),  # still undecided after its review date, as of the period's end
}

GUARANTEES: dict[str, pl.DataType] = {
    "holder": pl.String(),
    "currency": pl.String(),
    "ceiling": MONEY,
    "drawn": MONEY,  # outstanding on the parcels it secures
}

SUBMISSIONS: dict[str, pl.DataType] = {
    "submitter": pl.String(),
    "outcome": pl.String(),  # registered, amended, unchanged, rejected
    "errors": pl.List(pl.String),  # the error codes of a rejected submission
    "warnings": pl.Int64(),  # data-quality warnings on it
}


@dataclass(frozen=True)
class Period:
    """Calendar days, both included, in UTC."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), dt.UTC)

    @property
    def until(self) -> dt.datetime:
        """The first instant after the period."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), dt.UTC)


@dataclass(frozen=True)
class KpiInput:
    """The records of one period: consignments received in it, and what belongs to them."""

    period: Period
    consignments: pl.DataFrame
    reasons: pl.DataFrame
    assessments: pl.DataFrame
    thresholds: pl.DataFrame
    refunds: pl.DataFrame
    inspections: pl.DataFrame
    submissions: pl.DataFrame
    alerts: pl.DataFrame
    houses: pl.DataFrame
    payables: pl.DataFrame
    appeals: pl.DataFrame
    guarantees: pl.DataFrame
    arrival_grace: dt.timedelta = dt.timedelta(hours=24)  # a filing not arrived this long after its declared
    # arrival is reported

    @classmethod
    def of(
        cls, period: Period, *, arrival_grace: dt.timedelta = dt.timedelta(hours=24),
        **frames: pl.DataFrame | list[dict[str, object]],
    ) -> KpiInput:  # fmt: skip
        """Frames in the fixed schemas, from frames or lists of rows; a kind left out is empty."""
        schemas = {
            "consignments": CONSIGNMENTS, "reasons": REASONS, "assessments": ASSESSMENTS, "thresholds": THRESHOLDS,
            "refunds": REFUNDS, "inspections": INSPECTIONS, "submissions": SUBMISSIONS, "alerts": ALERTS,
            "houses": HOUSES, "payables": PAYABLES, "appeals": APPEALS, "guarantees": GUARANTEES,
        }  # fmt: skip
        unknown = set(frames) - set(schemas)
        if unknown:
            raise TypeError(f"unknown record kinds: {sorted(unknown)}")
        built: dict[str, pl.DataFrame] = {}
        for name, schema in schemas.items():
            given = frames.get(name, [])
            frame = given if isinstance(given, pl.DataFrame) else pl.DataFrame(given, schema=schema, orient="row")
            missing = set(schema) - set(frame.columns)
            frame = frame.with_columns(pl.lit(None).alias(c) for c in missing)
            built[name] = frame.select(list(schema)).cast(schema)  # type: ignore[arg-type]
        return cls(period=period, arrival_grace=arrival_grace, **built)


def threshold_rows(rules: Iterable[Rule]) -> list[dict[str, object]]:
    """The thresholds of each jurisdiction rule, by name, in the rule's threshold currency."""
    rows: list[dict[str, object]] = []
    for rule in rules:
        named = {
            "duty": rule.duty_threshold, "tax": rule.tax_threshold, "vendor collection": rule.vendor_cutoff,
            "carrier collection": rule.carrier_cutoff, "intermediary collection": rule.intermediary_cutoff,
        }  # fmt: skip
        rows += [{"rule": rule.id, "threshold": name, "amount": amount} for name, amount in named.items() if amount]
    return rows
