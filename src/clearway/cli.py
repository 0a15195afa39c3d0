"""The `clearway` command line (Typer): thin commands that parse, call a service and render."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import json
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clearway.commands.operations import register as register_operations
from clearway.errors import ClearwayError
from clearway.model.consignment import Consignment
from clearway.model.vocabulary import LANES

app = typer.Typer(
    help="clearway: clearance of cross-border e-commerce parcels.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
ledger_app = typer.Typer(
    help="The trust ledger: key, checkpoints, offline proofs and the witness.", no_args_is_help=True
)
app.add_typer(ledger_app, name="ledger")
clients_app = typer.Typer(help="API clients: submitters, officers, agencies.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
model_app = typer.Typer(help="The targeting model: train, score, evaluate.", no_args_is_help=True)
app.add_typer(model_app, name="model")
history_app = typer.Typer(help="History as Parquet partitions, for backtests.", no_args_is_help=True)
app.add_typer(history_app, name="history")
exports_app = typer.Typer(help="Export records from partner administrations.", no_args_is_help=True)
app.add_typer(exports_app, name="exports")
retention_app = typer.Typer(help="Retention of personal data.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")
register_operations(app)  # backup, restore, config (clearway/commands/operations.py)
err = Console(stderr=True)
out = Console()

DEFAULT_DAY = dt.date(2026, 11, 16)
"""The simulated day unless --day says otherwise (a fixed default keeps a seed's output the same)."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_day(text: str, option: str) -> dt.date:
    """A YYYY-MM-DD option value, or a usage error that names the option."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option) from exc


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

    counts = write_day(run(size, seed, parse_day(day, "--day")), out_dir)
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


@app.command()
def estimate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a Consignment v1 JSON file")],
    on: Annotated[str, typer.Option(help="the day of importation, YYYY-MM-DD")],
    as_json: Annotated[bool, typer.Option("--json", help="print the whole assessment as JSON")] = False,
) -> None:
    """Estimate the duties and taxes of a consignment on a day, under the dated rules."""
    from clearway.intake import read_path
    from clearway.revenue import assess
    from clearway.revenue.packaged import load_revenue
    from clearway.settings import Settings

    day = parse_day(on, "--on")
    items = list(read_path(file, "json"))
    if len(items) != 1 or items[0].outcome.consignment is None:
        for item in items:
            for error in item.outcome.errors:
                err.print(f"{error.path or '/'}: {error.code}: {error.message}")
        raise typer.Exit(1)
    settings = Settings.from_env()
    assessment = assess(items[0].outcome.consignment, day, load_revenue(settings.tariff, settings.customs_rates))
    if as_json:
        sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(assessment)) + b"\n")
        return
    t, currency = assessment.totals, assessment.currency
    out.print(
        f"{assessment.reference}: {assessment.collection_model}; duty {t.duty}, tax {t.vat}, other {t.other}, "
        f"total {t.total} {currency} (rules: {', '.join(assessment.rules)})",
        highlight=False,
    )


@app.command("refund")
def refund_command(
    consignment_id: Annotated[str, typer.Argument(help="the registration id of the assessed consignment")],
    on: Annotated[str, typer.Option(help="the day the goods were returned, YYYY-MM-DD")],
    item: Annotated[
        list[str] | None, typer.Option(help="INDEX:QUANTITY returned (repeat); default: all not yet refunded")
    ] = None,
    reason: Annotated[str, typer.Option(help="why, for the record")] = "returned to the seller",
) -> None:
    """Refund the duty and tax of returned goods (or credit them to the vendor's scheme), once, in the window."""
    from clearway.bootstrap import bootstrap
    from clearway.services.returns import refund
    from clearway.settings import Settings

    day = parse_day(on, "--on")
    try:
        returned = {int(i): int(q) for i, q in (entry.split(":", 1) for entry in item)} if item else None
    except ValueError as exc:
        raise typer.BadParameter("items are INDEX:QUANTITY, e.g. 0:1", param_hint="--item") from exc
    result = refund(bootstrap(Settings.from_env()), consignment_id, returned, on=day, at=utcnow(), reason=reason)
    sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(result)) + b"\n")


