"""Gathers, for one batch, what the store remembers that its detectors read (`pipeline.History`):

- earlier parcels of the same day to the batch's consignees (split shipments across batches);
- the batch's parties that earlier parcels were found infringing or seized for (repeat offenders);
- earlier assessments of the batch's consignees, the same day and, where a rule has an annual limit, the
  same year (revenue: same-day aggregation and China's annual allowance, across batches);
- the usual unit value per HS subheading from accepted history (undervaluation), recomputed at most
  every `UNIT_VALUES_TTL` over the last `UNIT_VALUES_DAYS` days, since it moves slowly and costs a scan;
- each hit's measured record (selectivity's likelihood): of the consignments that carried a profile,
  detector, watch-list entry or model band and were inspected in the last `HIT_RATES_DAYS` days, how many
  were found infringing; recomputed at most every `UNIT_VALUES_TTL`;
- how far the day's capacity is used: consignments of the as-of day decided, and stopped, before the batch
  (counted in the store at most every `UNIT_VALUES_TTL`, and kept current in between by `count_decided`),
  and the expected values of the day's discretionary stops so far (this process's, kept in memory);
- partners' risk alerts, the batch's parties they name, and authorised-operator lists by status date
  (`services/cooperation.py`, read at most every minute).

Parties are matched on keyed hashes only; a consignment in the batch never counts as its own history.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
import polars as pl
import sqlalchemy as sa

from clearway.bootstrap import App
from clearway.pipeline import BatchRow, History
from clearway.pipeline.history import (
    ASSESSED,
    COMBINATIONS,
    FILINGS,
    HIT_RATES,
    LOADING,
    OFFENDERS,
    PARCELS,
    UNIT_VALUES,
)
from clearway.risk.detectors import UndervaluationDetector, usd_rates
from clearway.services.cooperation import partner_history
from clearway.store import tables as t
from clearway.store.bulk import chunked
from clearway.store.cooperation import exports_for
from clearway.store.manifests import loading_of
from clearway.store.period import AMOUNT
from clearway.store.repository import as_utc

UNIT_VALUES_TTL = dt.timedelta(minutes=15)
UNIT_VALUES_DAYS = 90
UNIT_VALUES_LINES = 200_000  # the most recent accepted consignments a reference is computed from
UNIT_VALUES_KEEP = 5_000  # lines from which a reference is worth keeping between batches
HIT_RATES_DAYS = 365
ITEMS = pl.Struct({"currency": pl.String, "items": pl.List(pl.Struct({"hs_code": pl.String, "unit_price": AMOUNT}))})
VALUE = pl.Struct({"currency": pl.String, "items": pl.List(pl.Struct({"quantity": pl.Int64, "unit_price": AMOUNT}))})


class _Finding(msgspec.Struct):
    kind: str


_FINDINGS = msgspec.json.Decoder(list[_Finding])


class _Code(msgspec.Struct):
    code: str
    source: str


SIGNALS = frozenset({"rule", "detector", "screening", "model"})
"""Reason sources that are a hit of their own (not selectivity's, the random draw's or the AEO note)."""


_CODES = msgspec.json.Decoder(list[_Code])


class _Assessed(msgspec.Struct):
    rules: list[str]
    threshold_value: Decimal


_ASSESSED = msgspec.json.Decoder(_Assessed)


class _Line(msgspec.Struct):
    quantity: int
    unit_price: Decimal
    hs_code: str | None = None


class _Filed(msgspec.Struct):
    currency: str
    items: list[_Line]


_FILED = msgspec.json.Decoder(_Filed)


def gatherer(app: App) -> HistoryGatherer:
    """The application's gatherer (made on first use, then kept)."""
    found = app.caches.get("risk_history")
    if not isinstance(found, HistoryGatherer):
        found = app.caches.setdefault("risk_history", HistoryGatherer(app))
    assert isinstance(found, HistoryGatherer)
    return found


def gather(app: App, rows: Sequence[BatchRow], as_of: dt.datetime) -> History:
    """The batch's history, through the application's gatherer."""
    return gatherer(app)(rows, as_of)


def infringing() -> Any:
    """Consignments an inspection found infringing."""
    i = t.inspections.c
    return sa.select(i.consignment_id).where(i.outcome == "infringement")


