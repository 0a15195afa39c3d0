"""Money after the decision on both databases, with figures worked by hand.

The parcel of these tests: one cotton T-shirt (HS 610910) at EUR 100.00, no shipping cost, to Germany, after
1 July 2026 (rule EU-2026-07): a flat duty of EUR 3 for its one subheading (value within EUR 150), and German
VAT of 19% on value plus duty: 0.19 x 103.00 = 19.57; EUR 22.57 in all, collected by the carrier or post.
Found worth EUR 200.00, it loses the low-value treatment: duty 12% (CN chapter 61) x 200.00 = 24.00, VAT
0.19 x 224.00 = 42.56, EUR 66.56 in all, owed by the buyer at the border; the demand is 66.56 - 22.57 = 43.99.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import example
from tests.integration.test_api import Service, registration, service_for


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path)


def shirt(reference: str, house: str, channel: str = "express", price: str = "100.00") -> dict[str, Any]:
    doc = example(reference=reference, transport_document={"type": "hawb", "id": house}, channel=channel,
                  fiscal=None, shipping_cost=None)  # fmt: skip
    doc["consignee"] = doc["consignee"] | {"name": f"Buyer {reference}"}  # no split shipment between them
    doc["items"] = [{"description": "Cotton T-shirt, men, printed", "hs_code": "610910", "quantity": 1,
                     "unit_price": price, "origin_country": "CN"}]  # fmt: skip
    return doc


def payables(s: Service, who: dict[str, str], **query: str) -> list[dict[str, Any]]:
    answer = s.client.get("/v1/payables", params=query, headers=who)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def status(s: Service, cid: str) -> str:
    return str(s.client.get(f"/v1/officer/consignments/{cid}", headers=s.officer).json()["meta"]["status"])


def next_16th(today: dt.date) -> str:
    return (today.replace(day=1) + dt.timedelta(days=32)).replace(day=16).isoformat()


def test_payables_payments_and_a_guarantee_drawn_past_its_ceiling(service: Service) -> None:
    s = service
    opened = s.client.put("/v1/accounts/beta-express", json={"deferred": True, "currency": "EUR", "guarantee": "50"},
                          headers=s.officer)  # fmt: skip
    assert opened.status_code == 200, opened.text
    assert s.client.put("/v1/accounts/beta-express", json={"deferred": True, "currency": "EUR"},
                        headers=s.alpha).status_code == 403  # fmt: skip
    ids = [registration(s.submit([shirt(f"G{i}", f"HG{i}")], who=s.beta, key=f"g{i}")) for i in range(3)]
    owed = sorted(payables(s, s.beta), key=lambda p: p["reference"])
    assert [(p["reference"], D(p["amount"]), p["payer"], p["state"]) for p in owed] == [
        ("G0", D("22.57"), "beta-express", "open"), ("G1", D("22.57"), "beta-express", "open"),
        ("G2", D("22.57"), "beta-express", "open")]  # fmt: skip
    assert {p["collection_model"] for p in owed} == {"carrier_or_postal"}
    today = dt.datetime.now(dt.UTC).date()
    assert {p["due_on"] for p in owed} == {next_16th(today)}  # a deferred account pays on the 16th of next month
    assert [p["guaranteed_by"] for p in owed] == ["beta-express", "beta-express", None]
    assert status(s, ids[0]) == "released" and status(s, ids[2]) == "held"  # 45.14 + 22.57 would pass 50
    reasons = s.client.get(f"/v1/officer/consignments/{ids[2]}", headers=s.officer).json()["events"]
    assert reasons[-1]["type"] == "held" and reasons[-1]["data"]["reason"] == "guarantee_exhausted"
    account = s.client.get("/v1/accounts/beta-express", headers=s.beta).json()
    assert (D(account["drawn"]), D(account["headroom"])) == (D("45.14"), D("4.86"))
    assert s.client.get("/v1/accounts/beta-express", headers=s.alpha).status_code == 404  # not alpha's to read
    assert payables(s, s.alpha) == []  # a platform sees nothing of a carrier's money

    statement = (
        "payer,reference,amount,currency,paid_on\n"
        f"beta-express,G0,22.57,EUR,{today}\n"
        f"beta-express,{owed[1]['id']},30.00,EUR,{today}\n"  # by the payable's id, 7.43 too much
        f"beta-express,NO-SUCH-PARCEL,5.00,EUR,{today}\n"
        f"beta-express,G2,-3,EUR,{today}\n"
    )
    imported = s.client.post("/v1/payments/import?format=csv", content=statement.encode(), headers=s.officer)
    assert imported.status_code == 201, imported.text
    report = imported.json()
    assert report["recorded"] == 3 and [u["reference"] for u in report["unmatched"]] == ["NO-SUCH-PARCEL"]
    assert report["problems"] == [{"where": "line 5", "message": "the amount '-3' is a positive number below "
                                   "10^12 with at most 4 decimals"}]  # fmt: skip
    after = {p["reference"]: p for p in payables(s, s.officer, payer="beta-express")}
    assert (after["G0"]["state"], D(after["G0"]["outstanding"])) == ("paid", D("0"))
    assert (after["G1"]["state"], D(after["G1"]["outstanding"])) == ("overpaid", D("-7.43"))  # visible
    assert after["G2"]["state"] == "open"
    account = s.client.get("/v1/accounts/beta-express", headers=s.officer).json()
    assert (D(account["drawn"]), D(account["headroom"])) == (D("0"), D("50"))  # payments restore it
    released = s.client.post(f"/v1/officer/consignments/{ids[2]}/release", json={"note": "guarantee topped up"},
                             headers=s.officer)  # fmt: skip
    assert released.status_code == 200
    month = today.strftime("%Y-%m")
    monthly = s.client.get(f"/v1/accounts/beta-express/statement?month={month}", headers=s.beta).json()
    assert monthly["totals"]["EUR"] == {"owed": "67.71", "paid": "52.57", "outstanding": "15.14"}
    assert monthly["due_on"] == next_16th(today)
    again = s.client.post("/v1/payments", json={"reference": "G2", "amount": "22.57", "currency": "EUR",
                                                "paid_on": today.isoformat()}, headers=s.beta)  # fmt: skip
    assert again.status_code == 403  # payments are recorded by customs
    assert s.app.ledger.audit() == []


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt><GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
   <Ntry><Amt Ccy="EUR">22.57</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt>
    <AcctSvcrRef>BANK-0001</AcctSvcrRef>
    <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>beta-express</Nm></Dbtr></RltdPties>
     <RmtInf><Ustrd>{reference} duty and VAT</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="EUR">12.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt>
    <AcctSvcrRef>BANK-0002</AcctSvcrRef></Ntry>
  </Stmt></BkToCstmrStmt></Document>"""


