"""The served assessor in a process of its own: it assesses what is filed, takes up what an officer activates,
is ready in /readyz, is started again when it dies (what it had is assessed), and leaves with the service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from clearway.auth.clients import Principal
from clearway.bootstrap import bootstrap
from clearway.services import config
from clearway.settings import Settings
from clearway.store import tables as t
from tests.conftest import example, tracked
from tests.integration.server import serving
from tests.integration.test_cli import clearway


def _token(url: str, client: dict[str, str]) -> dict[str, str]:
    form = {"grant_type": "client_credentials"} | {k: client[k] for k in ("client_id", "client_secret")}
    token = httpx.post(f"{url}/v1/oauth/token", data=form, timeout=10).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _assessor_pid(server_pid: int) -> int | None:
    """The service's child that runs multiprocessing's spawned assessor (not its resource tracker)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == server_pid and b"spawn_main" in command:
            return int(entry.name)
    return None


def _settled(url: str, headers: dict[str, str], cid: str, within: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        read = httpx.get(f"{url}/v1/consignments/{cid}", headers=headers, timeout=10).json()
        if read["status"] != "registered":
            return dict(read)
        time.sleep(0.2)
    raise AssertionError(f"{cid} was not assessed within {within} s")


def _file(url: str, headers: dict[str, str], key: str, **fields: object) -> str:
    doc = example(reference=key, **({"transport_document": tracked(key)} | fields))
    answer = httpx.post(f"{url}/v1/consignments", content=json.dumps(doc),
                        headers=headers | {"Idempotency-Key": key}, timeout=30)  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["results"][0]["registration_id"])


RED_FOR_TEST = """profiles:
  - id: TEST-ACTIVATED
    title: Activated while the service runs
    basis: a test
    weight: 90
    domain: fiscal
    when: {field: reference, prefix: "AFTER-"}
    action: {lane: red}
    documentation: Check that the service's assessor took the activated profiles up.
"""


def test_the_assessor_runs_in_its_own_process_and_survives_its_death(tmp_path: Path) -> None:
    home = tmp_path / "home"
    client = json.loads(clearway("clients", "add", "acme", "--role", "platform", home=home).stdout)
    with serving(home) as server:
        headers = _token(server.url, client)
        first = _settled(server.url, headers, _file(server.url, headers, "FIRST-1"))
        assert first["status"] in ("assessed", "held", "released")
        ready = httpx.get(f"{server.url}/readyz", timeout=10).json()
        assert ready["status"] == "ready" and "thread:assessor" in ready["checks"]
        child = _assessor_pid(server.process.pid)
        assert child is not None and child != server.process.pid

        # an officer activates profiles in the service: the assessor's process takes them up for the next batch
        settings = dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(home)}), assessor="thread")
        app = bootstrap(settings)
        officer = Principal("officer-1", "officer-1", "officer", None, frozenset({"officer"}))
        config.activate(app, officer, "profiles", RED_FOR_TEST, now=dt.datetime.now(dt.UTC))
        after = _file(server.url, headers, "AFTER-1")
        _settled(server.url, headers, after)
        with app.store.engine.connect() as conn:
            reasons = conn.execute(
                sa.select(t.decisions.c.reasons).where(t.decisions.c.consignment_id == after)
            ).scalar()
        assert "TEST-ACTIVATED" in str(reasons)

        os.kill(child, signal.SIGKILL)  # the assessor dies: another starts, and what is filed is assessed
        late = _settled(server.url, headers, _file(server.url, headers, "LATE-1"))
        assert late["status"] in ("assessed", "held", "released")
        assert "ended unexpectedly" in server.output()
        assert _assessor_pid(server.process.pid) not in (None, child)
        app.store.engine.dispose()
    deadline = time.monotonic() + 10
    while _assessor_pid(server.process.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.1)  # it stops with the service
    assert not Path(f"/proc/{server.process.pid}").exists() or server.process.poll() is not None


FAULTS = Path(__file__).parent / "faults"


def test_a_consignment_that_kills_the_assessor_is_set_aside_alone_and_the_others_are_assessed(tmp_path: Path) -> None:
    """One platform's bulk batch holds a consignment whose assessment brings the assessor's process down (a
    test-only fault, `faults/sitecustomize.py`, stands in for a crash or the out-of-memory killer): the batch
    it died in is narrowed down in halves, that consignment alone is set aside with how the process ended,
    and everything else, the same platform's and another's, is assessed."""
    home = tmp_path / "home"
    acme = json.loads(clearway("clients", "add", "acme", "--role", "platform", home=home).stdout)
    other = json.loads(clearway("clients", "add", "other", "--role", "platform", home=home).stdout)
    env = {"FAULT_KILL_ASSESSOR_ON": "POISON-1", "PYTHONPATH": os.pathsep.join([str(FAULTS), os.getcwd()]),
           "CLEARWAY_METRICS_PUBLIC": "1"}  # fmt: skip
    with serving(home, env) as server:
        a, b = _token(server.url, acme), _token(server.url, other)
        bulk = [example(reference=f"BULK-{n}") for n in range(24)]
        bulk.insert(13, example(reference="POISON-1"))
        answer = httpx.post(f"{server.url}/v1/consignments", content=json.dumps(bulk),
                            headers=a | {"Idempotency-Key": "bulk-1"}, timeout=60)  # fmt: skip
        assert answer.status_code == 201, answer.text
        ids = {r["reference"]: r["registration_id"] for r in answer.json()["results"]}
        singles = [_file(server.url, b, f"QUIET-{n}") for n in range(3)]

        poison_id = ids.pop("POISON-1")
        poison = _settled(server.url, a, poison_id, within=120)
        assert poison["status"] == "assessment_failed"
        for cid in ids.values():
            assert _settled(server.url, a, cid)["status"] in ("assessed", "held", "released")
        for cid in singles:
            assert _settled(server.url, b, cid)["status"] in ("assessed", "held", "released")
        assert "in halves" in server.output()

        settings = dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(home)}), assessor="thread")
        app = bootstrap(settings)
        failure = app.store.assessment_failure(poison_id)
        assert failure is not None and "AssessorDied" in failure["error"] and "SIGKILL" in failure["error"]
        assert failure["attempts"] == 1 and failure["next_attempt_at"] > dt.datetime.now(dt.UTC)
        with app.store.engine.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).where(t.consignments.c.status == "registered")).scalar()
        assert left == 0
        app.store.engine.dispose()
        assert httpx.get(f"{server.url}/readyz", timeout=10).json()["status"] == "ready"
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
        restarts = float(metrics.split("\nclearway_assessor_restarts_total ")[1].split()[0])
        assert 1 <= restarts <= 8  # 25 consignments narrowed down to one in halves, not one restart each
