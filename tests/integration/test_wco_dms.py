"""WCO Data Model 3.6 (DMS) import declarations in and out, over every sample in ../shared/data/wco-dms."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
from lxml import etree

from clearway.auth.clients import add_client
from clearway.interop.dms_declaration import read_declaration, write_declaration
from clearway.interop.dms_schemas import DmsSchemas
from clearway.model import validate_raw
from tests.conftest import example
from tests.integration.test_api import Service, registration, service_for, without_ioss
from tests.integration.test_cli import clearway

DMS = Path(__file__).parents[3] / "shared" / "data" / "wco-dms"
REASONS = ("a notification", "not an import declaration", "not an original declaration", "not well-formed XML",
           "not a DMS declaration", "the DMS schema refuses it")  # fmt: skip


@pytest.fixture(scope="module")
def schemas() -> DmsSchemas:
    if not (DMS / "schemas").is_dir():
        pytest.skip(f"the WCO DMS schemas and samples are not at {DMS} (see ../shared/data/wco-dms/SOURCE.md)")
    return DmsSchemas.load(DMS / "schemas")


def samples() -> list[Path]:
    return sorted(DMS.glob("samples/TT_IM*/**/*.xml"))


def test_every_sample_converts_or_is_refused_with_its_reason(schemas: DmsSchemas) -> None:
    outcome: Counter[str] = Counter()
    for path in samples():
        result = read_declaration(path.read_bytes(), schemas)
        if result.refused:
            assert result.refused.startswith(REASONS), (path, result.refused)
            outcome[result.refused.split(":")[0]] += 1
        else:
            assert result.consignment is not None and result.consignment["reference"]
            assert result.consignment["items"], path
            outcome["converted"] += 1
    assert outcome["converted"] >= 100 and sum(outcome.values()) == len(samples())
    assert outcome["a notification (WCO Response), not a declaration"] > 0  # notifications sit beside them


def test_a_declaration_maps_to_v1_and_keeps_what_v1_has_no_field_for(schemas: DmsSchemas) -> None:
    result = read_declaration((DMS / "samples/TT_IM001a/Step1_TT_IM001a.xml").read_bytes(), schemas)
    c = result.consignment
    assert c is not None
    assert (c["reference"], c["channel"], c["destination_country"]) == ("7847767E1WB6", "cargo", "GB")  # DE 2/5, 7/4
    assert c["seller"]["name"] == "US Clipper Inc." and c["seller"]["address"]["country"] == "US"  # DE 3/1
    [item] = c["items"]
    assert len(item["hs_code"]) == 10 and item["hs_code"].startswith("8510")  # DE 6/14 + 6/15
    kept = {e["path"]: e["value"] for e in result.extras}
    assert kept["Declaration/AuthorisationHolder[1]/ID"] == "GB553202734852"  # DE 3/39: no v1 field, kept
    assert c["packages"] == {"count": 50} and "Declaration/TotalPackageQuantity" not in kept  # DE 6/18
    assert "Declaration/FunctionalReferenceID" not in kept  # mapped, so not kept twice
    # a representative's declaration: the importer named by EORI alone and no order are warnings, not errors
    assert c["kind"] == "declaration"
    assert c["consignee"] == {"identifiers": [{"scheme": "eori", "value": "GB553202734852"}]}
    outcome = validate_raw(c)
    assert outcome.accepted, outcome.errors
    assert {(w.path, w.code) for w in outcome.warnings} >= {
        ("/order", "quality.order_missing"), ("/consignee/name", "quality.named_by_identifier"),
        ("/consignee/address", "quality.named_by_identifier")}  # fmt: skip
    as_filing = validate_raw(c | {"kind": "filing"})  # a platform's filing of the same data is refused
    assert {(e.path, e.code) for e in as_filing.errors} >= {
        ("/order", "order.required"),
        ("/consignee/name", "schema.required"),
        ("/consignee/address", "schema.required"),
    }


def test_most_schema_valid_declarations_register_and_the_rest_say_what_is_missing(schemas: DmsSchemas) -> None:
    accepted, refused = 0, Counter[str]()
    for path in samples():
        result = read_declaration(path.read_bytes(), schemas)
        if result.consignment is None:
            continue
        outcome = validate_raw(result.consignment)
        accepted += outcome.accepted
        refused.update(e.code for e in outcome.errors)
    assert accepted >= 70  # of 131 converted: the rest lack the price, currency, dispatch country ... to assess
    assert set(refused) <= {"schema.required", "hs.unknown", "country.unknown", "origin.required"}, refused


def test_round_trip_dms_v1_dms_keeps_every_mapped_element_and_validates(schemas: DmsSchemas) -> None:
    converted = 0
    for path in samples():
        first = read_declaration(path.read_bytes(), schemas)
        if first.consignment is None:
            continue
        written = write_declaration(first.consignment)
        assert not DmsSchemas.errors(schemas.declaration, etree.ElementTree(etree.fromstring(written))), path
        again = read_declaration(written, schemas)
        assert again.consignment == first.consignment, path
        converted += 1
    assert converted >= 100


def test_a_v1_consignment_goes_out_as_a_valid_declaration_and_comes_back(schemas: DmsSchemas) -> None:
    doc = validate_raw(example()).consignment
    assert doc is not None
    original = json.loads(json.dumps(example()))
    written = write_declaration(original)
    assert not DmsSchemas.errors(schemas.declaration, etree.ElementTree(etree.fromstring(written)))
    back = read_declaration(written, schemas).consignment
    assert back is not None
    assert back["items"][0]["hs_code"] == "610910"  # as declared: DE 6/14 is not padded to 8 digits here
    assert back["items"][0]["quantity"] == 2 and back["items"][0]["unit_price"] == "7.50"  # DE 6/2 in NAR
    assert b'<TariffQuantity unitCode="NAR">2</TariffQuantity>' in written
    assert back["transport_document"] == original["transport_document"]  # S10 via previous document 750
    assert back["consignee"]["name"] == original["consignee"]["name"]
    assert back["fiscal"] == original["fiscal"] == {"scheme": "ioss", "id": "IM2760000012"}  # DE 3/40, FR5
    assert b"<RoleCode>FR5</RoleCode>" in written  # the VAT paid at the sale is not charged again at import


def test_a_declaration_the_schema_refuses_names_path_and_line(schemas: DmsSchemas, tmp_path: Path) -> None:
    text = (DMS / "samples/TT_IM001a/Step1_TT_IM001a.xml").read_text(encoding="utf-8")
    broken = text.replace("<GoodsItemQuantity>1</GoodsItemQuantity>", "<GoodsItemQuantity>one</GoodsItemQuantity>")
    result = read_declaration(broken.encode(), schemas)
    assert result.refused == "the DMS schema refuses it (1 errors)"
    [error] = result.schema_errors
    assert error.line > 1 and "GoodsItemQuantity" in error.message and error.path.startswith("/md:MetaData")
    path = tmp_path / "broken.xml"
    path.write_text(broken, encoding="utf-8")
    cli = clearway("convert", str(path), "--from", "wco-dms", "--to", "consignment-v1", "--schemas",
                   str(DMS / "schemas"), home=tmp_path, check=False)  # fmt: skip
    assert cli.returncode == 1 and "GoodsItemQuantity" in cli.stderr and f"line {error.line}" in cli.stderr
    garbage = read_declaration(b"<MetaData><unclosed>", schemas)
    assert garbage.refused is not None and garbage.refused.startswith("not well-formed XML: line 1")


def test_convert_command_prints_v1_with_what_was_kept(schemas: DmsSchemas, tmp_path: Path) -> None:
    sample = DMS / "samples/TT_IM083a/Step1_TT_IM083a.xml"
    out = json.loads(clearway("convert", str(sample), "--from", "wco-dms", "--to", "consignment-v1", "--schemas",
                              str(DMS / "schemas"), home=tmp_path).stdout)  # fmt: skip
    assert out["consignment"]["currency"] == "GBP" and len(out["consignment"]["items"]) == 3
    assert out["kept"] and all({"path", "value"} == set(k) for k in out["kept"])
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps(example()))
    xml = clearway("convert", str(v1), "--from", "consignment-v1", "--to", "wco-dms", "--schemas",
                   str(DMS / "schemas"), home=tmp_path).stdout  # fmt: skip
    assert "<FunctionalReferenceID>MKT-2026-11-28-000431</FunctionalReferenceID>" in xml


def test_decisions_go_out_as_notifications_that_validate(schemas: DmsSchemas) -> None:
    from clearway.interop.dms_notifications import FUNCTION, notification
    from clearway.revenue import assess

    consignment = validate_raw(example()).consignment
    assert consignment is not None
    assessment = json.loads(msgspec.json.encode(assess(consignment, dt.date(2026, 11, 28))))
    at = dt.datetime(2026, 11, 28, 10, 30, tzinfo=dt.UTC)
    common = {"reference": "MKT-1", "registration_id": "abc123", "version": 1, "issued_at": at}
    for kind in FUNCTION:
        xml = notification(
            kind, notification_id=f"n-{kind}", **common,
            errors=[{"path": "/items/0/hs_code", "code": "hs.unknown", "message": "no such subheading"}]
            if kind == "rejected" else (),
            lane="red" if kind == "routed" else None, assessment=assessment if kind == "tax" else None,
        )  # fmt: skip
        document = etree.ElementTree(etree.fromstring(xml))
        assert DmsSchemas.errors(schemas.response, document) == [], kind
        text = xml.decode()
        assert f"<FunctionCode>{FUNCTION[kind]}</FunctionCode>" in text
        assert '<ds:DateTimeString formatCode="304">20261128103000Z</ds:DateTimeString>' in text
    tax = notification("tax", notification_id="n", **common, assessment=assessment).decode()
    assert tax.count("<TypeCode>A00</TypeCode>") == len(assessment["lines"])  # duty per item, then import VAT
    rejected = notification("rejected", notification_id="n", **common,
                            errors=[{"path": "/x", "code": "hs.unknown", "message": "m"}]).decode()  # fmt: skip
    assert "<Description>/x: hs.unknown: m</Description>" in rejected  # pointer, code and message, whole


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path, dms_schemas=DMS / "schemas", cookie_secure=False)


@pytest.fixture
def plain_service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path)


def test_the_api_takes_a_dms_declaration_and_keeps_it_as_sent(schemas: DmsSchemas, service: Service) -> None:
    # a gift: DMS carries no order data, which v1 asks of a sale (docs/wco-dms.md)
    xml = write_declaration(json.loads(json.dumps(example(reference="DMS-1", category="gift", order=None))))
    broken = xml.replace(b"<GoodsItemQuantity>2</GoodsItemQuantity>", b"<GoodsItemQuantity>two</GoodsItemQuantity>")
    headers = service.alpha | {"Content-Type": "application/xml", "Idempotency-Key": "x1"}
    answer = service.client.post("/v1/consignments", content=xml, headers=headers)
    service.runtime.submissions.drain()
    [result] = answer.json()["results"]
    assert answer.status_code == 201 and result["outcome"] == "registered", answer.json()
    accepted = etree.ElementTree(etree.fromstring(result["dms"].encode()))  # answered in DMS too
    assert DmsSchemas.errors(schemas.response, accepted) == [] and "<FunctionCode>01</FunctionCode>" in result["dms"]
    read = service.client.get(f"/v1/consignments/{result['registration_id']}", headers=service.alpha).json()
    assert read["consignment"]["reference"] == "DMS-1" and read["consignment"]["items"][0]["quantity"] == 2
    refused = service.client.post("/v1/consignments", content=broken, headers=headers | {"Idempotency-Key": "x2"})
    [bad] = refused.json()["results"]
    assert bad["errors"][0]["code"] == "dms.schema" and bad["errors"][0]["message"].startswith("line ")
    assert "GoodsItemQuantity" in bad["errors"][0]["message"]
    assert "<FunctionCode>03</FunctionCode>" in bad["dms"] and "dms.schema: line" in bad["dms"]
    with service.app.store.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT raw FROM submissions WHERE accepted = :no"), {"no": False}).scalar_one()
    assert bytes(kept) == broken  # what was sent is kept, byte for byte


def test_a_representative_s_declaration_registers_and_is_assessed(schemas: DmsSchemas, service: Service) -> None:
    # HMRC's sample TT_IM001a: an importer named by EORI, no platform order; as sent to the API
    xml = (DMS / "samples/TT_IM001a/Step1_TT_IM001a.xml").read_bytes()
    headers = service.beta | {"Content-Type": "application/xml", "Idempotency-Key": "rep-1"}
    answer = service.client.post("/v1/consignments", content=xml, headers=headers)
    service.runtime.submissions.drain()
    [result] = answer.json()["results"]
    assert answer.status_code == 201 and result["outcome"] == "registered", answer.json()
    assert "quality.order_missing" in {w["code"] for w in result["warnings"]}
    read = service.client.get(f"/v1/consignments/{result['registration_id']}", headers=service.beta).json()
    assert read["consignment"]["kind"] == "declaration" and read["status"] != "registered"
    assert read["assessment"]["currency"] == "GBP" and read["assessment"]["jurisdiction"] == "GB"
    officer = add_client(service.app.store.engine, "officer-dms", "officer")  # the case page, signed in
    service.client.get("/ui/login")
    service.client.headers["x-csrftoken"] = service.client.cookies["csrftoken"]
    form = {"client_id": officer["client_id"], "client_secret": officer["client_secret"]}
    service.client.post("/ui/login", data=form)
    page = service.client.get(f"/ui/consignments/{result['registration_id']}")
    assert page.status_code == 200 and "EORI GB553202734852" in page.text and "Customs declaration" in page.text


def test_without_schemas_the_api_says_it_takes_no_dms(plain_service: Service) -> None:
    service = plain_service
    headers = service.alpha | {"Content-Type": "application/xml", "Idempotency-Key": "x1"}
    answer = service.client.post("/v1/consignments", content=b"<x/>", headers=headers)
    assert answer.status_code == 422 and "DMS schemas are not configured" in answer.json()["detail"]


def test_a_submitter_reads_its_lifecycle_as_dms_notifications(schemas: DmsSchemas, service: Service) -> None:
    cid = registration(service.submit([without_ioss("N1", channel="express")]))
    found = service.client.get(f"/v1/consignments/{cid}/notifications", headers=service.alpha).json()
    status = service.client.get(f"/v1/consignments/{cid}", headers=service.alpha).json()["status"]
    # an express parcel is released at once, unless random selection (0.5%) holds it for a control
    expected = {"released": ["accepted", "tax", "cleared"], "held": ["accepted", "tax", "control"]}[status]
    assert [n["notification"] for n in found] == expected
    for n in found:
        document = etree.ElementTree(etree.fromstring(n["xml"].encode()))
        assert DmsSchemas.errors(schemas.response, document) == []
    assert f"<ID>{cid}</ID>" in found[0]["xml"] and "<TypeCode>A00</TypeCode>" in found[1]["xml"]
    other = service.client.get(f"/v1/consignments/{cid}/notifications", headers=service.beta)
    assert other.status_code == 404  # another tenant's consignment does not exist for it


def test_a_partner_s_dms_export_declaration_becomes_an_export_record(schemas: DmsSchemas, tmp_path: Path) -> None:
    from clearway.errors import InvalidInput
    from clearway.services.exports import parse_dms

    xml = write_declaration(json.loads(json.dumps(example())))
    export = xml.replace(b"<TypeCode>IMD</TypeCode>", b"<TypeCode>EXD</TypeCode>")
    record = parse_dms(export, schemas, "export.xml")
    assert (record.transport_document_id, record.exporting_country, record.currency) == ("RR123456785CN", "CN", "EUR")
    assert str(record.value) == "18.20" and [g["hs_code"] for g in record.goods] == ["610910", "392690"]
    with pytest.raises(InvalidInput, match="not an export declaration: type code IMD"):
        parse_dms(xml, schemas, "import.xml")
    path = tmp_path / "export.xml"
    path.write_bytes(export)
    loaded = clearway("exports", "load", str(path), "--partner", "GACC", "--schemas", str(DMS / "schemas"),
                      home=tmp_path / "home")  # fmt: skip
    assert "1 export records of GACC kept" in loaded.stdout


def test_co_declarations_for_special_fiscal_territories_convert_with_their_type_kept(schemas: DmsSchemas) -> None:
    for name in ("TT_IM056a/TT_IM056a.xml", "TT_IM072a/TT_IM072a.xml"):
        result = read_declaration((DMS / "samples" / name).read_bytes(), schemas)
        assert result.refused is None and result.consignment is not None, (name, result.refused)
        assert result.type_code is not None and result.type_code.startswith("CO")
        assert any(n.startswith(f"declaration type {result.type_code} (DE 1/1)") for n in result.notes)
    amendment = read_declaration((DMS / "samples/TT_IM056a/TT_IM056a.xml").read_bytes().replace(
        b"<TypeCode>COA</TypeCode>", b"<TypeCode>COR</TypeCode>").replace(
        b"<TypeCode>COJ</TypeCode>", b"<TypeCode>COR</TypeCode>"), schemas)  # fmt: skip
    assert amendment.refused is not None and "amendment request" in amendment.refused


def test_what_a_declaration_cannot_carry_is_said_never_dropped_silently() -> None:
    from clearway.interop.dms_declaration import not_carried

    notes = not_carried(example() | {"fiscal": {"scheme": "uk_vat", "id": "GB123456789"}})
    assert "order: no element in the DMS declaration written" in notes
    assert not any(n.startswith("fiscal") for n in notes)  # as DE 2/2 FISCALREF, since DE 3/40 has no role for it
    assert not any(n.startswith("fiscal") for n in not_carried(example()))  # IOSS travels as FR5
    assert not any(n.startswith(("reference", "items/0/hs_code", "consignee")) for n in not_carried(example()))


def test_the_conformance_table_in_the_docs_is_what_the_samples_give(schemas: DmsSchemas) -> None:
    from clearway.interop.dms_conformance import END, START, check, markdown

    paths = sorted((DMS / "samples").rglob("*.xml"))
    rows = check([(p.relative_to(DMS / "samples").as_posix(), p.read_bytes()) for p in paths], schemas)
    committed = (Path(__file__).parents[2] / "docs" / "wco-dms.md").read_text(encoding="utf-8")
    section = committed[committed.index(START) : committed.index(END) + len(END)] + "\n"
    assert section == markdown(rows), "docs/wco-dms.md is stale: run `clearway conformance ... --write docs/wco-dms.md`"
    # every sample the schemas accept converts; a refusal says which of the reasons, never a bare failure
    assert all(r.outcome != "refused" or r.detail.startswith(REASONS) for r in rows)
    assert not any(r.detail.startswith("the DMS schema refuses it") for r in rows)
