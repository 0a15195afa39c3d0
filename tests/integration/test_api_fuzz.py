"""Schemathesis over the committed OpenAPI document: whatever a client sends, the server never answers 5xx.

Cases are generated from the schema (valid and invalid), sent with a token of the role each route is for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from clearway.api import create_app
from clearway.bootstrap import bootstrap
from clearway.intake import read_bytes
from clearway.settings import Settings
from clearway.workers.runtime import Runtime
from tests.conftest import example
from tests.integration.clients import bearer

schemathesis.serializer.alias("application/x-ndjson", "text/plain")  # NDJSON bodies go as the text generated


@dataclasses.dataclass
class Fuzzed:
    schema: Any
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    home = tmp_path_factory.mktemp("fuzz")
    settings_ = dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(home)}), rate_per_second=1e6)
    app = bootstrap(settings_)
    runtime = Runtime.build(app)
    runtime.start()
    api = create_app(app, runtime=runtime)
    headers = {
        "submitter": bearer(app, "fuzz-market", "platform"),
        "officer": bearer(app, "fuzz-officer", "officer"),
        "agency": bearer(app, "fuzz-agency", "agency", agency="health"),
    }
    seed = msgspec.json.encode([example(reference="F1"), example(reference="F2")])  # something to find
    runtime.submissions.submit("fuzz-market", "seed", "seed", list(read_bytes(seed, "json")))
    runtime.submissions.drain()
    yield Fuzzed(schemathesis.openapi.from_asgi("/schema/openapi.json", api), headers)
    runtime.stop()
    app.store.engine.dispose()


CUSTOMS_PATHS = ("/v1/officer", "/v1/payments", "/v1/accounts", "/v1/payables/", "/v1/tax")
"""Routes for customs: fuzzed with an officer's token, so the generated cases reach past the role check."""


def _role(path: str) -> str:
    if path.startswith(CUSTOMS_PATHS):
        return "officer"
    return "agency" if path.startswith("/v1/agency") else "submitter"


def test_no_request_makes_a_server_error(fuzzed: Fuzzed) -> None:
    operations = [result.ok() for result in fuzzed.schema.get_all_operations()]
    assert len(operations) >= 25  # every route of the document is fuzzed
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: Any) -> None:
            response = case.call(headers=dict(case.headers or {}) | fuzzed.headers[_role(case.path)])
            case.validate_response(response, checks=[not_a_server_error])

        call()
