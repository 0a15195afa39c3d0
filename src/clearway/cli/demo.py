"""The demo day and its report."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearway.cli.apps import app
from clearway.cli.common import DEFAULT_DAY, out, parse_day, progress_bar, utcnow
from clearway.gc_tuning import tune_gc
from clearway.model.vocabulary import LANES


@app.command()
def demo(
    size: Annotated[int, typer.Option(min=1, help="consignments in the simulated day")] = 100_000,
    seed: Annotated[int, typer.Option()] = 1,
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the day, the database and the report")] = Path(
        "demo"
    ),
    database_url: Annotated[str | None, typer.Option(help="default: a fresh SQLite file in --out")] = None,
) -> None:
    """Simulate a day, ingest, assess and store it, print a summary and write an HTML report."""
    from clearway.bootstrap import bootstrap
    from clearway.demo.run import run_demo
    from clearway.report.demo_report import write_report
    from clearway.services.measurement import export
    from clearway.settings import Settings
    from clearway.sim.writer import write_watchlist
    from clearway.workers.offload import OFFLOAD_DAY

    if database_url is None:
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True)
        database_url = f"sqlite:///{out_dir.resolve() / 'clearway.db'}"
    settings = Settings.from_env()
    key = settings.ledger_key if "CLEARWAY_LEDGER_KEY" in os.environ else out_dir / "ledger.key"
    watchlist = settings.watchlist or write_watchlist(out_dir)  # by default, screen against the simulator's list
    settings = dataclasses.replace(settings, database_url=database_url, ledger_key=key, watchlist=watchlist)
    application = bootstrap(settings)
    tune_gc()
    with progress_bar() as progress:
        task = progress.add_task("starting", total=None)

        def on_stage(name: str, total: int) -> None:
            progress.reset(task, description=name, total=total)

        result = run_demo(
            application, size=size, seed=seed, day=DEFAULT_DAY, out=out_dir, now=utcnow,
            on_stage=on_stage, on_batch=lambda n: progress.advance(task, n),
            assessor=settings if settings.assessor == "process" and size >= OFFLOAD_DAY else None,
        )  # fmt: skip
    report_path = write_report(result, out_dir / "report.html")
    export(result.figures, out_dir / "kpi-tables", "csv")
    print_summary(result, report_path)


@app.command()
def pilot(
    days: Annotated[int, typer.Option(min=1, max=60, help="consecutive days of one simulated world")] = 5,
    size: Annotated[int, typer.Option(min=100, help="consignments a day")] = 10_000,
    seed: Annotated[int, typer.Option()] = 1,
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the days, the database and the report")] = Path(
        "pilot"
    ),
    audits: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="share of a day's traffic audited after release "
            "(blue-lane releases first); 0: no post-clearance audit",
        ),
    ] = 0.0,
) -> None:
    """Run days of one world as an administration would: ingest, inspect the stops and the random sample,
    audit releases if asked, retrain the model overnight; print a table by day and write an HTML report."""
    from clearway.demo.pilot import pilot_app, run_pilot
    from clearway.report.pilot_report import write_report
    from clearway.settings import Settings
    from clearway.sim.days import World

    application = pilot_app(out_dir, Settings.from_env())
    tune_gc()
    stops = Table(title=f"Pilot: seed {seed}, {size:,} parcels a day: stops")
    for column in (
        "day",
        "stop rate",
        "precision\n(targeted)",
        "found",
        "half/\nroom",
        "non-compliance\n(random sample)",
        "model",
    ):
        stops.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    recall = Table(title="Value fraud: the share of each kind stopped, and the duty and tax demanded")
    for column in ("day", *VALUE_FRAUD_SHORT, "demanded\n(EUR)"):
        recall.add_column(column, justify="right", no_wrap=True)
    other = Table(title="Other risks: the share of each kind stopped (and held for the carrier or an agency)")
    for column in ("day", *OTHER_RISKS_SHORT):
        other.add_column(column, justify="right", no_wrap=True)
    with progress_bar() as progress:
        task = progress.add_task("days", total=days)

        def on_day(day: object) -> None:
            progress.advance(task)

        result = run_pilot(application, world=World.make(seed, size), days=days, start=DEFAULT_DAY, out=out_dir,
                           audit_share=audits, on_day=on_day)  # fmt: skip
    for d in result.days:  # two tables, so that each is read whole in an 80-column terminal
        rate, interval = d.non_compliance
        estimate = "–" if rate is None or interval is None else f"{rate:.1%}\n[{interval[0]:.1%}, {interval[1]:.1%}]"
        stops.add_row(str(d.index), f"{d.stop_rate:.1%}", _precision(d.precision, d.targeted_precision),
                      f"{d.found:,}", f"{d.half_of_value_fraud:,}/{d.room:,}", estimate,
                      _overnight(d.model))  # fmt: skip
        recall.add_row(
            str(d.index), *(_share(d.recall.get(v)) for v in VALUE_FRAUD_SHORT.values()), f"{d.demanded:,.2f}"
        )
        other.add_row(
            str(d.index), *(_stopped_or_held(d.recall.get(v), d.held.get(v)) for v in OTHER_RISKS_SHORT.values())
        )
    out.print(stops)
    out.print(recall)
    out.print(other)
    out.print(
        "half/room: the stops a recall of 50% of each kind of value fraud takes (one a split order) / the day's "
        "capacity less its mandatory stops and the random sample's"
    )
    out.print("split: parts stopped, or whose order was stopped on another part (its finding names them all)")
    out.print(
        "+N%: held for the carrier or an agency instead of stopped (a carrier's or post's rule, another "
        "agency's; no inspection of customs')"
    )
    out.print("demanded: on the value or code the inspections found, reassessed (penalties apart)")
    for d in result.days if audits else []:
        value = sum(d.audit_found.get(v, 0) for v in VALUE_FRAUD_SHORT.values())
        out.print(f"Day {d.index}: {d.audited:,} releases audited, {sum(d.audit_found.values()):,} found infringing "
                  f"({value:,} value fraud), EUR {d.audit_demanded:,.2f} demanded")  # fmt: skip
    if result.days:
        last = result.days[-1]
        through = [f"{short}: {', '.join(f'{why} {n:,}' for why, n in last.missed.get(v, {}).items())}"
                   for short, v in VALUE_FRAUD_SHORT.items() if last.missed.get(v)]  # fmt: skip
        out.print(f"Value fraud let through on day {last.index}: {'; '.join(through) or 'none'}")
    out.print(f"Report: {write_report(result, out_dir / 'pilot.html')}")


def _share(value: float | None) -> str:
    """A day's share in whole percent, or "–" where there is none to take (no stop; no parcel of a kind that
    day, once its sellers changed scheme), which is not 0%."""
    return "–" if value is None else f"{value:.0%}"


def _stopped_or_held(stopped: float | None, held: float | None) -> str:
    """The share stopped, and beside it the share held for the carrier or an agency instead, where any was."""
    return _share(stopped) + (f" +{held:.0%}" if held else "")


def _precision(every: float | None, targeted: float | None) -> str:
    """Precision of every stop, and of the targeted ones (the random sample left out) below it."""
    return "\n".join(_share(p) for p in (every, targeted))


def _overnight(said: str) -> str:
    """What the model step did, in a word (the report has the whole sentence)."""
    return "waiting" if said.startswith("not trained") else "promoted" if said.startswith("promoted") else "kept"


VALUE_FRAUD_SHORT = {"under-value": "undervaluation", "misclass.": "misclassification", "split": "split_shipment",
                     "false gift": "false_gift", "IOSS": "ioss_misuse"}  # fmt: skip
"""The value-fraud columns of the pilot's table: short header -> violation."""
OTHER_RISKS_SHORT = {"watch-listed": "watchlisted_party", "prohibited": "prohibited", "counterfeit": "counterfeit",
                     "battery": "undeclared_battery"}  # fmt: skip
