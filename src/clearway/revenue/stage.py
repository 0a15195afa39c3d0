"""The revenue stage of the pipeline: an assessment per consignment, combined where the law combines.

Where a jurisdiction aggregates (same consignee, same day), the consignments of one consignee (by keyed
hash, else normalised name and address) of the same day are assessed on their combined value, counting
those assessed before the batch (`context.history.assessed`); where a rule limits a buyer's imports per
year (China), each parcel is assessed with the buyer's earlier total of the year.
A consignment that cannot be assessed (no rule, no rate) gets a yellow hit that says why.
A batch of `VECTORISED_FROM` consignments or more has its common case assessed on the frame
(`revenue.vector`, the same assessments to the byte); the rest, and smaller batches, by the Decimal engine.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import polars as pl

from clearway.errors import ClearwayError
from clearway.model.codelists import normalise_text
from clearway.model.consignment import Consignment
from clearway.pipeline.rows import consignment_from_row
from clearway.pipeline.stage import HIT_SCHEMA, Context, StageOutput, no_hits
from clearway.revenue.assessment import Assessment
from clearway.revenue.engine import RevenueContext, assess
from clearway.revenue.fx import MissingRate
from clearway.revenue.vector import COLUMNS as VECTOR_COLUMNS
from clearway.revenue.vector import assess_frame

REVENUE_COLUMNS: dict[str, pl.DataType] = {
    "key": pl.String(),
    "revenue_currency": pl.String(),
    "collection_model": pl.String(),
    "duty": pl.String(),
    "vat": pl.String(),
    "other_charges": pl.String(),
    "total_due": pl.String(),
    "assessment": pl.String(),  # the whole assessment as JSON
    "due_eur": pl.String(),  # total due and intrinsic value in EUR at the day's rate: for ranking stops across
    "value_eur": pl.String(),  # currencies (selectivity's stake), never for collection; null without a rate
}
ASSESSED_COLUMNS: dict[str, pl.DataType] = {name: pl.String() for name in VECTOR_COLUMNS} | {"on": pl.Date()}
_encode = msgspec.json.Encoder().encode
VECTORISED_FROM = 256
"""Batches from this many consignments are assessed on the frame (`revenue.vector`). Below it the Decimal
engine costs less: the frame's fixed cost is about 12 ms a batch; measured on simulated parcels, 128
took 15.6 ms on the frame and 7.0 ms by the engine, 256 took 19.5 and 20.4, 512 took 25.3 and 27.7."""


@dataclass(frozen=True)
class RevenueStage:
    context: RevenueContext
    name: str = "revenue"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        fast = assess_frame(batch, self.context) if batch.height >= VECTORISED_FROM else None
        rest = batch if fast is None else batch.join(fast.select("key"), on="key", how="anti", maintain_order="left")
        rows = list(rest.iter_rows(named=True))
        results: dict[str, Assessment] = {}
        failures: list[dict[str, object]] = []
        consignments = {}
        for row in rows:
            c = consignment_from_row(row)
            consignments[row["key"]] = c
            try:
                results[row["key"]] = assess(c, row["received_at"].date(), self.context)
            except ClearwayError as exc:
                failures.append(_unassessed(row["key"], exc.message))
        assessed = [row for row in rows if row["key"] in results]
        self._combine_same_day(assessed, results, consignments, context.history.assessed)
        self._count_the_year(assessed, results, consignments, context.history.assessed)
        engine = pl.DataFrame(
            [
                (key, a.currency, a.collection_model, str(a.totals.duty), str(a.totals.vat), str(a.totals.other),
                 str(a.totals.total), _encode(a).decode(), a.on, consignments[key].currency,
                 str(consignments[key].intrinsic_value))
                for key, a in results.items()
            ],
            schema=ASSESSED_COLUMNS,
            orient="row",
        )  # fmt: skip
        columns = engine if fast is None else pl.concat([fast, engine])
        columns = columns.hstack(
            [
                self._eur(columns["total_due"], columns["revenue_currency"], columns["on"]).alias("due_eur"),
                self._eur(columns["intrinsic"], columns["currency"], columns["on"]).alias("value_eur"),
            ]
        )[list(REVENUE_COLUMNS)]  # side by side and picked, not selected: no query for either
        return StageOutput(pl.DataFrame(failures, schema=HIT_SCHEMA) if failures else no_hits(), columns)

    def _eur(self, amounts: pl.Series, currencies: pl.Series, days: pl.Series) -> pl.Series:
        """Amounts in EUR at the day's rate, to the cent (as given where already in EUR; null without a rate)."""
        rates: dict[tuple[str, dt.date], Decimal | None] = {}
        out: list[str | None] = []
        for amount, currency, day in zip(amounts.to_list(), currencies.to_list(), days.to_list(), strict=True):
            if currency == "EUR":
                out.append(amount)
                continue
            if (currency, day) not in rates:
                try:
                    rates[currency, day] = self.context.rates.quote(currency, "EUR", day).rate
                except MissingRate:
                    rates[currency, day] = None
            rate = rates[currency, day]
            out.append(None if rate is None else str((Decimal(amount) * rate).quantize(Decimal("0.01"))))
        return pl.Series(out, dtype=pl.String)

    def _combine_same_day(
        self, rows: list[dict[str, Any]], results: dict[str, Assessment], consignments: dict[str, Consignment],
        earlier: pl.DataFrame,
    ) -> None:  # fmt: skip
        """Where the rule combines a consignee's parcels of a day, assess each on the combined value: the
        batch's parcels and those assessed earlier that day."""
        aggregating = {r.id for r in self.context.rules.rules if r.aggregation == "consignee_day"}
        groups: dict[tuple[str, str, dt.date], list[str]] = defaultdict(list)
        for row in rows:
            if results[row["key"]].rules[0] in aggregating:
                groups[(row["destination_country"], _who(row), row["received_at"].date())].append(row["key"])
        if not groups:
            return  # nothing here combines: what was assessed earlier is not read
        before: dict[tuple[str, str, dt.date], list[Decimal]] = defaultdict(list)
        for e in earlier.filter(pl.col("rule").is_in(list(aggregating))).iter_rows(named=True):
            before[(e["destination_country"], e["who"], e["received_at"].date())].append(e["threshold_value"])
        for group, keys in groups.items():
            if len(keys) + len(before[group]) < 2:
                continue
            combined = sum((results[k].threshold_value for k in keys), sum(before[group], Decimal(0)))
            for k in keys:
                results[k] = assess(consignments[k], results[k].on, self.context, aggregate_value=combined)

    def _count_the_year(
        self, rows: list[dict[str, Any]], results: dict[str, Assessment], consignments: dict[str, Consignment],
        earlier: pl.DataFrame,
    ) -> None:  # fmt: skip
        """Where a rule has an annual limit per buyer (China: CNY 26,000), assess each parcel with what the
        buyer imported under that jurisdiction earlier in the year: before this batch, then in it."""
        rules = {r.id: r for r in self.context.rules.rules}
        limited = [row for row in rows if rules[results[row["key"]].rules[0]].intermediary_annual is not None]
        if not limited:
            return
        spent: dict[tuple[str, str, int], Decimal] = defaultdict(Decimal)
        for e in earlier.iter_rows(named=True):
            rule = rules.get(e["rule"])
            if rule is not None and rule.intermediary_annual is not None:
                spent[(rule.jurisdiction, e["who"], e["received_at"].year)] += e["threshold_value"]
        for row in sorted(limited, key=lambda r: r["received_at"]):  # stable: batch order within an instant
            key = row["key"]
            year = (rules[results[key].rules[0]].jurisdiction, _who(row), row["received_at"].year)
            if spent[year]:
                results[key] = assess(consignments[key], results[key].on, self.context, annual_before=spent[year])
            spent[year] += results[key].threshold_value


def _who(row: dict[str, Any]) -> str:
    """The consignee: its keyed hash where the edge gave one, else its normalised name and address."""
    return str(row["consignee_key"] or normalise_text(
        f"{row['consignee_name']} {row['consignee_street'] or ''} {row['consignee_postcode'] or ''}"))  # fmt: skip


def _unassessed(key: str, why: str) -> dict[str, object]:
    return {"key": key, "source": "rule", "code": "REVENUE-UNASSESSED", "message": f"duty and tax not assessed: {why}",
            "lane": "yellow", "referral": None, "agency": None, "weight": 20.0, "domain": "fiscal",
            "mandatory": False}  # fmt: skip
