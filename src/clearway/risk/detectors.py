"""Fraud detectors over a batch: split shipments, counterfeit prices and undervaluation. Pure stages.

Each returns hits whose message says what was seen, so the officer can check it. The reference data
(relief thresholds, brand price floors, unit-value references, exchange rates) comes in as arguments.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
from scipy.special import bdtrc, ndtr

from clearway.errors import RuleFileError
from clearway.model.codelists import normalise_text
from clearway.model.vocabulary import Domain
from clearway.pipeline import plans
from clearway.pipeline.derived import Derived
from clearway.pipeline.stage import Context, StageOutput, hits_of, no_hits
from clearway.revenue.fx import ExchangeRates, MissingRate
from clearway.revenue.rules import RuleBook
from clearway.risk.fields import explode_items, normalise_expr, normalised


def usd_rates(rates: ExchangeRates, currencies: list[str], day: dt.date) -> dict[str, float]:
    """Indicative USD per unit of each currency (detectors compare magnitudes, not amounts due)."""
    found = {}
    for currency in currencies:
        try:
            found[currency] = float(rates.quote(currency, "USD", day).rate)
        except MissingRate:
            continue
    return found


def relief_thresholds(rules: RuleBook, countries: list[str], day: dt.date) -> dict[str, tuple[str, Decimal]]:
    """Destination -> (currency, duty relief threshold) of its general rule on `day`, where it has one."""
    found = {}
    for country in countries:
        general = [r for r in rules.for_country(country, day) if r.when.specificity == 0]
        if general and general[0].duty_threshold:
            found[country] = (general[0].threshold_currency, general[0].duty_threshold)
    return found


def detector_hits(
    frame: pl.DataFrame, code: str, lane: str, referral: str | None, weight: float | pl.Expr, domain: Domain
) -> pl.DataFrame:
    """A detector's hits: one per row of `frame` (key, message)."""
    return hits_of(frame, source="detector", code=code, lane=lane, referral=referral, weight=weight, domain=domain)


SPLIT_CODE = "DET-SPLIT"
ORDER = "split_order"
"""The column a split-shipment hit adds: the same value for the parcels it finds to be one order."""
SPLIT_NAMED = 19
"""The most other parcels a split-shipment hit names (their ids: what an officer's finding names as one order)."""


@dataclass(frozen=True)
class SplitShipmentDetector:
    """One seller, one consignee, one day: parcels each within the relief threshold of the destination whose
    sum passes it, counting the parcels of that day received before the batch (`context.history.parcels`).
    Parties are matched by their keyed hashes where the batch has them (so the match still works once names
    are erased, and across batches), else by normalised name and address."""

    rules: RuleBook
    name: str = "split_shipments"

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.height + context.history.parcels.height < 2:
            return StageOutput(no_hits())  # a split takes two parcels at least
        thresholds = relief_thresholds(
            self.rules, batch["destination_country"].unique().to_list(), context.as_of.date()
        )
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
            # a few of the group's keys, not all: all of them on every row grows as the square of one buyer's day
            pl.col("key").head(SPLIT_NAMED + 1).over(group, mapping_strategy="join").alias("_group"),
        ).filter(
            ~pl.col("earlier") & (pl.col("parcels") >= 2) & (pl.col("largest") <= pl.col("limit"))
            & (pl.col("together") > pl.col("limit"))
        )  # fmt: skip
        others = pl.col("_group").list.set_difference(pl.concat_list("key")).list.sort()
        flagged = flagged.with_columns(
            pl.format(
                "{} parcels from {} to one consignee on {} total {} {}, each within the {} {} relief threshold{}; "
                "the others: {}{}",
                "parcels", "seller_name", "day", pl.col("together").round(2), "currency", "limit", "currency",
                pl.when(pl.col("before") > 0).then(pl.format(" ({} of them received earlier)", "before"))
                .otherwise(pl.lit("")),
                others.list.head(SPLIT_NAMED).list.join(" "),
                pl.when(pl.col("parcels") - 1 > SPLIT_NAMED).then(pl.lit(" ...")).otherwise(pl.lit("")),
            ).alias("message")
        )  # fmt: skip
        order = flagged.select(  # which parcels are one order (a hash: the consignee's name stays in the hit)
            "key", pl.concat_str(group, separator="\x1f", ignore_nulls=True).hash(0).cast(pl.String).alias(ORDER)
        )
        return StageOutput(detector_hits(flagged, SPLIT_CODE, "yellow", "rfi", 60.0, "fiscal"), order)


