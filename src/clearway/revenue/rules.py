"""Jurisdiction rules as dated data: de minimis thresholds, valuation, collection models, flat duties.

A rule file is YAML with a `rules:` list; see `data/revenue/rules.yaml`. Fields of a rule:

    id, jurisdiction, countries, effective_from, effective_to (exclusive), source   (all but `to` required)
    when: {dispatch: [..], channels: [..], schemes: [..], max_value: N}   the variant applies only then
    currency, threshold_currency          amounts, and the currency thresholds are stated in
    valuation: intrinsic | fob | cif | customs_value   the duty base (intrinsic = fob: goods only; cif and
                                          customs_value: the value delivered to the border, transport included)
    valuation_factor                      share of the price that is the customs value (JP: 0.6)
    threshold_basis: intrinsic | valuation
    aggregation: consignment | item | consignee_day   what a threshold is compared with
    duty: {name, threshold, rate, flat_per_subheading, deduction, surcharge (a further duty, as a share of the
           tariff duty), surcharge_name}  a surcharge is a duty of its own, rounded on its own (IN SWS)
    tax: {name, rate (number or member_state), threshold, minimum_amount, share, gross_up, reduced_hs,
          reduced_rate, adds_transport, regional, parts}
                                          parts: [{name, of_tax: "22/78"}] further taxes levied as a share of
                                          this one, each rounded on its own (JP local consumption tax);
                                          reduced_rate: the rate of reduced_hs goods where rate is a number;
                                          the tax base is the customs value plus duty, plus transport and
                                          insurance with adds_transport where the duty base is fob (AU);
                                          regional: the consignee's region's rate where one is listed (CA HST)
    collection: {vendor_schemes, vendor_cutoff, vendor_collects_all, carrier_channels, carrier_cutoff,
                 intermediary_cutoff, intermediary_annual}
    gift: {exempt_up_to}, excluded_hs: [HS prefixes without relief], handling_fee
    rounding: {places, step, base, line, carried, total, source}
                                          places (and step) state every amount; where the law names a step,
                                          each of these is {to: N, mode: half_up | down}: base (a value a rate
                                          applies to, per line), line (each line's duty and tax), carried (an
                                          amount as it enters the next base: duty into the tax base, a tax into
                                          its local part), total (each duty and tax of the consignment, summed
                                          from its lines); without total, totals round to places (and step)
    returns: {window_days, source}        how long after the assessment duty and tax are refunded on a return
    payment: {days, deferred_day, appeal_days, review_days, penalty_rate, source}
                                          what is owed is due `days` after the assessment (or, for the holder
                                          of a deferred account, on `deferred_day` of the month after); an
                                          appeal is lodged within `appeal_days` and decided within
                                          `review_days`; a demand after an inspection adds `penalty_rate` of it
    exchange_rate_day: assessment | previous_working_day | penultimate_wednesday_of_previous_month
                                          whose reference rate converts amounts (default: the assessment day);
                                          a customs rate table for the month wins over it

An unknown field, a bad value or two variants of one jurisdiction whose windows overlap fail at load
with the file and line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from clearway.errors import RuleFileError
from clearway.revenue.fx import RATE_DAYS
from clearway.yaml_lines import LINE, line_of, load_with_lines

_TOP = {
    "id", "jurisdiction", "countries", "effective_from", "effective_to", "source", "when", "currency",
    "threshold_currency", "valuation", "valuation_factor", "threshold_basis", "aggregation", "duty", "tax",
    "collection", "gift", "excluded_hs", "handling_fee", "rounding", "returns", "exchange_rate_day", "payment",
}  # fmt: skip
DEFAULT_RETURN_WINDOW = 365
"""Days, where a rule names no return window: clearway's default, for an administration to set."""
DEFAULT_PAYMENT = {"days": 10, "deferred_day": 16, "appeal_days": 30, "review_days": 30, "penalty_rate": 0}
"""Where a rule names no payment terms: the EU's (UCC Art. 108(1): at most 10 days after notification;
Art. 111: deferred payment by the 16th of the month after), an appeal within 30 days, decided within 30."""

