"""Hostile input on every route and parameter, on SQLite and PostgreSQL: nothing may answer a 500.

Hypothesis draws a route of the running application (its own route table, so a new route is attacked as
soon as it exists), fills its path parameters, query and body with values that fit a contract's shape
but not its sense: NUL and other control characters, lone surrogates, bytes that are not UTF-8, numbers
past every integer and decimal type, dates at the ends of the calendar, deep nesting, huge strings.
A second property mutates one field of a valid consignment and files it: the one consignment is refused
with its errors, and the service keeps answering.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import example
from tests.integration.clients import bearer
from tests.integration.test_api import Service, service_for

EXAMPLES = int(os.environ.get("CLEARWAY_HOSTILE_EXAMPLES", "250"))
DERANDOMIZE = "CLEARWAY_HOSTILE_EXAMPLES" not in os.environ
"""CI draws the same examples every run (a red build means a regression, never a new draw); set
CLEARWAY_HOSTILE_EXAMPLES to explore fresh random examples, as many as it says."""
HOSTILE_TEXT = [
    "\x00", "a\x00b", "\x01\x02\x1f", "\u202e\u200b", "\ufeff", "%00", "%ff%fe", "../../etc/passwd", "' OR 1=1 --",
    "\\u0000", "NaN", "Infinity", "-0", "1e309", "9" * 40, "0001-01-01", "9999-12-31T23:59:59+14:00",
    "2026-02-30", "x" * 5000, "💥" * 300, "null", "[]", "{}", " ", "",
]  # fmt: skip
HOSTILE_NUMBERS = [2**63, -(2**63) - 1, 10**30, -1, 0, 1.5, 1e308, -1e308, 2**64]


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


leaves = st.one_of(
    st.sampled_from(HOSTILE_TEXT), st.sampled_from(HOSTILE_NUMBERS), st.booleans(), st.none(), st.text(max_size=40)
)
json_values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["note", "lane", "text", "url", "x"]), inner)
    ),
    max_leaves=12,
) | st.just(_deep(400))  # deeper still comes as raw bytes below
path_text = st.one_of(st.sampled_from(HOSTILE_TEXT).filter(bool), st.text(min_size=1, max_size=30))
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"\xff\xfe\xfd", b'{"note": "\xff"}', b"\x00\x00", b"[" * 60000, b'{"a":' * 5000]),
)


@pytest.fixture
def attacked(database_url: str, tmp_path: Path) -> Iterator[Service]:
    for s in service_for(database_url, tmp_path, cookie_secure=False, rate_per_second=1e6, consignment_rate=1e6):
        s.submit([example(reference="HOST-1")])  # something for ids to find
        s.client.get("/ui/login")
        s.client.headers["x-csrftoken"] = s.client.cookies["csrftoken"]
        yield s


def _routes(s: Service) -> list[tuple[str, str]]:
    found = []
    for route in s.client.app.routes:  # type: ignore[attr-defined]
        for method in sorted(getattr(route, "methods", ())):
            if method in ("HEAD", "OPTIONS") or route.path.startswith("/schema"):
                continue
            found.append((method, route.path))
    return found


PARTNERS: dict[int, dict[str, str]] = {}


def _headers(s: Service, path: str) -> dict[str, str]:
    if path.startswith(("/v1/officer", "/metrics", "/v1/quality")):
        return s.officer
    if path.startswith("/v1/manifests"):
        return s.beta  # a carrier files and arrives manifests
    if path.startswith(("/v1/alerts", "/v1/aeo", "/v1/exports")):
        if id(s) not in PARTNERS:
            PARTNERS[id(s)] = bearer(s.app, "office-b", "partner")
        return PARTNERS[id(s)]
    if path.startswith("/v1/agency"):
        return s.health
    return s.alpha


def test_no_route_answers_a_500_to_hostile_input(attacked: Service) -> None:
    s = attacked
    routes = _routes(s)
    assert len(routes) >= 40  # the API and the officers' pages

    @given(
        route=st.sampled_from(routes),
        params=st.lists(path_text, min_size=4, max_size=4),
        query=st.dictionaries(st.sampled_from(["lane", "status", "from", "to", "size", "first", "days", "limit"]),
                              path_text, max_size=3),
        body=st.one_of(json_values.map(lambda v: ("json", v)), raw_bodies.map(lambda b: ("raw", b)),
                       st.dictionaries(st.sampled_from(["text", "days", "note", "lane", "id"]), path_text)
                       .map(lambda f: ("form", f))),
    )  # fmt: skip
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=DERANDOMIZE,
    )
    def attack(route: tuple[str, str], params: list[str], query: dict[str, str], body: tuple[str, Any]) -> None:
        method, template = route
        values = iter(params)
        path = re.sub(r"\{[^}]+\}", lambda _: quote(next(values), safe="") or "x", template)  # as sent on the wire
        headers = _headers(s, path) | {"Idempotency-Key": "hostile"}
        kind, content = body
        kwargs: dict[str, Any] = {"params": query, "headers": headers}
        if method in ("POST", "PUT", "PATCH"):
            if kind == "json":
                kwargs["content"] = json.dumps(content).encode()
                headers["Content-Type"] = "application/json"
            elif kind == "form":
                kwargs["data"] = content
            else:
                kwargs["content"] = content
                headers["Content-Type"] = "application/json"
        answer = s.client.request(method, path, **kwargs)
        assert answer.status_code < 500, (method, path, query, body, answer.text[:300])

    attack()
    s.runtime.submissions.drain()
    assert s.client.get("/v1/quality", headers=s.officer).status_code == 200  # and the service still answers


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += _paths(value, (*prefix, index))
    return out


def test_a_hostile_field_rejects_its_consignment_only(attacked: Service) -> None:
    s = attacked
    base = example(reference="MUT")
    targets = _paths(base)
    counter = iter(range(10**6))

    @given(where=st.sampled_from(targets), value=json_values, as_ndjson=st.booleans())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=DERANDOMIZE,
    )
    def mutate(where: tuple[Any, ...], value: Any, as_ndjson: bool) -> None:
        n = next(counter)
        doc = json.loads(json.dumps(base))
        doc["reference"] = f"MUT-{n}"
        target = doc
        for step in where[:-1]:
            target = target[step]
        target[where[-1]] = value
        good = example(reference=f"GOOD-{n}")
        if as_ndjson:
            body = json.dumps(doc).encode() + b"\n" + json.dumps(good).encode()
            content_type = "application/x-ndjson"
        else:
            body, content_type = json.dumps([doc, good]).encode(), "application/json"
        headers = s.alpha | {"Idempotency-Key": f"mut-{n}", "Content-Type": content_type}
        answer = s.client.post("/v1/consignments", content=body, headers=headers)
        assert answer.status_code in (200, 201), (where, value, answer.text[:300])
        results = answer.json()["results"]
        assert results[1]["errors"] == [] and results[1]["registration_id"]  # the good one is never lost

    mutate()
    s.runtime.submissions.drain()
    with s.app.store.engine.connect() as conn:
        from sqlalchemy import func, select

        from clearway.store import tables as t

        waiting = conn.execute(
            select(func.count()).where(t.consignments.c.status.in_(["registered", "assessment_failed"]))
        ).scalar_one()
    assert waiting == 0  # every accepted consignment, hostile or not, was assessed
