"""Liveness and readiness: what a load balancer or an orchestrator asks before sending work.

Alive means the process answers. Ready means it can do its work now: the database answers, its schema is
the one this code migrates to, the threads that store, assess and deliver are running, the queues are under
their limit, and the ledger's signing key is loaded. Each check is named, so a 503 says which one failed;
nothing sensitive is shown (no URL, no path, no key)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from alembic.script import ScriptDirectory
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from clearway.bootstrap import App
from clearway.store.engine import StoreError, schema_revision
from clearway.store.migrate import MIGRATIONS


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = "ok"


@cache
def head_revision() -> str | None:
    """The revision this code migrates to (read once: the scripts ship with the package)."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def storage_checks(app: App) -> list[Check]:
    """The database answers, at the schema this code expects; the ledger can sign."""
    checks = []
    try:
        current = schema_revision(app.store.engine)
        checks.append(Check("database", True))
        head = head_revision()
        checks.append(
            Check("migrations", True)
            if current == head
            else Check(
                "migrations",
                False,
                f"schema at {current or 'none'}, this code expects {head}: run `clearway db upgrade`",
            )
        )
    except StoreError as exc:
        checks.append(Check("database", False, f"does not answer ({type(exc).__name__})"))
        checks.append(Check("migrations", False, "unknown: the database does not answer"))
    key = getattr(app.ledger, "key", None)
    checks.append(Check("ledger_key", True) if key is not None else Check("ledger_key", False, "no signer key"))
    return checks


class Alive(Protocol):
    """A thread, or the assessor's process: running or not."""

    def is_alive(self) -> bool: ...


def thread_checks(threads: Mapping[str, Alive | None]) -> list[Check]:
    return [
        Check(f"thread:{name}", True) if thread is not None and thread.is_alive()
        else Check(f"thread:{name}", False, "not running")
        for name, thread in threads.items()
    ]  # fmt: skip


def queue_checks(depths: Mapping[str, int], limit: int) -> list[Check]:
    return [
        Check(f"queue:{name}", True, f"{depth} waiting") if depth <= limit
        else Check(f"queue:{name}", False, f"{depth} waiting, more than {limit}")
        for name, depth in depths.items()
    ]  # fmt: skip


def report(checks: list[Check]) -> tuple[int, dict[str, object]]:
    """(HTTP status, body): 200 when every check passed, else 503 naming those that failed."""
    failed = [c.name for c in checks if not c.ok]
    body: dict[str, object] = {
        "status": "ready" if not failed else "not ready",
        "failed": failed,
        "checks": {c.name: c.detail for c in checks},
    }
    return (200 if not failed else 503), body


Probe = Callable[[], list[Check]]


def serve_probes(port: int, ready: Probe, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """`/healthz` and `/readyz` on a port of their own (for `clearway worker`, which has no HTTP API),
    answered from a daemon thread; returns the server (`shutdown()` stops it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body: dict[str, object]
            if self.path == "/metrics":
                text = generate_latest(REGISTRY)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)
                return
            if self.path == "/healthz":
                status, body = 200, {"status": "alive"}
            elif self.path == "/readyz":
                status, body = report(ready())
            else:
                status, body = 404, {"status": "not found"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # probes every few seconds are not news

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="clearway-probes", daemon=True).start()
    return server


def heartbeat_check(last: float, now: float, stale_after: float) -> Check:
    """A loop that beats (a worker's micro-batches): stale when it has not in `stale_after` seconds."""
    age = now - last
    return (
        Check("loop", True, f"last beat {age:.0f} s ago")
        if age <= stale_after
        else Check("loop", False, f"no beat for {age:.0f} s")
    )