@app.command("reconcile")
def reconcile_command(
    vat_return: Annotated[
        Path, typer.Option("--return", exists=True, dir_okay=False, help="the platform's periodic VAT return CSV")
    ],
    csv_out: Annotated[Path | None, typer.Option("--out", help="write the findings as CSV")] = None,
) -> None:
    """Compare a platform's VAT return with what was assessed under its scheme ids; exit 1 on any finding."""
    import csv as csv_module

    from clearway.bootstrap import bootstrap
    from clearway.services.reconciliation import parse_return, reconcile_return
    from clearway.settings import Settings

    declared = parse_return(vat_return.read_text(encoding="utf-8"), str(vat_return))
    rows = reconcile_return(bootstrap(Settings.from_env()).store.engine, declared)
    table = Table(title=f"Reconciliation of {vat_return.name}")
    fields = [
        "scheme_id",
        "period",
        "destination_country",
        "status",
        "consignments",
        "expected_tax",
        "declared_tax",
        "tax_difference",
    ]
    for name in fields:
        table.add_column(name)
    for row in rows:
        table.add_row(*(str(getattr(row, name)) for name in fields))
    out.print(table)
    if csv_out is not None:
        from clearway.revenue.reconcile import Reconciliation

        names = [f.name for f in msgspec.structs.fields(Reconciliation)]
        with csv_out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv_module.writer(handle)
            writer.writerow(names)
            writer.writerows([["" if getattr(row, n) is None else str(getattr(row, n)) for n in names] for row in rows])
    statuses = Counter(row.status for row in rows)
    out.print(
        ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())) or "nothing to reconcile", highlight=False
    )
    raise typer.Exit(1 if any(row.status != "ok" for row in rows) else 0)


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
    from clearway.services.measurement import export
    from clearway.settings import Settings
    from clearway.sim.writer import write_watchlist

    if database_url is None:
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True)
        database_url = f"sqlite:///{out_dir.resolve() / 'clearway.db'}"
    settings = Settings.from_env()
    key = settings.ledger_key if "CLEARWAY_LEDGER_KEY" in os.environ else out_dir / "ledger.key"
    watchlist = settings.watchlist or write_watchlist(out_dir)  # by default, screen against the simulator's list
    application = bootstrap(
        dataclasses.replace(settings, database_url=database_url, ledger_key=key), watchlist=watchlist
    )
    with _progress() as progress:
        task = progress.add_task("starting", total=None)

        def on_stage(name: str, total: int) -> None:
            progress.reset(task, description=name, total=total)

        result = run_demo(
            application, size=size, seed=seed, day=DEFAULT_DAY, out=out_dir, now=utcnow,
            on_stage=on_stage, on_batch=lambda n: progress.advance(task, n),
        )  # fmt: skip
    report_path = write_report(result, out_dir / "report.html")
    export(result.figures, out_dir / "kpi-tables", "csv")
    _print_summary(result, report_path)


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
    with _progress() as progress:
        task = progress.add_task("reading the period and computing the KPIs", total=None)
        figures = measure(bootstrap(Settings.from_env()), period)
        progress.update(task, total=1, completed=1)
    build_page(period, figures).write(out_file)
    folder = exports or out_file.with_name(out_file.stem + "-tables")
    written = export(figures, folder, fmt)  # type: ignore[arg-type]
    received = int(figures["volumes"].filter(figures["volumes"]["dimension"] == "channel")["consignments"].sum())
    out.print(f"{received:,} consignments received {period.start} to {period.end}")
    out.print(f"Report: {out_file}\nTables ({fmt}): {folder} ({len(written)} files)")


@history_app.command("export")
def history_export(
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the day=YYYY-MM-DD partitions")],
    start: Annotated[str | None, typer.Option("--from", help="first day of receipt (default: all)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day of receipt")] = None,
) -> None:
    """Write the store's consignments and what happened to them as Parquet, one partition per day."""
    from clearway.bootstrap import bootstrap
    from clearway.kpi import Period
    from clearway.services.history_export import export_history
    from clearway.settings import Settings

    period = Period(parse_day(start, "--from"), parse_day(end or start, "--to")) if start else None
    with _progress() as progress:
        task = progress.add_task("exporting days", total=None)
        files = export_history(bootstrap(Settings.from_env()), out_dir, period,
                               on_day=lambda day, n: progress.advance(task, n))  # fmt: skip
    out.print(f"{len(files)} day partitions under {out_dir}")


