"""The pilots harness's arithmetic: what it calls a met goal and the interval it puts on a mean over seeds."""

from __future__ import annotations

import math

import pytest
from bench.pilots import figures, interval, meets_goal


def _day(**recall: float) -> dict[str, object]:
    carried = {v: 10 for v in recall}
    return {"stop_rate": 0.05, "targeted_precision": 0.8, "found": 400, "demanded": "1234.50", "recall": recall,
            "carried": carried}  # fmt: skip


def test_the_goal_is_met_at_its_bounds_and_a_kind_absent_that_day_does_not_count() -> None:
    at_bounds = figures(_day(undervaluation=0.5, misclassification=0.5, split_shipment=0.5, false_gift=0.5))
    assert math.isnan(at_bounds["ioss_misuse"])  # no IOSS misuse carried that day: no recall, not 0
    assert meets_goal(at_bounds)
    assert not meets_goal(figures(_day(undervaluation=0.49, misclassification=0.9)))
    assert not meets_goal(figures(_day(undervaluation=0.9)) | {"stop_rate": 0.051})
    assert not meets_goal(figures(_day(undervaluation=0.9)) | {"precision": 0.79})
    assert figures(_day())["demanded"] == 1234.5


def test_the_interval_is_students_t_over_the_seeds() -> None:
    spread = interval([0.40, 0.50, 0.60])
    assert spread.mean == pytest.approx(0.5)
    assert spread.half == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)  # t(0.975, 2) x sd / sqrt(n)
    assert interval([0.4, math.nan]).mean == pytest.approx(0.4) and math.isnan(interval([0.4]).half)
    assert interval([0.40, 0.50, 0.60]).text() == "50% ±25"