def test_a_bank_statement_pays_once_however_often_it_is_read(service: Service) -> None:
    s = service
    cid = registration(s.submit([shirt("B1", "HB1")], who=s.beta, key="b1"))
    today = dt.datetime.now(dt.UTC).date().isoformat()
    body = CAMT.format(day=today, reference="B1").encode()
    first = s.client.post("/v1/payments/import?format=camt053", content=body, headers=s.officer)
    assert first.status_code == 201, first.text
    assert (first.json()["recorded"], first.json()["duplicates"]) == (1, 0)  # the debit entry is no payment
    second = s.client.post("/v1/payments/import?format=camt053", content=body, headers=s.officer)
    assert (second.json()["recorded"], second.json()["duplicates"]) == (0, 1)
    [owed] = payables(s, s.officer, consignment_id=cid)
    assert (owed["state"], D(owed["paid"])) == ("paid", D("22.57"))
    hostile = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>'
    refused = s.client.post("/v1/payments/import?format=camt053", content=hostile, headers=s.officer)
    assert refused.status_code == 422 and "passwd" not in refused.text and "root:" not in refused.text
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><Document>&c;</Document>')  # fmt: skip
    deep = b"<a>" * 50_000 + b"</a>" * 50_000
    for body in (laughs, deep, b"", b"not xml"):
        answer = s.client.post("/v1/payments/import?format=camt053", content=body, headers=s.officer)
        assert answer.status_code == 422 and "not a camt.053 statement" in answer.json()["detail"]


