"""ICS2 message terms beside clearway's own, as a carrier reads them from the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import example, tracked
from tests.integration.test_api import Service, medicine, registration, service_for, vague, without_ioss


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path)


def codes(service: Service, cid: str) -> list[str]:
    read = service.client.get(f"/v1/consignments/{cid}", headers=service.alpha).json()
    return [m["message"] for m in read["ics2"]]


def test_registration_assessment_referrals_and_errors_in_ics2_terms(service: Service) -> None:
    master = {"master_reference": "020-12345675"}  # the carrier's master level, filed with the house
    answer = service.submit([without_ioss("I1", channel="express") | master, medicine("I2") | master])
    clear, referred = registration(answer, 0), registration(answer, 1)
    assert codes(service, clear) == ["IE3R01", "IE3N03"]  # registered, assessment complete
    # the medicine's oga referral is customs' own, not a pre-loading one: assessment is complete in ICS2 terms
    assert codes(service, referred) == ["IE3R01", "IE3N03"]
    asked = registration(service.submit([vague("I4") | master | {"transport_document": tracked("I4")}], key="k3"))
    assert codes(service, asked) == ["IE3R01", "IE3Q02"]  # information requested: not complete yet
    first = service.client.get(f"/v1/consignments/{clear}", headers=service.alpha).json()["ics2"][0]
    assert first["mrn"] == clear
    broken = example(reference="I3")
    broken["items"][0]["hs_code"] = "12"
    rejected = service.submit([broken], key="k2").json()["results"][0]
    [error] = rejected["ics2"]
    assert error["message"] == "IE3N99" and error["errors"][0]["pointer"] == "/items/0/hs_code"


def test_a_house_filing_is_not_complete_until_its_master_level_comes(service: Service) -> None:
    """ICS2's multiple filing: a platform's house-level data waits for the carrier's master level."""
    doc = without_ioss("H1", transport_document={"type": "s10", "id": "RR000000005CN"})  # by post, waiting
    house = registration(service.submit([doc], key="h"))
    assert codes(service, house) == ["IE3R01", "IE3N02"]
    manifest = {"reference": "D-1", "master": {"type": "s8", "id": "CNSHAADEFRAAAUN61001"},
                "houses": [{"transport_document": {"type": "s10", "id": "RR000000005CN"}}]}  # fmt: skip
    filed = service.client.post("/v1/manifests", json=manifest, headers=service.beta)
    assert filed.status_code == 201, filed.text
    assert codes(service, house) == ["IE3R01", "IE3N03"]  # the post's despatch completed it
