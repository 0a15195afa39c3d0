"""One parcel, several filers: a platform (the sale), a carrier or post (the transport) and a representative
may each file the same transport document. Where their data disagree (value, goods, consignee) the officer
reads it as a reason (not a stop: one tenant's filing must never hold another's parcel); an air parcel filed
after its aircraft was declared loaded is flagged (ICS2 asks for the data before loading), and so is a declared
routing that does not run from the dispatch country to the destination. What the other
filings hold comes in `context.history.filings` and `.loading`."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from clearway.pipeline.stage import Context, StageOutput, hits_of, no_hits
from clearway.revenue.fx import ExchangeRates
from clearway.risk.detectors import usd_rates
from clearway.risk.fields import explode_items


@dataclass(frozen=True)
class FilingsDetector:
    rates: ExchangeRates
    tolerance: float = 0.10  # declared values may differ this much (rounding, shipping counted or not)
    name: str = "filings"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.is_empty():
            return StageOutput(no_hits())
        found = [self._disagreements(batch, context), self._late(batch, context), self._routing(batch)]
        found = [frame for frame in found if not frame.is_empty()]
        return StageOutput(pl.concat(found) if found else no_hits())

    def _disagreements(self, batch: pl.DataFrame, context: Context) -> pl.DataFrame:
        others = context.history.filings
        if others.is_empty():
            return no_hits()
        currencies = sorted({*batch["currency"].drop_nulls().to_list(), *others["currency"].drop_nulls().to_list()})
        usd = usd_rates(self.rates, currencies, context.as_of.date())
        chapters = (
            explode_items(batch, set())
            .group_by("key")
            .agg(pl.col("item.hs_code").drop_nulls().str.slice(0, 2).unique().sort().alias("mine"))
        )
        joined = (
            batch.select("key", "submitter", "transport_document_id", "currency", "consignee_key",
                         pl.col("intrinsic_value").cast(pl.Float64).alias("value"))
            .join(others.rename({"currency": "their_currency", "value": "their_value",
                                 "consignee_key": "their_consignee"}), on="transport_document_id")
            .filter(pl.col("filer") != pl.col("submitter"))
            .join(chapters, on="key", how="left")
            .with_columns(
                (pl.col("value") * pl.col("currency").replace_strict(usd, default=None)).alias("_mine"),
                (pl.col("their_value") * pl.col("their_currency").replace_strict(usd, default=None)).alias("_theirs"),
            )
        )  # fmt: skip
        value = (pl.col("_mine") - pl.col("_theirs")).abs() > self.tolerance * pl.max_horizontal("_mine", "_theirs")
        goods = (pl.col("mine").list.len() > 0) & (pl.col("chapters").list.len() > 0) & (
            pl.col("mine").list.set_intersection("chapters").list.len() == 0)  # fmt: skip
        consignee = pl.col("consignee_key").is_not_null() & pl.col("their_consignee").is_not_null() & (
            pl.col("consignee_key") != pl.col("their_consignee"))  # fmt: skip
        values = pl.format("value {} {} here, {} {} in theirs", pl.col("value").round(2), "currency",
                           pl.col("their_value").round(2), "their_currency")  # fmt: skip
        goods_text = pl.format("goods of HS chapters {} here, {} in theirs", pl.col("mine").list.join(", "),
                               pl.col("chapters").list.join(", "))  # fmt: skip
        parts = [
            pl.when(value.fill_null(False)).then(values),
            pl.when(goods).then(goods_text),
            pl.when(consignee).then(pl.lit("another consignee")),
        ]
        found = joined.with_columns(pl.concat_list(parts).list.drop_nulls().alias("_what")).filter(
            pl.col("_what").list.len() > 0
        )
        if found.is_empty():
            return no_hits()
        message = pl.format(
            "another filing of this parcel (by {}) disagrees: {}", "filer", pl.col("_what").list.join("; ")
        )
        # a reason the officer reads, not a stop of its own: any tenant may file any tracking number, and one
        # tenant's filing must not hold another's parcel
        return hits_of(found.select("key", message.alias("message")).unique("key", keep="first"), source="detector",
                       code="DET-FILERS", lane=None, referral=None, weight=0.0, domain="fiscal")  # fmt: skip

    def _late(self, batch: pl.DataFrame, context: Context) -> pl.DataFrame:
        loading = context.history.loading
        if loading.is_empty():
            return no_hits()
        late = batch.select("key", "transport_document_id", "received_at").join(
            loading, on="transport_document_id").filter(pl.col("received_at") > pl.col("loaded_at"))  # fmt: skip
        if late.is_empty():
            return no_hits()
        message = pl.format("filed after loading: air master {} was declared loaded at {}, the data came at {}",
                            "master", pl.col("loaded_at").dt.strftime("%Y-%m-%d %H:%M"),
                            pl.col("received_at").dt.strftime("%Y-%m-%d %H:%M"))  # fmt: skip
        return hits_of(late.select("key", message.alias("message")).unique("key", keep="first"), source="detector",
                       code="DQ-AFTER-LOADING", lane=None, referral=None, weight=0.0, domain="security")  # fmt: skip

    def _routing(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The declared countries of routing (v1.1) run from the dispatch country to the destination, as ICS2
        reads them; a route that starts or ends elsewhere is a reason for the officer, not a stop."""
        if not batch["routing_countries"].list.len().sum():  # a routing is optional: most filings have none
            return no_hits()
        routed = batch.select("key", "routing_countries", "dispatch_country", "destination_country").filter(
            pl.col("routing_countries").list.len() > 0)  # fmt: skip
        route = pl.col("routing_countries").list.join(" > ")
        start = pl.col("routing_countries").list.first() != pl.col("dispatch_country")
        end = pl.col("routing_countries").list.last() != pl.col("destination_country")
        parts = [
            pl.when(start).then(pl.format("does not start in the dispatch country {}", "dispatch_country")),
            pl.when(end).then(pl.format("does not end in the destination country {}", "destination_country")),
        ]
        found = routed.with_columns(pl.concat_list(parts).list.drop_nulls().alias("_what")).filter(
            pl.col("_what").list.len() > 0)  # fmt: skip
        if found.is_empty():
            return no_hits()
        message = pl.format("declared routing {} {}", route, pl.col("_what").list.join(" and "))
        return hits_of(found.select("key", message.alias("message")), source="detector", code="DQ-ROUTING",
                       lane=None, referral=None, weight=0.0, domain="security")  # fmt: skip
