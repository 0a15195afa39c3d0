"""Durability: a 2xx answer means committed. The server is killed with SIGKILL under load; after a restart
every acknowledged consignment is there, what was left unassessed gets assessed, and resubmitting every
batch with its Idempotency-Key creates nothing twice."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from clearway.store import make_engine
from clearway.store import tables as t
from tests.conftest import example
from tests.integration.server import serving
from tests.integration.test_cli import clearway

BATCHES, PER_BATCH, SENDERS = 120, 10, 6


def _token(url: str, client: dict[str, str]) -> dict[str, str]:
    form = {"grant_type": "client_credentials"} | {k: client[k] for k in ("client_id", "client_secret")}
    return {"Authorization": f"Bearer {httpx.post(f'{url}/v1/oauth/token', data=form).json()['access_token']}"}


def _batch(b: int) -> bytes:
    return json.dumps([example(reference=f"K{b:03d}-{i}") for i in range(PER_BATCH)]).encode()


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_consignment(database_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"CLEARWAY_DATABASE_URL": database_url, "CLEARWAY_RATE": "100000", "CLEARWAY_CONSIGNMENT_RATE": "100000"}
    client = json.loads(clearway("clients", "add", "acme", "--role", "platform", home=home, env=env).stdout)
    acked: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()
    with serving(home, env) as server:
        headers = _token(server.url, client) | {"Content-Type": "application/json"}
        todo = iter(range(BATCHES))

        def send() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for b in todo:
                    try:
                        answer = http.post(
                            "/v1/consignments", content=_batch(b), headers=headers | {"Idempotency-Key": f"b{b}"}
                        )
                    except httpx.HTTPError:
                        return  # the server is gone
                    if answer.status_code in (200, 201):
                        with lock:
                            acked[b] = answer.json()

        senders = [threading.Thread(target=send) for _ in range(SENDERS)]
        for sender in senders:
            sender.start()
        while len(acked) < BATCHES // 3:
            time.sleep(0.01)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        for sender in senders:
            sender.join()
    assert BATCHES // 3 <= len(acked) < BATCHES, "the kill must land mid-load"

    engine = make_engine(database_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(t.consignments.c.id, t.consignments.c.reference)).all())
    for answer in acked.values():
        for result in answer["results"]:
            assert stored.get(result["registration_id"]) == result["reference"]  # every acknowledged one is there

    with serving(home, env) as server:
        headers = _token(server.url, client) | {"Content-Type": "application/json"}
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for b in range(BATCHES):
                again = http.post("/v1/consignments", content=_batch(b), headers=headers | {"Idempotency-Key": f"b{b}"})
                assert again.status_code in (200, 201)
                if b in acked:
                    assert again.json() == acked[b]  # the very same answer
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                waiting = conn.execute(
                    sa.select(sa.func.count()).where(t.consignments.c.status == "registered")
                ).scalar_one()
            if waiting == 0:
                break
            time.sleep(0.2)
    with engine.connect() as conn:
        references = conn.execute(sa.select(t.consignments.c.reference)).scalars().all()
        decided = conn.execute(sa.select(sa.func.count(sa.distinct(t.decisions.c.consignment_id)))).scalar_one()
    assert len(references) == len(set(references)) == BATCHES * PER_BATCH  # nothing twice, nothing lost
    assert waiting == 0 and decided == BATCHES * PER_BATCH  # the unassessed were assessed after the restart
    engine.dispose()


def test_twin_requests_with_one_key_register_once_and_get_one_answer(database_url: str, tmp_path: Path) -> None:
    """A client that retries before its first try was answered sends twins: the same body under the same
    Idempotency-Key, at once. One registers; every twin gets that very answer; a new body under the key is
    refused."""
    home = tmp_path / "home"
    env = {"CLEARWAY_DATABASE_URL": database_url, "CLEARWAY_RATE": "100000", "CLEARWAY_CONSIGNMENT_RATE": "100000"}
    client = json.loads(clearway("clients", "add", "acme", "--role", "platform", home=home, env=env).stdout)
    answers: list[tuple[int, Any]] = []
    with serving(home, env) as server:
        headers = _token(server.url, client) | {"Content-Type": "application/json"}
        for round_ in range(3):  # several rounds: twins land in one write group, or in groups one after another
            body, key = json.dumps(example(reference=f"TWIN-{round_}")).encode(), f"twin-{round_}"
            start = threading.Barrier(8)
            got: list[tuple[int, Any]] = []

            def send(body: bytes = body, key: str = key, start: threading.Barrier = start,
                     got: list[tuple[int, Any]] = got) -> None:  # fmt: skip
                with httpx.Client(base_url=server.url, timeout=30) as http:
                    start.wait()
                    answer = http.post("/v1/consignments", content=body, headers=headers | {"Idempotency-Key": key})
                    got.append((answer.status_code, answer.json()))

            twins = [threading.Thread(target=send) for _ in range(8)]
            for twin in twins:
                twin.start()
            for twin in twins:
                twin.join()
            assert len(got) == 8 and all(g == got[0] for g in got), got  # one answer, to every twin
            assert got[0][0] == 201
            answers.append(got[0])
        with httpx.Client(base_url=server.url, timeout=30) as http:
            other = http.post("/v1/consignments", content=json.dumps(example(reference="OTHER")).encode(),
                              headers=headers | {"Idempotency-Key": "twin-0"})  # fmt: skip
        assert other.status_code == 422 and "another body" in other.text
    engine = make_engine(database_url)
    with engine.connect() as conn:
        references = conn.execute(sa.select(t.consignments.c.reference)).scalars().all()
    engine.dispose()
    assert sorted(references) == ["TWIN-0", "TWIN-1", "TWIN-2"]
