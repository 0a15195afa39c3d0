"""Replaying history through a candidate pipeline, and the summary officers read before activating it.

A history partition is the pipeline's batch columns plus what actually happened: the lane decided, whether
the parcel was inspected and found infringing, and the duty and tax assessed. `replay` runs one partition
(one day: the unit every engine hands over whole, so that batch-level detectors see the same parcels
everywhere); `summarise` folds the replayed rows of every partition.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from clearway.pipeline import Context, Pipeline, as_batch

OUTCOME: dict[str, pl.DataType] = {
    "actual_lane": pl.String(),
    "inspected": pl.Boolean(),
    "infringement": pl.Boolean(),
    "total_due": pl.String(),  # decimal text: exact, whatever engine carries it
    "revenue_currency": pl.String(),
}
"""What happened to each consignment, beside its batch columns in a history partition."""

REPLAY_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "day": pl.Date(),
    **OUTCOME,
    "candidate_lane": pl.String(),
    "candidate_codes": pl.List(pl.String),
}
STOPS = ("yellow", "red")


def replay(partition: pl.DataFrame, pipeline: Pipeline) -> pl.DataFrame:
    """Each consignment of the partition with its actual outcome and the candidate pipeline's lane."""
    if partition.is_empty():
        return pl.DataFrame(schema=REPLAY_SCHEMA)
    batch = as_batch(partition)
    as_of = batch["received_at"].max()
    decisions = pipeline(batch, Context(as_of=as_of))  # type: ignore[arg-type]
    candidate = decisions.select(
        "key",
        pl.col("lane").alias("candidate_lane"),
        pl.col("reasons")
        .list.eval(pl.element().struct.field("code"))
        .list.unique()
        .list.sort()
        .alias("candidate_codes"),
    )
    return (
        partition.select("key", pl.col("received_at").dt.date().alias("day"), *OUTCOME)
        .join(candidate, on="key", how="left", maintain_order="left")
        .select(list(REPLAY_SCHEMA))
        .cast(REPLAY_SCHEMA)  # type: ignore[arg-type]
    )


def summarise(rows: pl.DataFrame) -> dict[str, Any]:
    """Lanes as decided against lanes under the candidate; stops; what inspections found that each would
    have stopped; and the revenue at risk (duty and tax assessed on infringing parcels left unstopped)."""
    stopped = {"actual": pl.col("actual_lane").is_in(STOPS), "candidate": pl.col("candidate_lane").is_in(STOPS)}
    moves = rows.group_by("actual_lane", "candidate_lane").len("consignments").sort("actual_lane", "candidate_lane")
    found = rows.filter(pl.col("inspected"))
    summary: dict[str, Any] = {"consignments": rows.height, "lanes": moves}
    for name, stop in stopped.items():
        caught = found.filter(stop)
        missed = rows.filter(pl.col("infringement") & ~stop)
        summary[name] = {
            "stopped": int(rows.select(stop.sum()).item() or 0),
            "infringements_stopped": int(caught["infringement"].sum()),
            "infringements_missed": missed.height,
            "hit_rate": (float(caught["infringement"].mean()) if caught.height else None),  # type: ignore[arg-type]
            "revenue_at_risk": {
                currency: str(total.quantize(Decimal("0.01")))
                for currency, total in missed.group_by("revenue_currency")
                .agg(pl.col("total_due").cast(pl.Decimal(18, 4)).sum())
                .drop_nulls("revenue_currency")
                .sort("revenue_currency")
                .iter_rows()
            },
        }
    return summary
