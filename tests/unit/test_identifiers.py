"""Identifier and code-list checks."""

from __future__ import annotations

import pytest

from clearway.model.identifiers import (
    gtin_problem,
    ioss_problem,
    is_country,
    is_currency,
    is_e123,
    is_hs_subheading,
    s10_check_digit,
    s10_problem,
    vat_problem,
)


def test_s10_example_from_the_issue() -> None:
    # UPU S10: weights 8,6,4,2,3,5,9,7; RR123456785CH valid, RR123456784CH not.
    assert s10_problem("RR123456785CH") is None
    assert s10_problem("RR123456784CH") == "S10 check digit is 4, expected 5"


def _serial_with_sum_remainder(remainder: int) -> str:
    for n in range(10**8):
        serial = f"{n:08d}"
        if sum(int(d) * w for d, w in zip(serial, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11 == remainder:
            return serial
    raise AssertionError


def test_s10_special_cases_ten_gives_zero_and_eleven_gives_five() -> None:
    assert s10_check_digit(_serial_with_sum_remainder(1)) == 0  # 11 - 1 = 10 -> 0
    assert s10_check_digit(_serial_with_sum_remainder(0)) == 5  # 11 - 0 = 11 -> 5
    assert s10_check_digit(_serial_with_sum_remainder(4)) == 7


@pytest.mark.parametrize("bad", ["RR12345678CH", "R1123456785CH", "rr123456785ch", "RR123456785", "RR123456785ZZ"])
def test_s10_malformed_ids_are_refused_with_a_reason(bad: str) -> None:
    assert s10_problem(bad) is not None


def test_ioss_numbers() -> None:
    assert ioss_problem("IM2760000012") is None
    assert ioss_problem("IM9990000012") is not None  # 999 is no member state
    assert ioss_problem("EU372022452") is not None  # non-union OSS, not IOSS
    assert ioss_problem("IM27600001") is not None  # too short


def test_vat_numbers_are_checked_with_their_check_digits() -> None:
    assert vat_problem("DE136695976", "DE") is None
    assert vat_problem("DE136695978", "DE") == "not a valid DE VAT number"
    assert vat_problem("136695976", "DE") is None  # country taken from the address
    assert vat_problem("GB980780684", None) is None
    assert vat_problem("12345", "ZZ") is None  # no scheme known: not refused


def test_gtin_check_digit() -> None:
    assert gtin_problem("4006381333931") is None
    assert gtin_problem("4006381333932") == "GTIN check digit is wrong"
    assert gtin_problem("12345670") is None
    assert gtin_problem("1234567") is not None


def test_code_lists() -> None:
    assert is_country("DE") and is_country("CN") and not is_country("UK") and not is_country("XX")
    assert is_currency("EUR") and is_currency("CNY") and not is_currency("EUD")


def test_hs_2022_subheadings() -> None:
    assert is_hs_subheading("610910")
    assert is_hs_subheading("61091000")  # national digits beyond six are allowed
    assert is_hs_subheading("851713")  # smartphones: new in HS 2022
    assert not is_hs_subheading("851712")  # HS 2017 code split in 2022
    assert not is_hs_subheading("999999")  # chapter 99 is reserved for national use
    assert not is_hs_subheading("610900")


def test_e123() -> None:
    assert is_e123("+49 221 1234567")
    assert is_e123("+8613800138000")
    assert not is_e123("0221 1234567")
    assert not is_e123("+49-221-1234567")
