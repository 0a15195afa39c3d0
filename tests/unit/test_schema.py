"""The committed JSON Schema is the one the model generates, and it describes the contract."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from clearway.cli import schema_json
from tests.conftest import example

COMMITTED = Path(__file__).parents[2] / "docs" / "consignment-v1.schema.json"


def test_committed_schema_matches_the_model() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_json(), (
        "docs/consignment-v1.schema.json is stale: run `clearway schema > docs/consignment-v1.schema.json`"
    )


def test_the_contract_example_validates_against_the_schema() -> None:
    jsonschema.validate(example(), json.loads(schema_json()))


def test_the_schema_keeps_the_contract_field_names() -> None:
    schema = json.loads(schema_json())
    consignment = schema["$defs"]["Consignment"]
    assert set(consignment["required"]) == {
        "reference", "channel", "transport_document", "category", "seller", "consignee",
        "dispatch_country", "destination_country", "currency", "gross_mass_kg", "items",
    }  # fmt: skip
    assert consignment["properties"]["shipping_cost"]["anyOf"][0]["type"] == "string"  # money is a decimal string
