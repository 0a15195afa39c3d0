"""`python -m bench fairness`: does one tenant's flood slow another tenant's single submissions?

A real `clearway serve` on loopback. The quiet tenant sends one consignment every `--every` seconds,
first alone, then while the flooding tenant keeps four 1,000-consignment NDJSON batches in flight (the
attack of issue 17), from a process of its own (as another client would be). Printed: the quiet tenant's
latency (p50, p99, max) alone and under the flood, their ratio, and what the flood got through
(acknowledged consignments a second, 429 answers). The server runs with its defaults (per-tenant
consignment rate, per-tenant queue bound, round-robin writer and assessor, short requests first: bulk work
gives way to them, `workers/priority.py`), and again with each `--tenant-rate` (CLEARWAY_CONSIGNMENT_RATE)
asked for.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from tests.integration.server import serving

from bench.intake import NOW, _database
from clearway.auth.clients import add_client
from clearway.sim import simulate
from clearway.store import make_engine, sqlite_url, upgrade
from clearway.store.throwaway import available, postgres_server


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _token(url: str, client: dict[str, Any]) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]}  # fmt: skip
    token = httpx.post(f"{url}/v1/oauth/token", data=form, timeout=30).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}


def _singles(url: str, headers: dict[str, str], lines: list[bytes], every: float, tag: str) -> list[float]:
    """One request every `every` seconds (open loop: the schedule does not wait for slow answers)."""
    latencies: list[float] = []
    start = time.perf_counter()
    with httpx.Client(base_url=url, timeout=120) as http:
        for n, line in enumerate(lines):
            delay = start + n * every - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter()
            answer = http.post("/v1/consignments", content=line, headers=headers | {"Idempotency-Key": f"{tag}{n}"})
            answer.raise_for_status()
            latencies.append(1000 * (time.perf_counter() - sent))
    return latencies


def _flood(url: str, headers: dict[str, str], lines: list[bytes], stop: Any) -> dict[str, float]:
    batches = [b"\n".join(lines[i : i + 1000]) for i in range(0, len(lines), 1000)]
    counts = {"acked": 0.0, "refused": 0.0}
    lock = threading.Lock()
    turn = iter(range(10**9))

    def run() -> None:
        with httpx.Client(base_url=url, timeout=300) as http:
            while not stop.is_set():
                n = next(turn)
                answer = http.post("/v1/consignments", content=batches[n % len(batches)],
                                   headers=headers | {"Idempotency-Key": f"flood-{n}"})  # fmt: skip
                with lock:
                    if answer.status_code == 429:
                        counts["refused"] += 1
                        time.sleep(min(2.0, float(answer.headers.get("retry-after", "1"))))
                    else:
                        answer.raise_for_status()
                        counts["acked"] += answer.json()["accepted"] + answer.json()["rejected"]

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join()
    counts["seconds"] = time.perf_counter() - started
    return counts


def _measure(
    name: str, db_url: str, flood_lines: list[bytes], quiet: list[bytes], every: float, rate: float | None
) -> dict[str, Any]:
    engine = make_engine(db_url)
    upgrade(engine)
    flooder, quiet_one = add_client(engine, "flood-market", "platform"), add_client(engine, "quiet-post", "postal")
    engine.dispose()
    half = len(quiet) // 2
    env = {"CLEARWAY_DATABASE_URL": db_url, "CLEARWAY_SHUTDOWN_GRACE": "5"} | (
        {"CLEARWAY_CONSIGNMENT_RATE": str(rate)} if rate else {}
    )  # what the flood left unassessed at the end is the next start's (the bench measures the quiet tenant)
    with tempfile.TemporaryDirectory() as home, serving(Path(home), env, stop_within=300) as server:
        quiet_headers = _token(server.url, quiet_one)
        alone = _singles(server.url, quiet_headers, quiet[:half], every, "alone-")
        # the flood is another client: its own process, so its threads (decoding 1,000-result answers) do
        # not share an interpreter lock with the quiet client and blur what the quiet one measures
        context = multiprocessing.get_context("spawn")
        stop, results = context.Event(), context.Queue()
        flooding = context.Process(
            target=_flood_process, args=(server.url, _token(server.url, flooder), flood_lines, stop, results)
        )
        flooding.start()
        time.sleep(3.0)  # the flood's queues fill first
        under = _singles(server.url, quiet_headers, quiet[half:], every, "under-")
        stop.set()
        flood: dict[str, float] = results.get(timeout=300)
        flooding.join()
    return {"database": name, "alone": alone, "under": under, **flood}


def _flood_process(url: str, headers: dict[str, str], lines: list[bytes], stop: Any, results: Any) -> None:
    # A flooding client runs on its own machine: here it shares the server's cores, so it runs at the lowest
    # CPU priority, and what the quiet tenant measures is the server's fairness, not this process's CPU.
    os.nice(19)
    results.put(_flood(url, headers, lines, stop))


def run(size: int, singles: int, every: float, *, postgres: bool, rates: list[float | None]) -> None:
    console = Console()
    console.print(f"simulating {size:,} consignments for the flood and {singles} for the quiet tenant ...")
    lines = [r.line for r in simulate(size + singles, 17, NOW.date()).records]
    flood_lines, quiet = lines[:size], lines[size:]
    results = []
    for rate in rates:
        label = f"{rate:,.0f}/s" if rate else "default"
        with tempfile.TemporaryDirectory() as tmp:
            console.print(f"SQLite, tenant rate {label} ...")
            db = sqlite_url(Path(tmp) / "fair.db")
            results.append(_measure(f"SQLite, {label}", db, flood_lines, quiet, every, rate))
            if postgres and available() is None:
                console.print(f"PostgreSQL, tenant rate {label} ...")
                with postgres_server() as pg:
                    pg_db = _database(pg, "fair")
                    results.append(_measure(f"PostgreSQL, {label}", pg_db, flood_lines, quiet, every, rate))
    table = Table(title=f"the quiet tenant's single submissions (one every {every:g} s), alone and under a flood")
    columns = ("database, tenant rate", "alone p50 ms", "alone p99 ms", "flood p50 ms", "flood p99 ms",
               "flood max ms", "p99 ratio", "flood acked/s", "flood 429s")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column.startswith("database") else "right")
    for r in results:
        alone_p99, under_p99 = _pct(r["alone"], 0.99), _pct(r["under"], 0.99)
        table.add_row(
            r["database"], f"{statistics.median(r['alone']):.1f}", f"{alone_p99:.1f}",
            f"{statistics.median(r['under']):.1f}", f"{under_p99:.1f}", f"{max(r['under']):.1f}",
            f"{under_p99 / alone_p99:.1f}x", f"{r['acked'] / r['seconds']:,.0f}", f"{r['refused']:.0f}",
        )  # fmt: skip
    console.print(table)
