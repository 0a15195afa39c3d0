"""The `clearway` command line (Typer): thin commands that parse, call a service and render."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clearway.errors import ClearwayError
from clearway.model.consignment import Consignment

app = typer.Typer(
    help="clearway: clearance of cross-border e-commerce parcels.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True)
out = Console()

DEFAULT_DAY = dt.date(2026, 11, 16)
"""The simulated day unless --day says otherwise (a fixed default keeps a seed's output the same)."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def schema_json() -> str:
    """The JSON Schema of Consignment v1, as committed in docs/consignment-v1.schema.json."""
    schema = msgspec.json.schema(Consignment)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Consignment v1"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@app.command()
def schema() -> None:
    """Print the JSON Schema of Consignment v1."""
    sys.stdout.write(schema_json())


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON, NDJSON or CSV file")],
    fmt: Annotated[str | None, typer.Option("--format", help="json, ndjson or csv (default: by extension)")] = None,
) -> None:
    """Validate a file and print one JSON line per consignment; nothing is stored. Exit 1 if any is rejected."""
    from clearway.intake import read_path

    encoder = msgspec.json.Encoder()
    rejected = 0
    for item in read_path(file, fmt):
        o = item.outcome
        rejected += not o.accepted
        line = {"reference": o.reference, "accepted": o.accepted, "errors": o.errors, "warnings": o.warnings}
        if item.line is not None:
            line["line"] = item.line
        sys.stdout.buffer.write(encoder.encode(line) + b"\n")
    raise typer.Exit(1 if rejected else 0)


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the day into")],
    size: Annotated[int, typer.Option(min=1, help="consignments")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same day")] = 1,
    day: Annotated[str, typer.Option(help="the simulated day, YYYY-MM-DD")] = DEFAULT_DAY.isoformat(),
) -> None:
    """Write a realistic day of AED (aed/*.ndjson), its labels and a watch list to --out."""
    from clearway.sim import simulate as run
    from clearway.sim import write_day

    try:
        date = dt.date.fromisoformat(day)
    except ValueError as exc:
        raise typer.BadParameter(f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--day") from exc
    counts = write_day(run(size, seed, date), out_dir)
    out.print(json.dumps({"out": str(out_dir), **counts}))


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    submitter: Annotated[str, typer.Option(help="who sent the file (platform, carrier or post)")],
    fmt: Annotated[str | None, typer.Option("--format")] = None,
) -> None:
    """Validate, store and assess a file of consignments on the configured database."""
    from clearway.bootstrap import bootstrap
    from clearway.intake import read_path
    from clearway.services.ingest import ingest as run
    from clearway.settings import Settings

    application = bootstrap(Settings.from_env())
    report = run(application, submitter, read_path(file, fmt), now=utcnow)
    decisions = report.decision_frame()
    lanes = dict(decisions.group_by("lane").len().iter_rows()) if not decisions.is_empty() else {}
    out.print(
        json.dumps({"submitted": report.submitted, **report.outcomes, "lanes": lanes, "errors": dict(report.errors)})
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the configured database to the latest schema."""
    from clearway.settings import Settings
    from clearway.store import make_engine, upgrade

    settings = Settings.from_env()
    upgrade(make_engine(settings.database_url))
    out.print(f"database at {settings.database_url} is up to date")


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
    from clearway.report.demo_report import write_report
    from clearway.services.demo import run_demo
    from clearway.settings import Settings

    if database_url is None:
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True)
        database_url = f"sqlite:///{out_dir.resolve() / 'clearway.db'}"
    settings = Settings.from_env()
    key = settings.ledger_key if "CLEARWAY_LEDGER_KEY" in os.environ else out_dir / "ledger.key"
    application = bootstrap(dataclasses.replace(settings, database_url=database_url, ledger_key=key))
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        task = progress.add_task("starting", total=None)

        def on_stage(name: str, total: int) -> None:
            progress.reset(task, description=name, total=total)

        result = run_demo(
            application, size=size, seed=seed, day=DEFAULT_DAY, out=out_dir, now=utcnow,
            on_stage=on_stage, on_batch=lambda n: progress.advance(task, n),
        )  # fmt: skip
    report_path = write_report(result, out_dir / "report.html")
    _print_summary(result, report_path)


def _print_summary(result: object, report_path: Path) -> None:
    from clearway.services.demo import DemoResult, counts_by

    assert isinstance(result, DemoResult)
    report = result.report
    decisions = report.decision_frame()
    channels = Table(title="Consignments by channel and lane")
    for column in ("channel", "green", "blue", "yellow", "red", "total"):
        channels.add_column(column, justify="right" if column != "channel" else "left")
    if not decisions.is_empty():
        for channel in sorted(counts_by(decisions, "channel")):
            lanes = counts_by(decisions.filter(decisions["channel"] == channel), "lane")
            channels.add_row(
                channel,
                *(f"{lanes[k]:,}" for k in ("green", "blue", "yellow", "red")),
                f"{sum(lanes.values()):,}",
            )
    out.print(channels)
    errors = Table(title="Rejections by error code")
    errors.add_column("code")
    errors.add_column("errors", justify="right")
    for code, count in report.errors.most_common():
        errors.add_row(code, f"{count:,}")
    out.print(errors)
    rate = report.submitted / report.seconds if report.seconds else 0.0
    out.print(
        f"[bold]{report.submitted:,}[/] submitted: {report.outcomes['registered']:,} registered, "
        f"{report.outcomes['amended']:,} amended, {report.outcomes['unchanged']:,} unchanged, "
        f"{report.outcomes['rejected']:,} rejected. Simulation {result.simulate_seconds:.1f} s; "
        f"ingest, validation, storage and assessment {report.seconds:.1f} s ([bold]{rate:,.0f}[/] consignments/s)."
    )
    out.print(f"Report: {report_path}")


def main() -> None:
    try:
        app()
    except ClearwayError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from exc
