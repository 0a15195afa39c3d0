"""Commands on consignments themselves: the schema, validation, the simulator, ingest, conversion between
formats and screening of names."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from clearway.cli.apps import app
from clearway.cli.common import DEFAULT_DAY, err, out, parse_day, utcnow
from clearway.gc_tuning import tune_gc
from clearway.model.consignment import Consignment


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
    days: Annotated[int, typer.Option(min=1, max=366, help="consecutive days of one world (day-NN folders)")] = 1,
) -> None:
    """Write a realistic day of AED (aed/*.ndjson), its labels and a watch list to --out; with --days, that
    many consecutive days of one world (recurring sellers and buyers, fraud that adapts when caught)."""
    import datetime as dt

    from clearway.sim import simulate as run
    from clearway.sim import write_day
    from clearway.sim.days import World

    first = parse_day(day, "--day")
    if days == 1:
        counts = write_day(run(size, seed, first), out_dir)
        out.print(json.dumps({"out": str(out_dir), **counts}))
        return
    world = World.make(seed, size)
    for index in range(days):
        simulated = world.day(index, first + dt.timedelta(days=index))
        counts = write_day(simulated, out_dir / f"day-{index + 1:02d}")
        world.caught(index, world.offline_catches(index, simulated))
        out.print(json.dumps({"out": str(out_dir / f"day-{index + 1:02d}"), **counts}))


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
    from clearway.workers.checkpoints import checkpointing
    from clearway.workers.offload import OFFLOAD_FROM, Offloaded

    settings = Settings.from_env()
    application = bootstrap(settings)
    tune_gc()
    # a second process assesses each batch while this one stores the next, where the input is big enough
    if settings.assessor == "process" and file.stat().st_size >= OFFLOAD_FROM:
        with (
            checkpointing(application.store.engine) as quiet,
            Offloaded(application, settings, now=utcnow, quiet_commits=quiet) as offloaded,
        ):
            offloaded.ingest(submitter, read_path(file, fmt))
        report = offloaded.report
    else:
        report = run(application, submitter, read_path(file, fmt), now=utcnow)
    decisions = report.decision_frame()
    lanes = dict(decisions.group_by("lane").len().iter_rows()) if not decisions.is_empty() else {}
    out.print(
        json.dumps({"submitted": report.submitted, **report.outcomes, "lanes": lanes, "errors": dict(report.errors)})
    )


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
        documents = [_valid_v1(doc) for doc in _json_list(file.read_text(encoding="utf-8"))]
        forms = [cn23.from_consignment(doc) for doc in documents]
        for doc in documents:  # what a CN23 cannot carry is said, never dropped without a word
            for note in cn23.not_carried(doc):
                err.print(f"note: {doc.get('reference')}: {note}", highlight=False)
        if fmt == "csv":
            sys.stdout.write(cn23.write_csv(forms))
        else:
            sys.stdout.write(json.dumps(forms[0] if len(forms) == 1 else forms, indent=2, ensure_ascii=False) + "\n")
        return
    from clearway.interop.dms_declaration import not_carried, read_declaration, write_declaration
    from clearway.interop.dms_schemas import DmsSchemas
    from clearway.settings import Settings

    if {source, target} != {"wco-dms", "consignment-v1"}:
        raise typer.BadParameter("between consignment-v1 and wco-dms or cn23", param_hint="--from")
    folder = schemas or Settings.from_env().dms_schemas
    if folder is None:
        raise typer.BadParameter("give --schemas or set CLEARWAY_DMS_SCHEMAS", param_hint="--schemas")
    loaded = DmsSchemas.load(folder)
    if source == "consignment-v1":
        document = _valid_v1(json.loads(file.read_bytes()))
        sys.stdout.buffer.write(write_declaration(document))
        for note in not_carried(document):  # what DMS cannot carry is said, never dropped without a word
            err.print(f"note: {note}", highlight=False)
        return
    result = read_declaration(file.read_bytes(), loaded)
    if result.refused:
        err.print(f"refused: {result.refused}")
        for error in result.schema_errors:
            err.print(f"  line {error.line}: {error.path}: {error.message}")
        raise typer.Exit(1)
    assert result.consignment is not None
    _print_v1([result.consignment], result.extras, result.notes)


@app.command()
def conformance(
    samples: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="a folder of DMS XML samples")],
    schemas: Annotated[Path | None, typer.Option(help="the DMS schemas folder (default CLEARWAY_DMS_SCHEMAS)")] = None,
    write: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="replace the table between the conformance markers here"),
    ] = None,
) -> None:
    """Read every DMS sample as an import declaration and print whether it registers, converts with what v1
    still needs, or is refused and why: the conformance table of docs/wco-dms.md (`--write docs/wco-dms.md`)."""
    from clearway.cli.common import progress_bar
    from clearway.interop.dms_conformance import check, markdown, replace_between_markers
    from clearway.interop.dms_schemas import DmsSchemas
    from clearway.settings import Settings

    folder = schemas or Settings.from_env().dms_schemas
    if folder is None:
        raise typer.BadParameter("give --schemas or set CLEARWAY_DMS_SCHEMAS", param_hint="--schemas")
    loaded = DmsSchemas.load(folder)
    paths = sorted(samples.rglob("*.xml"))
    rows = []
    with progress_bar() as bar:
        task = bar.add_task("samples", total=len(paths))
        for path in paths:
            rows += check([(path.relative_to(samples).as_posix(), path.read_bytes())], loaded)
            bar.advance(task)
    table = markdown(rows)
    if write is None:
        sys.stdout.write(table)
        return
    try:
        write.write_text(replace_between_markers(write.read_text(encoding="utf-8"), table), encoding="utf-8")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--write") from exc
    err.print(f"{len(rows)} samples: the table in {write} is up to date")


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
