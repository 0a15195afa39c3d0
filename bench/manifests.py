"""`python -m bench manifests`: a day of simulated parcels filed and assessed, then one manifest listing them
(plus houses with no filing) arrived in one call, on SQLite and PostgreSQL. Printed: houses, parcels released
and staying, houses without data, and the seconds the arrival took (issue 21 asks for 10,000 houses in
under 5 s on SQLite)."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from bench.intake import NOW
from clearway.auth.clients import Principal
from clearway.bootstrap import bootstrap
from clearway.intake.ndjson_reader import read_ndjson
from clearway.services.ingest import ingest
from clearway.services.manifests import arrive, file_manifests
from clearway.settings import Settings
from clearway.sim import simulate
from clearway.store import sqlite_url
from clearway.store.throwaway import available, postgres_server

CARRIER = Principal("bench-carrier", "bench-carrier", "carrier", None, frozenset())


def _databases(postgres: bool) -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield "SQLite", sqlite_url(Path(tmp) / "manifests.db")
    if postgres and available() is None:
        with postgres_server() as url:
            yield "PostgreSQL", url


def _run(name: str, url: str, size: int, extra: int) -> list[str]:
    with tempfile.TemporaryDirectory() as home:
        settings = dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": home}), database_url=url)
        app = bootstrap(settings)
        day = simulate(size, 21, NOW.date())
        report = ingest(app, "bench-platform", read_ndjson([r.line for r in day.records]), now=lambda: NOW)
        documents: list[str] = []
        for record in day.records:
            try:
                doc = msgspec.json.decode(record.line)
                documents.append(doc["transport_document"]["id"])
            except (msgspec.DecodeError, KeyError, TypeError):
                continue
        houses = list(dict.fromkeys(d for d in documents if isinstance(d, str) and 0 < len(d) <= 35))
        houses += [f"NODATA{i:08d}" for i in range(extra)]
        manifest = {"reference": "BENCH-1", "master": {"type": "cmr", "id": "CMR-BENCH-1"},
                    "houses": [{"transport_document": {"type": "tracking", "id": h}} for h in houses]}  # fmt: skip
        filed_at = time.perf_counter()
        answer = file_manifests(app, CARRIER, msgspec.json.encode(manifest), "application/json", NOW)
        filed = time.perf_counter() - filed_at
        manifest_id = answer["results"][0]["manifest_id"]
        start = time.perf_counter()
        done = arrive(app, CARRIER, manifest_id, None, NOW)
        seconds = time.perf_counter() - start
        app.store.engine.dispose()
    del report
    return [name, f"{len(houses):,}", f"{done['released']:,}", f"{len(done['stayed']):,}",
            f"{len(done['arrived_without_data']):,}", f"{filed:.2f}", f"{seconds:.2f}",
            f"{len(houses) / seconds:,.0f}"]  # fmt: skip


def run(size: int, extra: int, *, postgres: bool) -> None:
    console = Console()
    table = Table("database", "houses", "released", "stay", "without data", "filing s", "arrival s", "houses/s",
                  title="One manifest arrived in one transaction")  # fmt: skip
    for name, url in _databases(postgres):
        console.print(f"{name}: filing and assessing {size:,} parcels, then the manifest ...")
        table.add_row(*_run(name, url, size, extra))
    console.print(table)
