"""A parcel held under a customs control stays under it, on SQLite and PostgreSQL.

Its filer may neither amend it (Union Customs Code art. 173(2)(a)) nor withdraw it (art. 174(1)(b)) until
the control is done: before, a platform whose parcel was stopped for a stun gun declared it a T-shirt, and
the fresh assessment closed the police referral and released it; found infringing, it could still be amended
before the officer seized it. A request for information is answered by amending the filing, and stays so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from clearway.store import tables as t
from tests.conftest import example, tracked
from tests.integration.test_api import Service, registration, service_for


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path)


def parcel(reference: str, description: str, hs_code: str = "610910") -> dict[str, Any]:
    doc = example(reference=reference, transport_document={"type": "hawb", "id": f"H{reference}"})
    doc["items"] = [{"description": description, "hs_code": hs_code, "quantity": 1, "unit_price": "40.00",
                     "origin_country": "CN"}]  # fmt: skip
    return doc


def buyer(doc: dict[str, Any], n: int) -> dict[str, Any]:
    """`doc` to a buyer of its own (parcels to one buyer from one seller would be a split shipment)."""
    address = {"street": f"Ringstr. {n + 1}", "city": "Bonn", "postcode": "53111", "country": "DE"}
    return doc | {"consignee": {"name": f"Buyer {n}", "address": address}}


def case(s: Service, cid: str) -> dict[str, Any]:
    answer = s.client.get(f"/v1/officer/consignments/{cid}", headers=s.officer)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_parcel_held_for_an_examination_is_neither_amended_nor_withdrawn_before_it(service: Service) -> None:
    s = service
    cid = registration(s.submit([parcel("CTL-1", "Stun gun 50000V with holster", "930400")], key="c1"))
    held = case(s, cid)
    assert (held["meta"]["status"], held["decision"]["lane"]) == ("held", "red")
    assert [(r["kind"], r["state"]) for r in held["referrals"]] == [("oga", "open")]

    answer = s.submit([parcel("CTL-1", "Cotton T-shirt, men, printed")], key="c2")
    [result] = answer.json()["results"]
    assert result["outcome"] == "rejected"
    assert [e["code"] for e in result["errors"]] == ["amend.control"]
    assert "art. 173(2)" in result["errors"][0]["message"]
    put = s.client.put(f"/v1/consignments/{cid}", json=parcel("CTL-1", "Cotton T-shirt, women"), headers=s.alpha)
    assert put.status_code == 409 and [e["code"] for e in put.json()["errors"]] == ["amend.control"]
    withdrawn = s.client.post(f"/v1/consignments/{cid}/invalidate", json={"note": "order cancelled"},
                              headers=s.alpha)  # fmt: skip
    assert withdrawn.status_code == 409, withdrawn.text
    assert "art. 174(1)(b)" in withdrawn.json()["detail"]

    after = case(s, cid)  # nothing moved: the same version, lane, referral and reasons
    assert (after["meta"]["status"], after["meta"]["version"], after["decision"]["lane"]) == ("held", 1, "red")
    assert [(r["kind"], r["state"]) for r in after["referrals"]] == [("oga", "open")]
    assert {r["code"] for r in after["decision"]["reasons"]} == {r["code"] for r in held["decision"]["reasons"]}
    assert [e["type"] for e in after["events"]] == [e["type"] for e in held["events"]]
    sub = t.submissions.c
    with s.app.store.engine.connect() as conn:
        kept = conn.execute(sa.select(sub.outcome, sub.errors, sub.raw).where(sub.reference == "CTL-1")
                            .order_by(sub.received_at)).all()  # fmt: skip
    assert [row.outcome for row in kept] == ["registered", "rejected", "rejected"]
    assert all("amend.control" in str(row.errors) and "Cotton T-shirt" in str(row.raw) for row in kept[1:])
    assert s.app.ledger.audit() == []


def test_a_request_for_information_is_answered_by_amending_the_filing(service: Service) -> None:
    s = service
    cid = registration(s.submit([parcel("CTL-2", "goods")], key="r1"))
    asked = case(s, cid)
    assert asked["meta"]["status"] == "held" and ("rfi", "open") in {
        (r["kind"], r["state"]) for r in asked["referrals"]
    }
    answer = s.submit([parcel("CTL-2", "Cotton T-shirt, men, printed")], key="r2")
    assert answer.json()["results"][0]["outcome"] == "amended"
    after = case(s, cid)
    assert after["meta"]["version"] == 2
    assert "DQ-VAGUE" not in {r["code"] for r in after["decision"]["reasons"]}
    assert all(r["state"] != "open" for r in after["referrals"] if r["kind"] == "rfi")


def test_a_parcel_found_infringing_is_not_amended_before_the_officer_acts_on_it(service: Service) -> None:
    s = service
    cid = registration(s.submit([parcel("CTL-3", "Stun gun 50000V with holster", "930400")], key="i1"))
    found = s.client.post(
        f"/v1/officer/consignments/{cid}/inspections",
        headers=s.officer,
        json={"method": "physical", "outcome": "infringement", "findings": [{"kind": "prohibited"}]},
    )
    assert found.status_code == 201, found.text
    answer = s.submit([parcel("CTL-3", "Cotton T-shirt, men, printed")], key="i2")
    assert [e["code"] for e in answer.json()["results"][0]["errors"]] == ["amend.control"]
    assert s.client.post(f"/v1/consignments/{cid}/invalidate", json={"note": "x"}, headers=s.alpha).status_code == 409
    after = case(s, cid)  # the officer's to seize
    assert (after["meta"]["status"], after["decision"]["lane"]) == ("inspected", "red")
    assert [(r["kind"], r["state"]) for r in after["referrals"]] == [("oga", "open")]
    assert (
        s.client.post(f"/v1/officer/consignments/{cid}/seize", json={"note": "stun gun"}, headers=s.officer).status_code
        == 200
    )
    seized = parcel("CTL-3", "x")["transport_document"]  # the seized parcel's tracking number, filed anew
    again = parcel("CTL-3-BIS", "Cotton T-shirt, men, printed") | {"transport_document": seized}
    refused = s.submit([again], key="i3").json()["results"][0]
    assert [e["code"] for e in refused["errors"]] == ["transport_document.control"]


def test_a_parcel_under_control_is_not_filed_again_under_another_reference(service: Service) -> None:
    # the same tracking number filed anew by the same platform was its own consignment, assessed green and
    # released beside the held one; so was another filing amended to carry it
    s = service
    cid = registration(s.submit([parcel("CTL-4", "Stun gun 50000V with holster", "930400")], key="f1"))
    other = registration(s.submit([parcel("CTL-5", "Cotton T-shirt, men, printed")], key="f2"))
    document = parcel("CTL-4", "x")["transport_document"]
    again = parcel("CTL-4-BIS", "Cotton T-shirt, men, printed") | {"transport_document": document}
    moved = parcel("CTL-5", "Cotton T-shirt, women, printed") | {"transport_document": document}
    results = s.submit([again, moved], key="f3").json()["results"]
    assert [[e["code"] for e in r["errors"]] for r in results] == [["transport_document.control"]] * 2
    assert [r["outcome"] for r in results] == ["rejected", "rejected"]
    assert case(s, cid)["meta"]["status"] == "held" and case(s, other)["meta"]["version"] == 1
    beta_files_it = parcel("CTL-4-B", "Cotton T-shirt, men, printed") | {"transport_document": document}
    joined = s.submit([beta_files_it], who=s.beta, key="f4").json()["results"][0]
    assert joined["outcome"] == "registered"  # another filer's filing joins the dossier and follows the hold
    assert s.client.get(f"/v1/consignments/{joined['registration_id']}", headers=s.beta).json()["status"] == "held"


def test_a_stop_is_not_drawn_again_by_amending_or_refiling_the_parcel(service: Service) -> None:
    # a parcel held for a request for information about its vague description, amended late in a day whose
    # capacity was spent with the same vague description (a price changed), was drawn again: released for audit
    # with the request closed as reassessed. Withdrawing it and filing it again under a new reference did the same.
    s = service
    amended = registration(s.submit([parcel("STD-1", "goods")], key="d1"))
    withdrawn = registration(s.submit([parcel("STD-2", "goods")], key="d2"))
    for cid in (amended, withdrawn):
        stopped = case(s, cid)
        assert (stopped["meta"]["status"], stopped["decision"]["lane"]) == ("held", "yellow")
    for batch in range(3):  # the day's capacity (its minimum of 50 stops) is spent
        answer = s.submit([buyer(parcel(f"STD-F{batch}-{i}", "goods"), 40 * batch + i) for i in range(40)],
                          key=f"f{batch}")  # fmt: skip
    last = [case(s, r["registration_id"])["decision"] for r in answer.json()["results"]]
    assert {d["lane"] for d in last} == {"blue"} and all(d["reasons"][-1]["code"] == "CAPACITY" for d in last)

    same = parcel("STD-1", "goods")
    same["items"][0]["unit_price"] = "39.00"
    assert s.submit([same], key="d3").json()["results"][0]["outcome"] == "amended"
    after = case(s, amended)
    assert (after["meta"]["status"], after["meta"]["version"], after["decision"]["lane"]) == ("held", 2, "yellow")
    assert after["decision"]["reasons"][-1]["code"] == "STANDING"
    assert ("rfi", "open") in {(r["kind"], r["state"]) for r in after["referrals"]}

    gone = s.client.post(f"/v1/consignments/{withdrawn}/invalidate", json={"note": "wrong reference"},
                         headers=s.alpha)  # fmt: skip
    assert gone.status_code == 200, gone.text  # a request for information does not bar withdrawing (art. 174)
    again = parcel("STD-2-BIS", "Cotton T-shirt, men, printed")  # filed anew: the stop stands, whatever it says
    again["transport_document"] = parcel("STD-2", "x")["transport_document"]
    refiled = registration(s.submit([again], key="d4"))
    anew = case(s, refiled)
    assert (anew["meta"]["status"], anew["decision"]["lane"]) == ("held", "yellow")
    assert anew["decision"]["reasons"][-1]["code"] == "STANDING"

    answered = parcel("STD-1", "Cotton T-shirt, men, printed")  # the request answered: nothing asks for a stop
    assert s.submit([answered], key="d5").json()["results"][0]["outcome"] == "amended"
    final = case(s, amended)
    assert final["meta"]["status"] in ("released", "assessed"), final["decision"]


def test_a_carriers_filing_that_would_stop_a_parcel_released_before_it_came_is_not_dropped(service: Service) -> None:
    # a platform's filing of an express parcel was released at assessment (before arrival); the carrier then
    # filed the same parcel as a stun gun, a stop with a police referral: the filing joined the released dossier
    # and nothing else happened, no referral, no officer's queue
    s = service
    doc = parcel("REL-1", "Cotton T-shirt, men, printed") | {"channel": "express"}
    lead = registration(s.submit([doc], key="r1"))
    assert case(s, lead)["meta"]["status"] == "released"
    weapon = parcel("REL-1-C", "Stun gun 50000V with holster", "930400")
    weapon |= {"channel": "express", "transport_document": doc["transport_document"]}
    joined = registration(s.submit([weapon], who=s.beta, key="r2"))
    after = case(s, lead)
    assert (after["meta"]["status"], after["meta"]["lane"]) == ("released", "blue")  # post-release control
    assert [(r["kind"], r["agency"], r["state"]) for r in after["referrals"]] == [("oga", "police", "open")]
    moved = after["events"][-1]
    assert moved["type"] == "rerouted" and moved["data"]["by"] == "transport_filing"
    queue = s.client.get("/v1/officer/audit-queue", headers=s.officer).json()
    assert queue[0]["id"] == lead and queue[0]["why"] == "blue lane"
    carrier_view = s.client.get(f"/v1/consignments/{joined}", headers=s.beta).json()
    assert carrier_view["status"] == "released" and "lane" not in carrier_view  # it follows; it sees no lane
    assert s.app.ledger.audit() == []


def test_lowering_the_value_out_of_a_stop_asks_for_proof_of_the_price(service: Service) -> None:
    # a parcel held at EUR 400 (an IOSS number above the EUR 150 ceiling) was amended to EUR 140 and released
    # with no question asked: the stop's reason had gone, and undervaluation with it
    s = service
    doc = parcel("VAL-1", "Bluetooth headphones, wireless", "851830")
    doc["items"][0]["unit_price"] = "400.00"
    cid = registration(s.submit([doc], key="v1"))
    assert case(s, cid)["meta"]["status"] == "held"
    for step, price in enumerate(("300.00", "140.00")):  # in two steps: compared with the highest before
        doc["items"][0]["unit_price"] = price
        assert s.submit([doc], key=f"v{step + 2}").json()["results"][0]["outcome"] == "amended"
    after = case(s, cid)
    assert (after["meta"]["status"], after["meta"]["version"], after["decision"]["lane"]) == ("held", 3, "yellow")
    lowered = next(r for r in after["decision"]["reasons"] if r["code"] == "DET-VALUE-LOWERED")
    assert lowered["message"].startswith("amended from 400.0 to 140.0 EUR (65% lower), under the 150.0 EUR")
    assert ("rfi", "open") in {(r["kind"], r["state"]) for r in after["referrals"]}
    mine = s.client.get(f"/v1/consignments/{cid}", headers=s.alpha).json()
    assert "DET-VALUE-LOWERED" not in str(mine) and mine["status"] == "held"  # the filer sees no rule


def test_a_declared_return_is_refunded_when_its_carrier_reports_it_left(service: Service) -> None:
    # the refund of a declared return was recorded as its filing came in: a platform's filing alone gave back
    # the duty and tax of goods that never left (UCC art. 118(2): provided they are taken out of the territory)
    s = service
    sold = parcel("ORIG-1", "Cotton T-shirt, men, printed") | {"channel": "express"}
    original = registration(s.submit([sold], key="o1"))
    assert case(s, original)["meta"]["status"] == "released"
    back = parcel("RET-1", "Cotton T-shirt, men, printed") | {
        "category": "returned_goods", "original_reference": "ORIG-1", "order": None, "fiscal": None,
        "dispatch_country": "DE", "destination_country": "CN", "transport_document": tracked("RET-1", "DE"),
    }  # fmt: skip
    back = {k: v for k, v in back.items() if v is not None}
    returned = registration(s.submit([back], key="o2"))
    assert [e["type"] for e in case(s, original)["events"]].count("refunded") == 0  # filed, not gone
    refused = s.client.post(f"/v1/consignments/{returned}/exit", json={}, headers=s.alpha)
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("exit is reported by the carrier or post")  # not "arrival"
    carried = registration(s.submit([back | {"reference": "RET-1-C"}], who=s.beta, key="o3"))
    left = s.client.post(f"/v1/consignments/{carried}/exit", json={"office": "DE004250"}, headers=s.beta)
    assert left.status_code == 200, left.text
    assert left.json()["consignment_id"] == carried  # its own filing, not the platform's
    again = s.client.post(f"/v1/consignments/{carried}/exit", json={}, headers=s.beta)
    assert again.status_code == 409 and "recorded already" in again.text
    assert [e["type"] for e in case(s, original)["events"]].count("refunded") == 1
    assert [e["type"] for e in case(s, returned)["events"]][-1] == "exited"
    not_a_return = s.client.post(f"/v1/officer/consignments/{original}/exit", json={}, headers=s.officer)
    assert not_a_return.status_code == 409 and "not a declared return" in not_a_return.text
    assert s.app.ledger.audit() == []


def test_withdrawing_a_parcel_to_file_it_anew_at_a_lower_value_asks_for_proof_of_the_price(service: Service) -> None:
    # a EUR 400 parcel waits for a full declaration; withdrawn and filed anew at EUR 140 (the same parcel, the
    # same tracking number), it was a new consignment under the ceiling, released with no question asked
    s = service
    doc = parcel("VAL-2", "Bluetooth headphones, wireless", "851830") | {"fiscal": None}
    doc = {k: v for k, v in doc.items() if v is not None}
    doc["items"][0]["unit_price"] = "400.00"
    first = registration(s.submit([doc], key="w1"))
    assert case(s, first)["meta"]["status"] == "full_declaration_required"
    gone = s.client.post(f"/v1/consignments/{first}/invalidate", json={"note": "wrong price"}, headers=s.alpha)
    assert gone.status_code == 200, gone.text
    again = doc | {"reference": "VAL-2-BIS", "items": [doc["items"][0] | {"unit_price": "140.00"}]}
    anew = case(s, registration(s.submit([again], key="w2")))
    assert (anew["meta"]["status"], anew["decision"]["lane"]) == ("held", "yellow")
    lowered = next(r for r in anew["decision"]["reasons"] if r["code"] == "DET-VALUE-LOWERED")
    assert lowered["message"].startswith("withdrawn and filed anew from 400.0 to 140.0 EUR (65% lower), under the")
