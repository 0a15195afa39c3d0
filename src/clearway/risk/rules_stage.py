"""The rule stage: apply the active risk profiles to a batch and return one hit per matching profile."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from clearway.pipeline import plans
from clearway.pipeline.stage import HIT_SCHEMA, Context, StageOutput, no_hits
from clearway.risk.fields import explode_items
from clearway.risk.profiles import ProfileSet


@dataclass(frozen=True)
class RuleStage:
    profiles: ProfileSet
    name: str = "rules"
    _said: pl.DataFrame = field(init=False, repr=False, compare=False)
    """What a hit of each profile says (all of them: only the active ones' hits are ever looked up)."""

    def __post_init__(self) -> None:
        every = self.profiles.profiles
        said = pl.DataFrame(
            {
                "code": [p.id for p in every],
                "message": [p.title for p in every],
                "lane": [p.action.lane for p in every],
                "referral": [p.action.referral for p in every],
                "agency": [p.action.agency for p in every],
                "weight": [p.weight for p in every],
                "domain": [p.domain for p in every],
                "mandatory": [p.mandatory is not None for p in every],
                "source": ["rule"] * len(every),
            },
            schema={k: v for k, v in HIT_SCHEMA.items() if k != "key"},
        )
        object.__setattr__(self, "_said", said)

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        active = [p for p in self.profiles.profiles if p.active_on(context.as_of.date())]
        if not active or batch.is_empty():
            return StageOutput(no_hits())
        items = explode_items(batch, set(self.profiles.text_fields))
        # Each profile's test runs on every item row at once, then one `any` per consignment: an expression
        # aggregated inside the group-by would run group by group, five times slower on a day's batch.
        hits = (
            items.lazy()
            .select("key", *[p.expression.alias(p.id) for p in active])
            .group_by("key")
            .agg(pl.all().any())
            .unpivot(index="key", variable_name="code", value_name="hit")
            .filter(pl.col("hit"))
            .join(self._said.lazy(), on="code")
            .select(list(HIT_SCHEMA))
        )
        return StageOutput(plans.run(hits))