def test_a_demand_after_an_undervaluation_finding_and_an_appeal_that_annuls_it(service: Service) -> None:
    s = service
    cid = registration(s.submit([shirt("U1", "HU1", channel="post")], key="u1"))  # waits for its arrival
    [first] = payables(s, s.alpha, consignment_id=cid)
    assert (D(first["amount"]), first["payer"]) == (D("22.57"), "carrier of HU1")  # no carrier has said yet
    assert s.client.post(f"/v1/officer/consignments/{cid}/reroute", json={"lane": "red", "note": "value?"},
                         headers=s.officer).status_code == 200  # fmt: skip
    finding = {"kind": "undervaluation", "corrected_value": "200.00", "note": "invoice in the box"}
    found = s.client.post(f"/v1/officer/consignments/{cid}/inspections", headers=s.officer,
                          json={"method": "physical", "outcome": "infringement", "findings": [finding]})  # fmt: skip
    assert found.status_code == 201, found.text
    [made] = found.json()["payables"]
    assert (made["kind"], D(made["amount"]), made["currency"]) == ("demand", D("43.99"), "EUR")
    case = s.client.get(f"/v1/officer/consignments/{cid}", headers=s.officer).json()
    reassessed = next(e for e in case["events"] if e["type"] == "reassessed")
    assert reassessed["data"]["total"] == "66.56" and reassessed["data"]["version"] == 2
    demands = {p["kind"]: p for p in payables(s, s.alpha, consignment_id=cid)}
    assert demands["demand"]["payer"] == "buyer of HU1" and demands["demand"]["collection_model"] == "buyer_at_border"
    paid = s.client.post("/v1/payments", json={"reference": made["id"], "amount": "43.99", "currency": "EUR",
                                               "paid_on": dt.date.today().isoformat()}, headers=s.officer)  # fmt: skip
    assert paid.status_code == 201 and D(paid.json()["unmatched"]) == D("0")

    grounds = {"grounds": "the invoice was for two orders", "payable_id": made["id"]}
    lodged = s.client.post(f"/v1/consignments/{cid}/appeals", json=grounds, headers=s.alpha)
    assert lodged.status_code == 201, lodged.text
    appeal = lodged.json()
    assert appeal["state"] == "lodged"
    again = s.client.post(f"/v1/consignments/{cid}/appeals", json=grounds, headers=s.alpha)
    assert again.status_code == 409 and appeal["id"] in again.text  # lodged once
    assert s.client.post(f"/v1/consignments/{cid}/appeals", json={"grounds": "x"}, headers=s.beta).status_code == 404
    early = s.client.post(f"/v1/officer/appeals/{appeal['id']}/annulled", json={}, headers=s.officer)
    assert early.status_code == 409  # it is reviewed first
    for action in ("review", "annulled"):
        moved = s.client.post(f"/v1/officer/appeals/{appeal['id']}/{action}", json={"note": "two orders indeed"},
                              headers=s.officer)  # fmt: skip
        assert moved.status_code == 200, moved.text
    assert moved.json()["state"] == "annulled" and D(moved.json()["kept"]) == D("0")
    after = {p["kind"]: p for p in payables(s, s.alpha, consignment_id=cid)}
    assert after["demand"]["state"] == "cancelled"
    assert (D(after["refund"]["amount"]), after["refund"]["state"]) == (D("-43.99"), "refund_due")
    out = s.client.post(f"/v1/payables/{after['refund']['id']}/refund-paid", headers=s.officer)
    assert out.status_code == 200
    kinds = [e["type"] for e in s.client.get(f"/v1/consignments/{cid}/events", headers=s.alpha).json()]
    assert kinds[-5:] == ["appeal_lodged", "appeal_under_review", "refund_due", "appeal_annulled", "refund_paid"]
    assert s.app.ledger.audit() == []


def test_an_order_found_split_is_reassessed_as_one_consignment(service: Service) -> None:
    # Three parts of one order, T-shirts at EUR 60.00 each from one seller to one buyer: each alone EUR 3.00
    # flat duty and VAT 0.19 x 63.00 = 11.97, 14.97 in all. As one order of EUR 180.00 (above EUR 150), each
    # part pays duty 12% x 60.00 = 7.20 and VAT 0.19 x 67.20 = 12.768 = 12.77, 19.97: a demand of 5.00 each.
    s = service
    parts = [shirt(f"S{i}", f"HS{i}", channel="post", price="60.00") for i in range(3)]  # wait for arrival
    for doc in parts:
        doc["consignee"] = doc["consignee"] | {"name": "One Buyer"}
    ids = [registration(s.submit([doc], key=doc["reference"])) for doc in parts]
    other = registration(s.submit([shirt("S9", "HS9", price="60.00")], key="s9"))  # another buyer's parcel
    carried = registration(s.submit([parts[1] | {"reference": "C-S1"}], who=s.beta, key="c-s1"))  # joins S1's dossier
    s.client.post(f"/v1/officer/consignments/{ids[0]}/reroute", json={"lane": "red", "note": "split?"},
                  headers=s.officer)  # fmt: skip

    def inspect(same_order: list[str], kind: str = "split_consignment") -> Any:
        finding = {"kind": kind, "same_order": same_order, "note": "one order number on the three invoices"}
        return s.client.post(f"/v1/officer/consignments/{ids[0]}/inspections", headers=s.officer,
                             json={"method": "physical", "outcome": "infringement", "findings": [finding]})  # fmt: skip

    for refused, why in (([other], "consignee differ"), ([ids[0]], "not this one"), (["0" * 32], "no consignment"),
                         ([ids[1]], "split_consignment finding"), ([carried], "no assessment of its own")):  # fmt: skip
        answer = inspect(refused, kind="undervaluation" if why.startswith("split") else "split_consignment")
        assert answer.status_code == 422 and why in answer.text, answer.text
    for hostile in (["not-an-id"], ["\x00" * 32], ["a" * 32] * 25, ["é" * 32]):  # the schema refuses each
        assert inspect(hostile).status_code in (400, 422)
    case = s.client.get(f"/v1/officer/consignments/{ids[0]}", headers=s.officer).json()
    assert case["inspections"] == []  # a refused finding records nothing
    found = inspect(ids[1:])
    assert found.status_code == 201, found.text
    made = found.json()["payables"]
    assert [(p["kind"], D(p["amount"])) for p in made] == [("demand", D("5.00"))] * 3
    for cid in ids:
        [first, demand] = sorted(payables(s, s.officer, consignment_id=cid), key=lambda p: p["kind"] != "assessment")
        assert (D(first["amount"]), D(demand["amount"]), demand["kind"]) == (D("14.97"), D("5.00"), "demand")
        events = s.client.get(f"/v1/officer/consignments/{cid}", headers=s.officer).json()["events"]
        reassessed = next(e for e in events if e["type"] == "reassessed")
        assert (
            reassessed["data"]["total"] == "19.97" and "one order of 3 parcels" in reassessed["data"]["corrected"][-1]
        )
    assert payables(s, s.officer, consignment_id=other)[0]["kind"] != "demand"
    assert s.app.ledger.audit() == []


