"""Fraud detectors over a batch: split shipments, counterfeit prices and undervaluation. Pure stages.

Each returns hits whose message says what was seen, so the officer can check it. The reference data
(relief thresholds, brand price floors, unit-value references, exchange rates) comes in as arguments.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from clearway.errors import RuleFileError
from clearway.model.codelists import normalise_text
from clearway.model.vocabulary import Domain
from clearway.pipeline.stage import Context, StageOutput, hits_of, no_hits
from clearway.revenue.fx import ExchangeRates, MissingRate
from clearway.revenue.rules import RuleBook
from clearway.risk.fields import explode_items, normalise_expr


def usd_rates(rates: ExchangeRates, currencies: list[str], day: dt.date) -> dict[str, float]:
    """Indicative USD per unit of each currency (detectors compare magnitudes, not amounts due)."""
    found = {}
    for currency in currencies:
        try:
            found[currency] = float(rates.quote(currency, "USD", day).rate)
        except MissingRate:
            continue
    return found


def detector_hits(
    frame: pl.DataFrame, code: str, lane: str, referral: str | None, weight: float, domain: Domain
) -> pl.DataFrame:
    """A detector's hits: one per row of `frame` (key, message)."""
    return hits_of(frame, source="detector", code=code, lane=lane, referral=referral, weight=weight, domain=domain)


@dataclass(frozen=True)
class SplitShipmentDetector:
    """One seller, one consignee, one day: parcels each within the relief threshold of the destination whose
    sum passes it, counting the parcels of that day received before the batch (`context.history.parcels`).
    Parties are matched by their keyed hashes where the batch has them (so the match still works once names
    are erased, and across batches), else by normalised name and address."""

    rules: RuleBook
    name: str = "split_shipments"

    def thresholds(self, countries: list[str], day: dt.date) -> dict[str, tuple[str, Decimal]]:
        """Destination -> (currency, duty relief threshold) of its general rule on `day`, where it has one."""
        found = {}
        for country in countries:
            general = [r for r in self.rules.for_country(country, day) if r.when.specificity == 0]
            if general and general[0].duty_threshold:
                found[country] = (general[0].threshold_currency, general[0].duty_threshold)
        return found

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.height + context.history.parcels.height < 2:
            return StageOutput(no_hits())  # a split takes two parcels at least
        thresholds = self.thresholds(batch["destination_country"].unique().to_list(), context.as_of.date())
        if batch.is_empty() or not thresholds:
            return StageOutput(no_hits())
        limits = pl.DataFrame(
            {
                "destination_country": list(thresholds),
                "limit_currency": [c for c, _ in thresholds.values()],
                "limit": [float(v) for _, v in thresholds.values()],
            }
        )
        frame = (
            batch.select(
                "key",
                "destination_country",
                "currency",
                "seller_name",
                "seller_key",
                "received_at",
                pl.col("intrinsic_value").cast(pl.Float64).alias("value"),
                pl.coalesce(
                    pl.col("consignee_key"),
                    normalise_expr(
                        pl.concat_str(
                            ["consignee_name", "consignee_street", "consignee_postcode"],
                            separator=" ",
                            ignore_nulls=True,
                        )
                    ),
                ).alias("who"),
            )  # fmt: skip
            .with_columns(
                pl.coalesce(pl.col("seller_key"), normalise_expr(pl.col("seller_name"))).alias("seller"),
                pl.lit(False).alias("earlier"),
            )
            .drop("seller_key")
        )
        earlier = context.history.parcels.select(
            "key", "destination_country", "currency", pl.lit(None, pl.String).alias("seller_name"), "received_at",
            "value", "who", "seller", pl.lit(True).alias("earlier"),
        )  # fmt: skip
        frame = (
            pl.concat([frame, earlier.filter(~pl.col("key").is_in(frame["key"].implode()))], how="vertical_relaxed")
            .join(limits, on="destination_country")
            .filter(pl.col("currency") == pl.col("limit_currency"))
            .with_columns(pl.col("received_at").dt.date().alias("day"))
        )
        group = ["destination_country", "who", "seller", "day"]
        flagged = frame.with_columns(
            pl.len().over(group).alias("parcels"),
            pl.col("earlier").sum().over(group).alias("before"),
            pl.col("value").sum().over(group).alias("together"),
            pl.col("value").max().over(group).alias("largest"),
        ).filter(
            ~pl.col("earlier") & (pl.col("parcels") >= 2) & (pl.col("largest") <= pl.col("limit"))
            & (pl.col("together") > pl.col("limit"))
        )  # fmt: skip
        flagged = flagged.with_columns(
            pl.format(
                "{} parcels from {} to one consignee on {} total {} {}, each within the {} {} relief threshold{}",
                "parcels", "seller_name", "day", pl.col("together").round(2), "currency", "limit", "currency",
                pl.when(pl.col("before") > 0).then(pl.format(" ({} of them received earlier)", "before"))
                .otherwise(pl.lit("")),
            ).alias("message")
        )  # fmt: skip
        return StageOutput(detector_hits(flagged, "DET-SPLIT", "yellow", "rfi", 60.0, "fiscal"))


