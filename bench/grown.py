"""`python -m bench grown`: the write path on a store, and on the same store grown.

What a batch or a single filing costs must follow the batch, not the store: a platform's thousandth batch
should cost what its first did. For each store size, one platform's parcels are ingested in bulk first
(`--sizes`), with the office's record of inspections on them (`--per-parcel` inspections a parcel stored:
an office's year of inspections, most of them of other traffic, in a store of one platform's parcels;
recorded directly, as officers' findings would have been; those that found something on one parcel in a
hundred, so that the parties' records are as dense as on the pilot's days). Then the next `--batch`
parcels are ingested as a batch, three times, and `--singles` more one a call (stored, assessed, on the ledger), each
timed. Printed: per store size, the milliseconds a batch and a single filing took, and their ratio to the
first size's (a store with history at both: an empty one skips the stages that read history, and is
faster for that, not for its size). SQLite, whose planner has no statistics, so that a query read by the
wrong index grows with the store; PostgreSQL too unless `--no-postgres`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.intake import NOW, as_commands_run
from clearway.bootstrap import App, bootstrap
from clearway.intake.formats import read_bytes
from clearway.services.ingest import ingest
from clearway.settings import Settings
from clearway.sim import simulate
from clearway.sim.writer import write_watchlist
from clearway.store import offences, sqlite_url
from clearway.store import tables as t
from clearway.store.bulk import insert_columns
from clearway.store.throwaway import available, postgres_server

PLATFORM = "bench-market"
INFRINGING = 0.01  # of the stored parcels: those an inspection found infringing
BATCHES = 3  # batches timed at each size: one swings by a third with what else the machine does


@contextmanager
def _databases(postgres: bool) -> Iterator[list[tuple[str, Path]]]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        found = [("SQLite", tmp)]
        if postgres and available() is None:
            with postgres_server() as url:
                yield [*found, (url, tmp)]
            return
        yield found


def _app(url: str, folder: Path, size: int) -> App:
    home = folder / f"home-{size}-{time.monotonic_ns()}"
    home.mkdir()
    database = sqlite_url(home / "clearway.db") if url == "SQLite" else url
    settings = dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(home)}), database_url=database,
                                   ledger_key=home / "ledger.key", watchlist=write_watchlist(home))  # fmt: skip
    return bootstrap(settings)


def _inspections(app: App, count: int, seed: int) -> None:
    """`count` inspection records on the stored parcels, as the officers' findings of a year would be: those
    that found something on `INFRINGING` of the parcels (so that the parties' records are as dense as on
    the pilot's days), the rest compliant."""
    with app.store.engine.connect() as conn:
        ids = [row[0] for row in conn.execute(t.consignments.select().with_only_columns(t.consignments.c.id))]
    if not ids or not count:
        return
    draw = random.Random(seed)
    found = min(count, round(len(ids) * INFRINGING))
    outcomes = ["infringement"] * found + ["compliant"] * (count - found)
    columns = {
        "id": [f"bench{n:027d}" for n in range(count)],
        "consignment_id": [draw.choice(ids) for _ in range(count)],
        "officer": ["bench-officer"] * count,
        "at": [NOW - dt.timedelta(days=1)] * count,
        "method": ["physical"] * count,
        "scan_reference": [None] * count,
        "outcome": outcomes,
        "findings": ['[{"kind": "undervaluation"}]' if o == "infringement" else "[]" for o in outcomes],
        "event_id": [None] * count,
    }
    with app.store.engine.begin() as conn:
        insert_columns(conn, t.inspections, columns)
        # as `add_inspection` does: the infringing parcels' parties go on record (`store/offences.py`)
        found_in = [cid for cid, o in zip(columns["consignment_id"], outcomes, strict=True) if o != "compliant"]
        offences.mark(conn, found_in)


def _measure(app: App, lines: list[bytes], batch: int, singles: int) -> tuple[float, float]:
    """Milliseconds: the median of `BATCHES` batches of `batch` lines, then of `singles` single filings. A filing before
    them, untimed, has the unit-value reference made from the store (kept `UNIT_VALUES_TTL`, then made again
    from the last 90 days: once every quarter of an hour, whatever the traffic)."""
    later = NOW + dt.timedelta(hours=1)
    ingest(app, PLATFORM, read_bytes(lines[0], "ndjson"), now=lambda: later)
    lines = lines[1:]
    batches = []
    for start in range(0, BATCHES * batch, batch):
        started = time.perf_counter()
        ingest(app, PLATFORM, read_bytes(b"\n".join(lines[start : start + batch]), "ndjson"), now=lambda: later)
        batches.append((time.perf_counter() - started) * 1000)
    each = []
    for line in lines[BATCHES * batch : BATCHES * batch + singles]:
        started = time.perf_counter()
        ingest(app, PLATFORM, read_bytes(line, "ndjson"), now=lambda: later)
        each.append((time.perf_counter() - started) * 1000)
    return statistics.median(batches), statistics.median(each)


def run(sizes: list[int], per_parcel: float, batch: int, singles: int, postgres: bool = True) -> None:
    console = Console(width=150)
    most = max(sizes)
    console.print(f"simulating {most + BATCHES * batch + singles + 1:,} consignments ...")
    lines = [r.line for r in simulate(most + BATCHES * batch + singles + 1, 4242, NOW.date()).records]
    grown, fresh = lines[:most], lines[most:]
    table = Table(title=f"the write path as the store grows (median of {BATCHES} batches of {batch:,} parcels, "
                        f"and of {singles} single filings)")  # fmt: skip
    for column in ("database", "stored before", "inspections", "batch ms", "x first", "single ms", "x first"):
        table.add_column(column, justify="right")
    with _databases(postgres) as databases, Progress(console=console, transient=True) as progress, as_commands_run():
        task = progress.add_task("stores", total=len(databases) * len(sizes))
        for url, folder in databases:
            first: tuple[float, float] | None = None
            for size in sizes:
                app = _app(url, folder, size)
                app.pipeline.warm()  # the first call's start (models, tariffs) is not the store's size
                if size:
                    ingest(app, PLATFORM, read_bytes(b"\n".join(grown[:size]), "ndjson"), now=lambda: NOW)
                recorded = round(per_parcel * size)
                _inspections(app, recorded, size)
                batch_ms, single_ms = _measure(app, fresh, batch, singles)
                first = first or (batch_ms, single_ms)
                name = "SQLite" if url == "SQLite" else "PostgreSQL"
                table.add_row(name, f"{size:,}", f"{recorded:,}", f"{batch_ms:,.0f}", f"{batch_ms / first[0]:.2f}",
                              f"{single_ms:.1f}", f"{single_ms / first[1]:.2f}")  # fmt: skip
                app.store.engine.dispose()
                if url != "SQLite":  # one throwaway server: the next size starts from an empty schema
                    with app.store.engine.begin() as conn:
                        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
                progress.advance(task)
    console.print(table)
