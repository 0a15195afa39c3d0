"""The officers' pages without a browser: sign-in, filters, bulk re-route, activation of edited profiles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clearway.auth.clients import add_client
from clearway.services import config
from clearway.workers.runtime import utcnow
from tests.integration.test_api import Service, medicine, registration, service_for, vague


def pages(tmp_path: Path) -> Iterator[Service]:
    """The service with the sign-in form fetched once: the browser holds the CSRF cookie and sends the
    token back with each form, as the pages' hidden field does (plain http here, so no `Secure` cookies)."""
    for service in service_for(f"sqlite:///{tmp_path / 'web.db'}", tmp_path, cookie_secure=False):
        service.client.get("/ui/login")
        service.client.headers["x-csrftoken"] = service.client.cookies["csrftoken"]
        yield service


@pytest.fixture
def signed_in(tmp_path: Path) -> Iterator[Service]:
    for service in pages(tmp_path):
        officer = add_client(service.app.store.engine, "officer-web", "officer")
        form = {"client_id": officer["client_id"], "client_secret": officer["client_secret"], "next": "/ui/"}
        answer = service.client.post("/ui/login", data=form, follow_redirects=False)
        assert answer.status_code in (302, 303) and answer.headers["location"] == "/ui/"
        yield service


def test_wrong_credentials_stay_on_the_sign_in_form(tmp_path: Path) -> None:
    for service in pages(tmp_path):
        answer = service.client.post("/ui/login", data={"client_id": "x", "client_secret": "y"})
        assert answer.status_code == 401 and "unknown client or wrong secret" in answer.text
        assert service.client.get("/ui/", follow_redirects=False).headers["location"].startswith("/ui/login")


def test_filters_and_bulk_reroute_are_audited(signed_in: Service) -> None:
    s = signed_in
    answer = s.submit([medicine("W1"), vague("W2"), vague("W3")])
    ids = [registration(answer, i) for i in range(3)]
    page = s.client.get("/ui/", params={"lane": "red"}).text
    assert "W1" in page and "W2" not in page
    moved = s.client.post("/ui/reroute", data={"id": ids[1:], "lane": "red", "note": "campaign"}, follow_redirects=True)
    assert "2 re-routed to red" in moved.text
    audit = s.runtime.clearance.audit()
    assert [(a["action"], a["after"]["lane"], a["actor"]) for a in audit[:2]] == [
        ("rerouted", "red", "officer-web")
    ] * 2


def test_activated_profiles_are_versioned_audited_and_used(signed_in: Service) -> None:
    s = signed_in
    text = config.current(s.app, "profiles").text
    marked = text.replace("keywords: [gift, gifts, goods,", "keywords: [widget, gift, gifts, goods,", 1)
    assert marked != text
    bad = s.client.post("/ui/profiles/activate", data={"text": "profiles: [{id: X}]"}, follow_redirects=True)
    assert "not activated" in bad.text and config.current(s.app, "profiles").version == 0
    good = s.client.post("/ui/profiles/activate", data={"text": marked}, follow_redirects=True)
    assert "profiles v1 is in force" in good.text
    doc = vague("P1")
    doc["items"][1]["description"] = "widget"
    cid = registration(s.submit([doc]))
    reasons = s.runtime.clearance.decision(cid)["reasons"]  # type: ignore[index]
    assert "DQ-VAGUE" in [r["code"] for r in reasons]  # the new keyword is in force at once
    assert s.runtime.clearance.audit()[0]["action"] == "profiles_activated"


def test_an_officer_shares_a_finding_with_a_partner_from_the_case_page(signed_in: Service) -> None:
    from clearway.ledger.note import NoteKey
    from clearway.services.cooperation import Actor, register_partner
    from clearway.store.cooperation import alerts

    s = signed_in
    cid = registration(s.submit([medicine("AL1")]))
    assert "Share with partner administrations" not in s.client.get(f"/ui/consignments/{cid}").text  # none yet
    partner_key = NoteKey("customs-b.test/ledger", bytes(32)).verifier.encode()
    register_partner(s.app, "office-b", partner_key, "MAA art. 12", Actor("operator", "operator"), utcnow())
    page = s.client.get(f"/ui/consignments/{cid}").text
    assert 'id="partner-office-b"' in page
    refused = s.client.post(f"/ui/consignments/{cid}/alert", data={"partner": "office-b"}, follow_redirects=True)
    assert "not issued: the alert&#39;s kind is one of" in refused.text  # nothing found yet, no kind chosen
    done = s.client.post(f"/ui/consignments/{cid}/alert", follow_redirects=True,
                         data={"partner": "office-b", "kind": "prohibited", "party": "seller", "days": "30",
                               "keywords": "sildenafil"})  # fmt: skip
    assert "risk alert" in done.text and "issued to office-b" in done.text
    assert "(prohibited) to office-b, expires" in done.text  # listed on the case page
    with s.app.store.engine.connect() as conn:
        [(partner, alert, book)] = alerts(conn, "out")
    assert (partner, alert.kind, alert.goods.keywords, book["actor"]) == ("office-b", "prohibited", ["sildenafil"],
                                                                          "officer-web")  # fmt: skip
    assert [p.role for p in alert.parties] == ["seller"] and not alert.names  # a hash, no name
    assert s.runtime.clearance.audit()[0]["action"] == "alert_issued"
