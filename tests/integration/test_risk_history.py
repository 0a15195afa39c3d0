"""Detectors that read the store's history, through the service on both databases: a split across
submissions, a repeat offender after a seizure, undervaluation against stored accepted lines and a seller's
habit of declaring low."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clearway.errors import InvalidInput
from tests.conftest import example, tracked
from tests.integration.test_api import Service, medicine, registration, service_for


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path)


def parcel(reference: str, price: str, description: str = "Silk blouse", hs: str = "620610") -> dict[str, Any]:
    doc = example(reference=reference, fiscal=None, shipping_cost=None)
    doc["items"] = [
        {"description": description, "hs_code": hs, "quantity": 1, "unit_price": price, "origin_country": "CN"}
    ]
    return doc


def reasons(service: Service, cid: str) -> list[dict[str, str]]:
    detail = service.client.get(f"/v1/officer/consignments/{cid}", headers=service.officer).json()
    return list(detail["decision"]["reasons"])


def test_a_split_across_two_submissions_is_caught_on_the_second(service: Service) -> None:
    first = registration(service.submit([parcel("SP1", "100.00")], key="a"))
    assert not [r for r in reasons(service, first) if r["code"] == "DET-SPLIT"]  # alone, nothing to see
    second = registration(service.submit([parcel("SP2", "90.00")], key="b"))
    split = [r for r in reasons(service, second) if r["code"] == "DET-SPLIT"]
    assert len(split) == 1 and "(1 of them received earlier)" in split[0]["message"]
    assert "2 parcels" in split[0]["message"] and "190.0 EUR" in split[0]["message"]
    assert split[0]["message"].endswith(f"the others: {first}")  # the officer's finding can name it


def test_a_party_seized_before_is_stopped_again(service: Service) -> None:
    held = registration(service.submit([medicine("RO1")], key="a"))
    seized = service.client.post(f"/v1/officer/consignments/{held}/seize", json={"note": "fakes"},
                                 headers=service.officer)  # fmt: skip
    assert seized.status_code == 200
    socks = parcel("RO2", "20.00", "Cotton socks", "611595") | {"transport_document": tracked("RO2")}
    innocent = registration(service.submit([socks], key="b"))  # another parcel of the same seller
    repeat = {r["code"]: r["message"] for r in reasons(service, innocent) if r["code"].startswith("DET-REPEAT")}
    # seller, consignee and address all had the seized parcel: the seller's record and the buyer's apart
    assert repeat["DET-REPEAT-SELLER"].startswith("the seller had 1 parcel(s) seized, the last on ")
    assert repeat["DET-REPEAT-BUYER"].startswith("the consignee had 1 parcel(s) seized")
    assert repeat["DET-REPEAT-BUYER"].count("; ") == 1  # and the delivery address
    lane = service.client.get(f"/v1/officer/consignments/{innocent}", headers=service.officer).json()
    assert lane["decision"]["lane"] == "red"
    submitter_view = service.client.get(f"/v1/consignments/{innocent}", headers=service.alpha).json()
    assert "DET-REPEAT" not in str(submitter_view)  # the submitter never sees why


def test_a_party_found_infringing_on_inspection_is_stopped_again_and_one_found_compliant_is_not(
    service: Service,
) -> None:
    o = service.officer
    found, clean = (registration(service.submit([medicine(r) | {"transport_document": tracked(r)}], key=r))
                    for r in ("RI1", "RI2"))  # fmt: skip
    for cid, outcome, findings in ((found, "infringement", [{"kind": "counterfeit"}]), (clean, "compliant", [])):
        inspected = service.client.post(
            f"/v1/officer/consignments/{cid}/inspections",
            headers=o,
            json={"method": "physical", "outcome": outcome, "findings": findings},
        )
        assert inspected.status_code == 201, inspected.text  # fmt: skip
    # the same seller and buyer: the record is the infringing parcel's, not the compliant one's
    socks = parcel("RI3", "20.00", "Cotton socks", "611595") | {"transport_document": tracked("RI3")}
    later = registration(service.submit([socks], key="RI3"))
    repeat = {r["code"]: r["message"] for r in reasons(service, later) if r["code"].startswith("DET-REPEAT")}
    assert repeat["DET-REPEAT-SELLER"].startswith("the seller had 1 earlier parcel(s) found infringing (counterfeit)")
    assert "seized" not in repeat["DET-REPEAT-SELLER"]


def test_another_filers_filing_of_a_seized_parcel_counts_for_its_own_parties(service: Service) -> None:
    """A filing that joined a dossier follows its lead into seizure; the parties it names (as its filer spelt
    them) have that seizure on their record from then on."""
    held = registration(service.submit([medicine("RD1")], key="a"))
    theirs = medicine("RD1-B") | {"transport_document": medicine("RD1")["transport_document"]}
    theirs["seller"] = {"name": "Another Spelling Trading Co", "address": {"city": "Ningbo", "country": "CN"}}
    joined = service.submit([theirs], who=service.beta, key="b").json()["results"][0]
    assert joined["outcome"] == "registered"
    seized = service.client.post(f"/v1/officer/consignments/{held}/seize", json={"note": "fakes"},
                                 headers=service.officer)  # fmt: skip
    assert seized.status_code == 200
    assert service.client.get(f"/v1/consignments/{joined['registration_id']}",
                              headers=service.beta).json()["status"] == "seized"  # fmt: skip
    again = parcel("RD2", "20.00", "Cotton socks", "611595") | {"transport_document": tracked("RD2")}
    again["seller"] = theirs["seller"]  # only the joined filing named this seller
    later = registration(service.submit([again], who=service.beta, key="c"))
    repeat = {r["code"]: r["message"] for r in reasons(service, later) if r["code"].startswith("DET-REPEAT")}
    assert repeat["DET-REPEAT-SELLER"].startswith("the seller had 1 parcel(s) seized")


def test_undervaluation_against_stored_accepted_lines(service: Service) -> None:
    usual = [parcel(f"UV{i}", f"{36 + i % 9}.00") for i in range(20)]
    for i, doc in enumerate(usual):  # one per consignee: no split shipment in the way
        doc["consignee"] = doc["consignee"] | {"name": f"Buyer {i}"}
    service.submit(usual, key="a")
    low = parcel("UVLOW", "4.00")
    low["consignee"] = low["consignee"] | {"name": "Someone Else"}
    cid = registration(service.submit([low], key="b"))
    found = [r for r in reasons(service, cid) if r["code"] == "DET-UNDERVALUE"]
    assert found and "(20 lines)" in found[0]["message"]  # the reference is the 20 stored lines


def test_a_sellers_habit_of_declaring_low_is_read_from_its_stored_lines(service: Service) -> None:
    usual = [parcel(f"UV{i}", f"{36 + i % 9}.00") for i in range(20)]
    for i, doc in enumerate(usual):  # ten sellers, each to its own buyers
        doc["seller"] = {"name": f"Seller {i % 10}", "address": {"city": "Shenzhen", "country": "CN"}}
        doc["consignee"] = doc["consignee"] | {"name": f"Buyer {i}"}
    service.submit(usual, key="a")

    def lowball(reference: str, buyer: str) -> dict[str, Any]:
        doc = parcel(reference, "15.00")  # under half of about 40, inside the subheading's spread
        doc["seller"] = {"name": "Lowball Trading", "address": {"city": "Yiwu", "country": "CN"}}
        doc["consignee"] = doc["consignee"] | {"name": buyer}
        return doc

    first = registration(service.submit([lowball("LB1", "Buyer A")], key="b"))
    assert not [r for r in reasons(service, first) if r["code"].startswith("DET-UNDERVALUE")]  # one line is no habit
    service.submit([lowball("LB2", "Buyer B")], key="c")
    third = registration(service.submit([lowball("LB3", "Buyer C")], key="d"))
    found = [r["message"] for r in reasons(service, third) if r["code"] == "DET-UNDERVALUE-SELLER"]
    assert found and "on 3 of its 3 lines" in found[0]  # two stored, accepted lines and this one


def korean(reference: str) -> dict[str, Any]:
    doc = parcel(reference, "100.00", "T-shirt", "610910")
    doc |= {"destination_country": "KR", "currency": "USD"}
    doc["consignee"] = {"name": "Kim Min-jun", "address": {"street": "Sejong-daero 110", "city": "Seoul",
                                                           "postcode": "04524", "country": "KR"}}  # fmt: skip
    return doc


def test_same_day_parcels_of_a_consignee_are_combined_across_submissions(service: Service) -> None:
    first = registration(service.submit([korean("KR1")], key="a"))
    second = registration(service.submit([korean("KR2")], key="b"))
    read = {cid: service.client.get(f"/v1/consignments/{cid}", headers=service.alpha).json() for cid in (first, second)}
    assert read[first]["assessment"]["totals"]["total"] == "0"  # USD 100 alone: within Korea's USD 150
    combined = read[second]["assessment"]
    assert int(combined["totals"]["total"]) > 0 and any("combined value" in n for n in combined["notes"])


def test_a_partner_s_export_record_is_matched_to_the_import_of_the_same_parcel(
    service: Service, tmp_path: Path
) -> None:
    import datetime as dt

    from clearway.services.exports import parse_csv, store_exports

    document = example()["transport_document"]["id"]
    records = parse_csv(
        "transport_document_id,exporting_country,currency,hs_code,description,quantity,value\n"
        f"{document},CN,EUR,620610,silk blouse,1,60.00\n".encode(),
        "exports.csv",
    )
    store_exports(service.app, records, partner="GACC", source="csv", at=dt.datetime.now(dt.UTC))
    cid = registration(service.submit([parcel("EX1", "20.00")], key="a"))
    found = [r for r in reasons(service, cid) if r["code"].startswith("DET-EXPORT")]
    assert [r["message"] for r in found] == ["declared 20.0 EUR at import; 60.0 EUR at export from CN (GACC)"]
    with pytest.raises(InvalidInput, match="line 2: value 'lots' is not a decimal"):
        parse_csv(b"transport_document_id,exporting_country,currency,hs_code,description,quantity,value\n"
                  b"X1,CN,EUR,620610,silk,1,lots\n", "bad.csv")  # fmt: skip


def test_the_unit_value_history_reads_what_it_needs_and_leaves_out_a_body_of_another_shape() -> None:
    from clearway.services.history import _accepted_lines

    good = parcel("AB1", "12.50")
    good["seller"] = good["seller"] | {"identifiers": None}  # stored bodies spell out their nulls
    identified = parcel("AB2", "3.00")
    identified["seller"] = good["seller"] | {"identifiers": [{"scheme": "eori", "value": "CN123"}]}
    other = {"currency": "EUR", "items": "not a list"}  # stored before a change of shape
    lines = _accepted_lines([json.dumps(good), "{not json", json.dumps(other), json.dumps(identified)])
    assert lines.select("hs_code", "price", "seller_identifier").rows() == [
        ("620610", 12.5, None), ("620610", 3.0, "eori:CN123")
    ]  # fmt: skip
    assert lines["seller_name"].to_list() == [good["seller"]["name"]] * 2


def test_an_earlier_parcel_whose_body_is_gone_between_the_two_reads_is_left_out(service: Service) -> None:
    """History reads the rows it needs, then the bodies of those it keeps; on PostgreSQL (READ COMMITTED) a
    body can go in between. That parcel is then no history of the parcels kind: the batch is assessed."""
    import sqlalchemy as sa

    from clearway.store import tables as t

    first = registration(service.submit([korean("KR1")], key="a"))
    with service.app.store.engine.begin() as conn:
        conn.execute(t.consignment_versions.delete().where(t.consignment_versions.c.consignment_id == first))
        assert conn.execute(sa.select(t.consignments.c.id).where(t.consignments.c.id == first)).scalar() == first
    second = registration(service.submit([korean("KR2")], key="b"))
    read = service.client.get(f"/v1/consignments/{second}", headers=service.alpha).json()
    assert read["status"] != "assessment_failed" and read["assessment"]["totals"]["total"]


def test_the_words_history_teaches_count_each_seller_once(service: Service) -> None:
    """One filer's many accepted lines cannot teach the misclassification model its own words: a description
    declared under a chapter weighs as many sellers as declared it so, not as many lines."""
    import datetime as dt

    from clearway.services.history import gatherer

    one_seller = [parcel(f"W{i}", "12.00", "Cotton T-shirt men printed", "392690") for i in range(60)]
    many = []
    for i in range(3):
        doc = parcel(f"M{i}", "12.00", "Cotton T-shirt men printed", "610910")
        doc["seller"] = doc["seller"] | {"name": f"Seller number {i}", "identifiers": None}
        many.append(doc)
    registration(service.submit(one_seller + many, key="w"))
    texts = gatherer(service.app).unit_values(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))[2]
    counts = dict(zip(zip(texts["text"], texts["chapter"], strict=True), texts["n"], strict=True))
    assert counts[("cotton t shirt men printed", "39")] == 1
    assert counts[("cotton t shirt men printed", "61")] == 3


def test_a_store_upgraded_from_before_the_offences_were_marked_has_its_earlier_offences_on_record(
    service: Service,
) -> None:
    import sqlalchemy as sa
    from alembic import command

    from clearway.store import tables as t
    from clearway.store.migrate import alembic_config

    o = service.officer
    seized, found, clean = (registration(service.submit([medicine(r) | {"transport_document": tracked(r)}], key=r))
                            for r in ("MG1", "MG2", "MG3"))  # fmt: skip
    assert service.client.post(f"/v1/officer/consignments/{seized}/seize", json={"note": "x"}, headers=o).is_success
    for cid, outcome, findings in ((found, "infringement", [{"kind": "counterfeit"}]), (clean, "compliant", [])):
        assert service.client.post(
            f"/v1/officer/consignments/{cid}/inspections",
            headers=o,
            json={"method": "physical", "outcome": outcome, "findings": findings},
        ).is_success
    engine = service.app.store.engine

    def marked() -> list[tuple[str, str, str]]:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(sa.select(t.party_offences)))  # type: ignore[misc]

    before = marked()
    with engine.connect() as conn:  # every party of the seized and the infringing parcel, none of the compliant one
        p = t.party_keys.c
        parties = conn.execute(sa.select(p.consignment_id, p.role, p.key).where(p.consignment_id.in_([seized, found])))
        assert before == sorted(tuple(r) for r in parties) and len(before) >= 6
    command.downgrade(alembic_config(engine), "0015")
    command.upgrade(alembic_config(engine), "head")
    assert marked() == before
