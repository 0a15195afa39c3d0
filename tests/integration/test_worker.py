"""Intake workers on a Kafka-protocol log (librdkafka's mock cluster, in this process) and on the in-process
bus: what the log carries is stored and assessed once, whatever stops a worker, and decisions go out."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa

from clearway.bootstrap import App
from clearway.intake import read_bytes
from clearway.scale.bus import KafkaBus, MemoryBus, Message
from clearway.scale.worker import Worker
from clearway.store import tables as t
from tests.conftest import example

confluent_kafka = pytest.importorskip("confluent_kafka")
QUIET = {"log_level": 0}
GROUP = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500, **QUIET}  # a dead worker is noticed soon


@pytest.fixture(scope="module")
def brokers() -> Iterator[str]:
    """A mock Kafka cluster that lives as long as the client that made it."""
    cluster = confluent_kafka.Producer({"test.mock.num.brokers": 1, **QUIET})
    metadata = cluster.list_topics(timeout=10)
    yield ",".join(f"{b.host}:{b.port}" for b in metadata.brokers.values())
    cluster.flush(5)


def produce(brokers: str, topic: str, docs: list[dict[str, object]], submitter: str = "platform-k") -> None:
    producer = confluent_kafka.Producer({"bootstrap.servers": brokers, **QUIET})
    for doc in docs:
        producer.produce(topic, value=json.dumps(doc).encode(), headers={"submitter": submitter.encode()})
    assert producer.flush(10) == 0


def drain(worker: Worker, expected: int, seconds: float = 30) -> int:
    """Step until `expected` messages were handled (joining a consumer group takes a few seconds)."""
    handled, deadline = 0, time.monotonic() + seconds
    while handled < expected and time.monotonic() < deadline:
        handled += worker.step(timeout=0.5)
    return handled


def counts(app: App) -> tuple[int, int]:
    with app.store.engine.connect() as conn:
        consignments = conn.execute(sa.select(sa.func.count()).select_from(t.consignments)).scalar_one()
        decisions = conn.execute(sa.select(sa.func.count()).select_from(t.decisions)).scalar_one()
    return consignments, decisions


def docs(prefix: str, n: int) -> list[dict[str, object]]:
    return [example(reference=f"{prefix}-{i}") for i in range(n)]


def test_a_crash_before_the_acknowledgement_neither_loses_nor_doubles(app: App, brokers: str, tmp_path: Path) -> None:
    topic = f"aed-{tmp_path.name}"
    produce(brokers, topic, docs("K", 6))
    url = f"kafka://{brokers}/{topic}"
    first = Worker(app, KafkaBus(url, **GROUP), batch=100)
    messages: list[Message] = []
    deadline = time.monotonic() + 30
    while len(messages) < 6 and time.monotonic() < deadline:
        messages += first.bus.poll(100, 0.5)
    first.handle(messages)  # stored and assessed ... and the worker dies before acknowledging
    first.bus.consumer.close()  # type: ignore[attr-defined]
    assert counts(app) == (6, 6)
    second = Worker(app, KafkaBus(url, **GROUP), batch=100)  # the group hands the partition over
    assert drain(second, 6, seconds=60) == 6  # everything is read again ...
    assert counts(app) == (6, 6)  # ... and neither registered nor decided twice
    second.bus.close()


def test_a_consignment_stored_but_not_assessed_is_assessed_when_a_worker_starts(app: App) -> None:
    bus = MemoryBus()
    worker = Worker(app, bus)
    stored = list(read_bytes(json.dumps(example()).encode(), "json"))
    app.store.record_batch("platform-m", worker.now(), stored)  # what a worker had stored when it stopped
    assert counts(app) == (1, 0)
    assert worker.start() == 1 and counts(app) == (1, 1)
    assert worker.start() == 0


def test_decisions_leave_through_the_outbox_once_each_without_lanes(app: App, brokers: str, tmp_path: Path) -> None:
    topic = f"aed-{tmp_path.name}"
    produce(brokers, topic, docs("D", 3))
    bus = KafkaBus(f"kafka://{brokers}/{topic}", **GROUP)
    worker = Worker(app, bus, batch=100, settle=dt.timedelta(0))
    assert drain(worker, 3) == 3
    assert worker.relay.publish() == 0  # the cursor moved: nothing twice
    reader = confluent_kafka.Consumer({"bootstrap.servers": brokers, "group.id": f"r-{tmp_path.name}",
                                       "auto.offset.reset": "earliest", **QUIET})  # fmt: skip
    reader.subscribe([f"{topic}.decisions"])
    out: list[dict[str, object]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and [o["type"] for o in out].count("assessed") < 3:
        out += [msgspec.json.decode(m.value()) for m in reader.consume(100, 0.5) if m.error() is None]
    reader.close()
    bus.close()
    kinds = [o["type"] for o in out]
    assert kinds.count("registered") == 3 and kinds.count("assessed") == 3
    assert len({o["event_id"] for o in out}) == len(out)
    assert not any("lane" in o or "reasons" in o for o in out)  # what a submitter may see, no more


def test_the_in_process_bus_runs_the_embedded_default(app: App) -> None:
    bus = MemoryBus()
    for doc in docs("M", 4):
        bus.send("platform-m", json.dumps(doc).encode())
    clock = [dt.datetime.now(dt.UTC)]
    worker = Worker(app, bus, now=lambda: clock[0], settle=dt.timedelta(seconds=5))
    assert worker.step() == 4 and counts(app) == (4, 4)
    assert bus.published == []  # the newest seconds of the log settle first (a late commit may still come)
    clock[0] += dt.timedelta(seconds=6)
    assert worker.relay.publish() > 0
    assert {json.loads(v)["type"] for _, v in bus.published} >= {"registered", "assessed"}
