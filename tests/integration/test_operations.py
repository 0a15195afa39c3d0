"""Running it in production (#25): health and readiness, structured logs without personal data, traces from
a request to each assessment stage, backups under load, the configuration reference and check."""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from clearway.services.configuration import reference_markdown
from clearway.settings import SETTINGS, check_declared
from clearway.telemetry import traces
from clearway.telemetry.logs import JsonFormatter
from clearway.workers.health import head_revision
from tests.conftest import example
from tests.integration.server import serving
from tests.integration.test_api import Service, service_for
from tests.integration.test_hostile_input import _headers, _routes

ROOT = Path(__file__).parents[2]
PERSONAL = {
    "name": "Zephyrine Quackenbush",
    "street": "17 Marigold Esplanade",
    "email": "zephyrine.q@example.org",
    "phone": "+447700900123",
}


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from service_for(database_url, tmp_path, cookie_secure=False)


def personal_example(reference: str) -> dict[str, Any]:
    doc = example(reference=reference)
    doc["consignee"]["name"] = PERSONAL["name"]
    doc["consignee"]["address"]["street"] = PERSONAL["street"]
    doc["consignee"] |= {"email": PERSONAL["email"], "phone": PERSONAL["phone"]}
    return doc


# --- health ---


def test_ready_says_which_check_fails(service: Service) -> None:
    s = service
    first = s.client.get("/readyz").json()
    with s.app.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'elsewhere'"))
    assert s.client.get("/readyz").json() == first  # within a second, the answer is reused: probes cost little
    with s.app.store.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE alembic_version SET version_num = '{head_revision()}'"))
    s.runtime.ready_ttl = 0.0
    assert s.client.get("/healthz").json() == {"status": "alive"}
    ready = s.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["failed"] == []
    assert {"database", "migrations", "ledger_key", "thread:writer", "thread:assessor"} <= ready.json()["checks"].keys()
    assert "sqlite" not in ready.text and "postgres" not in ready.text  # nothing about where the data lives
    with s.app.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'elsewhere'"))
    stale = s.client.get("/readyz")
    assert stale.status_code == 503 and stale.json()["failed"] == ["migrations"]
    with s.app.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alembic_version"))
    s.runtime.submissions.stop()  # the writer and the assessor gone: not ready, and it says so
    gone = s.client.get("/readyz").json()
    assert {"migrations", "thread:writer", "thread:assessor"} <= set(gone["failed"])
    assert s.client.get("/healthz").status_code == 200  # still alive: a restart is the orchestrator's call


def test_ready_turns_503_when_a_queue_passes_its_limit(database_url: str, tmp_path: Path) -> None:
    for s in service_for(database_url, tmp_path, ready_queue=1000):
        s.runtime.ready_ttl = 0.0
        assert s.client.get("/readyz").json()["checks"]["queue:writes"] == "0 waiting"
        s.runtime.submissions.waiting = lambda: {"writes": 1001, "assessments": 3}  # type: ignore[method-assign]
        body = s.client.get("/readyz")
        assert body.status_code == 503 and body.json()["failed"] == ["queue:writes"]
        assert body.json()["checks"]["queue:writes"] == "1001 waiting, more than 1000"


# --- logs ---


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


