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
- the batch's consignments stopped for a control before their filer amended them or filed them again (a stop
  stands while the new filing still asks for one);
- partners' risk alerts, the batch's parties they name, and authorised-operator lists by status date
  (`services/cooperation.py`, read at most every minute).

Parties are matched on keyed hashes only; a consignment in the batch never counts as its own history.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

import msgspec
import polars as pl

from clearway.bootstrap import App
from clearway.pipeline import BatchRow, History
from clearway.pipeline.history import (
    COMBINATIONS,
    DECLARED_VALUES,
    HIT_RATES,
    TEXTS,
    UNIT_VALUES,
)
from clearway.risk.detectors import UndervaluationDetector, declarant, goods, usd_rates
from clearway.risk.selectivity import AREA_CANDIDATE, AREA_STOP, CANDIDATE_RANK, PER_PARTY, SIGNALS
from clearway.services.cooperation import partner_history
from clearway.store import risk_history as kept

UNIT_VALUES_TTL = dt.timedelta(minutes=15)
UNIT_VALUES_DAYS = 90
UNIT_VALUES_LINES = 200_000  # the most recent accepted consignments a reference is computed from
UNIT_VALUES_KEEP = 5_000  # lines from which a reference is worth keeping between batches
HIT_RATES_DAYS = 365


class _Identifier(msgspec.Struct):
    scheme: str | None = None
    value: str | None = None


class _Address(msgspec.Struct):
    country: str | None = None


class _Seller(msgspec.Struct):
    name: str | None = None
    address: _Address | None = None
    identifiers: list[_Identifier] | None = None


class _Line(msgspec.Struct):
    description: str | None = None
    hs_code: str | None = None
    unit_price: str | float | None = None  # a decimal, a string in stored JSON


class _Accepted(msgspec.Struct):
    """What the unit-value references read of an accepted body: its currency, category and seller, and its
    lines' goods and prices (msgspec skips the rest, four times faster than Polars' JSON decoding of them)."""

    currency: str | None = None
    category: str | None = None
    seller: _Seller | None = None
    items: list[_Line | None] | None = None


_ACCEPTED = msgspec.json.Decoder(_Accepted)
LINES = {"currency": pl.String, "category": pl.String, "seller_name": pl.String, "seller_country": pl.String,
         "seller_identifier": pl.String, "hs_code": pl.String, "description": pl.String,
         "price": pl.Float64}  # fmt: skip
"""The accepted lines the unit-value references are computed from."""


class _Code(msgspec.Struct):
    code: str
    source: str


_CODES = msgspec.json.Decoder(list[_Code])


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


