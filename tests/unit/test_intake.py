"""Intake: JSON, NDJSON and CSV readers; a broken record rejects only itself."""

from __future__ import annotations

import json

import msgspec

from clearway.intake import read_bytes
from tests.conftest import example


def _ndjson(*docs: object) -> bytes:
    return b"\n".join(d if isinstance(d, bytes) else msgspec.json.encode(d) for d in docs) + b"\n"


def test_json_single_object_and_list() -> None:
    [one] = read_bytes(json.dumps(example()).encode(), "json")
    assert one.outcome.accepted and one.line == 1
    many = list(
        read_bytes(json.dumps([example(reference="A"), example(reference="B", currency="EUD")]).encode(), "json")
    )
    assert [(m.outcome.reference, m.outcome.accepted) for m in many] == [("A", True), ("B", False)]


def test_broken_json_document_is_one_rejection_with_its_line() -> None:
    data = b'{\n  "reference": "R-1",\n  "channel": "post",\n  oops\n}'
    [only] = read_bytes(data, "json")
    assert not only.outcome.accepted
    assert only.line == 4
    assert only.outcome.errors[0].code == "json.malformed"
    assert only.outcome.reference == "R-1"  # sniffed, so the submitter can find it
    assert only.raw == data  # kept as sent


def test_ndjson_broken_line_rejects_only_that_consignment() -> None:
    data = _ndjson(example(reference="A"), b'{"reference": "B", "channel": ', b"", example(reference="C"))
    results = list(read_bytes(data, "ndjson"))
    assert [(r.line, r.outcome.reference, r.outcome.accepted) for r in results] == [
        (1, "A", True),
        (2, "B", False),
        (4, "C", True),
    ]
    assert results[1].outcome.errors[0].code == "json.malformed"
    assert "line 2" in results[1].outcome.errors[0].message


CSV_HEADER = (
    "reference,channel,transport_document.type,transport_document.id,category,order.platform,order.order_id,"
    "order.order_date,seller.name,seller.address.city,seller.address.country,seller.identifiers,consignee.name,"
    "consignee.address.city,consignee.address.country,dispatch_country,destination_country,currency,"
    "gross_mass_kg,item.description,item.hs_code,item.quantity,item.unit_price,item.origin_country\n"
)
ROW = (
    "{ref},post,s10,RR123456785CN,sale_of_goods,mkt,O-1,2026-11-20,Shenzhen Bright,Shenzhen,CN,"
    "vat:DE136695976,Anna Schmidt,Köln,DE,CN,DE,EUR,0.42,{desc},{hs},{qty},{price},CN\n"
)


def _row(ref: str, desc: str = "Cotton T-shirt", hs: str = "610910", qty: str = "2", price: str = "7.50") -> str:
    return ROW.format(ref=ref, desc=desc, hs=hs, qty=qty, price=price)


def test_csv_rows_group_into_consignments_by_reference() -> None:
    data = (
        CSV_HEADER
        + _row("A")
        + _row("B", "Phone case", "392690", "1", "3.20")
        + _row("A", "Socks", "611595", "3", "2.00")
    ).encode()
    results = {r.outcome.reference: r for r in read_bytes(data, "csv")}
    a = results["A"].outcome.consignment
    assert a is not None
    assert [i.description for i in a.items] == ["Cotton T-shirt", "Socks"]
    assert a.items[1].quantity == 3
    assert a.seller.identifiers is not None and a.seller.identifiers[0].value == "DE136695976"
    assert results["A"].line == 2
    assert results["B"].outcome.accepted


def test_csv_row_with_wrong_cell_count_rejects_its_consignment_with_the_line() -> None:
    data = (CSV_HEADER + _row("A") + _row("B").replace(",CN\n", ",CN,extra\n") + _row("C")).encode()
    results = {r.outcome.reference: r.outcome for r in read_bytes(data, "csv")}
    assert results["A"].accepted and results["C"].accepted
    assert not results["B"].accepted
    assert results["B"].errors[0].code == "csv.columns"
    assert "line 3" in results["B"].errors[0].message


def test_csv_rows_that_contradict_their_consignment_are_reported() -> None:
    data = (CSV_HEADER + _row("A") + _row("A").replace("Anna Schmidt", "Max Mustermann")).encode()
    [result] = read_bytes(data, "csv")
    assert not result.outcome.accepted
    assert [(e.path, e.code) for e in result.outcome.errors] == [("/consignee/name", "csv.inconsistent")]


def test_csv_validation_errors_point_into_the_consignment() -> None:
    data = (CSV_HEADER + _row("A", qty="two") + _row("A", hs="999999")).encode()
    [result] = read_bytes(data, "csv")
    assert {(e.path, e.code) for e in result.outcome.errors} == {
        ("/items/0/quantity", "schema.type"),
        ("/items/1/hs_code", "hs.unknown"),
    }


def test_csv_without_reference_column() -> None:
    [result] = read_bytes(b"channel,currency\npost,EUR\n", "csv")
    assert result.outcome.errors[0].code == "csv.header"
