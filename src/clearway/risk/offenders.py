"""Repeat offenders: a seller, consignor, consignee or delivery address that earlier parcels were found
infringing or seized for. The history (`context.history.offenders`) holds keyed hashes only.

The seller's record and the buyer's (consignee or delivery address) are two hits with their own codes,
so that each has its own measured hit rate: in business-to-consumer trade the seller declares the goods
and their value, and a buyer who once received a counterfeit or an undervalued parcel is more often the
one misled than the one misleading, so the buyer's record starts with a lower prior.

A record counts when it holds a seizure, or an infringement of a kind a trader's conduct repeats: duty and
tax (undervaluation, a wrong code, a false origin, other fiscal findings) or intellectual property
(counterfeits), the hit then in that domain (`cooperation.alerts.DOMAIN_OF_KIND`). A prohibited item, a
listed party or undeclared dangerous goods found once are the consignment's matter: the profiles, the
watch list and the dangerous-goods rules screen every parcel for them again, and on the simulated days a
seller whose record held only those offended again on 1-4% of its parcels, against 52-87% for one found
at value fraud or counterfeits (seed 6180339, day 2), so such a record made every seller a suspect. A vague
description found is the same: a flaw of the filing's data, which the data-quality profiles screen every
parcel for, not a scheme. Recorded as a fiscal finding ("other"), it made every large seller a repeat
offender: on pilot seed 11, day 5, the seller's record hit 5,103 of 9,958 parcels, and the 2,858 it hit alone
infringed 2% of the time."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from clearway.cooperation.alerts import DOMAIN_OF_KIND
from clearway.pipeline.stage import Context, StageOutput, no_hits
from clearway.risk.detectors import detector_hits

ROLES = {  # batch column -> the role its key is kept under, and how the officer reads it
    "seller_key": ("seller", "the seller"),
    "consignee_key": ("consignee", "the consignee"),
    "consignee_address_key": ("delivery_address", "the delivery address"),
}
SIDES = {"seller": "SELLER", "consignee": "BUYER", "delivery_address": "BUYER"}
WEIGHTS = {  # (side, seized before) -> lane and prior weight
    ("SELLER", True): ("red", 60.0), ("SELLER", False): ("yellow", 25.0),
    ("BUYER", True): ("yellow", 30.0), ("BUYER", False): ("yellow", 15.0),
}  # fmt: skip
"""The priors are modest: in the KCS declarations (`../shared/data/customs-declarations`, train file), a
seller's declaration after one found fraudulent is fraudulent 22% of the time, no more than any other (22%);
a party's record matters most as a seizure, and otherwise until inspections measure it here."""
REPEAT = "DET-REPEAT-"
"""The prefix of the hits on a party's record (`DET-REPEAT-SELLER`, `DET-REPEAT-BUYER`)."""
VALUE_RECORDS = frozenset((f"{REPEAT}{side}", weight) for (side, seized), (_, weight) in WEIGHTS.items() if not seized)
"""(code, prior) of the hits on a party's record of infringements without a seizure (a side's two priors
differ): in the fiscal domain, a record of value fraud, the same on every parcel of one seller to one buyer
(an order's parts), which the order's invoice answers for all of them. A record of a seizure or of
counterfeits is about the goods in each parcel."""
DATA_FLAWS = frozenset({"vague_description"})
"""Findings about the filing's data rather than the trader's conduct: they make no party a repeat offender."""
CONDUCT = {
    kind: domain
    for kind, (domain, _) in DOMAIN_OF_KIND.items()
    if domain in ("fiscal", "ipr") and kind not in DATA_FLAWS
}
"""The kinds of infringement that make a party's record a repeat-offender hit, and the domain of that hit."""


@dataclass(frozen=True)
class RepeatOffenderDetector:
    """`DET-REPEAT-SELLER`: red when the seller had a parcel seized before, yellow when one was found
    infringing; `DET-REPEAT-BUYER`: yellow when the consignee or the delivery address had either."""

    name: str = "repeat_offenders"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        offenders = context.history.offenders
        if batch.is_empty() or offenders.is_empty():
            return StageOutput(no_hits())
        parties = pl.concat([
            batch.select("key", pl.col(column).alias("party_key"), pl.lit(role).alias("role"),
                         pl.lit(reads).alias("who"), pl.lit(order).alias("order"))
            for order, (column, (role, reads)) in enumerate(ROLES.items())
        ]).drop_nulls("party_key")  # fmt: skip
        infringed = pl.when(pl.col("infringements") > 0).then(
            pl.format("{} earlier parcel(s) found infringing{}", "infringements",
                      pl.when(pl.col("kinds").list.len() > 0).then(pl.format(" ({})", pl.col("kinds").list.join(", ")))
                      .otherwise(pl.lit("")))
        )  # fmt: skip
        seized = pl.when(pl.col("seizures") > 0).then(pl.format("{} parcel(s) seized", "seizures"))
        conduct = pl.col("kinds").list.eval(pl.element().replace_strict(CONDUCT, default=None)).list.drop_nulls()
        found = (
            parties.join(offenders, on=["role", "party_key"])
            .with_columns(conduct.alias("domains"))
            .filter((pl.col("seizures") > 0) | (pl.col("domains").list.len() > 0))
            .with_columns(pl.col("role").replace_strict(SIDES, return_dtype=pl.String).alias("side"))
            .sort("key", "order")
            .with_columns(
                pl.format("{} had {}, the last on {}", "who",
                          pl.concat_str([infringed, seized], separator=" and ", ignore_nulls=True),
                          pl.col("last_at").dt.date()).alias("message")
            )
            .group_by("key", "side", maintain_order=True)
            .agg(pl.col("message").str.join("; "), (pl.col("seizures") > 0).any().alias("seized"),
                 pl.col("domains").list.contains("ipr").any().alias("ipr"))
        )  # fmt: skip
        return StageOutput(
            pl.concat([
                detector_hits(found.filter((pl.col("side") == side) & (pl.col("seized") == was)
                                           & (pl.col("ipr") == (domain == "ipr"))),
                              f"{REPEAT}{side}", lane, None, weight, domain)
                for (side, was), (lane, weight) in WEIGHTS.items()
                for domain in ("fiscal", "ipr")
            ])
        )  # fmt: skip
