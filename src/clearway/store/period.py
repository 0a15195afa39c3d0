"""Reads the records of one period out of the store, as frames in the shapes the KPIs are computed from.

A period holds the consignments first received in it, their latest decision and assessment, their
arrivals and inspections; the submissions received in it; and the refunds made in it. Stored JSON is
decoded reading only what is needed: the short reasons and findings by Polars, column-wise; the long
bodies and assessments by msgspec into the few fields the KPIs read, skipping the rest unbuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec
import polars as pl
import sqlalchemy as sa

from clearway.kpi.inputs import MONEY, TIME, Period
from clearway.store import tables as t
from clearway.store.accounts import holders

AMOUNT = pl.String  # decimals are strings in stored JSON; cast to MONEY once decoded

REASONS = pl.List(pl.Struct({"source": pl.String, "code": pl.String}))
FINDINGS = pl.List(pl.Struct({"code": pl.String}))


def _frame(rows: Sequence[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """Rows into a frame; times as UTC (SQLite hands back naive datetimes, and the store writes UTC)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]  # column-wise: rows are slow
    frame = pl.DataFrame(
        {name: pl.Series(name, values, strict=False) for name, values in zip(schema, columns, strict=True)}
    )
    casts = [_utc(frame, name) if dtype == TIME else pl.col(name).cast(dtype) for name, dtype in schema.items()]
    return frame.select(casts) if frame.height else pl.DataFrame(schema=schema)


