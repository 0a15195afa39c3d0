"""How the pipeline runs a Polars query of several steps: as one plan, on the in-memory engine.

Each eager step (a join, a group-by, an `is_in`) hands its work to Polars' thread pool and waits for it:
on a batch of one consignment that hand-over, not the work, is most of what a step costs (a tenth to a
fifth of a millisecond each, `python -m bench system`). A stage that chains steps builds them lazily and
runs them here, once. Not on the default engine: Polars 2 resolves it to the streaming engine, whose start
costs about as much as the steps it saves. Not through the optimiser either: the stages' plans are written
as they should run, and on a small batch rewriting them costs more than it gains.
"""

from __future__ import annotations

import polars as pl

_AS_WRITTEN = pl.QueryOptFlags.none()


def run(plan: pl.LazyFrame) -> pl.DataFrame:
    """`plan`'s result: one query on the in-memory engine, its steps as written."""
    return plan.collect(engine="in-memory", optimizations=_AS_WRITTEN)
