"""The two statistics the KPIs report: nearest-rank percentiles and the Wilson interval of a rate."""

from __future__ import annotations

import math

import polars as pl


def nearest_rank(column: str, share: float) -> pl.Expr:
    """The value at rank ceil(share x n) of the sorted non-null values (1-based): always a value that
    occurred, so a p99 of release times is a time some parcel actually waited."""
    values = pl.col(column).drop_nulls().sort()
    rank = (pl.lit(share) * values.len()).ceil().cast(pl.Int64).clip(1)
    return values.slice(rank - 1, 1).first()  # a slice, unlike gather, is empty (null) for no values


def wilson(hits: int, trials: int, z: float = 1.959964) -> tuple[float, float] | None:
    """The 95% Wilson score interval of hits / trials, or None with no trials; it stays within [0, 1] and
    behaves with few trials, unlike the normal approximation."""
    if trials == 0:
        return None
    p = hits / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
