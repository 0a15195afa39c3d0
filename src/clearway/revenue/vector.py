"""The revenue engine on the batch frame: the common case's duty and tax in integer micro-units, vectorised.

`assess_frame` gives, for every consignment of a batch in the common case, the revenue stage's columns
with the same assessment JSON the Decimal engine (`revenue.engine.assess`, the reference) gives, byte for
byte. Values, transport shares, duties and taxes are exact integers of millionths of the rule's currency
(the engine's six places) in Int128 columns, rounded half-even where the engine quantizes and half-up to
cents where it rounds; the assessment's lines, notes and totals are assembled as columns too, so no
Python runs per consignment.

The common case is a rule without rounding steps other than on the total, gross-up, tax parts, surcharges,
deductions, handling fees, aggregation or annual limits (EU, GB, US, SG, AU, CA and CH among the shipped
rules: a tax base that adds the transport, a region's rate, a total rounded to a step dividing 10^6 units,
a minimum amount of tax are covered); any consignment with items, documents and gifts between private
persons exempt as the engine exempts them; an exchange rate of at most six places; and values small enough
that the engine's 28-digit arithmetic is exact (about 30,000 units of the rule's currency where a rate
converts, 10^7 where none does). A transport share that falls exactly half-way
between two millionths, where the engine's 28-digit share could tip either way, is left to the engine; so
is a tax base with the transport added (not rounded by the engine) whose tax or stated cents lie within
10^-12 of a half.
Every consignment not in the answer is for the caller to assess with the engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import msgspec
import polars as pl

from clearway.errors import ClearwayError
from clearway.model.consignment import Address
from clearway.pipeline import plans
from clearway.revenue.assessment import FxUsed
from clearway.revenue.engine import (
    DOCUMENTS_EXEMPT,
    RevenueContext,
    fx_day,
    gift_exemption,
    member_state_reduced_rate,
    regional_rate,
    tax_rate,
)
from clearway.revenue.regional import RegionalRates, region_of
from clearway.revenue.rules import Rule, Step

EXACT = 10**27
"""The engine's Decimal context keeps 28 significant digits: an integer product below 10^27 is exact."""
LIMIT = 10**13
"""Millionths: intrinsic value and transport up to 10^7 units of the rule's currency."""
RATE_DIGITS = 10**12
"""Duty and tax rates with a numerator above this are left to the engine (products would pass EXACT)."""
I128 = pl.Int128
NEAR = 10**12
"""A value within 1/NEAR of a half is left to the engine where its 28-digit arithmetic is not exact."""
HEADROOM = 10**37
"""Products of an unrounded tax base and a rate stay below this (Int128 holds 1.7 * 10^38)."""

COLUMNS = ["key", "revenue_currency", "collection_model", "duty", "vat", "other_charges", "total_due", "assessment",
           "on", "currency", "intrinsic"]  # fmt: skip
"""What `assess_frame` answers per consignment: the revenue stage's columns, the assessment day, and the
consignment's own currency and intrinsic value (six places) for the stage's EUR figures."""

_ROUTE_KEY = ["destination_country", "dispatch_country", "channel", "fiscal_scheme", "currency", "day"]
_encode = msgspec.json.Encoder().encode


def covered(rule: Rule) -> bool:
    """Whether the vectorised engine computes this rule's assessments (else the Decimal engine does)."""
    steps = (rule.round_base, rule.round_line, rule.round_carried, rule.step)
    return (
        rule.valuation_factor == 1 and rule.threshold_basis == "intrinsic" and rule.aggregation == "consignment"
        and rule.currency == rule.threshold_currency and rule.places == 2 and all(s is None for s in steps)
        and (rule.round_total is None or _stepping(rule.round_total) is not None)
        and not (rule.tax_gross_up or rule.tax_parts)
        and not (rule.duty_surcharge or rule.duty_deduction or rule.handling_fee)
        and _micro(rule.tax_minimum) is not None
        and rule.intermediary_annual is None and rule.intermediary_cutoff is None and rule.tax_share == 1
        and rule.when.max_value is None
        and (rule.flat_per_subheading is None or _micro(rule.flat_per_subheading) is not None)
    )  # fmt: skip


