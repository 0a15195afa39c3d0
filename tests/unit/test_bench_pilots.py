"""The pilots harness's arithmetic: what it calls a met goal and the interval it puts on a mean over seeds."""

from __future__ import annotations

import math

import pytest
from bench.pilots import figures, interval, meets_goal


def _day(listed: float = 1.0, **recall: float) -> dict[str, object]:
    carried = dict.fromkeys([*recall, "watchlisted_party"], 10)
    return {"stop_rate": 0.05, "targeted_precision": 0.8, "found": 400, "demanded": "1234.50",
            "recall": recall | {"watchlisted_party": listed}, "held": {}, "carried": carried}  # fmt: skip


def test_the_goal_holds_at_its_bounds_every_day_and_a_kind_absent_that_day_does_not_count() -> None:
    at_bounds = figures(_day(undervaluation=0.5, misclassification=0.5, split_shipment=0.5, false_gift=0.5))
    assert math.isnan(at_bounds["ioss_misuse"])  # no IOSS misuse carried that day: no recall, not 0
    early = figures(_day(undervaluation=0.1))  # value fraud is judged on the last day only
    assert meets_goal([early, at_bounds])
    assert not meets_goal([early, figures(_day(undervaluation=0.49, misclassification=0.9))])
    assert not meets_goal([early | {"stop_rate": 0.051}, at_bounds])  # the stop rate and precision: every day
    assert not meets_goal([early | {"precision": 0.79}, at_bounds])
    assert not meets_goal([figures(_day(listed=0.9, undervaluation=0.1)), at_bounds])  # a listed party let go
    assert not meets_goal([])
    assert figures(_day())["demanded"] == 1234.5


def test_the_interval_is_students_t_over_the_seeds() -> None:
    spread = interval([0.40, 0.50, 0.60])
    assert spread.mean == pytest.approx(0.5)
    assert spread.half == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)  # t(0.975, 2) x sd / sqrt(n)
    assert interval([0.4, math.nan]).mean == pytest.approx(0.4) and math.isnan(interval([0.4]).half)
    assert interval([0.40, 0.50, 0.60]).text() == "50% ±25"
