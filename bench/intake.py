"""The intake benchmark: each step of the demo path timed beside the cheapest way to do its job.

Floors: `msgspec decode` is the untyped decode of the same NDJSON lines (no validation); the storage
floors insert the same submission rows into a bare table with no logic around them (executemany on
SQLite, COPY on PostgreSQL). Ratio = floor rate / step rate: how many times slower than the floor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from clearway.bootstrap import bootstrap, build_pipeline, load_profiles
from clearway.gc_tuning import tune_gc
from clearway.intake.ndjson_reader import read_ndjson
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.revenue.packaged import load_revenue
from clearway.revenue.stage import RevenueStage
from clearway.services.ingest import ingest
from clearway.settings import Settings
from clearway.sim import simulate
from clearway.store import Store, make_engine, sqlite_url, upgrade
from clearway.store.bulk import insert_rows
from clearway.store.throwaway import available, postgres_server

NOW = dt.datetime(2026, 11, 16, 12, tzinfo=dt.UTC)
BATCH = 5000


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def cpu_seconds(fn: Callable[[], Any]) -> float:
    """The CPU time of one call, every thread of the process counted (Polars' pool included): what a rate
    "per core" divides by."""
    start = time.process_time()
    fn()
    return time.process_time() - start


@contextlib.contextmanager
def as_commands_run() -> Iterator[None]:
    """The garbage collector as `clearway ingest`, `demo` and `serve` set it (`tune_gc`), restored after: a step
    that measures what a command does runs with the command's collector (untuned, on a 20,000-parcel day,
    about 3,000 collections took 3 s of the ingest's 20; tuned, 28 took 0.6 s)."""
    thresholds = gc.get_threshold()
    tune_gc()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def best_of(fn: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    """The fastest of `runs` timed calls (as `timeit` reports): one run of a second or less swings by a fifth
    with whatever else the machine and the garbage collector do."""
    timings = [timed(fn) for _ in range(runs)]
    return min(timings, key=lambda t: t[0])


def _decode_or_none(line: bytes) -> Any:
    try:
        return msgspec.json.decode(line)
    except msgspec.DecodeError:
        return None


def _bare_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "bare_submissions", metadata,
        sa.Column("id", sa.String(32)), sa.Column("submitter", sa.String(64)),
        sa.Column("received_at", sa.DateTime(timezone=True)), sa.Column("reference", sa.String(64)),
        sa.Column("errors", sa.Text), sa.Column("raw", sa.LargeBinary),
    )  # fmt: skip


def _floor_rows(lines: list[bytes]) -> list[dict[str, Any]]:
    return [
        {"id": f"{i:032x}", "submitter": "bench", "received_at": NOW, "reference": f"R{i}", "errors": "[]", "raw": line}
        for i, line in enumerate(lines)
    ]


def _store_rate(url: str, submitted: list[Any]) -> float:
    engine = make_engine(url)
    upgrade(engine)
    store = Store(engine)
    seconds, _ = timed(
        lambda: [store.record_batch("bench", NOW, submitted[i : i + BATCH]) for i in range(0, len(submitted), BATCH)]
    )
    engine.dispose()
    return len(submitted) / seconds


def _floor_rate(url: str, lines: list[bytes]) -> float:
    engine = make_engine(url)
    metadata = sa.MetaData()
    table = _bare_table(metadata)
    metadata.create_all(engine)
    rows = _floor_rows(lines)

    def load() -> None:
        for i in range(0, len(rows), BATCH):
            with engine.begin() as conn:
                insert_rows(conn, table, rows[i : i + BATCH])

    seconds, _ = timed(load)
    engine.dispose()
    return len(rows) / seconds


@contextlib.contextmanager
def _sqlite(name: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield sqlite_url(Path(tmp) / f"{name}.db")


def run(size: int, seed: int, *, postgres: bool) -> None:
    console = Console()
    console.print(f"simulating {size:,} consignments (seed {seed}) ...")
    lines = [r.line for r in simulate(size, seed, NOW.date()).records]
    rows: list[tuple[str, float, str, float]] = []

    decode_s, _ = timed(lambda: [_decode_or_none(line) for line in lines])
    decode_rate = size / decode_s
    validate_s, submitted = timed(lambda: list(read_ndjson(lines)))
    rows.append(("decode + validate", size / validate_s, "msgspec decode", decode_rate))

    accepted = [s for s in submitted if s.outcome.consignment is not None]
    batch_rows = [BatchRow(f"{i:032x}", "bench", NOW, s.outcome.consignment) for i, s in enumerate(accepted)]  # type: ignore[arg-type]
    frame_s, frame = timed(lambda: to_batch(batch_rows))
    rows.append(("build batch frame", len(accepted) / frame_s, "msgspec decode", decode_rate))
    pipeline = build_pipeline(load_profiles(None))
    assess_s, _ = timed(lambda: pipeline(frame, Context(as_of=NOW)))
    rows.append(("assess (rule stage)", len(accepted) / assess_s, "msgspec decode", decode_rate))
    revenue = RevenueStage(load_revenue())
    revenue_s, _ = timed(lambda: revenue.run(frame, Context(as_of=NOW)))
    rows.append(("assess (revenue stage)", len(accepted) / revenue_s, "msgspec decode", decode_rate))

    with _sqlite("store") as url, _sqlite("floor") as floor_url:
        rows.append(
            ("store on SQLite", _store_rate(url, submitted), "executemany, bare table", _floor_rate(floor_url, lines))
        )
    if postgres and available() is None:
        with postgres_server() as server:
            rate = _store_rate(_database(server, "store"), submitted)
            rows.append(
                ("store on PostgreSQL", rate, "COPY, bare table", _floor_rate(_database(server, "floor"), lines))
            )
    elif postgres:
        console.print(f"[yellow]PostgreSQL rows skipped: {available()}[/]")

    with _sqlite("demo") as url:
        settings = dataclasses.replace(
            Settings.from_env({}), database_url=url, ledger_key=Path(url.rsplit("/", 1)[0][10:]) / "ledger.key"
        )
        app = bootstrap(settings)
        with as_commands_run():
            demo_s, _ = timed(lambda: ingest(app, "bench", read_ndjson(lines), now=lambda: NOW))
        rows.append(("whole demo path (SQLite)", size / demo_s, "msgspec decode", decode_rate))

    table = Table(title=f"clearway intake benchmark, {size:,} consignments")
    for column in ("step", "consignments/s", "floor", "floor/s", "ratio"):
        table.add_column(column, justify="left" if column in ("step", "floor") else "right")
    for step, rate, floor, floor_rate in rows:
        table.add_row(step, f"{rate:,.0f}", floor, f"{floor_rate:,.0f}", f"{floor_rate / rate:.1f}x")
    console.print(table)


def _database(server_url: str, name: str) -> str:
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name
