"""The officers' web application in Debian's Chromium, driven by Playwright against `clearway serve`.

An officer signs in, works a held parcel through inspection to release, edits a profile and sees its
dry-run; another role is refused. Each screen is saved under docs/screenshots.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from clearway.auth.clients import add_client
from clearway.store import make_engine, sqlite_url, upgrade
from tests.conftest import example
from tests.integration.server import serving

SHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
CHROMIUM_FLAGS = [  # headless as root, and no background connections (the network is closed)
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    return found


def buyer(i: int) -> dict[str, Any]:
    """A consignee of its own, so that the seeded parcels are not one buyer's split shipment."""
    return {
        "name": f"Buyer {i}",
        "address": {"street": f"Ringstr. {i}", "city": "Bonn", "postcode": "53111", "country": "DE"},
    }


def medicine(reference: str) -> dict[str, Any]:
    doc = example(reference=reference, consignee=buyer(100))
    doc["items"][0] |= {"description": "Sildenafil tablets 100mg", "hs_code": "300490"}
    return doc


def vague(reference: str, i: int) -> dict[str, Any]:
    doc = example(reference=reference, consignee=buyer(i))
    doc["items"][1]["description"] = "accessories"
    return doc


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("ui")
    url = sqlite_url(home / "clearway.db")
    engine = make_engine(url)
    upgrade(engine)
    clients = {
        "officer": add_client(engine, "officer-jones", "officer"),
        "agency": add_client(engine, "health-agency", "agency", agency="health"),
        "platform": add_client(engine, "alpha-market", "platform"),
    }
    engine.dispose()
    with serving(home, {"CLEARWAY_DATABASE_URL": url}) as server:
        platform = clients["platform"]
        form = {"grant_type": "client_credentials", "client_id": platform["client_id"],
                "client_secret": platform["client_secret"]}  # fmt: skip
        token = httpx.post(f"{server.url}/v1/oauth/token", data=form).json()["access_token"]
        docs = [medicine("MED-1"), vague("VAGUE-1", 101), vague("VAGUE-2", 102)]
        docs += [example(reference=f"OK-{i}", consignee=buyer(i)) for i in range(6)]
        answer = httpx.post(
            f"{server.url}/v1/consignments", content=json.dumps(docs),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "seed", "Content-Type": "application/json"},
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        headers = {"Authorization": f"Bearer {token}"}
        for result in answer.json()["results"]:  # the service assesses in a process of its own, just started
            for _ in range(300):
                read = httpx.get(f"{server.url}/v1/consignments/{result['registration_id']}", headers=headers)
                if read.json()["status"] != "registered":
                    break
                time.sleep(0.1)
        yield {"url": server.url, "clients": clients}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def shoot(page: Page, name: str, full_page: bool = False) -> None:
    """Keep the page as `docs/screenshots/name`. Headless Chromium now and then refuses a capture while its
    renderer is busy on a loaded machine ("Unable to capture screenshot": a CI run, the page itself complete
    and asserted on); the picture is documentation, not a check, so one refusal is tried again after a pause."""
    try:
        page.screenshot(path=SHOTS / name, full_page=full_page)
    except PlaywrightError as refused:
        if "Unable to capture screenshot" not in str(refused):
            raise
        page.wait_for_timeout(500)
        page.screenshot(path=SHOTS / name, full_page=full_page)


def sign_in(browser: Browser, site: dict[str, Any], who: str, shot: str | None = None) -> Page:
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    page.goto(f"{site['url']}/ui/")
    expect(page.locator("h1")).to_have_text("Sign in")  # sent to the sign-in form first
    if shot:
        shoot(page, shot)
    page.fill("#client_id", site["clients"][who]["client_id"])
    page.fill("#client_secret", site["clients"][who]["client_secret"])
    page.click("#sign-in")
    return page


