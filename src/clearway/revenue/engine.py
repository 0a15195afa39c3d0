"""`assess(consignment, on=...)`: duties and taxes of one consignment under the dated rules. Pure.

Steps: pick the rule variant, convert at the rule's exchange-rate day, value each line (CIF adds the
transport share), decide relief against the thresholds, compute duty (tariff, rule rate or flat per
subheading), tax (on value plus duty, shares, gross-up, minimum amount), pick the collection model, round.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import duty27_eu_vat
import eu_vat_rates_data

from clearway.errors import InvalidInput
from clearway.model.consignment import Consignment
from clearway.revenue.assessment import Assessment, ChargeLine, CollectionModel, FxUsed, Totals, VendorLiability
from clearway.revenue.fx import RATE_DAYS, ExchangeRates
from clearway.revenue.regional import RegionalRates, region_of
from clearway.revenue.rules import Rule, RuleBook, Step
from clearway.revenue.tariff import Tariff

EXACT = Decimal("0.000001")


class NotCovered(InvalidInput):
    """No revenue rule covers the destination on that day."""


@dataclass(frozen=True)
class RevenueContext:
    """The reference data an assessment reads, passed in (no files, no clock)."""

    rules: RuleBook
    tariff: Tariff
    rates: ExchangeRates
    regional: RegionalRates = RegionalRates()


_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(7)}


def rounded(value: Decimal, rule: Rule) -> Decimal:
    """`value` stated as the rule states every amount: to its places, or its step, half up."""
    if rule.step:
        return (value / rule.step).quantize(Decimal(1), ROUND_HALF_UP) * rule.step
    return value.quantize(_QUANTA.get(rule.places) or Decimal(1).scaleb(-rule.places), ROUND_HALF_UP)


def _at(step: Step | None, amount: Decimal) -> Decimal:
    """`amount` after a rounding step the rule names, unchanged where it names none."""
    return amount if step is None else step(amount)


def _total(lines: list[Decimal], rule: Rule, less: Decimal = Decimal(0)) -> Decimal:
    """One duty or tax of the consignment: its lines summed, then rounded as the rule's law says."""
    amount = sum(lines, Decimal(0)) - less
    return rounded(_at(rule.round_total, amount), rule)


def fx_day(rule: Rule, on: dt.date) -> dt.date:
    """The day whose reference rate the rule names (`exchange_rate_day`): the EU's is the month's customs rate."""
    return RATE_DAYS[rule.exchange_rate_day](on)


def choose_rule(
    c: Consignment, on: dt.date, ctx: RevenueContext, value: Decimal | None = None, annual_before: Decimal = Decimal(0)
) -> tuple[Rule, Decimal, FxUsed]:
    """The most specific rule variant that fits, and the threshold value in its threshold currency. A variant
    with an annual limit per buyer does not fit once the buyer's total of the year would pass it."""
    candidates = ctx.rules.for_country(c.destination_country, on)
    if not candidates:
        raise NotCovered(f"no revenue rule covers imports into {c.destination_country} on {on}", reference=c.reference)
    scheme = c.fiscal.scheme if c.fiscal else None
    for rule in candidates:
        w = rule.when
        if (w.dispatch and c.dispatch_country not in w.dispatch) or (w.channels and c.channel not in w.channels):
            continue
        if w.schemes and scheme not in w.schemes:
            continue
        quote = ctx.rates.quote(c.currency, rule.threshold_currency, fx_day(rule, on), on)
        threshold_value = value if value is not None else (c.intrinsic_value * quote.rate).quantize(EXACT)
        if w.max_value is not None and threshold_value > w.max_value:
            continue
        if rule.intermediary_annual is not None and annual_before + threshold_value > rule.intermediary_annual:
            continue
        return rule, threshold_value, FxUsed(quote.source, quote.target, quote.rate, quote.day, quote.origin)
    raise NotCovered(f"no rule variant for {c.destination_country} fits this consignment", reference=c.reference)


def tax_rate(rule: Rule, country: str, on: dt.date) -> Decimal:
    return rule.tax_rate if rule.tax_rate is not None else member_state_rate(country, on)