"""The other risks' columns: what the priority areas' share of the day's stops leaves to be controlled."""


@app.command()
def report(
    start: Annotated[str, typer.Option("--from", help="the first day of the period, YYYY-MM-DD (UTC)")],
    end: Annotated[str, typer.Option("--to", help="the last day of the period, included")],
    out_file: Annotated[Path, typer.Option("--out", help="the HTML report to write")] = Path("kpi-report.html"),
    exports: Annotated[Path | None, typer.Option(help="folder for the tables (default: beside the report)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Compute the period's KPIs over the store; write an HTML report with charts and one file per table."""
    from clearway.bootstrap import bootstrap
    from clearway.kpi import Period
    from clearway.report.kpi_report import build_page
    from clearway.services.measurement import export, measure
    from clearway.settings import Settings

    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter("csv or parquet", param_hint="--format")
    try:
        period = Period(parse_day(start, "--from"), parse_day(end, "--to"))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to") from None
    with progress_bar() as progress:
        task = progress.add_task("reading the period and computing the KPIs", total=None)
        figures = measure(bootstrap(Settings.from_env()), period)
        progress.update(task, total=1, completed=1)
    build_page(period, figures).write(out_file)
    folder = exports or out_file.with_name(out_file.stem + "-tables")
    written = export(figures, folder, fmt)  # type: ignore[arg-type]
    received = int(figures["volumes"].filter(figures["volumes"]["dimension"] == "channel")["consignments"].sum())
    out.print(f"{received:,} consignments received {period.start} to {period.end}")
    out.print(f"Report: {out_file}\nTables ({fmt}): {folder} ({len(written)} files)")


def print_summary(result: object, report_path: Path) -> None:
    from clearway.demo.run import DemoResult, counts_by

    assert isinstance(result, DemoResult)
    report = result.report
    decisions = report.decision_frame()
    channels = Table(title="Consignments by channel and lane")
    for column in ("channel", *LANES, "total"):
        channels.add_column(column, justify="right" if column != "channel" else "left")
    if not decisions.is_empty():
        for channel in sorted(counts_by(decisions, "channel")):
            lanes = counts_by(decisions.filter(decisions["channel"] == channel), "lane")
            channels.add_row(
                channel,
                *(f"{lanes[k]:,}" for k in LANES),
                f"{sum(lanes.values()):,}",
            )
    out.print(channels)
    errors = Table(title="Rejections by error code")
    errors.add_column("code")
    errors.add_column("errors", justify="right")
    for code, count in report.errors.most_common():
        errors.add_row(code, f"{count:,}")
    if not report.errors:
        errors.add_row("none: every filing was accepted", "0")
    out.print(errors)
    rate = report.submitted / report.seconds if report.seconds else 0.0
    shown = f"{rate:,.0f}" if rate >= 10 else f"{rate:.2f}"  # a day of a few parcels is not "0 a second"
    out.print(
        f"[bold]{report.submitted:,}[/] submitted: {report.outcomes['registered']:,} registered, "
        f"{report.outcomes['amended']:,} amended, {report.outcomes['unchanged']:,} unchanged, "
        f"{report.outcomes['rejected']:,} rejected. Simulation {result.simulate_seconds:.1f} s; "
        f"ingest, validation, storage and assessment {report.seconds:.1f} s ([bold]{shown}[/] consignments/s)."
    )
    t = result.transport
    out.print(f"{t['manifests']:,} manifests of {t['houses']:,} houses arrived: {t['released']:,} parcels released on "
              f"arrival, {t['before']:,} already released before it (at assessment), {t['stayed']:,} stayed, "
              f"{t['without_data']:,} houses without data; {t['rejected']:,} manifests rejected.")  # fmt: skip
    out.print(f"Report: {report_path}")
