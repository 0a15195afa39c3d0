"""`python -m bench model`: the targeting model as a pipeline stage, rows scored per second, beside
LightGBM's bare predict on the same feature matrix (the floor), and the ratio.

The model is trained on a simulated day whose injected violations serve as inspection results.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

from clearway.intake.ndjson_reader import read_ndjson
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.sim import simulate
from clearway.targeting.model import _array, train
from clearway.targeting.stage import ModelStage, batch_history

NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)


def _frame(size: int, seed: int) -> tuple[pl.DataFrame, set[str]]:
    day = simulate(size, seed, NOW.date())
    bad = {lb.reference for lb in day.labels if lb.violation != "malformed"}
    rows = [
        BatchRow(f"{i:032x}", "bench", NOW, s.outcome.consignment)
        for i, s in enumerate(read_ndjson([r.line for r in day.records]))
        if s.outcome.consignment is not None
    ]
    return to_batch(rows), bad


def run(size: int) -> None:
    console = Console()
    console.print(f"training on a simulated day of {size:,} ...")
    frame, bad = _frame(size, 5)
    history = batch_history(frame).join(frame.select(pl.col("key").alias("consignment"), "reference"), on="consignment")
    history = history.with_columns(pl.col("reference").is_in(list(bad)).cast(pl.Int8).alias("label"))
    model = train(history.drop("consignment", "reference"), mapping="clearway", trained_on="bench")
    test, _ = _frame(size, 6)
    stage = ModelStage(model)
    started = time.perf_counter()
    stage.run(test, Context(as_of=NOW))
    stage_s = time.perf_counter() - started
    rows = batch_history(test)
    matrix = _array(model.matrix(rows.drop("consignment")))
    started = time.perf_counter()
    model.booster.predict(matrix, num_iteration=model.meta.rounds)
    bare_s = time.perf_counter() - started
    items = rows.height
    table = Table(title=f"targeting model stage, {test.height:,} consignments ({items:,} item rows)")
    for column in ("step", "rows/s", "floor", "floor rows/s", "ratio"):
        table.add_column(column, justify="left" if column in ("step", "floor") else "right")
    stage_rate, bare_rate = items / stage_s, items / bare_s
    table.add_row("model stage (features, trees, calibration, reasons)", f"{stage_rate:,.0f}",
                  "LightGBM predict, same matrix", f"{bare_rate:,.0f}", f"{bare_rate / stage_rate:.1f}x")  # fmt: skip
    console.print(table)
    mean = float(np.mean(model.score(rows.drop("consignment"))))
    console.print(f"{model.meta.rounds} trees, {len(model.spec.names)} features; mean score {mean:.3f}")
