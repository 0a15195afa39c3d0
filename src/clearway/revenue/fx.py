"""Exchange rates as a port: the core asks for a rate on a day; adapters answer (ECB, customs tables)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from clearway.errors import ConfigurationError


class MissingRate(ConfigurationError):
    """No exchange rate is known for a currency pair and day."""


@dataclass(frozen=True)
class Quote:
    """A rate: units of `target` for one unit of `source`, as of `day`, and where it came from."""

    source: str
    target: str
    rate: Decimal
    day: dt.date
    origin: str


class ExchangeRates(Protocol):
    def quote(self, source: str, target: str, day: dt.date, applies: dt.date | None = None) -> Quote:
        """The rate of `day`; `applies` is the day it is used for (a monthly table keys on its month)."""
        ...


@lru_cache(maxsize=1024)
def penultimate_wednesday_of_previous_month(day: dt.date) -> dt.date:
    """The EU customs rate day (Commission Implementing Regulation (EU) 2015/2447 art. 146)."""
    last = day.replace(day=1) - dt.timedelta(days=1)
    last_wednesday = last - dt.timedelta(days=(last.weekday() - 2) % 7)
    return last_wednesday - dt.timedelta(days=7)


def previous_working_day(day: dt.date) -> dt.date:
    """The working day before `day` (Monday to Friday; public holidays are the rate source's to skip)."""
    back = {0: 3, 6: 2}.get(day.weekday(), 1)
    return day - dt.timedelta(days=back)


RATE_DAYS: dict[str, Callable[[dt.date], dt.date]] = {
    "assessment": lambda day: day,
    "previous_working_day": previous_working_day,
    "penultimate_wednesday_of_previous_month": penultimate_wednesday_of_previous_month,
}
"""The days a rule's `exchange_rate_day` may name, each with how it follows from the assessment day."""


@dataclass(frozen=True)
class FixedRates:
    """Rates stated outright (tests, and administrations that fix a rate): {(source, target): rate}."""

    rates: dict[tuple[str, str], Decimal]
    origin: str = "fixed"

    def quote(self, source: str, target: str, day: dt.date, applies: dt.date | None = None) -> Quote:
        if source == target:
            return Quote(source, target, Decimal(1), day, "same currency")
        if (source, target) in self.rates:
            return Quote(source, target, self.rates[source, target], day, self.origin)
        if (target, source) in self.rates:
            return Quote(source, target, Decimal(1) / self.rates[target, source], day, self.origin)
        raise MissingRate(f"no {self.origin} rate from {source} to {target}")


@dataclass(frozen=True)
class CustomsRateTable:
    """Monthly customs rates {(source, target, 'YYYY-MM'): units of target per unit of source} over a fallback.

    Where a jurisdiction fixes its own rate for the month (customs exchange rates), it wins over the ECB's.
    """

    monthly: dict[tuple[str, str, str], Decimal]
    fallback: ExchangeRates | None = field(default=None)

    def quote(self, source: str, target: str, day: dt.date, applies: dt.date | None = None) -> Quote:
        month = (applies or day).strftime("%Y-%m")
        if source == target:
            return Quote(source, target, Decimal(1), day, "same currency")
        if (source, target, month) in self.monthly:
            return Quote(source, target, self.monthly[source, target, month], day, f"customs rate table {month}")
        if (target, source, month) in self.monthly:
            return Quote(
                source, target, Decimal(1) / self.monthly[target, source, month], day, f"customs rate table {month}"
            )
        if self.fallback is None:
            raise MissingRate(f"no customs rate for {source} to {target} in {month}")
        return self.fallback.quote(source, target, day, applies)