@dataclass(frozen=True)
class BrandFloor:
    brand: str
    names: tuple[str, ...]  # the brand and its aliases, normalised
    hs_prefixes: tuple[str, ...]
    floor_usd: float

    @property
    def pattern(self) -> str:
        """Any of its names as whole words of a normalised text."""
        return "|".join(f"(?:^|\\s){name}(?:\\s|$)" for name in self.names)


def parse_brand_floors(text: str, source: str) -> tuple[BrandFloor, ...]:
    """CSV `brand,aliases,hs_prefix,floor_usd` (aliases and prefixes separated by `;`, # comments)."""
    floors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith(("#", "brand,")):
            continue
        cells = line.split(",")
        if len(cells) != 4:
            raise RuleFileError(
                f"{len(cells)} cells; a row is brand,aliases,hs_prefix,floor_usd", file=source, line=number
            )
        brand, aliases, prefixes, floor = cells
        try:
            price = float(floor)
        except ValueError as exc:
            raise RuleFileError(f"floor {floor!r} is not a number", file=source, line=number) from exc
        names = tuple(n for n in (normalise_text(x) for x in [brand, *aliases.split(";")]) if n)
        codes = tuple(p.strip() for p in prefixes.split(";") if p.strip())
        if not names or not codes or not all(c.isdigit() for c in codes):
            raise RuleFileError("a row needs a brand and HS prefixes of digits", file=source, line=number)
        floors.append(BrandFloor(brand, tuple(re.escape(n) for n in names), codes, price))
    return tuple(floors)


MARKERS = (
    r"(?:^|\s)(?:inspired|replica|style|look alike|lookalike|dupe|1 1|aaa|mirror quality|super copy|high copy)"
    r"(?:\s|$)"
)
"""Words sellers put next to a brand name to sell a copy ("Rolex inspired watch", "Gucci style bag", "AAA")."""


@dataclass(frozen=True)
class CounterfeitDetector:
    """A brand named in the description or brand field, priced below a third of its genuine floor, or next to
    a counterfeit marker ("inspired", "replica", "style", "1:1", "AAA") at any price."""

    floors: tuple[BrandFloor, ...]
    rates: ExchangeRates
    share: float = 1 / 3  # below a third of the lowest genuine price, a discount no authorised seller gives
    name: str = "counterfeits"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.is_empty() or not self.floors:
            return StageOutput(no_hits())
        usd = usd_rates(self.rates, batch["currency"].unique().to_list(), context.as_of.date())
        items = explode_items(batch, {"item.description", "item.brand"}).with_columns(
            (pl.col("item.unit_price").cast(pl.Float64) * pl.col("currency").replace_strict(usd, default=None)).alias(
                "unit_usd"
            ),
            pl.concat_str(
                [pl.col("item.description~norm"), pl.col("item.brand~norm")], separator=" ", ignore_nulls=True
            ).alias("text"),
        )
        every_name = "|".join(floor.pattern for floor in self.floors)
        items = items.filter(pl.col("text").str.contains(every_name).fill_null(False))  # most lines name no brand
        if items.is_empty():
            return StageOutput(no_hits())
        named_here = set(items["text"].to_list())
        found = []
        for floor in self.floors:
            if not any(re.search(floor.pattern, text) for text in named_here):
                continue  # only the brands these lines name are checked line by line
            words = floor.pattern
            named = pl.col("text").str.contains(words)
            cheap = pl.any_horizontal([pl.col("item.hs_code").str.starts_with(p) for p in floor.hs_prefixes]) & (
                pl.col("unit_usd") < floor.floor_usd * self.share
            )
            marked = pl.col("item.description~norm").str.contains(MARKERS)
            hit = items.filter((named & (cheap | marked)).fill_null(False)).select(
                "key",
                pl.when(marked.fill_null(False))
                .then(
                    pl.format(
                        "{} named beside a counterfeit marker: {}", pl.lit(floor.brand), pl.col("item.description")
                    )
                )
                .otherwise(
                    pl.format(
                        "{} item at USD {} a unit, where genuine ones start near USD {}",
                        pl.lit(floor.brand),
                        pl.col("unit_usd").round(2),
                        pl.lit(floor.floor_usd),
                    )
                )  # fmt: skip
                .alias("message"),
            )
            found.append(hit)
        flagged = pl.concat(found).unique("key", keep="first", maintain_order=True) if found else pl.DataFrame()
        return StageOutput(detector_hits(flagged, "DET-COUNTERFEIT", "red", None, 70.0, "ipr"))