def test_every_route_logs_json_with_its_request_id_and_no_personal_data(
    service: Service, captured: io.StringIO
) -> None:
    s = service
    answer = s.submit([personal_example("PII-1"), personal_example("PII-2") | {"currency": "XXX"}])
    cid = answer.json()["results"][0]["registration_id"]
    traced = s.client.get(f"/v1/consignments/{cid}", headers=s.alpha | {"X-Request-Id": "trace-me-42"})
    assert traced.headers["x-request-id"] == "trace-me-42"
    invented = s.client.get("/healthz", headers={"X-Request-Id": "no spaces allowed"}).headers["x-request-id"]
    assert invented != "no spaces allowed" and len(invented) == 32
    s.client.get("/ui/login")
    for method, path in _routes(s):  # every route, with the consignment's id where a route takes one
        url = path.replace("{consignment_id:str}", cid).replace("{consignment_id}", cid)
        url = "/".join(part if not part.startswith("{") else "x" for part in url.split("/"))
        s.client.request(method, url, headers=_headers(s, path) | {"Content-Type": "application/json"},
                         content=json.dumps({"name": PERSONAL["name"], "note": PERSONAL["email"]}))  # fmt: skip
    s.runtime.submissions.drain()
    text = captured.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line["event"] == "request"]
    assert len(requests) >= len(_routes(s)), "every request leaves one line"
    assert all(
        {"time", "level", "request_id", "method", "route", "status", "duration_ms"} <= r.keys() for r in requests
    )
    mine = next(r for r in requests if r["request_id"] == "trace-me-42")
    assert mine["tenant"] and mine["client"] and mine["route"] == "/v1/consignments/{consignment_id}"
    assert mine["consignment_id"] == cid
    filed = next(line for line in lines if line["event"] == "filed")
    assert cid in filed["registration_ids"] and filed["count"] == 2 and filed["request_id"]
    for value in PERSONAL.values():
        assert value not in text and value.split()[-1] not in text, f"{value!r} reached the log"
    assert "Schmidt" not in text and "Hauptstr" not in text


# --- traces ---


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(id_generator=traces.PrivateIds())  # as `configure` makes it
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # once per process: the API's proxy tracer follows it
    yield exporter
    exporter.shutdown()  # the rest of the session's spans are dropped, not kept


def test_a_filing_is_one_trace_from_the_request_to_each_assessment_stage(
    spans: InMemorySpanExporter, service: Service
) -> None:
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        pytest.skip("another tracer provider was set first in this process")
    spans.clear()
    s = service
    assert s.submit([example(reference="TRACE-1")]).status_code == 201
    finished = spans.get_finished_spans()
    by_name = {span.name: span for span in finished}
    server = by_name["POST /v1/consignments"]
    children = {span.name for span in finished if span.parent and span.parent.span_id == server.context.span_id}
    assert {"validate", "store"} <= children
    assess = by_name["assess"]
    assert assess.context.trace_id == server.context.trace_id  # after the answer, still the request's trace
    inside = {span.name for span in finished if span.context.trace_id == server.context.trace_id}
    stages = {stage.name for stage in s.app.pipeline.stages}  # type: ignore[attr-defined]
    assert {f"stage {name}" for name in stages} <= inside
    assert {"history", "pipeline", "record decisions"} <= inside
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 201


# --- backups ---


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")} | {"CLEARWAY_HOME": str(home)}
    run = [sys.executable, "-m", "clearway", *args]
    return subprocess.run(run, env=base | (env or {}) | {"COLUMNS": "200"}, capture_output=True, text=True)