_SECTIONS = {
    "when": {"dispatch", "channels", "schemes", "max_value"},
    "duty": {"name", "threshold", "rate", "flat_per_subheading", "deduction", "surcharge", "surcharge_name"},
    "tax": {"name", "rate", "threshold", "minimum_amount", "share", "gross_up", "reduced_hs", "reduced_rate",
            "adds_transport", "regional", "parts"},
    "collection": {"vendor_schemes", "vendor_cutoff", "vendor_collects_all", "carrier_channels", "carrier_cutoff",
                   "intermediary_cutoff", "intermediary_annual"},
    "gift": {"exempt_up_to"},
    "rounding": {"places", "step", "base", "line", "carried", "total", "source"},
    "returns": {"window_days", "source"},
    "payment": {"days", "deferred_day", "appeal_days", "review_days", "penalty_rate", "source"},
}  # fmt: skip


@dataclass(frozen=True)
class When:
    dispatch: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    schemes: frozenset[str] = frozenset()
    max_value: Decimal | None = None

    @property
    def specificity(self) -> int:
        return sum(bool(x) for x in (self.dispatch, self.channels, self.schemes)) + (self.max_value is not None)


@dataclass(frozen=True)
class Step:
    """One rounding step a law names: to a multiple of `to`, half up or down (the fraction dropped)."""

    to: Decimal
    mode: str = "half_up"

    def __call__(self, amount: Decimal) -> Decimal:
        whole = (amount / self.to).quantize(Decimal(1), ROUND_DOWN if self.mode == "down" else ROUND_HALF_UP)
        return whole * self.to


@dataclass(frozen=True)
class TaxPart:
    """A tax levied as a share of the rule's tax (JP: the local consumption tax is 22/78 of the national)."""

    name: str
    numerator: Decimal
    denominator: Decimal

    def of(self, tax: Decimal) -> Decimal:
        return tax * self.numerator / self.denominator


@dataclass(frozen=True)
class Rule:
    id: str
    jurisdiction: str
    countries: frozenset[str]
    effective_from: dt.date
    effective_to: dt.date | None
    source: str
    currency: str
    threshold_currency: str
    when: When
    valuation: str
    valuation_factor: Decimal
    threshold_basis: str
    aggregation: str
    duty_threshold: Decimal | None
    duty_rate: Decimal | None  # overrides the tariff when set
    flat_per_subheading: Decimal | None
    duty_deduction: Decimal
    duty_surcharge: Decimal  # a duty levied as a share of the tariff duty (IN Social Welfare Surcharge)
    tax_name: str
    tax_rate: Decimal | None  # None: the member state's standard rate
    tax_threshold: Decimal | None
    tax_minimum: Decimal
    tax_share: Decimal
    tax_gross_up: bool
    tax_adds_transport: bool  # the tax base adds transport and insurance the (fob) duty base leaves out
    tax_regional: bool  # the consignee's region may set the rate (revenue.regional: CA HST)
    reduced_hs: tuple[str, ...]  # goods at the member state's main reduced rate (member_state rules only)
    vendor_schemes: frozenset[str]
    vendor_cutoff: Decimal | None
    vendor_collects_all: bool
    carrier_channels: frozenset[str]
    carrier_cutoff: Decimal | None
    intermediary_cutoff: Decimal | None
    intermediary_annual: Decimal | None
    gift_exempt_up_to: Decimal | None
    excluded_hs: tuple[str, ...]
    handling_fee: Decimal
    places: int
    step: Decimal | None
    return_window_days: int
    round_base: Step | None = None
    round_line: Step | None = None
    round_carried: Step | None = None
    round_total: Step | None = None
    rounding_source: str = ""
    duty_name: str = "duty"
    surcharge_name: str = "surcharge"
    tax_parts: tuple[TaxPart, ...] = ()
    tax_reduced_rate: Decimal | None = None
    exchange_rate_day: str = "assessment"
    payment_days: int = 10  # what is owed is due this many days after the assessment
    deferred_day: int = 16  # ... or, on a deferred account, on this day of the month after
    appeal_days: int = 30  # an appeal is lodged within this many days of the decision or demand
    review_days: int = 30  # and decided within this many days of its lodging
    penalty_rate: Decimal = Decimal(0)  # a demand after an inspection adds this share of it as a penalty
    payment_source: str = ""
    line: int | None = field(default=None, compare=False)

    def active_on(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def excluded(self, hs_code: str | None) -> bool:
        return hs_code is not None and hs_code.startswith(self.excluded_hs) if self.excluded_hs else False


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]

    @cached_property
    def _by_country(self) -> dict[str, list[Rule]]:
        index: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for country in rule.countries:
                index.setdefault(country, []).append(rule)
        for rules in index.values():
            rules.sort(key=lambda r: (-r.when.specificity, r.when.max_value or Decimal("Infinity")))
        return index

    def for_country(self, country: str, day: dt.date) -> list[Rule]:
        """The rules in force for imports into `country` on `day`, most specific variant first."""
        return [r for r in self._by_country.get(country, ()) if r.active_on(day)]