class HistoryGatherer:
    """One per application: it caches the unit-value reference between batches."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._unit_values: tuple[dt.datetime, tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]] | None = None
        self._hit_rates: tuple[dt.datetime, tuple[pl.DataFrame, pl.DataFrame]] | None = None
        self._day: tuple[dt.date, dt.datetime, int, int] | None = None  # day, counted at, decided, stopped
        # day, ranks, [decided, explored, mandatory stops], explored per combination of hits, and per priority area
        # risk [infringements its flagged parcels are expected to hold, stops]
        self._candidates: tuple[dt.date, list[float], list[int], dict[str, int], dict[str, list[float]]] | None = None
        self._yesterday: tuple[dt.date, int, float, int] | None = None  # the day, decided, its final cut, mandatory

    def __call__(self, rows: Sequence[BatchRow], as_of: dt.datetime) -> History:
        if not rows:
            return History()
        batch = {r.key for r in rows}
        annual = sorted({c for r in self.app.revenue.rules.rules if r.intermediary_annual for c in r.countries})
        stored = kept.of_batch(self.app.store.engine, rows, annual)
        operators, alerts, alert_parties = partner_history(self.app, rows)
        decided, stopped = self.day_so_far(as_of, batch)
        hit_rates, combinations = self.records(as_of)
        with self._lock:
            if self._candidates is None or self._candidates[0] != as_of.date():
                self._close_day(as_of.date())
            assert self._candidates is not None
            pool, before, explored = tuple(self._candidates[1]), self._yesterday, self._candidates[2][1]
            explored_by = dict(self._candidates[3])
            areas = {label: (seen, int(stops)) for label, (seen, stops) in self._candidates[4].items()}
            mandatory = (self._candidates[2][2], self._candidates[2][0])
        known = before is not None and before[0] == as_of.date() - dt.timedelta(days=1)
        yesterday = (before[1], before[2]) if before and known else None
        yesterday_mandatory = before[3] / before[1] if before and known else None
        unit_values, declared_values, texts = self.unit_values(as_of)
        return History(parcels=stored.parcels, offenders=stored.offenders, unit_values=unit_values,
                       declared_values=declared_values, texts=texts, assessed=stored.assessed,
                       exports=stored.exports, hit_rates=hit_rates, combinations=combinations, day_decided=decided,
                       day_stopped=stopped, day_candidates=pool, day_explored=explored,
                       day_explored_by=explored_by, day_areas=areas,
                       yesterday=yesterday, day_mandatory=mandatory, yesterday_mandatory=yesterday_mandatory,
                       operators=operators, alerts=alerts,
                       alert_parties=alert_parties, filings=stored.filings, loading=stored.loading,
                       amended=stored.amended, stopped_before=stored.stopped_before)  # fmt: skip

    def day_so_far(self, as_of: dt.datetime, batch: set[str]) -> tuple[int, int]:
        """Consignments of the as-of day decided, and stopped, before the batch."""
        day = as_of.date()
        with self._lock:
            known = self._day
            if known is not None and known[0] == day and known[1] <= as_of <= known[1] + UNIT_VALUES_TTL:
                return known[2], known[3]
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        decided, stopped = kept.decided_and_stopped(self.app.store.engine, start, as_of)
        in_batch = len(batch)  # a batch assessed again (amended, retried) may be among them: count it once
        decided = max(0, int(decided) - in_batch) if in_batch and decided >= in_batch else int(decided)
        with self._lock:
            self._day = (day, as_of, decided, int(stopped))
        return decided, int(stopped)

    def count_decided(self, as_of: dt.datetime, decisions: pl.DataFrame) -> None:
        """Keep the day's tally current between counts in the store."""
        stopped = int(decisions["lane"].is_in(["yellow", "red"]).sum()) if "lane" in decisions.columns else 0
        mandatory = (
            int((decisions["lane"].is_in(["yellow", "red"]) & decisions["mandatory"]).sum())
            if {"lane", "mandatory"} <= set(decisions.columns) else 0
        )  # fmt: skip
        ranks = decisions[CANDIDATE_RANK].drop_nulls().to_list() if CANDIDATE_RANK in decisions.columns else []
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
            if "explored_as" in decisions.columns:
                for combination, count in decisions["explored_as"].drop_nulls().value_counts().iter_rows():
                    self._candidates[3][combination] = self._candidates[3].get(combination, 0) + count
            self._candidates[2][2] += mandatory
            if AREA_CANDIDATE in decisions.columns:
                for label, weight in (decisions.filter(pl.col(AREA_CANDIDATE).is_not_null()).group_by(AREA_CANDIDATE)
                                      .agg(pl.col("likelihood").sum()).iter_rows()):  # fmt: skip
                    self._candidates[4].setdefault(label, [0.0, 0.0])[0] += weight
            if AREA_STOP in decisions.columns:
                for label, count in decisions[AREA_STOP].drop_nulls().value_counts().iter_rows():
                    self._candidates[4].setdefault(label, [0.0, 0.0])[1] += count

    def _close_day(self, day: dt.date) -> None:
        """Start `day`'s pool; the day before ends with the cut its pool and volume set (the lock is held)."""
        settings, done = self.app.selectivity, self._candidates
        if done is not None and settings is not None and done[0] == day - dt.timedelta(days=1) and done[2][0]:
            taken = int(sum(stops for _, stops in done[4].values()))  # the priority areas' stops: not in the pool
            cut = settings.cut(sorted(done[1], reverse=True), done[2][0], taken)
            self._yesterday = (done[0], done[2][0], cut, done[2][2])
        self._candidates = (day, [], [0, 0, 0], {}, {})

    def unit_values(self, as_of: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """The references (per HS6, per HS6 and seller, and the descriptions per HS chapter), kept for
        `UNIT_VALUES_TTL` once they rest on `UNIT_VALUES_KEEP` lines or more; a young store is scanned again
        for each batch (cheaply), so its first accepted lines count at once."""
        with self._lock:
            cached = self._unit_values
            if cached is not None and cached[0] <= as_of <= cached[0] + UNIT_VALUES_TTL:
                return cached[1]
            reference = self._compute_unit_values(as_of)
            keep = int(reference[0].filter(pl.col("goods").is_null())["n"].sum()) >= UNIT_VALUES_KEEP  # lines, once
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

    def random_sample(self, as_of: dt.datetime, days: int = HIT_RATES_DAYS) -> tuple[int, int]:
        """The random sample's record over the last `days`: consignments inspected, and found infringing. The
        sample is drawn among all traffic whatever its risk, so its rate is the traffic's."""
        found: dict[str, bool] = {}
        for cid, outcome, reasons, _, _ in kept.inspected_reasons(
            self.app.store.engine, as_of - dt.timedelta(days=days), as_of
        ):
            if any(r.code == "RANDOM" for r in _CODES.decode(reasons)):
                found[cid] = found.get(cid, False) or outcome == "infringement"
        return len(found), sum(found.values())

    def compute_hit_rates(self, as_of: dt.datetime) -> pl.DataFrame:
        """Each hit's record, counted afresh."""
        return self.compute_records(as_of)[0]

    def compute_records(self, as_of: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Per code among the reasons of the decisions that put inspected consignments where they were: the
        consignments inspected, and those an inspection found infringing; the same where the code was the
        consignment's only profile, detector, watch-list or model hit; and per combination of such hits.

        `inspected` and `found` are plain counts (what the profile review shows). In the records selectivity
        weighs (a code on its own, a combination), one party's parcels count as at most `per_party`
        inspections, their findings in proportion: a seller's parcels are not independent trials of a
        detector, and the few parties a day's stops return to would otherwise make its record theirs.
        `alone_tried` and a combination's `tried` count every inspection: they say whether a record is
        measured, not what it measured.

        With the settings' `half_life_days`, an inspection counts in these records as much as its age leaves
        of it (half at that age, a quarter at twice it; the latest inspection of a parcel, if several): a
        record nobody refreshes fades back to its prior and, once it weighs fewer than `proven_after`
        inspections, is tried again like a new signal. The plain counts do not fade."""
        found: dict[str, bool] = {}
        codes: dict[str, set[str]] = {}
        party: dict[str, str] = {}
        weight: dict[str, float] = {}
        since = as_of - dt.timedelta(days=HIT_RATES_DAYS)
        selectivity = self.app.selectivity
        half_life = selectivity.half_life_days if selectivity is not None else 0.0
        for cid, outcome, reasons, who, at in kept.inspected_reasons(self.app.store.engine, since, as_of):
            found[cid] = found.get(cid, False) or outcome == "infringement"
            codes.setdefault(cid, set()).update(r.code for r in _CODES.decode(reasons) if r.source in SIGNALS)
            party[cid] = who
            age = max(0.0, (as_of - at).total_seconds() / 86_400)
            weight[cid] = max(weight.get(cid, 0.0), 0.5 ** (age / half_life) if half_life else 1.0)
        rows = [(code, hit, len(codes[cid]) == 1, party[cid], weight[cid])
                for cid, hit in found.items() for code in codes[cid]]  # fmt: skip
        if not rows:
            return pl.DataFrame(schema=HIT_RATES), pl.DataFrame(schema=COMBINATIONS)
        cap = selectivity.per_party if selectivity is not None else PER_PARTY
        frame = pl.DataFrame(rows, schema=["code", "hit", "alone", "party", "weight"], orient="row")
        w, alone = pl.col("weight"), pl.col("alone")
        per_code = (
            frame.group_by("code", "party")
            .agg(pl.len().alias("inspected"), pl.col("hit").sum().alias("found"),
                 w.filter(alone).sum().alias("alone_inspected"),
                 w.filter(alone & pl.col("hit")).sum().alias("alone_found"),
                 w.filter(alone).sum().alias("alone_tried"))
            .pipe(_capped, cap, ("alone_inspected", "alone_found"))
            .group_by("code")
            .agg(pl.col("inspected", "found", "alone_inspected", "alone_found", "alone_tried").sum().round(0))
            .select(list(HIT_RATES))
            .cast(HIT_RATES)  # type: ignore[arg-type]
        )  # fmt: skip
        together = pl.DataFrame(
            [("+".join(sorted(codes[cid])), hit, party[cid], weight[cid]) for cid, hit in found.items() if codes[cid]],
            schema=["signals", "hit", "party", "weight"], orient="row",
        )  # fmt: skip
        per_combination = (
            together.group_by("signals", "party")
            .agg(w.sum().alias("inspected"), w.filter(pl.col("hit")).sum().alias("found"), w.sum().alias("tried"))
            .pipe(_capped, cap, ("inspected", "found"))
            .group_by("signals")
            .agg(pl.col("inspected", "found", "tried").sum().round(0))
            .select(list(COMBINATIONS))
            .cast(COMBINATIONS)  # type: ignore[arg-type]
        )
        return per_code, per_combination

    def _compute_unit_values(self, as_of: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Log USD unit values over recent accepted lines (not invalidated, not found infringing): per HS6
        (UNIT_VALUES), and per HS6 and seller (DECLARED_VALUES); and how those lines describe the goods of
        each HS chapter (TEXTS)."""
        since = as_of - dt.timedelta(days=UNIT_VALUES_DAYS)
        bodies = kept.accepted_bodies(self.app.store.engine, since, as_of, UNIT_VALUES_LINES)
        if not bodies:
            return pl.DataFrame(schema=UNIT_VALUES), pl.DataFrame(schema=DECLARED_VALUES), pl.DataFrame(schema=TEXTS)
        accepted = _accepted_lines(bodies)
        texts = (  # each seller counts once: one filer's many lines cannot teach the model its own words
            accepted.select(goods(pl.col("description")).alias("text"), pl.col("hs_code").str.slice(0, 2)
                            .alias("chapter"), declarant())
            .filter(pl.col("chapter").is_not_null() & (pl.col("text").str.len_chars() > 2))
            .group_by("text", "chapter")
            .agg(pl.col("declarant").n_unique().alias("n"))
            .sort("text", "chapter")  # one order whatever the hash table's: the model sums in it
            .cast(TEXTS)  # type: ignore[arg-type]
        )  # fmt: skip
        lines = accepted.select(
            "currency", "category", declarant(), pl.col("hs_code").str.slice(0, 6).alias("hs6"),
            goods(pl.col("description")), "price",
        )  # fmt: skip
        usd = usd_rates(self.app.revenue.rates, lines["currency"].unique().to_list(), as_of.date())
        items = lines.with_columns(
            (pl.col("price") * pl.col("currency").replace_strict(usd, default=None)).alias("unit_usd")
        ).filter(pl.col("unit_usd").is_not_null() & pl.col("hs6").is_not_null() & (pl.col("unit_usd") > 0))
        detector = UndervaluationDetector(self.app.revenue.rates)
        reference = (
            detector.reference(items)
            .filter(pl.col("goods").is_null() | (pl.col("n") >= detector.minimum))  # the descriptions it would use
            .select(list(UNIT_VALUES))
            .cast(UNIT_VALUES)  # type: ignore[arg-type]
        )
        declared = detector.declared(items, reference)
        return reference, declared.select(list(DECLARED_VALUES)).cast(DECLARED_VALUES), texts  # type: ignore[arg-type]


def _capped(frame: pl.DataFrame, cap: int, *counts: tuple[str, str]) -> pl.DataFrame:
    """`frame` (a row per party) with each (inspected, found) pair cut to `cap` inspections, the found in
    proportion (as floats: the sums are rounded once)."""
    return frame.with_columns(
        expr
        for inspected, hit in counts
        for expr in (
            pl.min_horizontal(pl.col(inspected), cap).cast(pl.Float64).alias(inspected),
            pl.when(pl.col(inspected) > 0)
            .then(pl.col(hit) * pl.min_horizontal(pl.col(inspected), cap) / pl.col(inspected))
            .otherwise(0.0)
            .alias(hit),
        )
    )


def _accepted_lines(bodies: list[str]) -> pl.DataFrame:
    """LINES of the accepted `bodies`; a body of another shape (stored before a change of the contract) is
    left out rather than failing the reference."""
    columns: dict[str, list[object]] = {name: [] for name in LINES}
    for body in bodies:
        try:
            accepted = _ACCEPTED.decode(body)
        except msgspec.DecodeError:
            continue
        seller = accepted.seller or _Seller()
        first = seller.identifiers[0] if seller.identifiers else None
        identifier = f"{first.scheme}:{first.value}" if first and first.scheme and first.value else None
        party = (seller.name, seller.address.country if seller.address else None, identifier)
        for line in filter(None, accepted.items or ()):
            for name, value in zip(LINES, (accepted.currency, accepted.category, *party, line.hs_code,
                                           line.description, _price(line.unit_price)), strict=True):  # fmt: skip
                columns[name].append(value)
    return pl.DataFrame(columns, schema=LINES)


def _price(value: str | float | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