def _utc(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype, column = frame.schema[name], pl.col(name)
    if isinstance(dtype, pl.Datetime):
        return (column.dt.convert_time_zone("UTC") if dtype.time_zone else column.dt.replace_time_zone("UTC")).cast(
            TIME
        )
    return column.cast(TIME)  # a column of nulls


def _of_period(conn: sa.Connection, query: Any, column: Any, period: Period) -> list[Any]:
    """`query`'s rows whose consignment (`column`) was first received in the period: one statement, through
    the receipt-time index, rather than the period's ids in lists of a few hundred."""
    c = t.consignments.c
    joined = query.join(t.consignments, c.id == column)
    return list(conn.execute(joined.where(c.received_at >= period.since, c.received_at < period.until)).all())


def read_period(engine: sa.Engine, period: Period) -> dict[str, pl.DataFrame]:
    """The period's records by kind: consignments, reasons, assessments, refunds, inspections and
    submissions (thresholds come from the rule book, not the store)."""
    c, v, d, e, i = t.consignments.c, t.consignment_versions.c, t.decisions.c, t.events.c, t.inspections.c
    r, s = t.refunds.c, t.submissions.c
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(c.id, c.submitter, c.channel, c.dispatch_country, c.destination_country, c.received_at,
                      c.expected_arrival, c.released_at, c.status, c.transport_document_id, v.body)
            .join(t.consignment_versions, sa.and_(v.consignment_id == c.id, v.version == c.version))
            .where(c.received_at >= period.since, c.received_at < period.until)
        ).all()  # fmt: skip
        decided = _of_period(conn, sa.select(d.consignment_id, d.lane, d.reasons, d.decided_at, d.assessment,
                                             d.likelihood).order_by(d.decided_at, d.id), d.consignment_id,
                             period)  # fmt: skip
        first_arrival = sa.func.min(e.at, type_=e.at.type)  # typed: SQLite would hand back text
        arrivals = _of_period(conn, sa.select(e.consignment_id, first_arrival).where(e.type == "arrived")
                              .group_by(e.consignment_id), e.consignment_id, period)  # fmt: skip
        inspected = _of_period(conn, sa.select(i.consignment_id, i.outcome), i.consignment_id, period)
        refunded = conn.execute(
            sa.select(r.consignment_id, r.kind, r.currency, r.duty, r.vat, r.total).where(
                r.refunded_on >= period.start, r.refunded_on <= period.end
            )
        ).all()
        m, h = t.manifests.c, t.manifest_houses.c
        houses = conn.execute(
            sa.select(h.manifest_id, m.master_type, h.state, h.arrived_at)
            .join(t.manifests, m.id == h.manifest_id)
            .where(m.received_at >= period.since, m.received_at < period.until)
        ).all()
        a = t.risk_alerts.c
        exchanged = conn.execute(
            sa.select(a.direction, a.partner, a.alert_id, a.recorded_at, a.expires_at, a.found).where(
                sa.or_(a.recorded_at.between(period.since, period.until),
                       a.expires_at.between(period.since, period.until))
            )
        ).all()  # fmt: skip
        p, ap = t.payables.c, t.appeals.c
        owed = _of_period(conn, sa.select(p.consignment_id, p.kind, p.currency, p.collection_model, p.amount, p.paid,
                                          p.due_on, p.state, p.origin), p.consignment_id, period)  # fmt: skip
        appealed = _of_period(conn, sa.select(ap.consignment_id, ap.state, ap.payable_id.is_not(None),
                                              ap.state.in_(["lodged", "under_review"]) & (ap.review_by < period.end)),
                              ap.consignment_id, period)  # fmt: skip
        guaranteed = [(h["holder"], h["currency"], h["guarantee"], h["drawn"]) for h in holders(conn).values()
                      if h["guarantee"] is not None]  # fmt: skip
        submitted = conn.execute(
            sa.select(s.submitter, s.outcome, s.errors, s.warnings).where(
                s.received_at >= period.since, s.received_at < period.until
            )
        ).all()
    text = pl.String()
    # each consignment's latest decision (the rows come oldest first): its assessment is decoded straight from
    # the row, not copied into a frame first (a hundred megabytes of text on a day of 100,000)
    last = {row[0]: n for n, row in enumerate(decided)}
    decisions = _frame([(*row[:4], row[5]) for row in decided],
                       {"consignment_id": text, "lane": text, "reasons": text, "decided_at": TIME,
                        "likelihood": pl.Float64()})  # fmt: skip
    first = decisions.group_by("consignment_id").agg(pl.col("decided_at").min())
    latest = decisions.group_by("consignment_id", maintain_order=True).last()
    return {
        "consignments": _consignments(stored, first, latest, _frame(arrivals, {"id": text, "arrived_at": TIME})),
        "reasons": latest.select(
            "consignment_id", pl.col("reasons").str.json_decode(REASONS).alias("reason")
        ).explode("reason").drop_nulls("reason").unnest("reason"),
        "assessments": _assessments({cid: decided[n][4] for cid, n in last.items()}),
        "refunds": _frame(refunded, {"consignment_id": text, "kind": text, "currency": text, "duty": MONEY,
                                     "vat": MONEY, "total": MONEY}),
        "inspections": _frame(inspected, {"consignment_id": text, "outcome": text}),
        "houses": _frame(houses, {"manifest_id": text, "master_type": text, "state": text, "arrived_at": TIME}),
        "alerts": _frame(exchanged, {"direction": text, "partner": text, "alert_id": text, "recorded_at": TIME,
                                     "expires_at": TIME, "reported_found": pl.Int64()}),
        "payables": _frame(owed, {"consignment_id": text, "kind": text, "currency": text, "collection_model": text,
                                  "amount": MONEY, "paid": MONEY, "due_on": pl.Date(), "state": text, "origin": text})
        .with_columns(pl.col("origin").str.extract(r"^([a-z]+):", 1)),
        "appeals": _frame(appealed, {"consignment_id": text, "state": text, "on_demand": pl.Boolean(),
                                     "overdue": pl.Boolean()}),
        "guarantees": _frame(guaranteed, {"holder": text, "currency": text, "ceiling": MONEY, "drawn": MONEY}),
        "submissions": _frame(submitted, {"submitter": text, "outcome": text, "errors": text, "warnings": text})
        .with_columns(
            pl.col("errors").str.json_decode(FINDINGS).list.eval(pl.element().struct.field("code")),
            pl.col("warnings").str.json_decode(FINDINGS).list.len().cast(pl.Int64),
        ),
    }  # fmt: skip


class _Item(msgspec.Struct):
    quantity: int
    unit_price: str


class _Order(msgspec.Struct):
    platform: str | None = None


class _Body(msgspec.Struct):
    """What the KPIs read of a stored body: msgspec skips the rest without building it."""

    category: str | None = None
    currency: str | None = None
    order: _Order | None = None
    items: list[_Item] = msgspec.field(default_factory=list)


S = TypeVar("S", bound=msgspec.Struct)


def _lenient(kind: type[S]) -> Callable[[str], S]:
    """Decodes stored JSON into `kind`, reading JSON that does not fit as `kind()` (every field unsaid): one
    damaged record counts as saying nothing rather than failing the period's figures."""
    decoder = msgspec.json.Decoder(kind)

    def decode(text: str) -> S:
        try:
            return decoder.decode(text)
        except msgspec.DecodeError:  # a ValidationError is one too
            return kind()

    return decode


_body = _lenient(_Body)


