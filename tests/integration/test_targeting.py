"""Issue 20: what inspections find flows back. Each profile's measured hit rate reaches selectivity's
history, the KPI report and the profile editor, where a profile that stops in vain is up for review with
the dry-run of retiring it."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from clearway.auth.clients import Principal, add_client
from clearway.kpi import Period
from clearway.risk.selectivity import AREA_CANDIDATE, AREA_STOP, CANDIDATE_RANK
from clearway.services.clearance import Inspection, InspectionFinding
from clearway.services.history import gatherer
from clearway.services.measurement import measure
from clearway.store import tables as t
from tests.integration.test_api import Service, registration, service_for, vague
from tests.unit.test_detectors import row

OFFICER = Principal("officer-review", "officer-review", "officer", None, frozenset({"officer"}))


def sign_in(s: Service, name: str) -> None:
    """Sign a new officer called `name` in to the web pages, as a browser would (the CSRF cookie sent back)."""
    s.client.get("/ui/login")
    s.client.headers["x-csrftoken"] = s.client.cookies["csrftoken"]
    officer = add_client(s.app.store.engine, name, "officer")
    s.client.post("/ui/login", data={"client_id": officer["client_id"], "client_secret": officer["client_secret"]})


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path, cookie_secure=False)


def test_a_profile_whose_stops_find_nothing_is_measured_and_put_up_for_review(service: Service) -> None:
    s = service
    ids = [registration(s.submit([vague(f"V{i}")], key=f"v{i}")) for i in range(22)]
    assert all(s.app.store.consignment(cid)[0]["lane"] == "yellow" for cid in ids)  # within the day's minimum
    clearance = s.runtime.clearance
    for cid in ids[:21]:
        clearance.inspect(OFFICER, cid, Inspection(method="physical", outcome="compliant", findings=[]))
    now = dt.datetime.now(dt.UTC)
    rates = gatherer(s.app).compute_hit_rates(now)
    record = {code: rest for code, *rest in rates.rows()}
    inspected, found, alone, alone_found, alone_tried = record["DQ-VAGUE"]
    assert (inspected, found, alone_found) == (21, 0, 0) and alone > 0  # alone: where no other hit rode along
    assert alone_tried >= alone  # every inspection on its own, where `alone` counts one party's at most 3
    # (the later parcels are also split shipments); what selectivity blends with the profile's prior of 30%

    figures = measure(s.app, Period(now.date(), now.date()))
    review = figures["under_review"]
    assert review.filter(review["key"] == "DQ-VAGUE").height == 1  # inspected 21 times (>= 20), 0% < 10%

    sign_in(s, "officer-review")
    page = s.client.get("/ui/profiles")
    assert page.status_code == 200
    row = next(line for line in page.text.splitlines() if "<td>DQ-VAGUE</td>" in line)
    assert 'class="review"' in row and "<td>21</td><td>0</td><td>0%</td>" in row
    assert "Dry-run without it" in page.text.split("<td>DQ-VAGUE</td>", 1)[1].split("</tr>", 1)[0]
    text = page.text.split('id="profile-text" rows="24">', 1)[1].split("</textarea>", 1)[0]
    checked = s.client.post("/ui/profiles/check", data={"text": html.unescape(text), "days": "1",
                                                         "without": "DQ-VAGUE"})  # fmt: skip
    assert checked.status_code == 200, checked.text
    assert "leaving out DQ-VAGUE" in checked.text and "Dry-run: 22 consignments" in checked.text
    assert "<h2>Profile hits</h2><p>none</p>" in checked.text  # no profile but the retired one hit them
    missing = s.client.post("/ui/profiles/check", data={"text": html.unescape(text), "without": "NO-SUCH"})
    assert "no profile &#39;NO-SUCH&#39; to leave out" in missing.text


def test_a_record_nobody_refreshes_fades_back_to_its_prior_and_is_tried_again(service: Service) -> None:
    """An inspection counts in selectivity's records as much as its age leaves of it (half at the configured
    half-life): a detector judged on its first days and never inspected since stops being measured, and is
    explored again. The profile review's plain counts do not fade."""
    s = service
    selectivity = s.app.selectivity
    assert selectivity is not None and selectivity.half_life_days > 0
    ids = [registration(s.submit([vague(f"F{i}")], key=f"f{i}")) for i in range(22)]
    for cid in ids[:21]:
        s.runtime.clearance.inspect(OFFICER, cid, Inspection(method="physical", outcome="compliant", findings=[]))
    now = dt.datetime.now(dt.UTC)
    history = gatherer(s.app)
    fresh = {code: rest for code, *rest in history.compute_hit_rates(now).rows()}["DQ-VAGUE"]
    later = now + dt.timedelta(days=2 * selectivity.half_life_days)  # two half-lives on, nothing inspected since
    faded = {code: rest for code, *rest in history.compute_hit_rates(later).rows()}["DQ-VAGUE"]
    assert faded[:2] == fresh[:2] == [21, 0]  # inspected, found: what the review reads, whole
    assert fresh[4] >= 4 and faded[4] == round(fresh[4] / 4)  # tried on its own: a quarter left, so a record
    # of proven_after inspections is no longer measured, and its stops are explored again


