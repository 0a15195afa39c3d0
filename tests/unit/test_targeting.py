"""The targeting model: metrics worked by hand, party history strictly from the past, learning a
price signal, the model file, and refusing data of another shape."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from clearway.errors import InvalidInput, RuleFileError
from clearway.targeting import metrics
from clearway.targeting.features import fit, transform
from clearway.targeting.history import parse_mapping
from clearway.targeting.model import TargetingModel, shift_prior, train

pytestmark = pytest.mark.xdist_group("lightgbm")  # one LightGBM training at a time: OpenMP threads oversubscribe


def test_metrics_at_the_top_n_percent() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    labels = np.array([1, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    at_risk = np.array([10, 99, 30, 0, 0, 0, 60, 0, 0, 0], dtype=float)
    assert metrics.precision_at(scores, labels, 0.2) == 0.5  # top 2: one infringement
    assert metrics.precision_at(scores, labels, 0.01) == 1.0  # at least one row
    assert metrics.recall_at(scores, labels, 0.3) == pytest.approx(2 / 3)
    assert metrics.revenue_at(scores, labels, at_risk, 0.3) == pytest.approx(40 / 100)  # 99 is not an infringement
    assert metrics.auc(scores, labels) == pytest.approx(16 / 21)
    assert math.isnan(metrics.recall_at(scores, np.zeros(10), 0.1))


def history(n: int, seed: int, start: dt.date = dt.date(2025, 1, 1), hidden: float = 0.0) -> pl.DataFrame:
    """Declarations where an infringement is a unit value far below its HS subheading's usual one (but for
    a `hidden` share of them, declared at the usual value: nothing in the data tells them apart)."""
    rng = np.random.default_rng(seed)
    hs = rng.choice(["610910", "851712", "392690", "640399", "950300"], n)
    typical = {"610910": 8.0, "851712": 120.0, "392690": 3.0, "640399": 40.0, "950300": 15.0}
    mass = rng.uniform(0.2, 5.0, n)
    fraud = rng.random(n) < 0.2
    cheap = fraud & (rng.random(n) >= hidden)
    unit = np.array([typical[h] for h in hs]) * rng.lognormal(0, 0.25, n) * np.where(cheap, 0.15, 1.0)
    return pl.DataFrame({
        "id": [f"D{seed}-{i}" for i in range(n)],
        "date": [start + dt.timedelta(days=int(d)) for d in sorted(rng.integers(0, 300, n))],
        "hs6": hs, "origin": rng.choice(["CN", "US", "DE"], n), "departure": rng.choice(["CN", "HK"], n),
        "value": unit * mass, "mass": mass, "tax_rate": rng.choice([0.0, 8.0], n),
        "cat_office": rng.choice(["10", "20"], n), "party_importer": rng.choice([f"I{k}" for k in range(50)], n),
        "label": fraud.astype(np.int8),
    })  # fmt: skip


def test_party_history_counts_only_earlier_days() -> None:
    day = dt.date(2025, 3, 1)
    rows = pl.DataFrame({
        "id": ["a", "b", "c", "d"], "date": [day, day, day + dt.timedelta(days=1), day + dt.timedelta(days=2)],
        "hs6": ["610910"] * 4, "origin": ["CN"] * 4, "departure": ["CN"] * 4, "value": [10.0] * 4,
        "mass": [1.0] * 4, "tax_rate": [8.0] * 4, "party_importer": ["X", "X", "X", "Y"], "label": [1, 1, 0, 1],
    })  # fmt: skip
    spec = fit(rows, "test")
    trained = transform(rows, spec, training=True)
    seen = np.expm1(trained["history_importer_declarations"].to_numpy()).round().tolist()
    assert seen == [0, 0, 2, 0]  # the same day's own labels never count; the next day sees both
    later = transform(rows.head(1), spec)  # new rows see all of training
    assert round(float(np.expm1(later["history_importer_declarations"][0]))) == 3


def test_the_weekday_and_the_month_are_features_only_once_training_saw_their_cycle() -> None:
    def over(days: int) -> pl.DataFrame:  # 2,000 declarations spread evenly over `days` days from a Wednesday
        return history(2000, 3).with_columns(
            pl.Series("date", [dt.date(2025, 1, 1) + dt.timedelta(days=i % days) for i in range(2000)])
        )

    # three days: the weekday would name the day, and the month is one month
    assert {"weekday", "month"}.isdisjoint(fit(over(3), "test").names)
    assert "weekday" not in fit(over(27), "test").names  # each weekday on three or four dates: not yet
    names = fit(over(56), "test").names  # eight weeks: every weekday on eight dates; two months of twelve
    assert "weekday" in names and "month" not in names
    assert {"weekday", "month"} <= set(fit(over(365), "test").names)  # a year: every month on many dates


def test_the_model_learns_the_price_signal_and_explains_it() -> None:
    model = train(history(3000, 1), mapping="test", trained_on="t", seed=0)
    new = history(1000, 2, start=dt.date(2025, 11, 1))
    scores = model.score(new)
    assert metrics.precision_at(scores, new["label"].to_numpy(), 0.1) > 0.9
    assert scores.min() >= 0.0 and scores.max() <= 1.0 + 1e-5
    top = int(np.argmax(scores))
    assert any(name in ("unit_vs_hs", "unit_minus_hs_median", "log_unit", "log_value") for name, _ in model.reasons(
        new[top : top + 1])[0])  # fmt: skip
    again = TargetingModel.from_bytes(model.to_bytes())
    assert np.allclose(again.score(new), scores)
    assert again.meta.versions["lightgbm"] and again.meta.trained_on == "t"
    with pytest.raises(InvalidInput, match="lacks party_importer"):
        model.score(new.drop("party_importer"))
    with pytest.raises(InvalidInput, match="not a clearway model file"):
        TargetingModel.from_bytes(b"not a model")


def test_a_mapping_that_uses_the_leaking_column_is_refused() -> None:
    text = "id: ID\ndate: Date\nhs6: HS\norigin: O\nvalue: V\nmass: M\nparties: {importer: Critical Fraud}\n"
    with pytest.raises(RuleFileError, match="leak the label"):
        parse_mapping(text + "never: [Critical Fraud]\n", "m.yaml")
    with pytest.raises(RuleFileError, match="needs the columns value"):
        parse_mapping(text.replace("value: V\n", ""), "m.yaml")


def test_a_model_learnt_on_inspections_is_restated_for_all_traffic() -> None:
    """Inspections are a selection made for risk: learnt on them alone, a model calls most traffic likely to
    infringe. Given the traffic's rate (the random sample's), its probabilities are the traffic's; its
    ranking is the same."""
    assert shift_prior(np.array([0.0, 0.8, 0.5, 1.0]), 0.8, 0.2) == pytest.approx(
        [0.0, 0.2, 1 / 17, 1.0]
    )  # odds x 1/16
    everything = history(6000, 3, hidden=0.5)
    inspected = everything.filter((pl.col("label") == 1) | (pl.int_range(pl.len()) % 8 == 0))  # risk-selected
    assert inspected["label"].mean() > 0.6  # type: ignore[operator]
    traffic = history(2000, 4, start=dt.date(2025, 11, 1), hidden=0.5)
    learnt = train(inspected, mapping="test", trained_on="t", seed=0)
    restated = train(inspected, mapping="test", trained_on="t", seed=0, base_rate=0.2)
    assert learnt.score(traffic).mean() > 0.4  # most parcels look likely
    assert restated.score(traffic).mean() == pytest.approx(traffic["label"].mean(), abs=0.06)
    labels = traffic["label"].to_numpy()
    assert metrics.precision_at(restated.score(traffic), labels, 0.1) == metrics.precision_at(
        learnt.score(traffic), labels, 0.1
    )
    again = TargetingModel.from_bytes(restated.to_bytes())  # the restated calibration is the model file's
    assert np.allclose(again.score(traffic), restated.score(traffic))
