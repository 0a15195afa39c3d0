"""`clearway model`: the targeting model: train, score, evaluate, drift, promote, retrain."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearway.cli.apps import model_app
from clearway.cli.common import FORMAT_HELP, err, out, progress_bar


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
    with progress_bar() as progress:
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

    with progress_bar() as progress:
        task = progress.add_task("training and scoring", total=seeds * (3 if baselines else 1))
        result = evaluate(train_data, valid_data, load_mapping(fmt), label, seeds=seeds, baselines=baselines,
                          on_run=lambda name, seed: progress.advance(task))  # fmt: skip
    summary = result.summary()
    keys = ["precision@1%", "precision@2%", "precision@5%", "precision@10%", "recall@5%", "recall@10%",
            "revenue@1%", "revenue@2%", "revenue@5%", "revenue@10%", "auc"]  # fmt: skip
    table = Table(title=f"{valid_data.name}: {seeds} seeds, mean ± standard deviation")
    table.add_column("")
    for name in summary:
        table.add_column(name, justify="right")
    for key in keys:
        table.add_row(key, *[f"{figures[key][0]:.3f} ± {figures[key][1]:.3f}" for figures in summary.values()])
    out.print(table)
    if result.tuned:
        out.print(f"tuned boosting: {result.tuned} (best precision@10% of the later file in a grid of 4)")
    out.print(
        "`clearway, by duty` ranks the same model's scores by expected value (probability x duty at risk):"
        " its revenue@n% is the duty found by spending the top n% of inspections where they are worth most."
    )
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
    with progress_bar() as progress:
        progress.add_task("training the challenger", total=None)
        challenger = train_from_store(application)
    if keep is not None:
        keep.write_bytes(challenger.to_bytes())
    result = promote(application, challenger.to_bytes(), actor="retrain", days=days, now=dt.datetime.now(dt.UTC))
    for name, figures in result.figures.items():
        out.print(f"{name}: precision@10% {figures['precision@10%']:.3f}, auc {figures['auc']:.3f}", highlight=False)
    out.print(result.reason + (f" as model v{result.version}" if result.version else ""), highlight=False)