def test_one_sellers_parcels_count_at_most_per_party_times_in_the_record_selectivity_weighs(
    service: Service,
) -> None:
    # Eight clean parcels of one cheap but honest seller, and three of three others, one of them infringing:
    # the seller's eight are not eight independent trials of DQ-VAGUE. The profile review still counts them all.
    s = service
    docs = [vague(f"S{i}") for i in range(8)]
    for i, name in enumerate(("Yiwu Crystal Commerce Co.", "Ningbo Zen Trading Co.", "Dongguan Silver Co.")):
        docs.append(vague(f"O{i}") | {"seller": {"name": name, "address": {"city": "Yiwu", "country": "CN"}}})
    ids = [registration(s.submit([doc], key=doc["reference"])) for doc in docs]
    clearance = s.runtime.clearance
    for index, cid in enumerate(ids):
        bad = index == len(ids) - 1
        findings = [InspectionFinding("undervaluation")] if bad else []
        outcome = "infringement" if bad else "compliant"
        clearance.inspect(OFFICER, cid, Inspection(method="physical", outcome=outcome, findings=findings))
    rates, combinations = gatherer(s.app).compute_records(dt.datetime.now(dt.UTC))
    inspected, found, alone, alone_found, tried = next(rest for code, *rest in rates.rows() if code == "DQ-VAGUE")
    assert (inspected, found) == (11, 1)  # the review's plain counts
    assert (alone, alone_found) == (3 + 3, 1)  # the one seller's eight count as three
    assert tried == 11  # but all eleven say the record is measured (`proven_after`)
    assert {row[0]: row[1:] for row in combinations.rows()}["DQ-VAGUE"] == (6, 1, 11)
    with s.app.store.engine.begin() as conn:  # parties unknown (keys gone): each parcel is a party of its own
        conn.execute(sa.delete(t.party_keys))
    rates, _ = gatherer(s.app).compute_records(dt.datetime.now(dt.UTC))
    assert next(rest for code, *rest in rates.rows() if code == "DQ-VAGUE")[2:] == [11, 1, 11]


def test_the_day_remembers_how_often_it_tried_each_new_combination_of_hits(service: Service) -> None:
    tally = gatherer(service.app)
    now = dt.datetime.now(dt.UTC)
    decided = pl.DataFrame({"lane": ["yellow", "yellow", "yellow", "green"], "explored": [True, True, True, False],
                            "explored_as": ["A+B", "A+B", "C", None]})  # fmt: skip
    tally.count_decided(now, decided)
    tally.count_decided(now, decided.head(1))
    assert tally([row("k1", "10.00")], now).day_explored_by == {"A+B": 3, "C": 1}
    assert tally([row("k1", "10.00")], now + dt.timedelta(days=1)).day_explored_by == {}  # a new day starts afresh


def test_the_days_pool_of_candidates_holds_the_ranks_its_stops_competed_at(service: Service) -> None:
    """The cut of the day's later batches is drawn among the ranks earlier stops competed for its room at: not a
    stop's expected value before the AEO factor, nor one that never had a chance (judged unlikely)."""
    tally = gatherer(service.app)
    now = dt.datetime.now(dt.UTC)
    decided = pl.DataFrame({
        "lane": ["yellow", "blue", "blue", "green"], "discretionary": [True, True, True, False],
        "expected_value": [30.0, 40.0, 90.0, None], CANDIDATE_RANK: [30.0, 20.0, None, None],
    })  # fmt: skip
    tally.count_decided(now, decided)
    assert sorted(tally([row("k1", "10.00")], now).day_candidates) == [20.0, 30.0]


def test_the_days_area_tally_sums_the_infringements_each_risk_flagged_and_counts_its_stops(service: Service) -> None:
    """What a priority area shares its later stops by: the likelihoods of every parcel its risk flagged so far
    (stopped or not), and the stops it made, batch after batch; a new day starts afresh."""
    tally = gatherer(service.app)
    now = dt.datetime.now(dt.UTC)
    decided = pl.DataFrame({
        "lane": ["yellow", "blue", "blue", "yellow", "green"], "likelihood": [0.9, 0.3, 0.4, 0.8, 0.0],
        AREA_CANDIDATE: ["A/x", "A/x", "A/y", "A/y", None], AREA_STOP: ["A/x", None, None, "A/y", None],
    })  # fmt: skip
    tally.count_decided(now, decided)
    tally.count_decided(now, decided.head(2))
    areas = tally([row("k1", "10.00")], now).day_areas
    assert {label: (round(seen, 6), stops) for label, (seen, stops) in areas.items()} == {
        "A/x": (2.4, 2), "A/y": (1.2, 1),
    }  # fmt: skip
    assert tally([row("k1", "10.00")], now + dt.timedelta(days=1)).day_areas == {}


def test_the_selectivity_page_shows_the_priority_areas_and_refuses_a_bad_one_with_its_line(service: Service) -> None:
    """An officer reads which risks are under increased controls, with their share, dates and basis; an edit
    that gets an area wrong (an impossible date, a share over the day) is refused with the line, and the
    settings in force stay."""
    s = service
    sign_in(s, "officer-areas")
    page = s.client.get("/ui/selectivity")
    assert page.status_code == 200
    areas = page.text.split('id="priority-areas"', 1)[1].split("</table>", 1)[0]
    assert "PCA-LVC-RELIEF" in areas and "80 %" in areas and "2026-07-01 to 2027-06-30" in areas
    assert "undervaluation: DET-UNDERVALUE, DET-UNDERVALUE-LOW" in areas and "952/2013" in areas
    text = html.unescape(page.text.split('id="selectivity-text">', 1)[1].split("</textarea>", 1)[0])
    for wrong, said in (("from: 2026-07-01", "&#39;2026-02-30&#39; is not a date"), ("share: 0.8", "share is a share")):
        edited = text.replace(wrong, "from: 2026-02-30" if wrong.startswith("from") else "share: 1.5")
        answer = s.client.post("/ui/selectivity/activate", data={"text": edited}, follow_redirects=True)
        assert answer.status_code == 200 and "not activated" in answer.text and said in answer.text, answer.text[-800:]
        assert "not activated: edited selectivity:2" in answer.text  # the file and the line (20-odd)
    assert s.app.selectivity.priority_areas[0].share == 0.8
