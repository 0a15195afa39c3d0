"""Submitters' webhooks, and data-quality feedback (a submitter its own; officers every submitter's)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from clearway.api.views import QualityFigures
from clearway.auth.clients import Principal
from clearway.errors import Forbidden
from clearway.services.quality import quality
from clearway.workers.runtime import Runtime


class Subscription(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2048)]
    events: list[str] = []  # empty: every event


class Webhook(msgspec.Struct, frozen=True):
    """A subscription: where deliveries go, and for which events (none listed: every event)."""

    id: str
    url: str
    events: list[str]
    created_at: dt.datetime


class WebhookCreated(msgspec.Struct, frozen=True):
    """A new subscription, with the secret that signs its deliveries: shown this once, never again."""

    id: str
    url: str
    events: list[str]
    secret: str


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["submitters"]

    @post("", status_code=201, sync_to_thread=True, summary="Subscribe a webhook (the secret is shown once)")
    def subscribe(
        self, runtime: NamedDependency[Runtime], submitter: NamedDependency[Principal], data: JSONBody[Subscription]
    ) -> WebhookCreated:
        return msgspec.convert(runtime.webhooks.subscribe(submitter, data.url, data.events), WebhookCreated)

    @get("", sync_to_thread=True, summary="Your webhooks")
    def list_hooks(self, runtime: NamedDependency[Runtime], submitter: NamedDependency[Principal]) -> list[Webhook]:
        return msgspec.convert(runtime.webhooks.subscriptions(submitter), list[Webhook])

    @delete("/{hook_id:str}", status_code=204, sync_to_thread=True, summary="Remove a webhook")
    def remove(
        self, runtime: NamedDependency[Runtime], submitter: NamedDependency[Principal], hook_id: FromPath[str]
    ) -> None:
        runtime.webhooks.unsubscribe(submitter, hook_id)


class QualityController(Controller):
    path = "/v1/quality"
    tags = ["submitters", "officers"]

    @get("", sync_to_thread=True, summary="Data-quality feedback: rejections by code, warnings, timeliness")
    def quality(
        self,
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[Principal],
        since: Annotated[dt.datetime | None, QueryParameter(name="from")] = None,
        until: Annotated[dt.datetime | None, QueryParameter(name="to")] = None,
    ) -> list[QualityFigures]:
        """A submitter gets its own figures; an officer every submitter's."""
        if caller.is_submitter:
            who: str | None = caller.tenant
        elif "quality:all" in caller.scopes:
            who = None
        else:
            raise Forbidden("data-quality figures are for submitters (their own) and officers")
        return msgspec.convert(
            quality(runtime.app.store.engine, submitter=who, since=since, until=until), list[QualityFigures]
        )
