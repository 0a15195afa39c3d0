"""Targeting model use cases on files: read a declaration export through its column mapping, train,
score, evaluate against baselines in the same harness."""

from __future__ import annotations

import base64
import datetime as dt
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier

from clearway.bootstrap import App, packaged_text
from clearway.errors import InvalidInput
from clearway.pipeline import to_batch
from clearway.services.history import gatherer
from clearway.store import config as config_store
from clearway.store import consignments as stored
from clearway.targeting import metrics
from clearway.targeting.history import Mapping, duty_at_risk, parse_mapping, to_history
from clearway.targeting.model import TargetingModel, data_hash, train
from clearway.targeting.stage import CLEARWAY_MAPPING, batch_history

BUILT_IN = ("kcs",)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def load_mapping(fmt: str) -> Mapping:
    """A built-in mapping by name (`kcs`) or a mapping YAML file of the administration's own."""
    if fmt in BUILT_IN:
        return parse_mapping(
            packaged_text(f"clearway/data/targeting/{fmt}.yaml"), f"clearway/data/targeting/{fmt}.yaml"
        )
    path = Path(fmt)
    if not path.is_file():
        raise InvalidInput(f"unknown format {fmt!r}: one of {', '.join(BUILT_IN)}, or a column mapping YAML file")
    return parse_mapping(path.read_text(encoding="utf-8"), str(path))


@dataclass(frozen=True)
class Loaded:
    raw: pl.DataFrame
    history: pl.DataFrame
    digest: str