def _body_facts(ids: list[str], bodies: list[str]) -> pl.DataFrame:
    """Platform, category, currency and intrinsic value (sum of unit price x quantity) of each body, decoded
    by msgspec into only what is read (a Polars JSON decode of the whole bodies took most of a period's read)."""
    decoded = [_body(text) for text in bodies]
    owners = [cid for cid, body in zip(ids, decoded, strict=True) for _ in body.items]
    prices = [item.unit_price for body in decoded for item in body.items]
    quantities = [item.quantity for body in decoded for item in body.items]
    lines = pl.DataFrame({"id": owners, "price": prices, "quantity": quantities},
                         schema={"id": pl.String, "price": pl.String, "quantity": pl.Int64})  # fmt: skip
    values = lines.group_by("id").agg((pl.col("price").cast(MONEY) * pl.col("quantity")).sum().cast(MONEY))
    facts = pl.DataFrame(
        {"id": ids, "platform": [b.order.platform if b.order else None for b in decoded],
         "category": [b.category for b in decoded], "currency": [b.currency for b in decoded]},
        schema={"id": pl.String, "platform": pl.String, "category": pl.String, "currency": pl.String},
    )  # fmt: skip
    return facts.join(values.rename({"price": "value"}), on="id", how="left", maintain_order="left").with_columns(
        pl.col("value").fill_null(pl.lit(0).cast(MONEY))
    )


def _consignments(
    stored: Sequence[Any], first: pl.DataFrame, latest: pl.DataFrame, arrivals: pl.DataFrame
) -> pl.DataFrame:
    text = pl.String()
    frame = _frame([r[:-1] for r in stored],
                   {"id": text, "submitter": text, "channel": text, "origin": text, "destination": text,
                    "received_at": TIME, "expected_arrival": TIME, "released_at": TIME, "status": text,
                    "transport_document_id": text})  # fmt: skip
    facts = _body_facts([r[0] for r in stored], [r[-1] for r in stored])
    return (
        frame.join(facts, on="id", how="left", maintain_order="left")
        .join(first, left_on="id", right_on="consignment_id", how="left")
        .join(latest.select("consignment_id", "lane", "likelihood"), left_on="id", right_on="consignment_id",
              how="left")
        .join(arrivals, on="id", how="left")
    )  # fmt: skip


class _Totals(msgspec.Struct):
    duty: str | None = None
    vat: str | None = None
    other: str | None = None


class _Vendor(msgspec.Struct):
    tax: str | None = None


class _Assessment(msgspec.Struct):
    """What the KPIs read of a stored assessment: msgspec skips its lines, sources and rates without building
    them (a Polars JSON decode of the whole assessments took 5.4 s of a 100,000-parcel period's read, msgspec
    1.2 s)."""

    jurisdiction: str | None = None
    currency: str | None = None
    collection_model: str | None = None
    totals: _Totals = msgspec.field(default_factory=_Totals)
    threshold_value: str | None = None
    threshold_currency: str | None = None
    rules: list[str] = msgspec.field(default_factory=list)
    vendor_liability: _Vendor | None = None


_assessment = _lenient(_Assessment)


def _assessments(latest: dict[str, str | None]) -> pl.DataFrame:
    """What the KPIs read of each consignment's latest assessment (its stored JSON; None: not assessed)."""
    ids = [cid for cid, text in latest.items() if text is not None]
    decoded = [_assessment(text) for text in latest.values() if text is not None]
    text = pl.String()
    frame = pl.DataFrame(
        {
            "consignment_id": ids,
            "jurisdiction": [a.jurisdiction for a in decoded],
            "currency": [a.currency for a in decoded],
            "collection_model": [a.collection_model for a in decoded],
            "duty": [a.totals.duty for a in decoded],
            "vat": [a.totals.vat for a in decoded],
            "other": [a.totals.other for a in decoded],
            "vendor_tax": [a.vendor_liability.tax if a.vendor_liability else None for a in decoded],
            "threshold_value": [a.threshold_value for a in decoded],
            "threshold_currency": [a.threshold_currency for a in decoded],
            "rule": [a.rules[0] if a.rules else None for a in decoded],
        },
        schema={"consignment_id": text, "jurisdiction": text, "currency": text, "collection_model": text, "duty": text,
                "vat": text, "other": text, "vendor_tax": text, "threshold_value": text, "threshold_currency": text,
                "rule": text},
    )  # fmt: skip
    return frame.with_columns(
        *(pl.col(k).cast(MONEY) for k in ("duty", "vat", "other", "threshold_value")),
        pl.col("vendor_tax").cast(MONEY).fill_null(0),
    )
