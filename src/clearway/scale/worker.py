"""Stateless intake workers on a log: read consignments in micro-batches, store and assess them, then
acknowledge; decisions leave through the event log as an outbox.

Nothing is lost or doubled by a crash or a rebalance: a message is acknowledged only after what it carried
is stored and assessed; read again, it is the same consignment (same submitter, reference and content),
which the store registers once and does not assess twice; one stored but not yet assessed when a worker
stopped is assessed when any worker starts. The events that a decision writes, in the same transaction,
are the outbox: the relay publishes those after its cursor, then moves the cursor, so a crash between
the two publishes an event again, never loses one (each carries its event id, for consumers to drop a repeat).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from itertools import groupby

import msgspec
from prometheus_client import Counter

from clearway.bootstrap import App
from clearway.intake import read_bytes
from clearway.scale.bus import Bus, Message
from clearway.services.clearance import submitter_facts
from clearway.services.ingest import assess_isolated, ingest, pending_batches
from clearway.store.outbox import after_cursor, move_cursor
from clearway.store.repository import as_utc

log = logging.getLogger("clearway.worker")
PUBLISHED = ("registered", "amended", "assessed", "duty_assessed", "held", "released", "awaiting_arrival",
             "inspected", "seized", "returned_to_sender", "invalidated", "refunded", "full_declaration_required",
             "transferred_to_full_declaration", "destroyed", "abandoned")  # fmt: skip


HANDLED = Counter("clearway_worker_messages_total", "messages read, stored, assessed and acknowledged")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Worker:
    def __init__(
        self, app: App, bus: Bus, *, batch: int = 500, now: Callable[[], dt.datetime] = _utcnow,
        settle: dt.timedelta = dt.timedelta(seconds=5),
    ) -> None:  # fmt: skip
        self.app, self.bus, self.batch, self.now = app, bus, batch, now
        self.beat = time.monotonic()
        self.relay = DecisionRelay(app, bus, settle=settle, now=now)

    def start(self) -> int:
        """Assess what an earlier worker stored but did not assess, and what was set aside and is due for
        another attempt; returns how many were tried."""
        batches = pending_batches(self.app, self.now())
        failed, tried = 0, sum(len(chunk) for chunk, _ in batches)
        for chunk, versions in batches:
            done = assess_isolated(self.app, chunk, versions, as_of=self.now(), decided_at=self.now())
            failed += len(done.failed)
        if tried:
            log.info("assessed %d of %d consignments left by an earlier worker; %d set aside", tried - failed,
                     tried, failed)  # fmt: skip
        return tried

    def step(self, timeout: float = 1.0) -> int:
        """One micro-batch: read, store and assess, acknowledge, publish. Returns the messages handled."""
        messages = self.bus.poll(self.batch, timeout)
        if messages:
            self.handle(messages)
            self.bus.commit(messages)
            HANDLED.inc(len(messages))
        self.relay.publish()
        return len(messages)

    def handle(self, messages: list[Message]) -> None:
        for submitter, group in groupby(messages, key=lambda m: m.submitter):
            records = [item for m in group for item in read_bytes(m.value, "json")]
            ingest(self.app, submitter, records, now=self.now)

    def run(self, stop: Callable[[], bool], timeout: float = 1.0) -> None:
        self.start()
        while not stop():
            self.step(timeout)
            self.beat = time.monotonic()  # the readiness probe's sign of life


class DecisionRelay:
    """Publishes the event log (what a submitter may see of it) after its cursor, then moves the cursor.

    With several workers writing, a transaction can commit an event with a lower sequence number after one
    with a higher number was published; the relay therefore leaves the newest `settle` seconds of the log
    for its next round, so that such a late commit is still ahead of the cursor when it is read."""

    def __init__(
        self, app: App, bus: Bus, name: str = "decisions", batch: int = 1000,
        settle: dt.timedelta = dt.timedelta(seconds=5), now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:  # fmt: skip
        self.app, self.bus, self.name, self.batch, self.settle, self.now = app, bus, name, batch, settle, now

    def publish(self) -> int:
        events = after_cursor(self.app.store.engine, self.name, PUBLISHED, self.now() - self.settle, self.batch)
        if not events:
            return 0
        for _, event_id, consignment_id, kind, at, data in events:
            payload = {"event_id": event_id, "consignment_id": consignment_id, "type": kind,
                       "at": as_utc(at).isoformat(), **submitter_facts(json.loads(data))}  # fmt: skip
            self.bus.publish(consignment_id, msgspec.json.encode(payload))
        self.bus.flush()  # every message acknowledged by the log before the cursor moves past it
        move_cursor(self.app.store.engine, self.name, events[-1][0])
        return len(events)