def test_an_officer_works_a_held_parcel_through_inspection_to_release(browser: Browser, site: dict[str, Any]) -> None:
    page = sign_in(browser, site, "officer", "01-sign-in.png")
    expect(page.locator("h1")).to_have_text("Worklist")
    worklist = page.locator("#worklist tbody")
    for held in ("MED-1", "VAGUE-1", "VAGUE-2"):  # the medicine and the two vague descriptions are held
        expect(worklist).to_contain_text(held)  # (random selection may hold one more: 0.5% of parcels)
    shoot(page, "02-worklist.png", full_page=True)
    page.click("text=MED-1")
    expect(page.locator("#status")).to_have_text("held")
    expect(page.locator("#hits")).to_contain_text("NARC-MED")
    expect(page.locator("#hits")).to_contain_text("What to check")  # the profile's documentation
    expect(page.locator("#duty")).to_contain_text("Due:")
    expect(page.locator("#proof")).to_be_visible()
    shoot(page, "03-consignment.png", full_page=True)
    page.select_option("#outcome", "infringement")
    page.check("#finding-undervaluation")
    page.fill("#corrected_value", "48.00")
    page.click("#record-inspection")
    expect(page.locator("#notice")).to_have_text("inspection recorded")
    expect(page.locator("#status")).to_have_text("inspected")
    expect(page.locator("#inspections")).to_contain_text("undervaluation: corrected value 48.00")
    expect(page.locator("#money")).to_contain_text("assessment")  # what is owed on it, and by whom
    shoot(page, "04-inspected.png", full_page=True)
    page.click("#release")
    expect(page.locator("#notice")).to_have_text("released")
    expect(page.locator("#status")).to_have_text("released")
    expect(page.locator("#timeline")).to_contain_text("released")
    shoot(page, "05-released.png", full_page=True)
    page.goto(f"{site['url']}/ui/audit")
    audit = page.locator("#audit tbody")
    expect(audit).to_contain_text("inspected")
    expect(audit).to_contain_text("officer-jones")
    shoot(page, "06-audit.png", full_page=True)
    page.goto(f"{site['url']}/ui/dashboard")
    expect(page.locator("#figures")).to_contain_text("released")
    expect(page.locator("svg").first).to_be_visible()
    shoot(page, "07-dashboard.png", full_page=True)
    page.goto(f"{site['url']}/ui/selectivity")
    expect(page.locator("h1")).to_contain_text("Selectivity")
    shoot(page, "08-selectivity.png", full_page=True)


def test_an_officer_edits_a_profile_and_sees_its_dry_run(browser: Browser, site: dict[str, Any]) -> None:
    page = sign_in(browser, site, "officer")
    page.goto(f"{site['url']}/ui/profiles")
    text = page.input_value("#profile-text")
    page.fill("#profile-text", text.replace("lane: yellow, referral: rfi}", "lane: purple, referral: rfi}", 1))
    page.click("#validate")
    expect(page.locator("#check-result")).to_contain_text("lane 'purple' is not one of")
    expect(page.locator("#check-result")).to_contain_text("edited profiles:")  # with the line
    vague_profile = "    action: {lane: yellow, referral: rfi}\n    documentation: Ask the submitter for a precise"
    assert vague_profile in text
    page.fill("#profile-text", text.replace(vague_profile, vague_profile.replace("yellow", "red")))
    page.fill("#days", "7")
    page.click("#dry-run")
    result = page.locator("#dry-run-result")
    expect(result).to_contain_text("→ red: 2")  # the two vague parcels would go red
    expect(result).to_contain_text("VAGUE-1")
    shoot(page, "09-profile-dry-run.png", full_page=True)


def test_another_role_is_refused_the_officer_pages(browser: Browser, site: dict[str, Any]) -> None:
    page = sign_in(browser, site, "agency")
    expect(page.locator("#refused")).to_contain_text("these pages are for officers")
    shoot(page, "10-refused.png")
    response = page.goto(f"{site['url']}/ui/profiles")
    assert response is not None and response.status == 403


