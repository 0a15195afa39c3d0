"""Decisions: lane, referrals and reasons, in the contract's shape, folded from the stages' hits."""

from __future__ import annotations

import msgspec
import polars as pl

from clearway.model.vocabulary import LANES, Lane
from clearway.pipeline import plans

__all__ = ["DECISION_SCHEMA", "LANES", "REASON", "Decision", "Lane", "Reason", "decide", "decisions_from_frame"]

REASON = pl.Struct({"source": pl.String, "code": pl.String, "message": pl.String})
SIGNAL = pl.Struct({
    "source": pl.String, "code": pl.String, "domain": pl.String, "weight": pl.Float64, "lane": pl.String,
    "referral": pl.String, "agency": pl.String, "mandatory": pl.Boolean,
})  # fmt: skip
"""A hit without its message: what selectivity weighs (its prior, domain, what it asked for)."""
DECISION_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "lane": pl.String(),
    "referrals": pl.List(pl.String),
    "reasons": pl.List(REASON),
    "score": pl.Float64(),
    "agencies": pl.List(pl.String),  # the agencies that `oga` referrals go to
    "mandatory": pl.Boolean(),  # a hit asked for a stop the law makes mandatory
    "signals": pl.List(SIGNAL),  # the hits, for selectivity (which drops them)
}


class Reason(msgspec.Struct, frozen=True):
    """Why a consignment got its lane: for the officer, never for the submitter."""

    source: str
    code: str
    message: str


class Decision(msgspec.Struct, frozen=True):
    key: str
    lane: Lane
    referrals: list[str]
    reasons: list[Reason]
    score: float


_RANKS = {lane: i for i, lane in enumerate(LANES)}
_NAMES = dict(enumerate(LANES))


def decide(keys: pl.Series, hits: pl.DataFrame) -> pl.DataFrame:
    """Fold hits into one decision per key: the most controlling lane asked for, every referral, every reason."""
    if hits.is_empty():  # most parcels: no stage asked for anything (a third of a call of one parcel, folded)
        return _undecided(keys)
    one = keys.len() == 1  # a call of one parcel: its one fold is its decision, with no join to the keys
    asked = hits.lazy().filter(pl.col("key") == keys[0]) if one else hits.lazy()
    folded = asked.group_by("key").agg(
        pl.col("lane").replace_strict(_RANKS, default=None, return_dtype=pl.Int32).max().fill_null(0)
        .replace_strict(_NAMES, return_dtype=pl.String).alias("lane"),
        pl.col("referral").drop_nulls().unique(maintain_order=True).alias("referrals"),
        pl.struct("source", "code", "message").alias("reasons"),
        pl.col("weight").sum().clip(0, 100).alias("score"),
        pl.col("agency").drop_nulls().unique(maintain_order=True).alias("agencies"),
        (pl.col("mandatory").fill_null(False) & pl.col("lane").is_in(["yellow", "red"])).any().alias("mandatory"),
        pl.struct(*SIGNAL.to_schema()).alias("signals"),
    )  # fmt: skip
    if one:
        decided = plans.run(folded.cast(DECISION_SCHEMA))  # type: ignore[arg-type]
        return decided if decided.height else _undecided(keys)  # its hits were all for other keys
    return plans.run(
        pl.LazyFrame({"key": keys})
        .join(folded, on="key", how="left", maintain_order="left")
        .with_columns(pl.col(column.name).fill_null(pl.lit(column)) for column in _ALL_CLEAR.iter_columns())
        .select(list(DECISION_SCHEMA))
        .cast(DECISION_SCHEMA)  # type: ignore[arg-type]
    )


_ALL_CLEAR = pl.DataFrame(
    {"lane": [LANES[0]], "referrals": [[]], "reasons": [[]], "score": [0.0], "agencies": [[]], "mandatory": [False],
     "signals": [[]]},
    schema={k: v for k, v in DECISION_SCHEMA.items() if k != "key"},
)  # fmt: skip
"""The decision of a consignment no hit asked anything for: the lowest lane, nothing else."""


def _undecided(keys: pl.Series) -> pl.DataFrame:
    """`_ALL_CLEAR` for each of `keys` (repeated in Polars: a list column built from Python lists costs a
    tenth of a millisecond a row)."""
    n = keys.len()
    return pl.DataFrame([keys, *(column.new_from_index(0, n) for column in _ALL_CLEAR.iter_columns())])


def decisions_from_frame(frame: pl.DataFrame) -> list[Decision]:
    """The decision frame as Structs (for edges that want objects)."""
    return [
        Decision(
            key=row["key"],
            lane=row["lane"],
            referrals=list(row["referrals"]),
            reasons=[Reason(**r) for r in row["reasons"]],
            score=row["score"],
        )
        for row in frame.select(list(DECISION_SCHEMA)).iter_rows(named=True)
    ]
