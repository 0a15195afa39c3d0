"""The log workers read consignments from and publish decisions to: Kafka (any Kafka-protocol log), or an
in-process bus for the embedded default. Messages carry Consignment v1 JSON as value and the submitter in
a `submitter` header; offsets are committed only once what was read is stored and assessed."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlparse

from clearway.errors import InvalidInput

GROUP = "clearway-workers"


@dataclass(frozen=True)
class Message:
    submitter: str
    value: bytes
    position: tuple[int, int]  # partition, offset


class Bus(Protocol):
    def poll(self, max_messages: int, timeout: float) -> list[Message]: ...

    def commit(self, messages: list[Message]) -> None: ...

    def publish(self, key: str, value: bytes) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class MemoryBus:
    """One process, one queue: what `clearway worker` uses without a Kafka-protocol log."""

    waiting: deque[Message] = field(default_factory=deque)
    published: list[tuple[str, bytes]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0

    def send(self, submitter: str, value: bytes) -> None:
        with self._lock:
            self.waiting.append(Message(submitter, value, (0, self._next)))
            self._next += 1

    def poll(self, max_messages: int, timeout: float) -> list[Message]:
        with self._lock:
            return [self.waiting.popleft() for _ in range(min(max_messages, len(self.waiting)))]

    def commit(self, messages: list[Message]) -> None:
        return None  # taken off the queue when read: nothing to acknowledge in one process

    def publish(self, key: str, value: bytes) -> None:
        with self._lock:
            self.published.append((key, value))

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


class KafkaBus:
    """`kafka://HOST:PORT[,HOST:PORT]/TOPIC`: a consumer in the workers' group on TOPIC, with offsets committed
    by hand, and an idempotent producer for TOPIC.decisions."""

    def __init__(self, url: str, group: str = GROUP, **config: Any) -> None:
        from confluent_kafka import Consumer, Producer

        parsed = urlparse(url)
        topic = parsed.path.strip("/")
        if parsed.scheme != "kafka" or not parsed.netloc or not topic:
            raise InvalidInput(f"a bus is kafka://HOST:PORT/TOPIC, not {url!r}")
        common = {"bootstrap.servers": parsed.netloc, **config}
        self.topic, self.decisions = topic, f"{topic}.decisions"
        self.consumer = Consumer(
            common | {"group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest"}
        )
        self.consumer.subscribe([topic])
        self.producer = Producer(common | {"enable.idempotence": True, "acks": "all"})

    def poll(self, max_messages: int, timeout: float) -> list[Message]:
        out = []
        for record in self.consumer.consume(max_messages, timeout):
            if record.error() is not None:
                continue  # partition EOF and transient errors: librdkafka retries on its own
            headers = dict(record.headers() or [])
            submitter = (headers.get("submitter") or b"unknown").decode()
            out.append(Message(submitter, record.value() or b"", (record.partition(), record.offset())))
        return out

    def commit(self, messages: list[Message]) -> None:
        from confluent_kafka import TopicPartition

        if not messages:
            return
        last: dict[int, int] = {}
        for m in messages:
            last[m.position[0]] = max(last.get(m.position[0], -1), m.position[1])
        self.consumer.commit(
            offsets=[TopicPartition(self.topic, p, offset + 1) for p, offset in last.items()], asynchronous=False
        )

    def publish(self, key: str, value: bytes) -> None:
        self.producer.produce(self.decisions, key=key.encode(), value=value)
        self.producer.poll(0)

    def flush(self) -> None:
        if self.producer.flush(30) > 0:
            raise RuntimeError(f"decisions not acknowledged by the log within 30 s ({self.decisions})")

    def close(self) -> None:
        self.producer.flush(10)
        self.consumer.close()


def open_bus(url: str, **config: Any) -> Bus:
    if url.startswith("memory:"):
        return MemoryBus()
    return KafkaBus(url, **config)
