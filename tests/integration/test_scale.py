"""History on Spark and locally: the same replay of the same days, whatever the engine (pyspark in local[2],
Java 17); a changed profile set or a model shows its impact against what was decided."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from clearway.bootstrap import App, bootstrap, profiles_text
from clearway.demo.officers import inspect_held
from clearway.impact import summarise
from clearway.intake import read_bytes
from clearway.scale.candidate import Candidate
from clearway.scale.engines import backtest, rescore, stop_spark
from clearway.services.history_export import export_history
from clearway.services.ingest import ingest
from clearway.services.targeting import train_from_store
from clearway.settings import Settings
from clearway.sim import simulate
from tests.integration.test_cli import clearway

pytestmark = [
    pytest.mark.xdist_group("lightgbm"),  # trains a model and starts Spark: never beside another training
    pytest.mark.filterwarnings("ignore::ResourceWarning"),  # py4j leaves its gateway sockets to the collector
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),  # ... which says so late
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, Path]]:
    """Two simulated days ingested, their held parcels inspected (outcomes from the simulator's labels),
    exported as history."""
    home = tmp_path_factory.mktemp("scale")
    app = bootstrap(dataclasses.replace(Settings.from_env({"CLEARWAY_HOME": str(home)}),
                                        database_url=f"sqlite:///{home / 'history.db'}"))  # fmt: skip
    for offset, seed in ((0, 41), (1, 42)):
        day = dt.date(2026, 11, 20) + dt.timedelta(days=offset)
        noon = dt.datetime.combine(day, dt.time(12), dt.UTC)
        traffic = simulate(500, seed, day)
        for submitter in sorted({r.submitter for r in traffic.records}):
            lines = b"\n".join(r.line for r in traffic.records if r.submitter == submitter)
            ingest(app, submitter, read_bytes(lines, "ndjson"), now=lambda noon=noon: noon)
        labels = pl.DataFrame([(x.submitter, x.reference, x.violation) for x in traffic.labels],
                              schema=["submitter", "reference", "violation"], orient="row")  # fmt: skip
        inspect_held(app, labels, capacity=200, seed=seed, now=lambda noon=noon: noon + dt.timedelta(hours=3))
    files = export_history(app, home / "history")
    assert [f.parent.name for f in files] == ["day=2026-11-20", "day=2026-11-21"]
    yield app, home
    stop_spark()


def starter(without: str | None = None) -> Candidate:
    text, source = profiles_text(None)
    if without:  # drop one profile: the candidate an officer would assess
        blocks = text.split("\n  - id: ")
        text = "\n  - id: ".join(b for b in blocks if not b.startswith(without + "\n"))
    return Candidate(text, source)


def test_history_replays_the_same_on_both_engines_and_shows_a_change(store: tuple[App, Path]) -> None:
    app, home = store
    history = home / "history"
    local = backtest(history, starter(), "local")
    assert local.height == pl.read_parquet(history / "*/*.parquet").height > 900
    assert set(local["day"].unique().to_list()) == {dt.date(2026, 11, 20), dt.date(2026, 11, 21)}
    spark = backtest(history, starter(), "spark")
    assert spark.equals(local)  # the very same rows: one replay, two engines
    before = summarise(local)
    assert before["actual"]["stopped"] > 0 and before["actual"]["hit_rate"] is not None
    assert local["candidate_codes"].list.contains("DQ-VAGUE").any()
    dropped = backtest(history, starter(without="DQ-VAGUE"), "local")
    assert not dropped["candidate_codes"].list.contains("DQ-VAGUE").any()
    after = summarise(dropped)
    assert after["candidate"]["stopped"] <= before["candidate"]["stopped"]  # the capacity others may take up
    moved = dropped.join(local, on="key").filter(pl.col("candidate_lane") != pl.col("candidate_lane_right"))
    why = moved.select(pl.concat_list("candidate_codes", "candidate_codes_right").alias("codes"))["codes"]
    assert moved.height > 0  # each moved for the profile, or for the inspection capacity it freed or took
    assert all("DQ-VAGUE" in codes or "CAPACITY" in codes for codes in why.to_list())


def test_rescore_writes_the_same_scores_on_both_engines(store: tuple[App, Path], tmp_path: Path) -> None:
    app, home = store
    model = train_from_store(app, seed=1).to_bytes()
    local = rescore(home / "history", model, "local")
    assert local["score"].is_between(0, 1).all() and local.height > 900
    spark = rescore(home / "history", model, "spark")
    assert spark.select("key", "day").equals(local.select("key", "day"))
    assert (spark["score"] - local["score"]).abs().max() < 1e-9  # type: ignore[operator]


def test_backtest_and_rescore_commands(store: tuple[App, Path], tmp_path: Path) -> None:
    _, home = store
    summary = clearway("backtest", "--history", str(home / "history"), "--json", home=tmp_path)
    assert '"candidate"' in summary.stdout and '"revenue_at_risk"' in summary.stdout
    missing = clearway("backtest", "--history", str(tmp_path), home=tmp_path, check=False)
    assert missing.returncode != 0 and "no day=YYYY-MM-DD" in missing.stderr