def _ratio(rate: Decimal) -> tuple[int, int]:
    """A finite decimal as an integer over a power of ten."""
    sign, digits, exponent = rate.as_tuple()
    number = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    assert isinstance(exponent, int)
    return (number * 10**exponent, 1) if exponent >= 0 else (number, 10**-exponent)


def _micro(amount: Decimal) -> int | None:
    """An amount in millionths, where it has no more than six places."""
    scaled = amount.scaleb(6)
    return int(scaled) if scaled == scaled.to_integral_value() else None


def _stepping(step: Step) -> tuple[int, bool] | None:
    """A rounding step as millionths and whether it rounds down (else half up), where the engine's quotient by
    it is exact: a step that divides 10^12 millionths (0.05, 0.25, 1, 5), so that an amount over it has at
    most 12 more digits, well within the engine's 28."""
    to = _micro(step.to)
    if to is None or to <= 0 or 10**12 % to or step.mode not in ("half_up", "down"):
        return None
    return to, step.mode == "down"


def _floor_micro(amount: Decimal | None) -> int | None:
    """The largest whole number of millionths at or below `amount`: `x <= amount` for any x in millionths."""
    return None if amount is None else int(amount.scaleb(6).to_integral_value(ROUND_FLOOR))


def _json(value: object) -> str:
    return _encode(value).decode()


@dataclass(frozen=True)
class _Route:
    """The rule a group of consignments takes (same destination, dispatch, channel, scheme, currency and day)."""

    rule: Rule
    on: dt.date
    fx: FxUsed
    rate: Decimal  # the tax rate
    reduced: Decimal | None  # the reduced rate of the rule's reduced goods at the destination
    reduced_source: str
    scheme: str | None
    channel: str

    def row(self, basis: int) -> tuple[object, ...]:
        """The route's figures and texts, as `_ROUTES` names them."""
        rule = self.rule
        reduced = self.reduced if self.reduced is not None else self.rate
        vendor = self.scheme in rule.vendor_schemes
        step = _stepping(rule.round_total) if rule.round_total is not None else None
        relief = (
            f"flat {rule.flat_per_subheading} {rule.currency} per distinct subheading ({rule.id})"
            if rule.flat_per_subheading is not None
            else f"de minimis: value within {rule.duty_threshold} {rule.threshold_currency} ({rule.id})"
        )
        return (
            basis, self.reduced is not None, *_ratio(self.fx.rate), *_ratio(self.rate), *_ratio(reduced),
            _floor_micro(rule.duty_threshold),
            _micro(rule.flat_per_subheading) if rule.flat_per_subheading is not None else None,
            rule.valuation == "cif", _floor_micro(rule.tax_threshold),
            vendor, _floor_micro(rule.vendor_cutoff), vendor and not rule.vendor_collects_all,
            self.channel in rule.carrier_channels, _floor_micro(rule.carrier_cutoff),
            rule.jurisdiction, rule.currency, rule.threshold_currency, self.on.isoformat(),
            _json([rule.id]), _json([rule.source]), _json([self.fx]), rule.id, rule.tax_name, relief,
            f"reduced {rule.tax_name} rate {reduced * 100}% ({self.reduced_source})",
            str((self.rate * rule.tax_share).normalize()), str((reduced * rule.tax_share).normalize()),
            rule.tax_adds_transport and rule.valuation != "cif", rule.tax_regional,
            step[0] if step else None, bool(step and step[1]), _micro(rule.tax_minimum), str(rule.tax_minimum),
            _floor_micro(rule.gift_exempt_up_to), gift_exemption(rule) if rule.gift_exempt_up_to is not None else None,
        )  # fmt: skip

    def regional(
        self, rates: RegionalRates, country: str | None, postcode: str | None, region: str | None
    ) -> tuple[object, ...]:
        """The tax rate and its note for a consignee of a regional rule, as `_REGIONAL` names them (the batch
        carries the consignee's country, postcode and region, as the revenue stage gives them to the engine)."""
        where = region_of(Address(city="", country=country or "", postcode=postcode, region=region))
        rate, note = regional_rate(self.rule, rates, self.on, where, self.rate)
        return (*_ratio(rate), str((rate * self.rule.tax_share).normalize()), note)