@dataclass(frozen=True)
class UndervaluationDetector:
    """A unit value far below what the same HS subheading usually declares.

    The reference is the median and the median absolute deviation of log USD unit values per HS6, from
    accepted history (`context.history.unit_values`, or `history` given at construction) where it has at
    least `minimum` lines of the subheading, else from the batch itself. A line is flagged below both
    median - `k` x 1.4826 MAD and `share` x median.
    """

    rates: ExchangeRates
    history: pl.DataFrame | None = field(default=None)  # hs6, median_log, mad_log, n
    k: float = 3.0
    share: float = 0.35
    minimum: int = 15  # declarations of the subheading needed before its reference is trusted
    name: str = "undervaluation"

    def reference(self, items: pl.DataFrame) -> pl.DataFrame:
        logs = items.filter(pl.col("unit_usd") > 0).with_columns(pl.col("unit_usd").log().alias("log_value"))
        return logs.group_by("hs6").agg(
            pl.col("log_value").median().alias("median_log"),
            (pl.col("log_value") - pl.col("log_value").median()).abs().median().alias("mad_log"),
            pl.len().alias("n"),
        )

    def references(self, items: pl.DataFrame, context: Context) -> pl.DataFrame:
        """History where it knows the subheading well enough; the batch's own lines for the rest."""
        stored = context.history.unit_values if self.history is None else self.history
        known = stored.filter(pl.col("n") >= self.minimum).select("hs6", "median_log", "mad_log", "n")
        if items.height < self.minimum:
            return known  # the batch's own lines cannot reach `minimum` for any subheading
        own = self.reference(items).filter(~pl.col("hs6").is_in(known["hs6"].implode()))
        return pl.concat([known, own], how="vertical_relaxed")

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.is_empty():
            return StageOutput(no_hits())
        usd = usd_rates(self.rates, [*batch["currency"].unique().to_list(), "EUR"], context.as_of.date())
        items = (
            explode_items(batch, set())
            .with_columns(
                (
                    pl.col("item.unit_price").cast(pl.Float64) * pl.col("currency").replace_strict(usd, default=None)
                ).alias("unit_usd"),
                pl.col("item.hs_code").str.slice(0, 6).alias("hs6"),
            )
            .filter(pl.col("unit_usd").is_not_null() & pl.col("hs6").is_not_null())
        )
        reference = self.references(items, context)
        spread = 1.4826 * self.k
        flagged = (
            items.join(reference.filter(pl.col("n") >= self.minimum), on="hs6")
            .with_columns(pl.col("median_log").exp().alias("typical"))
            .filter(
                (
                    pl.col("unit_usd").log()
                    < pl.col("median_log") - spread * pl.max_horizontal("mad_log", pl.lit(math.log(1.5) / spread))
                )
                & (pl.col("unit_usd") < self.share * pl.col("typical"))
            )
            .sort("unit_usd")
            .unique("key", keep="first", maintain_order=True)
            .with_columns(
                pl.format(
                    "HS {} declared at USD {} a unit; that subheading usually declares about USD {} ({} lines)",
                    "hs6",
                    pl.col("unit_usd").round(2),
                    pl.col("typical").round(2),
                    "n",
                ).alias("message")
            )  # fmt: skip
        )
        eur = usd.get("EUR")
        missing = (
            flagged.select("key", ((pl.col("typical") - pl.col("unit_usd")) * pl.col("item.quantity").cast(pl.Float64)
                                   / eur).alias("undervalued_eur"))
            if eur and not flagged.is_empty() else None
        )  # fmt: skip
        return StageOutput(detector_hits(flagged, "DET-UNDERVALUE", "yellow", "rfi", 50.0, "fiscal"), missing)