def read_history(path: Path, mapping: Mapping, label: str | None) -> Loaded:
    """A CSV export, every column as text (codes keep their leading zeros), a byte-order mark ignored."""
    data = path.read_bytes()
    try:
        raw = pl.read_csv(data, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as exc:
        raise InvalidInput(f"{path}: not a readable CSV file: {exc}") from exc
    raw = raw.rename({c: c.lstrip("\ufeff") for c in raw.columns})
    return Loaded(raw, to_history(raw, mapping, label), data_hash(data))


def train_file(path: Path, mapping: Mapping, label: str, seed: int = 0) -> TargetingModel:
    loaded = read_history(path, mapping, label)
    return train(loaded.history, mapping=mapping.name, trained_on=loaded.digest, seed=seed, trained_at=_now())


def score_file(model: TargetingModel, path: Path, mapping: Mapping) -> pl.DataFrame:
    """`<id column>,score`: one row per input row, in the input's order."""
    loaded = read_history(path, mapping, None)
    scores = model.score(loaded.history)
    return pl.DataFrame({mapping.columns["id"]: loaded.raw[mapping.columns["id"]], "score": np.round(scores, 9)})


# --- evaluation in one harness: clearway's model beside two baselines, on the same split ---


def _plain_matrix(history: pl.DataFrame, reference: pl.DataFrame) -> tuple[np.ndarray, list[int]]:
    """The baselines' input: the raw columns (no party ids), the HS code as a number (neighbouring codes
    are related goods), other categories as codes of the training data; and which columns are categorical
    (those with at most 250 values)."""
    columns = [history[c].fill_null(0).to_numpy() for c in ("value", "mass", "tax_rate")]
    columns.append(history["hs6"].cast(pl.Float64, strict=False).fill_null(-1).to_numpy())
    categorical = []
    for column in ["origin", "departure", *[c for c in history.columns if c.startswith("cat_")]]:
        vocabulary = reference[column].unique().sort().to_list()
        codes = {v: i for i, v in enumerate(vocabulary)}
        if len(vocabulary) <= 250:
            categorical.append(len(columns))
        columns.append(np.array([codes.get(v, -1) for v in history[column].to_list()], dtype=np.float64))
    return np.column_stack(columns), categorical


def _default_lightgbm(train_rows: pl.DataFrame, seed: int, _: dict[str, float]) -> Callable[[pl.DataFrame], np.ndarray]:
    matrix, _categorical = _plain_matrix(train_rows, train_rows)
    booster = lgb.train({"objective": "binary", "verbose": -1, "seed": seed, "num_threads": 2},
                        lgb.Dataset(matrix, train_rows["label"].to_numpy()))  # fmt: skip
    return lambda rows: np.asarray(booster.predict(_plain_matrix(rows, train_rows)[0]), dtype=np.float64)


TUNING_GRID = ({"learning_rate": 0.05, "max_leaf_nodes": 31}, {"learning_rate": 0.05, "max_leaf_nodes": 127},
               {"learning_rate": 0.1, "max_leaf_nodes": 63}, {"learning_rate": 0.03, "max_leaf_nodes": 63})  # fmt: skip


def _tuned_boosting(
    train_rows: pl.DataFrame, seed: int, settings: dict[str, float]
) -> Callable[[pl.DataFrame], np.ndarray]:
    """sklearn's histogram gradient boosting with the settings of TUNING_GRID that did best on the
    evaluation period at the first seed."""
    matrix, categorical = _plain_matrix(train_rows, train_rows)
    model = HistGradientBoostingClassifier(
        learning_rate=settings["learning_rate"], max_leaf_nodes=int(settings["max_leaf_nodes"]), max_iter=800,
        min_samples_leaf=20, l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=40, random_state=seed, categorical_features=categorical or None,
    )  # fmt: skip
    model.fit(matrix, train_rows["label"].to_numpy())
    return lambda rows: np.asarray(model.predict_proba(_plain_matrix(rows, train_rows)[0])[:, 1], dtype=np.float64)


@dataclass
class Evaluation:
    runs: dict[str, list[dict[str, float]]]  # model -> one report per seed
    tuned: dict[str, float]  # the settings the tuned baseline ran with

    def summary(self) -> dict[str, dict[str, tuple[float, float]]]:
        """model -> metric -> (mean, standard deviation over seeds)."""
        out = {}
        for name, reports in self.runs.items():
            out[name] = {
                key: (statistics.fmean(r[key] for r in reports),
                      statistics.stdev([r[key] for r in reports]) if len(reports) > 1 else 0.0)
                for key in reports[0]
            }  # fmt: skip
        return out


def evaluate(
    train_path: Path,
    valid_path: Path,
    mapping: Mapping,
    label: str,
    *,
    seeds: int = 5,
    baselines: bool = True,
    on_run: Callable[[str, int], None] | None = None,
) -> Evaluation:
    """Fit on the earlier file, measure on the later one (a temporal split), `seeds` times each."""
    fitted = read_history(train_path, mapping, label)
    valid = read_history(valid_path, mapping, label).history
    labels, at_risk = valid["label"].to_numpy(), duty_at_risk(valid).to_numpy()
    if valid["date"].min() <= fitted.history["date"].max():  # type: ignore[operator]
        raise InvalidInput("the evaluation data must come after the training data (a temporal split)")
    runs: dict[str, list[dict[str, float]]] = {"clearway": []}
    makers: dict[str, Callable[[pl.DataFrame, int, dict[str, float]], Callable[[pl.DataFrame], np.ndarray]]] = {}
    no_parties = fitted.history.select([c for c in fitted.history.columns if not c.startswith("party_")])
    tuned: dict[str, float] = {}
    if baselines:
        makers = {"lightgbm defaults": _default_lightgbm, "boosting, tuned": _tuned_boosting}
        runs |= {name: [] for name in makers}
        tuned = max(
            TUNING_GRID, key=lambda g: metrics.precision_at(_tuned_boosting(no_parties, 0, g)(valid), labels, 0.1)
        )
    for seed in range(seeds):
        model = train(fitted.history, mapping=mapping.name, trained_on=fitted.digest, seed=seed)
        probabilities = model.score(valid)
        runs["clearway"].append(
            metrics.report(probabilities, labels, at_risk) | {"brier": float(np.mean((probabilities - labels) ** 2))}
        )
        # the same model ranking by expected duty (probability x duty at risk): revenue first
        runs.setdefault("clearway, by duty", []).append(metrics.report(probabilities * at_risk, labels, at_risk))
        if on_run:
            on_run("clearway", seed)
        for name, make in makers.items():
            runs[name].append(metrics.report(make(no_parties, seed, tuned)(valid), labels, at_risk))
            if on_run:
                on_run(name, seed)
    return Evaluation(runs, tuned)


# --- clearway's own history: inspected consignments from the store ---


def store_history(app: App, *, since: dt.datetime | None = None) -> pl.DataFrame:
    """Every inspected consignment's items in the `clearway` mapping, labelled by the inspection outcome
    (1 when any inspection found an infringement). Random selections keep these labels unbiased."""
    found = stored.inspected(app.store, since)
    if not found:
        raise InvalidInput("the store holds no inspection result yet: nothing to learn from")
    rows = [row for row, _ in found]
    labels = {row.key: label for row, label in found}
    history = batch_history(to_batch(rows))
    return history.with_columns(pl.col("consignment").replace_strict(labels, return_dtype=pl.Int8).alias("label")).drop(
        "consignment"
    )


def train_from_store(app: App, seed: int = 0, *, as_of: dt.datetime | None = None) -> TargetingModel:
    """A model on every inspection so far. Inspections are a selection made for risk (most of them find
    something): its probabilities are restated for all traffic at the rate the random sample measures
    (`traffic_rate`), so that a stop's likelihood is what it is among the parcels the model scores."""
    history = store_history(app)
    digest = data_hash(history.write_ipc(None).getvalue())
    rate = traffic_rate(app, as_of or dt.datetime.now(dt.UTC))
    return train(history, mapping=CLEARWAY_MAPPING, trained_on=digest, seed=seed, trained_at=_now(), base_rate=rate)


RANDOM_MINIMUM = 30
"""Random inspections the traffic's rate needs before a model's probabilities are restated for it."""


def traffic_rate(app: App, as_of: dt.datetime) -> float | None:
    """The share of traffic that infringes, from the random sample (with half a parcel found and half not,
    Jeffreys' prior); None while the sample is under RANDOM_MINIMUM inspections."""
    inspected, found = gatherer(app).random_sample(as_of)
    return (found + 0.5) / (inspected + 1) if inspected >= RANDOM_MINIMUM else None


# --- the learning loop: drift, back-test of a challenger, promotion on record ---


def backtest(models: dict[str, TargetingModel], history: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Each model's figures on the same labelled history."""
    labels, at_risk = history["label"].to_numpy(), duty_at_risk(history).to_numpy()
    return {name: metrics.report(model.score(history.drop("label")), labels, at_risk) for name, model in models.items()}


@dataclass(frozen=True)
class Promotion:
    promoted: bool
    version: int | None
    figures: dict[str, dict[str, float]]
    reason: str


def promote(app: App, challenger: bytes, *, actor: str, days: int, now: dt.datetime, force: bool = False) -> Promotion:
    """Back-test the challenger beside the champion on the store's inspected consignments of the last
    `days`; it replaces the champion when it finds at least as much at 10% (or when forced). The swap is
    stored as the next `model` version and in the audit log, with the figures."""
    candidate = TargetingModel.from_bytes(challenger)
    history = store_history(app, since=now - dt.timedelta(days=days))
    models = {"challenger": candidate} | ({"champion": app.model} if app.model is not None else {})
    figures = backtest(models, history)
    better = "champion" not in figures or (
        figures["challenger"]["precision@10%"] >= figures["champion"]["precision@10%"]
    )
    if not (better or force):
        return Promotion(False, None, figures, "the challenger finds less than the champion at 10%")
    version = config_store.add_version(
        app.store.engine, "model", base64.b64encode(challenger).decode(), at=now, actor=actor, role="operator",
        action="model_promoted", before={"trained_on": app.model.meta.trained_on if app.model else None},
        after={"trained_on": candidate.meta.trained_on, "backtest": figures, "forced": force and not better},
    )  # fmt: skip
    app.model = candidate
    app.pipeline = app.rebuild()
    return Promotion(True, version, figures, "promoted" if better else "promoted (forced)")