REDUCED_FLOOR = Decimal(5)
"""The main reduced rate is the lowest listed at or above 5%: lower ones are regional or special (FR 0.9%)."""


@lru_cache(maxsize=64)
def member_state_reduced_rate(country: str) -> Decimal | None:
    """The member state's main reduced VAT rate (eu-vat-rates-data), or None where it has none (DK)."""
    entry = eu_vat_rates_data.get_rate(country)
    listed = [Decimal(str(r)) for r in (entry.get("reduced") if entry else None) or []]
    eligible = [r for r in listed if r >= REDUCED_FLOOR]
    return min(eligible) / 100 if eligible else None


@lru_cache(maxsize=8192)
def member_state_rate(country: str, on: dt.date) -> Decimal:
    """The EU member state's standard VAT rate on a day (duty27-eu-vat, every change since 2016)."""
    return Decimal(str(duty27_eu_vat.get_standard_rate(country, on))) / 100


def assess(
    c: Consignment,
    on: dt.date,
    ctx: RevenueContext | None = None,
    *,
    aggregate_value: Decimal | None = None,
    annual_before: Decimal = Decimal(0),
    order_value: Decimal | None = None,
) -> Assessment:
    """Assess one consignment on day `on`. `aggregate_value` (threshold currency) replaces its own value where
    the jurisdiction aggregates (same consignee, same day); `annual_before` is the buyer's earlier total this
    year, for annual limits (China). `order_value` (threshold currency) is the value of the whole order an
    inspection found this parcel to be one part of: the parts are one consignment, so every threshold compares
    the order's value, whatever the rule aggregates (the relief for a consignment of negligible value is per
    consignment and is not had by dividing one, Regulation (EC) 1186/2009 art. 23(1); AEAT, low-value
    shipments manual, 3.1.6). Without `ctx`, the reference data shipped with clearway is used."""
    if ctx is None:
        from clearway.revenue.packaged import packaged_context  # read once, on first use

        ctx = packaged_context()
    rule, own_threshold_value, threshold_fx = choose_rule(c, on, ctx, annual_before=annual_before)
    combined = order_value if order_value is not None else aggregate_value
    if combined is not None and (order_value is not None or rule.aggregation == "consignee_day"):
        rule, _, threshold_fx = choose_rule(c, on, ctx, combined, annual_before)
    else:
        combined = None
    quote = ctx.rates.quote(c.currency, rule.currency, fx_day(rule, on), on)
    fx = [FxUsed(quote.source, quote.target, quote.rate, quote.day, quote.origin)]
    if threshold_fx.target != quote.target:
        fx.append(threshold_fx)
    notes: list[str] = []
    if annual_before:
        notes.append(f"the buyer's earlier imports this year: {annual_before} {rule.threshold_currency}")
    values = [(item.unit_price * item.quantity * quote.rate).quantize(EXACT) for item in c.items]
    intrinsic = sum(values, Decimal(0))
    freight = ((c.shipping_cost or Decimal(0)) + (c.insurance or Decimal(0))) * quote.rate
    transport = freight if rule.valuation == "cif" else Decimal(0)
    taxed_freight = freight if rule.tax_adds_transport and rule.valuation != "cif" else Decimal(0)
    shares = [(v / intrinsic if intrinsic else Decimal(1) / len(values)) for v in values]
    customs = [
        ((v + transport * s) * rule.valuation_factor).quantize(EXACT) for v, s in zip(values, shares, strict=True)
    ]
    threshold_value = own_threshold_value
    if rule.threshold_basis == "valuation":
        threshold_quote = ctx.rates.quote(rule.currency, rule.threshold_currency, fx_day(rule, on), on)
        threshold_value = (sum(customs, Decimal(0)) * threshold_quote.rate).quantize(EXACT)
    if combined is not None:
        notes.append(
            f"one order in several parcels: thresholds compare the order's value {combined} {rule.threshold_currency}"
            if order_value is not None
            else f"same consignee and day: thresholds compare the combined value {combined} {rule.threshold_currency}"
        )
        threshold_value = combined
    exempt_reason = _exemption(c, rule, intrinsic)
    duties, duty_rates, reliefs, rate_sources = _duties(c, rule, ctx, on, customs, threshold_value, exempt_reason)
    duties = [_at(rule.round_line, d) for d in duties]
    surcharges = [_at(rule.round_line, (d * rule.duty_surcharge).quantize(EXACT)) for d in duties]
    line_duties = [d + s for d, s in zip(duties, surcharges, strict=True)]
    if rule.duty_surcharge and any(duties):
        notes.append(f"duty includes a surcharge of {rule.duty_surcharge * 100}% of the tariff duty ({rule.id})")
    deduction = Decimal(0)
    if rule.duty_deduction and sum(duties, Decimal(0)) > 0:
        deduction_quote = ctx.rates.quote(rule.threshold_currency, rule.currency, fx_day(rule, on), on)
        deduction = min(sum(duties, Decimal(0)), rule.duty_deduction * deduction_quote.rate)
        notes.append(f"duty reduced by {rule.duty_deduction} {rule.threshold_currency} ({rule.id})")
    rate = tax_rate(rule, c.destination_country, on)
    if rule.tax_regional:
        rate = _regional_rate(c, rule, ctx, on, rate, notes)
    line_rates = [rate] * len(c.items)
    reduced, reduced_source = rule.tax_reduced_rate, rule.id
    if reduced is None and rule.tax_rate is None and rule.reduced_hs:
        reduced = member_state_reduced_rate(c.destination_country)
        reduced_source = "eu-vat-rates-data, main reduced rate"
    if reduced is not None and rule.reduced_hs:
        for i, item in enumerate(c.items):
            if item.hs_code and item.hs_code.startswith(rule.reduced_hs):
                line_rates[i] = reduced
                notes.append(f"item {i}: reduced {rule.tax_name} rate {reduced * 100}% ({reduced_source})")
    bases = []
    for base_value, duty, rate, share in zip(customs, line_duties, line_rates, shares, strict=True):
        base = _at(rule.round_base, base_value + _at(rule.round_carried, duty) + taxed_freight * share)
        bases.append(base / (1 - rate) if rule.tax_gross_up else base)
    rate = line_rates[0] if line_rates else rate
    if deduction and rule.tax_gross_up:  # the reduced duty lowers the grossed-up base too
        bases = [b - deduction * s / (1 - rate) for b, s in zip(bases, shares, strict=True)]
    taxes = [
        _at(rule.round_line, (b * r * rule.tax_share).quantize(EXACT)) for b, r in zip(bases, line_rates, strict=True)
    ]
    heads = {rule.tax_name: taxes} | {  # each tax the law levies, by line; a part is a share of the first one's
        part.name: [_at(rule.round_line, part.of(_at(rule.round_carried, t)).quantize(EXACT)) for t in taxes]
        for part in rule.tax_parts
    }
    tax_relieved = exempt_reason is not None or (
        rule.tax_threshold is not None and threshold_value <= rule.tax_threshold
    )
    if rule.aggregation == "item" and rule.tax_threshold is not None and exempt_reason is None:
        heads = _kept(heads, [v > rule.tax_threshold for v in customs])
        tax_relieved = False
    scheme = c.fiscal.scheme if c.fiscal else None
    model, payer = collection(scheme, c.channel, rule, threshold_value, annual_before, exempt_reason)
    vendor_tax = sum((_total(lines, rule) for lines in heads.values()), Decimal(0))
    vendor = None
    if model == "vendor_or_platform" and c.fiscal is not None and not rule.vendor_collects_all:
        vendor = VendorLiability(c.fiscal.scheme, c.fiscal.id, vendor_tax)
        notes.append(
            f"{rule.tax_name} charged at the sale under {c.fiscal.scheme} {c.fiscal.id}; no import {rule.tax_name}"
        )
        heads = _kept(heads, [False] * len(c.items))
    elif tax_relieved:  # excise goods keep their tax where only a threshold relieved it
        heads = _kept(heads, [exempt_reason is None and rule.excluded(item.hs_code) for item in c.items])
    total_tax = sum((_total(lines, rule) for lines in heads.values()), Decimal(0))
    not_levied = 0 < total_tax <= rule.tax_minimum
    if not_levied:
        notes.append(
            f"import {rule.tax_name} of {total_tax} is not levied (minimum {rule.tax_minimum} {rule.currency})"
        )
        heads, total_tax = _kept(heads, [False] * len(c.items)), Decimal(0)
    duty_heads = {rule.duty_name: _total(duties, rule, deduction)}
    if rule.duty_surcharge:
        duty_heads[rule.surcharge_name] = _total(surcharges, rule)
    total_duty = sum(duty_heads.values(), Decimal(0))
    parts = {}  # where the law rounds more than one duty or tax on its own, each of them
    if len(duty_heads) > 1 or len(heads) > 1:
        parts = duty_heads | {name: _total(lines, rule) for name, lines in heads.items()}
        if rule.rounding_source:
            notes.append(f"rounded as {rule.rounding_source}")
    other = rounded(rule.handling_fee, rule) if total_duty or total_tax else Decimal(0)
    total = total_duty + total_tax + other
    free = [i for i, (rate, relief) in enumerate(zip(duty_rates, reliefs, strict=True)) if rate == 0 and not relief]
    for i in free:
        notes.append(f"item {i}: duty free at the rate of 0 ({rate_sources[i]}); not exempt, nothing is due on it")
    relieved = exempt_reason is not None or tax_relieved or not_levied or any(reliefs)
    if total == 0 and model not in ("vendor_or_platform", "intermediary_withholding") and relieved:
        model = "exempt"  # by a relief, never by a free rate: a parcel free at its rates is collected as any other
    lines = [
        ChargeLine(
            item=i,
            hs_code=item.hs_code,
            value=rounded(values[i], rule),
            customs_value=rounded(customs[i], rule),
            duty_rate=duty_rates[i],
            duty=rounded(line_duties[i], rule),
            tax_base=rounded(bases[i], rule),
            tax_rate=(
                line_rates[i] * rule.tax_share * (1 + sum((p.of(Decimal(1)) for p in rule.tax_parts), Decimal(0)))
            ).normalize(),  # fmt: skip
            tax=rounded(sum((lines[i] for lines in heads.values()), Decimal(0)), rule),
            relief=reliefs[i] or (rule.tax_name + " relief" if tax_relieved and exempt_reason is None else None),
            rate_source=rate_sources[i],
        )
        for i, item in enumerate(c.items)
    ]
    payers = {payer: total} if total else {}
    if exempt_reason:
        notes.append(exempt_reason)
    return Assessment(
        reference=c.reference,
        jurisdiction=rule.jurisdiction,
        destination_country=c.destination_country,
        on=on,
        currency=rule.currency,
        collection_model=model,
        threshold_value=threshold_value.quantize(Decimal("0.01")),
        threshold_currency=rule.threshold_currency,
        totals=Totals(total_duty, total_tax, other, total),
        payers=payers,
        lines=lines,
        rules=[rule.id],
        sources=[rule.source],
        vendor_liability=vendor,
        fx=fx,
        notes=notes,
        parts=parts,
    )


