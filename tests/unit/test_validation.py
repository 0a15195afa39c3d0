"""Validation of Consignment v1: every rule of the contract, all problems at once."""

from __future__ import annotations

from typing import Any

import pytest

from clearway.model import validate_raw
from tests.conftest import example


def codes(doc: Any) -> set[tuple[str, str]]:
    return {(f.path, f.code) for f in validate_raw(doc).errors}


def warning_codes(doc: Any) -> set[tuple[str, str]]:
    return {(f.path, f.code) for f in validate_raw(doc).warnings}


def test_the_contract_example_is_accepted(doc: dict[str, Any]) -> None:
    outcome = validate_raw(doc)
    assert outcome.errors == []
    assert outcome.accepted
    assert outcome.consignment is not None
    assert str(outcome.consignment.intrinsic_value) == "18.20"


def test_every_problem_is_reported_at_once(doc: dict[str, Any]) -> None:
    doc["channel"] = "air"
    del doc["currency"]
    doc["transport_document"]["id"] = "RR123456784CH"
    doc["items"][0]["unit_price"] = 7.5
    doc["items"][1]["hs_code"] = "999999"
    doc["consignee"]["address"]["country"] = "UK"
    outcome = validate_raw(doc)
    assert not outcome.accepted
    assert {(f.path, f.code) for f in outcome.errors} == {
        ("/channel", "schema.enum"),
        ("/currency", "schema.required"),
        ("/transport_document/id", "s10.check_digit"),
        ("/items/0/unit_price", "decimal.not_string"),
        ("/items/1/hs_code", "hs.unknown"),
        ("/consignee/address/country", "country.unknown"),
    }
    assert all(f.message for f in outcome.errors)
    assert outcome.reference == "MKT-2026-11-28-000431"


@pytest.mark.parametrize(
    "field",
    ["reference", "channel", "transport_document", "category", "seller", "consignee", "dispatch_country",
     "destination_country", "currency", "gross_mass_kg", "items"],
)  # fmt: skip
def test_mandatory_fields(field: str) -> None:
    assert ("/" + field, "schema.required") in codes(example(**{field: None}))


def test_optional_fields_may_be_absent_or_null() -> None:
    doc = example(shipping_cost=None, fiscal=None)
    doc["insurance"] = None
    assert validate_raw(doc).accepted


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (("reference",), "", "schema.length"),
        (("reference",), "x" * 65, "schema.length"),
        (("channel",), "rail", "schema.enum"),
        (("category",), "sale", "schema.enum"),
        (("transport_document", "type"), "awb", "schema.enum"),
        (("transport_document", "id"), "x" * 36, "schema.length"),
        (("dispatch_country",), "cn", "schema.pattern"),
        (("destination_country",), "XX", "country.unknown"),
        (("currency",), "EURO", "schema.pattern"),
        (("currency",), "EUD", "currency.unknown"),
        (("gross_mass_kg",), "0", "decimal.range"),
        (("gross_mass_kg",), "-1", "decimal.format"),
        (("shipping_cost",), "1e3", "decimal.format"),
        (("shipping_cost",), "2,99", "decimal.format"),
        (("shipping_cost",), 2.99, "decimal.not_string"),
        (("items", 0, "quantity"), 0, "schema.range"),
        (("items", 0, "quantity"), "2", "schema.type"),
        (("items", 0, "description"), "ab", "schema.length"),
        (("items", 0, "hs_code"), "6109", "schema.pattern"),
        (("items", 0, "hs_code"), "610900", "hs.unknown"),
        (("items", 0, "unit_price"), "-0.01", "decimal.format"),
        (("items", 0, "net_mass_kg"), "0.000", "decimal.range"),
        (("items", 0, "gtin"), "4006381333932", "gtin.invalid"),
        (("items", 0, "origin_country"), "ZZ", "country.unknown"),
        (("order", "order_date"), "20/11/2026", "date.format"),
        (("declared_at",), "2026-11-28T10:00:00", "date.offset"),
        (("fiscal", "id"), "IM9990000012", "ioss.invalid"),
        (("fiscal", "scheme"), "oss", "schema.enum"),
        (("fiscal",), {"scheme": "ca_gst", "id": "123456789RT0001"}, "ca_gst.invalid"),  # check digit
        (("fiscal",), {"scheme": "ca_gst", "id": "123456782"}, "ca_gst.invalid"),  # no GST/HST programme
        (("seller", "address", "country"), "CHN", "schema.pattern"),
        (("seller", "identifiers"), [{"scheme": "vat", "value": "DE136695978"}], "vat.invalid"),
        (("seller", "identifiers"), [{"scheme": "ioss", "value": "IM0000000000"}], "ioss.invalid"),
        (("seller", "identifiers"), [{"scheme": "passport", "value": "X"}], "schema.enum"),
        (("items",), [], "schema.length"),
    ],
)
def test_each_rule(path: tuple[str | int, ...], value: Any, code: str) -> None:
    doc: Any = example()
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    pointer = "/" + "/".join(str(p) for p in path)
    found = codes(doc)
    assert (pointer, code) in found or any(p.startswith(pointer) and c == code for p, c in found), found


