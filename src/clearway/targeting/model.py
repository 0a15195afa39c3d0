"""The targeting model: LightGBM on the features, probabilities calibrated (isotonic, on a later slice
of the history than the trees saw), per-row feature contributions as reasons, and a self-describing file.

A model file (`.cwm`) is msgpack: the format, the feature specification, the booster, the calibration,
the library versions and the SHA-256 of the training data. Scoring data of another shape is refused
with the columns it lacks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import msgspec
import numpy as np
import polars as pl

from clearway.errors import InvalidInput
from clearway.targeting.features import FeatureSpec, fit, transform

if TYPE_CHECKING:  # LightGBM and scikit-learn (1.2 s to import) come in where a model is read or trained, so
    import lightgbm as lgb  # that every process that builds the application without one is spared them
    from sklearn.isotonic import IsotonicRegression

    Booster: TypeAlias = lgb.Booster
    Calibration: TypeAlias = IsotonicRegression
else:  # what the fields' annotations read as at run time (the API's dependency check resolves them): anything
    Booster = Calibration = object

FORMAT = "clearway-targeting-model/1"
# chosen on the KCS validation quarter (2021-Q1) after fitting on 2020, as the published protocol does
PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 127, "min_child_samples": 20,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "cat_smooth": 10.0, "verbose": -1, "num_threads": 2,
}  # fmt: skip
ROUNDS = 2000
EARLY_STOP = 100
CALIBRATION_SHARE = 0.15  # the latest share of the training history: early stopping and calibration


class ModelFile(msgspec.Struct, frozen=True):
    format: str
    spec: FeatureSpec
    booster: str
    calibration_x: list[float]
    calibration_y: list[float]
    versions: dict[str, str]
    trained_on: str  # sha256 of the training data as read
    trained_at: str  # ISO time given by the caller (the core reads no clock)
    rows: int
    params: dict[str, Any]
    rounds: int
    reference: dict[str, list[list[float]]] = {}  # feature -> [decile edges, shares]: the training distribution


def data_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass
class TargetingModel:
    spec: FeatureSpec
    booster: Booster
    calibration: Calibration
    meta: ModelFile

    def matrix(self, history: pl.DataFrame) -> pl.DataFrame:
        missing = [c for c in self.spec.required() if c not in history.columns]
        if missing:
            raise InvalidInput(
                f"this model was trained on {self.spec.mapping} data; the data lacks {', '.join(missing)}"
            )
        return transform(history, self.spec)

    def raw_scores(self, history: pl.DataFrame) -> np.ndarray:
        features = _array(self.matrix(history))
        return np.asarray(self.booster.predict(features, num_iteration=self.meta.rounds), dtype=np.float64)

    def score(self, history: pl.DataFrame) -> np.ndarray:
        """Calibrated probabilities of an infringement, one per row, in order. Isotonic calibration is a
        step function; a millionth of the raw score breaks its ties, so the ranking stays the trees', and the
        mix stays a probability (within 0 and 1)."""
        raw = self.raw_scores(history)
        return (1 - 1e-6) * np.asarray(self.calibration.predict(raw), dtype=np.float64) + 1e-6 * raw

    def reasons(self, history: pl.DataFrame, top: int = 3) -> list[list[tuple[str, float]]]:
        """Per row, the features that pushed its score up most (SHAP contributions of LightGBM)."""
        features = _array(self.matrix(history))
        contributions = np.asarray(self.booster.predict(features, num_iteration=self.meta.rounds, pred_contrib=True))
        names = self.spec.names
        out = []
        for row in contributions[:, :-1]:
            order = np.argsort(-row)[:top]
            out.append([(names[i], float(row[i])) for i in order if row[i] > 0])
        return out

    def drift(self, history: pl.DataFrame) -> dict[str, float]:
        """Population stability index of each feature of `history` against the training distribution."""
        matrix = self.matrix(history)
        out = {}
        for name, (edges, shares) in self.meta.reference.items():
            out[name] = psi(np.asarray(edges), np.asarray(shares), matrix[name].cast(pl.Float64).to_numpy())
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def to_bytes(self) -> bytes:
        return msgspec.msgpack.encode(self.meta)

    @classmethod
    def from_bytes(cls, data: bytes) -> TargetingModel:
        try:
            meta = msgspec.msgpack.decode(data, type=ModelFile)
        except msgspec.DecodeError as exc:
            raise InvalidInput(f"not a clearway model file: {exc}") from exc
        if meta.format != FORMAT:
            raise InvalidInput(f"model format {meta.format!r}; this clearway reads {FORMAT!r}")
        import lightgbm as lgb
        from sklearn.isotonic import IsotonicRegression

        calibration = IsotonicRegression(out_of_bounds="clip").fit(meta.calibration_x, meta.calibration_y)
        return cls(meta.spec, lgb.Booster(model_str=meta.booster), calibration, meta)


def shift_prior(probabilities: np.ndarray, learnt: float, traffic: float) -> np.ndarray:
    """Probabilities learnt where `learnt` of the rows were positive, restated for a population where `traffic`
    are: the odds scale by the ratio of the two base rates' odds (Saerens, Latinne and Decaestecker, "Adjusting
    the outputs of a classifier to new a priori probabilities", Neural Computation 14(1), 2002). Inspected
    parcels are a selection made for their risk: a model calibrated on them alone calls most traffic likely."""
    low, high = 1e-6, 1 - 1e-6
    learnt, traffic = min(max(learnt, low), high), min(max(traffic, low), high)
    ratio = (traffic / (1 - traffic)) / (learnt / (1 - learnt))
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = p / (1 - p) * ratio
        out = np.where(p >= 1.0, 1.0, odds / (1 + odds))
    return np.asarray(out, dtype=np.float64)


def distribution(values: np.ndarray, bins: int = 10) -> list[list[float]]:
    """Decile edges of `values` and the share of values in each bin (NaN as a bin of its own)."""
    finite = values[np.isfinite(values)]
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])) if finite.size else np.array([])
    return [edges.tolist(), _shares(edges, values).tolist()]


def _shares(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    counts = np.bincount(np.searchsorted(edges, values[finite], side="right"), minlength=len(edges) + 1)
    counts = np.append(counts, (~finite).sum()).astype(np.float64)
    return np.asarray(counts / max(1.0, float(counts.sum())), dtype=np.float64)


def psi(edges: np.ndarray, expected: np.ndarray, values: np.ndarray) -> float:
    """Population stability index: sum over bins of (actual - expected) x ln(actual / expected).
    Below 0.1 stable, 0.1 to 0.25 a shift worth watching, above 0.25 a shift that needs retraining."""
    actual = _shares(edges, values)
    e, a = np.clip(expected, 1e-4, None), np.clip(actual, 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _array(matrix: pl.DataFrame) -> np.ndarray:
    return matrix.drop("id").to_numpy().astype(np.float64)


def _dataset(features: np.ndarray, labels: np.ndarray, spec: FeatureSpec) -> lgb.Dataset:
    import lightgbm as lgb

    return lgb.Dataset(
        features, labels, feature_name=spec.names, categorical_feature=spec.categorical, free_raw_data=False
    )


def train(
    history: pl.DataFrame,
    *,
    mapping: str,
    trained_on: str,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    trained_at: str = "",
    base_rate: float | None = None,
) -> TargetingModel:
    """Fit on labelled history: the trees on the earlier part, early stopping and calibration on the latest
    CALIBRATION_SHARE of days, then the trees again on everything for the rounds found. With `base_rate`
    (the share of all traffic that infringes, where the history is a selection of it, as inspections are),
    the probabilities are restated for that traffic (`shift_prior`)."""
    import lightgbm as lgb
    import sklearn
    from sklearn.isotonic import IsotonicRegression

    history = history.sort("date", "id")
    spec = fit(history, mapping)
    matrix = _array(transform(history, spec, training=True))
    labels = history["label"].to_numpy()
    cut = int(len(labels) * (1 - CALIBRATION_SHARE))
    settings = PARAMS | (params or {}) | {"seed": seed}
    early = lgb.train(
        settings,
        _dataset(matrix[:cut], labels[:cut], spec),
        num_boost_round=ROUNDS,
        valid_sets=[_dataset(matrix[cut:], labels[cut:], spec)],
        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)],
    )
    rounds = max(1, early.best_iteration)
    held_out = np.asarray(early.predict(matrix[cut:], num_iteration=rounds), dtype=np.float64)
    calibration = IsotonicRegression(out_of_bounds="clip").fit(held_out, labels[cut:])
    if base_rate is not None:
        shifted = shift_prior(calibration.y_thresholds_, float(labels[cut:].mean()), base_rate)
        calibration = IsotonicRegression(out_of_bounds="clip").fit(calibration.X_thresholds_, shifted)
    booster = lgb.train(
        settings,
        _dataset(matrix, labels, spec),
        num_boost_round=int(rounds * 1 / (1 - CALIBRATION_SHARE)),
    )
    final_rounds = booster.current_iteration()
    scored_as_new = _array(transform(history, spec))  # as new data is featurised: the baseline of drift
    reference = {name: distribution(scored_as_new[:, i]) for i, name in enumerate(spec.names)}
    meta = ModelFile(
        FORMAT, spec, booster.model_to_string(), [float(x) for x in calibration.X_thresholds_],
        [float(y) for y in calibration.y_thresholds_],
        {"lightgbm": lgb.__version__, "scikit-learn": sklearn.__version__, "polars": pl.__version__},
        trained_on, trained_at, len(labels), settings, final_rounds,
        reference,
    )  # fmt: skip
    return TargetingModel(spec, booster, calibration, meta)
