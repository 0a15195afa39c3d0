"""The revenue stage of the pipeline: an assessment per consignment, combined where the law combines.

Where a jurisdiction aggregates (same consignee, same day), the consignments of one consignee (by
normalised name and address) arriving the same day in the batch are assessed on their combined value.
A consignment that cannot be assessed (no rule, no rate) gets a yellow hit that says why.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import msgspec
import polars as pl

from clearway.errors import ClearwayError
from clearway.model.codelists import normalise_text
from clearway.pipeline.rows import consignment_from_row
from clearway.pipeline.stage import HIT_SCHEMA, Context, StageOutput
from clearway.revenue.assessment import Assessment
from clearway.revenue.engine import RevenueContext, assess

REVENUE_COLUMNS: dict[str, pl.DataType] = {
    "key": pl.String(),
    "revenue_currency": pl.String(),
    "collection_model": pl.String(),
    "duty": pl.String(),
    "vat": pl.String(),
    "other_charges": pl.String(),
    "total_due": pl.String(),
    "assessment": pl.String(),  # the whole assessment as JSON
}
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class RevenueStage:
    context: RevenueContext
    name: str = "revenue"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        rows = list(batch.iter_rows(named=True))
        results: dict[str, Assessment] = {}
        failures: list[dict[str, object]] = []
        groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        consignments = {}
        aggregating = {r.id for r in self.context.rules.rules if r.aggregation == "consignee_day"}
        for row in rows:
            c = consignment_from_row(row)
            consignments[row["key"]] = c
            day = row["received_at"].date()
            try:
                results[row["key"]] = assess(c, day, self.context)
            except ClearwayError as exc:
                failures.append(_unassessed(row["key"], exc.message))
                continue
            if results[row["key"]].rules[0] not in aggregating:
                continue  # only jurisdictions that combine same-day parcels need the consignee's key
            who = normalise_text(
                f"{row['consignee_name']} {row['consignee_street'] or ''} {row['consignee_postcode'] or ''}"
            )
            groups[(row["destination_country"], who, day.isoformat())].append(row["key"])
        for keys in groups.values():
            if len(keys) < 2:
                continue
            combined = sum((results[k].threshold_value for k in keys), Decimal(0))
            for k in keys:
                results[k] = assess(consignments[k], results[k].on, self.context, aggregate_value=combined)
        columns = pl.DataFrame(
            [
                {
                    "key": key,
                    "revenue_currency": a.currency,
                    "collection_model": a.collection_model,
                    "duty": str(a.totals.duty),
                    "vat": str(a.totals.vat),
                    "other_charges": str(a.totals.other),
                    "total_due": str(a.totals.total),
                    "assessment": _encode(a).decode(),
                }
                for key, a in results.items()
            ],
            schema=REVENUE_COLUMNS,
        )
        return StageOutput(pl.DataFrame(failures, schema=HIT_SCHEMA), columns)


def _unassessed(key: str, why: str) -> dict[str, object]:
    return {"key": key, "source": "rule", "code": "REVENUE-UNASSESSED", "message": f"duty and tax not assessed: {why}",
            "lane": "yellow", "referral": None, "agency": None, "weight": 20.0}  # fmt: skip