def test_a_partly_annulled_demand_keeps_what_stands(service: Service) -> None:
    s = service
    cid = registration(s.submit([shirt("U2", "HU2", channel="post")], key="u2"))
    s.client.post(f"/v1/officer/consignments/{cid}/reroute", json={"lane": "red", "note": "x"}, headers=s.officer)
    found = s.client.post(f"/v1/officer/consignments/{cid}/inspections", headers=s.officer, json={
        "method": "physical", "outcome": "infringement",
        "findings": [{"kind": "undervaluation", "corrected_value": "200.00"}]}).json()  # fmt: skip
    demand = found["payables"][0]["id"]
    s.client.post("/v1/payments", json={"reference": demand, "amount": "43.99", "currency": "EUR",
                                        "paid_on": dt.date.today().isoformat()}, headers=s.officer)  # fmt: skip
    appeal = s.client.post(f"/v1/consignments/{cid}/appeals", json={"grounds": "partly", "payable_id": demand},
                           headers=s.alpha).json()  # fmt: skip
    s.client.post(f"/v1/officer/appeals/{appeal['id']}/review", json={}, headers=s.officer)
    bad = s.client.post(f"/v1/officer/appeals/{appeal['id']}/partly_annulled", json={"kept": "50.00"},
                        headers=s.officer)  # fmt: skip
    assert bad.status_code == 422 and "from 0 to 43.99" in bad.text  # more than the demand cannot stand
    done = s.client.post(f"/v1/officer/appeals/{appeal['id']}/partly_annulled", json={"kept": "20.00"},
                         headers=s.officer)  # fmt: skip
    assert done.status_code == 200 and done.json()["state"] == "partly_annulled"
    after = {p["kind"]: p for p in payables(s, s.officer, consignment_id=cid)}
    assert (D(after["demand"]["amount"]), after["demand"]["state"]) == (D("20.00"), "paid")
    assert D(after["refund"]["amount"]) == D("-23.99")


def test_the_tax_export_for_two_ioss_numbers_and_the_referrals_the_tax_agency_reads(service: Service) -> None:
    # Sold under IOSS, VAT is the vendor's: DE 19% of (15.00 + 3.00 duty) = 3.42 and of (20.00 + 3.00) = 4.37;
    # FR 20% of (30.00 + 3.00) = 6.60.
    from clearway.revenue.reconcile import DeclaredLine
    from clearway.services import accounts
    from clearway.services.reconciliation import reconcile_return
    from tests.integration.clients import bearer

    s = service
    docs = []
    sold = (("T1", "IM2760000012", "DE", "15.00"), ("T2", "IM2760000012", "DE", "20.00"),
            ("T3", "IM2760000023", "FR", "30.00"))  # fmt: skip
    for reference, ioss, country, price in sold:
        doc = shirt(reference, f"H{reference}", price=price) | {"fiscal": {"scheme": "ioss", "id": ioss},
                                                                 "destination_country": country}  # fmt: skip
        doc["consignee"] = doc["consignee"] | {"address": doc["consignee"]["address"] | {"country": country}}
        docs.append(doc)
    ids = [registration(s.submit([doc], key=doc["reference"])) for doc in docs]
    assert {status(s, cid) for cid in ids} == {"released"}
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    tables = accounts.tax_export(s.app, month)
    assert tables["ioss"].rows() == [("IM2760000012", "DE", "EUR", 2, D("35.00")),
                                     ("IM2760000023", "FR", "EUR", 1, D("30.00"))]  # fmt: skip
    assert tables["sellers"].rows() == [
        ("Shenzhen Bright Trading Co.", "CN", "DE", "EUR", 2, D("35.00"), D("7.79")),
        ("Shenzhen Bright Trading Co.", "CN", "FR", "EUR", 1, D("30.00"), D("6.60"))]  # fmt: skip
    assert tables["platforms"].rows() == [("example-market", "DE", "EUR", 2, D("35.00"), D("7.79")),
                                          ("example-market", "FR", "EUR", 1, D("30.00"), D("6.60"))]  # fmt: skip
    declared = [DeclaredLine("IM2760000012", month, "DE", D("38.00"), D("3.42")),  # 4.37 short
                DeclaredLine("IM2760000023", month, "FR", D("33.00"), D("6.60"))]  # fmt: skip
    findings = reconcile_return(s.app.store.engine, declared)
    assert accounts.refer_to_tax(s.app, findings, dt.datetime.now(dt.UTC)) == 1
    tax = bearer(s.app, "tax-agency", "agency", agency="tax")
    [referral] = s.client.get("/v1/tax/referrals", headers=tax).json()
    assert (referral["scheme_id"], referral["destination_country"], referral["facts"]["status"]) == (
        "IM2760000012", "DE", "under_declared")  # fmt: skip
    assert D(referral["facts"]["tax_difference"]) == D("4.37")
    assert s.client.get("/v1/tax/referrals", headers=s.health).status_code == 403  # another agency's role
    assert s.client.get("/v1/tax/referrals", headers=s.alpha).status_code == 403


