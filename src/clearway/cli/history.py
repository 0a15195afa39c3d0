"""History as Parquet, back-tests and rescoring on Spark or locally, and partners' export records."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearway.cli.apps import app, exports_app, history_app
from clearway.cli.common import out, parse_day, progress_bar, utcnow


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
    with progress_bar() as progress:
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
    count = store_exports(bootstrap(settings), records, partner=partner, source=source, at=utcnow(),
                          actor=os.environ.get("USER", "operator"))  # fmt: skip
    out.print(f"{count} export records of {partner} kept")