def test_norway_s_voec_and_a_canadian_gst_registration_are_fiscal_schemes() -> None:
    assert validate_raw(example(fiscal={"scheme": "no_voec", "id": "2023456"})).accepted
    assert validate_raw(example(fiscal={"scheme": "ca_gst", "id": "123456782 RT0001"})).accepted


def test_too_many_items_is_refused() -> None:
    item = example()["items"][0]
    assert ("/items", "schema.length") in codes(example(items=[item] * 1000))
    assert validate_raw(example(items=[item] * 999)).accepted


def test_sale_of_goods_needs_order_hs_code_and_origin() -> None:
    doc = example(order=None)
    del doc["items"][0]["hs_code"]
    del doc["items"][1]["origin_country"]
    assert codes(doc) == {
        ("/order", "order.required"),
        ("/items/0/hs_code", "hs.required"),
        ("/items/1/origin_country", "origin.required"),
    }


def test_a_gift_needs_neither_order_nor_hs_code() -> None:
    doc = example(order=None, category="gift", fiscal=None)
    del doc["items"][0]["hs_code"]
    del doc["items"][0]["origin_country"]
    assert validate_raw(doc).accepted


def test_not_an_object() -> None:
    outcome = validate_raw(["not", "a", "consignment"])
    assert [(f.path, f.code) for f in outcome.errors] == [("", "schema.type")]


def test_wrong_types_deep_inside_are_pointed_at() -> None:
    doc = example()
    doc["seller"] = "Shenzhen"
    doc["items"][1] = 42
    assert {("/seller", "schema.type"), ("/items/1", "schema.type")} <= codes(doc)


def test_json_pointer_escapes_slash_and_tilde() -> None:
    doc = example()
    doc["seller"]["address"] = {"city": "X", "country": "CN", "a/b~c": 1}
    assert validate_raw(doc).accepted  # unknown nested fields are ignored
    from clearway.model.findings import pointer

    assert pointer("a/b~c", 0) == "/a~1b~0c/0"


class TestDataQualityWarnings:
    def test_the_clean_example_warns_only_about_missing_identifiers_and_contact(self) -> None:
        assert warning_codes(example()) == {
            ("/seller/identifiers", "quality.missing_identifier"),
            ("/consignee", "quality.missing_contact"),
        }

    @pytest.mark.parametrize("text", ["Gift", "spare parts", "Goods, items", "ACCESSORIES", "Geschenk", "cadeau"])
    def test_vague_descriptions_warn_but_do_not_reject(self, text: str) -> None:
        doc = example()
        doc["items"][0]["description"] = text
        assert validate_raw(doc).accepted
        assert ("/items/0/description", "quality.vague_description") in warning_codes(doc)

    @pytest.mark.parametrize(
        "text", ["Gift wrapping paper, 5 rolls", "Bicycle parts: brake pads", "Sample of cotton fabric"]
    )
    def test_precise_descriptions_with_a_vague_word_are_fine(self, text: str) -> None:
        doc = example()
        doc["items"][0]["description"] = text
        assert ("/items/0/description", "quality.vague_description") not in warning_codes(doc)

    @pytest.mark.parametrize("price", ["0", "1", "1.00"])
    def test_token_values(self, price: str) -> None:
        doc = example()
        doc["items"][1]["unit_price"] = price
        assert ("/items/1/unit_price", "quality.token_value") in warning_codes(doc)

    def test_round_totals(self) -> None:
        doc = example()
        doc["items"][0]["unit_price"] = "20"
        doc["items"][1]["unit_price"] = "10"
        assert ("/items", "quality.round_total") in warning_codes(doc)
        assert ("/items", "quality.round_total") not in warning_codes(example())

    def test_phone_not_in_e123(self) -> None:
        doc = example()
        doc["consignee"]["phone"] = "0221 1234567"
        assert ("/consignee/phone", "quality.phone_format") in warning_codes(doc)
        doc["consignee"]["phone"] = "+49 221 1234567"
        assert ("/consignee/phone", "quality.phone_format") not in warning_codes(doc)

    def test_branded_item_without_gtin(self) -> None:
        doc = example()
        doc["items"][0]["brand"] = "Acme"
        assert ("/items/0/gtin", "quality.missing_identifier") in warning_codes(doc)

    def test_unknown_fields_are_kept_and_flagged(self) -> None:
        doc = example()
        doc["incoterm"] = "DDP"
        outcome = validate_raw(doc)
        assert outcome.accepted
        assert ("/incoterm", "quality.unknown_field") in {(w.path, w.code) for w in outcome.warnings}


