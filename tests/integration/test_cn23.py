"""UPU CN22/CN23 postal declarations, box by box, in and out of Consignment v1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clearway.interop.cn23 import from_consignment, not_carried, read_csv, to_consignment, write_csv
from clearway.model import validate_raw
from tests.conftest import example

# A CN23 as a post's system holds it: boxes 1-6 per content line, 7-10 for the item (UPU Convention, CN 23).
FORM: dict[str, Any] = {
    "form": "CN23",
    "item_id": "RR123456785CN",  # the UPU S10 item id on the barcode
    "sender": {"name": "Shenzhen Bright Trading Co.", "city": "Shenzhen", "country": "CN"},
    "addressee": {"name": "Anna Schmidt", "street": "Hauptstr. 5", "postcode": "50667", "city": "Köln",
                  "country": "DE", "email": "anna@example.com"},
    "contents": [
        {"description": "Cotton T-shirt, men", "quantity": 2, "net_weight_kg": "0.30", "value": "15.00",
         "hs_tariff_number": "610910", "origin_country": "CN"},
        {"description": "Phone case, silicone", "quantity": 1, "net_weight_kg": "0.05", "value": "3.20",
         "hs_tariff_number": "392690", "origin_country": "CN"},
    ],
    "total_gross_weight_kg": "0.42", "total_value": "18.20", "currency": "EUR", "postal_charges": "2.99",
    "category": "sale_of_goods",
    "order_platform": "example-market", "order_id": "A-99812", "order_date": "2026-11-20",
}  # fmt: skip


def test_a_cn23_maps_box_by_box_to_a_valid_consignment() -> None:
    doc = to_consignment(FORM)
    outcome = validate_raw(doc)
    assert outcome.errors == [], outcome.errors
    c = outcome.consignment
    assert c is not None
    assert (c.transport_document.type, c.transport_document.id) == ("s10", "RR123456785CN")  # S10 check digit
    assert c.channel == "post" and c.category == "sale_of_goods" and c.currency == "EUR"
    assert [(i.quantity, str(i.unit_price)) for i in c.items] == [(2, "7.50"), (1, "3.20")]  # box 4 / box 2
    assert str(c.gross_mass_kg) == "0.42" and str(c.shipping_cost) == "2.99"  # boxes 7 and 9
    assert c.consignee.email == "anna@example.com" and c.seller.address.country == "CN"


def test_a_form_without_its_order_is_named_by_the_contract() -> None:
    no_order = {k: v for k, v in FORM.items() if not k.startswith("order")}
    assert [e.code for e in validate_raw(to_consignment(no_order)).errors] == ["order.required"]
    a_gift = no_order | {"category": "gift"}
    assert validate_raw(to_consignment(a_gift)).errors == []


def test_a_consignment_goes_out_as_a_cn23_and_comes_back() -> None:
    original = example()
    form = from_consignment(original)
    assert form["item_id"] == "RR123456785CN" and form["category"] == "sale_of_goods"
    assert [line["value"] for line in form["contents"]] == ["15.00", "3.20"]  # box 4: the line's value
    assert form["total_value"] == "18.20"
    back = to_consignment(form)
    for field in ("reference", "channel", "transport_document", "category", "currency", "gross_mass_kg", "order"):
        assert back[field] == original[field], field
    assert [(i["quantity"], i["unit_price"]) for i in back["items"]] == [(2, "7.50"), (1, "3.20")]
    assert form["importer_reference"] == "IM2760000012" and back["fiscal"] == original["fiscal"]  # not twice
    uk = to_consignment(from_consignment(example(fiscal={"scheme": "uk_vat", "id": "GB123456789"})))
    assert uk["fiscal"] == {"scheme": "uk_vat", "id": "GB123456789"}
    assert to_consignment(FORM | {"importer_reference": "IM2760000023"})["fiscal"]["scheme"] == "ioss"
    assert "fiscal" not in to_consignment(FORM | {"importer_reference": "DE123"})  # not a fiscal reference
    assert not_carried(original) == []  # the contract's example goes whole
    lost = not_carried(example(insurance="1.00", consignor={"name": "X Ltd", "address": {"country": "CN"}}))
    assert "insurance: no box on the CN23" in lost and any(n.startswith("seller: the sender box") for n in lost)


def test_csv_has_a_row_per_content_line_and_groups_by_item_id() -> None:
    other = FORM | {"item_id": "RR000000000CN", "contents": FORM["contents"][:1]}
    text = write_csv([FORM, other])
    lines = text.splitlines()
    assert lines[0].startswith("item_id,form,reference,sender_name") and len(lines) == 4  # header + 2 + 1
    assert "box1_description" in lines[0] and "box10_category" in lines[0]
    forms = list(read_csv(text))
    assert [f["item_id"] for f in forms] == ["RR123456785CN", "RR000000000CN"]
    assert to_consignment(forms[0]) == to_consignment(FORM)


def test_convert_command_reads_and_writes_cn23(tmp_path: Path) -> None:
    from tests.integration.test_cli import clearway

    source = tmp_path / "forms.csv"
    source.write_text(write_csv([FORM]), encoding="utf-8")
    converted = json.loads(clearway("convert", str(source), "--from", "cn23", "--to", "consignment-v1",
                                    home=tmp_path).stdout)  # fmt: skip
    assert converted["contract_errors"] == [] and converted["consignment"]["reference"] == "RR123456785CN"
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps(example()), encoding="utf-8")
    csv_out = clearway("convert", str(v1), "--from", "consignment-v1", "--to", "cn23", "--format", "csv",
                       home=tmp_path).stdout  # fmt: skip
    assert csv_out.count("RR123456785CN") == 2  # one row per content line