@app.command()
def backtest(
    history: Annotated[Path, typer.Option(exists=True, file_okay=False, help="the Parquet history folder")],
    engine: Annotated[str, typer.Option(help="local or spark")] = "local",
    profiles: Annotated[Path | None, typer.Option(exists=True, help="candidate profiles (default: packaged)")] = None,
    model: Annotated[Path | None, typer.Option(exists=True, help="candidate targeting model (.cwm)")] = None,
    watchlist: Annotated[Path | None, typer.Option(exists=True, help="watch list (default CLEARWAY_WATCHLIST)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """How candidate profiles (and model) would have routed the history, against what was decided."""
    from clearway.bootstrap import profiles_text
    from clearway.impact import summarise
    from clearway.scale.candidate import Candidate
    from clearway.scale.engines import backtest as run_backtest

    if engine not in ("local", "spark"):
        raise typer.BadParameter("local or spark", param_hint="--engine")
    from clearway.settings import Settings

    text, source = profiles_text(profiles)
    listed = watchlist or Settings.from_env().watchlist
    screening = (listed.read_text(encoding="utf-8"), str(listed)) if listed else None
    candidate = Candidate(text, source, model.read_bytes() if model else None, screening)
    summary = summarise(run_backtest(history, candidate, engine))  # type: ignore[arg-type]
    _stop_spark(engine)
    lanes = summary.pop("lanes")
    if as_json:
        summary["lanes"] = lanes.to_dicts()
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    table = Table(title=f"{summary['consignments']:,} consignments: lane as decided, and under the candidate")
    for column in ("as decided", "candidate", "consignments"):
        table.add_column(column, justify="right" if column == "consignments" else "left")
    for row in lanes.iter_rows():
        table.add_row(str(row[0]), str(row[1]), f"{row[2]:,}")
    out.print(table)
    for name in ("actual", "candidate"):
        s = summary[name]
        rate = "–" if s["hit_rate"] is None else f"{s['hit_rate']:.1%}"
        out.print(f"{name}: {s['stopped']:,} stopped; of the infringements found, {s['infringements_stopped']:,} "
                  f"stopped and {s['infringements_missed']:,} not; hit rate {rate}; revenue at risk "
                  f"{', '.join(f'{v} {k}' for k, v in s['revenue_at_risk'].items()) or 'none'}")  # fmt: skip


@app.command()
def rescore(
    history: Annotated[Path, typer.Option(exists=True, file_okay=False, help="the Parquet history folder")],
    model: Annotated[Path, typer.Option(exists=True, help="the targeting model (.cwm)")],
    out_file: Annotated[Path, typer.Option("--out", help="Parquet file of key, day, score")],
    engine: Annotated[str, typer.Option(help="local or spark")] = "local",
) -> None:
    """Score every consignment of the history with a targeting model."""
    from clearway.scale.engines import rescore as run_rescore

    if engine not in ("local", "spark"):
        raise typer.BadParameter("local or spark", param_hint="--engine")
    scores = run_rescore(history, model.read_bytes(), engine)  # type: ignore[arg-type]
    _stop_spark(engine)
    scores.write_parquet(out_file)
    out.print(f"{scores.height:,} scores written to {out_file}")


def _stop_spark(engine: str) -> None:
    if engine == "spark":
        from clearway.scale.engines import stop_spark

        stop_spark()


@exports_app.command("load")
def exports_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV records, or a DMS export (.xml)")],
    partner: Annotated[str, typer.Option(help="the administration that sent them")],
    schemas: Annotated[Path | None, typer.Option(help="the DMS schemas folder, for .xml")] = None,
) -> None:
    """Keep a partner's export records; imports of the same transport documents are compared with them."""
    from clearway.bootstrap import bootstrap
    from clearway.interop.dms_schemas import DmsSchemas
    from clearway.services.exports import parse_csv, parse_dms, store_exports
    from clearway.settings import Settings

    settings = Settings.from_env()
    if file.suffix.lower() == ".xml":
        folder = schemas or settings.dms_schemas
        if folder is None:
            raise typer.BadParameter("give --schemas or set CLEARWAY_DMS_SCHEMAS", param_hint="--schemas")
        records, source = [parse_dms(file.read_bytes(), DmsSchemas.load(folder), str(file))], "wco-dms"
    else:
        records, source = parse_csv(file.read_bytes(), str(file)), "csv"
    count = store_exports(bootstrap(settings), records, partner=partner, source=source, at=utcnow())
    out.print(f"{count} export records of {partner} kept")


@app.command()
def convert(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the document to convert")],
    source: Annotated[str, typer.Option("--from", help="wco-dms, cn23 (JSON or CSV) or consignment-v1")],
    target: Annotated[str, typer.Option("--to", help="consignment-v1, wco-dms or cn23")],
    schemas: Annotated[Path | None, typer.Option(help="the DMS schemas folder (default CLEARWAY_DMS_SCHEMAS)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="cn23 out: json or csv")] = "json",
) -> None:
    """Convert between Consignment v1 and a WCO DMS 3.6 import declaration (what v1 has no field for is kept
    beside it) or a UPU CN22/CN23 (JSON, or CSV with a row per content line)."""
    from clearway.interop import cn23

    if (source, target) == ("cn23", "consignment-v1"):
        text = file.read_text(encoding="utf-8")
        forms = list(cn23.read_csv(text)) if file.suffix.lower() == ".csv" else _json_list(text)
        _print_v1([cn23.to_consignment(form) for form in forms], [])
        return
    if (source, target) == ("consignment-v1", "cn23"):
        forms = [cn23.from_consignment(_valid_v1(doc)) for doc in _json_list(file.read_text(encoding="utf-8"))]
        if fmt == "csv":
            sys.stdout.write(cn23.write_csv(forms))
        else:
            sys.stdout.write(json.dumps(forms[0] if len(forms) == 1 else forms, indent=2, ensure_ascii=False) + "\n")
        return
    from clearway.interop.dms_declaration import read_declaration, write_declaration
    from clearway.interop.dms_schemas import DmsSchemas
    from clearway.settings import Settings

    if {source, target} != {"wco-dms", "consignment-v1"}:
        raise typer.BadParameter("between consignment-v1 and wco-dms or cn23", param_hint="--from")
    folder = schemas or Settings.from_env().dms_schemas
    if folder is None:
        raise typer.BadParameter("give --schemas or set CLEARWAY_DMS_SCHEMAS", param_hint="--schemas")
    loaded = DmsSchemas.load(folder)
    if source == "consignment-v1":
        sys.stdout.buffer.write(write_declaration(_valid_v1(json.loads(file.read_bytes()))))
        return
    result = read_declaration(file.read_bytes(), loaded)
    if result.refused:
        err.print(f"refused: {result.refused}")
        for error in result.schema_errors:
            err.print(f"  line {error.line}: {error.path}: {error.message}")
        raise typer.Exit(1)
    assert result.consignment is not None
    _print_v1([result.consignment], result.extras, result.notes)


def _json_list(text: str) -> list[dict[str, object]]:
    doc = json.loads(text)
    return doc if isinstance(doc, list) else [doc]


def _valid_v1(doc: dict[str, object]) -> dict[str, object]:
    """A Consignment v1 document that passes validation, or a usage error listing every problem."""
    from clearway.model import validate_raw

    checked = validate_raw(doc)
    if checked.consignment is None:
        for error in checked.errors:
            err.print(f"{error.path or '/'}: {error.code}: {error.message}")
        raise typer.Exit(1)
    return doc


def _print_v1(docs: list[dict[str, object]], kept: list[dict[str, str]], notes: list[str] | None = None) -> None:
    """Each converted document with what the v1 contract still finds missing; one object, or a list."""
    from clearway.model import validate_raw

    results = [
        {
            "consignment": doc,
            **({"kept": kept, "notes": notes or []} if kept or notes else {}),
            "contract_errors": [{"path": e.path, "code": e.code, "message": e.message}
                                for e in validate_raw(doc).errors],
        }
        for doc in docs
    ]  # fmt: skip
    sys.stdout.write(json.dumps(results[0] if len(results) == 1 else results, indent=2, ensure_ascii=False) + "\n")


@app.command()
def worker(
    bus: Annotated[str, typer.Option(help="kafka://HOST:PORT/TOPIC (decisions go to TOPIC.decisions)")],
    batch: Annotated[int, typer.Option(min=1, help="messages per micro-batch")] = 500,
    health_port: Annotated[int, typer.Option(help="serve /healthz and /readyz on this port (0: none)")] = 0,
) -> None:
    """An intake worker in the consumer group: store and assess what the log carries, publish decisions;
    start as many as the topic has partitions. Stops on Ctrl-C or SIGTERM, between micro-batches."""
    import signal

    from clearway.bootstrap import bootstrap
    from clearway.scale.bus import open_bus
    from clearway.scale.worker import Worker
    from clearway.services.health import heartbeat_check, serve_probes, storage_checks
    from clearway.settings import Settings
    from clearway.telemetry import logs, traces

    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _: stopping.append(signum))
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    traces.configure(settings.otlp_endpoint, "clearway-worker")
    log = open_bus(bus)
    application = bootstrap(settings)
    running = Worker(application, log, batch=batch, now=utcnow)
    probes = None
    if health_port:
        stale = 60.0  # a micro-batch polls for a second: a minute without one is a stuck loop
        probes = serve_probes(health_port, lambda: [
            *storage_checks(application), heartbeat_check(running.beat, time.monotonic(), stale)])  # fmt: skip
    try:
        running.run(lambda: bool(stopping))
    finally:
        log.close()
        if probes is not None:
            probes.shutdown()
            probes.server_close()
    out.print("worker stopped")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
) -> None:
    """Run the HTTP API on the configured database (OpenAPI at /schema)."""
    import uvicorn

    from clearway.api import create_app
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings
    from clearway.telemetry import logs, traces

    # hand the interpreter lock over every millisecond (not 5): a short request waits less behind a
    # long validation or assessment of another tenant's bulk batch (python -m bench fairness)
    sys.setswitchinterval(0.001)
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    traces.configure(settings.otlp_endpoint)
    proxies = list(settings.trusted_proxies)  # X-Forwarded-For counts only from these (CLEARWAY_TRUSTED_PROXIES)
    api = create_app(bootstrap(settings))
    # what was loaded to start (rules, tariffs, models, code lists) is never garbage: keep the collector's
    # full passes off it, and run them less often, so they do not stall every request for 100 ms and more
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    # SIGTERM: uvicorn stops accepting and answers the requests in flight (up to the grace period), then the
    # runtime stores and assesses what is queued (again up to the grace period) and the process exits
    uvicorn.run(
        api, host=host, port=port, proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None,
        log_config=None, timeout_graceful_shutdown=int(settings.shutdown_grace),
    )  # fmt: skip


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI 3.1 document (the copy in docs/openapi.json is this output)."""
    import tempfile

    from clearway.api import create_app
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    with tempfile.TemporaryDirectory() as home:
        application = bootstrap(Settings.from_env({"CLEARWAY_HOME": home}))
        document = create_app(application).openapi_schema.to_schema()
        application.store.engine.dispose()
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _progress() -> Progress:
    """The progress bar of long commands, on stderr so that stdout stays data."""
    return Progress(
        TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )


@clients_app.command("add")
def clients_add(
    name: Annotated[str, typer.Argument(help="the client's name; for submitters, the tenant its data is filed under")],
    role: Annotated[str, typer.Option(help="platform, carrier, postal, officer or agency")],
    agency: Annotated[str | None, typer.Option(help="for --role agency: the agency whose referrals it sees")] = None,
    webhook_host: Annotated[
        list[str] | None, typer.Option(help="a host the client's webhooks may call (repeat)")
    ] = None,
) -> None:
    """Create an API client and print its id and secret as JSON (the secret is shown only this once)."""
    from clearway.services.clients import add_client
    from clearway.settings import Settings
    from clearway.store import make_engine, upgrade

    engine = make_engine(Settings.from_env().database_url)
    upgrade(engine)
    made = add_client(engine, name, role, agency=agency, webhook_hosts=list(webhook_host or []))
    sys.stdout.write(json.dumps(made) + "\n")


@clients_app.command("revoke")
def clients_revoke(
    name: Annotated[str, typer.Argument(help="the client's name (any role: submitter, officer, agency)")],
) -> None:
    """Revoke a client: it gets no more tokens, and the services refuse the tokens and UI sessions it holds
    within seconds. Prints what was revoked as JSON."""
    from clearway.errors import NotFound
    from clearway.services.clients import revoke_client
    from clearway.settings import Settings
    from clearway.store import make_engine, upgrade

    engine = make_engine(Settings.from_env().database_url)
    try:
        upgrade(engine)
        done = revoke_client(engine, name)
    except NotFound as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    sys.stdout.write(json.dumps(done) + "\n")


FORMAT_HELP = "column mapping: `kcs`, or a mapping YAML file (see clearway/data/targeting/kcs.yaml)"


@model_app.command("train")
def model_train(
    out: Annotated[Path, typer.Option(help="the model file to write (.cwm)")],
    data: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="labelled history, CSV")] = None,
    from_store: Annotated[bool, typer.Option(help="learn from the store's inspection results")] = False,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "kcs",
    label: Annotated[str, typer.Option(help="the label column (1: infringement found)")] = "Fraud",
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Train the targeting model on labelled history: a CSV export through its column mapping, or
    (with --from-store) the inspection results of clearway's own store."""
    from clearway.services.targeting import load_mapping, train_file, train_from_store

    if data is None and not from_store:
        raise typer.BadParameter("give --data FILE.csv or --from-store")
    with _progress() as progress:
        progress.add_task("training", total=None)
        if from_store:
            from clearway.bootstrap import bootstrap
            from clearway.settings import Settings

            model = train_from_store(bootstrap(Settings.from_env()), seed)
        else:
            assert data is not None
            model = train_file(data, load_mapping(fmt), label, seed)
    out.write_bytes(model.to_bytes())
    meta = model.meta
    err.print(
        f"{out}: {meta.rows:,} rows, {meta.rounds} trees, {len(meta.spec.names)} features; "
        f"training data sha256 {meta.trained_on[:16]}…",
        highlight=False,
    )


@model_app.command("score")
def model_score(
    model: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="a model file from `model train`")],
    data: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="declarations to score, CSV")],
    out: Annotated[Path, typer.Option(help="scores CSV: id column, score; one row per input row, same order")],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "kcs",
) -> None:
    """Score declarations: the calibrated probability that each hides an infringement."""
    from clearway.services.targeting import load_mapping, score_file
    from clearway.targeting.model import TargetingModel

    scores = score_file(TargetingModel.from_bytes(model.read_bytes()), data, load_mapping(fmt))
    scores.write_csv(out)
    err.print(f"{out}: {scores.height:,} rows scored", highlight=False)


