"""Short requests first: bulk work gives way at its safe points while one is in flight, and is never stopped."""

from __future__ import annotations

import threading
import time

from litestar import Litestar, get, post
from litestar.middleware import DefineMiddleware
from litestar.params import RawBody
from litestar.testing import TestClient

from clearway.api.context import RequestContext, is_interactive
from clearway.workers.priority import Priority


def test_bulk_work_waits_while_a_short_request_is_in_flight_and_goes_on_when_it_ends() -> None:
    priority = Priority(most=5.0, share=1.0)
    waited: list[float] = []
    with priority.interactive():
        bulk = threading.Thread(target=lambda: waited.append(priority.yield_point()))
        bulk.start()
        time.sleep(0.1)
        assert bulk.is_alive(), "bulk work went on while a short request was in flight"
    bulk.join(timeout=1.0)
    assert not bulk.is_alive(), "bulk work did not go on once the short request ended"
    assert 0.09 <= waited[0] < 1.0


def test_bulk_work_is_delayed_never_stopped_however_many_short_requests_come() -> None:
    priority = Priority(most=0.05, share=0.3)
    per_second: dict[int, float] = {}
    with priority.interactive():  # a short request always in flight, as under a stream of them
        started = time.monotonic()
        steps = 0
        while time.monotonic() - started < 1.5:
            second = int(time.monotonic())
            waited = priority.yield_point()
            assert waited <= 0.05 + 0.03, "one safe point waited longer than its bound"
            per_second[second] = per_second.get(second, 0.0) + waited
            steps += 1
    # its share of each second, give or take the one wait that straddles the turn of a second
    assert max(per_second.values()) <= 0.3 + 0.05 + 0.01, "bulk work waited more than its share of a second"
    assert steps > 30, "bulk work was held up instead of going on"


def test_a_wait_ends_as_soon_as_the_awaited_condition_holds() -> None:
    priority = Priority(most=5.0, share=1.0)
    queued = threading.Event()
    with priority.interactive():
        threading.Timer(0.05, queued.set).start()
        waited = priority.yield_point(until=queued.is_set)
    assert 0.04 <= waited < 1.0


def test_without_a_short_request_in_flight_bulk_work_does_not_wait() -> None:
    priority = Priority(most=5.0)
    assert priority.yield_point() == 0.0
    assert priority.paced(iter(range(100)), every=10) == list(range(100))
    assert priority.yielded == 0.0


def test_requests_without_a_body_or_with_a_small_one_are_short() -> None:
    assert is_interactive("GET", {})
    assert is_interactive("POST", {b"content-length": b"2048"})
    assert not is_interactive("POST", {b"content-length": b"900000"})
    assert not is_interactive("POST", {})  # a body of unknown length, sent in chunks
    assert not is_interactive("POST", {b"content-length": b"-1"})


def test_the_request_context_marks_short_requests_for_their_lifetime() -> None:
    priority = Priority()

    @get("/read", sync_to_thread=False)
    def read() -> dict[str, bool]:
        return {"busy": priority.busy()}

    @post("/file", sync_to_thread=False)
    def file(body: RawBody) -> dict[str, bool]:
        return {"busy": priority.busy()}

    app = Litestar([read, file], middleware=[DefineMiddleware(RequestContext, priority=priority)])
    with TestClient(app) as client:
        assert client.get("/read").json() == {"busy": True}
        assert client.post("/file", json={"a": "b"}).json() == {"busy": True}
        assert client.post("/file", json={"a": "b" * 20_000}).json() == {"busy": False}
    assert not priority.busy()
