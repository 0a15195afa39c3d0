"""Regional taxes collected at import with the national one: a province's harmonized rate (Canada's HST).

A rule with `tax: {regional: true}` takes the rate of the consignee's region where the regional table has
one on the day, and its own rate elsewhere. The region comes from the consignee's address: its `region`
(an ISO 3166-2 code such as `ON` or `CA-ON`, or the subdivision's name) or, in Canada, the first letter of
the postal code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property, lru_cache

import pycountry

from clearway.model.consignment import Address
from clearway.revenue.tariff import TariffLine, parse_dated_rates

REGION_COLUMNS = ["jurisdiction", "region", "rate_percent", "effective_from", "effective_to", "source"]

CA_POSTCODE_REGIONS = {
    "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC", "K": "ON", "L": "ON", "M": "ON",
    "N": "ON", "P": "ON", "R": "MB", "S": "SK", "T": "AB", "V": "BC", "X": "NT", "Y": "YT",
}  # fmt: skip
"""Canada Post: the first letter of a postal code (forward sortation area) names the province or territory."""


def parse_regional_rates(text: str, source: str) -> list[TariffLine]:
    """A regional tax CSV (comment lines start with #); a bad row or overlapping dates fail with file and line."""
    return parse_dated_rates(
        text, source, REGION_COLUMNS, lambda key: key.isalnum() and key.isupper(), "a region code (upper case)"
    )


@dataclass(frozen=True)
class RegionalRates:
    lines: tuple[TariffLine, ...] = ()

    @cached_property
    def _index(self) -> dict[tuple[str, str], list[TariffLine]]:
        index: dict[tuple[str, str], list[TariffLine]] = {}
        for line in self.lines:
            index.setdefault((line.jurisdiction, line.prefix), []).append(line)
        return index

    def rate(self, jurisdiction: str, region: str, day: dt.date) -> TariffLine | None:
        return next((line for line in self._index.get((jurisdiction, region), ()) if line.active_on(day)), None)


def region_of(address: Address) -> str | None:
    """The ISO 3166-2 subdivision code (without the country) of an address, where it can be told."""
    if address.region:
        code = _subdivision(address.country, address.region.strip())
        if code:
            return code
    if address.country == "CA" and address.postcode:
        return CA_POSTCODE_REGIONS.get(address.postcode.strip()[:1].upper())
    return None


@lru_cache(maxsize=4096)
def _subdivision(country: str, text: str) -> str | None:
    wanted = text.upper().removeprefix(f"{country}-")
    subdivisions = pycountry.subdivisions  # its lookups carry no type hints
    if subdivisions.get(code=f"{country}-{wanted}") is not None:  # type: ignore[no-untyped-call]
        return wanted
    for subdivision in subdivisions.get(country_code=country) or ():  # type: ignore[no-untyped-call]
        if subdivision.name.casefold() == text.casefold():
            return str(subdivision.code).split("-", 1)[1]
    return None