@model_app.command("evaluate")
def model_evaluate(
    train_data: Annotated[Path, typer.Option("--train", exists=True, dir_okay=False, help="earlier labelled history")],
    valid_data: Annotated[Path, typer.Option("--valid", exists=True, dir_okay=False, help="later labelled history")],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "kcs",
    label: Annotated[str, typer.Option(help="the label column")] = "Fraud",
    seeds: Annotated[int, typer.Option(min=1, help="runs per model (mean and spread)")] = 5,
    baselines: Annotated[bool, typer.Option(help="also run library-default LightGBM and tuned boosting")] = True,
    chart: Annotated[Path | None, typer.Option(help="write precision at n% as an SVG chart")] = None,
) -> None:
    """Fit on the earlier file, measure on the later: precision, recall and revenue at 1, 2, 5 and 10%,
    AUC; mean and spread over seeds, beside baselines run in the same harness."""
    from clearway.services.targeting import evaluate, load_mapping

    with _progress() as progress:
        task = progress.add_task("training and scoring", total=seeds * (3 if baselines else 1))
        result = evaluate(train_data, valid_data, load_mapping(fmt), label, seeds=seeds, baselines=baselines,
                          on_run=lambda name, seed: progress.advance(task))  # fmt: skip
    summary = result.summary()
    keys = ["precision@1%", "precision@2%", "precision@5%", "precision@10%", "recall@5%", "recall@10%",
            "revenue@5%", "revenue@10%", "auc"]  # fmt: skip
    table = Table(title=f"{valid_data.name}: {seeds} seeds, mean ± standard deviation")
    table.add_column("")
    for name in summary:
        table.add_column(name, justify="right")
    for key in keys:
        table.add_row(key, *[f"{figures[key][0]:.3f} ± {figures[key][1]:.3f}" for figures in summary.values()])
    out.print(table)
    if result.tuned:
        out.print(f"tuned boosting: {result.tuned} (best precision@10% of the later file in a grid of 4)")
    out.print("`clearway, by duty` ranks the same model's scores by probability x duty at risk.")
    if "brier" in summary["clearway"]:
        out.print(f"clearway calibration: Brier score {summary['clearway']['brier'][0]:.4f}", highlight=False)
    if chart is not None:
        from clearway.report import charts

        shares = ["1%", "2%", "5%", "10%"]
        series = {name: [f[f"precision@{s}"][0] for s in shares] for name, f in summary.items()}
        svg = charts.grouped("Precision at the top n% of the later period", shares, series)
        chart.write_text(svg, encoding="utf-8")