_ROUTES = {
    "route": pl.Int64, "basis": pl.Int64, "has_reduced": pl.Boolean, "fx_num": I128, "fx_den": I128,
    "tax_num": I128, "tax_den": I128, "red_num": I128, "red_den": I128, "threshold": I128, "flat": I128,
    "cif": pl.Boolean, "tax_threshold": I128, "vendor": pl.Boolean, "vendor_cutoff": I128, "liable": pl.Boolean,
    "carrier": pl.Boolean, "carrier_cutoff": I128, "jurisdiction": pl.String, "rule_currency": pl.String,
    "threshold_currency": pl.String, "on": pl.String, "rules_json": pl.String, "sources_json": pl.String,
    "fx_json": pl.String, "rule_id": pl.String, "tax_name": pl.String, "relief_text": pl.String,
    "reduced_note": pl.String, "tax_rate": pl.String, "reduced_rate": pl.String, "adds": pl.Boolean,
    "regional": pl.Boolean, "step_to": I128, "step_down": pl.Boolean, "minimum": I128, "minimum_text": pl.String,
    "gift_up_to": I128, "gift_text": pl.String,
}  # fmt: skip
"""A route's columns: `liable` says a vendor under its scheme is liable for the tax (not collecting it all);
`adds`, that the tax base adds the transport the customs value leaves out; `regional`, that the consignee's
region may set the tax rate; `step_to`, the step the totals are rounded to (millionths); `minimum`, the tax
that is not levied (millionths)."""

_REGIONAL = {"route": pl.Int64, "consignee_country": pl.String, "consignee_postcode": pl.String,
             "consignee_region": pl.String, "tax_num": I128, "tax_den": I128, "tax_rate": pl.String,
             "regional_note": pl.String}  # fmt: skip


def _route(ctx: RevenueContext, key: dict[str, object]) -> _Route | None:
    """The rule a consignment with these features takes when it is in the common case, else None."""
    on, country, currency, channel = key["day"], key["destination_country"], key["currency"], key["channel"]
    assert isinstance(on, dt.date) and isinstance(country, str) and isinstance(currency, str)
    assert isinstance(channel, str)
    scheme = key["fiscal_scheme"]
    assert scheme is None or isinstance(scheme, str)
    for rule in ctx.rules.for_country(country, on):
        w = rule.when
        if (w.dispatch and key["dispatch_country"] not in w.dispatch) or (w.channels and channel not in w.channels):
            continue
        if w.schemes and scheme not in w.schemes:
            continue
        if not covered(rule):
            return None
        try:
            quote = ctx.rates.quote(currency, rule.currency, fx_day(rule, on), on)
            rate = tax_rate(rule, country, on)
        except ClearwayError:
            return None  # the engine says why
        reduced, source = rule.tax_reduced_rate, rule.id
        if reduced is None and rule.tax_rate is None and rule.reduced_hs:
            reduced, source = member_state_reduced_rate(country), "eu-vat-rates-data, main reduced rate"
        fx = FxUsed(quote.source, quote.target, quote.rate, quote.day, quote.origin)
        return _Route(rule, on, fx, rate, reduced, source, scheme, channel)
    return None  # no rule covers it: the engine says so


def _goods(ctx: RevenueContext, rule: Rule, on: dt.date, hs_code: str | None) -> tuple[object, ...]:
    """What a rule makes of an HS code on a day, as `_GOODS` names it."""
    if rule.duty_rate is not None:
        rate, source = rule.duty_rate, rule.id
    else:
        line = ctx.tariff.line(rule.jurisdiction, hs_code, on)
        rate = line.rate if line else Decimal(0)
        average = " (average rate: no heading listed)" if line and not line.prefix else ""
        source = f"{line.source}{average}" if line else "no tariff rate"
    reduced = bool(rule.reduced_hs) and bool(hs_code and hs_code.startswith(rule.reduced_hs))
    return (rule.excluded(hs_code), reduced, *_ratio(rate), str(rate.normalize()), rate == 0, source)


_GOODS = {"excluded": pl.Boolean, "reduced_goods": pl.Boolean, "duty_num": I128, "duty_den": I128,
          "duty_rate": pl.String, "free": pl.Boolean, "source": pl.String}  # fmt: skip