def _kept(heads: dict[str, list[Decimal]], keep: list[bool]) -> dict[str, list[Decimal]]:
    """Each tax's lines, those not kept zeroed (relieved, or charged at the sale instead)."""
    return {name: [t if k else Decimal(0) for t, k in zip(lines, keep, strict=True)] for name, lines in heads.items()}


DOCUMENTS_EXEMPT = "documents carry no duty or tax"


def gift_exemption(rule: Rule) -> str:
    """What a gift between private persons within the rule's limit is exempt by (of a rule that has a limit)."""
    return f"gift between private persons up to {rule.gift_exempt_up_to} {rule.currency} ({rule.id})"


def _exemption(c: Consignment, rule: Rule, intrinsic: Decimal) -> str | None:
    if c.category == "documents":
        return DOCUMENTS_EXEMPT
    private = c.order is None
    within = rule.gift_exempt_up_to is not None and intrinsic <= rule.gift_exempt_up_to
    if c.category == "gift" and private and within and not any(rule.excluded(item.hs_code) for item in c.items):
        return gift_exemption(rule)
    return None


def _regional_rate(
    c: Consignment, rule: Rule, ctx: RevenueContext, on: dt.date, rate: Decimal, notes: list[str]
) -> Decimal:
    """The consignee's region's rate where the regional table lists one on the day, else the rule's."""
    region = region_of(c.consignee.address) if c.consignee.address else None
    rate, note = regional_rate(rule, ctx.regional, on, region, rate)
    notes.append(note)
    return rate