@model_app.command("drift")
def model_drift(
    model: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="the model in force")],
    data: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="recent declarations, CSV")] = None,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "kcs",
    label: Annotated[str | None, typer.Option(help="label column of --data, for precision on recent rows")] = None,
    days: Annotated[int, typer.Option(help="with no --data: the store's inspected consignments of these days")] = 30,
) -> None:
    """Population stability of each feature against training, and precision on recent inspections."""
    from clearway.services.targeting import load_mapping, read_history, store_history
    from clearway.targeting import metrics
    from clearway.targeting.model import TargetingModel

    scorer = TargetingModel.from_bytes(model.read_bytes())
    if data is not None:
        recent = read_history(data, load_mapping(fmt), label).history
    else:
        from clearway.bootstrap import bootstrap
        from clearway.settings import Settings

        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        recent = store_history(bootstrap(Settings.from_env()), since=since)
    shifts = scorer.drift(recent.drop("label") if "label" in recent.columns else recent)
    table = Table(title=f"population stability against training ({recent.height:,} recent rows)")
    for column in ("feature", "PSI", ""):
        table.add_column(column)
    for name, value in list(shifts.items())[:15]:
        flag = "retrain" if value > 0.25 else "watch" if value > 0.1 else ""
        table.add_row(name, f"{value:.3f}", flag)
    out.print(table)
    if "label" in recent.columns:
        scores, labels = scorer.score(recent.drop("label")), recent["label"].to_numpy()
        out.print(f"precision@10% on recent rows: {metrics.precision_at(scores, labels, 0.1):.3f}", highlight=False)


