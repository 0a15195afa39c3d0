"""History as Parquet, one partition per day of receipt: the pipeline's batch columns of every stored
consignment, with what happened to it (lane decided, inspected, infringing, duty and tax assessed). This is
what `clearway backtest` and `clearway rescore` read, locally or on Spark."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import msgspec
import polars as pl

from clearway.bootstrap import App
from clearway.impact.replay import OUTCOME
from clearway.kpi import Period
from clearway.pipeline import to_batch
from clearway.store.consignments import decided_by_day, with_outcomes


class _Totals(msgspec.Struct):
    total: str


class _Assessment(msgspec.Struct):
    currency: str
    totals: _Totals


def export_history(
    app: App, out: Path, period: Period | None = None, on_day: Callable[[dt.date, int], None] | None = None
) -> list[Path]:
    """Write `out/day=YYYY-MM-DD/part-0.parquet` for each day with consignments; returns the files."""
    days = decided_by_day(app.store, *((period.since, period.until) if period is not None else ()))
    written = []
    for day, ids in sorted(days.items()):
        path = out / f"day={day.isoformat()}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        _day_frame(app, ids).write_parquet(path)
        written.append(path)
        if on_day:
            on_day(day, len(ids))
    return written


def _day_frame(app: App, ids: list[str]) -> pl.DataFrame:
    rows, outcome = [], []
    assessment = msgspec.json.Decoder(_Assessment)
    for row, lane, text, inspected, infringement in with_outcomes(app.store, ids):
        rows.append(row)
        a = assessment.decode(text) if text else None
        outcome.append({"key": row.key, "actual_lane": lane, "inspected": inspected, "infringement": infringement,
                        "total_due": a.totals.total if a else None,
                        "revenue_currency": a.currency if a else None})  # fmt: skip
    frame = to_batch(rows)
    facts = pl.DataFrame(outcome, schema={"key": pl.String(), **OUTCOME})
    return frame.join(facts, on="key", how="left", maintain_order="left")
