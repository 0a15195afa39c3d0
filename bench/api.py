"""`python -m bench api`: the service over loopback, as clients see it (a real `clearway serve` process).

Bulk: batches of 1,000 consignments from 4 concurrent clients, consignments per second acknowledged
(committed) and assessed, and the CPU each consignment cost the service's processes (the API and its
assessor) and the database server's, from acknowledgement to assessment (Linux: read from /proc; a dash
elsewhere). Single: one consignment a request, sequential (latency p50/p99) and from 16 concurrent clients
(where group commit shows). On SQLite and on a throwaway PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from tests.integration.server import Server, serving

from bench.intake import NOW, _database
from clearway.auth.clients import add_client
from clearway.sim import simulate
from clearway.store import make_engine, sqlite_url, upgrade
from clearway.store import tables as t
from clearway.store.throwaway import available, postgres_server


def _processes() -> dict[int, tuple[int, str]]:
    """Each process's parent and command line, from /proc (empty where there is none)."""
    found: dict[int, tuple[int, str]] = {}
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                found[int(name)] = (parent, cmdline.read().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, ValueError, IndexError):
            continue  # gone since listed
    return found


def _tree(root: int, table: dict[int, tuple[int, str]]) -> set[int]:
    """`root` and its descendants."""
    members, grown = {root}, True
    while grown:
        more = {pid for pid, (parent, _) in table.items() if parent in members} - members
        members |= more
        grown = bool(more)
    return members


def _cpu(pids: set[int]) -> float:
    """CPU seconds the processes used, and their children that ended (reaped into them)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    return total


def _service_and_database(server: Server, url_of_db: str) -> tuple[set[int], set[int]]:
    """The service's processes (the API and its assessor) and the database server's (PostgreSQL's postmaster
    on the URL's port and its backends; none for SQLite, which runs inside the service)."""
    table = _processes()
    service = _tree(server.process.pid, table)
    port = sa.engine.make_url(url_of_db).port
    masters = [pid for pid, (_, cmd) in table.items() if port and "postgres" in cmd and f"-p {port} " in cmd + " "]
    database = set().union(*(_tree(pid, table) for pid in masters)) if masters else set()
    return service, database


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _parallel(workers: int, jobs: list[Any], work: Callable[[httpx.Client, Any], None], url: str) -> float:
    todo = iter(jobs)
    lock = threading.Lock()

    def run() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            while True:
                with lock:
                    job = next(todo, None)
                if job is None:
                    return
                work(http, job)

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


@contextlib.contextmanager
def served_platform(url_of_db: str) -> Iterator[tuple[Server, sa.Engine, dict[str, str]]]:
    """A `clearway serve` process on the database (no rate limits), its engine, and the bearer header of a
    platform client made for the run."""
    engine = make_engine(url_of_db)
    upgrade(engine)
    client = add_client(engine, "bench-market", "platform")
    with tempfile.TemporaryDirectory() as home:
        env = {"CLEARWAY_DATABASE_URL": url_of_db, "CLEARWAY_RATE": "1000000", "CLEARWAY_CONSIGNMENT_RATE": "1000000"}
        with serving(Path(home), env) as server:
            form = {"grant_type": "client_credentials", "client_id": client["client_id"],
                    "client_secret": client["client_secret"]}  # fmt: skip
            token = httpx.post(f"{server.url}/v1/oauth/token", data=form).json()["access_token"]
            yield server, engine, {"Authorization": f"Bearer {token}"}
    engine.dispose()


def _measure(name: str, url_of_db: str, lines: list[bytes], singles: int, progress: Progress) -> dict[str, Any]:
    with served_platform(url_of_db) as (server, engine, bearer):
        headers = bearer | {"Content-Type": "application/x-ndjson"}
        bulk_lines = lines[: len(lines) - 2 * singles]
        batches = [b"\n".join(bulk_lines[i : i + 1000]) for i in range(0, len(bulk_lines), 1000)]
        task = progress.add_task(f"{name}: bulk", total=len(batches))

        def post_batch(http: httpx.Client, job: tuple[int, bytes]) -> None:
            answer = http.post("/v1/consignments", content=job[1], headers=headers | {"Idempotency-Key": f"b{job[0]}"})
            answer.raise_for_status()
            progress.advance(task)

        service, database = _service_and_database(server, url_of_db)
        cpu_before = _cpu(service), _cpu(database)
        bulk_s = _parallel(4, list(enumerate(batches)), post_batch, server.url)
        assessed_s = bulk_s + _wait_assessed(engine)
        later = _service_and_database(server, url_of_db)  # processes started meanwhile (backends, an assessor)
        service, database = service | later[0], database | later[1]
        cpu = [(_cpu(service) - cpu_before[0]) * 1000 / len(bulk_lines),
               (_cpu(database) - cpu_before[1]) * 1000 / len(bulk_lines) if database else None]  # fmt: skip
        latencies: list[float] = []
        task = progress.add_task(f"{name}: single", total=2 * singles)

        def post_one(http: httpx.Client, job: tuple[int, bytes]) -> None:
            started = time.perf_counter()
            answer = http.post("/v1/consignments", content=job[1], headers=headers | {"Idempotency-Key": f"s{job[0]}"})
            latencies.append(time.perf_counter() - started)
            answer.raise_for_status()
            progress.advance(task)

        singles_lines = list(enumerate(lines[len(bulk_lines) :]))
        _parallel(1, singles_lines[:singles], post_one, server.url)
        sequential = list(latencies)
        concurrent_s = _parallel(16, singles_lines[singles:], post_one, server.url)
        _wait_assessed(engine)
    return {
        "database": name, "bulk": len(bulk_lines) / bulk_s, "bulk_assessed": len(bulk_lines) / assessed_s,
        "p50": 1000 * statistics.median(sequential), "p99": 1000 * _pct(sequential, 0.99),
        "single_concurrent": singles / concurrent_s, "p99_concurrent": 1000 * _pct(latencies[singles:], 0.99),
        "cpu_service": cpu[0] if os.path.isdir("/proc") else None, "cpu_database": cpu[1],
    }  # fmt: skip


def _wait_assessed(engine: sa.Engine) -> float:
    started = time.perf_counter()
    while True:
        with engine.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).where(t.consignments.c.status == "registered")).scalar_one()
        if left == 0:
            return time.perf_counter() - started
        time.sleep(0.05)


