"""`python -m bench money`: a day of simulated parcels assessed (each assessment makes what is owed), then a
payment file naming each parcel's tracking number imported and matched, on SQLite and PostgreSQL. Printed:
payables, payments, how many matched whole, and the seconds and payments a second of the import."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from bench.intake import NOW
from clearway.auth.clients import Principal
from clearway.bootstrap import bootstrap
from clearway.intake.ndjson_reader import read_ndjson
from clearway.services import accounts
from clearway.services.ingest import ingest
from clearway.settings import Settings
from clearway.sim import simulate
from clearway.store import sqlite_url
from clearway.store import tables as t
from clearway.store.throwaway import available, postgres_server

OFFICER = Principal("bench-officer", "bench-officer", "officer", None, frozenset({"officer"}))


def _databases(postgres: bool) -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield "SQLite", sqlite_url(Path(tmp) / "money.db")
    if postgres and available() is None:
        with postgres_server() as url:
            yield "PostgreSQL", url


def _run(name: str, url: str, size: int) -> list[str]:
    with tempfile.TemporaryDirectory() as home:
        app = bootstrap(dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": home}), database_url=url))
        day = simulate(size, 23, NOW.date())
        ingest(app, "bench-platform", read_ndjson([r.line for r in day.records]), now=lambda: NOW)
        p, c = t.payables.c, t.consignments.c
        with app.store.engine.connect() as conn:
            owed = conn.execute(sa.select(c.transport_document_id, p.amount, p.currency)
                                .join(t.consignments, c.id == p.consignment_id)).all()  # fmt: skip
        lines = ["payer,reference,amount,currency,paid_on"]
        lines += [f"bench-payer,{doc},{amount},{currency},{NOW.date()}" for doc, amount, currency in owed]
        start = time.perf_counter()
        done = accounts.import_payments(app, OFFICER, "\n".join(lines).encode(), "csv", NOW)
        seconds = time.perf_counter() - start
        with app.store.engine.connect() as conn:
            paid = conn.execute(sa.select(sa.func.count()).where(p.state == "paid")).scalar_one()
        app.store.engine.dispose()
    return [name, f"{len(owed):,}", f"{done['recorded']:,}", f"{paid:,}", f"{len(done['unmatched']):,}",
            f"{seconds:.1f}", f"{done['recorded'] / seconds:,.0f}"]  # fmt: skip


def run(size: int, *, postgres: bool) -> None:
    console = Console()
    table = Table("database", "payables", "payments", "paid whole", "unmatched", "import s", "payments/s",
                  title="A payment file matched to a day's payables")  # fmt: skip
    for name, url in _databases(postgres):
        console.print(f"{name}: assessing {size:,} parcels, then importing a payment for each payable ...")
        table.add_row(*_run(name, url, size))
    console.print(table)