@model_app.command("promote")
def model_promote(
    model: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="the challenger")],
    days: Annotated[int, typer.Option(help="back-test on the store's inspections of these days")] = 90,
    force: Annotated[bool, typer.Option(help="promote even if it finds less than the champion")] = False,
    actor: Annotated[str, typer.Option(help="who promotes it, for the audit log")] = os.environ.get("USER", "operator"),
) -> None:
    """Back-test a challenger beside the champion on recent inspections; promote it if it is at least as
    good at 10% (the swap is stored and audited; the service uses it from its next start)."""
    from clearway.bootstrap import bootstrap
    from clearway.services.targeting import promote
    from clearway.settings import Settings

    result = promote(bootstrap(Settings.from_env()), model.read_bytes(), actor=actor, days=days,
                     now=dt.datetime.now(dt.UTC), force=force)  # fmt: skip
    for name, figures in result.figures.items():
        out.print(f"{name}: precision@10% {figures['precision@10%']:.3f}, auc {figures['auc']:.3f}", highlight=False)
    out.print(f"{result.reason}" + (f" as model v{result.version}" if result.version else ""), highlight=False)
    if not result.promoted:
        raise typer.Exit(1)


@model_app.command("retrain")
def model_retrain(
    days: Annotated[int, typer.Option(help="back-test on the store's inspections of these days")] = 90,
    keep: Annotated[Path | None, typer.Option(help="also write the challenger's model file here")] = None,
) -> None:
    """Train a challenger on every inspection result in the store and promote it if the back-test allows:
    the command to run on a schedule (a cron line or a systemd timer, e.g. weekly)."""
    from clearway.bootstrap import bootstrap
    from clearway.services.targeting import promote, train_from_store
    from clearway.settings import Settings

    application = bootstrap(Settings.from_env())
    with _progress() as progress:
        progress.add_task("training the challenger", total=None)
        challenger = train_from_store(application)
    if keep is not None:
        keep.write_bytes(challenger.to_bytes())
    result = promote(application, challenger.to_bytes(), actor="retrain", days=days, now=dt.datetime.now(dt.UTC))
    for name, figures in result.figures.items():
        out.print(f"{name}: precision@10% {figures['precision@10%']:.3f}, auc {figures['auc']:.3f}", highlight=False)
    out.print(result.reason + (f" as model v{result.version}" if result.version else ""), highlight=False)


