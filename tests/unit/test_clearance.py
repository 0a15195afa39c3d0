"""The lifecycle state machine and the clearance policy (immediate release, referral limits)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from clearway.bootstrap import load_policy
from clearway.clearance import FINAL, STATUSES, after_assessment, next_status
from clearway.clearance.lifecycle import under_control
from clearway.clearance.policy import parse_policy
from clearway.errors import IllegalTransition, RuleFileError


def test_the_contract_lifecycle_and_nothing_else() -> None:
    assert next_status("registered", "assess") == "assessed"
    assert next_status("assessed", "release") == "released"
    assert next_status("held", "inspect") == "inspected"
    for end in ("released", "seized", "returned_to_sender"):
        assert next_status("inspected", {"released": "release", "seized": "seize"}.get(end, "return_to_sender")) == end
    assert next_status("held", "amend") == "registered"  # assessed again
    assert next_status("held", "reroute") == "held" and next_status("assessed", "arrive") == "assessed"
    with pytest.raises(IllegalTransition, match="cannot seize a consignment that is released"):
        next_status("released", "seize")
    with pytest.raises(IllegalTransition, match="allowed: nothing, it is final"):
        next_status("released", "amend")
    with pytest.raises(IllegalTransition, match=r"allowed: destroy\)"):
        next_status("seized", "amend")  # seized goods are destroyed under customs supervision, or stay seized
    assert next_status("full_declaration_required", "declare_fully") == "released"
    assert next_status("held", "abandon") == "abandoned" and next_status("abandoned", "destroy") == "destroyed"
    with pytest.raises(IllegalTransition, match="cannot declare fully a consignment that is held"):
        next_status("held", "declare_fully")  # the full declaration takes over a parcel waiting for it only
    with pytest.raises(IllegalTransition, match=r"allowed: amend, arrive, hold, invalidate, release, reroute\)"):
        next_status("assessed", "inspect")  # inspection needs a hold first
    for final in FINAL:
        assert final in STATUSES
    assert after_assessment("red", []) == "held" and after_assessment("green", ["rfi"]) == "held"
    assert after_assessment("blue", []) == "assessed"


@pytest.mark.parametrize(
    ("status", "lane", "referrals", "controlled"),
    [
        ("held", "red", [], True),  # an examination announced (UCC art. 173(2)(a), 174(1)(b))
        ("held", "green", ["oga"], True), ("held", "green", ["dnl"], True), ("held", "green", ["screening"], True),
        ("held", "blue", ["carrier"], True), ("held", "yellow", ["rfi", "oga"], True),
        ("held", "yellow", ["rfi"], False),  # a request for information is answered by amending
        ("held", "green", [], False),  # held for an exhausted guarantee or an officer's release
        ("assessed", "red", ["oga"], False), ("registered", None, [], False),  # not held: the transitions decide
    ],
)  # fmt: skip
def test_what_a_filer_may_not_amend_or_withdraw(status: str, lane: str | None, referrals: list[str],
                                                controlled: bool) -> None:  # fmt: skip
    assert under_control(status, lane, referrals) is controlled


def assessment(jurisdiction: str, currency: str, value: str, total: str, model: str) -> dict[str, Any]:
    return {"jurisdiction": jurisdiction, "threshold_currency": currency, "threshold_value": value,
            "totals": {"total": total}, "collection_model": model}  # fmt: skip


def test_immediate_release_follows_the_irg_categories_and_whether_duties_are_secured() -> None:
    policy = load_policy()
    assert policy.irg_category("documents", None) == "documents"
    assert policy.irg_category("sale_of_goods", None) == "high_value"  # nothing assessed: no basis to release
    assert policy.irg_category("gift", assessment("EU", "EUR", "40", "0", "exempt")) == "low_value_non_dutiable"
    assert policy.irg_category("sale_of_goods", assessment("EU", "EUR", "150", "3", "buyer_at_border")) == (
        "low_value_dutiable"
    )
    assert policy.irg_category("sale_of_goods", assessment("EU", "EUR", "150.01", "3", "buyer_at_border")) == (
        "high_value"
    )
    assert policy.irg_category("sale_of_goods", assessment("XX", "EUR", "1", "0", "exempt")) == "high_value"
    dutiable_secured = assessment("EU", "EUR", "60", "9", "carrier_or_postal")
    dutiable_unpaid = assessment("EU", "EUR", "60", "9", "buyer_at_border")
    assert policy.release_mode("express", "sale_of_goods", dutiable_secured) == "at_assessment"
    assert policy.release_mode("express", "sale_of_goods", dutiable_unpaid) == "on_arrival"  # collected on delivery
    assert policy.release_mode("post", "sale_of_goods", dutiable_secured) == "on_arrival"
    dear = assessment("US", "USD", "3000", "0", "exempt")
    assert policy.release_mode("post", "sale_of_goods", dear) == "full_declaration"
    missing = policy.missing(dear)
    assert missing[0].startswith("its value, 3000 USD, is above the low-value ceiling of 2500 USD (19 CFR 143.21")
    assert any("standard customs declaration" in m for m in missing[1:])
    opened = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
    assert policy.referral_due("rfi", opened) == opened + dt.timedelta(hours=72)
    assert policy.referral_due("dnl", opened) is None  # do-not-load stands until customs lifts it


def test_a_bad_policy_fails_with_file_and_line() -> None:
    good = "release:\n  post: {documents: at_assessment, low_value_non_dutiable: at_assessment, "
    good += "low_value_dutiable: on_arrival, high_value: manual}\nreferral_hours: {rfi: 72}\nservice_hours: {red: 4}\n"
    assert parse_policy(good, "p.yaml").release["post"]["documents"] == "at_assessment"
    with pytest.raises(RuleFileError, match=r"p.yaml:2: release.post: give each"):
        parse_policy(good.replace("high_value: manual", "high_value: later"), "p.yaml")
    with pytest.raises(RuleFileError, match=r"p.yaml:1: unknown keys \['relase'\]"):
        parse_policy("relase: {}\n" + good, "p.yaml")
    with pytest.raises(RuleFileError, match=r"p.yaml:3: referral_hours.rfi"):
        parse_policy(good.replace("rfi: 72", "rfi: -1"), "p.yaml")
    with pytest.raises(RuleFileError, match="boat"):
        parse_policy(good.replace("  post:", "  boat:"), "p.yaml")