def run(size: int, singles: int, *, postgres: bool) -> None:
    console = Console()
    console.print(f"simulating {size:,} consignments ...")
    lines = [r.line for r in simulate(size + 2 * singles, 7, NOW.date()).records]
    results = []
    with Progress(console=console) as progress, tempfile.TemporaryDirectory() as tmp:
        results.append(_measure("SQLite", sqlite_url(Path(tmp) / "api.db"), lines, singles, progress))
        if postgres and available() is None:
            with postgres_server() as server:
                results.append(_measure("PostgreSQL", _database(server, "api"), lines, singles, progress))
        elif postgres:
            console.print(f"[yellow]PostgreSQL skipped: {available()}[/]")
    table = Table(title=f"clearway API over loopback: {size:,} in bulk, {singles} + {singles} single submissions")
    for column in ("database", "bulk acked/s", "bulk assessed/s", "CPU ms/consignment (service + database)",
                   "single p50 ms", "single p99 ms", "single x16 /s", "x16 p99 ms"):  # fmt: skip
        table.add_column(column, justify="left" if column == "database" else "right")
    for r in results:
        table.add_row(r["database"], f"{r['bulk']:,.0f}", f"{r['bulk_assessed']:,.0f}", _cpu_text(r),
                      f"{r['p50']:.1f}", f"{r['p99']:.1f}", f"{r['single_concurrent']:,.0f}",
                      f"{r['p99_concurrent']:.1f}")  # fmt: skip
    console.print(table)


def _cpu_text(result: dict[str, Any]) -> str:
    """The service's and the database's CPU per consignment, and what two cores at that cost could assess."""
    if result["cpu_service"] is None:
        return "-"
    spent = result["cpu_service"] + (result["cpu_database"] or 0.0)
    parts = f"{result['cpu_service']:.2f}" + (f" + {result['cpu_database']:.2f}" if result["cpu_database"] else "")
    return f"{parts} (2 cores: at most {2000 / spent:,.0f}/s)" if spent else parts