@retention_app.command("run")
def retention_run(
    days: Annotated[int | None, typer.Option(help="override CLEARWAY_RETENTION_DAYS")] = None,
) -> None:
    """Erase (pseudonymise) the personal data of consignments released longer ago than the retention period,
    except where a case is open; decisions, events and the ledger stay intact."""
    from clearway.bootstrap import bootstrap
    from clearway.services.retention import erase_expired
    from clearway.settings import Settings

    application = bootstrap(Settings.from_env())
    keep = days or application.settings.retention_days
    with _progress() as progress:
        task = progress.add_task("erasing", total=None)
        report = erase_expired(
            application.store.engine, application.secret, days=keep, now=dt.datetime.now(dt.UTC),
            on_progress=lambda n: progress.advance(task, n),
        )  # fmt: skip
    out.print(
        f"retention {keep} days: {report.erased} consignments erased, {report.kept_open} kept (case open), "
        f"{report.scrubbed_rejections} rejected submissions scrubbed",
        highlight=False,
    )


def _verifier(text: str) -> object:
    from clearway.ledger import NoteVerifier

    path = Path(text)
    return NoteVerifier.parse(path.read_text(encoding="utf-8") if path.exists() else text)


@ledger_app.command("key")
def ledger_key() -> None:
    """Print the log's verifier key (give it to the parties that check proofs)."""
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    out.print(bootstrap(Settings.from_env()).ledger.key.verifier.encode(), highlight=False)


@ledger_app.command("checkpoint")
def ledger_checkpoint() -> None:
    """Sign a checkpoint of everything logged so far (if anything is new) and print the latest."""
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    ledger = bootstrap(Settings.from_env()).ledger
    ledger.checkpoint_if_due(utcnow(), force=True)
    latest = ledger.latest()
    if latest is None:
        err.print("the log is empty: nothing to sign")
        raise typer.Exit(1)
    sys.stdout.write(latest[1])


@ledger_app.command("audit")
def ledger_audit() -> None:
    """Recompute every stored leaf, seal and signed root, and cross-check decisions, events, lanes, statuses,
    inspections, refunds and the audit log against them; exit 3 when anything was tampered with."""
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    application = bootstrap(Settings.from_env())
    try:
        problems = application.ledger.audit()
    finally:
        application.store.engine.dispose()
    for problem in problems:
        err.print(f"[red bold]LEDGER TAMPERED:[/] {problem}")
    if problems:
        raise typer.Exit(3)
    out.print("the stored log matches every signed checkpoint")