class HistoryGatherer:
    """One per application: it caches the unit-value reference between batches."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._unit_values: tuple[dt.datetime, pl.DataFrame] | None = None
        self._hit_rates: tuple[dt.datetime, tuple[pl.DataFrame, pl.DataFrame]] | None = None
        self._day: tuple[dt.date, dt.datetime, int, int] | None = None  # day, counted at, decided, stopped
        self._candidates: tuple[dt.date, list[float], list[int]] | None = None  # day, ranks, [decided, explored]
        self._yesterday: tuple[dt.date, int, float] | None = None  # the day, decided, its final cut

    def __call__(self, rows: Sequence[BatchRow], as_of: dt.datetime) -> History:
        if not rows:
            return History()
        batch = {r.key for r in rows}
        with self.app.store.engine.connect() as conn:
            parcels = self._parcels(conn, rows, batch)
            offenders = self._offenders(conn, rows, batch)
            assessed = self._assessed(conn, rows, batch)
            exports = exports_for(conn, sorted({r.consignment.transport_document.id for r in rows}))
            filings = self._filings(conn, rows, batch)
            loading = pl.DataFrame(loading_of(conn, sorted({r.consignment.transport_document.id for r in rows})),
                                   schema=LOADING, orient="row")  # fmt: skip
        operators, alerts, alert_parties = partner_history(self.app, rows)
        decided, stopped = self.day_so_far(as_of, batch)
        hit_rates, combinations = self.records(as_of)
        with self._lock:
            if self._candidates is None or self._candidates[0] != as_of.date():
                self._close_day(as_of.date())
            assert self._candidates is not None
            pool, before, explored = tuple(self._candidates[1]), self._yesterday, self._candidates[2][1]
        yesterday = before[1:] if before and before[0] == as_of.date() - dt.timedelta(days=1) else None
        return History(parcels=parcels, offenders=offenders, unit_values=self.unit_values(as_of), assessed=assessed,
                       exports=exports, hit_rates=hit_rates, combinations=combinations, day_decided=decided,
                       day_stopped=stopped, day_candidates=pool, day_explored=explored,
                       yesterday=yesterday, operators=operators, alerts=alerts,
                       alert_parties=alert_parties, filings=filings, loading=loading)  # fmt: skip

    def day_so_far(self, as_of: dt.datetime, batch: set[str]) -> tuple[int, int]:
        """Consignments of the as-of day decided, and stopped, before the batch."""
        day = as_of.date()
        with self._lock:
            known = self._day
            if known is not None and known[0] == day and known[1] <= as_of <= known[1] + UNIT_VALUES_TTL:
                return known[2], known[3]
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        c = t.consignments.c
        stop = sa.case((c.lane.in_(["yellow", "red"]), 1), else_=0)
        with self.app.store.engine.connect() as conn:
            decided, stopped = conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(stop), 0)).where(
                    c.received_at >= start, c.received_at <= as_of, c.lane.is_not(None)
                )
            ).one()
        in_batch = len(batch)  # a batch assessed again (amended, retried) may be among them: count it once
        decided = max(0, int(decided) - in_batch) if in_batch and decided >= in_batch else int(decided)
        with self._lock:
            self._day = (day, as_of, decided, int(stopped))
        return decided, int(stopped)

    def count_decided(self, as_of: dt.datetime, decisions: pl.DataFrame) -> None:
        """Keep the day's tally current between counts in the store."""
        stopped = int(decisions["lane"].is_in(["yellow", "red"]).sum()) if "lane" in decisions.columns else 0
        ranks = (
            decisions.filter("discretionary")["expected_value"].to_list()
            if {"discretionary", "expected_value"} <= set(decisions.columns) else []
        )  # fmt: skip
        with self._lock:
            if self._day is not None and self._day[0] == as_of.date():
                day, counted_at, decided, before = self._day
                self._day = (day, counted_at, decided + decisions.height, before + stopped)
            if self._candidates is None or self._candidates[0] != as_of.date():
                self._close_day(as_of.date())
            assert self._candidates is not None
            self._candidates[1].extend(ranks)
            self._candidates[2][0] += decisions.height
            self._candidates[2][1] += int(decisions["explored"].sum()) if "explored" in decisions.columns else 0

    def _close_day(self, day: dt.date) -> None:
        """Start `day`'s pool; the day before ends with the cut its pool and volume set (the lock is held)."""
        settings, done = self.app.selectivity, self._candidates
        if done is not None and settings is not None and done[0] == day - dt.timedelta(days=1) and done[2][0]:
            self._yesterday = (done[0], done[2][0], settings.cut(sorted(done[1], reverse=True), done[2][0]))
        self._candidates = (day, [], [0, 0])

    def _filings(self, conn: sa.Connection, rows: Sequence[BatchRow], batch: set[str]) -> pl.DataFrame:
        """Other open filings of the batch's transport documents (another filer's, or an earlier batch's)."""
        documents = sorted({r.consignment.transport_document.id for r in rows})
        c, v = t.consignments.c, t.consignment_versions.c
        consignee = t.party_keys.alias("consignee")
        query = (
            sa.select(c.id, c.transport_document_id, c.submitter, v.body, consignee.c.key)
            .join(t.consignment_versions, sa.and_(v.consignment_id == c.id, v.version == c.version))
            .join(consignee, sa.and_(consignee.c.consignment_id == c.id, consignee.c.role == "consignee"), isouter=True)
            .where(c.status.not_in(["invalidated"]))
        )  # fmt: skip
        found = []
        for chunk in chunked(documents):
            for cid, document, filer, body, key in conn.execute(query.where(c.transport_document_id.in_(chunk))):
                if cid in batch:
                    continue
                doc = _FILED.decode(body)
                value = sum(float(i.unit_price) * i.quantity for i in doc.items)
                chapters = sorted({i.hs_code[:2] for i in doc.items if i.hs_code})
                found.append((document, cid, filer, doc.currency, value, chapters, key))
        return pl.DataFrame(found, schema=FILINGS, orient="row")

    def _assessed(self, conn: sa.Connection, rows: Sequence[BatchRow], batch: set[str]) -> pl.DataFrame:
        """Earlier assessments of the batch's consignees: the same day, and the same year where the
        destination has an annual limit."""
        who = sorted({r.party_keys["consignee"] for r in rows if r.party_keys and "consignee" in r.party_keys})
        if not who:
            return pl.DataFrame(schema=ASSESSED)
        first = min(as_utc(r.received_at) for r in rows).date()
        day = dt.datetime.combine(first, dt.time(), dt.UTC)
        year = dt.datetime.combine(first.replace(month=1, day=1), dt.time(), dt.UTC)
        annual = sorted({c for r in self.app.revenue.rules.rules if r.intermediary_annual for c in r.countries})
        c, d, p = t.consignments.c, t.decisions.c, t.party_keys.c
        query = (
            sa.select(c.id, c.destination_country, c.received_at, p.key, d.decided_at, d.assessment)
            .join(t.party_keys, sa.and_(p.consignment_id == c.id, p.role == "consignee"))
            .join(t.decisions, sa.and_(d.consignment_id == c.id, d.version == c.version))
            .where(d.assessment.is_not(None), c.status.not_in(["invalidated", "returned_to_sender"]),
                   sa.or_(c.received_at >= day, sa.and_(c.destination_country.in_(annual), c.received_at >= year)))
        )  # fmt: skip
        latest: dict[str, Any] = {}
        for chunk in chunked(who):
            for row in conn.execute(query.where(p.key.in_(chunk))):
                if row[0] not in batch and (row[0] not in latest or row[4] > latest[row[0]][4]):
                    latest[row[0]] = row
        found = []
        for cid, destination, received_at, key, _, text in latest.values():
            assessment = _ASSESSED.decode(text)
            found.append((cid, destination, key, as_utc(received_at), assessment.rules[0], assessment.threshold_value))
        return pl.DataFrame(
            found, schema=["key", "destination_country", "who", "received_at", "rule", "threshold_value"], orient="row"
        ).cast(ASSESSED)  # type: ignore[arg-type]

    def _parcels(self, conn: sa.Connection, rows: Sequence[BatchRow], batch: set[str]) -> pl.DataFrame:
        who = sorted({r.party_keys["consignee"] for r in rows if r.party_keys and "consignee" in r.party_keys})
        if not who:
            return pl.DataFrame(schema=PARCELS)
        since = dt.datetime.combine(min(as_utc(r.received_at) for r in rows).date(), dt.time(), dt.UTC)
        c, v = t.consignments.c, t.consignment_versions.c
        consignee, seller = t.party_keys.alias("consignee"), t.party_keys.alias("seller")
        query = (
            sa.select(c.id, c.destination_country, c.received_at, consignee.c.key, seller.c.key, v.body)
            .join(consignee, sa.and_(consignee.c.consignment_id == c.id, consignee.c.role == "consignee"))
            .join(seller, sa.and_(seller.c.consignment_id == c.id, seller.c.role == "seller"))
            .join(t.consignment_versions, sa.and_(v.consignment_id == c.id, v.version == c.version))
            .where(c.received_at >= since, c.status != "invalidated")
        )
        found = [
            row for chunk in chunked(who) for row in conn.execute(query.where(consignee.c.key.in_(chunk)))
            if row[0] not in batch
        ]  # fmt: skip
        if not found:
            return pl.DataFrame(schema=PARCELS)
        item = pl.element().struct
        frame = pl.DataFrame(
            [(r[0], r[1], as_utc(r[2]), r[3], r[4], r[5]) for r in found],
            schema=["key", "destination_country", "received_at", "who", "seller", "body"], orient="row",
        )  # fmt: skip
        body = pl.col("body").str.json_decode(VALUE)
        return frame.with_columns(
            body.struct.field("currency").alias("currency"),
            body.struct.field("items").list.eval(item.field("unit_price").cast(pl.Float64) * item.field("quantity"))
            .list.sum().alias("value"),
        ).select(list(PARCELS)).cast(PARCELS)  # type: ignore[arg-type]  # fmt: skip

    def _offenders(self, conn: sa.Connection, rows: Sequence[BatchRow], batch: set[str]) -> pl.DataFrame:
        keys = sorted({k for r in rows if r.party_keys for k in r.party_keys.values()})
        if not keys:
            return pl.DataFrame(schema=OFFENDERS)
        c, p, i = t.consignments.c, t.party_keys.c, t.inspections.c
        bad = sa.or_(c.status == "seized", c.id.in_(infringing()))
        query = (
            sa.select(p.role, p.key, c.id, c.status, c.updated_at)
            .join(t.consignments, c.id == p.consignment_id)
            .where(bad)
        )
        found = [
            row for chunk in chunked(keys) for row in conn.execute(query.where(p.key.in_(chunk))) if row[2] not in batch
        ]
        if not found:
            return pl.DataFrame(schema=OFFENDERS)
        ids = sorted({row[2] for row in found})
        kinds: dict[str, set[str]] = {}
        for chunk in chunked(ids):
            for cid, findings in conn.execute(
                sa.select(i.consignment_id, i.findings).where(i.consignment_id.in_(chunk), i.outcome == "infringement")
            ):
                kinds.setdefault(cid, set()).update(f.kind for f in _FINDINGS.decode(findings))
        frame = pl.DataFrame(
            [(role, key, cid, status, as_utc(at), sorted(kinds.get(cid, ()))) for role, key, cid, status, at in found],
            schema={"role": pl.String, "party_key": pl.String, "id": pl.String, "status": pl.String,
                    "at": pl.Datetime("us", "UTC"), "kinds": pl.List(pl.String)},
            orient="row",
        )  # fmt: skip
        return (
            frame.group_by("role", "party_key")
            .agg(
                pl.col("id").filter(pl.col("kinds").list.len() > 0).n_unique().alias("infringements"),
                pl.col("id").filter(pl.col("status") == "seized").n_unique().alias("seizures"),
                pl.col("kinds").list.explode(keep_nulls=False, empty_as_null=False).unique().sort().alias("kinds"),
                pl.col("at").max().alias("last_at"),
            )
            .select(list(OFFENDERS))
            .cast(OFFENDERS)  # type: ignore[arg-type]
        )

    def unit_values(self, as_of: dt.datetime) -> pl.DataFrame:
        """The reference, kept for `UNIT_VALUES_TTL` once it rests on `UNIT_VALUES_KEEP` lines or more; a
        young store is scanned again for each batch (cheaply), so its first accepted lines count at once."""
        with self._lock:
            cached = self._unit_values
            if cached is not None and cached[0] <= as_of <= cached[0] + UNIT_VALUES_TTL:
                return cached[1]
            reference = self._compute_unit_values(as_of)
            keep = int(reference["n"].sum()) >= UNIT_VALUES_KEEP
            self._unit_values = (as_of, reference) if keep else None
            return reference

    def records(self, as_of: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Each hit's record and each combination's, kept for `UNIT_VALUES_TTL` (a day's inspections move
        them slowly)."""
        with self._lock:
            cached = self._hit_rates
            if cached is not None and cached[0] <= as_of <= cached[0] + UNIT_VALUES_TTL:
                return cached[1]
            records = self.compute_records(as_of)
            self._hit_rates = (as_of, records)
            return records

    def compute_hit_rates(self, as_of: dt.datetime) -> pl.DataFrame:
        """Each hit's record, counted afresh."""
        return self.compute_records(as_of)[0]

    def compute_records(self, as_of: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Per code among the reasons of the decisions that put inspected consignments where they were: the
        consignments inspected, and those an inspection found infringing; the same where the code was the
        consignment's only profile, detector, watch-list or model hit; and per combination of such hits."""
        c, d, i = t.consignments.c, t.decisions.c, t.inspections.c
        query = (
            sa.select(i.consignment_id, i.outcome, d.reasons)
            .join(t.consignments, c.id == i.consignment_id)
            .join(t.decisions, sa.and_(d.consignment_id == c.id, d.version == c.version))
            .where(i.at >= as_of - dt.timedelta(days=HIT_RATES_DAYS), i.at <= as_of)
        )
        found: dict[str, bool] = {}
        codes: dict[str, set[str]] = {}
        with self.app.store.engine.connect() as conn:
            for cid, outcome, reasons in conn.execute(query):
                found[cid] = found.get(cid, False) or outcome == "infringement"
                codes.setdefault(cid, set()).update(r.code for r in _CODES.decode(reasons) if r.source in SIGNALS)
        rows = [(code, hit, len(codes[cid]) == 1) for cid, hit in found.items() for code in codes[cid]]
        if not rows:
            return pl.DataFrame(schema=HIT_RATES), pl.DataFrame(schema=COMBINATIONS)
        frame = pl.DataFrame(rows, schema=["code", "hit", "alone"], orient="row")
        per_code = (
            frame.group_by("code")
            .agg(pl.len().alias("inspected"), pl.col("hit").sum().alias("found"),
                 pl.col("alone").sum().alias("alone_inspected"),
                 (pl.col("hit") & pl.col("alone")).sum().alias("alone_found"))
            .select(list(HIT_RATES))
            .cast(HIT_RATES)  # type: ignore[arg-type]
        )  # fmt: skip
        together = pl.DataFrame(
            [("+".join(sorted(codes[cid])), hit) for cid, hit in found.items() if codes[cid]],
            schema=["signals", "hit"], orient="row",
        )  # fmt: skip
        per_combination = (
            together.group_by("signals")
            .agg(pl.len().alias("inspected"), pl.col("hit").sum().alias("found"))
            .select(list(COMBINATIONS))
            .cast(COMBINATIONS)  # type: ignore[arg-type]
        )
        return per_code, per_combination

    def _compute_unit_values(self, as_of: dt.datetime) -> pl.DataFrame:
        """Log USD unit values per HS6 over recent accepted lines: not invalidated, not found infringing."""
        c, v = t.consignments.c, t.consignment_versions.c
        query = (
            sa.select(v.body)
            .join(t.consignments, sa.and_(v.consignment_id == c.id, v.version == c.version))
            .where(c.received_at >= as_of - dt.timedelta(days=UNIT_VALUES_DAYS), c.received_at < as_of,
                   c.status.not_in(["invalidated", "seized"]), c.id.not_in(infringing()))
            .order_by(c.received_at.desc())
            .limit(UNIT_VALUES_LINES)
        )  # fmt: skip
        with self.app.store.engine.connect() as conn:
            bodies = [row[0] for row in conn.execute(query)]
        if not bodies:
            return pl.DataFrame(schema=UNIT_VALUES)
        item = pl.col("items").struct
        lines = (
            pl.DataFrame({"body": bodies})
            .select(pl.col("body").str.json_decode(ITEMS).struct.unnest())
            .explode("items")
            .drop_nulls("items")
            .select("currency", item.field("hs_code").str.slice(0, 6).alias("hs6"),
                    item.field("unit_price").cast(pl.Float64).alias("price"))
        )  # fmt: skip
        usd = usd_rates(self.app.revenue.rates, lines["currency"].unique().to_list(), as_of.date())
        items = lines.with_columns(
            (pl.col("price") * pl.col("currency").replace_strict(usd, default=None)).alias("unit_usd")
        ).filter(pl.col("unit_usd").is_not_null() & pl.col("hs6").is_not_null())
        reference = UndervaluationDetector(self.app.revenue.rates).reference(items)
        return reference.select(list(UNIT_VALUES)).cast(UNIT_VALUES)  # type: ignore[arg-type]