def parse_rules(text: str, source: str) -> RuleBook:
    doc = load_with_lines(text, source)
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise RuleFileError("a rule file is a mapping with a `rules:` list", file=source, line=1)
    rules = [_Parser(source).rule(node) for node in doc["rules"]]
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            raise RuleFileError(f"rule id {rule.id} is used twice", file=source, line=rule.line)
        seen[rule.id] = rule
        for other in rules:
            if other is rule or other.jurisdiction != rule.jurisdiction or other.when != rule.when:
                continue
            if other.countries & rule.countries and _overlap(rule, other) and (other.line or 0) < (rule.line or 0):
                raise RuleFileError(
                    f"{rule.id} overlaps the dates of {other.id} (line {other.line}) for the same case",
                    file=source,
                    line=rule.line,
                )
    return RuleBook(tuple(rules))


def _overlap(a: Rule, b: Rule) -> bool:
    a_end = a.effective_to or dt.date.max
    b_end = b.effective_to or dt.date.max
    return a.effective_from < b_end and b.effective_from < a_end


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str, node: Any) -> RuleFileError:
        return RuleFileError(message, file=self.source, line=line_of(node))

    def number(self, value: Any, node: Any, what: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(f"{what} must be a number", node)
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise self.fail(f"{what} must be a number", node) from exc
        if number < 0:
            raise self.fail(f"{what} must not be negative", node)
        return number

    def optional(self, section: dict[str, Any], key: str, what: str) -> Decimal | None:
        return None if section.get(key) is None else self.number(section[key], section, what)

    def section(self, node: dict[str, Any], name: str) -> dict[str, Any]:
        value = node.get(name) or {}
        if not isinstance(value, dict):
            raise self.fail(f"`{name}` is a mapping", node)
        unknown = set(value) - _SECTIONS[name] - {LINE}
        if unknown:
            raise self.fail(f"unknown field {name}.{sorted(unknown)[0]}", value)
        return value

    def step(self, rounding: dict[str, Any], key: str) -> Step | None:
        node = rounding.get(key)
        if node is None:
            return None
        if not isinstance(node, dict) or set(node) - {"to", "mode", LINE} or "to" not in node:
            raise self.fail(f"rounding.{key} is {{to: N, mode: half_up | down}}", rounding)
        to, mode = self.number(node["to"], node, f"rounding.{key}.to"), node.get("mode", "half_up")
        if to == 0 or mode not in ("half_up", "down"):
            raise self.fail(f"rounding.{key}: `to` is above 0 and mode is half_up or down", node)
        return Step(to, mode)

    def parts(self, tax: dict[str, Any]) -> tuple[TaxPart, ...]:
        nodes = tax.get("parts") or []
        if not isinstance(nodes, list):
            raise self.fail("tax.parts is a list of {name, of_tax}", tax)
        parts = []
        for node in nodes:
            if not isinstance(node, dict) or not node.get("name") or node.get("of_tax") is None:
                raise self.fail('each tax part is {name, of_tax: share, as a number or "22/78"}', tax)
            numerator, _, denominator = str(node["of_tax"]).partition("/")
            share = (self.number(numerator, node, "tax.parts.of_tax"),
                     self.number(denominator or "1", node, "tax.parts.of_tax"))  # fmt: skip
            if share[1] == 0:
                raise self.fail("tax.parts.of_tax divides by zero", node)
            parts.append(TaxPart(str(node["name"]), *share))
        return tuple(parts)

    def codes(self, value: Any, node: Any, what: str) -> frozenset[str]:
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{what} is a list of codes", node)
        return frozenset(value)

    def rule(self, node: Any) -> Rule:
        if not isinstance(node, dict):
            raise self.fail("each rule is a mapping", node)
        unknown = set(node) - _TOP - {LINE}
        if unknown:
            raise self.fail(f"unknown field {sorted(unknown)[0]!r}", node)
        for key in ("id", "jurisdiction", "countries", "effective_from", "source", "currency"):
            if node.get(key) in (None, ""):
                raise self.fail(f"rule needs `{key}`", node)
        start, end = node["effective_from"], node.get("effective_to")
        if not isinstance(start, dt.date) or (end is not None and not isinstance(end, dt.date)):
            raise self.fail("effective_from and effective_to are dates (YYYY-MM-DD)", node)
        if end is not None and end <= start:
            raise self.fail("effective_to must come after effective_from", node)
        when, duty, tax = self.section(node, "when"), self.section(node, "duty"), self.section(node, "tax")
        collection, gift, rounding = (
            self.section(node, "collection"),
            self.section(node, "gift"),
            self.section(node, "rounding"),
        )
        returns, payment = self.section(node, "returns"), self.section(node, "payment")
        terms = DEFAULT_PAYMENT | {k: v for k, v in payment.items() if k != "source"}
        days = {k: int(self.number(terms[k], payment, f"payment.{k}")) for k in DEFAULT_PAYMENT if k != "penalty_rate"}
        if not 1 <= days["deferred_day"] <= 28 or any(days[k] < 0 for k in days):
            raise self.fail("payment: days are not negative and deferred_day is a day 1 to 28", node)
        valuation = node.get("valuation", "intrinsic")
        if valuation not in ("intrinsic", "fob", "cif", "customs_value"):
            raise self.fail(f"valuation {valuation!r} is one of intrinsic, fob, cif, customs_value", node)
        if valuation == "customs_value":  # the transaction value delivered to the border: CIF
            valuation = "cif"
        basis = node.get("threshold_basis", "intrinsic")
        if basis not in ("intrinsic", "valuation"):
            raise self.fail(f"threshold_basis {basis!r} is intrinsic or valuation", node)
        aggregation = node.get("aggregation", "consignment")
        if aggregation not in ("consignment", "item", "consignee_day"):
            raise self.fail(f"aggregation {aggregation!r} is consignment, item or consignee_day", node)
        rate_day = node.get("exchange_rate_day", "assessment")
        if rate_day not in RATE_DAYS:
            raise self.fail(f"exchange_rate_day {rate_day!r} is one of {', '.join(RATE_DAYS)}", node)
        rate = tax.get("rate", 0)
        excluded = node.get("excluded_hs") or []
        if not isinstance(excluded, list) or not all(isinstance(x, str) and x.isdigit() for x in excluded):
            raise self.fail("excluded_hs is a list of HS prefixes (digits, quoted)", node)
        return Rule(
            id=str(node["id"]),
            jurisdiction=str(node["jurisdiction"]),
            countries=self.codes(node["countries"], node, "countries"),
            effective_from=start,
            effective_to=end,
            source=str(node["source"]).strip(),
            currency=str(node["currency"]),
            threshold_currency=str(node.get("threshold_currency") or node["currency"]),
            when=When(
                self.codes(when.get("dispatch"), when, "when.dispatch"),
                self.codes(when.get("channels"), when, "when.channels"),
                self.codes(when.get("schemes"), when, "when.schemes"),
                self.optional(when, "max_value", "when.max_value"),
            ),
            valuation=valuation,
            valuation_factor=self.number(node.get("valuation_factor", 1), node, "valuation_factor"),
            threshold_basis=basis,
            aggregation=aggregation,
            duty_threshold=self.optional(duty, "threshold", "duty.threshold"),
            duty_rate=self.optional(duty, "rate", "duty.rate"),
            flat_per_subheading=self.optional(duty, "flat_per_subheading", "duty.flat_per_subheading"),
            duty_deduction=self.number(duty.get("deduction", 0), duty, "duty.deduction"),
            duty_surcharge=self.number(duty.get("surcharge", 0), duty, "duty.surcharge"),
            tax_name=str(tax.get("name", "VAT")),
            tax_rate=None if rate == "member_state" else self.number(rate, tax, "tax.rate"),
            tax_threshold=self.optional(tax, "threshold", "tax.threshold"),
            tax_minimum=self.number(tax.get("minimum_amount", 0), tax, "tax.minimum_amount"),
            tax_share=self.number(tax.get("share", 1), tax, "tax.share"),
            tax_gross_up=bool(tax.get("gross_up", False)),
            tax_adds_transport=bool(tax.get("adds_transport", False)),
            tax_regional=bool(tax.get("regional", False)),
            reduced_hs=tuple(str(x) for x in tax.get("reduced_hs") or ()),
            vendor_schemes=self.codes(collection.get("vendor_schemes"), collection, "collection.vendor_schemes"),
            vendor_cutoff=self.optional(collection, "vendor_cutoff", "collection.vendor_cutoff"),
            vendor_collects_all=bool(collection.get("vendor_collects_all", False)),
            carrier_channels=self.codes(collection.get("carrier_channels"), collection, "collection.carrier_channels"),
            carrier_cutoff=self.optional(collection, "carrier_cutoff", "collection.carrier_cutoff"),
            intermediary_cutoff=self.optional(collection, "intermediary_cutoff", "collection.intermediary_cutoff"),
            intermediary_annual=self.optional(collection, "intermediary_annual", "collection.intermediary_annual"),
            gift_exempt_up_to=self.optional(gift, "exempt_up_to", "gift.exempt_up_to"),
            excluded_hs=tuple(excluded),
            handling_fee=self.number(node.get("handling_fee", 0), node, "handling_fee"),
            places=int(self.number(rounding.get("places", 2), rounding, "rounding.places")),
            step=self.optional(rounding, "step", "rounding.step"),
            round_base=self.step(rounding, "base"),
            round_line=self.step(rounding, "line"),
            round_carried=self.step(rounding, "carried"),
            round_total=self.step(rounding, "total"),
            rounding_source=str(rounding.get("source") or "").strip(),
            duty_name=str(duty.get("name", "duty")),
            surcharge_name=str(duty.get("surcharge_name", "surcharge")),
            tax_parts=self.parts(tax),
            tax_reduced_rate=self.optional(tax, "reduced_rate", "tax.reduced_rate"),
            return_window_days=int(
                self.number(returns.get("window_days", DEFAULT_RETURN_WINDOW), returns, "returns.window_days")
            ),
            exchange_rate_day=rate_day,
            payment_days=days["days"],
            deferred_day=days["deferred_day"],
            appeal_days=days["appeal_days"],
            review_days=days["review_days"],
            penalty_rate=self.number(terms["penalty_rate"], payment, "payment.penalty_rate"),
            payment_source=str(payment.get("source") or "").strip(),
            line=line_of(node),
        )
