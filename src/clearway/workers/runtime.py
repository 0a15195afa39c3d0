"""The running service: the App with its write path, clearance actions, webhooks, tokens and limits,
started and stopped together (the API and the officer UI share one)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clearway.auth.clients import TokenIssuer
from clearway.bootstrap import App
from clearway.services.clearance import Clearance
from clearway.services.config import apply_stored
from clearway.services.watchlist import WatchListRefresh
from clearway.store.consignments import statuses
from clearway.workers.health import Check, queue_checks, storage_checks, thread_checks
from clearway.workers.submissions import Submissions
from clearway.workers.webhooks import Webhooks

log = logging.getLogger("clearway.runtime")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    app: App
    tokens: TokenIssuer
    submissions: Submissions
    clearance: Clearance
    webhooks: Webhooks
    watchlist: WatchListRefresh | None = None
    _ticker: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    ready_ttl: float = 1.0  # seconds a readiness answer is reused
    _ready: tuple[float, list[Check]] = (0.0, [])
    _ready_lock: Any = field(default_factory=threading.Lock)  # (typed Any: the API inspects this class)

    @classmethod
    def build(cls, app: App, *, now: Callable[[], dt.datetime] = utcnow) -> Runtime:
        settings = app.settings
        apply_stored(app)  # profiles and selectivity an officer activated earlier
        webhooks = Webhooks(app.store.engine, allow_private=settings.webhook_private, now=now)
        clearance = Clearance(app, now=now)
        clearance.listeners.append(lambda cid, kind, facts: webhooks.notify([(cid, kind, facts)]))
        submissions = Submissions(app, now=now, on_assessed=lambda ids: _assessed(app, webhooks, ids))
        tokens = TokenIssuer(app.store.engine, app.secret, settings.token_minutes)
        return cls(app, tokens, submissions, clearance, webhooks, WatchListRefresh(app))

    def start(self) -> None:
        self.submissions.start()
        self.webhooks.start()
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="clearway-clock", daemon=True)
            self._ticker.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        self.submissions.stop(self.app.settings.shutdown_grace)
        self.webhooks.stop()

    def readiness(self) -> list[Check]:
        """Database, schema, ledger key; the writer, assessor, deliverer and clock running; the queues under
        CLEARWAY_READY_QUEUE (`workers/health.py`). Worked out at most once a second, however often the
        (unauthenticated) probe is called."""
        with self._ready_lock:
            at, checks = self._ready
            if checks and time.monotonic() - at < self.ready_ttl:
                return checks
            checks = self._checks()
            self._ready = (time.monotonic(), checks)
            return checks

    def _checks(self) -> list[Check]:
        threads = {**self.submissions.threads(), "webhooks": self.webhooks.thread, "clock": self._ticker}
        depths = self.submissions.waiting()
        return [
            *storage_checks(self.app),
            *thread_checks(threads),
            *queue_checks(depths, self.app.settings.ready_queue),
        ]

    def _tick(self, interval: float = 60.0) -> None:
        """Time-driven steps: a changed watch list; consignments due for another assessment; referrals that
        time out; the ledger's checkpoint when due."""
        while not self._stopping.wait(interval):
            try:
                if self.watchlist is not None:
                    self.watchlist.refresh()  # a new list or delta is in force without a restart
                # consignments set aside whose next attempt is due; not those registered, which the running
                # assessor has queued (under a flood, thousands: decoded and assessed twice, on the clock)
                self.submissions.assess_pending(registered=False)
                self.clearance.expire_referrals()
                self.app.ledger.checkpoint_if_due(utcnow())
            except Exception:  # the clock must outlive a bad moment of the database
                log.exception("clock tick failed")


def _assessed(app: App, webhooks: Webhooks, ids: list[str]) -> None:
    """After assessment, tell subscribers where each consignment now stands (held or released)."""
    webhooks.notify([
        (cid, "awaiting_arrival" if status == "assessed" else status, {"status": status})
        for cid, status in statuses(app.store, ids).items()
    ])  # fmt: skip
