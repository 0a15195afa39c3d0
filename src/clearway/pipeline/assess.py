"""`assess`: run the stages over a batch and fold their hits into decisions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from clearway.pipeline.decision import decide
from clearway.pipeline.stage import Context, Stage, Warms, as_hits, no_hits

Finisher = Callable[[pl.DataFrame, pl.DataFrame, Context], pl.DataFrame]
"""A last step over (decisions, batch, context), such as selectivity: same rows, same order."""


@dataclass(frozen=True)
class Pipeline:
    """An ordered list of stages and an optional finisher; later issues add stages without touching the spine."""

    stages: Sequence[Stage]
    finish: Finisher | None = None

    def __call__(self, batch: pl.DataFrame, context: Context) -> pl.DataFrame:
        decisions = assess(batch, context, self.stages)
        if self.finish is None:
            return decisions
        with context.observe("finish"):
            return self.finish(decisions, batch, context)

    def warm(self) -> None:
        """Build what the stages would build on the first batch, so that it waits for none of it."""
        for stage in self.stages:
            if isinstance(stage, Warms):
                stage.warm()


def assess(batch: pl.DataFrame, context: Context, stages: Sequence[Stage]) -> pl.DataFrame:
    """One decision row per batch row (same order): key, lane, referrals, reasons, score, then stage columns."""
    hit_frames: list[pl.DataFrame] = []
    columns: list[pl.DataFrame] = []
    for stage in stages:
        with context.observe(stage.name):
            output = stage.run(batch, context)
        if not output.hits.is_empty():  # most stages flag nothing in a small batch: nothing to concatenate
            hit_frames.append(as_hits(output.hits))
        if output.columns is not None:
            columns.append(output.columns)
    keys = batch["key"]
    hits = pl.concat(hit_frames) if len(hit_frames) > 1 else hit_frames[0] if hit_frames else no_hits()
    decisions = decide(keys, hits)
    for extra in columns:
        if extra["key"].equals(keys):  # a row for each key, in the batch's order (the common case): side by side
            decisions = decisions.hstack(extra.drop("key"))
        else:
            decisions = decisions.join(extra, on="key", how="left", maintain_order="left")
    return decisions
