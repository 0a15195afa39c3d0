"""Nothing lost silently between formats: simulated days go v1 -> DMS -> v1 and v1 -> CN23 -> v1, and every
field of the original either comes back equal or is named in the converter's notes of what it cannot carry."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearway.interop import cn23
from clearway.interop import dms_declaration as dms
from clearway.interop.dms_schemas import DmsSchemas
from clearway.model import validate_raw
from clearway.model.consignment import FiscalScheme
from clearway.sim import simulate
from tests.conftest import example

DMS = Path(__file__).parents[3] / "shared" / "data" / "wco-dms"
Doc = dict[str, Any]


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, f"{path}/{key}" if path else key)
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield from _leaves(inner, f"{path}/{n}")
    elif value is not None:
        yield path, value


def _at(doc: Any, path: str) -> Any:
    for key in path.split("/"):
        if isinstance(doc, list):
            doc = doc[int(key)] if int(key) < len(doc) else None
        elif isinstance(doc, dict):
            doc = doc.get(key)
        else:
            return None
    return doc


def _equal(a: Any, b: Any) -> bool:
    """Equal, or the same number written differently ("0.730" and "0.73": each format states numbers its way)."""
    if a == b:
        return True
    try:
        return isinstance(a, str | int) and isinstance(b, str | int) and Decimal(str(a)) == Decimal(str(b))
    except InvalidOperation:
        return False


def lost(original: Doc, back: Doc, notes: list[str]) -> list[tuple[str, Any, Any]]:
    """Each field of `original` that did not come back equal and that no note names (a note starts with the
    path of what it excuses, `items/0/brand: ...`)."""
    named = [note.split(":", 1)[0] for note in notes]
    return [
        (path, value, _at(back, path))
        for path, value in _leaves(original)
        if not any(path == n or path.startswith(n + "/") for n in named) and not _equal(value, _at(back, path))
    ]


def filings(seed: int, count: int = 120) -> list[Doc]:
    """A simulated day's filings that the contract accepts (the simulator also sends broken ones)."""
    docs = []
    for record in simulate(count, seed, dt.date(2026, 11, 20)).records:
        try:
            doc = json.loads(record.line)
        except ValueError:
            continue
        if isinstance(doc, dict) and validate_raw(doc).consignment is not None:
            docs.append(doc)
    return docs


def check(seed: int, through: Callable[[Doc], Doc], notes: Callable[[Doc], list[str]], post_only: bool) -> int:
    checked = 0
    for doc in filings(seed):
        if post_only and doc.get("channel") != "post":
            continue
        assert lost(doc, through(doc), notes(doc)) == [], doc.get("reference")
        checked += 1
    return checked


@pytest.fixture(scope="module")
def schemas() -> DmsSchemas:
    if not (DMS / "schemas").is_dir():
        pytest.skip(f"the WCO DMS schemas are not at {DMS} (see ../shared/data/wco-dms/SOURCE.md)")
    return DmsSchemas.load(DMS / "schemas")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_a_simulated_day_goes_through_dms_and_back_losing_nothing_unsaid(schemas: DmsSchemas, seed: int) -> None:
    def through(doc: Doc) -> Doc:
        written = dms.write_declaration(doc)
        back = dms.read_declaration(written, schemas)
        assert back.consignment is not None, back.refused or back.schema_errors
        return back.consignment

    assert check(seed, through, dms.not_carried, post_only=False) > 50


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_a_simulated_day_s_postal_items_go_through_cn23_and_back_losing_nothing_unsaid(seed: int) -> None:
    assert check(seed, lambda d: cn23.to_consignment(cn23.from_consignment(d)), cn23.not_carried, post_only=True) > 5


def test_every_fiscal_scheme_survives_both_conversions(schemas: DmsSchemas) -> None:
    for scheme in get_args(FiscalScheme):
        doc = example(fiscal={"scheme": scheme, "id": f"{scheme.upper()}-123456"})
        back = dms.read_declaration(dms.write_declaration(doc), schemas).consignment
        assert back is not None and back["fiscal"] == doc["fiscal"], scheme
        assert cn23.to_consignment(cn23.from_consignment(doc))["fiscal"] == doc["fiscal"], scheme


def test_the_comparison_itself_sees_a_field_that_went_missing() -> None:
    doc = example()
    back = json.loads(json.dumps(doc))
    back["items"][0]["origin_country"] = "VN"
    del back["seller"]["address"]["city"]
    assert [p for p, _, _ in lost(doc, back, [])] == ["seller/address/city", "items/0/origin_country"]
    assert lost(doc, back, ["seller/address: why", "items/0/origin_country: why"]) == []
    assert lost({"gross_mass_kg": "0.730"}, {"gross_mass_kg": "0.73"}, []) == []