def test_an_officer_keys_in_a_despatch_records_its_arrival_and_reads_the_reconciliation(
    browser: Browser, site: dict[str, Any]
) -> None:
    page = sign_in(browser, site, "officer")
    page.click("text=Manifests")
    expect(page.locator("h1")).to_have_text("Manifests")
    despatch = "CNSHAADEFRAAAUN61001"
    manifest = {"reference": "DESPATCH-1", "master": {"type": "s8", "id": despatch},
                "movement": {"departure_country": "CN", "office": "DE004851"},
                "houses": [{"transport_document": {"type": "s10", "id": "RR123456785CN"},
                            "receptacle": despatch + "001100012"},
                           {"transport_document": {"type": "s10", "id": "RR000000005CN"}}]}  # fmt: skip
    page.fill("#carrier", "swift-post")
    page.fill("#manifest-json", json.dumps(manifest))
    page.click("#file-manifest")
    expect(page.locator("#notice")).to_have_text("manifest registered with 2 houses")
    expect(page.locator("#houses")).to_contain_text("RR000000005CN")
    expect(page.locator("#houses")).to_contain_text("no filing")
    page.fill("input[name=office]", "DE004851")
    page.click("#arrive")
    expect(page.locator("#notice")).to_contain_text("1 without data")
    expect(page.locator("#houses")).to_contain_text("arrived without data")
    shoot(page, "10-manifest-arrived.png", full_page=True)
    page.click("text=Manifests")
    expect(page.locator("#without-data")).to_contain_text("RR000000005CN")
    expect(page.locator("#manifests")).to_contain_text(f"s8 {despatch}")
    shoot(page, "11-manifests.png", full_page=True)
    page.click("text=Worklist")
    expect(page.locator("#reconciliation")).to_contain_text("1 house(s) arrived without data")
    expect(page.locator("#worklist")).to_contain_text(f"s8 {despatch} (arrived)")  # the parcels' journey
    page.goto(f"{site['url']}/ui/manifests")
    page.fill("#manifest-json", '{"reference": "BAD", "master": {"type": "mawb", "id": "020-12345670"}, "houses": []}')
    page.fill("#carrier", "swift-post")
    page.click("#file-manifest")
    expect(page.locator("#notice")).to_contain_text("not filed:")
    expect(page.locator("#notice")).to_contain_text("air waybill check digit")


def _token(site: dict[str, Any], who: str) -> dict[str, str]:
    client = site["clients"][who]
    form = {"grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]}  # fmt: skip
    token = httpx.post(site["url"] + "/v1/oauth/token", data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_an_officer_finds_an_order_split_in_two_and_names_its_other_parcel(
    browser: Browser, site: dict[str, Any]
) -> None:
    platform, officer = _token(site, "platform"), _token(site, "officer")
    ids = []
    for part in (1, 2):  # one order of EUR 180.00 to one buyer, in two parcels of EUR 90.00
        doc = example(reference=f"SPLIT-{part}", consignee=buyer(300), channel="post", fiscal=None,
                      transport_document={"type": "hawb", "id": f"HSPLIT{part}"})  # fmt: skip
        doc["items"] = [{"description": "Cotton T-shirt, men, printed", "hs_code": "610910", "quantity": 1,
                         "unit_price": "90.00", "origin_country": "CN"}]  # fmt: skip
        answer = httpx.post(f"{site['url']}/v1/consignments", json=doc,
                            headers=platform | {"Idempotency-Key": f"split-{part}"})  # fmt: skip
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["results"][0]["registration_id"])
        for _ in range(300):
            if httpx.get(f"{site['url']}/v1/consignments/{ids[-1]}", headers=platform).json()["status"] != "registered":
                break
            time.sleep(0.1)
    first, second = ids
    held = httpx.post(f"{site['url']}/v1/officer/consignments/{second}/reroute", json={"lane": "red", "note": "split?"},
                      headers=officer)  # fmt: skip
    assert held.status_code == 200, held.text
    page = sign_in(browser, site, "officer")
    page.goto(f"{site['url']}/ui/consignments/{second}")
    expect(page.locator("#hits")).to_contain_text(f"the others: {first}")  # the split hit names the other part
    page.select_option("#outcome", "infringement")
    page.check("#finding-split_consignment")
    page.fill("#same_order", first)
    page.click("#record-inspection")
    expect(page.locator("#notice")).to_have_text("inspection recorded")
    expect(page.locator("#inspections")).to_contain_text(f"split_consignment: one order with {first}")
    expect(page.locator("#money")).to_contain_text("demand")
    page.goto(f"{site['url']}/ui/consignments/{first}")
    expect(page.locator("#money")).to_contain_text("demand")  # the other part owes on the order's value too
