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

from clearway.bootstrap import App, bootstrap
from clearway.demo.run import run_demo
from clearway.settings import Settings
from clearway.sim.writer import write_watchlist

DAY = dt.date(2026, 11, 16)


def _app(out: Path) -> App:
    settings = dataclasses.replace(
        Settings.from_env({}), database_url=f"sqlite:///{out / 'clearway.db'}", ledger_key=out / "ledger.key"
    )
    return bootstrap(settings, watchlist=write_watchlist(out))  # screen against the simulator's list


def at_rate(decisions: pl.DataFrame, labels: pl.DataFrame, rate: float) -> tuple[pl.DataFrame, float, int]:
    """Recall per violation and precision if exactly `rate` of the assessed consignments were stopped: the
    riskiest first (red before yellow before the rest, then by score). Rejected at intake counts as found."""
    rank = {"red": 3, "yellow": 2, "blue": 1, "green": 0}
    order = decisions.with_columns(pl.col("lane").replace_strict(rank, default=0, return_dtype=pl.Int8).alias("r"))
    top = order.sort(["r", "score"], descending=True).head(round(rate * decisions.height))
    on = ["seed", "submitter", "reference"]
    chosen = top.select(on).with_columns(pl.lit(True).alias("top"))
    joined = labels.join(decisions.select(*on, "lane"), on=on, how="left").join(chosen, on=on, how="left")
    per = (
        joined.group_by("violation")
        .agg(
            pl.len().alias("parcels"),
            (pl.col("top").fill_null(False) | pl.col("lane").is_null()).sum().alias("found"),
        )
        .sort("violation")
    )
    bad = labels.select(on).unique()
    precision = top.join(bad, on=on).height / max(top.height, 1)
    return per, precision, top.height


def run(size: int, seeds: list[int], stop_rate: float = 0.05) -> None:
    console = Console()
    frames: list[tuple[pl.DataFrame, pl.DataFrame]] = []
    caught: dict[str, Counter[str]] = defaultdict(Counter)
    stopped = flagged_right = assessed = referrals = 0
    seconds = 0.0
    submitted = 0
    decode_seconds = 0.0
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            console.print(f"seed {seed}: {size:,} consignments ...")
            app = _app(out)
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
        tag = pl.lit(str(seed)).alias("seed")  # references repeat from one simulated day to another
        frames.append((decisions.select("submitter", "reference", "lane", "score").with_columns(tag),
                       result.labels.with_columns(tag)))  # fmt: skip
        referred = pl.col("referrals").list.set_intersection(["carrier", "oga"]).list.len() > 0
        decisions = decisions.select("submitter", "reference", "lane", "flagged", referred.alias("referred"))
        labels = result.labels.join(decisions, on=["submitter", "reference"], how="left")
        for violation, lane, flagged, sent in labels.select("violation", "lane", "flagged", "referred").iter_rows():
            outcome = "rejected" if lane is None else ("stopped" if lane in ("yellow", "red") else "missed")
            caught[violation][outcome] += 1
            caught[violation]["flagged"] += bool(flagged)
            caught[violation]["referred"] += bool(sent) and outcome == "missed"
        referrals += decisions.filter(pl.col("referred") & ~pl.col("lane").is_in(["yellow", "red"])).height
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
    columns = ("violation", "parcels", "flagged by a stage", "stopped", "sent to carrier or agency",
               "rejected at intake", "recall", "recall with referrals")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "violation" else "right")
    for violation, counts in sorted(caught.items()):
        total = counts["stopped"] + counts["rejected"] + counts["missed"]
        found = counts["stopped"] + counts["rejected"]
        cells = [f"{total:,}", f"{counts['flagged']:,}", f"{counts['stopped']:,}", f"{counts['referred']:,}",
                 f"{counts['rejected']:,}"]  # fmt: skip
        table.add_row(violation, *cells, f"{found / total:.0%}", f"{(found + counts['referred']) / total:.0%}")
    console.print(table)
    console.print(
        f"not stopped but held for the carrier (dangerous goods it may not carry) or an agency: {referrals:,} "
        f"({referrals / max(assessed, 1):.1%}); they take no inspection capacity"
    )
    console.print(
        f"precision of stops (stopped parcels that carry an injected violation): {flagged_right / max(stopped, 1):.1%}"
    )
    all_decisions = pl.concat([d for d, _ in frames])
    per, precision, top = at_rate(all_decisions, pl.concat([lb for _, lb in frames]), stop_rate)
    at = Table(title=f"The same traffic at a {stop_rate:.0%} yellow + red rate: the riskiest {top:,} stopped "
                     "(red, then yellow, then by score)")  # fmt: skip
    for column in ("violation", "parcels", "found", "recall"):
        at.add_column(column, justify="left" if column == "violation" else "right")
    for violation, parcels, found in per.iter_rows():
        at.add_row(violation, f"{parcels:,}", f"{found:,}", f"{found / parcels:.0%}")
    console.print(at)
    console.print(f"precision at {stop_rate:.0%}: {precision:.1%}")
    rate, floor = submitted / seconds, submitted / decode_seconds
    console.print(
        f"every stage on: {rate:,.0f} consignments/s; msgspec decode alone {floor:,.0f}/s; ratio {floor / rate:.0f}x"
    )
