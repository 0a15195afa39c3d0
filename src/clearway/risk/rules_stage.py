"""The rule stage: apply the active risk profiles to a batch and return one hit per matching profile."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from clearway.pipeline import plans
from clearway.pipeline.stage import HIT_SCHEMA, Context, StageOutput, no_hits
from clearway.risk.fields import explode_items
from clearway.risk.profiles import ProfileSet


@dataclass(frozen=True)
class RuleStage:
    profiles: ProfileSet
    name: str = "rules"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        active = [p for p in self.profiles.profiles if p.active_on(context.as_of.date())]
        if not active or batch.is_empty():
            return StageOutput(no_hits())
        items = explode_items(batch, set(self.profiles.text_fields))
        table = pl.LazyFrame(
            {
                "code": [p.id for p in active],
                "message": [p.title for p in active],
                "lane": [p.action.lane for p in active],
                "referral": [p.action.referral for p in active],
                "agency": [p.action.agency for p in active],
                "weight": [p.weight for p in active],
                "domain": [p.domain for p in active],
                "mandatory": [p.mandatory is not None for p in active],
            },
            schema={k: v for k, v in HIT_SCHEMA.items() if k not in ("key", "source")},
        )
        hits = (
            items.lazy()
            .group_by("key")
            .agg([p.expression.any().alias(p.id) for p in active])
            .unpivot(index="key", variable_name="code", value_name="hit")
            .filter(pl.col("hit"))
            .join(table, on="code")
            .with_columns(pl.lit("rule").alias("source"))
            .select(list(HIT_SCHEMA))
        )
        return StageOutput(plans.run(hits))
