"""The demo: simulate a day, ingest and assess it submitter by submitter, summarise and report."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.demo.officers import inspect_held
from clearway.intake import read_bytes, read_path
from clearway.kpi import Period
from clearway.services.ingest import IngestReport, ingest
from clearway.services.manifests import arrive, file_manifests
from clearway.services.measurement import measure
from clearway.settings import Settings
from clearway.sim import simulate, write_day
from clearway.sim.manifests import carrier_copies, manifests
from clearway.sim.writer import LABEL_COLUMNS
from clearway.workers.checkpoints import checkpointing
from clearway.workers.offload import Offloaded

INSPECTION_CAPACITY = 0.01  # parcels the officers can open, as a share of the day's traffic


@dataclass
class DemoResult:
    size: int
    seed: int
    day: dt.date
    out: Path
    simulate_seconds: float
    report: IngestReport
    labels: pl.DataFrame  # submitter, reference, violation, detail
    inspected: int  # parcels the demo's officers inspected
    period: Period  # the days the run received consignments on
    figures: dict[str, pl.DataFrame]  # the KPIs of that period
    transport: dict[str, int]  # manifests, houses, released (on arrival; before), stayed, without data, rejected

    def lanes_by_violation(self) -> pl.DataFrame:
        """For each injected violation, how many parcels got each lane (rejected ones count as rejected)."""
        decisions = self.report.decision_frame()
        if decisions.is_empty() or self.labels.is_empty():
            return pl.DataFrame()
        joined = self.labels.join(
            decisions.select("submitter", "reference", "lane"), on=["submitter", "reference"], how="left"
        )
        return (
            joined.with_columns(pl.col("lane").fill_null("rejected"))
            .group_by("violation", "lane")
            .len()
            .pivot(on="lane", index="violation", values="len")
            .fill_null(0)
            .sort("violation")
        )


def run_demo(
    app: App,
    *,
    size: int,
    seed: int,
    day: dt.date,
    out: Path,
    now: Callable[[], dt.datetime],
    on_stage: Callable[[str, int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    assessor: Settings | None = None,
) -> DemoResult:
    """`on_stage(name, total)` announces each phase; `on_batch(n)` reports progress within it. With
    `assessor` (the settings the application was built from), a second process assesses each stored batch
    while this one stores the next (`workers/offload.py`). Throughout, a thread checkpoints an SQLite
    database, so that no filing's or arrival's commit pays for it (`workers/checkpoints.py`)."""
    with checkpointing(app.store.engine) as quiet:
        return _run(app, size, seed, day, out, now, on_stage, on_batch, assessor, quiet)


def _run(
    app: App, size: int, seed: int, day: dt.date, out: Path, now: Callable[[], dt.datetime],
    on_stage: Callable[[str, int], None] | None, on_batch: Callable[[int], None] | None,
    assessor: Settings | None, quiet: bool,
) -> DemoResult:  # fmt: skip
    started = now()
    with contextlib.ExitStack() as stack:  # the assessor's process boots while the day is simulated
        offloaded = None
        if assessor is not None:
            offloaded = stack.enter_context(Offloaded(app, assessor, now=now, quiet_commits=quiet))
        if on_stage:
            on_stage("simulating", size)
        simulated = simulate(size, seed, day)
        write_day(simulated, out)
        simulate_seconds = (now() - started).total_seconds()
        if on_batch:
            on_batch(size)
        if on_stage:
            on_stage("ingesting and assessing", len(simulated.records))
        sources = [(path.stem, read_path(path), on_batch) for path in sorted((out / "aed").glob("*.ndjson"))]
        sources += [(carrier, read_bytes(b"\n".join(lines), "ndjson"), None)  # one parcel, two filers
                    for carrier, lines in sorted(carrier_copies(simulated, seed).items())]  # fmt: skip
        total = IngestReport()
        if offloaded is None:
            for submitter, submitted, progress in sources:
                total.merge(ingest(app, submitter, submitted, now=now, on_batch=progress))
        else:
            for submitter, submitted, progress in sources:
                offloaded.ingest(submitter, submitted, on_batch=progress)
            total = offloaded.close()
    carried = manifests(simulated, seed)
    if on_stage:
        on_stage("manifests filed and arrived", sum(len(m["houses"]) for _, m in carried))
    transport = arrive_the_day(app, carried, now=now, on_batch=on_batch)
    labels = read_labels(out / "labels.csv")
    capacity = max(1, round(size * INSPECTION_CAPACITY))
    if on_stage:
        on_stage("inspecting (the demo's officers)", capacity)
    inspected = inspect_held(app, labels, capacity=capacity, seed=seed, now=now, on_batch=on_batch).parcels
    if on_stage:
        on_stage("computing the KPIs", 1)
    period = Period(started.date(), now().date())
    figures = measure(app, period)
    return DemoResult(size, seed, day, out, simulate_seconds, total, labels, inspected, period, figures, transport)


def arrive_the_day(
    app: App, carried: list[tuple[str, dict[str, Any]]], *, now: Callable[[], dt.datetime],
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Each carrier files its day's manifests in one request (a JSON array, as the API takes them), then
    reports each one arrived, as it would over the API."""
    done = {"manifests": 0, "houses": 0, "released": 0, "before": 0, "stayed": 0, "without_data": 0, "rejected": 0}
    filers: list[tuple[Principal, list[dict[str, Any]]]] = []
    for carrier, manifest in carried:
        role = "postal" if manifest["master"]["type"] == "s8" else "carrier"
        if not filers or (filers[-1][0].name, filers[-1][0].role) != (carrier, role):
            filers.append((Principal(carrier, carrier, role, None, frozenset()), []))
        filers[-1][1].append(manifest)
    for who, day in filers:
        filed = file_manifests(app, who, msgspec.json.encode(day), "application/json", now())
        for result in filed["results"]:
            if result["outcome"] == "rejected":
                done["rejected"] += 1
                continue
            arrived = arrive(app, who, result["manifest_id"], None, now())
            done["manifests"] += 1
            done["houses"] += result["houses"]
            done["released"] += arrived["released"]
            done["before"] += arrived["released_before_arrival"]
            done["stayed"] += len(arrived["stayed"])
            done["without_data"] += len(arrived["arrived_without_data"])
            if on_batch:
                on_batch(result["houses"])
    return done


def read_labels(path: Path) -> pl.DataFrame:
    """labels.csv as written by `sim.writer` (`LABEL_COLUMNS`); an empty value or item is null."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    frame = pl.DataFrame(rows, schema=dict.fromkeys(LABEL_COLUMNS, pl.String))
    blank = [pl.when(pl.col(c) != "").then(c).alias(c) for c in LABEL_COLUMNS[4:]]
    return frame.with_columns(blank).with_columns(pl.col("item").cast(pl.Int64))


def counts_by(frame: pl.DataFrame, column: str) -> Counter[str]:
    if frame.is_empty():
        return Counter()
    return Counter(dict(frame.group_by(column).len().iter_rows()))