def test_an_ioss_parcel_found_worth_more_owes_the_vendors_return_the_vat_on_what_it_was_found_worth(
    service: Service,
) -> None:
    # Sold under IOSS to Germany at 100.00: flat duty 3.00, and VAT 0.19 x 103.00 = 19.57 the vendor's, declared
    # in its IOSS return. An audit finds it worth 140.00 (still within EUR 150, still IOSS): no demand at the
    # border, as the VAT is the vendor's: 0.19 x 143.00 = 27.17, so the return that declared 19.57 is 7.60 short.
    from clearway.revenue.reconcile import DeclaredLine
    from clearway.services import accounts
    from clearway.services.reconciliation import reconcile_return

    s = service
    doc = shirt("V1", "HV1") | {"fiscal": {"scheme": "ioss", "id": "IM2760000012"}}
    cid = registration(s.submit([doc], key="v1"))
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    declared = [DeclaredLine("IM2760000012", month, "DE", D("103.00"), D("19.57"))]
    [before] = reconcile_return(s.app.store.engine, declared)
    assert (before.status, before.expected_tax) == ("ok", D("19.57"))
    audit = {"outcome": "infringement", "findings": [{"kind": "undervaluation", "corrected_value": "140.00"}]}
    done = s.client.post(f"/v1/officer/consignments/{cid}/audit", headers=s.officer, json=audit)
    assert done.status_code == 201 and done.json()["payables"] == [], done.text  # nothing at the border
    [after] = reconcile_return(s.app.store.engine, declared)
    assert (after.status, after.expected_tax, after.tax_difference) == ("under_declared", D("27.17"), D("7.60"))
    assert accounts.tax_export(s.app, month)["ioss"].rows() == [("IM2760000012", "DE", "EUR", 1, D("140.00"))]
    assert accounts.refer_to_tax(s.app, [after], dt.datetime.now(dt.UTC)) == 1  # the tax agency is told


def test_a_post_clearance_audit_case_gathers_parcels_and_its_finding_is_a_demand(service: Service) -> None:
    s = service
    docs = [shirt(f"A{i}", f"HA{i}") | {"fiscal": {"scheme": "ioss", "id": "IM2760000012"}} for i in range(2)]
    docs.append(shirt("A9", "HA9"))  # no IOSS number: not in the case
    ids = [registration(s.submit([doc], key=doc["reference"])) for doc in docs]
    queue = s.client.get("/v1/officer/audit-queue?sample=10", headers=s.officer).json()
    assert set(ids) <= {q["id"] for q in queue} and {q["why"] for q in queue} <= {"blue lane", "risk-ranked sample"}
    assert s.client.get("/v1/officer/audit-queue", headers=s.alpha).status_code == 403
    opened = s.client.post("/v1/officer/audit-cases", json={"scope": "ioss", "subject": "IM2760000012"},
                           headers=s.officer)  # fmt: skip
    assert opened.status_code == 201 and opened.json()["consignments"] == ids[:2]
    assert opened.json()["opened_at"].endswith("Z") or "+00:00" in opened.json()["opened_at"]
    nobody = s.client.post("/v1/officer/audit-cases", json={"scope": "consignee", "subject": "nope"},
                           headers=s.officer)  # fmt: skip
    assert nobody.status_code == 404
    # Sold under IOSS at 100.00: duty 3.00 (flat), VAT 19.57 the vendor's. Found worth 200.00, the
    # parcel leaves IOSS (above EUR 150): duty 24.00 and import VAT 42.56 at the border; 66.56 - 3.00 = 63.56.
    finding = {"kind": "undervaluation", "corrected_value": "200.00"}
    audit = {"outcome": "infringement", "findings": [finding], "case_id": opened.json()["id"]}
    done = s.client.post(f"/v1/officer/consignments/{ids[0]}/audit", headers=s.officer, json=audit)
    assert done.status_code == 201, done.text
    [demand] = done.json()["payables"]
    assert (demand["kind"], D(demand["amount"])) == ("demand", D("63.56"))
    case = s.client.get(f"/v1/officer/consignments/{ids[0]}", headers=s.officer).json()
    assert case["inspections"][-1]["method"] == "audit"  # a label for the targeting model
    assert case["meta"]["status"] == "released"  # an audit moves no parcel
    bad = {"outcome": "infringement", "findings": [finding | {"corrected_value": "abc"}]}
    again = s.client.post(f"/v1/officer/consignments/{ids[0]}/audit", headers=s.officer, json=bad)
    assert again.status_code == 422
    assert ids[0] not in {q["id"] for q in s.client.get("/v1/officer/audit-queue", headers=s.officer).json()}
    assert s.app.ledger.audit() == []


