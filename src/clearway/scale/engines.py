"""Backtest and rescore over a Parquet history (`day=YYYY-MM-DD/` partitions), on one of two engines:

- `local`: partition after partition in this process, with Polars;
- `spark`: one group per day on a Spark cluster (`local[2]` by default), each handed to the very same
  `replay` as Arrow, so both engines give the same rows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import polars as pl

from clearway.impact.replay import REPLAY_SCHEMA, replay
from clearway.pipeline import as_batch
from clearway.scale.candidate import Candidate
from clearway.targeting.model import TargetingModel
from clearway.targeting.stage import batch_history

Engine = Literal["local", "spark"]
SCORES: dict[str, pl.DataType] = {"key": pl.String(), "day": pl.Date(), "score": pl.Float64()}
SPARK_TYPES = {pl.String(): "string", pl.Date(): "date", pl.Boolean(): "boolean", pl.Float64(): "double",
               pl.List(pl.String): "array<string>"}  # fmt: skip


def partitions(history: Path) -> list[Path]:
    found = sorted(history.glob("day=*/*.parquet"))
    if not found:
        raise FileNotFoundError(f"no day=YYYY-MM-DD/*.parquet partitions under {history}")
    return found


def _days(history: Path) -> Iterator[pl.DataFrame]:
    for folder in sorted({p.parent for p in partitions(history)}):
        yield pl.read_parquet(folder / "*.parquet")


def _scores(partition: pl.DataFrame, model: TargetingModel) -> pl.DataFrame:
    batch = as_batch(partition)
    rows = batch_history(batch)
    scored = rows.select("consignment").with_columns(pl.Series("score", model.score(rows.drop("consignment"))))
    best = scored.group_by("consignment").agg(pl.col("score").max())
    return (
        batch.select("key", pl.col("received_at").dt.date().alias("day"))
        .join(best, left_on="key", right_on="consignment", how="left", maintain_order="left")
        .cast(SCORES)  # type: ignore[arg-type]
    )


def backtest(history: Path, candidate: Candidate, engine: Engine = "local", **spark: Any) -> pl.DataFrame:
    """Every consignment of the history with its actual outcome and the candidate's lane."""

    def run(partition: pl.DataFrame) -> pl.DataFrame:
        return replay(partition, candidate.pipeline())

    return _run(history, run, REPLAY_SCHEMA, engine, **spark)


def rescore(history: Path, model: bytes, engine: Engine = "local", **spark: Any) -> pl.DataFrame:
    """The targeting model's score for every consignment of the history."""

    def run(partition: pl.DataFrame) -> pl.DataFrame:
        return _scores(partition, TargetingModel.from_bytes(model))

    return _run(history, run, SCORES, engine, **spark)


def _run(
    history: Path, run: Callable[[pl.DataFrame], pl.DataFrame], schema: dict[str, pl.DataType], engine: Engine,
    master: str = "local[2]",
) -> pl.DataFrame:  # fmt: skip
    if engine == "local":
        return pl.concat([run(day) for day in _days(history)], how="vertical").sort("key")
    return _on_spark(history, run, schema, master).sort("key")


def stop_spark() -> None:
    """Stop this process's Spark session, if one was started (it is kept between calls until then)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def _on_spark(
    history: Path, run: Callable[[pl.DataFrame], pl.DataFrame], schema: dict[str, pl.DataType], master: str
) -> pl.DataFrame:
    import pyarrow as pa
    from pyspark.sql import SparkSession

    partitions(history)  # a clear error before Spark starts
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter, with clearway
    spark = (
        SparkSession.builder.master(master)
        .appName("clearway")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    ddl = ", ".join(f"{name} {SPARK_TYPES[dtype]}" for name, dtype in schema.items())
    arrow = {"string": pa.string(), "date": pa.date32(), "boolean": pa.bool_(), "double": pa.float64(),
             "array<string>": pa.list_(pa.string())}  # fmt: skip
    target = pa.schema([(name, arrow[SPARK_TYPES[dtype]]) for name, dtype in schema.items()])

    def per_day(table: pa.Table) -> pa.Table:
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return run(frame).to_arrow().cast(target)  # Spark wants plain strings, Polars gives large ones

    frame = spark.read.parquet(str(history))
    result = frame.groupBy("day").applyInArrow(per_day, ddl).toArrow()
    out = pl.from_arrow(result)
    assert isinstance(out, pl.DataFrame)
    return out.cast(schema)  # type: ignore[arg-type]