def test_an_absurd_quantity_is_judged_not_crashed_on() -> None:
    """Found by the API fuzzer: 10^23 units at 1,630 each overflowed the round-total check; since the
    contract's bounds (issue 17) such a line is rejected with the bound it breaks, and nothing raises."""
    doc = example()
    doc["items"][0] |= {"quantity": 320586858225399093966929920, "unit_price": "1630"}
    outcome = validate_raw(doc)  # raised decimal.InvalidOperation before
    assert outcome.consignment is None
    assert [(e.path, e.code) for e in outcome.errors] == [("/items/0/quantity", "schema.range")]
    assert "quality.round_total" not in {w.code for w in outcome.warnings}


V11 = {
    "packages": {"count": 2, "kind": "BX"},
    "place_of_acceptance": {"country": "CN", "unlocode": "CNSZX"},
    "place_of_delivery": {"country": "DE", "unlocode": "DEFRA", "city": "Frankfurt am Main"},
    "routing_countries": ["CN", "AE", "DE"],
    "conveyance": {"mode": "air", "reference": "LH401", "date": "2026-11-27"},
    "office_of_first_entry": "DE004852",
    "declarant": {"name": "Rhein Customs Services GmbH", "address": {"city": "Frankfurt", "country": "DE"}},
    "representative": {"identifiers": [{"scheme": "eori", "value": "DE123456789012345"}], "status": "indirect"},
    "upu": {"despatch": "CNBJSADEFRAAAUN51234", "receptacle": "CNBJSADEFRAAAUN51234001100125"},
    "supporting_documents": [{"type": "certificate", "id": "CITES-2026-0042", "issuer_country": "CN"}],
    "location_of_goods": {"type": "A", "qualifier": "U", "id": "DEFRAFRA"},
}


def test_the_v1_1_fields_are_optional_and_accepted_when_well_formed() -> None:
    doc = example() | V11
    doc["items"][0]["un_number"] = "UN3481"
    doc["order"]["payment_method"] = "cash_on_delivery"
    outcome = validate_raw(doc)
    assert outcome.accepted, outcome.errors
    assert outcome.consignment is not None and outcome.consignment.representative is not None
    assert outcome.consignment.representative.status == "indirect"  # an operator is named by its EORI alone
    assert not any(w.code == "quality.unknown_field" for w in outcome.warnings)


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        ({"routing_countries": ["CN", "XX"]}, "/routing_countries/1", "country.unknown"),
        (
            {"place_of_delivery": {"country": "DE", "unlocode": "FRPAR"}},
            "/place_of_delivery/unlocode",
            "unlocode.country",
        ),
        ({"office_of_first_entry": "XX004852"}, "/office_of_first_entry", "office.country"),
        ({"office_of_first_entry": "DE-04852"}, "/office_of_first_entry", "schema.pattern"),
        ({"conveyance": {"mode": "air", "reference": "LUFTHANSA 1"}}, "/conveyance/reference", "flight.format"),
        ({"upu": {"despatch": "CNBJSADEFRAAEUN51234"}}, "/upu/despatch", "s8.format"),  # mail category E
        ({"upu": {"despatch": "XXBJSADEFRAAAUN51234"}}, "/upu/despatch", "s8.format"),  # no such country
        (
            {"upu": {"despatch": "CNBJSADEFRAAAUN51234", "receptacle": "CNBJSADEFRAAAUN51299001100125"}},
            "/upu/receptacle",
            "s9.format",
        ),  # another despatch's receptacle
        (
            {"upu": {"despatch": "CNBJSADEFRAAAUN51234", "receptacle": "CNBJSADEFRAAAUN5123400110012X"}},
            "/upu/receptacle",
            "s9.format",
        ),  # the weight is digits
        ({"packages": {"count": 0}}, "/packages/count", "schema.range"),
        (
            {"location_of_goods": {"type": "E", "qualifier": "U", "id": "DEFRAFRA"}},
            "/location_of_goods/type",
            "schema.enum",
        ),
        ({"representative": {"name": "Broker"}}, "/representative/address", "schema.required"),
    ],
)
def test_each_v1_1_field_is_checked(change: dict[str, Any], path: str, code: str) -> None:
    assert (path, code) in codes(example() | change), codes(example() | change)


def test_an_unassigned_un_number_is_refused() -> None:
    doc = example()
    doc["items"][0]["un_number"] = "UN0000"
    assert ("/items/0/un_number", "un.unknown") in codes(doc)
    doc["items"][0]["un_number"] = "3480"
    assert ("/items/0/un_number", "schema.pattern") in codes(doc)
