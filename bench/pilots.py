"""`python -m bench pilots`: the pilot (`clearway pilot`) over several worlds, for a targeting change judged on
seeds it was not tuned on, beside the code before it.

One world's day swings by several points when a handful of stops change, and the change runs on through the
days after (what was found teaches the records, the model and the sellers): pilot seed 5150's five days demanded
EUR 38,697 on one ranking of an area's candidates and EUR 24,139 on another that found more, while seed 31337 moved
the other way. A change is judged on the mean over several seeds, with its interval, not on one.

Each seed runs in a process of its own, `--jobs` at a time, on a fresh store, from this checkout's sources or from
other source trees (`--src name=path`: a `git worktree` of the commit before a change, say; its `clearway.demo.pilot`
must have `pilot_app`). Printed, per variant and day: the mean over the seeds, with its 95% interval (Student's t),
of the stop rate, the precision of targeted stops, the infringements found, the recall of each value-fraud type and
the duty and tax demanded, and the other risks' share stopped or held; on the last day, each seed's figures and
whether it meets issue 20's goal (`meets_goal`). With two variants or more, the paired difference from the first,
seed by seed. An HTML page charts the mean recall by day.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from scipy.stats import t as student

from clearway.cli.demo import OTHER_RISKS_SHORT, VALUE_FRAUD_SHORT
from clearway.sim.days import VALUE_FRAUD

SHORT = {violation: short for short, violation in VALUE_FRAUD_SHORT.items()}
"""Each value-fraud type's column header, as `clearway pilot` prints it."""
OTHER = {violation: short for short, violation in OTHER_RISKS_SHORT.items()}
"""The other risks, whose share of the stops a change to value-fraud targeting may take: stopped, or held for the
carrier or an agency instead (the consequence a carrier's or post's rule has)."""
GOAL = {"stop_rate": 0.05, "precision": 0.80, "recall": 0.5}
"""Issue 20's goal: stop rate at most 5% and precision of stops at least 0.80 from the first day, watch-listed parties
all stopped, each value-fraud type at 0.5 or more by the last day (`meets_goal`)."""
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Variant:
    name: str
    src: Path | None  # a source tree of clearway (its `src` folder), or None for the installed one


@dataclass
class Interval:
    mean: float
    half: float  # of the 95% interval; nan with fewer than two values

    def text(self, percent: bool = True, money: bool = False) -> str:
        if math.isnan(self.mean):
            return "–"
        if money:
            return f"{self.mean:,.0f}" + ("" if math.isnan(self.half) else f" ±{self.half:,.0f}")
        if percent:
            return f"{self.mean:.0%}" + ("" if math.isnan(self.half) else f" ±{self.half * 100:.0f}")
        return f"{self.mean:,.1f}" + ("" if math.isnan(self.half) else f" ±{self.half:,.1f}")


def interval(values: Sequence[float]) -> Interval:
    """The mean of `values` (nan ones left out) and the half-width of its 95% interval, Student's t."""
    known = [v for v in values if not math.isnan(v)]
    if not known:
        return Interval(math.nan, math.nan)
    if len(known) < 2:
        return Interval(known[0], math.nan)
    half = float(student.ppf(0.975, len(known) - 1)) * statistics.stdev(known) / math.sqrt(len(known))
    return Interval(statistics.fmean(known), half)


def figures(day: dict[str, Any]) -> dict[str, float]:
    """The figures of one pilot day (as `PilotDay` encodes to JSON) that the harness compares."""
    recall = day.get("recall", {})
    carried = day.get("carried", {})
    out = {
        "stop_rate": float(day["stop_rate"]),
        "precision": math.nan if day["targeted_precision"] is None else float(day["targeted_precision"]),
        "found": float(day["found"]),
        "demanded": float(day["demanded"]),
    }
    for violation in VALUE_FRAUD:  # a day with none of a kind (its sellers changed scheme) has no recall of it
        out[violation] = float(recall[violation]) if carried.get(violation) and violation in recall else math.nan
    held = day.get("held", {})
    listed = carried.get("watchlisted_party") and "watchlisted_party" in recall
    out["watchlisted_stopped"] = float(recall["watchlisted_party"]) if listed else math.nan
    for violation in OTHER:
        known = carried.get(violation) and violation in recall
        out[violation] = float(recall[violation]) + float(held.get(violation, 0.0)) if known else math.nan
    return out