def test_a_months_special_arrangements_statement_leaves_out_what_was_not_delivered(service: Service) -> None:
    # A post collecting import VAT under the EU special arrangements declares each month what it collected on
    # the parcels released: two T-shirts to Germany, 19.57 each; one came back (refunded once it left), so
    # 39.14 collected, 19.57 of it on a parcel not delivered, 19.57 due.
    from tests.integration.clients import bearer

    s = service
    post = bearer(s.app, "gamma-post", "postal")
    ids = []
    for i, item_id in enumerate(("RR123456785DE", "RR000000005DE")):
        doc = shirt(f"P{i}", "x", channel="post") | {"transport_document": {"type": "s10", "id": item_id}}
        ids.append(registration(s.submit([doc], who=post, key=f"p{i}")))
        assert s.client.post(f"/v1/consignments/{ids[-1]}/arrival", json={}, headers=post).status_code == 200
    assert {status(s, cid) for cid in ids} == {"released"}
    back = shirt("BACK-0", "x", channel="post") | {
        "category": "returned_goods", "order": None, "original_reference": "P0", "dispatch_country": "DE",
        "destination_country": "CN", "transport_document": {"type": "s10", "id": "RR000000014DE"}}  # fmt: skip
    back.pop("order")
    back["consignee"] = back["consignee"] | {"address": {"city": "Shenzhen", "country": "CN"}}
    returned = registration(s.submit([back], who=post, key="back"))
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    filed = s.client.get(f"/v1/accounts/gamma-post/special-arrangements?month={month}", headers=post).json()
    assert filed["lines"][0]["not_delivered"] == 0  # a return filed is not a parcel gone (UCC art. 118(2))
    assert s.client.post(f"/v1/consignments/{returned}/exit", json={}, headers=post).status_code == 200
    answer = s.client.get(f"/v1/accounts/gamma-post/special-arrangements?month={month}", headers=post)
    assert answer.status_code == 200, answer.text
    [line] = answer.json()["lines"]
    assert line == {"member_state": "DE", "currency": "EUR", "parcels": 2, "vat_collected": "39.14",
                    "not_delivered": 1, "vat_not_delivered": "19.57", "vat_due": "19.57"}  # fmt: skip
    assert s.client.get(f"/v1/accounts/gamma-post/special-arrangements?month={month}",
                        headers=s.beta).status_code == 404  # another carrier's  # fmt: skip


def test_retention_keeps_a_case_under_appeal_and_then_erases_what_names_people(service: Service) -> None:
    import sqlalchemy as sa

    from clearway.services.retention import erase_expired
    from clearway.store import tables as t

    s = service
    cid = registration(s.submit([shirt("R1", "HR1")], key="r1"))  # express: released at once
    today = dt.date.today().isoformat()
    payment = {"reference": "HR1", "amount": "22.57", "currency": "EUR", "paid_on": today, "payer": "Anna Schmidt"}
    paid = s.client.post("/v1/payments", json=payment | {"bank_reference": "TX-1"}, headers=s.officer)
    assert paid.status_code == 201 and D(paid.json()["unmatched"]) == D("0")  # paid by tracking number
    replayed = s.client.post("/v1/payments", json=payment | {"bank_reference": "TX-1"}, headers=s.officer)
    assert replayed.json()["duplicate"] is True and replayed.json()["id"] == paid.json()["id"]  # once
    appeal = s.client.post(f"/v1/consignments/{cid}/appeals", json={"grounds": "Anna Schmidt never ordered it"},
                           headers=s.alpha).json()  # fmt: skip
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    first = erase_expired(s.app.store.engine, s.app.secret, days=1, now=later)
    assert first.erased == 0 and first.kept_open == 1  # an appeal to decide keeps the case open
    for action in ("review", "upheld"):
        s.client.post(f"/v1/officer/appeals/{appeal['id']}/{action}", json={}, headers=s.officer)
    second = erase_expired(s.app.store.engine, s.app.secret, days=1, now=later)
    assert second.erased == 1
    with s.app.store.engine.connect() as conn:
        grounds = conn.execute(sa.select(t.appeals.c.grounds)).scalar_one()
        payer = conn.execute(sa.select(t.payments.c.payer)).scalar_one()
    assert "Anna" not in grounds and payer is None


