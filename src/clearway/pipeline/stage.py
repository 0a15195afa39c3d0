"""The one small interface every pipeline stage implements, and the shape of the hits it returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import polars as pl

from clearway.pipeline.history import History

Observer = Callable[[str], AbstractContextManager[Any]]
"""Given a stage's name, a context manager around its run (a span, a timer)."""

HIT_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "source": pl.String(),  # rule, screening, model, detector, random, aeo
    "code": pl.String(),  # the profile id, detector name, list entry ...
    "message": pl.String(),  # what the officer reads
    "lane": pl.String(),  # the lane this hit asks for, or null when it only informs
    "referral": pl.String(),  # rfi, screening, dnl, oga or null
    "agency": pl.String(),  # for oga referrals: which agency
    "weight": pl.Float64(),  # 0..100, how much the hit counts in selectivity (its prior hit rate, in %)
    "domain": pl.String(),  # security, safety, fiscal, ipr, prohibitions, oga; null for random and information
    "mandatory": pl.Boolean(),  # a stop the law makes mandatory, kept whatever the capacity
}


@dataclass(frozen=True)
class Context:
    """What a stage may know besides the batch: the as-of time (never the clock), a seed, and what the
    store remembers of the batch's parties and goods (empty when the caller has no store)."""

    as_of: dt.datetime
    seed: int = 0
    history: History = field(default_factory=History)
    observe: Observer = field(default=lambda _stage: nullcontext())
    """Wraps each stage's run: the caller's way to time or trace it (the pipeline itself does no I/O)."""


@dataclass(frozen=True)
class StageOutput:
    """Hits keyed by `key`, and optionally per-consignment columns (keyed by `key`) to carry forward."""

    hits: pl.DataFrame
    columns: pl.DataFrame | None = field(default=None)


_NO_HITS = pl.DataFrame(schema=HIT_SCHEMA)
HIT_COLUMNS = list(HIT_SCHEMA)
_HIT_TYPES = list(HIT_SCHEMA.values())


def no_hits() -> pl.DataFrame:
    return _NO_HITS.clear()  # a hundredth of building an empty frame from the schema


def as_hits(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` in HIT_SCHEMA's columns and types; as it is when it has them already (most do: a cast costs
    a tenth of a millisecond, which a batch of one pays for each stage)."""
    if frame.columns == HIT_COLUMNS and frame.dtypes == _HIT_TYPES:
        return frame
    return frame.select(HIT_COLUMNS).cast(HIT_SCHEMA)  # type: ignore[arg-type]


def hits_of(
    frame: pl.DataFrame, *, source: str, code: str, lane: str | None, referral: str | None,
    weight: float | pl.Expr, domain: str, agency: str | None = None, mandatory: bool = False,
) -> pl.DataFrame:  # fmt: skip
    """Hits for each row of `frame` (columns `key` and `message`), every other field the same (`weight` may be
    an expression over `frame`: a prior that depends on what the hit saw)."""
    if frame.is_empty():
        return no_hits()
    return frame.select(
        "key",
        pl.lit(source).alias("source"),
        pl.lit(code).alias("code"),
        "message",
        pl.lit(lane, dtype=pl.String).alias("lane"),
        pl.lit(referral, dtype=pl.String).alias("referral"),
        pl.lit(agency, dtype=pl.String).alias("agency"),
        (weight.cast(pl.Float64) if isinstance(weight, pl.Expr) else pl.lit(weight, dtype=pl.Float64)).alias("weight"),
        pl.lit(domain, dtype=pl.String).alias("domain"),
        pl.lit(mandatory).alias("mandatory"),
    ).cast(HIT_SCHEMA)  # type: ignore[arg-type]


class Stage(Protocol):
    """A named, pure step of `assess`."""

    @property
    def name(self) -> str: ...

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput: ...


@runtime_checkable
class Warms(Protocol):
    """A stage that builds something once, on its first batch (a model fitted on the nomenclature): `warm`
    builds it ahead, where a process has time to spare (an assessor's process booting)."""

    def warm(self) -> None: ...
