"""The targeting model as an administration uses it: on the KCS declarations through the command line,
and on clearway's own inspection results (train, promote after a back-test, score in the pipeline)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from clearway.auth.clients import Principal
from clearway.bootstrap import bootstrap
from clearway.intake import read_bytes
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.services.clearance import Inspection, InspectionFinding
from clearway.services.ingest import ingest
from clearway.services.targeting import promote, store_history, train_from_store
from clearway.settings import Settings
from clearway.sim import simulate
from clearway.store import tables as t
from clearway.targeting import metrics
from clearway.targeting.model import TargetingModel, train
from clearway.targeting.stage import ModelStage, batch_history
from clearway.workers.runtime import Runtime
from tests.integration.test_cli import clearway

KCS = Path(__file__).parents[3] / "shared" / "data" / "customs-declarations"

pytestmark = pytest.mark.xdist_group("lightgbm")  # one LightGBM training at a time: OpenMP threads oversubscribe


@pytest.mark.slow
def test_kcs_train_score_and_refuse_other_shapes(tmp_path: Path) -> None:
    if not (KCS / "df_syn_train_eng.csv").exists():
        pytest.skip(f"the KCS declarations are not at {KCS} (see ../shared/data/customs-declarations/SOURCE.md)")
    model, scores = tmp_path / "kcs.cwm", tmp_path / "scores.csv"
    home = tmp_path / "home"
    clearway("model", "train", "--data", str(KCS / "df_syn_train_eng.csv"), "--format", "kcs", "--label", "Fraud",
             "--out", str(model), home=home)  # fmt: skip
    valid = KCS / "df_syn_valid_eng.csv"
    clearway("model", "score", "--model", str(model), "--data", str(valid), "--format", "kcs", "--out", str(scores),
             home=home)  # fmt: skip
    with valid.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    with scores.open(encoding="utf-8") as handle:
        scored = list(csv.reader(handle))
    assert scored[0] == ["Declaration ID", "score"]
    assert [r[0] for r in scored[1:]] == [r["Declaration ID"] for r in rows]  # one per row, same order
    probabilities = np.array([float(r[1]) for r in scored[1:]])
    labels = np.array([int(r["Fraud"]) for r in rows])
    assert metrics.precision_at(probabilities, labels, 0.05) > 0.9  # the published best is 0.762
    assert abs(probabilities.mean() - labels.mean()) < 0.05  # calibrated: the mean score is the fraud rate
    loaded = TargetingModel.from_bytes(model.read_bytes())
    assert loaded.meta.versions["lightgbm"] and len(loaded.meta.trained_on) == 64
    other = tmp_path / "other.csv"
    other.write_text("Declaration ID,Date\n1,2021-01-01\n", encoding="utf-8")
    refused = clearway("model", "score", "--model", str(model), "--data", str(other), "--format", "kcs", "--out",
                       str(tmp_path / "x.csv"), home=home, check=False)  # fmt: skip
    assert refused.returncode != 0 and "HS6 Code" in refused.stderr


def test_the_learning_loop_on_clearways_own_inspections(tmp_path: Path) -> None:
    settings = Settings.from_env({"CLEARWAY_HOME": str(tmp_path)})
    app = bootstrap(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'loop.db'}"))
    day = simulate(600, 31, dt.date(2026, 11, 20))
    noon = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    for submitter in sorted({r.submitter for r in day.records}):
        lines = b"\n".join(r.line for r in day.records if r.submitter == submitter)
        ingest(app, submitter, read_bytes(lines, "ndjson"), now=lambda: noon)
    bad = {(lb.submitter, lb.reference) for lb in day.labels if lb.violation in ("undervaluation", "counterfeit")}
    runtime = Runtime.build(app, now=lambda: noon + dt.timedelta(hours=2))
    officer = Principal("o", "officer-model", "officer", None, frozenset({"officer"}))
    c = t.consignments.c
    with app.store.engine.connect() as conn:
        stored = conn.execute(sa.select(c.id, c.submitter, c.reference, c.status)).all()
    open_ones = [row for row in stored if row.status in ("assessed", "held", "inspected")]
    assert len(open_ones) >= 100
    for cid, submitter, reference, status in open_ones:  # the officers inspect (random and targeted) parcels
        if status not in ("held", "inspected"):
            runtime.clearance.reroute(officer, cid, "red", "sample for inspection")
        found = (submitter, reference) in bad
        runtime.clearance.inspect(officer, cid, Inspection(
            "physical", "infringement" if found else "compliant",
            [InspectionFinding("undervaluation")] if found else [],
        ))  # fmt: skip
    history = store_history(app)
    assert history["label"].sum() > 0 and history.height >= len(open_ones)
    challenger = train_from_store(app, seed=1)
    first = promote(app, challenger.to_bytes(), actor="ops", days=30, now=noon + dt.timedelta(days=1))
    assert first.promoted and first.version == 1 and "champion" not in first.figures
    stage = next(s for s in app.pipeline.stages if isinstance(s, ModelStage))
    day2 = simulate(300, 32, dt.date(2026, 11, 21))
    accepted = [x.outcome.consignment for x in read_bytes(b"\n".join(r.line for r in day2.records), "ndjson")]
    frame = to_batch([BatchRow(f"n{i}", "next-day", noon, c) for i, c in enumerate(accepted) if c is not None])
    scores = challenger.score(batch_history(frame).drop("consignment"))
    band = float(np.quantile(scores, 0.9))  # the top tenth of the day: what the officers could inspect
    hits = ModelStage(challenger, red_at=1.0, yellow_at=band).run(frame, Context(as_of=noon)).hits
    assert hits.height > 0 and set(hits["source"]) == {"model"}
    assert all("driven by" in m for m in hits["message"])  # the features behind the score: the officer's reasons
    for code, message in hits.select("code", "message").iter_rows():  # the score, not a likelihood it is not
        assert f"({code}; a stop weighs the band's measured hit rate" in message and "likely" not in message
    explored = ModelStage(challenger, yellow_at=0.5, red_at=0.8, explore=0.1).run(frame, Context(as_of=noon)).hits
    learning = explored.filter(explored["code"] == "MODEL-EXPLORE")
    flagged = set(explored.filter(explored["source"] == "model")["key"])
    assert set(explored.filter(explored["source"] == "model")["code"]) <= {"MODEL-HIGH", "MODEL-MEDIUM"}
    assert learning.height == min(int(np.ceil(0.1 * frame.height)), frame.height - len(flagged))
    assert set(learning["source"]) == {"random"} and set(learning["lane"]) == {"yellow"}
    assert not flagged & set(learning["key"])  # exploration picks parcels the model did not flag already
    assert stage.model is app.model and not ModelStage(challenger).run(frame.head(0), Context(as_of=noon)).hits.height
    labels = np.random.default_rng(0).permutation(history["label"].to_numpy())
    noise = train(history.with_columns(pl.Series("label", labels)), mapping="clearway", trained_on="noise")
    refused = promote(app, noise.to_bytes(), actor="ops", days=30, now=noon + dt.timedelta(days=1))
    assert not refused.promoted
    assert refused.figures["champion"]["precision@10%"] > refused.figures["challenger"]["precision@10%"]
    with app.store.engine.connect() as conn:
        audit = conn.execute(sa.select(t.audit_log.c.action).where(t.audit_log.c.action == "model_promoted")).all()
    assert len(audit) == 1
    reloaded = bootstrap(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'loop.db'}"))
    assert reloaded.model is not None and reloaded.model.meta.trained_on == challenger.meta.trained_on
    drift = challenger.drift(history.drop("label"))
    assert all(value >= 0 for value in drift.values()) and max(drift.values()) < 0.25  # the same population