def test_a_parcel_amended_before_release_owes_what_its_latest_assessment_says_and_gets_back_what_was_paid(
    service: Service,
) -> None:
    # the earlier version's payable stayed open beside the new one: its payer was billed for goods the filer
    # had since declared otherwise, on top of what the amended parcel owes
    s = service
    cid = registration(s.submit([shirt("AM1", "HAM1", channel="post")], key="v1"))  # by post: not released yet
    s.runtime.submissions.drain()
    [first] = payables(s, s.officer, consignment_id=cid)
    assert first["state"] == "open" and status(s, cid) == "assessed"
    payment = {"reference": "HAM1", "amount": first["amount"], "currency": "EUR", "payer": "Buyer AM1",
               "paid_on": dt.date.today().isoformat(), "bank_reference": "TX-AM1"}  # fmt: skip
    assert D(s.client.post("/v1/payments", json=payment, headers=s.officer).json()["unmatched"]) == 0
    amended = s.submit([shirt("AM1", "HAM1", channel="post", price="140.00")], key="v2")  # still within EUR 150
    assert amended.json()["results"][0]["outcome"] == "amended"
    s.runtime.submissions.drain()
    lines = {p["id"]: p for p in payables(s, s.officer, consignment_id=cid)}
    assert lines[first["id"]]["state"] == "cancelled"
    [refund] = [p for p in lines.values() if p["kind"] == "refund"]
    assert (D(refund["amount"]), refund["state"], refund["payer"]) == (-D(first["amount"]), "refund_due",
                                                                       first["payer"])  # fmt: skip
    [latest] = [p for p in lines.values() if p["kind"] == "assessment" and p["state"] != "cancelled"]
    case = s.client.get(f"/v1/officer/consignments/{cid}", headers=s.officer).json()
    assert case["decision"]["version"] == 2
    assert D(latest["amount"]) == D(case["decision"]["assessment"]["totals"]["total"]) > D(first["amount"])
    events = [e["type"] for e in case["events"]]
    assert events.count("duty_assessed") == 2 and events.count("refund_due") == 1
    assert s.app.ledger.audit() == []


def test_a_parcel_withdrawn_before_release_owes_nothing_and_gets_back_what_was_paid(service: Service) -> None:
    # the invalidated declaration's debt is extinguished (UCC art. 124(1)(d)); before, its payable stayed
    # paid (nothing owed back) or open (billed) for a parcel that never entered
    s = service
    paid, unpaid = (registration(s.submit([shirt(ref, f"H{ref}", channel="post")], key=ref)) for ref in ("IV1", "IV2"))
    s.runtime.submissions.drain()
    [first] = payables(s, s.officer, consignment_id=paid)
    payment = {"reference": "HIV1", "amount": first["amount"], "currency": "EUR", "payer": first["payer"],
               "paid_on": dt.date.today().isoformat(), "bank_reference": "TX-IV1"}  # fmt: skip
    assert D(s.client.post("/v1/payments", json=payment, headers=s.officer).json()["unmatched"]) == 0
    for cid in (paid, unpaid):
        withdrawn = s.client.post(f"/v1/consignments/{cid}/invalidate", json={"note": "order cancelled"},
                                  headers=s.alpha)  # fmt: skip
        assert withdrawn.status_code == 200, withdrawn.text
        assert status(s, cid) == "invalidated"
    lines = payables(s, s.officer, consignment_id=paid)
    assert sorted((p["kind"], D(p["amount"]), p["state"]) for p in lines) == [
        ("assessment", D(0), "cancelled"), ("refund", -D(first["amount"]), "refund_due")]  # fmt: skip
    assert [(p["payer"], "art. 124(1)(d)" in p["basis"]) for p in lines if p["kind"] == "refund"] == [
        (first["payer"], True)]  # fmt: skip
    assert [(p["kind"], D(p["amount"]), p["state"]) for p in payables(s, s.officer, consignment_id=unpaid)] == [
        ("assessment", D(0), "cancelled")]  # fmt: skip
    events = [e["type"] for e in s.client.get(f"/v1/officer/consignments/{paid}", headers=s.officer).json()["events"]]
    assert events[-2:] == ["invalidated", "refund_due"]
    refund_id = next(p["id"] for p in lines if p["kind"] == "refund")
    assert s.client.post(f"/v1/payables/{refund_id}/refund-paid", headers=s.officer).status_code == 200
    assert s.app.ledger.audit() == []


