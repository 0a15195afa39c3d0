"""`GET /healthz` (the process answers) and `GET /readyz` (it can take work now: `workers/health.py`), for
a load balancer or an orchestrator: no token, nothing sensitive, 200 or 503 naming the failing checks."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from clearway.api.views import Readiness
from clearway.workers.health import report
from clearway.workers.runtime import Runtime


class Alive(msgspec.Struct, frozen=True):
    status: Literal["alive"]


class HealthController(Controller):
    tags = ["operations"]
    security = []  # type: ignore[assignment]  # no token: the orchestrator asks

    @get("/healthz", sync_to_thread=False, summary="Alive: the process answers")
    def alive(self) -> Alive:
        return Alive("alive")

    @get("/readyz", sync_to_thread=True, summary="Ready: database, schema, threads, queues and ledger key")
    def ready(self, runtime: NamedDependency[Runtime]) -> Response[Readiness]:
        status, body = report(runtime.readiness())
        return Response(msgspec.convert(body, Readiness), status_code=status, headers={"Cache-Control": "no-store"})
