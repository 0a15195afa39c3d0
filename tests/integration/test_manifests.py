"""Manifests on both databases: a carrier files a master with its houses, amends it, arrives it whole or in
part in one call; parcels waiting for arrival are released, held ones stay, houses with no filing are
reported; another tenant sees and moves nothing of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import example
from tests.integration.clients import bearer
from tests.integration.test_api import Service, registration, service_for

AWB = "020-12345675"  # serial 1234567, check digit 1234567 mod 7 = 5


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path)


def parcel(reference: str, house: str, price: str = "40.00", ioss: bool = False) -> dict[str, Any]:
    doc = example(reference=reference, transport_document={"type": "hawb", "id": house})
    doc["consignee"] = doc["consignee"] | {"name": f"Buyer {reference}"}  # no split shipment between them
    if not ioss:
        doc.pop("fiscal")
    doc["items"][0]["unit_price"] = price
    return doc


def master(reference: str, houses: list[str], **changes: Any) -> dict[str, Any]:
    return {"reference": reference, "master": {"type": "mawb", "id": AWB},
            "movement": {"voyage": "LH8401", "departure_country": "CN", "office": "DE004851",
                         "expected_at": "2026-11-30T06:00:00Z"},
            "houses": [{"transport_document": {"type": "hawb", "id": h}} for h in houses]} | changes  # fmt: skip


def status(service: Service, cid: str) -> str:
    return str(service.client.get(f"/v1/officer/consignments/{cid}", headers=service.officer).json()["meta"]["status"])


def file(service: Service, body: Any, who: dict[str, str], kind: str = "application/json") -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return service.client.post("/v1/manifests", content=content, headers=who | {"Content-Type": kind})


def test_a_manifest_arrives_whole_releasing_what_waited_and_reporting_what_had_no_data(service: Service) -> None:
    s = service
    ids = [registration(s.submit([parcel("P1", "H1"), parcel("P2", "H2", ioss=True), parcel("P3", "H3", "300.00")]), i)
           for i in range(3)]  # fmt: skip
    assert [status(s, cid) for cid in ids] == ["assessed", "assessed", "full_declaration_required"]
    filed = file(s, master("M-1", ["H1", "H2", "H3", "H4"]), s.beta)
    assert filed.status_code == 201, filed.text
    [result] = filed.json()["results"]
    assert (result["outcome"], result["version"], result["houses"]) == ("registered", 1, 4)
    mid = result["manifest_id"]
    arrived = s.client.post(f"/v1/manifests/{mid}/arrival", json={"office": "DE004851"}, headers=s.beta)
    assert arrived.status_code == 200, arrived.text
    answer = arrived.json()
    assert answer["state"] == "arrived" and answer["released"] == 2
    assert sorted(answer["released_consignments"]) == sorted(ids[:2])
    assert answer["stayed"] == [{"consignment_id": ids[2], "status": "full_declaration_required",
                                 "transport_document_id": "H3"}]  # fmt: skip
    assert answer["arrived_without_data"] == ["H4"]  # reported to the carrier
    assert [status(s, cid) for cid in ids] == ["released", "released", "full_declaration_required"]
    events = s.client.get(f"/v1/officer/consignments/{ids[0]}", headers=s.officer).json()["events"]
    assert [e["type"] for e in events][-1] == "arrived"
    view = s.client.get(f"/v1/manifests/{mid}", headers=s.beta).json()
    assert {h["transport_document_id"]: h["state"] for h in view["houses"]} == {
        "H1": "arrived", "H2": "arrived", "H3": "arrived", "H4": "arrived_without_data"}  # fmt: skip
    again = s.client.post(f"/v1/manifests/{mid}/arrival", json={}, headers=s.beta).json()
    assert again["released"] == 0 and sorted(again["not_arrived_now"]) == ["H1", "H2", "H3"]
    # the data for H4 comes late: arriving the house again finds it
    late = registration(s.submit([parcel("P4", "H4")], key="late"))
    third = s.client.post(f"/v1/manifests/{mid}/arrival", json={"houses": ["H4"]}, headers=s.beta).json()
    assert third["released_consignments"] == [late] and third["arrived_without_data"] == []


def test_the_arrival_counts_the_parcels_released_before_it(service: Service) -> None:
    s = service
    letter = parcel("D1", "H1") | {"category": "documents"}  # documents by post: released at assessment
    letter["items"] = [letter["items"][0] | {"description": "Contract papers", "unit_price": "0.00"}]
    early = registration(s.submit([letter]))
    waiting = registration(s.submit([parcel("P2", "H2")], key="second"))
    assert [status(s, cid) for cid in (early, waiting)] == ["released", "assessed"]
    mid = file(s, master("M-3", ["H1", "H2"]), s.beta).json()["results"][0]["manifest_id"]
    answer = s.client.post(f"/v1/manifests/{mid}/arrival", json={}, headers=s.beta).json()
    assert answer["released_consignments"] == [waiting] and answer["released_before_arrival"] == 1
    assert answer["stayed"] == [] and answer["arrived_without_data"] == []  # every house is accounted for


def test_amendment_and_partial_arrival(service: Service) -> None:
    s = service
    ids = [registration(s.submit([parcel(f"P{i}", f"H{i}") for i in range(1, 4)]), i) for i in range(3)]
    assert [status(s, cid) for cid in ids] == ["assessed"] * 3
    mid = file(s, master("M-2", ["H1", "H2"]), s.beta).json()["results"][0]["manifest_id"]
    part = s.client.post(f"/v1/manifests/{mid}/arrival", json={"houses": ["H1"]}, headers=s.beta).json()
    assert part["state"] == "partly_arrived" and part["released_consignments"] == [ids[0]]
    amended = file(s, master("M-2", ["H1", "H3"]), s.beta).json()["results"][0]  # H2 did not travel, H3 did
    assert (amended["outcome"], amended["manifest_id"], amended["version"]) == ("amended", mid, 2)
    assert file(s, master("M-2", ["H1", "H3"]), s.beta).json()["results"][0]["outcome"] == "unchanged"
    houses = {h["transport_document_id"]: h["state"] for h in s.client.get(f"/v1/manifests/{mid}",
                                                                          headers=s.beta).json()["houses"]}  # fmt: skip
    assert houses == {"H1": "arrived", "H3": "expected"}  # the arrived house stays, the dropped one goes
    rest = s.client.post(f"/v1/manifests/{mid}/arrival", json={}, headers=s.beta).json()
    assert rest["state"] == "arrived" and rest["released_consignments"] == [ids[2]]
    assert status(s, ids[1]) == "assessed"  # H2 never arrived
    unknown = s.client.post(f"/v1/manifests/{mid}/arrival", json={"houses": ["H9"]}, headers=s.beta)
    assert unknown.status_code == 404 and "not on this manifest: H9" in unknown.text


def test_bad_manifests_are_refused_with_every_error_and_change_nothing(service: Service) -> None:
    s = service
    bad = master("M-3", ["H1", "H1"], master={"type": "mawb", "id": "020-12345670"})
    bad["houses"].append({"transport_document": {"type": "s10", "id": "RR123456785CN"}})
    ndjson = json.dumps(bad).encode() + b"\n{broken\n" + json.dumps(master("M-4", ["H7"])).encode() + b"\n"
    answer = file(s, ndjson, s.beta, "application/x-ndjson")
    assert answer.status_code == 201
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    codes = {e["code"] for e in body["results"][0]["errors"]}
    assert codes == {"mawb.format", "house.duplicate", "house.document"}
    assert "line 2" in body["results"][1]["errors"][0]["message"]
    assert body["results"][2]["outcome"] == "registered"
    assert file(s, b"[", s.beta).status_code == 422
    deep = b'{"reference": "M-5", "master": ' + b"[" * 100 + b"]" * 100 + b"}"
    assert file(s, deep, s.beta).json()["results"][0]["errors"][0]["code"] == "json.depth"
    for when in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):  # would overflow in UTC
        dated = file(s, master("M-D", ["H1"], movement={"loaded_at": when, "expected_at": when}), s.beta).json()
        assert {e["code"] for e in dated["results"][0]["errors"]} == {"date.range"}
    nul = file(s, json.dumps(master("M-6", ["H\x00"])).encode(), s.beta)
    assert nul.status_code == 400 and "NUL" in nul.json()["detail"]  # refused before it is read
    assert s.client.get("/v1/manifests", headers=s.beta).json()[0]["reference"] == "M-4"  # nothing else kept


def test_only_the_carrier_that_filed_it_or_an_officer_sees_and_arrives_a_manifest(service: Service) -> None:
    s = service
    cid = registration(s.submit([parcel("P1", "H1")]))
    mid = file(s, master("M-7", ["H1"]), s.beta).json()["results"][0]["manifest_id"]
    other = bearer(s.app, "gamma-post", "postal")
    assert s.client.get(f"/v1/manifests/{mid}", headers=other).status_code == 404
    assert s.client.post(f"/v1/manifests/{mid}/arrival", json={}, headers=other).status_code == 404
    assert s.client.get("/v1/manifests", headers=other).json() == []
    assert file(s, master("M-8", ["H1"]), s.alpha).status_code == 403  # a platform does not manifest
    assert s.client.post(f"/v1/manifests/{mid}/arrival", json={}, headers=s.alpha).status_code == 403
    seen = s.client.get(f"/v1/manifests/{mid}", headers=s.beta).json()
    assert seen["houses"][0]["consignments"] == []  # the platform's filing behind the house is not the carrier's
    theirs = registration(s.submit([parcel("G1", "H5")], who=other, key="g"))  # the post files its own parcel
    claim = file(s, master("M-10", ["H5"]), s.beta).json()["results"][0]["manifest_id"]
    claimed = s.client.post(f"/v1/manifests/{claim}/arrival", json={}, headers=s.beta).json()
    assert claimed["released"] == 0 and status(s, theirs) == "assessed"  # beta cannot arrive gamma's parcel
    by_officer = s.client.post(f"/v1/manifests/{mid}/arrival", json={}, headers=s.officer).json()
    assert by_officer["released_consignments"] == [cid]
    audit = s.client.get("/v1/officer/audit", headers=s.officer).json()
    assert audit[0]["action"] == "arrived" and audit[0]["actor"] == "officer-jones"


def test_reconciliation_reaches_the_kpis_and_metrics(service: Service) -> None:
    import datetime as dt

    from clearway.kpi import Period
    from clearway.report.kpi_report import build_page
    from clearway.services.measurement import measure

    s = service
    late = parcel("L1", "H8") | {"arrival": {"expected_at": "2026-01-02T08:00:00Z"}}  # declared long ago
    registration(s.submit([parcel("P1", "H1"), late]))
    mid = file(s, master("M-9", ["H1", "H2", "H3"]), s.beta).json()["results"][0]["manifest_id"]
    s.client.post(f"/v1/manifests/{mid}/arrival", json={"houses": ["H1", "H2"]}, headers=s.beta)
    today = dt.datetime.now(dt.UTC).date()
    figures = measure(s.app, Period(today, today))
    rows = {r["what"]: r for r in figures["reconciliation"].to_dicts()}
    assert (rows["mawb"]["manifests"], rows["mawb"]["houses"], rows["mawb"]["arrived"]) == (1, 3, 1)
    assert (rows["mawb"]["arrived_without_data"], rows["mawb"]["not_arrived"]) == (1, 1)
    assert rows["filings"]["not_arrived"] == 1  # L1: declared for January, never arrived
    assert "Arrival against advance data" in build_page(Period(today, today), figures).render()
    scrape = s.client.get("/metrics", headers=s.officer).text
    assert "clearway_arrived_without_data 1.0" in scrape and "clearway_not_arrived 1.0" in scrape


def test_every_parcel_ends_clearly(service: Service) -> None:
    s = service
    dear = registration(s.submit([parcel("D1", "H1", "400.00")], key="d"))  # above the EU's EUR 150
    assert status(s, dear) == "full_declaration_required"
    told = s.client.get(f"/v1/consignments/{dear}/events", headers=s.alpha).json()
    missing = next(e["missing"] for e in told if e["type"] == "full_declaration_required")
    assert missing[0].startswith("its value, ") and "above the low-value ceiling of 150 EUR" in missing[0]
    assert any("standard customs declaration" in m for m in missing)  # the submitter reads what is missing
    bad = s.client.post(f"/v1/officer/consignments/{dear}/full-declaration", json={"reference": ""},
                        headers=s.officer)  # fmt: skip
    assert bad.status_code == 400
    done = s.client.post(f"/v1/officer/consignments/{dear}/full-declaration",
                         json={"reference": "26DE123456789012A1"}, headers=s.officer)  # fmt: skip
    assert done.status_code == 200, done.text
    assert status(s, dear) == "released"
    events = s.client.get(f"/v1/officer/consignments/{dear}", headers=s.officer).json()["events"]
    assert events[-1]["type"] == "transferred_to_full_declaration"
    assert events[-1]["data"]["declaration"] == "26DE123456789012A1"
    held = registration(s.submit([parcel("D2", "H2", "300.00") | {"items": [
        {"description": "Sildenafil tablets 100mg", "hs_code": "300490", "quantity": 1, "unit_price": "30.00",
         "origin_country": "IN"}]}], key="e"))  # fmt: skip
    assert status(s, held) == "held"
    abandoned = s.client.post(f"/v1/officer/consignments/{held}/abandon", json={"note": "owner gave it up"},
                              headers=s.officer)  # fmt: skip
    assert abandoned.status_code == 200 and status(s, held) == "abandoned"
    destroyed = s.client.post(f"/v1/officer/consignments/{held}/destroy", json={"note": "burnt"}, headers=s.officer)
    assert destroyed.status_code == 200 and status(s, held) == "destroyed"
    again = s.client.post(f"/v1/officer/consignments/{held}/release", json={"note": "x"}, headers=s.officer)
    assert again.status_code == 409 and "it is final" in again.text
    kinds = [e["type"] for e in s.client.get(f"/v1/officer/consignments/{held}", headers=s.officer).json()["events"]]
    assert kinds[-2:] == ["abandoned", "destroyed"]
    audit = s.client.get("/v1/ledger/consignments/" + held + "/proof", headers=s.officer)
    assert audit.status_code == 200 and len(audit.json()["entries"]) == len(kinds)  # each end state is in the ledger


def reasons(service: Service, cid: str) -> dict[str, str]:
    detail = service.client.get(f"/v1/officer/consignments/{cid}", headers=service.officer).json()
    return {r["code"]: r["message"] for r in detail["decision"]["reasons"]}


def test_filers_of_one_parcel_that_disagree_and_a_filing_after_loading_are_reasons(service: Service) -> None:
    s = service
    platform = registration(s.submit([parcel("F1", "H1", "40.00")], key="f1"))
    carrier_copy = parcel("F1-C", "H1", "9.00")  # the carrier's filing of the same parcel: another value,
    carrier_copy["consignee"] = carrier_copy["consignee"] | {"name": "Somebody Else"}  # another consignee
    carried = registration(s.submit([carrier_copy], who=s.beta, key="f2"))
    found = reasons(s, carried)["DET-FILERS"]
    assert found.startswith("another filing of this parcel (by alpha-market) disagrees: value 21.2 EUR here, 83.2")
    assert "another consignee" in found
    assert "DET-FILERS" not in reasons(s, platform)  # the first filing had nothing to compare with yet
    assert "DET-FILERS" not in s.client.get(f"/v1/consignments/{carried}", headers=s.beta).text  # officers only
    loaded = master("M-11", ["H9"], movement={"voyage": "LH8401", "loaded_at": "2026-01-02T08:00:00Z"})
    assert file(s, loaded, s.beta).status_code == 201
    late = registration(s.submit([parcel("F9", "H9")], key="f9"))
    assert reasons(s, late)["DQ-AFTER-LOADING"].startswith(f"filed after loading: air master {AWB} was declared "
                                                           "loaded at 2026-01-02 08:00")  # fmt: skip


def test_several_filers_of_one_parcel_make_one_dossier_with_one_decision(service: Service) -> None:
    s = service
    lead = registration(s.submit([parcel("P1", "H1", "40.00")], key="p1"))
    assert status(s, lead) == "assessed"  # waiting for its arrival
    copy = registration(s.submit([parcel("C1", "H1", "41.00")], who=s.beta, key="c1"))
    assert status(s, copy) == "assessed"  # it follows the lead
    seen = s.client.get(f"/v1/consignments/{copy}", headers=s.beta).json()
    assert seen["joined_dossier"] is True and seen["assessment"] is None  # one assessment: the platform's
    assert lead not in json.dumps(seen) and "P1" not in json.dumps(seen)  # nothing of the other filing
    own = s.client.get(f"/v1/consignments/{lead}", headers=s.alpha).json()
    assert own["joined_dossier"] is False and own["assessment"]["totals"]["total"]
    case = s.client.get(f"/v1/officer/consignments/{lead}", headers=s.officer).json()
    assert [f["id"] for f in case["dossier"]] == [copy]  # the officer reads the other filing beside the lead
    refused = s.client.post(f"/v1/officer/consignments/{copy}/release", json={"note": "x"}, headers=s.officer)
    assert refused.status_code == 409 and lead in refused.text  # officers act on the dossier's lead
    assert file(s, master("M-D1", ["H1"]), s.beta).status_code == 201
    manifest = s.client.get("/v1/manifests", headers=s.beta).json()[0]["id"]
    arrived = s.client.post(f"/v1/manifests/{manifest}/arrival", json={}, headers=s.beta)
    assert arrived.status_code == 200, arrived.text
    assert status(s, lead) == "released" and status(s, copy) == "released"  # the dossier arrives as one
    events = [e["type"] for e in s.client.get(f"/v1/consignments/{copy}/events", headers=s.beta).json()]
    assert events == ["registered", "joined_dossier", "awaiting_arrival", "released"]


def test_a_carriers_filing_that_would_stop_the_parcel_holds_the_dossier_a_platforms_does_not(service: Service) -> None:
    s = service
    lead = registration(s.submit([parcel("P2", "H2")], key="p2"))
    pill = {"description": "Sildenafil tablets 100mg", "hs_code": "300490", "quantity": 1, "unit_price": "40.00",
            "origin_country": "IN"}  # fmt: skip
    pills = parcel("C2", "H2") | {"items": [pill]}
    copy = registration(s.submit([pills], who=s.beta, key="c2"))
    assert status(s, lead) == "held" and status(s, copy) == "held"  # the carrier holds the goods: its word counts
    worklist = {w["id"] for w in s.client.get("/v1/officer/worklist", headers=s.officer).json()}
    assert lead in worklist and copy not in worklist  # worked once, on the lead
    case = s.client.get(f"/v1/officer/consignments/{lead}", headers=s.officer).json()
    assert case["events"][-1]["type"] == "held" and case["events"][-1]["data"]["by"] == "transport_filing"
    assert case["dossier"][0]["decision"]["reasons"]  # why, on the lead's case file
    released = s.client.post(f"/v1/officer/consignments/{lead}/release", json={"note": "checked"}, headers=s.officer)
    assert released.status_code == 200 and status(s, copy) == "released"  # the officer's action moves the dossier
    first = registration(s.submit([parcel("C3", "H3")], who=s.beta, key="c3"))  # the carrier files first
    assert status(s, first) == "assessed"
    hostile = registration(s.submit([pills | {"reference": "P3", "transport_document": {"type": "hawb", "id": "H3"}}],
                                    key="p3"))  # fmt: skip
    assert status(s, first) == "assessed" and status(s, hostile) == "assessed"  # a platform cannot hold it
    assert "DET-FILERS" in {
        r["code"]
        for r in s.client.get(f"/v1/officer/consignments/{hostile}", headers=s.officer).json()["decision"]["reasons"]
    }
    assert s.app.ledger.audit() == []  # every filing's moves, and the dossier held, are in the ledger


def test_when_the_lead_filing_is_withdrawn_the_next_filing_is_assessed_on_its_own(service: Service) -> None:
    s = service
    lead = registration(s.submit([parcel("P4", "H4")], key="p4"))
    copy = registration(s.submit([parcel("C4", "H4", "55.00")], who=s.beta, key="c4"))
    withdrawn = s.client.post(f"/v1/consignments/{lead}/invalidate", json={"note": "order cancelled"},
                              headers=s.alpha)  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text
    assert status(s, copy) == "registered"
    s.runtime.submissions.assess_pending()
    assert status(s, copy) == "assessed"
    seen = s.client.get(f"/v1/consignments/{copy}", headers=s.beta).json()
    assert seen["joined_dossier"] is False and seen["assessment"]["totals"]["total"]  # now its own