def meets_goal(days: Sequence[dict[str, float]]) -> bool:
    """Issue 20's goal over one world's days: every day, a stop rate of at most 5%, targeted precision of at least
    0.80 and every watch-listed party stopped; on the last day, each value-fraud type at 0.5 or more (a kind absent
    that day does not count against it)."""
    every = all(
        d["stop_rate"] <= GOAL["stop_rate"] + 1e-9 and not d["precision"] < GOAL["precision"]
        and not d["watchlisted_stopped"] < 1.0
        for d in days
    )  # fmt: skip
    return bool(days) and every and all(not days[-1][v] < GOAL["recall"] for v in VALUE_FRAUD)


def _one(variant: Variant, seed: int, days: int, size: int, folder: Path) -> list[dict[str, float]]:
    """Run one world's pilot in a process of its own; its figures by day."""
    env = dict(os.environ)
    path = [str(variant.src)] if variant.src is not None else []
    env["PYTHONPATH"] = os.pathsep.join([*path, str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-m", "bench.pilots", "--worker", str(seed), str(days), str(size), str(folder)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{variant.name}, seed {seed}: the pilot failed\n{done.stderr[-3000:]}")
    result = msgspec.json.decode((folder / "result.json").read_bytes())
    return [figures(day) for day in result["days"]]


def _worker(seed: int, days: int, size: int, folder: Path) -> None:
    """In the seed's own process: the pilot as `clearway pilot` runs it; its result as JSON, its report beside it,
    the store removed (hundreds of megabytes a world)."""
    from clearway.cli.common import DEFAULT_DAY
    from clearway.demo.pilot import pilot_app, run_pilot
    from clearway.gc_tuning import tune_gc
    from clearway.report.pilot_report import write_report
    from clearway.settings import Settings
    from clearway.sim.days import World

    app = pilot_app(folder, Settings.from_env())
    tune_gc()
    result = run_pilot(app, world=World.make(seed, size), days=days, start=DEFAULT_DAY, out=folder)
    app.store.engine.dispose()
    write_report(result, folder / "pilot.html")
    (folder / "result.json").write_bytes(msgspec.json.encode(result))
    for stored in folder.glob("clearway.db*"):
        stored.unlink()
    for day in folder.glob("day-*"):
        shutil.rmtree(day)


def run(seeds: list[int], days: int, size: int, variants: list[Variant], jobs: int, out: Path | None) -> None:
    seeds = check(seeds, days, size, variants, jobs)
    console = Console(width=150)
    folder = out or Path(tempfile.mkdtemp(prefix="clearway-pilots-"))
    runs = [(v, s) for v in variants for s in seeds]
    found: dict[tuple[str, int], list[dict[str, float]]] = {}
    with Progress(console=console) as progress, ThreadPoolExecutor(jobs) as pool:
        task = progress.add_task(f"{len(runs)} pilots of {days} days, {jobs} at a time", total=len(runs))
        futures = {(v.name, s): pool.submit(_one, v, s, days, size, folder / v.name / f"seed-{s}") for v, s in runs}
        for key, future in futures.items():
            found[key] = future.result()
            progress.advance(task)
    for variant in variants:
        console.print(_by_day(variant.name, seeds, days, found))
        console.print(_others_by_day(variant.name, seeds, days, found))
        console.print(_last_day(variant.name, seeds, days, found))
    for variant in variants[1:]:
        console.print(_paired(variants[0].name, variant.name, seeds, found))
    page = _page(variants, seeds, days, size, found, folder)
    console.print(f"Per seed: {folder}/<variant>/seed-<n>/pilot.html; all of them: {page}")


def _by_day(name: str, seeds: list[int], days: int, found: dict[tuple[str, int], list[dict[str, float]]]) -> Table:
    table = Table(title=f"{name}: mean over seeds {', '.join(map(str, seeds))}, ± half its 95% interval (in points "
                  "for shares)")  # fmt: skip
    for column in ("day", "stop rate", "precision\n(targeted)", "found", *SHORT.values(), "demanded (EUR)"):
        table.add_column(column, justify="right")
    for index in range(days):
        at = [found[name, s][index] for s in seeds]
        table.add_row(
            str(index + 1),
            interval([d["stop_rate"] for d in at]).text(),
            interval([d["precision"] for d in at]).text(),
            interval([d["found"] for d in at]).text(percent=False),
            *(interval([d[v] for d in at]).text() for v in VALUE_FRAUD),
            interval([d["demanded"] for d in at]).text(money=True),
        )  # fmt: skip
    return table


def _others_by_day(
    name: str, seeds: list[int], days: int, found: dict[tuple[str, int], list[dict[str, float]]]
) -> Table:
    table = Table(title=f"{name}: the other risks, stopped or held for the carrier or an agency (mean ± half its 95% "
                  "interval)")  # fmt: skip
    for column in ("day", *OTHER.values()):
        table.add_column(column, justify="right")
    for index in range(days):
        at = [found[name, s][index] for s in seeds]
        table.add_row(str(index + 1), *(interval([d[v] for d in at]).text() for v in OTHER))
    return table


def _last_day(name: str, seeds: list[int], days: int, found: dict[tuple[str, int], list[dict[str, float]]]) -> Table:
    table = Table(title=f"{name}: day {days}, seed by seed (goal: every day stop rate ≤ 5%, precision ≥ 0.80 and "
                  "the watch list all stopped; each type ≥ 0.5 by the last day)")  # fmt: skip
    for column in ("seed", "stop rate", "precision", *SHORT.values(), "goal"):
        table.add_column(column, justify="right")
    met = 0
    for seed in seeds:
        day, goal = found[name, seed][-1], meets_goal(found[name, seed])
        met += goal
        table.add_row(str(seed), f"{day['stop_rate']:.1%}", _share(day["precision"]),
                      *(_share(day[v]) for v in VALUE_FRAUD), "met" if goal else "not met")  # fmt: skip
    reached = [sum(1 for s in seeds if not found[name, s][-1][v] < GOAL["recall"]) for v in VALUE_FRAUD]
    table.add_row("≥ 0.5", "", "", *(f"{n} of {len(seeds)}" for n in reached), f"{met} of {len(seeds)}")
    return table


def _paired(first: str, second: str, seeds: list[int], found: dict[tuple[str, int], list[dict[str, float]]]) -> Table:
    """Second minus first, seed by seed: the last day's rates, and what all the days found and demanded."""
    table = Table(title=f"{second} minus {first}, paired by seed (mean, 95% interval)")
    for column in ("figure", "difference", "seeds up / down"):
        table.add_column(column, justify="right")
    rows: list[tuple[str, list[float], bool]] = [
        (f"day {len(found[first, seeds[0]])}: {label}", [found[second, s][-1][key] - found[first, s][-1][key]
                                                          for s in seeds], True)
        for key, label in (("stop_rate", "stop rate"), ("precision", "precision"),
                           *((v, SHORT[v]) for v in VALUE_FRAUD), *OTHER.items())
    ]  # fmt: skip
    for key, label in (("found", "found, all days"), ("demanded", "demanded, all days (EUR)")):
        rows.append((label, [sum(d[key] for d in found[second, s]) - sum(d[key] for d in found[first, s])
                             for s in seeds], False))  # fmt: skip
    for label, differences, rate in rows:
        spread = interval(differences)
        known = [d for d in differences if not math.isnan(d)]
        text = (
            f"{spread.mean * 100:+.1f} points" + ("" if math.isnan(spread.half) else f" ±{spread.half * 100:.1f}")
            if rate
            else f"{spread.mean:+,.0f}" + ("" if math.isnan(spread.half) else f" ±{spread.half:,.0f}")
        )
        table.add_row(label, text, f"{sum(d > 0 for d in known)} / {sum(d < 0 for d in known)}")  # fmt: skip
    return table


def _share(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0%}"


def _page(variants: list[Variant], seeds: list[int], days: int, size: int,
          found: dict[tuple[str, int], list[dict[str, float]]], folder: Path) -> Path:  # fmt: skip
    from clearway.report import charts
    from clearway.report.page import Chart, Page, Section
    from clearway.report.page import Table as PageTable

    labels = [f"day {i + 1}" for i in range(days)]
    sections = []
    for variant in variants:
        at = [[found[variant.name, s][i] for s in seeds] for i in range(days)]
        means: dict[str, Sequence[float]] = {
            SHORT[v]: [100 * interval([d[v] for d in day]).mean for day in at] for v in VALUE_FRAUD
        }
        means["goal"] = [100 * GOAL["recall"]] * days
        rows = [[str(i + 1), *(interval([d[v] for d in day]).text() for v in VALUE_FRAUD)] for i, day in enumerate(at)]
        section = Section(
            f"{variant.name}: recall of value fraud by day, mean over {len(seeds)} seeds",
            text=f"Seeds {', '.join(map(str, seeds))}; {size:,} parcels a day"
            + (f"; sources {variant.src}" if variant.src else "; this checkout's sources"),
            tables=[PageTable("Mean recall with its 95% interval (points)", ["day", *SHORT.values()], rows)],
        )
        section.charts.append(Chart(f"{variant.name}: mean recall by day", charts.lines(
            f"{variant.name}: mean recall of value fraud", labels, means, ylabel="%")))  # fmt: skip
        sections.append(section)
    page = Page(title=f"Pilots: {len(seeds)} worlds of {days} days", subtitle="Targeting over seeds, with intervals",
                sections=sections)  # fmt: skip
    return page.write(folder / "pilots.html")


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A variant's name: it names its folder under --out, so it cannot climb out of it."""


def variant(text: str) -> Variant:
    """A variant as `--src` names it: name=path (a clearway source tree, its src folder), or "this" for this
    checkout's installed sources."""
    if text == "this":
        return Variant("this", None)
    name, _, path = text.partition("=")
    if not NAME.fullmatch(name) or not path:
        raise SystemExit(
            f"--src {text!r}: a variant is name=path, the name letters, digits, '.', '_' or '-', or 'this'"
        )
    src = Path(path).resolve()
    if not (src / "clearway" / "demo" / "pilot.py").is_file():
        raise SystemExit(f"--src {text!r}: {src} holds no clearway sources (clearway/demo/pilot.py)")
    return Variant(name, src)


def check(seeds: list[int], days: int, size: int, variants: list[Variant], jobs: int) -> list[int]:
    """The run's arguments, refused whole with what is wrong; the seeds once each, in the order given."""
    problems = [text for text, bad in (
        ("--days: at least 1", days < 1), ("--size: at least 100 parcels a day, as `clearway pilot` takes", size < 100),
        ("--jobs: at least 1", jobs < 1),
        ("--src: each variant's name once", len({v.name for v in variants}) != len(variants)),
    ) if bad]  # fmt: skip
    if problems:
        raise SystemExit("; ".join(problems))
    return list(dict.fromkeys(seeds))


if __name__ == "__main__":
    worker = argparse.ArgumentParser(prog="python -m bench.pilots")
    worker.add_argument("--worker", nargs=4, metavar=("SEED", "DAYS", "SIZE", "FOLDER"), required=True)
    args = worker.parse_args()
    seed_, days_, size_, folder_ = args.worker
    _worker(int(seed_), int(days_), int(size_), Path(folder_))
