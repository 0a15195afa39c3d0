"""The pure step that settles a decision: status, release, referrals and the events to record."""

from __future__ import annotations

import json

import pytest

from clearway.clearance.settle import settle

ASSESSMENT = json.dumps({"currency": "EUR", "collection_model": "ioss", "rules": ["EU-IOSS-2021"],
                         "totals": {"duty": "0.00", "vat": "3.99", "other": "0.00", "total": "3.99"}})  # fmt: skip


@pytest.mark.parametrize(
    ("lane", "kinds", "release", "status", "released", "last"),
    [
        ("green", [], "at_assessment", "released", True, "released"),
        ("green", [], "on_arrival", "assessed", False, "awaiting_arrival"),
        ("green", [], "manual", "held", False, "held"),  # an officer releases it
        ("green", [], "full_declaration", "full_declaration_required", False, "full_declaration_required"),
        ("blue", [], None, "released", True, "released"),  # no mode given: released at assessment
        ("blue", [], "on_arrival", "released", True, "released"),  # blue is released now, audited after
        ("blue", [], "full_declaration", "full_declaration_required", False, "full_declaration_required"),
        ("red", [], "at_assessment", "held", False, "held"),
        ("yellow", [], "on_arrival", "held", False, "held"),
        ("green", ["rfi"], "at_assessment", "held", False, "held"),  # an open referral holds it
    ],
)
def test_a_decision_settles_to_the_status_its_lane_referrals_and_release_mode_say(
    lane: str, kinds: list[str], release: str | None, status: str, released: bool, last: str
) -> None:
    s = settle("C1", 2, lane, kinds, release=release)
    assert (s.status, s.released, s.events[-1].kind) == (status, released, last)
    assert s.events[0].kind == "assessed" and s.events[0].facts["version"] == 2
    assert "version" not in (s.events[0].shown or {})  # the event log shows the lane, the ledger also the version


def test_duty_screening_and_agency_referrals_are_recorded() -> None:
    s = settle("C1", 1, "yellow", ["oga", "screening"], agencies=["health", "food"], assessment=ASSESSMENT,
               screened_with="abc123")  # fmt: skip
    assert [e.kind for e in s.events] == ["assessed", "duty_assessed", "held"]
    assert s.events[0].facts["screened_with"] == "abc123"
    assert s.events[1].facts == {"version": 1, "currency": "EUR", "collection_model": "ioss",
                                 "rules": ["EU-IOSS-2021"], "duty": "0.00", "vat": "3.99", "other": "0.00",
                                 "total": "3.99"}  # fmt: skip
    assert s.referrals == (("oga", "health"), ("oga", "food"), ("screening", None))
    assert settle("C2", 1, "yellow", ["oga"]).referrals == (("oga", "unspecified"),)


def test_a_parcel_above_the_ceiling_is_told_what_its_full_declaration_needs() -> None:
    s = settle("C1", 1, "green", [], release="full_declaration", missing=["its value is above the ceiling", "an MRN"])
    assert s.status == "full_declaration_required" and not s.released
    assert s.events[-1].facts["missing"] == ["its value is above the ceiling", "an MRN"]