@dataclass(frozen=True)
class BrandFloor:
    brand: str
    names: tuple[str, ...]  # the brand and its aliases, normalised
    hs_prefixes: tuple[str, ...]
    floor_usd: float

    @functools.cached_property
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

    @functools.cached_property
    def _every_name(self) -> str:
        """Any brand's names as whole words (a line that matches none names no brand)."""
        return "|".join(floor.pattern for floor in self.floors)

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.is_empty() or not self.floors:
            return StageOutput(no_hits())
        every_name = self._every_name
        items = plans.run(
            explode_items(batch, {"item.description", "item.brand"})
            .lazy()
            .with_columns(
                pl.concat_str(
                    [pl.col("item.description~norm"), pl.col("item.brand~norm")], separator=" ", ignore_nulls=True
                ).alias("text"),
            )
            .filter(pl.col("text").str.contains(every_name).fill_null(False))  # most lines name no brand
        )  # fmt: skip
        if items.is_empty():
            return StageOutput(no_hits())
        usd = usd_rates(self.rates, items["currency"].unique().to_list(), context.as_of.date())
        items = items.with_columns(
            (pl.col("item.unit_price").cast(pl.Float64) * pl.col("currency").replace_strict(usd, default=None)).alias(
                "unit_usd"
            )
        )
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
            hit = (
                items.lazy()
                .filter((named & (cheap | marked)).fill_null(False))
                .select(
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
            )
            found.append(hit)
        # the brands' hits as one query: on one consignment each eager step costs more than its work
        flagged = plans.run(pl.concat(found).unique("key", keep="first", maintain_order=True)) if found else None
        if flagged is None:
            return StageOutput(no_hits())
        return StageOutput(detector_hits(flagged, "DET-COUNTERFEIT", "red", None, 70.0, "ipr"))


def declarant() -> pl.Expr:
    """Who declared a line's price: the seller's first identifier, else its name (case and spacing folded)
    with its country. Over a frame with `seller_identifier`, `seller_name` and `seller_country`."""
    name = pl.col("seller_name").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.coalesce(
        pl.col("seller_identifier"), pl.concat_str([name, pl.col("seller_country").fill_null("")], separator="|")
    ).alias("declarant")


def goods(description: pl.Expr) -> pl.Expr:
    """The goods a line's price is compared with: its description, normalised (`goods`)."""
    return normalise_expr(description).alias("goods")


@dataclass(frozen=True)
class UndervaluationDetector:
    """A unit value far below what the same goods usually declare, line by line and seller by seller.

    The usual unit value is what the same goods sell for: the prices of sales only (a gift has no price paid,
    and private senders declare what the goods would cost them in a shop), as the WTO Valuation Agreement
    (art. 2 and 3) values goods by the transaction values of identical, else similar, goods sold for export
    at about the same time. It is kept for each HS subheading and for each description within it (the same
    goods under the same words, which several sellers of one product on a marketplace share); a line is compared
    with its description's where at least `minimum` lines from `declarants` sellers gave one, else with its
    subheading's: a subheading mixes goods of different prices, and goods declared under a wrong code
    would otherwise set the price of the right ones. Within either, the usual value is the median of each
    seller's median log USD unit value, so that one seller who declares many lines (an undervaluing one
    above all) counts once; the spread is the median absolute deviation of the lines around it. It comes
    from accepted history (`context.history.unit_values`, or `history` given at construction) where that
    knows the goods well enough, else from the batch itself.

    - `DET-UNDERVALUE`: a line below both median - `k` x 1.4826 MAD and `share` x the usual value; its prior is
      graded by how far under (`UNDERVALUE_PRIORS`).
    - `DET-UNDERVALUE-LOW`: a line below `share` x the usual value but within `k` MADs of it, where goods' honest
      prices spread so widely that the bound falls far lower (three deviations of a spread of 0.55 in logs, usual
      for a description, fall at 19% of the usual value): alone it is weak, but it is what a seller's
      under-valuation leaves once its deepest cuts are caught. On pilot day 5 (seed 7000054) 153 of 349
      under-valued parcels carried no under-valuation hit, all but 20 of them under 35% of their goods' usual
      value; with this hit, 18 were left with the seller's record alone.
    - `DET-UNDERVALUE-SELLER`: a line below `low_share` x the usual value from a seller who declares that
      low as a habit: over its lines of the same goods (its accepted history and this batch, at least
      `seller_minimum`), its usual value is at most `seller_share` of the goods' and so many are that low
      that honest prices would give as many with a chance under `seller_significance` (binomial; `chance`).
      Honest prices that spread log-normally as widely as goods usually do put about one line in twelve
      under half the usual value. One low line, or two in five, is the spread of honest prices; three in
      three, or half of ten, is a habit. The test takes the seller's lines as drawn from every seller's
      prices, which a cheap but honest seller's are not: one that usually sells at 80% of the usual value
      has more lines under half than the spread says, so its own usual value must be low too.
      Its prior is low (`SELLER_HABIT_PRIOR`): a seller of cheap goods under a subheading of dear ones looks
      the same, and the stops with the most at stake are those. On the demo's day (seed 1, 40,000 parcels)
      14% of the parcels it flagged infringed (5% of those it flagged alone), against 61% for `DET-UNDERVALUE`
      (graded by how far under the usual value, `UNDERVALUE_PRIORS`);
      at the prior of 50 it shared with that hit, a first day with no record stopped 35 parcels on it alone,
      3 of them infringing (pilot seed 7000046).

    Each flagged consignment carries `undervalued_eur`, the most value one of its flagged lines lacks
    against the usual.
    """

    rates: ExchangeRates
    history: pl.DataFrame | None = field(default=None)  # UNIT_VALUES
    k: float = 3.0
    share: float = 0.35
    minimum: int = 15  # declarations of the goods needed before their reference is trusted
    declarants: int = 3  # sellers of a description needed before it is a reference of its own
    honest_low: float = 0.1
    seller_significance: float = 0.01
    low_share: float = 0.5
    seller_minimum: int = 3
    seller_share: float = 0.75
    name: str = "undervaluation"

    def reference(self, items: pl.DataFrame) -> pl.DataFrame:
        """UNIT_VALUES over the sales among lines with `category`, `hs6`, `goods`, `unit_usd` and `declarant`:
        a row per subheading (`goods` null) and a row per description within it."""
        logs = _logs(items.filter(pl.col("category") == "sale_of_goods"))
        return self._usual(pl.concat([logs.with_columns(pl.lit(None, pl.String).alias("goods")), logs]))

    @staticmethod
    def _usual(logs: pl.DataFrame) -> pl.DataFrame:
        """UNIT_VALUES of lines with `log_value`, per `hs6` and `goods` (null: the whole subheading)."""
        centre = (
            logs.group_by("hs6", "goods", "declarant")
            .agg(pl.col("log_value").median().alias("median_log"))
            .group_by("hs6", "goods")
            .agg(pl.col("median_log").median(), pl.len().cast(pl.UInt32).alias("declarants"))
        )
        return (
            logs.join(centre, on=["hs6", "goods"], nulls_equal=True)
            .group_by("hs6", "goods")
            .agg(
                pl.col("median_log").first(),
                (pl.col("log_value") - pl.col("median_log")).abs().median().alias("mad_log"),
                pl.len().cast(pl.UInt32).alias("n"),
                pl.col("declarants").first(),
            )
            .select(list(UNIT_VALUE_COLUMNS))
        )

    def _trusted(self, reference: pl.DataFrame) -> _Trusted:
        """What of `reference` (UNIT_VALUES) lines are compared with: the subheadings and the descriptions
        with enough lines, the descriptions only where enough sellers share them."""
        trusted = reference.filter(pl.col("n") >= self.minimum)
        descriptions = trusted.filter(pl.col("goods").is_not_null())
        return _Trusted(
            codes=trusted.filter(pl.col("goods").is_null()).select("hs6", "median_log", "mad_log", "n"),
            goods=descriptions.filter(pl.col("declarants") >= self.declarants).select(
                "hs6", "goods", *[pl.col(v).alias(f"own_{v}") for v in _VALUES]
            ),
            known_goods=descriptions.select("hs6", "goods"),
        )

    def compared(self, lines: pl.DataFrame, reference: _Trusted) -> pl.DataFrame:
        """`lines` (with `hs6` and `goods`) that a reference knows, each with the one it is compared with:
        `median_log`, `mad_log`, `n` and `basis` (the line's `goods` where their own reference is used,
        else null for the subheading's)."""
        return plans.run(self._compared(lines.lazy(), lines.columns, reference))

    @staticmethod
    def _compared(lines: pl.LazyFrame, columns: list[str], reference: _Trusted) -> pl.LazyFrame:
        """`compared`'s plan, over `lines` (of `columns`) not yet collected."""
        return (
            lines.join(reference.goods.lazy(), on=["hs6", "goods"], how="left")
            .join(reference.codes.lazy(), on="hs6", how="left")
            .select(
                *columns,
                *[pl.coalesce(f"own_{v}", v).alias(v) for v in _VALUES],
                pl.when(pl.col("own_n").is_not_null()).then(pl.col("goods")).alias("basis"),
            )
            .filter(pl.col("n").is_not_null())
        )

    def declared(self, items: pl.DataFrame, reference: pl.DataFrame) -> pl.DataFrame:
        """DECLARED_VALUES over lines with `hs6`, `goods`, `declarant` and `unit_usd`, per seller and the
        reference each line is compared with; `low` counts the lines below `low_share` x its usual value."""
        return self._per_seller(self.compared(_logs(items), self._trusted(reference))).rename({"basis": "goods"})

    def _per_seller(self, compared: pl.DataFrame) -> pl.DataFrame:
        """Compared lines (with `log_value`) per seller and reference (`hs6`, `basis`): their median log unit
        value, their number, and those below `low_share` x the usual value."""
        low = pl.col("log_value") < pl.col("median_log") + math.log(self.low_share)
        return compared.group_by("hs6", "basis", "declarant").agg(
            pl.col("log_value").median().alias("median_log"), pl.len().cast(pl.UInt32).alias("n"),
            low.sum().cast(pl.UInt32).alias("low"),
        )  # fmt: skip

    def references(self, items: pl.DataFrame, context: Context) -> _Trusted:
        """History where it knows the goods well enough; the batch's own lines for the rest."""
        stored = context.history.unit_values if self.history is None else self.history
        split = _TRUSTED.of(stored, lambda _: {})
        known = split.get((self.minimum, self.declarants)) or split.setdefault(
            (self.minimum, self.declarants), self._trusted(stored)
        )
        if items.height < self.minimum:
            return known  # the batch's own lines cannot reach `minimum` for any goods
        if known.codes.is_empty() and known.known_goods.is_empty():
            return self._trusted(self.reference(items))
        sale = (pl.col("category") == "sale_of_goods") & (pl.col("unit_usd") > 0)
        # the batch's own reference only where it has enough lines of goods history does not know
        sales = items.filter(
            sale & ((sale.sum().over("hs6") >= self.minimum) | (sale.sum().over("hs6", "goods") >= self.minimum))
        )
        if sales.is_empty():
            return known  # the usual case once history knows the goods: one step, and nothing more
        own = []
        for keys, by in ((["hs6"], known.codes), (["hs6", "goods"], known.known_goods)):
            busy = sales.group_by(keys).len().filter(pl.col("len") >= self.minimum)
            busy = busy.join(by.select(keys), on=keys, how="anti")
            if busy.height:
                lines = sales.join(busy, on=keys, how="semi")
                own.append(lines.with_columns(pl.lit(None, pl.String).alias("goods")) if keys == ["hs6"] else lines)
        if not own:
            return known
        batch = self._trusted(self._usual(pl.concat(own)))
        return _Trusted(
            codes=pl.concat([known.codes, batch.codes], how="vertical_relaxed"),
            goods=pl.concat([known.goods, batch.goods], how="vertical_relaxed"),
            known_goods=known.known_goods,
        )

    def sellers(self, compared: pl.DataFrame, context: Context) -> pl.DataFrame:
        """Each seller of the compared lines per reference (`hs6`, `basis`), over its accepted history and
        these lines: its usual log unit value (the two medians weighed by their lines) `seller_log`, its lines
        `seller_n`, and those below `low_share` x the usual value `seller_low`."""
        stored = context.history.declared_values.select(
            "hs6", pl.col("goods").alias("basis"), "declarant", pl.col("median_log").alias("stored_log"),
            pl.col("n").alias("stored_n"), pl.col("low").alias("stored_low"),
        )  # fmt: skip
        lines, stored_lines = pl.col("n").cast(pl.Float64), pl.col("stored_n").fill_null(0).cast(pl.Float64)
        low = pl.col("low").cast(pl.Float64) + pl.col("stored_low").fill_null(0).cast(pl.Float64)
        return (
            self._per_seller(compared)
            .join(stored, on=["hs6", "basis", "declarant"], how="left", nulls_equal=True)
            .select(
                "hs6",
                "basis",
                "declarant",
                ((pl.col("median_log") * lines + pl.col("stored_log").fill_null(0.0) * stored_lines)
                 / (lines + stored_lines)).alias("seller_log"),
                (lines + stored_lines).alias("seller_n"),
                low.alias("seller_low"),
            )
        )  # fmt: skip

    def chance(self, lines: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        """For each line's seller: the chance that honest prices give at least as many lines under `low_share`
        x the usual value among its lines (binomial), where an honest line falls that low as often as the
        goods' own spread (MAD) makes it, and at least `honest_low` of the time."""
        with np.errstate(divide="ignore"):
            spread = 1.4826 * lines["mad_log"].fill_null(0.0).to_numpy()
            honest = np.maximum(self.honest_low, ndtr(math.log(self.low_share) / spread))
        low, n = (lines[c].fill_null(0).cast(pl.Int64).to_numpy() for c in ("seller_low", "seller_n"))
        # at least `low` of `n` is more than `low` - 1; at least none is certain
        return np.asarray(np.where(low > 0, bdtrc(np.maximum(low - 1, 0), n, honest), 1.0), dtype=np.float64)

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        if batch.is_empty():
            return StageOutput(no_hits())
        usd = usd_rates(self.rates, [*batch["currency"].unique().to_list(), "EUR"], context.as_of.date())
        unit_usd = pl.col("item.unit_price").cast(pl.Float64) * pl.col("currency").replace_strict(usd, default=None)
        exploded = explode_items(batch, {"item.description"})
        derived = {
            "unit_usd": unit_usd,
            "log_value": unit_usd.log(),  # a line declared at nothing: -inf
            "hs6": pl.col("item.hs_code").str.slice(0, 6),
            "goods": pl.col(normalised("item.description")),  # the normalisation `goods` makes
            "declarant": declarant(),
        }
        items = (
            exploded.lazy()
            .with_columns(**derived)
            .filter(pl.col("unit_usd").is_not_null() & pl.col("hs6").is_not_null())
        )
        columns = [*exploded.columns, *(name for name in derived if name not in exploded.columns)]
        if exploded.height < self.minimum:  # too few lines for a reference of their own (a call of one parcel):
            plan = self._compared(items, columns, self.references(exploded, context))  # one plan to the end
        else:
            lines_in = plans.run(items)
            plan = self._compared(lines_in.lazy(), columns, self.references(lines_in, context))
        spread = 1.4826 * self.k
        typical = pl.col("median_log").exp()
        half = pl.col("unit_usd") < self.low_share * typical
        below = pl.col("log_value") < pl.col("median_log") - spread * pl.max_horizontal(
            "mad_log", pl.lit(math.log(1.5) / spread)
        )
        under_share = pl.col("unit_usd") < self.share * typical
        line_low = below & under_share
        within = ~below & under_share  # under `share` of the usual value, within the goods' spread of prices
        pattern = (
            half
            & (pl.col("seller_n") >= self.seller_minimum)
            & (pl.col("seller_log") < pl.col("median_log") + math.log(self.seller_share))
        )
        flagged_low = plans.run(plan.with_columns((line_low | half | within).alias("_low")))
        if not flagged_low["_low"].any():  # the usual case: a flag is cheaper to read than a filter to run
            return StageOutput(no_hits())
        lines = flagged_low.filter("_low").drop("_low")
        compared = flagged_low.drop("_low")
        lines = lines.join(
            self.sellers(compared, context), on=["hs6", "basis", "declarant"], how="left", nulls_equal=True
        ).with_columns(typical.alias("typical"), line_low.alias("line_low"), within.alias("within"),
                       pattern.fill_null(False).alias("habit"))  # fmt: skip
        if lines["habit"].any():  # the test only where a habit could show
            habit = pl.Series(self.chance(lines) < self.seller_significance)
            lines = lines.with_columns(pl.col("habit") & habit)
        lines = lines.filter(pl.col("line_low") | pl.col("within") | pl.col("habit")).sort("unit_usd")
        usually = pl.format(
            "{} usually {} about USD {} ({} lines)",
            pl.when(pl.col("basis").is_null()).then(pl.lit("that subheading")).otherwise(pl.lit("those goods")),
            pl.when(pl.col("basis").is_null()).then(pl.lit("declares")).otherwise(pl.lit("declare")),
            pl.col("typical").round(2),
            "n",
        )
        share = pl.col("unit_usd") / pl.col("typical")
        flagged = (
            lines.filter("line_low")
            .unique("key", keep="first", maintain_order=True)
            .with_columns(pl.format("HS {} declared at USD {} a unit, {}% of the usual; {}", "hs6",
                                    pl.col("unit_usd").round(2), (share * 100).round(0).cast(pl.Int64), usually)
                          .alias("message"), undervalue_prior(share).alias("_prior"))
        )  # fmt: skip
        low = (
            lines.filter("within")
            .join(flagged.select("key"), on="key", how="anti")  # a line far under speaks for the parcel
            .unique("key", keep="first", maintain_order=True)
            .with_columns(pl.format("HS {} declared at USD {} a unit, {}% of the usual, within the spread of honest "
                                    "prices for them; {}", "hs6", pl.col("unit_usd").round(2),
                                    (share * 100).round(0).cast(pl.Int64), usually).alias("message"))
        )  # fmt: skip
        by_seller = (
            lines.filter("habit")
            .unique("key", keep="first", maintain_order=True)
            .with_columns(
                pl.format("HS {} declared at USD {} a unit by a seller who declares under half the usual value on "
                          "{} of its {} lines of them (about USD {} a unit); {}", "hs6", pl.col("unit_usd").round(2),
                          pl.col("seller_low").cast(pl.Int64), pl.col("seller_n").cast(pl.Int64),
                          pl.col("seller_log").exp().round(2), usually).alias("message")
            )
        )  # fmt: skip
        eur = usd.get("EUR")
        gap = (pl.col("typical") - pl.col("unit_usd")) * pl.col("item.quantity").cast(pl.Float64)
        missing = (
            lines.group_by("key", maintain_order=True).agg((gap / eur).max().alias("undervalued_eur"))
            if eur and not lines.is_empty() else None
        )  # fmt: skip
        return StageOutput(
            pl.concat([detector_hits(flagged, "DET-UNDERVALUE", "yellow", "rfi", pl.col("_prior"), "fiscal"),
                       detector_hits(low, "DET-UNDERVALUE-LOW", "yellow", "rfi", WITHIN_SPREAD_PRIOR, "fiscal"),
                       detector_hits(by_seller, "DET-UNDERVALUE-SELLER", "yellow", "rfi", SELLER_HABIT_PRIOR,
                                     "fiscal")]),
            missing,
        )  # fmt: skip


UNDERVALUE_PRIORS = ((0.1, 87.0), (0.2, 72.0), (0.3, 38.0), (math.inf, 11.0))
"""`DET-UNDERVALUE`'s weight, the likelihood in % it starts from until inspections measure it, by the share of
the usual value a line was declared at (under each bound): the further under, the likelier undervalued. On the
demo's day (seed 1, 40,000 parcels) 87% of the parcels it flagged under a tenth of the usual value infringed,
72% from a tenth to a fifth, 38% to three tenths and 11% above. (Once the simulator priced honest gifts as
their goods, the same day gave 97, 78, 41 and 12%; the first day of eight pilot seeds it was never tuned on,
7000041-48 before that fix, gave 84, 61, 25 and 12%: the priors stay the lower ones.)
A prior of 50 for all of them let selectivity rank them by what was at stake, and the lines furthest from a dear
usual value are as often cheap goods under a subheading of dear ones: of the parcels with EUR 20 or more at
risk, 33% infringed (pilot seed 7000044, day 1: 45 stops on this hit alone, 13 of them infringing)."""


def undervalue_prior(share: pl.Expr) -> pl.Expr:
    """`UNDERVALUE_PRIORS` for lines declared at `share` of their usual value."""
    graded: pl.Expr = pl.lit(UNDERVALUE_PRIORS[-1][1])
    for bound, prior in reversed(UNDERVALUE_PRIORS[:-1]):
        graded = pl.when(share < bound).then(pl.lit(prior)).otherwise(graded)
    return graded


WITHIN_SPREAD_PRIOR = 15.0
"""`DET-UNDERVALUE-LOW`'s weight, the likelihood in % it starts from until inspections measure it: on the first
day of pilot seed 7000054 (no record of anyone yet), 15% of the 206 parcels it flagged alone infringed. Alone it
stays unlikely (honest prices fall that low one line in thirty or so); beside a seller's record of value fraud,
91% of 44 parcels infringed on day 5, and the combination's own record says so once inspections try it."""

SELLER_HABIT_PRIOR = 14.0
"""`DET-UNDERVALUE-SELLER`'s weight, the likelihood in % it starts from until inspections measure it: the
share of the parcels it flagged that infringed on the demo's day (seed 1: 38 of 266)."""


@dataclass(frozen=True)
class _Trusted:
    """A reference split for comparing (`UndervaluationDetector._trusted`)."""

    codes: pl.DataFrame  # hs6, median_log, mad_log, n
    goods: pl.DataFrame  # hs6, goods, own_median_log, own_mad_log, own_n
    known_goods: pl.DataFrame  # hs6, goods: every description with enough lines, shared or not


_TRUSTED: Derived[dict[tuple[int, int], _Trusted]] = Derived()
"""The stored references split, by the detector's `minimum` and `declarants`: they serve every batch until
the history computes them again."""
_VALUES = ("median_log", "mad_log", "n")

UNIT_VALUE_COLUMNS = ("hs6", "goods", "median_log", "mad_log", "n", "declarants")


def _logs(items: pl.DataFrame) -> pl.DataFrame:
    """Lines with a positive USD unit value, with its log (`log_value`)."""
    return items.filter(pl.col("unit_usd") > 0).with_columns(pl.col("unit_usd").log().alias("log_value"))