def test_a_backup_taken_under_load_restores_with_every_acknowledged_consignment(tmp_path: Path) -> None:
    home, fresh = tmp_path / "home", tmp_path / "fresh"
    acked: list[str] = []
    with serving(home, {"CLEARWAY_COOKIE_SECURE": "0"}) as server:
        add = _cli(home, "clients", "add", "loader", "--role", "platform")
        secret = json.loads(add.stdout)
        form = {"grant_type": "client_credentials"} | {k: secret[k] for k in ("client_id", "client_secret")}
        token = httpx.post(f"{server.url}/v1/oauth/token", data=form).json()
        headers = {"Authorization": f"Bearer {token['access_token']}", "Content-Type": "application/x-ndjson"}
        stop = threading.Event()

        def load() -> None:
            n = 0
            with httpx.Client(base_url=server.url, timeout=60) as http:
                while not stop.is_set():
                    body = "\n".join(json.dumps(example(reference=f"B-{n}-{i}")) for i in range(20))
                    answer = http.post("/v1/consignments", content=body, headers=headers | {"Idempotency-Key": f"b{n}"})
                    if answer.status_code in (200, 201):
                        acked.extend(r["registration_id"] for r in answer.json()["results"])
                    n += 1

        loader = threading.Thread(target=load)
        loader.start()
        while len(acked) < 100:
            threading.Event().wait(0.05)
        at_backup = set(acked)  # acknowledged before the backup began
        backed = _cli(home, "backup", "--out", str(tmp_path / "copy.db"))
        assert backed.returncode == 0, backed.stderr
        during = len(acked) - len(at_backup)
        stop.set()
        loader.join()
    fresh.mkdir()
    for key in ("ledger.key", "secret.key"):  # kept apart from the backup, as the docs say
        (fresh / key).write_bytes((home / key).read_bytes())
    restored = _cli(fresh, "restore", str(tmp_path / "copy.db"))
    assert restored.returncode == 0, restored.stderr
    engine = sa.create_engine(f"sqlite:///{fresh / 'clearway.db'}")
    with engine.connect() as conn:
        present = {row[0] for row in conn.execute(sa.text("SELECT id FROM consignments"))}
    engine.dispose()
    assert at_backup <= present  # every one acknowledged before the backup began is in it
    assert during > 0, "the load went on while the backup was taken"
    audit = _cli(fresh, "ledger", "audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    again = _cli(fresh, "restore", str(tmp_path / "copy.db"))
    assert again.returncode == 2 and "--force" in again.stderr + again.stdout  # never over a live store silently
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    junk = _cli(tmp_path / "other", "restore", str(tmp_path / "junk.db"))
    assert junk.returncode == 2 and "not an SQLite database" in junk.stderr + junk.stdout


def test_backup_of_postgresql_points_to_its_own_tools(tmp_path: Path) -> None:
    env = {"CLEARWAY_DATABASE_URL": "postgresql://clearway:s3cret@db.example/clearway"}
    done = _cli(tmp_path, "backup", "--out", str(tmp_path / "x.db"), env=env)
    said = done.stderr + done.stdout
    assert done.returncode == 2 and "pg_dump" in said and "s3cret" not in said


# --- configuration ---


def test_the_configuration_reference_is_generated_from_the_settings() -> None:
    check_declared()
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), "regenerate: clearway config doc > docs/configuration.md"
    used = set()
    for source in (ROOT / "src" / "clearway").rglob("*.py"):
        used |= {word for word in source.read_text(encoding="utf-8").split('"') if word.startswith("CLEARWAY_")}
    declared = {s.env for s in SETTINGS} | {"CLEARWAY_HOME"}
    assert {u for u in used if u.isupper() and " " not in u} - declared <= {"CLEARWAY_MAPPING"}


def test_config_check_names_what_is_wrong_and_hides_secrets(tmp_path: Path) -> None:
    url = "postgresql://clearway:s3cret@db.example/clearway"
    missing = tmp_path / "missing.csv"
    bad = _cli(tmp_path, "config", "check", env={"CLEARWAY_DATABASE_URL": url, "CLEARWAY_WATCHLIST": str(missing)})
    assert bad.returncode == 2
    assert f"CLEARWAY_WATCHLIST: no file at {missing}" in bad.stdout
    assert "s3cret" not in bad.stdout and "***" in bad.stdout
    limits = _cli(tmp_path, "config", "check", env={"CLEARWAY_TENANT_QUEUE": "-5"})
    assert limits.returncode == 2 and "CLEARWAY_TENANT_QUEUE must be greater than 0" in limits.stdout
    broken = _cli(tmp_path, "config", "check", env={"CLEARWAY_DATABASE_URL": "postgresql://u:s3cret@h:notaport/d"})
    assert broken.returncode == 2 and "not a database URL" in broken.stdout
    assert "Traceback" not in broken.stdout + broken.stderr and "s3cret" not in broken.stdout
    endless = _cli(tmp_path, "config", "check", env={"CLEARWAY_SHUTDOWN_GRACE": "inf"})
    assert endless.returncode == 2 and "must be a finite number" in endless.stdout
    good = _cli(tmp_path, "config", "check")
    assert good.returncode == 0, good.stdout


