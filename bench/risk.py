"""The risk benchmark: recall and precision per injected violation at the configured stop rate, and
throughput with every stage on, on simulator seeds that were not used for tuning (default 101, 202)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import msgspec
import polars as pl
from rich.console import Console
from rich.table import Table

from clearway.bootstrap import App, bootstrap, load_selectivity
from clearway.services.demo import run_demo
from clearway.settings import Settings
from clearway.sim.writer import write_watchlist

DAY = dt.date(2026, 11, 16)


def _stop_rate(size: int, seed: int, scale: float) -> float:
    """The overall yellow + red share of one simulated day with the office's capacity scaled by `scale`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        app = _app(out, scale)
        result = run_demo(app, size=size, seed=seed, day=DAY, out=out, now=lambda: dt.datetime.now(dt.UTC))
    decisions = result.report.decision_frame()
    return decisions.filter(pl.col("lane").is_in(["yellow", "red"])).height / max(decisions.height, 1)


def _app(out: Path, scale: float) -> App:
    settings = dataclasses.replace(
        Settings.from_env({}), database_url=f"sqlite:///{out / 'clearway.db'}", ledger_key=out / "ledger.key"
    )
    app = bootstrap(settings, watchlist=write_watchlist(out))  # screen against the simulator's list
    if scale != 1.0 and app.selectivity is not None:
        s = app.selectivity
        app.selectivity = dataclasses.replace(s, capacity_yellow=s.capacity_yellow * scale,
                                              capacity_red=s.capacity_red * scale)  # fmt: skip
        app.pipeline = app.rebuild()
    return app


def calibrate(size: int, target: float, seed: int = 7) -> float:
    """The capacity scale that brings the overall stop rate to `target` on a tuning seed (not one measured):
    stops beyond capacity are the non-discretionary ones (prohibitions, screening), so the discretionary
    share is lowered by the excess."""
    base = _stop_rate(size, seed, 1.0)
    s = load_selectivity()
    capacity = s.capacity_yellow + s.capacity_red
    return max(0.0, (capacity - (base - target)) / capacity)


def run(size: int, seeds: list[int], stop_rate: float | None = None) -> None:
    console = Console()
    scale = 1.0
    if stop_rate is not None:
        scale = calibrate(size, stop_rate)
        console.print(f"capacity scaled by {scale:.2f} for a {stop_rate:.0%} overall stop rate (tuned on seed 7)")
    caught: dict[str, Counter[str]] = defaultdict(Counter)
    stopped = flagged_right = assessed = 0
    seconds = 0.0
    submitted = 0
    decode_seconds = 0.0
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            console.print(f"seed {seed}: {size:,} consignments ...")
            app = _app(out, scale)
            result = run_demo(app, size=size, seed=seed, day=DAY, out=out, now=lambda: dt.datetime.now(dt.UTC))
            lines = [line for path in sorted((out / "aed").glob("*.ndjson")) for line in path.read_bytes().splitlines()]
            start = time.perf_counter()
            for line in lines:
                with contextlib.suppress(msgspec.DecodeError):
                    msgspec.json.decode(line)
            decode_seconds += time.perf_counter() - start
        sources = pl.col("reasons").list.eval(
            pl.element().struct.field("source").is_in(["rule", "detector", "screening"])
        )
        decisions = result.report.decision_frame().with_columns(sources.list.any().alias("flagged"))
        decisions = decisions.select("submitter", "reference", "lane", "flagged")
        labels = result.labels.join(decisions, on=["submitter", "reference"], how="left")
        for violation, lane, flagged in labels.select("violation", "lane", "flagged").iter_rows():
            outcome = "rejected" if lane is None else ("stopped" if lane in ("yellow", "red") else "missed")
            caught[violation][outcome] += 1
            caught[violation]["flagged"] += bool(flagged)
        stops = decisions.filter(pl.col("lane").is_in(["yellow", "red"]))
        stopped += stops.height
        flagged_right += stops.join(
            result.labels.select("submitter", "reference").unique(), on=["submitter", "reference"]
        ).height
        assessed += decisions.height
        seconds += result.report.seconds
        submitted += result.report.submitted
    table = Table(
        title=f"Injected violations at a {stopped / assessed:.1%} stop rate (seeds {', '.join(map(str, seeds))})"
    )
    for column in ("violation", "parcels", "flagged by a stage", "stopped", "rejected at intake", "recall"):
        table.add_column(column, justify="left" if column == "violation" else "right")
    for violation, counts in sorted(caught.items()):
        total = counts["stopped"] + counts["rejected"] + counts["missed"]
        found = counts["stopped"] + counts["rejected"]
        cells = [f"{total:,}", f"{counts['flagged']:,}", f"{counts['stopped']:,}", f"{counts['rejected']:,}"]
        table.add_row(violation, *cells, f"{found / total:.0%}")
    console.print(table)
    console.print(
        f"precision of stops (stopped parcels that carry an injected violation): {flagged_right / max(stopped, 1):.1%}"
    )
    rate, floor = submitted / seconds, submitted / decode_seconds
    console.print(
        f"every stage on: {rate:,.0f} consignments/s; msgspec decode alone {floor:,.0f}/s; ratio {floor / rate:.0f}x"
    )
