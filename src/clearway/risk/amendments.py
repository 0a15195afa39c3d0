"""Amendments (and filings anew) that lower the declared value: a risk of their own, whatever the new
filing says.

A filer may amend its filing before release (Union Customs Code art. 173(1)), and a request for information
is answered that way. Lowering the value declared is also how an undervalued parcel gets out of a stop: a
parcel held at EUR 400 for an IOSS number above the EUR 150 ceiling, amended to EUR 140, was released with
no question asked. Where customs have reasonable doubts that a declared transaction value is the price paid,
they ask the declarant for proof of it (Implementing Regulation (EU) 2015/2447 art. 140): `DET-VALUE-LOWERED`
asks it (yellow lane, request for information) of an amendment that lowers the intrinsic value from above
the destination's relief threshold to within it, or to `drop` of the highest value declared before or less
(a value declared in another currency is converted at the day's indicative rate). A parcel its filer
withdrew and filed anew (the same transport document) is compared with what the withdrawn filing declared:
a filing above the ceiling waits for a full declaration, and withdrawing it to file it at EUR 140 is the
same move. Pure stage: the earlier values come from `History.amended`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from clearway.pipeline.stage import Context, StageOutput, no_hits
from clearway.revenue.fx import ExchangeRates
from clearway.revenue.rules import RuleBook
from clearway.risk.detectors import detector_hits, relief_thresholds, usd_rates


@dataclass(frozen=True)
class AmendedValueDetector:
    rules: RuleBook
    rates: ExchangeRates
    drop: float = 0.5  # lowered to this share of the highest earlier value, or less
    name: str = "amended_value"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        earlier = context.history.amended
        if earlier.is_empty() or batch.is_empty():
            return StageOutput(no_hits())
        frame = batch.select(
            "key", "destination_country", "currency", pl.col("intrinsic_value").cast(pl.Float64).alias("value")
        ).join(earlier, on="key")
        if frame.is_empty():
            return StageOutput(no_hits())
        # a value declared before in another currency, at the day's indicative rate: a new currency hides nothing
        usd = usd_rates(self.rates, sorted({*frame["currency"], *frame["earlier_currency"]}), context.as_of.date())
        per_usd = {currency: rate for currency, rate in usd.items() if rate > 0}
        frame = (
            frame.with_columns(
                pl.when(pl.col("earlier_currency") == pl.col("currency"))
                .then(pl.col("earlier"))
                .otherwise(
                    pl.col("earlier")
                    * pl.col("earlier_currency").replace_strict(per_usd, default=None)
                    / pl.col("currency").replace_strict(per_usd, default=None)
                )
                .alias("earlier")
            )  # fmt: skip
            .drop_nulls("earlier")
            .group_by("key", "destination_country", "currency", "value", maintain_order=True)
            .agg(pl.col("earlier").max(), pl.col("refiled").first())
        )
        limits = relief_thresholds(self.rules, frame["destination_country"].unique().to_list(), context.as_of.date())
        frame = frame.join(
            pl.DataFrame(
                {
                    "destination_country": list(limits),
                    "limit_currency": [currency for currency, _ in limits.values()],
                    "limit": [float(value) for _, value in limits.values()],
                },
                schema={"destination_country": pl.String, "limit_currency": pl.String, "limit": pl.Float64},
            ),
            on="destination_country",
            how="left",
        )
        crossed = (
            (pl.col("currency") == pl.col("limit_currency"))
            & (pl.col("earlier") > pl.col("limit"))
            & (pl.col("value") <= pl.col("limit"))
        )
        lowered = (pl.col("earlier") > 0) & (pl.col("value") < pl.col("earlier"))  # nothing before: nothing lower
        flagged = frame.filter(
            lowered & (crossed.fill_null(False) | (pl.col("value") <= self.drop * pl.col("earlier")))
        )
        if flagged.is_empty():
            return StageOutput(no_hits())
        lower = ((1 - pl.col("value") / pl.col("earlier")) * 100).round(0).cast(pl.Int64)
        message = pl.format(
            "{} from {} to {} {} ({}% lower){}: proof of the price paid is asked",
            pl.when("refiled").then(pl.lit("withdrawn and filed anew")).otherwise(pl.lit("amended")),
            pl.col("earlier").round(2), pl.col("value").round(2), "currency", lower,
            pl.when(crossed.fill_null(False))
            .then(pl.format(", under the {} {} relief threshold", pl.col("limit").round(2), "limit_currency"))
            .otherwise(pl.lit("")),
        )  # fmt: skip
        return StageOutput(
            detector_hits(
                flagged.with_columns(message.alias("message")), "DET-VALUE-LOWERED", "yellow", "rfi", 60.0, "fiscal"
            )  # fmt: skip
        )