# --- graceful shutdown ---


def test_sigterm_under_load_loses_no_acknowledged_consignment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    acked: list[str] = []
    refused: list[str] = []
    # a grace shorter than the backlog: the assessor ends its batch at a step, what is left stays registered
    with serving(home, {"CLEARWAY_COOKIE_SECURE": "0", "CLEARWAY_SHUTDOWN_GRACE": "1"}) as server:
        secret = json.loads(_cli(home, "clients", "add", "busy", "--role", "platform").stdout)
        form = {"grant_type": "client_credentials"} | {k: secret[k] for k in ("client_id", "client_secret")}
        token = httpx.post(f"{server.url}/v1/oauth/token", data=form).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

        def load(worker: int) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                for n in range(10_000):
                    body = "\n".join(json.dumps(example(reference=f"T-{worker}-{n}-{i}")) for i in range(50))
                    try:
                        answer = http.post("/v1/consignments", content=body,
                                           headers=headers | {"Idempotency-Key": f"t{worker}-{n}"})  # fmt: skip
                    except httpx.HTTPError as exc:  # the server went away: not acknowledged, nothing promised
                        refused.append(type(exc).__name__)
                        return
                    if answer.status_code in (200, 201):
                        acked.extend(r["registration_id"] for r in answer.json()["results"])
                    else:
                        refused.append(str(answer.status_code))

        loaders = [threading.Thread(target=load, args=(w,)) for w in range(3)]
        for loader in loaders:
            loader.start()
        while len(acked) < 300:
            threading.Event().wait(0.05)
        server.process.terminate()  # SIGTERM, with requests in flight and work queued
        code = server.process.wait(timeout=60)  # uvicorn ends by re-raising the signal once it has shut down
        assert code in (0, -15) and "Application shutdown complete" in server.output(), server.output()[-3000:]
        assert "did not stop in time" not in server.output()  # it stopped itself, it was not killed
        for loader in loaders:
            loader.join()
    assert acked and refused  # work was acknowledged, and the load outlived the server
    with serving(home, {"CLEARWAY_COOKIE_SECURE": "0"}):  # the restart assesses what the stop left registered
        engine = sa.create_engine(f"sqlite:///{home / 'clearway.db'}")
        waited_until = time.monotonic() + 60  # its assessor works through the backlog after the server answers
        while True:
            with engine.connect() as conn:
                status = dict(conn.execute(sa.text("SELECT id, status FROM consignments")).all())  # type: ignore[arg-type]
            if "registered" not in status.values() or time.monotonic() > waited_until:
                break
            time.sleep(0.2)
        engine.dispose()
    assert set(acked) <= status.keys()  # every acknowledged consignment is stored
    left = [cid for cid in acked if status[cid] == "registered"]
    assert not left, f"{len(left)} acknowledged consignments were not assessed after the restart"


# --- the container image and the reference topology ---


