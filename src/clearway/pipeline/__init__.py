"""The assessment pipeline: `assess(batch, context) -> decisions`, pure and columnar.

A batch is a Polars frame with one row per consignment (see `batch.BATCH_SCHEMA`); stages read it and
return hits and columns; `decide` folds the hits into lanes, referrals and reasons. No I/O, no clock:
the as-of time comes in the context, so the same function runs on a partition inside a distributed
engine.
"""

from clearway.pipeline.assess import Pipeline, assess
from clearway.pipeline.batch import BATCH_SCHEMA, ITEM_SCHEMA, BatchRow, as_batch, to_batch
from clearway.pipeline.decision import DECISION_SCHEMA, LANES, Decision, Reason, decisions_from_frame
from clearway.pipeline.history import History
from clearway.pipeline.stage import HIT_SCHEMA, Context, Stage, StageOutput

__all__ = [
    "BATCH_SCHEMA",
    "DECISION_SCHEMA",
    "HIT_SCHEMA",
    "ITEM_SCHEMA",
    "LANES",
    "BatchRow",
    "Context",
    "Decision",
    "Pipeline",
    "Reason",
    "History",
    "Stage",
    "StageOutput",
    "as_batch",
    "assess",
    "decisions_from_frame",
    "to_batch",
]