def regional_rate(
    rule: Rule, regional: RegionalRates, on: dt.date, region: str | None, rate: Decimal
) -> tuple[Decimal, str]:
    """The rate a region's consignee pays (the rule's `rate` where the table has none on the day), and the
    note that says which."""
    line = regional.rate(rule.jurisdiction, region, on) if region else None
    if line is None:
        where = f"region {region}" if region else "an address whose region cannot be told"
        return rate, f"{rule.tax_name} at {rate * 100}%: no regional rate for {where}"
    return line.rate, f"{rule.tax_name} at the {region} rate of {line.rate * 100}% ({line.source})"


def _duties(
    c: Consignment,
    rule: Rule,
    ctx: RevenueContext,
    on: dt.date,
    customs: list[Decimal],
    threshold_value: Decimal,
    exempt: str | None,
) -> tuple[list[Decimal], list[Decimal | None], list[str | None], list[str | None]]:
    duties: list[Decimal] = []
    rates: list[Decimal | None] = []
    reliefs: list[str | None] = []
    sources: list[str | None] = []
    charged: set[str] = set()
    per_item = rule.aggregation == "item"
    for item, value in zip(c.items, customs, strict=True):
        compared = value if per_item else threshold_value
        relief = rule.duty_threshold is not None and compared <= rule.duty_threshold
        if exempt is not None:
            duties.append(Decimal(0))
            rates.append(None)
            reliefs.append(exempt)
            sources.append(None)
            continue
        excluded = rule.excluded(item.hs_code)
        if relief and not excluded:
            subheading = (item.hs_code or "")[:6]
            if rule.flat_per_subheading is not None:
                first = subheading not in charged
                charged.add(subheading)
                duties.append(rule.flat_per_subheading if first else Decimal(0))
                rates.append(None)
                reliefs.append(f"flat {rule.flat_per_subheading} {rule.currency} per distinct subheading ({rule.id})")
                sources.append(rule.id)
            else:
                duties.append(Decimal(0))
                rates.append(None)
                reliefs.append(f"de minimis: value within {rule.duty_threshold} {rule.threshold_currency} ({rule.id})")
                sources.append(rule.id)
            continue
        if rule.duty_rate is not None:
            rate, source = rule.duty_rate, rule.id
        else:
            line = ctx.tariff.line(rule.jurisdiction, item.hs_code, on)
            rate = line.rate if line else Decimal(0)
            source = (
                f"{line.source}{' (average rate: no heading listed)' if line and not line.prefix else ''}"
                if line
                else "no tariff rate"
            )
        duties.append((_at(rule.round_base, value) * rate).quantize(EXACT))  # the surcharge is a duty of its own
        rates.append(rate.normalize())
        reliefs.append("excise goods: no relief" if relief and excluded else None)
        sources.append(source)
    return duties, rates, reliefs, sources


def collection(
    scheme: str | None, channel: str, rule: Rule, value: Decimal, annual_before: Decimal, exempt: str | None
) -> tuple[CollectionModel, str]:
    """Who collects (the collection model) and who pays, for a consignment of this value under `rule`."""
    if exempt is not None:
        return "exempt", "buyer"
    if scheme in rule.vendor_schemes and (rule.vendor_cutoff is None or value <= rule.vendor_cutoff):
        return "vendor_or_platform", "vendor"
    within_annual = rule.intermediary_annual is None or annual_before + value <= rule.intermediary_annual
    if rule.intermediary_cutoff is not None and value <= rule.intermediary_cutoff and within_annual:
        return "intermediary_withholding", "intermediary"
    if channel in rule.carrier_channels and (rule.carrier_cutoff is None or value <= rule.carrier_cutoff):
        return "carrier_or_postal", "carrier"
    return "buyer_at_border", "buyer"