def _commands_of(app: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    import typer.main

    group = typer.main.get_command(app)
    found: set[tuple[str, ...]] = set()

    def walk(command: Any, path: tuple[str, ...]) -> None:
        found.add(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(group, prefix)
    return found


def test_an_idle_connection_outlives_the_clients_own_keep_alive(tmp_path: Path) -> None:
    """A client reuses an idle connection for up to its own keep-alive (httpx: 5 s). Were the server to close
    it first (uvicorn's default is those same 5 s), a request sent at that moment would fail on a closed
    connection: one in 1,500 did at 150 requests a second (`python -m bench openloop`)."""
    with serving(tmp_path / "home") as server:
        connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=10)
        connection.request("GET", "/v1/ledger/key")
        assert connection.getresponse().read()
        assert connection.sock is not None
        opened = connection.sock.getsockname()
        time.sleep(6)  # longer than httpx keeps a connection, and than uvicorn would
        connection.request("GET", "/v1/ledger/key")  # on the same socket, unless it was closed under us
        answer = connection.getresponse()
        assert answer.status == 200 and answer.read()
        assert connection.sock is not None and connection.sock.getsockname() == opened
        connection.close()


def test_the_image_and_the_compose_file_name_only_commands_and_settings_that_exist() -> None:
    import yaml

    from clearway.cli import app as cli

    commands = _commands_of(cli)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "USER clearway" in dockerfile and "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert dockerfile.count("FROM ") >= 2  # multi-stage: the build tools stay behind
    cmd = json.loads(dockerfile.split("\nCMD ", 1)[1].splitlines()[0])
    assert tuple(cmd[:1]) in commands and json.loads(dockerfile.split("\nENTRYPOINT ", 1)[1].splitlines()[0]) == [
        "clearway"
    ]
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    declared = {s.env for s in SETTINGS} | {"CLEARWAY_HOME"}
    services = compose["services"]
    assert {"postgres", "kafka", "api", "worker", "prometheus"} <= services.keys()
    for name, service in services.items():
        for variable in service.get("environment") or {}:
            assert not variable.startswith("CLEARWAY_") or variable in declared, f"{name}: unknown {variable}"
        command = service.get("command")
        if service.get("image", "").startswith("clearway") or service.get("build"):
            words = tuple(w for w in command if not w.startswith("-"))
            assert any(words[: len(c)] == c for c in commands if c), f"{name}: `clearway {' '.join(command)}`"
            for option in (w for w in command if w.startswith("--")):
                assert option in _help(command), f"{name}: `{option}` is not an option of `{' '.join(command)}`"
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    assert jobs["clearway-api"]["oauth2"]["token_url"].endswith("/v1/oauth/token")
    assert {job["metrics_path"] for job in jobs.values()} == {"/metrics"}


def _help(command: list[str]) -> str:
    words = [w for w in command if not w.startswith("-")][:2]
    for length in (2, 1):
        done = subprocess.run([sys.executable, "-m", "clearway", *words[:length], "--help"],
                              capture_output=True, text=True, env=os.environ | {"COLUMNS": "200"})  # fmt: skip
        if done.returncode == 0:
            return done.stdout
    return ""


def test_a_worker_answers_its_probes_and_metrics_on_a_port_of_its_own() -> None:
    from clearway.workers.health import Check, heartbeat_check, serve_probes

    beats = {"last": 0.0}
    server = serve_probes(0, lambda: [Check("database", True), heartbeat_check(beats["last"], 100.0, 60.0)],
                          host="127.0.0.1")  # fmt: skip
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert httpx.get(f"{url}/healthz").json() == {"status": "alive"}
        stuck = httpx.get(f"{url}/readyz")
        assert stuck.status_code == 503 and stuck.json()["failed"] == ["loop"]
        beats["last"] = 90.0
        assert httpx.get(f"{url}/readyz").status_code == 200
        assert (
            "process_cpu_seconds_total" in httpx.get(f"{url}/metrics").text
            or "python_info" in httpx.get(f"{url}/metrics").text
        )
    finally:
        server.shutdown()
        server.server_close()


def test_traced_spans_leave_the_random_modules_state_alone() -> None:
    """With tracing on, every span on every thread drew its ids from `random`'s shared state, and a seeded
    generator elsewhere (a property test running beside the assessor) saw its draws moved."""
    import random

    provider = TracerProvider(id_generator=traces.PrivateIds())
    before = random.getstate()
    with provider.get_tracer("test").start_as_current_span("outer"), provider.get_tracer("test").start_span("inner"):
        pass
    assert random.getstate() == before
