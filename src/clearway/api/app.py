"""The Litestar application, built from a bootstrapped App (nothing is read or connected at import): the
API under `/v1` and the officers' web pages under `/ui`.

Every route is under `/v1` but the probes an orchestrator asks (`/healthz`, `/readyz`); the OpenAPI 3.1
document is served at `/schema/openapi.json` (a copy is
committed as docs/openapi.json). Who may call what comes from the bearer token's scopes.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar import Litestar, Request
from litestar.config.csrf import CSRFConfig
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from clearway import __version__
from clearway.api.agency import AgencyController
from clearway.api.consignments import ConsignmentController
from clearway.api.context import RequestContext
from clearway.api.health import HealthController
from clearway.api.hostile import HostileInputGuard
from clearway.api.ledger import LedgerController
from clearway.api.manifests import ManifestController
from clearway.api.metrics import forget, metrics_config, metrics_controller
from clearway.api.money import MoneyController
from clearway.api.oauth import OAuthController
from clearway.api.officer import OfficerController
from clearway.api.openapi_body import document_consignment_bodies
from clearway.api.partner import PartnerController
from clearway.api.problems import clearway_error, http_error, unexpected
from clearway.api.public import PublicController
from clearway.api.security import RateLimiter, SignInThrottle, principal_of, require
from clearway.api.subscriptions import QualityController, WebhookController
from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.errors import ClearwayError
from clearway.web import WEB_CONTROLLERS, web_config
from clearway.workers.runtime import Runtime

CONTROLLERS = [
    OAuthController, ConsignmentController, WebhookController, QualityController, OfficerController, AgencyController,
    PublicController, LedgerController, HealthController, PartnerController, ManifestController, MoneyController,
]  # fmt: skip


def _role(scope: str | None) -> Provide:
    def provide(
        request: Request[Any, Any, Any], runtime: NamedDependency[Runtime], limiter: NamedDependency[RateLimiter]
    ) -> Principal:
        principal = principal_of(request, runtime.tokens, limiter)
        return principal if scope is None else require(principal, scope)

    return Provide(provide, sync_to_thread=False)


def create_app(application: App, *, runtime: Runtime | None = None) -> Litestar:
    """The API over `application`; the runtime's writer, assessor and webhook threads run with the app."""
    rt = runtime or Runtime.build(application)
    settings = application.settings
    limiter = RateLimiter(rate=settings.rate_per_second, burst=2 * settings.rate_per_second)
    throttle = SignInThrottle()
    consignments = RateLimiter(
        rate=settings.consignment_rate, burst=max(5 * settings.consignment_rate, 1000), what="consignments"
    )  # what one tenant may file a second, whatever the number of requests
    web = web_config()
    prometheus = metrics_config(rt)
    api = Litestar(
        route_handlers=[*CONTROLLERS, *WEB_CONTROLLERS, web["static"],
                        metrics_controller(rt, public=settings.metrics_public)],
        middleware=[
            DefineMiddleware(RequestContext, priority=rt.submissions.priority),
            DefineMiddleware(HostileInputGuard, max_body=settings.max_body_bytes), prometheus.middleware
        ],
        template_config=web["template_config"],
        dependencies={
            "clearway": Provide(lambda: application, use_cache=True, sync_to_thread=False),
            "runtime": Provide(lambda: rt, use_cache=True, sync_to_thread=False),
            "limiter": Provide(lambda: limiter, use_cache=True, sync_to_thread=False),
            "throttle": Provide(lambda: throttle, use_cache=True, sync_to_thread=False),
            "filing_limit": Provide(lambda: consignments, use_cache=True, sync_to_thread=False),
            "caller": _role(None),
            "submitter": _role("consignments:write"),
            "reader": _role("consignments:read"),
            "officer": _role("officer"),
            "agency": _role("agency"),
            "partner": _role("exchange"),
        },
        on_startup=[rt.start],
        on_shutdown=[rt.stop, lambda: forget(rt)],
        exception_handlers={
            **web["exception_handlers"],
            ClearwayError: clearway_error,
            HTTPException: http_error,
            Exception: unexpected,
        },
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,  # logging is the process's (`telemetry/logs.py`, set up by `serve`), not the app's
        csrf_config=CSRFConfig(  # the officers' pages: a token on every form; the API uses bearer tokens
            secret=hmac.new(application.secret, b"clearway csrf", hashlib.sha256).hexdigest(),
            cookie_path="/ui", cookie_secure=settings.cookie_secure, cookie_httponly=True, cookie_samesite="strict",
            exclude=["^/v1/", "^/metrics", "^/schema"],
        ),
        openapi_config=OpenAPIConfig(
            title="clearway",
            version=__version__,
            path="/schema",
            description="Clearance of cross-border e-commerce parcels: advance data in, decisions and duties out.",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http", scheme="bearer", bearer_format="JWT",
                        description="a token from POST /v1/oauth/token (client credentials)",
                    )
                }
            ),
            security=[{"bearer": []}],
        ),
    )  # fmt: skip
    document_consignment_bodies(
        api, {"/v1/consignments": ("post", True), "/v1/consignments/{consignment_id}": ("put", False)}
    )
    return api
