"""Export data from partner administrations against the import of the same parcel (WCO Framework standard
12, cooperation between customs administrations): a value lower at import than at export, or goods of
other HS chapters, is a signal with its reason. Records come matched by transport document id in
`context.history.exports`."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from clearway.pipeline.stage import Context, StageOutput, no_hits
from clearway.revenue.fx import ExchangeRates
from clearway.risk.detectors import detector_hits, usd_rates
from clearway.risk.fields import explode_items


@dataclass(frozen=True)
class ExportMismatchDetector:
    rates: ExchangeRates
    tolerance: float = 0.10  # import value may sit this share under the export value (rounding, discounts)
    name: str = "export_mismatch"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        exports = context.history.exports
        if batch.is_empty() or exports.is_empty():
            return StageOutput(no_hits())
        currencies = sorted({*batch["currency"].drop_nulls().to_list(), *exports["currency"].drop_nulls().to_list()})
        usd = usd_rates(self.rates, currencies, context.as_of.date())
        chapters = (
            explode_items(batch, set())
            .group_by("key")
            .agg(pl.col("item.hs_code").drop_nulls().str.slice(0, 2).unique().sort().alias("imported"))
        )
        matched = (
            batch.select("key", "transport_document_id", "currency", pl.col("intrinsic_value").cast(pl.Float64))
            .join(exports.rename({"currency": "export_currency", "value": "export_value"}), on="transport_document_id")
            .join(chapters, on="key", how="left")
            .with_columns(
                (pl.col("intrinsic_value") * pl.col("currency").replace_strict(usd, default=None)).alias("in_usd"),
                (pl.col("export_value") * pl.col("export_currency").replace_strict(usd, default=None)).alias("out_usd"),
                pl.col("hs_codes").list.eval(pl.element().str.slice(0, 2)).list.unique().list.sort().alias("exported"),
            )
        )  # fmt: skip
        lower = matched.filter(pl.col("in_usd") < pl.col("out_usd") * (1 - self.tolerance)).with_columns(
            pl.format(
                "declared {} {} at import; {} {} at export from {} ({})", pl.col("intrinsic_value").round(2),
                "currency", pl.col("export_value").round(2), "export_currency", "exporting_country", "partner",
            ).alias("message")
        )  # fmt: skip
        other = matched.filter(
            (pl.col("exported").list.len() > 0)
            & (pl.col("imported").list.len() > 0)
            & (pl.col("exported") != pl.col("imported"))
        ).with_columns(
            pl.format(
                "goods differ: exported from {} as HS chapters {} ({}), imported as HS chapters {}",
                "exporting_country", pl.col("exported").list.join(", "), pl.col("descriptions").list.join("; "),
                pl.col("imported").list.join(", "),
            ).alias("message")
        )  # fmt: skip
        return StageOutput(
            pl.concat([
                detector_hits(lower, "DET-EXPORT-VALUE", "yellow", "rfi", 55.0, "fiscal"),
                detector_hits(other, "DET-EXPORT-GOODS", "yellow", "rfi", 50.0, "fiscal"),
            ])
        )  # fmt: skip