def _half_even(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator rounded half to even, both non-negative integers."""
    whole, rest = numerator // denominator, numerator % denominator
    up = (2 * rest > denominator) | ((2 * rest == denominator) & (whole % 2 == 1))
    return whole + up.cast(I128)


def _cents(micro: pl.Expr) -> pl.Expr:
    """Millionths rounded half up to cents (the engine's `rounded` at two places)."""
    return ((micro + 5_000) // 10_000).cast(pl.Int64)


def _total(micro: pl.Expr) -> pl.Expr:
    """A duty or tax of the consignment, its lines' sum in millionths, as the engine's `_total` states it in
    cents: rounded to the route's step where its law names one (half up, or down), then half up to cents."""
    to = pl.col("step_to")
    stepped = pl.when(pl.col("step_down")).then(micro // to * to).otherwise((2 * micro + to) // (2 * to) * to)
    return _cents(pl.when(to.is_null()).then(micro).otherwise(stepped))


def _money(cents: pl.Expr) -> pl.Expr:
    """Cents as the engine states an amount of two places: 12.30, 0.00."""
    return pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))


def _listed(column: str, name: str) -> pl.Expr:
    """A list column as JSON."""
    return pl.struct(pl.col(column).alias(name)).struct.json_encode().str.slice(len(name) + 4).str.strip_suffix("}")


def assess_frame(batch: pl.DataFrame, ctx: RevenueContext) -> pl.DataFrame:
    """`COLUMNS` for each consignment of `batch` in the common case, in batch order; any other is not in it."""
    heads = batch.select(
        "key", "reference", "category", "platform", "fiscal_id", "consignee_country", "consignee_postcode",
        "consignee_region",
        *_ROUTE_KEY[:-1],
        pl.col("received_at").dt.date().alias("day"),
        pl.col("shipping_cost").fill_null(0).to_physical().cast(I128).alias("shipping"),
        pl.col("insurance").fill_null(0).to_physical().cast(I128).alias("insurance"),
        pl.col("item_count"),
    ).with_row_index("pos")  # fmt: skip
    heads = heads.filter(pl.col("item_count") > 0)
    groups = heads.select(_ROUTE_KEY).unique(maintain_order=True)
    routes: list[_Route] = []
    route_ids: list[int | None] = []
    # groups that differ only where their rule does not look (a day's 1,352 simulated groups are 427 routes of
    # 7 rules) share a route, and its row is made once: a rule is known by its identity, as hashing or comparing
    # one field by field costs more than the row
    same_route: dict[tuple[object, ...], int] = {}
    for key in groups.iter_rows(named=True):
        route = _route(ctx, key)
        if route is None:
            route_ids.append(None)
            continue
        same = (id(route.rule), route.on, route.fx, route.rate, route.reduced, route.reduced_source,
                route.scheme, route.channel)  # fmt: skip
        if same not in same_route:
            same_route[same] = len(routes)
            routes.append(route)
        route_ids.append(same_route[same])
    if not routes:
        return pl.DataFrame(schema=dict.fromkeys(COLUMNS, pl.String) | {"on": pl.Date})
    bases: list[tuple[Rule, dt.date]] = []  # what a goods line's rates depend on
    basis_of: dict[tuple[int, dt.date], int] = {}
    for r in routes:
        if (id(r.rule), r.on) not in basis_of:
            basis_of[id(r.rule), r.on] = len(bases)
            bases.append((r.rule, r.on))
    route_frame = pl.DataFrame(
        [(i, *r.row(basis_of[id(r.rule), r.on])) for i, r in enumerate(routes)], schema=_ROUTES, orient="row"
    )
    heads = (
        heads.join(groups.with_columns(pl.Series("route", route_ids, dtype=pl.Int64)), on=_ROUTE_KEY, nulls_equal=True)
        .filter(pl.col("route").is_not_null())
        .join(route_frame, on="route")
    )
    heads = _regional_rates(heads, routes, ctx)
    items = (
        batch.select("items")
        .with_row_index("pos")
        .join(heads.select("pos", "basis"), on="pos")
        .explode("items")
        .unnest("items")
        .select(
            "pos", "basis", "hs_code", pl.int_range(pl.len()).over("pos").alias("idx"),
            (pl.col("unit_price").to_physical().cast(I128) * pl.col("quantity").cast(I128)).alias("pq"),
        )
    )  # fmt: skip
    pairs = items.select("basis", "hs_code").unique(maintain_order=True)
    known = [_goods(ctx, bases[basis][0], bases[basis][1], hs_code) for basis, hs_code in pairs.iter_rows()]
    goods = pl.DataFrame(known, schema=_GOODS, orient="row")
    items = items.join(pl.concat([pairs, goods], how="horizontal"), on=["basis", "hs_code"], nulls_equal=True)
    lines = _charge(items.join(heads.select(pl.exclude(_HEAD_ONLY, *_ROUTED)), on="pos"))
    return _assessments(lines, heads.lazy().select("pos", *_HEAD_ONLY))


_HEAD_ONLY = ["key", "reference", "jurisdiction", "destination_country", "on", "threshold_currency", "fiscal_scheme",
              "fiscal_id", "regional_note", "rules_json", "sources_json", "fx_json", "day", "currency"]  # fmt: skip
"""What the assessment reads of a consignment once, not of each line: joined to its totals, not to its lines."""
_ROUTED = ["basis", "route", "dispatch_country", "channel", "consignee_country", "consignee_postcode",
           "consignee_region", "regional", "item_count"]  # fmt: skip
"""What only finds a consignment's route and rates, read by no line."""


def _regional_rates(heads: pl.DataFrame, routes: list[_Route], ctx: RevenueContext) -> pl.DataFrame:
    """Each consignment's tax rate where its region may set it, with the note that says which (null else)."""
    where = ["route", "consignee_country", "consignee_postcode", "consignee_region"]
    asked = heads.filter("regional").select(where).unique(maintain_order=True)
    found = pl.DataFrame(
        [(r, country, postcode, region, *routes[r].regional(ctx.regional, country, postcode, region))
         for r, country, postcode, region in asked.iter_rows()],
        schema=_REGIONAL, orient="row",
    )  # fmt: skip
    heads = heads.join(found, on=where, how="left", nulls_equal=True, suffix="_regional")
    return heads.with_columns(
        pl.coalesce(f"{name}_regional", name).alias(name) for name in ("tax_num", "tax_den", "tax_rate")
    ).drop(f"{name}_regional" for name in ("tax_num", "tax_den", "tax_rate"))


def _near_half(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """Whether numerator / denominator lies within 1/NEAR of a half-integer (a tie included)."""
    distance = (2 * (numerator % denominator) - denominator).abs()
    return distance <= denominator // NEAR


def _charge(lines: pl.DataFrame) -> pl.LazyFrame:
    """Each goods line's value, customs value, duty and tax in millionths, for consignments the engine's
    arithmetic is exact on (the others are dropped whole)."""
    items = lines.lazy()  # one plan with `_assessments`; windows over a consignment by its position
    exact = EXACT // pl.col("fx_num").clip(1, None)
    transport_in = pl.col("shipping") + pl.col("insurance")
    items = items.filter(
        ((pl.col("pq") < exact) & (transport_in < exact) & (pl.col("fx_den") <= 10**6)
         & (pl.max_horizontal("duty_num", "tax_num", "red_num") <= RATE_DIGITS)).all().over("pos")
    )  # fmt: skip
    items = items.with_columns(
        value=_half_even(pl.col("pq") * pl.col("fx_num"), pl.col("fx_den")),
        # the transport converted, in millionths times fx_den: the engine does not round it
        transport=pl.when(pl.col("cif")).then(transport_in * pl.col("fx_num")).otherwise(0).cast(I128),
        carried=pl.when(pl.col("adds")).then(transport_in * pl.col("fx_num")).otherwise(0).cast(I128),
    ).with_columns(
        intrinsic=pl.col("value").sum().over("pos"),
        threshold_value=_half_even(pl.col("pq").sum().over("pos") * pl.col("fx_num"), pl.col("fx_den")),
    )
    transport = pl.col("transport") // pl.col("fx_den")  # whole millionths
    carried = pl.col("carried") // pl.col("fx_den")
    # A consignment of no value (documents) takes the transport on its one line, as the engine does (it shares
    # it equally where nothing has a value: one line's share is exactly 1; more lines are left to it)
    worthless = pl.col("intrinsic") == 0
    within = (
        (pl.col("intrinsic") >= 0) & (pl.col("intrinsic") <= LIMIT) & (transport <= LIMIT) & (carried <= LIMIT)
        & (~worthless | (pl.len().over("pos") == 1))
    )  # fmt: skip
    items = items.filter(within.all().over("pos"))
    # The engine's 28-digit share rounds as the exact share does unless the exact share lies within its
    # error of a half-millionth: (value + transport) * intrinsic * fx_den below 10^27 keeps it out.
    margin = (pl.col("intrinsic") + transport + 1) * pl.col("intrinsic") * pl.col("fx_den")
    items = items.filter((margin < EXACT).all().over("pos"))
    # each line's part of the transport is its value over the whole (a worthless consignment's one line: all)
    part, whole = pl.when(worthless).then(1).otherwise("value"), pl.when(worthless).then(1).otherwise("intrinsic")
    share_num, share_den = pl.col("transport") * part, whole * pl.col("fx_den")
    items = items.with_columns(
        customs=pl.col("value") + _half_even(share_num, share_den),
        tie=2 * (share_num % share_den) == share_den,
    ).filter(~pl.col("tie").any().over("pos"))
    documents = pl.col("category") == "documents"
    gift = (  # between private persons (no platform's order), within the rule's limit, no excise goods
        (pl.col("category") == "gift") & pl.col("platform").is_null() & (pl.col("intrinsic") <= pl.col("gift_up_to"))
        & ~pl.col("excluded").any().over("pos")
    ).fill_null(False)  # fmt: skip
    items = items.with_columns(
        exempt_text=pl.when(documents).then(pl.lit(DOCUMENTS_EXEMPT)).when(gift).then("gift_text")
    ).with_columns(exempt=pl.col("exempt_text").is_not_null())
    relief = pl.col("threshold").is_not_null() & (pl.col("threshold_value") <= pl.col("threshold"))
    eligible = relief & ~pl.col("excluded") & ~pl.col("exempt")  # relieved, and not excise goods
    subheading = pl.col("hs_code").str.slice(0, 6).fill_null("")
    first = pl.col("idx") == pl.col("idx").min().over("pos", subheading, eligible)  # of its subheading
    flat = pl.when(first & pl.col("flat").is_not_null()).then(pl.col("flat")).otherwise(0).cast(I128)
    reduced = pl.col("reduced_goods") & pl.col("has_reduced")
    items = items.with_columns(relief=relief, eligible=eligible, reduced=reduced).with_columns(
        duty=pl.when("exempt").then(0).when("eligible").then(flat)
        .otherwise(_half_even(pl.col("customs") * pl.col("duty_num"), pl.col("duty_den"))).cast(I128),
        rate_num=pl.when("reduced").then("red_num").otherwise("tax_num"),
        rate_den=pl.when("reduced").then("red_den").otherwise("tax_den"),
        # the tax base over `per`: where it adds the transport, its share of it is not rounded by the engine
        per=pl.when("adds").then(whole * pl.col("fx_den")).otherwise(1).cast(I128),
    )  # fmt: skip
    largest = (pl.col("customs") + pl.col("duty") + carried + 2) * pl.col("per")  # above the base
    items = items.filter((largest < HEADROOM // pl.col("rate_num").clip(1, None)).all().over("pos"))
    base = (pl.col("customs") + pl.col("duty")) * pl.col("per") + pl.col("carried") * part
    items = items.with_columns(base=base).with_columns(
        tax=_half_even(pl.col("base") * pl.col("rate_num"), pl.col("per") * pl.col("rate_den")),
        tax_base=(2 * pl.col("base") + pl.col("per") * 10_000) // (2 * pl.col("per") * 10_000),  # cents, half up
        near=pl.col("adds") & (
            _near_half(pl.col("base") * pl.col("rate_num"), pl.col("per") * pl.col("rate_den"))
            | _near_half(pl.col("base"), pl.col("per") * 10_000)
        ),
    )  # fmt: skip
    return items.filter(~pl.col("near").any().over("pos")).sort("pos", "idx")


def _assessments(lines: pl.LazyFrame, heads: pl.LazyFrame) -> pl.DataFrame:
    """Relief, collection model, totals, notes and the assessment JSON, as the engine states them, from the
    charged lines and what each consignment states once (`heads`: `_HEAD_ONLY` by position)."""
    per_consignment = pl.col("pos")  # a consignment's lines: a number hashes faster than its key
    tv = pl.col("threshold_value")
    tax_relieved = pl.col("exempt") | (pl.col("tax_threshold").is_not_null() & (tv <= pl.col("tax_threshold")))
    model = (
        pl.when("exempt")
        .then(pl.lit("exempt"))
        .when(pl.col("vendor") & (pl.col("vendor_cutoff").is_null() | (tv <= pl.col("vendor_cutoff"))))
        .then(pl.lit("vendor_or_platform"))
        .when(pl.col("carrier") & (pl.col("carrier_cutoff").is_null() | (tv <= pl.col("carrier_cutoff"))))
        .then(pl.lit("carrier_or_postal"))
        .otherwise(pl.lit("buyer_at_border"))
    )
    lines = lines.with_columns(tax_relieved=tax_relieved, model=model).with_columns(
        vendor_liable=(pl.col("model") == "vendor_or_platform") & pl.col("liable"),
        reason=pl.when("exempt").then("exempt_text").when("eligible").then("relief_text")
        .when(pl.col("relief") & pl.col("excluded")).then(pl.lit("excise goods: no relief")),
    ).with_columns(
        kept_tax=pl.when("vendor_liable").then(0).when("tax_relieved")
        .then(pl.when(pl.col("excluded") & ~pl.col("exempt")).then("tax").otherwise(0)).otherwise("tax").cast(I128),
    )  # fmt: skip
    lines = lines.with_columns(
        vendor_tax=_total(pl.col("tax").sum().over(per_consignment)),
        total_tax=_total(pl.col("kept_tax").sum().over(per_consignment)),
        total_duty=_total(pl.col("duty").sum().over(per_consignment)),
    )
    # tax of the minimum amount or less is not levied
    not_levied = (pl.col("total_tax") > 0) & (pl.col("total_tax").cast(I128) * 10_000 <= pl.col("minimum"))
    lines = lines.with_columns(
        not_levied=not_levied,
        levied_note=pl.when(not_levied).then(pl.format(
            "import {} of {} is not levied (minimum {} {})", "tax_name", _money(pl.col("total_tax")), "minimum_text",
            "rule_currency",
        )),
    ).with_columns(
        total_tax=pl.when("not_levied").then(0).otherwise("total_tax"),
        kept_tax=pl.when("not_levied").then(0).otherwise("kept_tax").cast(I128),
    ).with_columns(total=pl.col("total_tax") + pl.col("total_duty"))  # fmt: skip
    none_due = (
        (pl.col("total") == 0)
        & (pl.col("model") != "vendor_or_platform")
        & (pl.col("tax_relieved") | pl.col("not_levied") | pl.col("reason").is_not_null().any().over(per_consignment))
    )
    lines = lines.with_columns(model=pl.when(none_due).then(pl.lit("exempt")).otherwise("model"))
    item = pl.col("idx").cast(pl.String)
    charge_line = pl.struct(
        pl.col("idx").cast(pl.Int64).alias("item"),
        "hs_code",
        _money(_cents(pl.col("value"))).alias("value"),
        _money(_cents(pl.col("customs"))).alias("customs_value"),
        pl.when(pl.col("eligible") | pl.col("exempt")).then(None).otherwise("duty_rate").alias("duty_rate"),
        _money(_cents(pl.col("duty"))).alias("duty"),
        pl.when("reduced").then("reduced_rate").otherwise("tax_rate").alias("tax_rate"),
        _money(_cents(pl.col("kept_tax"))).alias("tax"),
        pl.coalesce("reason", pl.when("tax_relieved").then(pl.col("tax_name") + " relief")).alias("relief"),
        pl.when("exempt").then(None).when("eligible").then("rule_id").otherwise("source").alias("rate_source"),
        _money(pl.col("tax_base").cast(pl.Int64)).alias("tax_base"),
    )
    reduced_note = pl.when("reduced").then(pl.format("item {}: {}", item, "reduced_note"))
    free_note = pl.when(pl.col("free") & pl.col("reason").is_null()).then(
        pl.format("item {}: duty free at the rate of 0 ({}); not exempt, nothing is due on it", item, "source")
    )
    # what the assessment reads of each consignment, taken from its first line (not every one of the lines' columns)
    first = pl.col(
        "rule_currency", "model", "threshold_value", "total_duty", "total_tax", "total", "not_levied", "vendor_liable",
        "vendor_tax", "tax_name", "levied_note", "exempt_text",
    ).first()  # fmt: skip
    cons = (
        lines.group_by("pos", maintain_order=True)
        .agg(
            first,
            pl.col("pq").sum().alias("intrinsic"),
            charge_line.alias("lines"),
            reduced_note.drop_nulls().alias("reduced_notes"),
            free_note.drop_nulls().alias("free_notes"),
        )
        .join(heads, on="pos", maintain_order="left")
    )
    vendor_note = pl.when("vendor_liable").then(
        pl.format(
            "{} charged at the sale under {} {}; no import {}", "tax_name", "fiscal_scheme", "fiscal_id", "tax_name"
        )
    )
    other = pl.when(pl.col("total") != 0).then(pl.lit("0.00")).otherwise(pl.lit("0"))
    cons = cons.with_columns(
        notes=pl.concat_list(
            "regional_note", "reduced_notes", vendor_note, "levied_note", "free_notes", "exempt_text"
        ).list.drop_nulls(),
        duty_text=_money(pl.col("total_duty")),
        vat_text=pl.when("not_levied").then(pl.lit("0")).otherwise(_money(pl.col("total_tax"))),
        other_text=other,
        total_text=_money(pl.col("total")),
        payer=pl.col("model").replace_strict(
            {"vendor_or_platform": "vendor", "carrier_or_postal": "carrier"}, default="buyer", return_dtype=pl.String
        ),
    )
    head = pl.struct(
        "reference", "jurisdiction", "destination_country", "on", pl.col("rule_currency").alias("currency"),
        pl.col("model").alias("collection_model"), _money(_half_even(tv, pl.lit(10_000, I128)).cast(pl.Int64))
        .alias("threshold_value"), "threshold_currency",
        pl.struct(pl.col("duty_text").alias("duty"), pl.col("vat_text").alias("vat"),
                  pl.col("other_text").alias("other"), pl.col("total_text").alias("total")).alias("totals"),
    ).struct.json_encode().str.strip_suffix("}")  # fmt: skip
    payer = pl.concat_str(pl.lit('{"'), "payer", pl.lit('":"'), "total_text", pl.lit('"}'))
    payers = pl.when(pl.col("total") != 0).then(payer).otherwise(pl.lit("{}"))
    vendor = pl.when("vendor_liable").then(
        pl.struct(pl.col("fiscal_scheme").alias("scheme"), pl.col("fiscal_id").alias("id"),
                  _money(pl.col("vendor_tax")).alias("tax")).struct.json_encode()
    ).otherwise(pl.lit("null"))  # fmt: skip
    assessment = pl.concat_str(
        head, pl.lit(',"payers":'), payers, pl.lit(',"lines":'), _listed("lines", "lines"),
        pl.lit(',"rules":'), "rules_json", pl.lit(',"sources":'), "sources_json",
        pl.lit(',"vendor_liability":'), vendor, pl.lit(',"fx":'), "fx_json",
        pl.lit(',"notes":'), _listed("notes", "notes"), pl.lit("}"),
    )  # fmt: skip
    intrinsic = pl.col("intrinsic")
    return cons.select(
        "key", pl.col("rule_currency").alias("revenue_currency"), pl.col("model").alias("collection_model"),
        pl.col("duty_text").alias("duty"), pl.col("vat_text").alias("vat"),
        pl.col("other_text").alias("other_charges"), pl.col("total_text").alias("total_due"),
        assessment.alias("assessment"), pl.col("day").alias("on"), "currency",
        pl.format("{}.{}", intrinsic // 10**6, (intrinsic % 10**6).cast(pl.String).str.zfill(6)).alias("intrinsic"),
    ).pipe(plans.run)  # fmt: skip
