"""The running service: the App with its write path, clearance actions, webhooks, tokens and limits,
started and stopped together (the API and the officer UI share one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from clearway.bootstrap import App
from clearway.services.clearance import Clearance
from clearway.services.clients import TokenIssuer
from clearway.services.submissions import Submissions
from clearway.services.webhooks import Webhooks
from clearway.store import tables as t


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    app: App
    tokens: TokenIssuer
    submissions: Submissions
    clearance: Clearance
    webhooks: Webhooks

    @classmethod
    def build(cls, app: App, *, now: Callable[[], dt.datetime] = utcnow) -> Runtime:
        settings = app.settings
        webhooks = Webhooks(app.store.engine, allow_private=settings.webhook_private, now=now)
        clearance = Clearance(app, now=now)
        clearance.listeners.append(lambda cid, kind, facts: webhooks.notify([(cid, kind, facts)]))
        submissions = Submissions(app, now=now, on_assessed=lambda ids: _assessed(app, webhooks, ids))
        tokens = TokenIssuer(app.store.engine, app.secret, settings.token_minutes)
        return cls(app, tokens, submissions, clearance, webhooks)

    def start(self) -> None:
        self.submissions.start()
        self.webhooks.start()

    def stop(self) -> None:
        self.submissions.stop()
        self.webhooks.stop()


def _assessed(app: App, webhooks: Webhooks, ids: list[str]) -> None:
    """After assessment, tell subscribers where each consignment now stands (held or released)."""
    c = t.consignments.c
    with app.store.engine.connect() as conn:
        rows = conn.execute(sa.select(c.id, c.status).where(c.id.in_(ids))).all() if ids else []
    webhooks.notify([(cid, status, {"status": status}) for cid, status in rows])
