"""Random and malformed input never crashes a reader: every record comes back as a structured outcome."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearway.intake import read_bytes
from clearway.model import validate_raw
from tests.conftest import EXAMPLE

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def _check(outcomes: list[Any]) -> None:
    for item in outcomes:
        o = item.outcome
        assert o.accepted == (o.consignment is not None)
        assert o.accepted or o.errors, "a rejection always says why"
        for finding in o.errors + o.warnings:
            assert finding.path == "" or finding.path.startswith("/")
            assert finding.code and finding.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_in_every_format(data: bytes) -> None:
    for fmt in ("json", "ndjson", "csv"):
        _check(list(read_bytes(data, fmt)))


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_random_json_values(value: Any) -> None:
    outcome = validate_raw(value)
    assert not outcome.accepted or isinstance(value, dict)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            out += _paths(child, (*prefix, index))
    return out


PATHS = _paths(EXAMPLE)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATHS), json_values)
def test_one_field_replaced_by_anything(path: tuple[Any, ...], value: Any) -> None:
    doc: Any = copy.deepcopy(EXAMPLE)
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    [item] = read_bytes(msgspec.json.encode(doc), "ndjson")
    _check([item])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", ",", '"', "\n", "reference", "item.quantity", "x,y", "\r\n", "é"]), max_size=60))
def test_csv_shaped_noise(parts: list[str]) -> None:
    _check(list(read_bytes("".join(parts).encode(), "csv")))
