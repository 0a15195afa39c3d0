"""`python -m bench alone`: a day's parcels filed one a request against the same parcels filed in bulk.

A store holds a day of accepted history (`--history` parcels, ingested in bulk); the next day's first
`--singles` parcels are then ingested twice, each time into a copy of that store: one consignment a call (as
a platform filing parcel by parcel over the API is assessed) and in bulk. Printed per seed and way: the
parcels decided, the misclassified ones among them (the simulator's labels), the misclassification
detector's flags, its recall and precision, and how many parcels got the same verdict both ways. Seeds not
used for tuning; nothing in the detector was tuned on these figures.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from clearway.bootstrap import App, bootstrap
from clearway.intake.formats import read_bytes
from clearway.services.ingest import ingest
from clearway.settings import Settings
from clearway.sim import simulate
from clearway.sim.generator import Record
from clearway.sim.writer import write_watchlist
from clearway.store import tables as t

HISTORY_DAY, DAY = dt.date(2026, 11, 16), dt.date(2026, 11, 17)


def _app(folder: Path) -> App:
    settings = dataclasses.replace(
        Settings.from_env({"CLEARWAY_HOME": str(folder)}), database_url=f"sqlite:///{folder / 'clearway.db'}",
        ledger_key=folder / "ledger.key", watchlist=write_watchlist(folder), assessor="thread",
    )  # fmt: skip
    return bootstrap(settings)


def _in_bulk(app: App, records: list[Record], at: dt.datetime) -> None:
    by_submitter: dict[str, list[bytes]] = collections.defaultdict(list)
    for record in records:
        by_submitter[record.submitter].append(record.line)
    for submitter, lines in by_submitter.items():
        ingest(app, submitter, read_bytes(b"\n".join(lines), "ndjson"), now=_at(at))


def _at(instant: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: instant


def _flags(app: App, since: dt.datetime) -> dict[tuple[str, str], bool]:
    """Each decided parcel received from `since` on: whether the misclassification detector flagged it."""
    c, d = t.consignments.c, t.decisions.c
    with app.store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(c.submitter, c.reference, d.reasons)
            .join(t.decisions, d.consignment_id == c.id)
            .where(c.received_at >= since)
        ).all()
    return {(submitter, reference): "DET-MISCLASS" in reasons for submitter, reference, reasons in rows}


def run(history: int, singles: int, seeds: list[int]) -> None:
    console = Console(width=130)
    title = f"misclassification, filed alone and in bulk ({singles:,} parcels after {history:,} of history)"
    table = Table(title=title)
    for column in ("seed", "filed", "decided", "misclassified", "flagged", "recall", "precision", "same verdict"):
        table.add_column(column, justify="left" if column == "filed" else "right")
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="clearway-alone-") as tmp:
            base = Path(tmp) / "history"
            base.mkdir()
            _in_bulk(_app(base), simulate(history, seed, HISTORY_DAY).records,
                     dt.datetime.combine(DAY, dt.time(8), dt.UTC))  # fmt: skip
            day = simulate(singles * 2, seed + 1, DAY)
            records, at = day.records[:singles], dt.datetime.combine(DAY, dt.time(20), dt.UTC)
            misclassified = {(x.submitter, x.reference) for x in day.labels if x.violation == "misclassification"}
            found: dict[str, dict[tuple[str, str], bool]] = {}
            for way in ("alone", "in bulk"):
                folder = Path(tmp) / way.replace(" ", "-")
                shutil.copytree(base, folder)
                app = _app(folder)
                if way == "alone":
                    with Progress(console=console, transient=True) as progress:
                        task = progress.add_task(f"seed {seed}: one parcel a call", total=len(records))
                        for record in records:
                            ingest(app, record.submitter, read_bytes(record.line, "ndjson"), now=_at(at))
                            progress.advance(task)
                else:
                    _in_bulk(app, records, at)
                found[way] = _flags(app, at)
                app.store.engine.dispose()
            both = found["alone"].keys() & found["in bulk"].keys()
            same = sum(found["alone"][k] == found["in bulk"][k] for k in both)
            for way, flags in found.items():
                wrong = misclassified & flags.keys()
                flagged = {k for k, hit in flags.items() if hit}
                table.add_row(
                    str(seed), way, f"{len(flags):,}", f"{len(wrong):,}", f"{len(flagged):,}",
                    f"{len(flagged & wrong) / len(wrong):.2f}" if wrong else "-",
                    f"{len(flagged & wrong) / len(flagged):.2f}" if flagged else "-", f"{same:,} of {len(both):,}",
                )  # fmt: skip
    console.print(table)