def test_a_parcel_returned_or_destroyed_before_release_owes_no_duty(service: Service) -> None:
    # goods returned to the sender, abandoned or destroyed under customs supervision are not imported: the
    # declaration's debt does not stand (UCC arts. 124(1), 174); before, its payable stayed open or paid
    s = service
    ids = []
    for ref in ("ND1", "ND2"):
        doc = shirt(ref, f"H{ref}")
        doc["items"][0] |= {"description": "Stun gun 50000V with holster", "hs_code": "930400"}
        ids.append(registration(s.submit([doc], key=ref)))
    destroyed, returned = ids
    assert {status(s, cid) for cid in ids} == {"held"}
    [owed] = payables(s, s.officer, consignment_id=destroyed)
    payment = {"reference": "HND1", "amount": owed["amount"], "currency": "EUR", "payer": owed["payer"],
               "paid_on": dt.date.today().isoformat(), "bank_reference": "TX-ND1"}  # fmt: skip
    assert D(s.client.post("/v1/payments", json=payment, headers=s.officer).json()["unmatched"]) == 0
    for cid, action in ((destroyed, "destroy"), (returned, "return")):
        moved = s.client.post(f"/v1/officer/consignments/{cid}/{action}", json={"note": "stun gun"}, headers=s.officer)
        assert moved.status_code == 200, moved.text
    assert (status(s, destroyed), status(s, returned)) == ("destroyed", "returned_to_sender")
    lines = payables(s, s.officer, consignment_id=destroyed)
    assert sorted((p["kind"], D(p["amount"]), p["state"]) for p in lines) == [
        ("assessment", D(0), "cancelled"), ("refund", -D(owed["amount"]), "refund_due")]  # fmt: skip
    assert [(p["kind"], p["state"]) for p in payables(s, s.officer, consignment_id=returned)] == [
        ("assessment", "cancelled")]  # fmt: skip
    case = s.client.get(f"/v1/officer/consignments/{destroyed}", headers=s.officer).json()
    assert [e["type"] for e in case["events"]][-2:] == ["destroyed", "refund_due"]
    assert s.app.ledger.audit() == []


def test_a_parcel_for_a_full_declaration_owes_under_it_not_twice(service: Service) -> None:
    # above the low-value ceiling, the standard declaration lodged for the parcel carries the duty and tax;
    # before, the low-value assessment made a payable too (EUR 268.09 for the buyer of a EUR 400 parcel),
    # which stayed open after the officer recorded the standard declaration: the buyer was billed twice
    s = service
    dear = registration(s.submit([shirt("FD1", "HFD1", price="400.00")], key="fd"))
    assert status(s, dear) == "full_declaration_required"
    assert payables(s, s.officer, consignment_id=dear) == []
    amended = registration(s.submit([shirt("FD2", "HFD2", channel="post")], key="fd2"))  # owes, waits, is amended
    [owed] = payables(s, s.officer, consignment_id=amended)  # above the ceiling: its payable goes
    part = {"reference": "HFD2", "amount": "10.00", "currency": "EUR", "payer": owed["payer"],
            "paid_on": dt.date.today().isoformat(), "bank_reference": "TX-FD2"}  # fmt: skip
    assert D(s.client.post("/v1/payments", json=part, headers=s.officer).json()["unmatched"]) == 0
    dearer = shirt("FD2", "HFD2", channel="post", price="400.00")
    assert s.submit([dearer], key="fd3").json()["results"][0]["outcome"] == "amended"
    assert status(s, amended) == "full_declaration_required"
    assert sorted((p["kind"], D(p["amount"]), p["state"]) for p in payables(s, s.officer, consignment_id=amended)) == [
        ("assessment", D(0), "cancelled"), ("refund", D("-10.00"), "refund_due")]  # fmt: skip
    for cid in (dear, amended):
        done = s.client.post(f"/v1/officer/consignments/{cid}/full-declaration",
                             json={"reference": f"26DE12345678901{cid[-1]}A1"}, headers=s.officer)  # fmt: skip
        assert done.status_code == 200, done.text
        assert status(s, cid) == "released"
    assert [p["state"] for p in payables(s, s.officer, consignment_id=dear)] == []
    assert s.app.ledger.audit() == []
