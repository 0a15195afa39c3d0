"""`python -m bench openloop`: single submissions at fixed request rates from an open-loop generator.

Each request is due at its own time (start + i / rate) whether or not the ones before were answered, and its
latency counts from that time to its answer: a server that falls behind shows it in the latency (no
coordinated omission, which a closed loop of clients waiting for answers would hide). One `clearway serve`
process over loopback, one platform sending one consignment a request (each assessed in the background by
the assessor's process); on SQLite and on a throwaway PostgreSQL. Prints p50, p99 and the share answered
in time per rate, how long after the last answer every parcel was assessed (the assessor keeping up, or
not), and the first rate whose p99 passes the bound (50 ms, issue 18). The generator runs on
the same machine and takes a share of its cores: the figures are a floor of what the service does alone.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench.api import _pct, _wait_assessed, served_platform
from bench.intake import NOW, _database
from clearway.sim import simulate
from clearway.store import sqlite_url
from clearway.store.throwaway import available, postgres_server

BOUND_MS = 50.0


async def _at_rate(url: str, headers: dict[str, str], lines: list[bytes], rate: float, tag: str) -> list[float]:
    """Latencies (ms) of `lines` sent one a request at `rate` a second, each timed from when it was due."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def send(i: int, line: bytes, due: float) -> None:
            try:
                answer = await http.post("/v1/consignments", content=line,
                                         headers=headers | {"Idempotency-Key": f"{tag}-{i}"})  # fmt: skip
                answer.raise_for_status()
                latencies.append(1000 * (time.perf_counter() - due))
            except httpx.HTTPError:
                latencies.append(math.inf)  # not answered, or refused: never within any bound

        start = time.perf_counter() + 0.05
        tasks = []
        for i, line in enumerate(lines):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(send(i, line, due)))
        await asyncio.gather(*tasks)
    return latencies


def _measure(name: str, url_of_db: str, lines: list[bytes], rates: list[float], seconds: float) -> list[tuple]:
    rows = []
    with served_platform(url_of_db) as (server, engine, bearer):
        headers = bearer | {"Content-Type": "application/json"}
        warm = lines[:100]
        asyncio.run(_at_rate(server.url, headers, warm, 50, f"{name}-warm"))
        offset = len(warm)
        for rate in rates:
            n = int(rate * seconds)
            batch = lines[offset : offset + n]
            offset += n
            ms = asyncio.run(_at_rate(server.url, headers, batch, rate, f"{name}-{rate}"))
            within = sum(v <= BOUND_MS for v in ms) / len(ms)
            failed = sum(math.isinf(v) for v in ms)
            behind = _wait_assessed(engine)  # the assessor's lag behind the last answer
            rows.append((name, rate, len(ms), _pct(ms, 0.5), _pct(ms, 0.99), max(ms), within, failed, behind))
            print(f"{name} {rate:g}/s: p99 {rows[-1][4]:.1f} ms, {failed} failed", flush=True)
    return rows


def run(rates: list[float], seconds: float, *, postgres: bool) -> None:
    console = Console(width=150)
    needed = 100 + int(sum(rates) * seconds)
    console.print(f"simulating {needed:,} consignments ...")
    lines = [r.line for r in simulate(needed, 11, NOW.date()).records]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        console.print("SQLite ...")
        results += _measure("SQLite", sqlite_url(Path(tmp) / "open.db"), lines, rates, seconds)
        if postgres and available() is None:
            console.print("PostgreSQL ...")
            with postgres_server() as server:
                results += _measure("PostgreSQL", _database(server, "open"), lines, rates, seconds)
        elif postgres:
            console.print(f"[yellow]PostgreSQL skipped: {available()}[/]")
    table = Table(title=f"single submissions from an open-loop generator, {seconds:g} s per rate")
    columns = ("database", "requests/s", "requests", "p50 ms", "p99 ms", "max ms", f"within {BOUND_MS:g} ms",
               "failed", "all assessed after (s)")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "database" else "right")
    for name, rate, n, p50, p99, top, within, failed, behind in results:
        table.add_row(name, f"{rate:g}", f"{n:,}", f"{p50:.1f}", f"{p99:.1f}", f"{top:.0f}", f"{within:.1%}",
                      f"{failed:,}", f"{behind:.1f}")  # fmt: skip
    console.print(table)
    for name in dict.fromkeys(r[0] for r in results):
        over = [r[1] for r in results if r[0] == name and r[4] > BOUND_MS]
        where = f"first passes {BOUND_MS:g} ms at {over[0]:g} requests/s" if over else "stays within at every rate"
        console.print(f"{name}: p99 {where}")