@ledger_app.command("verify")
def ledger_verify(
    proof: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="proof bundle JSON from the API")],
    key: Annotated[str, typer.Option(help="the log's verifier key, or a file holding it")],
    checkpoint: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="a signed checkpoint you trust")
    ] = None,
) -> None:
    """Check a consignment's proof bundle offline: signature, leaves from events and salt, inclusion."""
    from clearway.ledger import NoteVerifier
    from clearway.ledger.bundle import check_bundle

    bundle = json.loads(proof.read_text(encoding="utf-8"))
    signed = checkpoint.read_text(encoding="utf-8") if checkpoint else bundle.get("checkpoint")
    if not signed:
        raise typer.BadParameter("the bundle carries no checkpoint: pass --checkpoint", param_hint="--checkpoint")
    verifier = _verifier(key)
    assert isinstance(verifier, NoteVerifier)
    for entry in check_bundle(bundle, signed, verifier):
        event = entry.event
        if event is None:
            out.print(f"ok  leaf {entry.index}: withheld (its inclusion is proven)", highlight=False)
            continue
        sealed = "" if event.sealed is None or entry.facts != event.facts else " (customs facts sealed)"
        facts = json.dumps(entry.facts)
        out.print(
            f"ok  leaf {entry.index}: {event.kind} {event.consignment} at {event.at.isoformat()} {facts}{sealed}",
            highlight=False,
        )


@ledger_app.command("watch")
def ledger_watch(
    url: Annotated[str, typer.Option(help="the clearway API, e.g. https://customs.example")],
    key: Annotated[str, typer.Option(help="the log's verifier key, or a file holding it")],
    state: Annotated[Path, typer.Option(help="file that keeps the last good checkpoint")],
    interval: Annotated[float, typer.Option(help="seconds between checks")] = 60.0,
    once: Annotated[bool, typer.Option(help="check once and exit")] = False,
) -> None:
    """Witness the log: each new checkpoint must extend the last one; exit 3 loudly when it does not."""
    import base64
    import time

    import httpx

    from clearway.ledger import NoteVerifier
    from clearway.services.witness import LedgerCompromised, observe

    verifier = _verifier(key)
    assert isinstance(verifier, NoteVerifier)
    with httpx.Client(base_url=url.rstrip("/"), timeout=30) as client:

        def checkpoint() -> str:
            response = client.get("/v1/ledger/checkpoint")
            response.raise_for_status()
            return response.text

        def consistency(first: int, second: int) -> list[bytes]:
            response = client.get("/v1/ledger/consistency", params={"first": first, "second": second})
            response.raise_for_status()
            return [base64.b64decode(h) for h in response.json()["proof"]]

        while True:
            try:
                seen = observe(checkpoint, consistency, verifier, state)
            except LedgerCompromised as exc:
                err.print(f"[red bold]LEDGER COMPROMISED:[/] {exc.message}")
                raise typer.Exit(3) from exc
            out.print(f"ok  {verifier.name}: size {seen.previous} -> {seen.current}", highlight=False)
            if once:
                return
            time.sleep(interval)


@app.command()
def screen(
    watch_list: Annotated[
        Path, typer.Option("--list", exists=True, dir_okay=False, help="FollowTheMoney JSON lines or the plain CSV")
    ],
    queries: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="CSV query_id,name,country")],
    results: Annotated[Path, typer.Option("--out", help="CSV query_id,entity_id,score,outcome,topics,explanation")],
    delta: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="a list delta (ADD/MOD/DEL lines) to apply")
    ] = None,
) -> None:
    """Screen names against a watch list: per query the best result (`match` or `possible`) with its
    explanation, or an empty entity_id. The list (and delta) are read afresh each run."""
    import csv as csv_module

    from clearway.bootstrap import load_watchlist
    from clearway.risk.screening import parse_delta_lines

    listed = load_watchlist(watch_list)
    if delta is not None:
        listed = listed.updated(*parse_delta_lines(delta.read_text(encoding="utf-8"), str(delta)))
    with queries.open(encoding="utf-8", newline="") as source, results.open("w", encoding="utf-8", newline="") as sink:
        reader = csv_module.DictReader(source)
        writer = csv_module.writer(sink)
        writer.writerow(["query_id", "entity_id", "score", "outcome", "topics", "explanation", "list_version"])
        for row in reader:
            found = listed.screen(row["name"], (row.get("country") or "").upper() or None)
            best = found[0] if found else None
            writer.writerow(
                [row["query_id"], best.entity_id if best else "", f"{best.score:.1f}" if best else "0",
                 best.outcome if best else "none", ";".join(sorted(best.topics)) if best else "",
                 best.explanation if best else "", listed.version]
            )  # fmt: skip


def _print_summary(result: object, report_path: Path) -> None:
    from clearway.services.demo import DemoResult, counts_by

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
