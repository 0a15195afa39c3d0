"""Measurement over the store: the KPI tables of a period, and their exports as CSV or Parquet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import polars as pl

from clearway.bootstrap import App
from clearway.kpi import KpiInput, Period, compute
from clearway.kpi.figures import under_review
from clearway.kpi.inputs import threshold_rows
from clearway.store.period import read_period

ExportFormat = Literal["csv", "parquet"]


def measure(app: App, period: Period) -> dict[str, pl.DataFrame]:
    """Every KPI table of the period, computed from what the store holds."""
    records = read_period(app.store.engine, period)
    grace = dt.timedelta(hours=app.settings.arrival_grace_hours)
    figures = compute(KpiInput.of(period, arrival_grace=grace, thresholds=threshold_rows(app.revenue.rules.rules),
                                  **records))  # fmt: skip
    if app.selectivity is not None:
        review = app.selectivity
        figures["under_review"] = under_review(figures["hit_rates"], review.review_floor, review.review_minimum)
    return figures


def export(figures: dict[str, pl.DataFrame], folder: Path, fmt: ExportFormat) -> list[Path]:
    """One file per KPI table, named for it. CSV keeps decimals exact as text; Parquet keeps their type."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in figures.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            frame.with_columns(pl.col(pl.List(pl.String)).list.join(";")).write_csv(path)
        else:
            frame.write_parquet(path)
        written.append(path)
    return written
