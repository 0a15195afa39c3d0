"""The Litestar application, built from a bootstrapped App (nothing is read or connected at import)."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig

from clearway import __version__
from clearway.api.ledger import LedgerController
from clearway.api.problems import clearway_error, http_error, unexpected
from clearway.bootstrap import App
from clearway.errors import ClearwayError


def create_app(application: App) -> Litestar:
    return Litestar(
        route_handlers=[LedgerController],
        dependencies={"clearway": Provide(lambda: application, use_cache=True, sync_to_thread=False)},
        exception_handlers={ClearwayError: clearway_error, HTTPException: http_error, Exception: unexpected},
        openapi_config=OpenAPIConfig(title="clearway", version=__version__, path="/schema"),
    )
